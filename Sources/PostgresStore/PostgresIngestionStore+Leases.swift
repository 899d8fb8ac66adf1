import Foundation
import IngestionModel
import IngestionStore
import PostgresNIO

/// Cluster mode: replicas that share this database split the tenants by leases (see
/// `LeaseStore`). Every time is the database's clock, so the replicas' clocks need
/// not agree: `clock_timestamp()` throughout (`LeaseClock`), the time a statement actually runs,
/// since a statement may first wait for a lease's row lock (held by a fenced write,
/// see `Fence`), and a transaction's start (`now()`) would then be stale.
extension PostgresIngestionStore: LeaseStore {
    /// The replica's row (its `started_at` restarts when it was not live), then the live
    /// replicas and every lease, in one transaction. Replicas not seen for a day are forgotten.
    public func heartbeat(replica: String, ttl: Duration) async throws(StoreError) -> ClusterView {
        let ttl = ttl.seconds
        return try await transaction("heartbeat of replica \(replica)") { connection in
            var now: Date?
            for try await at in try await connection.query("""
                INSERT INTO replicas AS r (name, started_at, last_seen) VALUES (\(replica), \(databaseNow: self.leaseClock), \(databaseNow: self.leaseClock))
                ON CONFLICT (name) DO UPDATE SET last_seen = excluded.last_seen,
                    started_at = CASE WHEN r.last_seen > excluded.last_seen - make_interval(secs => \(ttl)) THEN r.started_at
                                      ELSE excluded.started_at END
                RETURNING last_seen
                """, logger: self.logger).decode(Date.self) { now = at }
            guard let now else { throw StoreError(.failed, "database \(self.location): the heartbeat of \(replica) returned no time") }
            var live: [String] = []
            for try await name in try await connection.query("""
                WITH forgotten AS (DELETE FROM replicas WHERE last_seen < \(now) - interval '1 day')
                SELECT name FROM replicas WHERE last_seen > \(now) - make_interval(secs => \(ttl)) ORDER BY name
                """, logger: self.logger).decode(String.self) { live.append(name) }
            var leases: [TenantLease] = []
            for try await row in try await connection.query(
                "SELECT \(unescaped: Self.leaseColumns) FROM tenant_leases ORDER BY tenant", logger: self.logger) {
                leases.append(try Self.decodeLease(row))
            }
            return ClusterView(liveReplicas: live, leases: leases, now: now)
        }
    }

    /// One statement: a new row starts at epoch 1; a row whose lease has lapsed (or was
    /// released) is taken with epoch + 1; a live one is left alone (nil). Its UPDATE
    /// waits for fenced writes under the old lease to commit.
    public func acquireLease(tenant: String, replica: String, ttl: Duration) async throws(StoreError) -> TenantLease? {
        return try await withConnection("acquire the lease of \(tenant) for \(replica)") { connection in
            try await self.lease(connection, """
                INSERT INTO tenant_leases AS l (tenant, owner, epoch, expires_at)
                VALUES (\(tenant), \(replica), 1, \(databaseNow: self.leaseClock, plus: ttl))
                ON CONFLICT (tenant) DO UPDATE SET owner = excluded.owner, epoch = l.epoch + 1,
                    expires_at = \(databaseNow: self.leaseClock, plus: ttl)
                WHERE l.expires_at <= \(databaseNow: self.leaseClock)
                RETURNING \(unescaped: Self.leaseColumns)
                """)
        }
    }

    /// One statement; nil when the lease lapsed, was released, or changed hands.
    public func renewLease(_ lease: TenantLease, ttl: Duration) async throws(StoreError) -> TenantLease? {
        return try await withConnection("renew the \(lease)") { connection in
            try await self.lease(connection, """
                UPDATE tenant_leases SET expires_at = \(databaseNow: self.leaseClock, plus: ttl)
                WHERE tenant = \(lease.tenant) AND owner = \(lease.owner) AND epoch = \(lease.epoch)
                    AND expires_at > \(databaseNow: self.leaseClock)
                RETURNING \(unescaped: Self.leaseColumns)
                """)
        }
    }

    /// Forgets the replica's row: it is no longer live; a heartbeat makes it live again.
    public func leave(replica: String) async throws(StoreError) {
        try await withConnection("the leave of replica \(replica)") { connection in
            _ = try await connection.query("DELETE FROM replicas WHERE name = \(replica)", logger: self.logger)
        }
    }

    /// Expires the lease now, keeping its owner and epoch (who held it last, for the
    /// record): the next `acquireLease` takes it with epoch + 1. Nothing when it is no
    /// longer held. Waits for the holder's fenced writes in flight to commit.
    public func releaseLease(_ lease: TenantLease) async throws(StoreError) {
        try await withConnection("release the \(lease)") { connection in
            _ = try await connection.query("""
                UPDATE tenant_leases SET expires_at = \(databaseNow: self.leaseClock)
                WHERE tenant = \(lease.tenant) AND owner = \(lease.owner) AND epoch = \(lease.epoch)
                    AND expires_at > \(databaseNow: self.leaseClock)
                """, logger: self.logger)
        }
    }

