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

    public func track(_ key: MappingKey, requestID: RequestID, origin: RequestOrigin, at time: Date,
                      triggerResult: TriggerResult?) async throws(StoreError) -> TrackResult {
        try await transaction("track request \(key)/\(requestID)") { connection in
            if let triggerResult { try await self.countTrigger(connection, key, result: triggerResult, at: time) }
            if try await self.isPruned(connection, key, requestID) {
                throw StoreError(.alreadyCounted,
                                 "request \(requestID) of \(key) ended before the retention horizon and was already counted")
            }
            let inserted = try await self.requests(connection, """
                INSERT INTO requests (tenant, mapping, request_id, origin, first_seen, status)
                VALUES (\(key.tenant), \(key.mapping), \(requestID.rawValue), \(origin.rawValue), \(time.timeIntervalSince1970),
                        \(IngestionStatus.inProgress.name))
                ON CONFLICT (tenant, mapping, request_id) DO NOTHING
                RETURNING \(unescaped: Self.requestColumns)
                """)
            if let row = inserted.first { return .inserted(row) }
            guard let row = try await self.request(connection, key, requestID) else {
                throw StoreError(.failed, "database \(self.location): request \(key)/\(requestID) vanished")
            }
            return .alreadyTracked(row)
        }
    }

    public func recordTrigger(_ key: MappingKey, result: TriggerResult, at time: Date) async throws(StoreError) {
        try await transaction("count trigger of \(key)") { connection in
            try await self.countTrigger(connection, key, result: result, at: time)
        }
    }

    /// A poll that does not end its request (nearly every poll) is one statement
    /// (`RecordPoll`), and so one transaction and one round trip; one that ends it also
    /// counts it, in the same transaction.
    public func recordObservation(_ rowID: Int64, report: StatusReport, at time: Date) async throws(StoreError) -> ObservationResult {
        let operation = "record observation of request row \(rowID)"
        guard report.status.isTerminal else {
            return try await withConnection(operation) { connection in try await self.applyObservation(connection, rowID, report, at: time) }
        }
        return try await transaction(operation) { connection in
            let result = try await self.applyObservation(connection, rowID, report, at: time)
            if case .finished(let request) = result { try await self.countOutcome(connection, request) }
            return result
        }
    }

    private func applyObservation(_ connection: PostgresConnection, _ rowID: Int64, _ report: StatusReport,
                                  at time: Date) async throws -> ObservationResult {
        var old: TrackedRequest?
        for try await row in try await connection.execute(RecordPoll(rowID, report, at: time), logger: logger) { old = row }
        guard var request = old else {
            throw StoreError(.failed, "database \(location): no tracked request with row id \(rowID)")
        }
        if request.finishedAt != nil { return .alreadyFinished(request) }
        request.lastPolled = time
        request.status = report.status
        request.numRecords = report.numRecords
        request.batchID = report.batchID
        request.info = report.info
        request.acpCode = report.acpCode
        guard report.status.isTerminal else { return .stillRunning(request) }
        request.finishedAt = time
        return .finished(request)
    }

    /// Requests and observations go in a few statements (`JSONRows`), and the totals are
    /// counted in memory, in order, from the stored ones: the same figures, to the last
    /// bit of every sum, as counting each request in turn, at a fraction of the round
    /// trips (a million requests import in about a minute, not hours).
    public func importHistory(_ requests: [TrackedRequest]) async throws(StoreError) {
        guard !requests.isEmpty else { return }
        let bounds = durationBounds
        try await transaction("import \(requests.count) requests") { connection in
            // Other exporters' counting waits for the import, whose totals replace theirs.
            try await connection.query("LOCK TABLE outcome_totals, duration_buckets, mapping_latest IN SHARE ROW EXCLUSIVE MODE",
                                       logger: self.logger)
            let rowIDs = try await self.allocateIDs(connection, sequence: "requests_id_seq", count: requests.count)
            let observationIDs = try await self.allocateIDs(connection, sequence: "observations_id_seq", count: requests.count)
            var rows = requests, observations: [ObservationRow] = []
            observations.reserveCapacity(requests.count)
            for index in rows.indices {
                rows[index].rowID = rowIDs[index]
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

    public func prune(finishedBefore cutoff: Date) async throws(StoreError) -> Int {
        try await transaction("prune requests that ended before \(cutoff)") { connection in
            // Their keys stay, so that tracking one again cannot count it a second time.
            let rows = try await connection.query("""
                WITH gone AS (
                    DELETE FROM requests WHERE finished_at IS NOT NULL AND finished_at < \(cutoff.timeIntervalSince1970)
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

    /// Counts one ended request, in the same statements (and float additions) as SQLite.
    private func countOutcome(_ connection: PostgresConnection, _ request: TrackedRequest) async throws {
        guard let status = request.status.finalStatus else { return }
        let key = request.key
        let records = status == .success ? request.numRecords : 0
        let duration = max(0, request.duration ?? 0)
        let acp = status == .success ? ACPCode.noneLabel : request.acpCode.labelValue
        try await connection.query("""
            INSERT INTO outcome_totals AS t (tenant, mapping, status, acp_code, requests, records, duration_sum)
            VALUES (\(key.tenant), \(key.mapping), \(status.label), \(acp), 1, \(records), \(duration))
            ON CONFLICT (tenant, mapping, status, acp_code) DO UPDATE SET requests = t.requests + 1,
                records = t.records + excluded.records, duration_sum = t.duration_sum + excluded.duration_sum
            """, logger: logger)
        let bound = durationBounds.first { duration <= $0 } ?? Double.infinity
        try await connection.query("""
            INSERT INTO duration_buckets AS b (tenant, mapping, status, upper_bound, count)
            VALUES (\(key.tenant), \(key.mapping), \(status.label), \(bound), 1)
            ON CONFLICT (tenant, mapping, status, upper_bound) DO UPDATE SET count = b.count + 1
            """, logger: logger)
        let finished = request.finishedAt?.timeIntervalSince1970
        if status == .success {
            try await connection.query("""
                INSERT INTO mapping_latest (tenant, mapping, last_success_at, last_success_records)
                VALUES (\(key.tenant), \(key.mapping), \(finished), \(records))
                ON CONFLICT (tenant, mapping) DO UPDATE SET last_success_at = excluded.last_success_at,
                    last_success_records = excluded.last_success_records
                """, logger: logger)
        } else {
            try await connection.query("""
                INSERT INTO mapping_latest (tenant, mapping, last_failure_at) VALUES (\(key.tenant), \(key.mapping), \(finished))
                ON CONFLICT (tenant, mapping) DO UPDATE SET last_failure_at = excluded.last_failure_at
                """, logger: logger)
        }
    }

    private func countTrigger(_ connection: PostgresConnection, _ key: MappingKey, result: TriggerResult,
                              at time: Date) async throws {
        try await connection.query("""
            INSERT INTO trigger_totals AS t (tenant, mapping, result, count) VALUES (\(key.tenant), \(key.mapping), \(result.label), 1)
            ON CONFLICT (tenant, mapping, result) DO UPDATE SET count = t.count + 1
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

/// What a poll saw, in one statement: updates the request's row and appends an
/// observation when something changed, unless the request had already ended;
/// returns the row as it was. FOR UPDATE: two exporters polling the same request
/// count its end once. Prepared once per connection, as nearly every poll runs it:
/// the server parses and plans it once, not at each poll.
struct RecordPoll: PostgresPreparedStatement {
    static let sql = """
        WITH old AS (
            SELECT \(PostgresIngestionStore.requestColumns) FROM requests WHERE id = $1 FOR UPDATE
        ), updated AS (
            UPDATE requests SET last_polled = $2, status = $3, raw_status = $4, num_records = $5, batch_id = $6, info = $7,
                acp_code = $8, finished_at = $9
            FROM old WHERE requests.id = old.id AND old.finished_at IS NULL
        ), observed AS (
            INSERT INTO observations (request, observed_at, status, raw_status, num_records, batch_id, info)
            SELECT id, $2, $3, $4, $5, $6, $7 FROM old
            WHERE finished_at IS NULL AND (status, raw_status, num_records, batch_id, info) IS DISTINCT FROM ($3, $4, $5, $6, $7)
        )
        SELECT \(PostgresIngestionStore.requestColumns) FROM old
        """
    static let bindingDataTypes: [PostgresDataType] = [.int8, .float8, .text, .text, .int8, .text, .text, .text, .float8]

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
