import ExporterMetrics
import Foundation
import IngestionModel
import IngestionStore
import Logging
import Synchronization

/// The store's health, as data: whether writes land (`acs_ingestion_store_up`),
/// failures by operation, the space it takes; readiness while it cannot write; and
/// three kinds of log line — when writes start failing, every five minutes while
/// they do, and when they work again — instead of one line per failed write.
///
/// Every call of the collector, the API and the status page goes through
/// `MonitoredStore`; `run()` checks the store each poll interval (the file under
/// its path, the server's answer), and while writes fail it tries a one-row write
/// to see them work again.
public final class StoreMonitor: Sendable {
    /// An outage in progress.
    struct Outage {
        var since: Date
        var reason: String
        var failedCalls: Int
        var lastSaid: Date
    }

    let metrics: IngestionMetrics
    private let readiness: Readiness?
    private let time: any TimeSource
    private let logger: Logger
    private let location: String
    private let outage = Mutex<Outage?>(nil)
    /// How often an outage is said again while it lasts.
    public static let repeatEvery: Duration = .seconds(300)

    init(location: String, metrics: IngestionMetrics, readiness: Readiness?, time: any TimeSource, logger: Logger) {
        (self.location, self.metrics, self.readiness, self.time, self.logger) = (location, metrics, readiness, time, logger)
    }

    /// Whether writes currently fail.
    public var isDown: Bool { outage.withLock { $0 != nil } }

    /// While writes fail: the error `operation` fails with at once (counted as a failed call); nil otherwise.
    func refuse(_ operation: StoreOperation) -> StoreError? {
        guard let error = outage.withLock({ outage -> StoreError? in
            guard outage != nil else { return nil }
            outage!.failedCalls += 1
            return StoreError(.unavailable, "\(outage!.reason) (since \(Timestamp.rfc3339(outage!.since)))")
        }) else { return nil }
        metrics.storeFailed(operation)
        return error
    }

    /// A write landed: an outage, if any, is over.
    func succeeded() {
        guard let ended = outage.withLock({ outage -> Outage? in
            defer { outage = nil }
            return outage
        }) else { return }
        metrics.storeWritable(true)
        readiness?.set("store", nil)
        logger.info("store writes again", metadata: [
            "store": "\(location)", "down_for": "\(DurationText.format(.seconds(time.now().timeIntervalSince(ended.since))))",
            "failed_calls": "\(ended.failedCalls)",
        ])
    }

    /// A call failed: counted by operation; a failure that means writes cannot land starts (or extends) an outage.
    func failed(_ operation: StoreOperation, _ error: StoreError) {
        metrics.storeFailed(operation)
        guard error.isOutage, operation.writes else { return }
        let now = time.now()
        let started = outage.withLock { outage -> Bool in
            if outage != nil {
                outage!.failedCalls += 1
                outage!.reason = error.description
                return false
            }
            outage = Outage(since: now, reason: error.description, failedCalls: 1, lastSaid: now)
            return true
        }
        guard started else { return }
        metrics.storeWritable(false)
        readiness?.set("store", "the store cannot write: \(error)")
        logger.error("store cannot write: what is observed meanwhile is polled again once it can", metadata: [
            "store": "\(location)", "operation": "\(operation.rawValue)", "error": "\(error)",
        ])
    }

    /// While an outage lasts, says so again every `repeatEvery`.
    private func remind() {
        let now = time.now()
        guard let ongoing = outage.withLock({ outage -> Outage? in
            guard let current = outage, now.timeIntervalSince(current.lastSaid) >= Self.repeatEvery.seconds else { return nil }
            outage!.lastSaid = now
            return current
        }) else { return }
        logger.error("store still cannot write", metadata: [
            "store": "\(location)", "since": "\(Timestamp.rfc3339(ongoing.since))", "failed_calls": "\(ongoing.failedCalls)",
            "error": "\(ongoing.reason)",
        ])
    }

    /// One health check of `store`: while writes fail, a write is tried too.
    func check(_ store: any IngestionStore) async {
        let down = isDown
        do {
            let probe = try await store.probe(write: down, at: time.now())
            if let size = probe.sizeBytes { metrics.storeMeasured(sizeBytes: size) }
            if down { succeeded() }
        } catch {
            failed(.probe, error)
            remind()
        }
    }

    /// Checks `store` every `interval()` until cancelled.
    func run(_ store: any IngestionStore, interval: @escaping @Sendable () -> Duration) async {
        while !Task.isCancelled {
            await check(store)
            do { try await time.sleep(for: interval()) } catch { return }
        }
    }
}

