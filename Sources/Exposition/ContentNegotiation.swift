import ExporterMetrics
import Synchronization

extension ExpositionFormat {
    /// The format an `Accept` header asks for, as Prometheus' own exporters decide:
    /// OpenMetrics only when the header makes it acceptable and gives it a higher
    /// q-value than text 0.0.4; text otherwise, including without a header.
    public static func negotiate(accept: String?) -> ExpositionFormat {
        guard let accept else { return .text }
        if let known = negotiated.withLock({ $0[accept] }) { return known }
        let format = parse(accept: accept)
        negotiated.withLock { cache in
            if cache.count >= 64 { cache.removeAll() }
            cache[accept] = format
        }
        return format
    }

    /// A scraper sends the same `Accept` header every time: each distinct header is
    /// parsed once (a few microseconds, a tenth of a small gzip scrape). Bounded, so
    /// a client sending a new header each time costs a parse, not memory.
    private static let negotiated = Mutex<[String: ExpositionFormat]>([:])

    /// `negotiate` without the cache.
    static func parse(accept: String) -> ExpositionFormat {
        let ranges = MediaRange.parseList(accept)
        let openMetrics = MediaRange.quality(of: openMetricsOffer, in: ranges)
        let text = MediaRange.quality(of: textOffer, in: ranges)
        return openMetrics > 0 && openMetrics > text ? .openMetrics : .text
    }

    static let openMetricsOffer = MediaRange.Offer(type: "application", subtype: "openmetrics-text",
                                                   parameters: ["version": "1.0.0", "charset": "utf-8"])
    static let textOffer = MediaRange.Offer(type: "text", subtype: "plain", parameters: ["version": "0.0.4", "charset": "utf-8"])
}