    public func fenced(by lease: TenantLease, margin: Duration) -> any IngestionStore {
        FencedPostgresStore(store: self, fence: Fence(lease: lease, margin: margin, clock: leaseClock))
    }

    // MARK: - The trigger-now queue

    /// Also forgets the calls taken or answered more than a day ago: the queue stays short.
    public func enqueueTrigger(_ key: MappingKey, at time: Date) async throws(StoreError) -> Int64 {
        try await withConnection("queue a trigger of \(key)") { connection in
            let rows = try await connection.query("""
                WITH forgotten AS (
                    DELETE FROM trigger_queue WHERE coalesce(answered_at, taken_at) < clock_timestamp() - interval '1 day'
                )
                INSERT INTO trigger_queue (tenant, mapping, requested_at)
                VALUES (\(key.tenant), \(key.mapping), \(time.timeIntervalSince1970))
                RETURNING id
                """, logger: self.logger)
            for try await id in rows.decode(Int64.self) { return id }
            throw StoreError(.failed, "database \(self.location): the queued trigger of \(key) got no id")
        }
    }

    /// One statement: the fence (with no margin) first, then the waiting calls of the
    /// tenant marked taken by the lease's owner and epoch. FOR UPDATE SKIP LOCKED and
    /// `taken_by IS NULL` (checked again on the newest row version): two takers never take one call.
    public func takeQueuedTriggers(by lease: TenantLease) async throws(StoreError) -> [QueuedTrigger] {
        let fence = Fence.exact(lease, clock: leaseClock), operation = "take the queued triggers of \(lease.tenant)"
        return try await withConnection(operation) { connection in
            let rows = try await connection.query("""
                WITH fence AS (SELECT \(held: fence) AS held), taken AS (
                    UPDATE trigger_queue SET taken_by = \(lease.owner), taken_epoch = \(lease.epoch), taken_at = clock_timestamp()
                    WHERE id IN (
                        SELECT id FROM trigger_queue
                        WHERE tenant = \(lease.tenant) AND taken_by IS NULL AND (SELECT held FROM fence)
                        ORDER BY id FOR UPDATE SKIP LOCKED)
                    RETURNING id, mapping, requested_at
                )
                SELECT id, mapping, requested_at, held FROM fence LEFT JOIN taken ON true ORDER BY id
                """, logger: self.logger)
            var taken: [QueuedTrigger] = []
            for try await (id, mapping, requestedAt, held) in rows.decode((Int64?, String?, Double?, Bool).self) {
                guard held else { throw fence.refusal(self.location, operation) }
                guard let id, let mapping, let requestedAt else { continue }
                taken.append(QueuedTrigger(id: id, key: MappingKey(tenant: lease.tenant, mapping: mapping),
                                           requestedAt: Date(timeIntervalSince1970: requestedAt)))
            }
            return taken
        }
    }

    /// The first answer stays (a repeated answer changes nothing); a call that is not
    /// queued (never, or forgotten) fails.
    public func answerQueuedTrigger(_ id: Int64, status: Int, body: [UInt8]) async throws(StoreError) {
        let status = Int32(clamping: status), body = Data(body)
        try await withConnection("answer queued trigger \(id)") { connection in
            let rows = try await connection.query("""
                WITH answered AS (
                    UPDATE trigger_queue SET answered_at = clock_timestamp(), answer_status = \(status), answer_body = \(body)
                    WHERE id = \(id) AND answered_at IS NULL
                )
                SELECT count(*) FROM trigger_queue WHERE id = \(id)
                """, logger: self.logger)
            var found = 0
            for try await count in rows.decode(Int.self) { found = count }
            guard found > 0 else { throw StoreError(.failed, "database \(self.location): no queued trigger with id \(id)") }
        }
    }

    public func queuedTriggerAnswer(_ id: Int64) async throws(StoreError) -> (status: Int, body: [UInt8])? {
        let answer = try await withConnection("read the answer of queued trigger \(id)") { connection -> QueuedAnswer? in
            let rows = try await connection.query("""
                SELECT answer_status, answer_body FROM trigger_queue WHERE id = \(id) AND answered_at IS NOT NULL
                """, logger: self.logger)
            for try await (status, body) in rows.decode((Int?, Data?).self) {
                return QueuedAnswer(status: status ?? 0, body: [UInt8](body ?? Data()))
            }
            return nil
        }
        return answer.map { ($0.status, $0.body) }
    }

    // MARK: - Rows

    static let leaseColumns = "tenant, owner, epoch, expires_at"

    static func decodeLease(_ row: PostgresRow) throws -> TenantLease {
        let (tenant, owner, epoch, expiresAt) = try row.decode((String, String, Int64, Date).self)
        return TenantLease(tenant: tenant, owner: owner, epoch: epoch, expiresAt: expiresAt)
    }

    private func lease(_ connection: PostgresConnection, _ query: PostgresQuery) async throws -> TenantLease? {
        var lease: TenantLease?
        for try await row in try await connection.query(query, logger: logger) { lease = try Self.decodeLease(row) }
        return lease
    }
}