/// A store whose every call is watched by a `StoreMonitor`.
struct MonitoredStore: IngestionStore {
    let inner: any IngestionStore
    let monitor: StoreMonitor
    /// How long a call may take before its caller stops waiting (`storage.timeout`).
    let timeout: Duration

    var location: String { inner.location }

    /// While writes fail, calls fail at once with the outage's reason instead of each
    /// waiting on an unreachable server (API clients get their 503 without delay); the
    /// health check's write, every poll interval, is what finds the store working again.
    private func call<T: Sendable>(_ operation: StoreOperation,
                                   _ body: @escaping @Sendable () async throws(StoreError) -> T) async throws(StoreError) -> T {
        if let outage = monitor.refuse(operation) { throw outage }
        do {
            let result = try await Self.bounded(within: timeout * 2, body)
            if operation.writes { monitor.succeeded() }
            return result
        } catch {
            // A caller cancelled (a shutdown) learnt nothing of the store.
            if !Task.isCancelled { monitor.failed(operation, error) }
            throw error
        }
    }

    func schemaVersion() async throws(StoreError) -> Int { try await call(.read) { () throws(StoreError) in try await inner.schemaVersion() } }

    func probe(write: Bool, at time: Date) async throws(StoreError) -> StoreProbe {
        try await Self.bounded(within: timeout * 2) { () throws(StoreError) in try await inner.probe(write: write, at: time) }
    }

