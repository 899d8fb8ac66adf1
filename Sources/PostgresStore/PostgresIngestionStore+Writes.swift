import Foundation
import IngestionModel
import IngestionStore
import PostgresNIO

extension PostgresIngestionStore {
    public func registerMappings(_ keys: [MappingKey], at time: Date) async throws(StoreError) -> [MappingKey: Date] {
        let tenants = keys.map(\.tenant), mappings = keys.map(\.mapping), at = time.timeIntervalSince1970
        return try await transaction("register mappings") { connection in
            try await connection.query("""
                INSERT INTO mappings (tenant, mapping, created_at)
                SELECT tenant, mapping, \(at) FROM unnest(\(tenants)::text[], \(mappings)::text[]) AS k (tenant, mapping)
                ON CONFLICT DO NOTHING
                """, logger: self.logger)
            let rows = try await connection.query("""
                SELECT m.tenant, m.mapping, m.created_at FROM mappings m
                JOIN unnest(\(tenants)::text[], \(mappings)::text[]) AS k (tenant, mapping)
                    ON m.tenant = k.tenant AND m.mapping = k.mapping
                """, logger: self.logger)
            var created: [MappingKey: Date] = [:]
            for try await (tenant, mapping, at) in rows.decode((String, String, Double).self) {
                created[MappingKey(tenant: tenant, mapping: mapping)] = Date(timeIntervalSince1970: at)
            }
            return created
        }
    }

    public func track(_ key: MappingKey, requestID: RequestID, origin: RequestOrigin, at time: Date) async throws(StoreError) -> TrackResult {
        try await transaction("track request \(key)/\(requestID)") { connection in
            try await self.track(connection, key, requestID, origin: origin, at: time)
        }
    }

    public func recordTriggerIntent(_ key: MappingKey, at time: Date) async throws(StoreError) -> Int64 {
        try await recordTriggerIntent(key, at: time, fence: nil)
    }

    /// One statement, so one transaction of its own, with the fence (if any) folded in.
    func recordTriggerIntent(_ key: MappingKey, at time: Date, fence: Fence?) async throws(StoreError) -> Int64 {
        let operation = "record trigger intent of \(key)"
        try fence?.cover(key.tenant, location, operation)
        return try await withConnection(operation) { connection in
            let rows = try await connection.query("""
                WITH fence AS (SELECT \(held: fence) AS held), intent AS (
                    INSERT INTO trigger_intents (tenant, mapping, at)
                    SELECT \(key.tenant), \(key.mapping), \(time.timeIntervalSince1970) FROM fence WHERE held
                    RETURNING id
                )
                SELECT id, held FROM fence LEFT JOIN intent ON true
                """, logger: self.logger)
            var outcome: FencedRow<Int64> = .none
            for try await row in rows { outcome = try FencedRow(row) { try $0.decode(Int64.self) } }
            switch outcome {
            case .row(let id): return id
            case .fenced: throw self.refusal(fence, operation)
            case .none: throw StoreError(.failed, "database \(self.location): the trigger intent of \(key) got no id")
            }
        }
    }

    public func recordTriggerAttempt(_ attempt: TriggerAttempt) async throws(StoreError) -> TrackResult? {
        try await recordTriggerAttempt(attempt, fence: nil)
    }

