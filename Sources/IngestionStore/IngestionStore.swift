import Foundation
import IngestionModel

/// The source of truth: every tracked request, every status change, and the
/// running totals the metrics are rebuilt from.
///
/// Each write is one transaction that makes a whole state change (the request
/// row, its observation and, when it ends, the totals), or nothing. Every
/// method is `async` and never blocks Swift's cooperative thread pool: an
/// implementation does its I/O on threads of its own (SQLite) or on the
/// network (PostgreSQL). The store test suite runs against every implementation.
public protocol IngestionStore: Sendable {
    /// `sqlite:/var/lib/…` or `postgres://host:5432/db`: names the database in
    /// log lines and errors, never with a password.
    var location: String { get }

    /// The newest migration applied.
    func schemaVersion() async throws(StoreError) -> Int

    /// Whether the store can write now: SQLite checks that its path still names the
    /// file it has open; PostgreSQL that the server answers. With `write`, a one-row
    /// write must land too (run while writes fail, to see when they work again).
    func probe(write: Bool, at time: Date) async throws(StoreError) -> StoreProbe

    // MARK: Writes

    /// Records when each configured mapping was first configured (kept when it
    /// already is) and returns those times: the `_created` of its counters.
    func registerMappings(_ keys: [MappingKey], at time: Date) async throws(StoreError) -> [MappingKey: Date]

    /// Starts following a request triggered elsewhere; the same request twice is tracked once.
    func track(_ key: MappingKey, requestID: RequestID, origin: RequestOrigin, at time: Date) async throws(StoreError) -> TrackResult

    /// Records that a POST is about to be sent; returns the intent's id for `recordTriggerAttempt`.
    func recordTriggerIntent(_ key: MappingKey, at time: Date) async throws(StoreError) -> Int64

    /// Records what a POST came to (see `TriggerAttempt`); returns what tracking its request did, if it has one.
    func recordTriggerAttempt(_ attempt: TriggerAttempt) async throws(StoreError) -> TrackResult?

    /// Records what a poll saw: the request's row, an observation when something
    /// changed and, when it ends, the running totals. With `followBatch`, a request that
    /// ends with a batch id also starts that batch's follow-up (`BatchFollowUp`, due at
    /// once), in the same transaction.
    func recordObservation(_ rowID: Int64, report: StatusReport, at time: Date,
                           followBatch: Bool) async throws(StoreError) -> ObservationResult

    /// Records what one Catalog lookup of a followed batch came to; when the batch ends
    /// (or is given up on), counts it in the AEP totals, once (see `AEPTotals.Addition`).
    func recordBatchLookup(_ lookup: BatchLookup) async throws(StoreError) -> BatchLookupResult

    /// Notes that Adobe answered 404 for a request (the first time only); returns its row.
    func recordNotFound(_ rowID: Int64, at time: Date) async throws(StoreError) -> TrackedRequest

    /// Ends a request as `abandoned` with `reason` as its info, counted like any end.
    func abandon(_ rowID: Int64, reason: String, at time: Date) async throws(StoreError) -> ObservationResult

    /// Stops following a request (a mistaken id): it leaves the open requests, its history stays,
    /// nothing is counted. Nil when it is not tracked.
    func untrack(_ key: MappingKey, _ requestID: RequestID, at time: Date) async throws(StoreError) -> TrackedRequest?

    /// Writes many requests at once, each as if tracked and polled to its present
    /// status, with one observation each and the totals: imports, benchmarks, tests.
    func importHistory(_ requests: [TrackedRequest]) async throws(StoreError)

    /// Deletes at most `limit` requests (and their observations) that ended before
    /// `cutoff`, oldest first, keeping their keys; the totals keep counting them.
    /// Returns how many: a caller prunes a long history in short transactions.
    func prune(finishedBefore cutoff: Date, limit: Int) async throws(StoreError) -> Int

    // MARK: Reads

    /// Everything the metrics are rebuilt from at start-up.
    func totals() async throws(StoreError) -> IngestionTotals

    /// Intents whose POST's answer was never recorded (the process stopped in between).
    func pendingTriggerIntents() async throws(StoreError) -> [TriggerIntent]

    /// Each scheduled mapping's plan, as the last attempt left it.
    func triggerPlans() async throws(StoreError) -> [MappingKey: TriggerPlan]

    /// Requests not yet ended (nor untracked), of one tenant or of all.
    func openRequests(tenant: String?) async throws(StoreError) -> [TrackedRequest]

    func request(_ key: MappingKey, _ requestID: RequestID) async throws(StoreError) -> TrackedRequest?

    /// Followed batches not yet ended, of one tenant or of all, the soonest due first.
    func openBatches(tenant: String?) async throws(StoreError) -> [BatchFollowUp]

    /// The followed batches of these requests, by request row id.
    func batches(ofRequests rowIDs: [Int64]) async throws(StoreError) -> [Int64: BatchFollowUp]

    /// A request's status changes, oldest first.
    func observations(of rowID: Int64) async throws(StoreError) -> [Observation]

    /// Whether retention removed this request (it was counted, and cannot be tracked again).
    func isPruned(_ key: MappingKey, _ requestID: RequestID) async throws(StoreError) -> Bool

    /// A page of the history, newest first.
    func history(_ query: HistoryQuery) async throws(StoreError) -> [TrackedRequest]

    /// The most recent request of each mapping that has one.
    func latestRequests() async throws(StoreError) -> [MappingKey: TrackedRequest]

    /// Records ingested per mapping and UTC day (`2026-11-29`), for requests that ended since `since`.
    func dailyRecords(since: Date) async throws(StoreError) -> [MappingKey: [String: Int]]

    /// Capacity figures per mapping and period for requests that ended in [from, to).
    func report(period: ReportPeriod, from: Date?, to: Date?) async throws(StoreError) -> [ReportRow]

    /// Releases the connection(s); nothing may be called after.
    func close() async
}

/// What a health check measured.
public struct StoreProbe: Sendable, Equatable {
    /// Space the database takes (SQLite: the file and its WAL), when known.
    public var sizeBytes: Int64?
    public init(sizeBytes: Int64?) { self.sizeBytes = sizeBytes }
}

extension IngestionStore {
    public func openRequests() async throws(StoreError) -> [TrackedRequest] {
        try await openRequests(tenant: nil)
    }

    /// A poll's answer, without following its batch.
    public func recordObservation(_ rowID: Int64, report: StatusReport, at time: Date) async throws(StoreError) -> ObservationResult {
        try await recordObservation(rowID, report: report, at: time, followBatch: false)
    }

}
