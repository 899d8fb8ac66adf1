import ExporterMetrics
import Foundation
import IngestionModel
import IngestionStore
import SQLiteStore
import Synchronization
import Testing
import TestSupport
@testable import IngestionCollector

/// A write whose commit lands but whose reply never comes back (the call's `storage.timeout`
/// passed while PostgreSQL was slow or resuming; a hung file system past the bound): the
/// store has it, so the metrics must count it too, once. The real collector loop on the
/// injected clock, over an SQLite store that loses the reply of one chosen write.
@Suite("Store writes whose reply is lost")
struct LostReplyTests {
    /// `.end`: the end's commit lands and its reply is lost; the store is found writable again,
    /// and the next cycle, which no longer reads the request as open, settles it.
    /// `.endLandingLate`: the commit lands after the next cycle has read the request as still
    /// open (the server was slow, not lost): that cycle polls it again, and its write finds
    /// the end already written. Either way the end is counted then, once.
    @Test(arguments: [LostReplyStore.Write.end, .endLandingLate])
    func anEndWrittenWhoseReplyWasLostIsCountedOnce(_ write: LostReplyStore.Write) async throws {
        try await withCollector(losing: write) { setup, collector, sqlite, store throws in
            let key = MappingKey(tenant: "t-a", mapping: "M1")
            guard case .success = await collector.trigger(key) else {
                Issue.record("the trigger failed")
                return
            }
            // The request lasts 300 s; polled every 5 s, its end is written at about 300 s.
            let written = { write == .end ? store.lost == 1 : store.landedLate == 1 }
            try await setup.time.run(for: .seconds(400), until: written)
            try #require(store.lost == 1 && written(), "the end's write was never made")
            #expect(try await sqlite.openRequests(tenant: "t-a").isEmpty, "the end is not in the store")
            try await setup.time.run(for: .seconds(60))
            let metrics = Self.metrics(collector)
            #expect(metrics[series("acs_ingestion_requests_total", "t-a", "M1", "status=\"success\"")] == 1)
            #expect(metrics[series("acs_ingestion_requests_in_progress", "t-a", "M1")] == 0)
            let totals = try await sqlite.totals()
            let records = totals.outcomes.filter { $0.key == key }.map(\.records).reduce(0, +)
            #expect(records > 0 && metrics[series("acs_ingestion_records_ingested_total", "t-a", "M1")] == Double(records))
        }
    }

    @Test func aTriggerAnswerWrittenWhoseReplyWasLostIsCountedAndShownInProgress() async throws {
        try await withCollector(losing: .triggerAnswer) { setup, collector, sqlite, store throws in
            let key = MappingKey(tenant: "t-a", mapping: "M1")
            _ = await collector.trigger(key)
            try #require(store.lost == 1, "the trigger's answer was never written")
            #expect(try await sqlite.openRequests(tenant: "t-a").count == 1, "the answer is not in the store")
            // The store is found writable again; the kept answer is found stored, and counted.
            try await setup.time.run(for: .seconds(30))
            let metrics = Self.metrics(collector)
            #expect(metrics[series("acs_ingestion_triggers_total", "t-a", "M1", "result=\"submitted\"")] == 1)
            #expect(metrics[series("acs_ingestion_requests_in_progress", "t-a", "M1")] == 1)
            #expect(setup.simulator.callCount(.trigger) == 1, "the POST was sent again")
        }
    }

    /// A collector of `SchedulerTests.Setup`'s configuration (nothing scheduled, polls every
    /// 5 s), over its SQLite file through a `LostReplyStore` armed to lose `lost`'s reply
    /// once; its loop runs while `body` moves the clock.
    func withCollector(losing lost: LostReplyStore.Write,
                       _ body: (SchedulerTests.Setup, Collector, SQLiteIngestionStore, LostReplyStore) async throws -> Void)
        async throws {
        let setup = try SchedulerTests.Setup(scheduled: false) {
            ($0.collector.pollInterval, $0.collector.pollIntervalMax) = (.seconds(5), .seconds(5))
        }
        try await stopping(setup) { setup throws in
            let sqlite = try SQLiteIngestionStore(path: setup.config.storage.path, durationBounds: IngestionMetrics.durationBounds)
            let store = LostReplyStore(sqlite, losing: lost)
            let metrics = IngestionMetrics(mappings: Collector.descriptors(of: setup.config), cluster: nil, now: setup.time.now())
            let collector = Collector(config: setup.config, store: store, metrics: metrics, time: setup.time, logger: silentLogger)
            _ = try await collector.restore()
            let loop = Task { await collector.run() }
            defer { loop.cancel() }
            try await body(setup, collector, sqlite, store)
            loop.cancel()
            await loop.value
            await sqlite.close()
        }
    }

    static func metrics(_ collector: Collector) -> Exposition {
        Exposition(String(decoding: collector.metrics.render(), as: UTF8.self))
    }
}

/// A store that forwards every call, except that the first write of the kind it is armed
/// for lands and then fails as a call past its deadline does: the commit is made, the
/// reply is lost. (`endLandingLate`: the end fails at once and lands after the next read
/// of the open requests, as a commit a slow server makes after its caller gave up.)
final class LostReplyStore: IngestionStore {
    enum Write: Sendable { case end, triggerAnswer, endLandingLate }

    let inner: any IngestionStore
    private let armed: Mutex<Write?>
    private let lostCount = Atomic(0)
    private let landedLateCount = Atomic(0)
    /// The end held back by `endLandingLate`, until the next read of the open requests.
    private let held = Mutex<(@Sendable () async throws(StoreError) -> Void)?>(nil)