    func recordTriggerAttempt(_ attempt: TriggerAttempt, fence: Fence?) async throws(StoreError) -> TrackResult? {
        let operation = "record trigger attempt of \(attempt.key)"
        try fence?.cover(attempt.key.tenant, location, operation)
        return try await transaction(operation) { connection in
            try await fence?.check(connection, location: self.location, operation: operation, logger: self.logger)
            let key = attempt.key
            try await self.countTriggers(connection, key, result: attempt.result, count: 1, at: attempt.at)
            if attempt.lostTriggers > 0 {
                try await self.countTriggers(connection, key, result: .unknown, count: attempt.lostTriggers, at: attempt.at)
            }
            if !attempt.intents.isEmpty {
                // Fenced, only intents of the lease's tenant.
                let tenant = fence?.lease.tenant
                try await connection.query("""
                    DELETE FROM trigger_intents
                    WHERE id = ANY(\(attempt.intents)::bigint[]) AND (\(tenant)::text IS NULL OR tenant = \(tenant))
                    """, logger: self.logger)
            }
            if let plan = attempt.plan {
                try await connection.query("""
                    INSERT INTO trigger_plans (tenant, mapping, slot, due_at, attempts, failing_since)
                    VALUES (\(key.tenant), \(key.mapping), \(plan.slot.timeIntervalSince1970), \(plan.dueAt.timeIntervalSince1970),
                            \(plan.attempts), \(plan.failingSince?.timeIntervalSince1970))
                    ON CONFLICT (tenant, mapping) DO UPDATE SET slot = excluded.slot, due_at = excluded.due_at,
                        attempts = excluded.attempts, failing_since = excluded.failing_since
                    """, logger: self.logger)
            }
            guard let requestID = attempt.requestID else { return nil }
            return try await self.track(connection, key, requestID, origin: attempt.origin, at: attempt.at)
        }
    }

    public func recordNotFound(_ rowID: Int64, at time: Date) async throws(StoreError) -> TrackedRequest {
        try await recordNotFound(rowID, at: time, fence: nil)
    }

    /// One statement, so one transaction of its own, with the fence (if any) folded in;
    /// fenced, only a request of the lease's tenant.
    func recordNotFound(_ rowID: Int64, at time: Date, fence: Fence?) async throws(StoreError) -> TrackedRequest {
        let at = time.timeIntervalSince1970, tenant = fence?.lease.tenant
        let operation = "record not found of request row \(rowID)"
        return try await withConnection(operation) { connection in
            let rows = try await connection.query("""
                WITH fence AS (SELECT \(held: fence) AS held), updated AS (
                    UPDATE requests SET not_found_since = coalesce(not_found_since, \(at)), last_polled = \(at)
                    WHERE id = \(rowID) AND (\(tenant)::text IS NULL OR tenant = \(tenant)) AND (SELECT held FROM fence)
                    RETURNING \(unescaped: Self.requestColumns)
                )
                SELECT \(unescaped: Self.requestColumns), held FROM fence LEFT JOIN updated ON true
                """, logger: self.logger)
            var outcome: FencedRow<TrackedRequest> = .none
            for try await row in rows { outcome = try FencedRow(row, decode: Self.decodeRequest) }
            switch outcome {
            case .row(let request): return request
            case .fenced: throw self.refusal(fence, operation)
            case .none: throw self.noRow(rowID, tenant: tenant)
            }
        }
    }

    public func abandon(_ rowID: Int64, reason: String, at time: Date) async throws(StoreError) -> ObservationResult {
        try await abandon(rowID, reason: reason, at: time, fence: nil)
    }

    /// FOR UPDATE: an exporter polling the same request meanwhile sees it ended, and counts nothing.
    /// Fenced, only a request of the lease's tenant.
    func abandon(_ rowID: Int64, reason: String, at time: Date, fence: Fence?) async throws(StoreError) -> ObservationResult {
        let operation = "abandon request row \(rowID)", tenant = fence?.lease.tenant
        return try await transaction(operation) { connection in
            try await fence?.check(connection, location: self.location, operation: operation, logger: self.logger)
            let rows = try await self.requests(connection, """
                SELECT \(unescaped: Self.requestColumns) FROM requests
                WHERE id = \(rowID) AND (\(tenant)::text IS NULL OR tenant = \(tenant)) FOR UPDATE
                """)
            guard var request = rows.first else { throw self.noRow(rowID, tenant: tenant) }
            guard request.isOpen else { return .alreadyFinished(request) }
            (request.status, request.info, request.acpCode, request.finishedAt) = (.abandoned, reason, nil, time)
            try await connection.query("""
                UPDATE requests SET status = \(request.status.name), raw_status = NULL, info = \(reason), acp_code = NULL,
                    finished_at = \(time.timeIntervalSince1970)
                WHERE id = \(rowID)
                """, logger: self.logger)
            try await connection.query("""
                INSERT INTO observations (request, observed_at, status, raw_status, num_records, batch_id, info)
                VALUES (\(rowID), \(time.timeIntervalSince1970), \(request.status.name), NULL, \(request.numRecords),
                        \(request.batchID), \(reason))
                """, logger: self.logger)
            try await self.countOutcome(connection, request)
            return .finished(request)
        }
    }

