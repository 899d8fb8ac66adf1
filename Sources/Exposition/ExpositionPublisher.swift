import CGlibcExtras
import Dispatch
import ExporterMetrics
import Foundation
import HTTPServer
import IngestionModel
import Synchronization

/// Keeps the exposition ready for scrapes in both formats, plain and gzip: a
/// scrape only takes the current prepared response, whose body is the current
/// gzip segments, or the uncompressed body's one buffer, sent without copies. A
/// renderer thread of its own refreshes them when the metric model signals a
/// change, and the process metrics every `processRefresh`; it runs at a lower
/// priority, so under CPU pressure scrapes go first. A scrape never waits on
/// SQLite or Adobe. An uncompressed body is updated in place (see `PlainBody`),
/// so an uncompressed scrape that finds it behind the model (or retracted by the
/// refresh under way) waits, its connection suspended, until the scrapes sending
/// it end, and brings it up to date itself; past `plainWait` it is inflated from
/// the gzip segments (see `reply`).
public final class ExpositionPublisher: Sendable {
    /// Both formats and both encodings: a cache keyed by Accept and Accept-Encoding.
    static let vary = "Accept, Accept-Encoding"

    private struct Variants {
        /// By `ExpositionFormat.rawValue`; nil when that format's uncompressed body is
        /// not kept, or is behind the model, or is being updated.
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
    /// Whether an uncompressed scrape came since the last refresh: only then (or
    /// while one waits) does a refresh bring the uncompressed bodies over 4 MiB up
    /// to date (Prometheus asks for gzip, and splicing a 10 MB body costs a change
    /// ~2 ms more); smaller ones are kept up to date, so that a burst of uncompressed
    /// scrapes after a quiet spell does not wait.
    private let plainAsked = Atomic<Bool>(false)
    /// Uncompressed scrapes waiting for their body (read by tests).
    let plainWaiters = Atomic<Int>(0)
    /// Whether a waiting scrape is updating a body (one at a time, off the cooperative pool).
    private let plainUpdating = Atomic<Bool>(false)
    /// Counts publications and freed bodies, for uncompressed scrapes that wait for their body (read by tests).
    let publications = Signal()
    /// How long an uncompressed scrape waits for its body to be brought up to date
    /// before it is inflated from the gzip segments instead.
    private let plainWait: Duration

    /// Renders the HTTP server's traffic with the process metrics from now on.
    public func observeTraffic(_ read: @escaping @Sendable () -> HTTPTraffic) { exposition.observeTraffic(read) }

    public init(metrics: IngestionMetrics, processRefresh: Duration = .seconds(5),
                plainBudget: Int = SegmentedExposition.defaultPlainBudget, plainWait: Duration = .seconds(1)) {
        exposition = SegmentedExposition(metrics: metrics, plainBudget: plainBudget)
        self.processRefresh = processRefresh
        self.plainWait = plainWait
        metrics.onChange { [wake] in wake.signal() }
        // A body behind the model is free: the scrapes waiting for it update it now.
        exposition.onBodyDrained { [weak self] in
            guard let self, plainWaiters.load(ordering: .relaxed) > 0 else { return }
            publications.signal()
        }
    }

    /// Re-renders what changed and, with `processMetrics`, the process metrics,
    /// on the caller's thread; then publishes the new responses.
    public func refresh(processMetrics: Bool = true) {
        refreshing.withLock { _ in
            let updatingPlain = plainAsked.exchange(false, ordering: .relaxed) || plainWaiters.load(ordering: .relaxed) > 0
            publish(exposition.refresh(processMetrics: processMetrics, updatingPlain: updatingPlain,
                                       eagerPlainLimit: PreparedResponse.chunkCopyLimit, beforeWriting: retractPlain))
            releaseFreedPages()
        }
    }

    /// Brings `format`'s uncompressed body up to date on the caller's thread, for a
    /// scrape waiting for it, unless a refresh did meanwhile.
    private func updatePlain(_ format: ExpositionFormat) {
        refreshing.withLock { _ in
            guard variant(format, gzip: false) == nil else { return }
            publish(exposition.refresh(processMetrics: false, beforeWriting: retractPlain))
            releaseFreedPages()
        }
    }

