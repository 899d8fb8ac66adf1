import CGlibcExtras
import Dispatch
import ExporterMetrics
import Foundation
import HTTPServer
import Synchronization

/// Keeps the rendered exposition (plain and gzip) ready for scrapes: a scrape
/// only takes the current bytes. A renderer thread of its own renders again when
/// the metric model signals a change, and every `processRefresh` for the process
/// metrics; it runs at a lower priority, so under CPU pressure scrapes go first.
public final class ExpositionPublisher: Sendable {
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    private struct Rendered {
        let plain: PreparedResponse
        let gzip: PreparedResponse
    }

    private let metrics: IngestionMetrics
    /// The HTTP server's traffic, rendered with the process metrics (set once the server exists).
    let traffic = Live<(@Sendable () -> HTTPTraffic)?>(nil)
    private let current = Mutex<Rendered?>(nil)
    private let processRefresh: Duration
    /// Signalled by every model change; the renderer drains it and renders once.
    private let wake = DispatchSemaphore(value: 0)
    private let stopping = Atomic<Bool>(false)

    public init(metrics: IngestionMetrics, processRefresh: Duration = .seconds(5)) {
        self.metrics = metrics
        self.processRefresh = processRefresh
        metrics.onChange { [wake] in wake.signal() }
    }

    /// Renders now, on the caller's thread.
    public func refresh() {
        var writer = ExpositionWriter(capacity: 0)
        metrics.render(into: &writer)
        traffic.value?().write(into: &writer)
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
        current.withLock { $0 = Rendered(plain: plain, gzip: gzip) }
    }

    /// The bytes for a scrape, or nil before the first rendering.
    public func response(gzip: Bool) -> PreparedResponse? {
        current.withLock { rendered in gzip ? rendered?.gzip : rendered?.plain }
    }

    public var isReady: Bool { current.withLock { $0 != nil } }

    /// Renders on the renderer thread until cancelled, then stops the thread and
    /// waits for it to end.
    public func run() async {
        if !isReady { refresh() }
        stopping.store(false, ordering: .relaxed)
        await withTaskCancellationHandler {
            await withCheckedContinuation { (finished: CheckedContinuation<Void, Never>) in
                RendererThread.start { [self] in
                    // Rendering is background work: scrapes of the current bytes go first.
                    _ = acs_lower_thread_priority(10)
                    acs_set_thread_name("exposition")
                    let interval = Double(processRefresh.components.seconds) + Double(processRefresh.components.attoseconds) / 1e18
                    while !stopping.load(ordering: .relaxed) {
                        _ = wake.wait(timeout: .now() + interval)
                        while wake.wait(timeout: .now()) == .success {}  // one rendering for a burst of changes
                        if stopping.load(ordering: .relaxed) { break }
                        refresh()
                    }
                    finished.resume()
                }
            }
        } onCancel: {
            stopping.store(true, ordering: .relaxed)
            wake.signal()
        }
    }
}

/// A thread of its own for work that must not occupy Swift's cooperative pool.
/// Its owner awaits the end of `body` (see `ExpositionPublisher.run`), so the
/// thread never outlives the service that started it.
enum RendererThread {
    private final class Box: @unchecked Sendable {
        // @unchecked: written before the thread starts, read only by it.
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }

    static func start(_ body: @escaping @Sendable () -> Void) {
        let box = Unmanaged.passRetained(Box(body)).toOpaque()
        var thread = pthread_t()
        let created = pthread_create(&thread, nil, { argument in
            let box = Unmanaged<Box>.fromOpaque(argument!).takeRetainedValue()
            box.body()
            return nil
        }, box)
        guard created == 0 else {
            // No thread: run the body here rather than never.
            Unmanaged<Box>.fromOpaque(box).takeRetainedValue().body()
            return
        }
        pthread_detach(thread)
    }
}