    public func untrack(_ key: MappingKey, _ requestID: RequestID, at time: Date) async throws(StoreError) -> TrackedRequest? {
        try await transaction("untrack request \(key)/\(requestID)") { connection in
            try await connection.query("""
                UPDATE requests SET untracked_at = \(time.timeIntervalSince1970)
                WHERE tenant = \(key.tenant) AND mapping = \(key.mapping) AND request_id = \(requestID.rawValue)
                    AND \(unescaped: Self.isOpen)
                """, logger: self.logger)
            return try await self.request(connection, key, requestID)
        }
    }

    public func recordObservation(_ rowID: Int64, report: StatusReport, at time: Date,
                                  followBatch: Bool) async throws(StoreError) -> ObservationResult {
        try await recordObservation(rowID, report: report, at: time, followBatch: followBatch, fence: nil)
    }

    /// A poll that does not end its request (nearly every poll) is one statement
    /// (`RecordPoll`, or `FencedRecordPoll` with the fence folded in), and so one
    /// transaction and one round trip; one that ends it also counts it, in the same
    /// transaction. Fenced, only a request of the lease's tenant.
    func recordObservation(_ rowID: Int64, report: StatusReport, at time: Date, followBatch: Bool,
                           fence: Fence?) async throws(StoreError) -> ObservationResult {
        let operation = "record observation of request row \(rowID)"
        guard report.status.isTerminal else {
            return try await withConnection(operation) { connection in
                try await self.applyObservation(connection, rowID, report, at: time, fence: fence, operation: operation)
            }
        }
        return try await transaction(operation) { connection in
            let result = try await self.applyObservation(connection, rowID, report, at: time, fence: fence, operation: operation)
            if case .finished(let request) = result {
                try await self.countOutcome(connection, request)
                if followBatch, let batchID = request.batchID, !batchID.isEmpty {
                    let at = time.timeIntervalSince1970
                    try await connection.query("""
                        INSERT INTO aep_batches (request, tenant, mapping, batch_id, status, created_at, next_lookup_at)
                        VALUES (\(rowID), \(request.key.tenant), \(request.key.mapping), \(batchID), \(BatchFollowUp.pending), \(at), \(at))
                        ON CONFLICT (request) DO NOTHING
                        """, logger: self.logger)
                }
            }
            return result
        }
    }

    public func recordBatchLookup(_ lookup: BatchLookup) async throws(StoreError) -> BatchLookupResult {
        try await recordBatchLookup(lookup, fence: nil)
    }