    init(_ inner: any IngestionStore, losing write: Write) {
        self.inner = inner
        armed = Mutex(write)
    }

    /// How many replies were lost.
    var lost: Int { lostCount.load(ordering: .relaxed) }
    /// How many held-back ends were written.
    var landedLate: Int { landedLateCount.load(ordering: .relaxed) }

    /// `result`, unless the store is armed for `write`: then it is disarmed and the reply is lost.
    private func reply<T>(_ result: T, of write: Write) throws(StoreError) -> T {
        guard disarm(write) else { return result }
        throw lostReply()
    }

    private func lostReply() -> StoreError {
        lostCount.add(1, ordering: .relaxed)
        return StoreError(.unavailable, "no answer within 2s: the store hangs (the test lost the reply)")
    }

    private func disarm(_ write: Write) -> Bool {
        armed.withLock { armed in
            guard armed == write else { return false }
            armed = nil
            return true
        }
    }

    var location: String { inner.location }
    func schemaVersion() async throws(StoreError) -> Int { try await inner.schemaVersion() }
    func probe(write: Bool, at time: Date) async throws(StoreError) -> StoreProbe { try await inner.probe(write: write, at: time) }
    func registerMappings(_ keys: [MappingKey], at time: Date) async throws(StoreError) -> [MappingKey: Date] {
        try await inner.registerMappings(keys, at: time)
    }
    func track(_ key: MappingKey, requestID: RequestID, origin: RequestOrigin, at time: Date) async throws(StoreError) -> TrackResult {
        try await inner.track(key, requestID: requestID, origin: origin, at: time)
    }
    func recordTriggerIntent(_ key: MappingKey, at time: Date) async throws(StoreError) -> Int64 {
        try await inner.recordTriggerIntent(key, at: time)
    }
    func recordTriggerAttempt(_ attempt: TriggerAttempt) async throws(StoreError) -> TrackResult? {
        try reply(try await inner.recordTriggerAttempt(attempt), of: .triggerAnswer)
    }
    func recordObservation(_ rowID: Int64, report: StatusReport, at time: Date,
                           followBatch: Bool) async throws(StoreError) -> ObservationResult {
        if report.status.isTerminal, disarm(.endLandingLate) {
            held.withLock { held in
                held = { [inner] () throws(StoreError) in
                    _ = try await inner.recordObservation(rowID, report: report, at: time, followBatch: followBatch)
                }
            }
            throw lostReply()
        }
        let result = try await inner.recordObservation(rowID, report: report, at: time, followBatch: followBatch)
        guard case .finished = result else { return result }
        return try reply(result, of: .end)
    }
    func recordBatchLookup(_ lookup: BatchLookup) async throws(StoreError) -> BatchLookupResult {
        try await inner.recordBatchLookup(lookup)
    }
    func recordNotFound(_ rowID: Int64, at time: Date) async throws(StoreError) -> TrackedRequest {
        try await inner.recordNotFound(rowID, at: time)
    }
    func abandon(_ rowID: Int64, reason: String, at time: Date) async throws(StoreError) -> ObservationResult {
        try await inner.abandon(rowID, reason: reason, at: time)
    }
    func untrack(_ key: MappingKey, _ requestID: RequestID, at time: Date) async throws(StoreError) -> TrackedRequest? {
        try await inner.untrack(key, requestID, at: time)
    }
    func importHistory(_ requests: [TrackedRequest]) async throws(StoreError) { try await inner.importHistory(requests) }
    func prune(finishedBefore cutoff: Date, limit: Int) async throws(StoreError) -> Int {
        try await inner.prune(finishedBefore: cutoff, limit: limit)
    }
    func totals() async throws(StoreError) -> IngestionTotals { try await inner.totals() }
    func pendingTriggerIntents() async throws(StoreError) -> [TriggerIntent] { try await inner.pendingTriggerIntents() }
    func triggerPlans() async throws(StoreError) -> [MappingKey: TriggerPlan] { try await inner.triggerPlans() }
    func openRequests(tenant: String?) async throws(StoreError) -> [TrackedRequest] {
        let open = try await inner.openRequests(tenant: tenant)
        if let late = held.withLock({ held in defer { held = nil }; return held }) {
            try await late()
            landedLateCount.add(1, ordering: .relaxed)
        }
        return open
    }
    func request(_ key: MappingKey, _ requestID: RequestID) async throws(StoreError) -> TrackedRequest? {
        try await inner.request(key, requestID)
    }
    func openBatches(tenant: String?) async throws(StoreError) -> [BatchFollowUp] { try await inner.openBatches(tenant: tenant) }
    func batches(ofRequests rowIDs: [Int64]) async throws(StoreError) -> [Int64: BatchFollowUp] {
        try await inner.batches(ofRequests: rowIDs)
    }
    func observations(of rowID: Int64) async throws(StoreError) -> [Observation] { try await inner.observations(of: rowID) }
    func isPruned(_ key: MappingKey, _ requestID: RequestID) async throws(StoreError) -> Bool { try await inner.isPruned(key, requestID) }
    func history(_ query: HistoryQuery) async throws(StoreError) -> [TrackedRequest] { try await inner.history(query) }
    func latestRequests() async throws(StoreError) -> [MappingKey: TrackedRequest] { try await inner.latestRequests() }
    func dailyRecords(since: Date) async throws(StoreError) -> [MappingKey: [String: Int]] { try await inner.dailyRecords(since: since) }
    func report(period: ReportPeriod, from: Date?, to: Date?) async throws(StoreError) -> [ReportRow] {
        try await inner.report(period: period, from: from, to: to)
    }
    func close() async { await inner.close() }
}
