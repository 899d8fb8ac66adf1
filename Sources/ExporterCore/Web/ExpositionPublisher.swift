import CGlibcExtras
import ExporterMetrics
import Foundation
import HTTPServer
import Synchronization

/// Keeps the rendered exposition (plain and gzip) ready for scrapes. A
/// background thread renders again when the metric model changes, and every
/// few seconds for the process metrics; a scrape only takes the current bytes.
public final class ExpositionPublisher: Sendable {
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    private struct Rendered {
        let plain: PreparedResponse
        let gzip: PreparedResponse
        let version: UInt64
        let at: ContinuousClock.Instant
    }

    private let metrics: IngestionMetrics
    private let current = Mutex<Rendered?>(nil)
    private let running = Atomic<Bool>(false)
    private let processRefresh: Duration

    public init(metrics: IngestionMetrics, processRefresh: Duration = .seconds(5)) {
        self.metrics = metrics
        self.processRefresh = processRefresh
    }

    /// Renders now, on the caller's thread.
    public func refresh() {
        let version = metrics.version
        var writer = ExpositionWriter(capacity: 0)
        metrics.render(into: &writer)
        ProcessMetrics.write(into: &writer)
        let (body, count) = writer.takeBuffer()
        let headers: [(name: String, value: String)] = [("Content-Type", Self.contentType), ("Vary", "Accept-Encoding")]
        let compressed = Gzip.compress(UnsafeRawBufferPointer(start: body, count: count))
        let plain = PreparedResponse(status: 200, headers: headers, takingOwnershipOf: body, count: count)
        let gzip: PreparedResponse
        if let (pointer, size) = compressed {
            gzip = PreparedResponse(status: 200, headers: headers + [("Content-Encoding", "gzip")], takingOwnershipOf: pointer, count: size)
        } else {
            gzip = plain  // zlib failed: answer uncompressed rather than not at all
        }
        current.withLock { $0 = Rendered(plain: plain, gzip: gzip, version: version, at: .now) }
    }

    /// The bytes for a scrape, or nil before the first rendering.
    public func response(gzip: Bool) -> PreparedResponse? {
        current.withLock { rendered in gzip ? rendered?.gzip : rendered?.plain }
    }

    public var isReady: Bool { current.withLock { $0 != nil } }

    public func start() {
        guard !running.exchange(true, ordering: .relaxed) else { return }
        if !isReady { refresh() }
        let thread = Thread { [self] in
            // Rendering is background work: under CPU pressure, scrapes of the current bytes go first.
            _ = acs_lower_thread_priority(10)
            while running.load(ordering: .relaxed) {
                Thread.sleep(forTimeInterval: 0.05)
                let stale = current.withLock { rendered in
                    guard let rendered else { return true }
                    return rendered.version != metrics.version || ContinuousClock.now - rendered.at >= processRefresh
                }
                if stale { refresh() }
            }
        }
        thread.name = "exposition"
        thread.start()
    }

    public func stop() { running.store(false, ordering: .relaxed) }
}