    /// One transaction: the fence (first, when there is one), the row locked, updated and,
    /// when the batch ends, its totals, as SQLite counts them (`AEPTotals.Addition`).
    func recordBatchLookup(_ lookup: BatchLookup, fence: Fence?) async throws(StoreError) -> BatchLookupResult {
        let operation = "record a lookup of the batch of request row \(lookup.requestRowID)"
        return try await transaction(operation) { connection in
            // Whatever the database's default: the codes read after the lock below must be the committed ones.
            try await connection.query("SET TRANSACTION ISOLATION LEVEL READ COMMITTED", logger: self.logger)
            if let fence { try await fence.check(connection, location: self.location, operation: operation, logger: self.logger) }
            guard var batch = try await self.batches(connection, """
                SELECT \(unescaped: Self.batchColumns) FROM aep_batches b JOIN requests r ON r.id = b.request
                WHERE b.request = \(lookup.requestRowID) FOR UPDATE OF b
                """).first else {
                throw StoreError(.failed, "database \(self.location): no followed batch for request row \(lookup.requestRowID)")
            }
            if let fence { try fence.cover(batch.key.tenant, self.location, operation) }
            guard batch.isOpen else { return .alreadyEnded(batch) }
            batch.apply(lookup.outcome, at: lookup.at, next: lookup.next)
            try await connection.query("""
                UPDATE aep_batches SET status = \(batch.status), lookups = \(batch.lookups),
                    next_lookup_at = \(batch.nextLookupAt?.timeIntervalSince1970), last_error = \(batch.lastError),
                    finished_at = \(batch.finishedAt?.timeIntervalSince1970), input_records = \(batch.counts.input),
                    output_records = \(batch.counts.output), failed_records = \(batch.counts.failed), errors = \(batch.errorsJSON)
                WHERE request = \(batch.requestRowID)
                """, logger: self.logger)
            guard !batch.isOpen else { return .stillOpen(batch) }
            // One counting at a time per mapping (until commit): two batches ending together
            // cannot both take the twentieth code.
            try await connection.query(
                "SELECT pg_advisory_xact_lock(hashtext(\(batch.key.tenant) || '/' || \(batch.key.mapping)))", logger: self.logger)
            var known = Set<String>()
            let codes = try await connection.query("""
                SELECT name FROM aep_totals WHERE tenant = \(batch.key.tenant) AND mapping = \(batch.key.mapping)
                    AND kind = \(AEPTotals.Kind.errors.rawValue)
                """, logger: self.logger)
            for try await name in codes.decode(String.self) { known.insert(name) }
            let addition = AEPTotals.Addition(batch, knownCodes: known)
            for row in addition.rows {
                try await connection.query("""
                    INSERT INTO aep_totals AS t (tenant, mapping, kind, name, value)
                    VALUES (\(batch.key.tenant), \(batch.key.mapping), \(row.kind.rawValue), \(row.name), \(row.value))
                    ON CONFLICT (tenant, mapping, kind, name) DO UPDATE SET value = t.value + excluded.value
                    """, logger: self.logger)
            }
            return .ended(batch, addition)
        }
    }

    private func applyObservation(_ connection: PostgresConnection, _ rowID: Int64, _ report: StatusReport,
                                  at time: Date, fence: Fence?, operation: String) async throws -> ObservationResult {
        let poll = RecordPoll(rowID, report, at: time)
        var old: TrackedRequest?
        if let fence {
            var outcome: FencedRow<TrackedRequest> = .none
            for try await row in try await connection.execute(FencedRecordPoll(poll, fence), logger: logger) { outcome = row }
            switch outcome {
            case .fenced: throw fence.refusal(location, operation)
            case .none: throw noRow(rowID, tenant: fence.lease.tenant)
            case .row(let row): old = row
            }
        } else {
            for try await row in try await connection.execute(poll, logger: logger) { old = row }
        }
        guard var request = old else { throw noRow(rowID) }
        if !request.isOpen { return .alreadyFinished(request) }
        request.record(report, polledAt: time)
        return report.status.isTerminal ? .finished(request) : .stillRunning(request)
    }