    /// Lets go of the uncompressed responses that send their body where it lies
    /// (those over `PreparedResponse.chunkCopyLimit`; smaller ones are copies), so
    /// that the bodies can be updated in place once the scrapes sending them end
    /// (see `PlainBody`). Until the next publication an uncompressed scrape waits (`reply`).
    private func retractPlain() {
        let retracted = current.withLock { variants -> Variants? in
            guard let old = variants else { return nil }
            let kept = old.plain.map { $0.flatMap { $0.byteCount <= PreparedResponse.chunkCopyLimit ? $0 : nil } }
            variants = Variants(plain: kept, gzip: old.gzip, snapshots: old.snapshots)
            return old
        }
        _ = retracted  // released here, outside the lock
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
        defer { publications.signal() }
        var plain: [PreparedResponse?] = []
        var gzip: [PreparedResponse] = []
        for format in ExpositionFormat.allCases {
            let snapshot = snapshots[format]!
            let headers = Self.headers(format)
            // libmicrohttpd copies no body bytes: a gzip response keeps its snapshot (and
            // so the segments) alive, an uncompressed one its lease on the body, until its
            // last connection is done with it (bodies up to 4 MiB are copied instead).
            var uncompressed: PreparedResponse?
            if let lease = snapshot.plainLease() {
                // One buffer (libmicrohttpd sends it faster than an iovec); the lease keeps
                // the body unchanged until the last connection sending it is done.
                uncompressed = PreparedResponse(status: 200, headers: headers, chunks: [lease.bytes], owner: lease)
            }
            plain.append(uncompressed)
            if let chunks = snapshot.gzipChunks,
               let compressed = PreparedResponse(status: 200, headers: headers + [("Content-Encoding", "gzip")],
                                                 chunks: chunks, owner: snapshot) {
                gzip.append(compressed)
            } else if let uncompressed {
                // zlib failed: answer uncompressed rather than not at all, from a copy (a
                // response holding the body's lease would keep it from being updated).
                let lease = snapshot.plainLease()
                gzip.append(lease.map { PreparedResponse(HTTPResponse(status: 200, headers: headers, body: Array($0.bytes))) } ?? uncompressed)
            } else {
                return  // keep the previous responses
            }
        }
        current.withLock { $0 = Variants(plain: plain, gzip: gzip, snapshots: ExpositionFormat.allCases.map { snapshots[$0]! }) }
    }

    /// The answer to a scrape, or nil before the first rendering. An uncompressed
    /// body that is kept (or newly kept, within the budget) but behind the model is
    /// brought up to date by the scrape that finds it so, once no scrape sends it
    /// (the scrape waits meanwhile, its connection suspended, up to `plainWait`), at
    /// the scrape's priority rather than the renderer's. A body over the budget, or
    /// one that stays behind past that wait, is inflated from the current gzip
    /// segments while it is sent.
    public func reply(format: ExpositionFormat, gzip: Bool) -> HTTPReply? {
        if !gzip { plainAsked.store(true, ordering: .relaxed) }
        if let found = variant(format, gzip: gzip) { return .prepared(found) }
        guard !gzip, isReady else { return nil }
        guard exposition.keepPlain(format) else { return inflated(format) }
        let deadline = ContinuousClock.now + plainWait
        return .later { [self] in
            plainWaiters.add(1, ordering: .relaxed)
            defer { plainWaiters.subtract(1, ordering: .relaxed) }
            var tried: Int?
            while !Task.isCancelled {
                let seen = publications.count
                if let found = variant(format, gzip: false) { return .prepared(found) }
                let left = deadline - ContinuousClock.now
                guard left > .zero else { break }
                // One attempt per publication or freed body: a slot that changed while the body
                // was written leaves it behind until that change is rendered and published.
                if tried != seen, exposition.plainIsFree(format),
                   plainUpdating.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged {
                    tried = seen
                    // On a thread of Dispatch's, not the cooperative pool: the update takes the
                    // refresh lock and may render (another waiter waits for its publication).
                    await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
                        DispatchQueue.global(qos: .userInitiated).async { [self] in
                            updatePlain(format)
                            plainUpdating.store(false, ordering: .releasing)
                            done.resume()
                        }
                    }
                    continue
                }
                await publications.wait(after: seen, timeout: left)
            }
            return inflated(format)
        }
    }

    /// `format`'s current body, inflated from its gzip segments while it is sent.
    private func inflated(_ format: ExpositionFormat) -> HTTPReply {
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