    /// `body`'s result, or a failure once `limit` has passed, whichever comes first. The
    /// stores bound their own calls (PostgreSQL closes the connection of a call past
    /// `storage.timeout`, or of a cancelled one); this is the backstop for a call that
    /// cannot be interrupted (SQLite on a filesystem that stopped answering): past the
    /// limit it is left to end on its own, its result dropped, and its caller goes on.
    /// Cancelling the caller cancels the call, whose result then comes as usual.
    static func bounded<T: Sendable>(within limit: Duration,
                                     _ body: @escaping @Sendable () async throws(StoreError) -> T) async throws(StoreError) -> T {
        let answer = OneAnswer<Result<T, StoreError>>()
        let work = Task { () async -> Result<T, StoreError> in
            let result: Result<T, StoreError>
            do throws(StoreError) { result = .success(try await body()) } catch { result = .failure(error) }
            answer.give(result)
            return result
        }
        let timer = Task {
            try await Task.sleep(for: limit)
            if answer.give(.failure(StoreError(.unavailable, "no answer within \(DurationText.format(limit)): the store hangs"))) {
                work.cancel()
            }
        }
        let result = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Result<T, StoreError>, Never>) in
                answer.expect(continuation)
            }
        } onCancel: {
            work.cancel()
        }
        timer.cancel()
        return try result.get()
    }

    func registerMappings(_ keys: [MappingKey], at time: Date) async throws(StoreError) -> [MappingKey: Date] {
        try await call(.registerMappings) { () throws(StoreError) in try await inner.registerMappings(keys, at: time) }
    }

    func track(_ key: MappingKey, requestID: RequestID, origin: RequestOrigin, at time: Date) async throws(StoreError) -> TrackResult {
        try await call(.track) { () throws(StoreError) in try await inner.track(key, requestID: requestID, origin: origin, at: time) }
    }

    func recordTriggerIntent(_ key: MappingKey, at time: Date) async throws(StoreError) -> Int64 {
        try await call(.triggerIntent) { () throws(StoreError) in try await inner.recordTriggerIntent(key, at: time) }
    }

    func recordTriggerAttempt(_ attempt: TriggerAttempt) async throws(StoreError) -> TrackResult? {
        try await call(.triggerAttempt) { () throws(StoreError) in try await inner.recordTriggerAttempt(attempt) }
    }

    func recordObservation(_ rowID: Int64, report: StatusReport, at time: Date,
                           followBatch: Bool) async throws(StoreError) -> ObservationResult {
        try await call(.observation) { () throws(StoreError) in
            try await inner.recordObservation(rowID, report: report, at: time, followBatch: followBatch)
        }
    }

    func recordBatchLookup(_ lookup: BatchLookup) async throws(StoreError) -> BatchLookupResult {
        try await call(.batchLookup) { () throws(StoreError) in try await inner.recordBatchLookup(lookup) }
    }

    func openBatches(tenant: String?) async throws(StoreError) -> [BatchFollowUp] {
        try await call(.read) { () throws(StoreError) in try await inner.openBatches(tenant: tenant) }
    }

    func batches(ofRequests rowIDs: [Int64]) async throws(StoreError) -> [Int64: BatchFollowUp] {
        try await call(.read) { () throws(StoreError) in try await inner.batches(ofRequests: rowIDs) }
    }

    func recordNotFound(_ rowID: Int64, at time: Date) async throws(StoreError) -> TrackedRequest {
        try await call(.notFound) { () throws(StoreError) in try await inner.recordNotFound(rowID, at: time) }
    }

    func abandon(_ rowID: Int64, reason: String, at time: Date) async throws(StoreError) -> ObservationResult {
        try await call(.abandon) { () throws(StoreError) in try await inner.abandon(rowID, reason: reason, at: time) }
    }

    func untrack(_ key: MappingKey, _ requestID: RequestID, at time: Date) async throws(StoreError) -> TrackedRequest? {
        try await call(.untrack) { () throws(StoreError) in try await inner.untrack(key, requestID, at: time) }
    }

    func importHistory(_ requests: [TrackedRequest]) async throws(StoreError) {
        try await call(.importHistory) { () throws(StoreError) in try await inner.importHistory(requests) }
    }

    func prune(finishedBefore cutoff: Date, limit: Int) async throws(StoreError) -> Int {
        try await call(.prune) { () throws(StoreError) in try await inner.prune(finishedBefore: cutoff, limit: limit) }
    }

    func totals() async throws(StoreError) -> IngestionTotals { try await call(.read) { () throws(StoreError) in try await inner.totals() } }

    func pendingTriggerIntents() async throws(StoreError) -> [TriggerIntent] {
        try await call(.read) { () throws(StoreError) in try await inner.pendingTriggerIntents() }
    }

    func triggerPlans() async throws(StoreError) -> [MappingKey: TriggerPlan] {
        try await call(.read) { () throws(StoreError) in try await inner.triggerPlans() }
    }

    func openRequests(tenant: String?) async throws(StoreError) -> [TrackedRequest] {
        try await call(.read) { () throws(StoreError) in try await inner.openRequests(tenant: tenant) }
    }

    func request(_ key: MappingKey, _ requestID: RequestID) async throws(StoreError) -> TrackedRequest? {
        try await call(.read) { () throws(StoreError) in try await inner.request(key, requestID) }
    }

    func observations(of rowID: Int64) async throws(StoreError) -> [Observation] {
        try await call(.read) { () throws(StoreError) in try await inner.observations(of: rowID) }
    }

    func isPruned(_ key: MappingKey, _ requestID: RequestID) async throws(StoreError) -> Bool {
        try await call(.read) { () throws(StoreError) in try await inner.isPruned(key, requestID) }
    }

    func history(_ query: HistoryQuery) async throws(StoreError) -> [TrackedRequest] {
        try await call(.read) { () throws(StoreError) in try await inner.history(query) }
    }

    func latestRequests() async throws(StoreError) -> [MappingKey: TrackedRequest] {
        try await call(.read) { () throws(StoreError) in try await inner.latestRequests() }
    }

    func dailyRecords(since: Date) async throws(StoreError) -> [MappingKey: [String: Int]] {
        try await call(.read) { () throws(StoreError) in try await inner.dailyRecords(since: since) }
    }

    func report(period: ReportPeriod, from: Date?, to: Date?) async throws(StoreError) -> [ReportRow] {
        try await call(.read) { () throws(StoreError) in try await inner.report(period: period, from: from, to: to) }
    }

    func close() async { await inner.close() }
}

/// The first of several answers, given to one waiter; the later ones are dropped.
private final class OneAnswer<Value: Sendable>: Sendable {
    private let state = Mutex<(waiter: CheckedContinuation<Value, Never>?, early: Value?, given: Bool)>((nil, nil, false))

    /// The waiter; an answer given before it came is handed over at once.
    func expect(_ waiter: CheckedContinuation<Value, Never>) {
        let early = state.withLock { state -> Value? in
            guard let early = state.early else {
                state.waiter = waiter
                return nil
            }
            state.early = nil
            return early
        }
        if let early { waiter.resume(returning: early) }
    }

    /// Gives `value` unless an answer was given before; true when it was the first.
    @discardableResult
    func give(_ value: Value) -> Bool {
        let waiter = state.withLock { state -> (first: Bool, waiter: CheckedContinuation<Value, Never>?) in
            guard !state.given else { return (false, nil) }
            state.given = true
            guard let waiter = state.waiter else {
                state.early = value
                return (true, nil)
            }
            state.waiter = nil
            return (true, waiter)
        }
        waiter.waiter?.resume(returning: value)
        return waiter.first
    }
}