/// An answer, as a Sendable value (a tuple is not one `withConnection` can return).
private struct QueuedAnswer: Sendable {
    let status: Int
    let body: [UInt8]
}

/// What `fenced(by:margin:)` returns: the store as a lease's holder writes to it. The
/// writes about the tenant's requests (intents, trigger answers and plans, observations,
/// 404s, ends) check the fence in their own transaction and throw `.fenced`, writing
/// nothing, when it fails (see `Fence`); everything else goes to the store as is:
/// registering mappings, tracking and untracking (an API call, which any replica takes),
/// imports, pruning and reads. `close()` does nothing: the store is shared, its owner closes it.
struct FencedPostgresStore: IngestionStore {
    let store: PostgresIngestionStore
    let fence: Fence

    var location: String { store.location }

    func schemaVersion() async throws(StoreError) -> Int { try await store.schemaVersion() }

    func probe(write: Bool, at time: Date) async throws(StoreError) -> StoreProbe { try await store.probe(write: write, at: time) }

    // MARK: Fenced writes

    func recordTriggerIntent(_ key: MappingKey, at time: Date) async throws(StoreError) -> Int64 {
        try await store.recordTriggerIntent(key, at: time, fence: fence)
    }

    func recordTriggerAttempt(_ attempt: TriggerAttempt) async throws(StoreError) -> TrackResult? {
        try await store.recordTriggerAttempt(attempt, fence: fence)
    }

    func recordObservation(_ rowID: Int64, report: StatusReport, at time: Date,
                           followBatch: Bool) async throws(StoreError) -> ObservationResult {
        try await store.recordObservation(rowID, report: report, at: time, followBatch: followBatch, fence: fence)
    }

    func recordBatchLookup(_ lookup: BatchLookup) async throws(StoreError) -> BatchLookupResult {
        try await store.recordBatchLookup(lookup, fence: fence)
    }

    func recordNotFound(_ rowID: Int64, at time: Date) async throws(StoreError) -> TrackedRequest {
        try await store.recordNotFound(rowID, at: time, fence: fence)
    }

    func abandon(_ rowID: Int64, reason: String, at time: Date) async throws(StoreError) -> ObservationResult {
        try await store.abandon(rowID, reason: reason, at: time, fence: fence)
    }

    // MARK: Unfenced writes

    func registerMappings(_ keys: [MappingKey], at time: Date) async throws(StoreError) -> [MappingKey: Date] {
        try await store.registerMappings(keys, at: time)
    }

    func track(_ key: MappingKey, requestID: RequestID, origin: RequestOrigin, at time: Date) async throws(StoreError) -> TrackResult {
        try await store.track(key, requestID: requestID, origin: origin, at: time)
    }

    func untrack(_ key: MappingKey, _ requestID: RequestID, at time: Date) async throws(StoreError) -> TrackedRequest? {
        try await store.untrack(key, requestID, at: time)
    }

    func importHistory(_ requests: [TrackedRequest]) async throws(StoreError) { try await store.importHistory(requests) }

    func prune(finishedBefore cutoff: Date, limit: Int) async throws(StoreError) -> Int {
        try await store.prune(finishedBefore: cutoff, limit: limit)
    }

    // MARK: Reads

    func totals() async throws(StoreError) -> IngestionTotals { try await store.totals() }
    func pendingTriggerIntents() async throws(StoreError) -> [TriggerIntent] { try await store.pendingTriggerIntents() }
    func triggerPlans() async throws(StoreError) -> [MappingKey: TriggerPlan] { try await store.triggerPlans() }
    func openRequests(tenant: String?) async throws(StoreError) -> [TrackedRequest] { try await store.openRequests(tenant: tenant) }

    func request(_ key: MappingKey, _ requestID: RequestID) async throws(StoreError) -> TrackedRequest? {
        try await store.request(key, requestID)
    }

    func observations(of rowID: Int64) async throws(StoreError) -> [Observation] { try await store.observations(of: rowID) }
    func openBatches(tenant: String?) async throws(StoreError) -> [BatchFollowUp] { try await store.openBatches(tenant: tenant) }

    func batches(ofRequests rowIDs: [Int64]) async throws(StoreError) -> [Int64: BatchFollowUp] {
        try await store.batches(ofRequests: rowIDs)
    }
    func isPruned(_ key: MappingKey, _ requestID: RequestID) async throws(StoreError) -> Bool { try await store.isPruned(key, requestID) }
    func history(_ query: HistoryQuery) async throws(StoreError) -> [TrackedRequest] { try await store.history(query) }
    func latestRequests() async throws(StoreError) -> [MappingKey: TrackedRequest] { try await store.latestRequests() }

    func dailyRecords(since: Date) async throws(StoreError) -> [MappingKey: [String: Int]] {
        try await store.dailyRecords(since: since)
    }

    func report(period: ReportPeriod, from: Date?, to: Date?) async throws(StoreError) -> [ReportRow] {
        try await store.report(period: period, from: from, to: to)
    }

    func close() async {}
}
