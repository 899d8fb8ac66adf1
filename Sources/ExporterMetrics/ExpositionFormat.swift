/// The two exposition formats a scrape can get.
public enum ExpositionFormat: Int, Sendable, CaseIterable {
    /// Prometheus text format 0.0.4: what every scraper understands, and what a
    /// request without a preference gets. Never carries exemplars or `_created`.
    case text
    /// OpenMetrics 1.0.0: `# EOF`, `# UNIT`, `_created` samples and exemplars.
    case openMetrics

    public var contentType: String {
        switch self {
        case .text: "text/plain; version=0.0.4; charset=utf-8"
        case .openMetrics: "application/openmetrics-text; version=1.0.0; charset=utf-8"
        }
    }
}