    /// Requests and observations go in a few statements (`JSONRows`), and the totals are
    /// counted in memory, in order, from the stored ones: the same figures, to the last
    /// bit of every sum, as counting each request in turn, at a fraction of the round
    /// trips (a million requests import in about a minute, not hours). As in SQLite,
    /// each is written as tracked and polled: neither 404 since nor untracked.
    public func importHistory(_ requests: [TrackedRequest]) async throws(StoreError) {
        guard !requests.isEmpty else { return }
        let bounds = durationBounds
        try await transaction("import \(requests.count) requests", bounded: false) { connection in
            // An import may take minutes: none of the session's time-outs applies to it.
            try await connection.query("SET LOCAL statement_timeout = 0", logger: self.logger)
            try await connection.query("SET LOCAL lock_timeout = 0", logger: self.logger)
            try await connection.query("SET LOCAL idle_in_transaction_session_timeout = 0", logger: self.logger)
            // Other exporters' counting waits for the import, whose totals replace theirs.
            try await connection.query("LOCK TABLE outcome_totals, duration_buckets, mapping_latest IN SHARE ROW EXCLUSIVE MODE",
                                       logger: self.logger)
            let rowIDs = try await self.allocateIDs(connection, sequence: "requests_id_seq", count: requests.count)
            let observationIDs = try await self.allocateIDs(connection, sequence: "observations_id_seq", count: requests.count)
            var rows = requests, observations: [ObservationRow] = []
            observations.reserveCapacity(requests.count)
            for index in rows.indices {
                rows[index].rowID = rowIDs[index]
                (rows[index].notFoundSince, rows[index].untrackedAt) = (nil, nil)
                let request = rows[index]
                observations.append(ObservationRow(id: observationIDs[index], requestRowID: request.rowID,
                                                   observation: Observation(request, at: request.lastPolled ?? request.firstSeen)))
            }
            _ = try await self.writeRequestRows(connection, rows)
            _ = try await self.writeObservationRows(connection, observations)
            var totals = RunningTotals(try await self.totalsRows(connection), bounds: bounds)
            for request in rows where request.status.isTerminal && request.finishedAt != nil { totals.count(request) }
            _ = try await self.writeTotals(connection, totals.rows)
        }
    }

    /// One statement: the oldest `limit` requests that ended before `cutoff` (by end, then
    /// row id, as SQLite picks them, through `requests_finished`) go, their keys stay.
    public func prune(finishedBefore cutoff: Date, limit: Int) async throws(StoreError) -> Int {
        try await withConnection("prune requests that ended before \(cutoff)") { connection in
            // Their keys stay, so that tracking one again cannot count it a second time.
            let rows = try await connection.query("""
                WITH gone AS (
                    DELETE FROM requests WHERE id IN (
                        SELECT id FROM requests WHERE finished_at < \(cutoff.timeIntervalSince1970)
                            AND id NOT IN (SELECT request FROM aep_batches WHERE finished_at IS NULL)
                        ORDER BY finished_at, id LIMIT \(max(0, limit)))
                    RETURNING tenant, mapping, request_id
                ), kept AS (
                    INSERT INTO pruned_requests (tenant, mapping, request_id)
                    SELECT tenant, mapping, request_id FROM gone ON CONFLICT DO NOTHING
                )
                SELECT count(*) FROM gone
                """, logger: self.logger)
            for try await count in rows.decode(Int.self) { return count }
            return 0
        }
    }

    // MARK: - Statements shared by the writes

    /// Tracks a request in the caller's transaction (`track`, `recordTriggerAttempt`).
    private func track(_ connection: PostgresConnection, _ key: MappingKey, _ requestID: RequestID, origin: RequestOrigin,
                       at time: Date) async throws -> TrackResult {
        if try await isPruned(connection, key, requestID) {
            throw StoreError(.alreadyCounted, "request \(requestID) of \(key) ended before the retention horizon and was already counted")
        }
        let inserted = try await requests(connection, """
            INSERT INTO requests (tenant, mapping, request_id, origin, first_seen, status)
            VALUES (\(key.tenant), \(key.mapping), \(requestID.rawValue), \(origin.rawValue), \(time.timeIntervalSince1970),
                    \(IngestionStatus.inProgress.name))
            ON CONFLICT (tenant, mapping, request_id) DO NOTHING
            RETURNING \(unescaped: Self.requestColumns)
            """)
        if let row = inserted.first { return .inserted(row) }
        guard let row = try await request(connection, key, requestID) else {
            throw StoreError(.failed, "database \(location): request \(key)/\(requestID) vanished")
        }
        return .alreadyTracked(row)
    }

