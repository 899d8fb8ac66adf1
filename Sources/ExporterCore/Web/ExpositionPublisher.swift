import CGlibcExtras
import Dispatch
import ExporterMetrics
import Foundation
import HTTPServer
import Synchronization

/// Keeps the exposition ready for scrapes in both formats, plain and gzip: a
/// scrape only takes the current prepared response, whose body is the current
/// segments sent without copies. A renderer thread of its own refreshes the
/// segments when the metric model signals a change, and the process metrics
/// every `processRefresh`; it runs at a lower priority, so under CPU pressure
/// scrapes go first. A scrape never waits on SQLite or Adobe, nor on the
/// renderer, but for the first uncompressed scrape of a format whose
/// uncompressed body is not kept (see `SegmentedExposition`).
public final class ExpositionPublisher: Sendable {
    /// Both formats and both encodings: a cache keyed by Accept and Accept-Encoding.
    static let vary = "Accept, Accept-Encoding"

    private struct Variants {
        /// By `ExpositionFormat.rawValue`; nil when that format's uncompressed body is not kept.
        let plain: [PreparedResponse?]
        let gzip: [PreparedResponse]
        /// By `ExpositionFormat.rawValue`: what a plain scrape of a format not kept plain reads.
        let snapshots: [ExpositionSnapshot]
    }

    private let exposition: SegmentedExposition
    private let current = Mutex<Variants?>(nil)
    /// One refresh at a time, so responses are published in the order they were rendered.
    private let refreshing = Mutex<Void>(())
    private let processRefresh: Duration
    /// Signalled by every model change; the renderer drains it and refreshes once.
    private let wake = DispatchSemaphore(value: 0)
    private let stopping = Atomic<Bool>(false)

    /// Renders the HTTP server's traffic with the process metrics from now on.
    func observeTraffic(_ read: @escaping @Sendable () -> HTTPTraffic) { exposition.observeTraffic(read) }

    public init(metrics: IngestionMetrics, processRefresh: Duration = .seconds(5),
                plainBudget: Int = SegmentedExposition.defaultPlainBudget) {
        exposition = SegmentedExposition(metrics: metrics, plainBudget: plainBudget)
        self.processRefresh = processRefresh
        metrics.onChange { [wake] in wake.signal() }
    }

    /// Re-renders what changed and, with `processMetrics`, the process metrics,
    /// on the caller's thread; then publishes the new responses.
    public func refresh(processMetrics: Bool = true) {
        refreshing.withLock { _ in
            publish(exposition.refresh(processMetrics: processMetrics))
            releaseFreedPages()
        }
    }

    /// Publishing released the segments the new snapshots replaced (those no scrape
    /// still sends). glibc keeps freed chunks in the allocating thread's arena,
    /// resident, and reuses them only for that thread's allocations: segments are
    /// rendered on the renderer thread, the start-up thread and scrape threads, so
    /// freed pages go back to the system here instead of piling up across arenas.
    private func releaseFreedPages() {
        // About 0.1 ms at 100k series.
        malloc_trim(0)
    }

    private func publish(_ snapshots: [ExpositionFormat: ExpositionSnapshot]) {
        var plain: [PreparedResponse?] = []
        var gzip: [PreparedResponse] = []
        for format in ExpositionFormat.allCases {
            let snapshot = snapshots[format]!
            let headers = Self.headers(format)
            // libmicrohttpd copies no body bytes: each response keeps its snapshot
            // (and so the segments) alive until its last connection is done with it.
            var uncompressed: PreparedResponse?
            if let chunks = snapshot.plainChunks {
                uncompressed = PreparedResponse(status: 200, headers: headers, chunks: chunks, owner: snapshot)
            }
            plain.append(uncompressed)
            if let chunks = snapshot.gzipChunks,
               let compressed = PreparedResponse(status: 200, headers: headers + [("Content-Encoding", "gzip")],
                                                 chunks: chunks, owner: snapshot) {
                gzip.append(compressed)
            } else if let uncompressed {
                gzip.append(uncompressed)  // zlib failed: answer uncompressed rather than not at all
            } else {
                return  // keep the previous responses
            }
        }
        current.withLock { $0 = Variants(plain: plain, gzip: gzip, snapshots: ExpositionFormat.allCases.map { snapshots[$0]! }) }
    }

    /// The answer to a scrape, or nil before the first rendering. A format's
    /// uncompressed body not kept yet is rendered here, on the scrape's thread, when
    /// it fits the budget (the first such scrape waits for one rendering); one that
    /// does not is inflated from the current gzip segments while it is sent.
    public func reply(format: ExpositionFormat, gzip: Bool) -> HTTPReply? {
        if let found = variant(format, gzip: gzip) { return .prepared(found) }
        guard !gzip, isReady else { return nil }
        // Only a format that fits the budget waits for a rendering (once); the others never take the lock.
        if exposition.keepPlain(format) {
            refreshing.withLock { _ in
                guard variant(format, gzip: false) == nil else { return }
                publish(exposition.refresh(processMetrics: false))
                releaseFreedPages()
            }
            if let found = variant(format, gzip: false) { return .prepared(found) }
        }
        guard let snapshot = current.withLock({ $0?.snapshots[format.rawValue] }), let read = snapshot.plainStream() else {
            return HTTPResponse.text("the exposition could not be encoded\n", status: 503).reply
        }
        return .streamed(StreamedResponse(status: 200, headers: Self.headers(format), byteCount: snapshot.plainCount, read: read))
    }

    private static func headers(_ format: ExpositionFormat) -> [(name: String, value: String)] {
        [("Content-Type", format.contentType), ("Vary", vary)]
    }

    private func variant(_ format: ExpositionFormat, gzip: Bool) -> PreparedResponse? {
        current.withLock { variants in
            guard let variants else { return nil }
            return gzip ? variants.gzip[format.rawValue] : variants.plain[format.rawValue]
        }
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
                    var processDue = DispatchTime.now() + interval
                    while !stopping.load(ordering: .relaxed) {
                        // Woken by a change, or at the latest when the process metrics are due.
                        _ = wake.wait(timeout: processDue)
                        while wake.wait(timeout: .now()) == .success {}  // one refresh for a burst of changes
                        if stopping.load(ordering: .relaxed) { break }
                        let refreshProcess = DispatchTime.now() >= processDue
                        refresh(processMetrics: refreshProcess)
                        if refreshProcess { processDue = DispatchTime.now() + interval }
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