    /// What a statement whose fence did not hold throws (never without a fence: its check is `true`).
    private func refusal(_ fence: Fence?, _ operation: String) -> StoreError {
        fence?.refusal(location, operation) ?? StoreError(.failed, "database \(location): \(operation): refused without a fence")
    }

    private func noRow(_ rowID: Int64, tenant: String? = nil) -> StoreError {
        StoreError(.failed, "database \(location): no tracked request with row id \(rowID)" + (tenant.map { " of tenant \($0)" } ?? ""))
    }

    /// Counts one ended request, in the same statements (and float additions) as SQLite
    /// (`IngestionTotals.Addition` says what it adds).
    private func countOutcome(_ connection: PostgresConnection, _ request: TrackedRequest) async throws {
        guard let added = IngestionTotals.Addition(request, bounds: durationBounds) else { return }
        let (key, status, records, duration, acp) = (added.key, added.status, added.records, added.duration, added.acpCode)
        try await connection.query("""
            INSERT INTO outcome_totals AS t (tenant, mapping, status, acp_code, requests, records, duration_sum)
            VALUES (\(key.tenant), \(key.mapping), \(status.label), \(acp), 1, \(records), \(duration))
            ON CONFLICT (tenant, mapping, status, acp_code) DO UPDATE SET requests = t.requests + 1,
                records = t.records + excluded.records, duration_sum = t.duration_sum + excluded.duration_sum
            """, logger: logger)
        try await connection.query("""
            INSERT INTO duration_buckets AS b (tenant, mapping, status, upper_bound, count)
            VALUES (\(key.tenant), \(key.mapping), \(status.label), \(added.upperBound), 1)
            ON CONFLICT (tenant, mapping, status, upper_bound) DO UPDATE SET count = b.count + 1
            """, logger: logger)
        switch added.latest {
        case .success(let at, let records)?:
            let finished = at?.timeIntervalSince1970
            try await connection.query("""
                INSERT INTO mapping_latest (tenant, mapping, last_success_at, last_success_records)
                VALUES (\(key.tenant), \(key.mapping), \(finished), \(records))
                ON CONFLICT (tenant, mapping) DO UPDATE SET last_success_at = excluded.last_success_at,
                    last_success_records = excluded.last_success_records
                """, logger: logger)
        case .failure(let at)?:
            let finished = at?.timeIntervalSince1970
            try await connection.query("""
                INSERT INTO mapping_latest (tenant, mapping, last_failure_at) VALUES (\(key.tenant), \(key.mapping), \(finished))
                ON CONFLICT (tenant, mapping) DO UPDATE SET last_failure_at = excluded.last_failure_at
                """, logger: logger)
        case nil:
            break
        }
    }

    /// Counts `count` triggers with one result (SQLite counts them one by one: the same totals).
    private func countTriggers(_ connection: PostgresConnection, _ key: MappingKey, result: TriggerResult, count: Int,
                               at time: Date) async throws {
        try await connection.query("""
            INSERT INTO trigger_totals AS t (tenant, mapping, result, count)
            VALUES (\(key.tenant), \(key.mapping), \(result.label), \(count))
            ON CONFLICT (tenant, mapping, result) DO UPDATE SET count = t.count + excluded.count
            """, logger: logger)
        try await connection.query("""
            INSERT INTO mapping_latest (tenant, mapping, last_trigger_at) VALUES (\(key.tenant), \(key.mapping), \(time.timeIntervalSince1970))
            ON CONFLICT (tenant, mapping) DO UPDATE SET last_trigger_at = excluded.last_trigger_at
            """, logger: logger)
    }

    /// `count` fresh ids of an identity column, ascending, so that imported rows keep their order.
    private func allocateIDs(_ connection: PostgresConnection, sequence: String, count: Int) async throws -> [Int64] {
        let rows = try await connection.query("""
            SELECT array_agg(nextval(\(sequence)::regclass)) FROM generate_series(1, \(count))
            """, logger: logger)
        for try await ids in rows.decode([Int64].self) { return ids.sorted() }
        return []
    }
}

extension Observation {
    /// What an observation records of a request: its state when `time`'s poll saw it.
    init(_ request: TrackedRequest, at time: Date) {
        self.init(observedAt: time, status: request.status, numRecords: request.numRecords,
                  batchID: request.batchID, info: request.info)
    }
}

/// What a poll saw, in one statement: updates the request's row (a 404 streak ends)
/// and appends an observation when something changed, unless the request had already
/// ended or was untracked; returns the row as it was. FOR UPDATE: two exporters polling the same request
/// count its end once. Prepared once per connection, as nearly every poll runs it:
/// the server parses and plans it once, not at each poll.
struct RecordPoll: PostgresPreparedStatement {
    static let sql = statement(fenced: false)
    static let bindingDataTypes: [PostgresDataType] = [.int8, .float8, .text, .text, .int8, .text, .text, .text, .float8]

    /// The statement; `fenced`, with the fence's check first (its values `$10` to `$14`):
    /// the request is read (and so written) only when the lease holds and the request is
    /// of its tenant, and the last column says whether the lease held.
    static func statement(fenced: Bool) -> String {
        let fence = fenced ? "fence AS (SELECT \(Fence.heldSQL(firstParameter: 10)) AS held), " : ""
        let onlyWhenHeld = fenced ? " AND tenant = $10 AND (SELECT held FROM fence)" : ""
        let result = fenced ? "SELECT \(PostgresIngestionStore.requestColumns), held FROM fence LEFT JOIN old ON true"
                            : "SELECT \(PostgresIngestionStore.requestColumns) FROM old"
        return """
            WITH \(fence)old AS (
                SELECT \(PostgresIngestionStore.requestColumns), \(PostgresIngestionStore.isOpen) AS open
                FROM requests WHERE id = $1\(onlyWhenHeld) FOR UPDATE
            ), updated AS (
                UPDATE requests SET last_polled = $2, status = $3, raw_status = $4, num_records = $5, batch_id = $6, info = $7,
                    acp_code = $8, finished_at = $9, not_found_since = NULL
                FROM old WHERE requests.id = old.id AND old.open
            ), observed AS (
                INSERT INTO observations (request, observed_at, status, raw_status, num_records, batch_id, info)
                SELECT id, $2, $3, $4, $5, $6, $7 FROM old
                WHERE open AND (status, raw_status, num_records, batch_id, info) IS DISTINCT FROM ($3, $4, $5, $6, $7)
            )
            \(result)
            """
    }

    let rowID: Int64
    let report: StatusReport
    let time: Date

    init(_ rowID: Int64, _ report: StatusReport, at time: Date) {
        self.rowID = rowID
        self.report = report
        self.time = time
    }

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 9)
        bindings.append(rowID)
        bindings.append(time.timeIntervalSince1970)
        bindings.append(report.status.name)
        bindings.append(report.status.rawUnknown)
        bindings.append(Int64(report.numRecords))
        bindings.append(report.batchID)
        bindings.append(report.info)
        bindings.append(report.acpCode?.rawValue)
        bindings.append(report.status.isTerminal ? time.timeIntervalSince1970 : nil)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> TrackedRequest { try PostgresIngestionStore.decodeRequest(row) }
}

/// `RecordPoll` through a fence, still one statement and one round trip: the lease's
/// row is checked and locked FOR SHARE before the request's row is read.
struct FencedRecordPoll: PostgresPreparedStatement {
    static let sql = RecordPoll.statement(fenced: true)
    static let bindingDataTypes = RecordPoll.bindingDataTypes + Fence.bindingDataTypes

    let poll: RecordPoll
    let fence: Fence

    init(_ poll: RecordPoll, _ fence: Fence) {
        self.poll = poll
        self.fence = fence
    }

    func makeBindings() throws -> PostgresBindings {
        var bindings = try poll.makeBindings()
        fence.appendBindings(to: &bindings)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> FencedRow<TrackedRequest> {
        try FencedRow(row, decode: PostgresIngestionStore.decodeRequest)
    }
}
