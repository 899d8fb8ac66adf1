import Foundation
import IngestionModel
import IngestionStore
import PostgresNIO

extension PostgresIngestionStore: StoreTransfer {
    public func requestRows(after rowID: Int64, limit: Int) async throws(StoreError) -> [TrackedRequest] {
        try await withConnection("read requests") { connection in
            try await self.jsonRows(connection, RequestRecord.self, """
                SELECT coalesce(json_agg(x ORDER BY x.id), '[]')::text FROM (
                    SELECT \(unescaped: Self.requestColumns) FROM requests WHERE id > \(rowID) ORDER BY id LIMIT \(max(1, limit))) x
                """).map(\.request)
        }
    }

    public func observationRows(after id: Int64, limit: Int) async throws(StoreError) -> [ObservationRow] {
        try await withConnection("read observations") { connection in
            try await self.jsonRows(connection, ObservationRecord.self, """
                SELECT coalesce(json_agg(x ORDER BY x.id), '[]')::text FROM (
                    SELECT \(unescaped: Self.observationColumns) FROM observations WHERE id > \(id) ORDER BY id
                    LIMIT \(max(1, limit))) x
                """).map(\.row)
        }
    }

    public func prunedKeys(after key: PrunedKey?, limit: Int) async throws(StoreError) -> [PrunedKey] {
        let tenant = key?.key.tenant ?? "", mapping = key?.key.mapping ?? "", requestID = key?.requestID.rawValue ?? ""
        return try await withConnection("read pruned keys") { connection in
            try await self.jsonRows(connection, PrunedKeyRecord.self, """
                SELECT coalesce(json_agg(x ORDER BY x.tenant, x.mapping, x.request_id), '[]')::text FROM (
                    SELECT tenant, mapping, request_id FROM pruned_requests
                    WHERE (tenant, mapping, request_id) > (\(tenant), \(mapping), \(requestID))
                    ORDER BY tenant, mapping, request_id LIMIT \(max(1, limit))) x
                """).map(\.key)
        }
    }

    public func mappingRows() async throws(StoreError) -> [MappingKey: Date] {
        try await withConnection("read mappings") { connection in
            let rows = try await self.jsonRows(connection, MappingRecord.self,
                                               "SELECT coalesce(json_agg(mappings), '[]')::text FROM mappings")
            return Dictionary(rows.map { (MappingKey(tenant: $0.tenant, mapping: $0.mapping), Date(timeIntervalSince1970: $0.created_at)) },
                              uniquingKeysWith: { $1 })
        }
    }

    public func writeRequestRows(_ rows: [TrackedRequest]) async throws(StoreError) -> Int {
        try await transaction("write \(rows.count) requests") { connection in try await self.writeRequestRows(connection, rows) }
    }

    public func writeObservationRows(_ rows: [ObservationRow]) async throws(StoreError) -> Int {
        try await transaction("write \(rows.count) observations") { connection in
            try await self.writeObservationRows(connection, rows)
        }
    }

    public func writePrunedKeys(_ keys: [PrunedKey]) async throws(StoreError) -> Int {
        try await transaction("write \(keys.count) pruned keys") { connection in
            try await self.count(connection, """
                WITH written AS (
                    INSERT INTO pruned_requests (tenant, mapping, request_id)
                    SELECT * FROM json_to_recordset(\(try JSONRows.encode(keys.map(PrunedKeyRecord.init)))::json)
                        AS x (\(unescaped: PrunedKeyRecord.definition))
                    ON CONFLICT DO NOTHING RETURNING 1)
                SELECT count(*) FROM written
                """)
        }
    }

    public func writeMappingRows(_ rows: [MappingKey: Date]) async throws(StoreError) -> Int {
        let records = rows.map { MappingRecord(tenant: $0.key.tenant, mapping: $0.key.mapping, created_at: $0.value.timeIntervalSince1970) }
        return try await transaction("write \(rows.count) mappings") { connection in
            try await self.count(connection, """
                WITH written AS (
                    INSERT INTO mappings AS m (tenant, mapping, created_at)
                    SELECT * FROM json_to_recordset(\(try JSONRows.encode(records))::json) AS x (\(unescaped: MappingRecord.definition))
                    ON CONFLICT (tenant, mapping) DO UPDATE SET created_at = excluded.created_at
                    WHERE m.created_at IS DISTINCT FROM excluded.created_at RETURNING 1)
                SELECT count(*) FROM written
                """)
        }
    }

    public func writeTriggerPlans(_ plans: [MappingKey: TriggerPlan]) async throws(StoreError) -> Int {
        let records = plans.map { PlanRecord($0.key, $0.value) }
        return try await transaction("write \(plans.count) trigger plans") { connection in
            try await self.count(connection, """
                WITH written AS (
                    INSERT INTO trigger_plans AS p (tenant, mapping, slot, due_at, attempts, failing_since)
                    SELECT * FROM json_to_recordset(\(try JSONRows.encode(records))::json) AS x (\(unescaped: PlanRecord.definition))
                    ON CONFLICT (tenant, mapping) DO UPDATE SET slot = excluded.slot, due_at = excluded.due_at,
                        attempts = excluded.attempts, failing_since = excluded.failing_since
                    WHERE (p.slot, p.due_at, p.attempts, p.failing_since)
                        IS DISTINCT FROM (excluded.slot, excluded.due_at, excluded.attempts, excluded.failing_since)
                    RETURNING 1)
                SELECT count(*) FROM written
                """)
        }
    }

    public func writeTriggerIntents(_ intents: [TriggerIntent]) async throws(StoreError) -> Int {
        let records = intents.map(IntentRecord.init)
        return try await transaction("write \(intents.count) trigger intents") { connection in
            let written = try await self.count(connection, """
                WITH written AS (
                    INSERT INTO trigger_intents AS i (id, tenant, mapping, at)
                    SELECT * FROM json_to_recordset(\(try JSONRows.encode(records))::json) AS x (\(unescaped: IntentRecord.definition))
                    ON CONFLICT (id) DO UPDATE SET tenant = excluded.tenant, mapping = excluded.mapping, at = excluded.at
                    WHERE (i.tenant, i.mapping, i.at) IS DISTINCT FROM (excluded.tenant, excluded.mapping, excluded.at)
                    RETURNING 1)
                SELECT count(*) FROM written
                """)
            try await self.advanceSequence(connection, table: "trigger_intents")
            return written
        }
    }

    public func writeTotals(_ totals: IngestionTotals) async throws(StoreError) -> Int {
        try await transaction("write totals") { connection in
            var written = try await self.writeTotals(connection, totals)
            for (key, aep) in totals.aep {
                for row in aep.rows {
                    written += try await self.count(connection, """
                        WITH written AS (
                            INSERT INTO aep_totals AS t (tenant, mapping, kind, name, value)
                            VALUES (\(key.tenant), \(key.mapping), \(row.kind.rawValue), \(row.name), \(row.value))
                            ON CONFLICT (tenant, mapping, kind, name) DO UPDATE SET value = excluded.value
                            WHERE t.value IS DISTINCT FROM excluded.value RETURNING 1)
                        SELECT count(*) FROM written
                        """)
                }
            }
            return written
        }
    }

    public func batchRows(after rowID: Int64, limit: Int) async throws(StoreError) -> [BatchFollowUp] {
        try await withConnection("read followed batches") { connection in
            try await self.batches(connection, """
                SELECT \(unescaped: Self.batchColumns) FROM aep_batches b JOIN requests r ON r.id = b.request
                WHERE b.request > \(rowID) ORDER BY b.request LIMIT \(max(1, limit))
                """)
        }
    }

    public func writeBatchRows(_ rows: [BatchFollowUp]) async throws(StoreError) -> Int {
        try await transaction("write \(rows.count) followed batches") { connection in
            var written = 0
            for batch in rows {
                let (created, next, finished) = (batch.createdAt.timeIntervalSince1970, batch.nextLookupAt?.timeIntervalSince1970,
                                                 batch.finishedAt?.timeIntervalSince1970)
                written += try await self.count(connection, """
                    WITH written AS (
                        INSERT INTO aep_batches AS b (request, tenant, mapping, batch_id, status, created_at, lookups, next_lookup_at,
                            last_error, finished_at, input_records, output_records, failed_records, errors)
                        VALUES (\(batch.requestRowID), \(batch.key.tenant), \(batch.key.mapping), \(batch.batchID), \(batch.status),
                                \(created), \(batch.lookups), \(next), \(batch.lastError), \(finished), \(batch.counts.input),
                                \(batch.counts.output), \(batch.counts.failed), \(batch.errorsJSON))
                        ON CONFLICT (request) DO UPDATE SET status = excluded.status, lookups = excluded.lookups,
                            next_lookup_at = excluded.next_lookup_at, last_error = excluded.last_error,
                            finished_at = excluded.finished_at, input_records = excluded.input_records,
                            output_records = excluded.output_records, failed_records = excluded.failed_records, errors = excluded.errors
                        WHERE (b.status, b.lookups, b.next_lookup_at, b.last_error, b.finished_at, b.input_records, b.output_records,
                               b.failed_records, b.errors)
                            IS DISTINCT FROM (excluded.status, excluded.lookups, excluded.next_lookup_at, excluded.last_error,
                                              excluded.finished_at, excluded.input_records, excluded.output_records,
                                              excluded.failed_records, excluded.errors)
                        RETURNING 1)
                    SELECT count(*) FROM written
                    """)
            }
            return written
        }
    }

    // MARK: - Statements shared with the import

    /// Upserts requests under their row ids. A row id that holds another request
    /// is an error: this database is not a copy of the source.
    func writeRequestRows(_ connection: PostgresConnection, _ rows: [TrackedRequest]) async throws -> Int {
        var written = 0
        for batch in rows.batches(of: Self.batchSize) {
            let json = try JSONRows.encode(batch.map(RequestRecord.init))
            let count = try await self.count(connection, """
                WITH written AS (
                    INSERT INTO requests AS r (\(unescaped: Self.requestColumns))
                    SELECT * FROM json_to_recordset(\(json)::json) AS x (\(unescaped: RequestRecord.definition))
                    ON CONFLICT (id) DO UPDATE SET \(unescaped: TransferSQL.requestUpdates)
                    WHERE (r.tenant, r.mapping, r.request_id) = (excluded.tenant, excluded.mapping, excluded.request_id)
                        AND (r.origin, r.first_seen, r.last_polled, r.status, r.raw_status, r.num_records, r.batch_id, r.info,
                             r.acp_code, r.finished_at, r.not_found_since, r.untracked_at)
                        IS DISTINCT FROM (excluded.origin, excluded.first_seen, excluded.last_polled, excluded.status,
                             excluded.raw_status, excluded.num_records, excluded.batch_id, excluded.info, excluded.acp_code,
                             excluded.finished_at, excluded.not_found_since, excluded.untracked_at)
                    RETURNING 1)
                SELECT count(*) FROM written
                """)
            if count < batch.count {
                // Rows left alone are either equal or another request under the same id.
                let clashes = try await connection.query("""
                    SELECT r.id, r.tenant, r.mapping, r.request_id FROM requests r
                    JOIN json_to_recordset(\(json)::json) AS x (\(unescaped: RequestRecord.definition)) ON r.id = x.id
                    WHERE (r.tenant, r.mapping, r.request_id) <> (x.tenant, x.mapping, x.request_id) LIMIT 1
                    """, logger: logger)
                for try await (id, tenant, mapping, requestID) in clashes.decode((Int64, String, String, String).self) {
                    throw StoreError(.failed, "database \(location): row id \(id) holds request \(tenant)/\(mapping)/\(requestID), "
                                              + "not the one being copied: it holds a different history")
                }
            }
            written += count
        }
        try await advanceSequence(connection, table: "requests")
        return written
    }

    func writeObservationRows(_ connection: PostgresConnection, _ rows: [ObservationRow]) async throws -> Int {
        var written = 0
        for batch in rows.batches(of: Self.batchSize) {
            written += try await count(connection, """
                WITH written AS (
                    INSERT INTO observations AS o (\(unescaped: Self.observationColumns))
                    SELECT * FROM json_to_recordset(\(try JSONRows.encode(batch.map(ObservationRecord.init)))::json)
                        AS x (\(unescaped: ObservationRecord.definition))
                    ON CONFLICT (id) DO UPDATE SET request = excluded.request, observed_at = excluded.observed_at,
                        status = excluded.status, raw_status = excluded.raw_status, num_records = excluded.num_records,
                        batch_id = excluded.batch_id, info = excluded.info
                    WHERE (o.request, o.observed_at, o.status, o.raw_status, o.num_records, o.batch_id, o.info)
                        IS DISTINCT FROM (excluded.request, excluded.observed_at, excluded.status, excluded.raw_status,
                                          excluded.num_records, excluded.batch_id, excluded.info)
                    RETURNING 1)
                SELECT count(*) FROM written
                """)
        }
        try await advanceSequence(connection, table: "observations")
        return written
    }

    /// Sets the totals named in `totals` to its values: the copy's and the import's one statement per table.
    func writeTotals(_ connection: PostgresConnection, _ totals: IngestionTotals) async throws -> Int {
        let records = totals.records
        return try await count(connection, """
            WITH written AS (
                INSERT INTO outcome_totals AS t (tenant, mapping, status, acp_code, requests, records, duration_sum)
                SELECT * FROM json_to_recordset(\(try JSONRows.encode(records.outcomes))::json) AS x (\(unescaped: OutcomeRecord.definition))
                ON CONFLICT (tenant, mapping, status, acp_code) DO UPDATE SET requests = excluded.requests,
                    records = excluded.records, duration_sum = excluded.duration_sum
                WHERE (t.requests, t.records, t.duration_sum)
                    IS DISTINCT FROM (excluded.requests, excluded.records, excluded.duration_sum)
                RETURNING 1)
            SELECT count(*) FROM written
            """) + count(connection, """
            WITH written AS (
                INSERT INTO duration_buckets AS b (tenant, mapping, status, upper_bound, count)
                SELECT * FROM json_to_recordset(\(try JSONRows.encode(records.buckets))::json) AS x (\(unescaped: BucketRecord.definition))
                ON CONFLICT (tenant, mapping, status, upper_bound) DO UPDATE SET count = excluded.count
                WHERE b.count IS DISTINCT FROM excluded.count RETURNING 1)
            SELECT count(*) FROM written
            """) + count(connection, """
            WITH written AS (
                INSERT INTO trigger_totals AS t (tenant, mapping, result, count)
                SELECT * FROM json_to_recordset(\(try JSONRows.encode(records.triggers))::json) AS x (\(unescaped: TriggerRecord.definition))
                ON CONFLICT (tenant, mapping, result) DO UPDATE SET count = excluded.count
                WHERE t.count IS DISTINCT FROM excluded.count RETURNING 1)
            SELECT count(*) FROM written
            """) + count(connection, """
            WITH written AS (
                INSERT INTO mapping_latest AS l (tenant, mapping, last_success_at, last_success_records, last_failure_at,
                    last_trigger_at)
                SELECT * FROM json_to_recordset(\(try JSONRows.encode(records.latest))::json) AS x (\(unescaped: LatestRecord.definition))
                ON CONFLICT (tenant, mapping) DO UPDATE SET last_success_at = excluded.last_success_at,
                    last_success_records = excluded.last_success_records, last_failure_at = excluded.last_failure_at,
                    last_trigger_at = excluded.last_trigger_at
                WHERE (l.last_success_at, l.last_success_records, l.last_failure_at, l.last_trigger_at)
                    IS DISTINCT FROM (excluded.last_success_at, excluded.last_success_records, excluded.last_failure_at,
                                      excluded.last_trigger_at)
                RETURNING 1)
            SELECT count(*) FROM written
            """)
    }

    /// Rows per statement of the bulk writes: a few megabytes of JSON.
    static let batchSize = 10_000

    /// Runs a statement whose one row is one count (`WITH written AS (… RETURNING 1) SELECT count(*) …`).
    private func count(_ connection: PostgresConnection, _ query: PostgresQuery) async throws -> Int {
        for try await count in try await connection.query(query, logger: logger).decode(Int.self) { return count }
        return 0
    }

    /// Decodes the one JSON array a `json_agg` query returns.
    private func jsonRows<Row: Decodable>(_ connection: PostgresConnection, _ type: Row.Type, _ query: PostgresQuery) async throws -> [Row] {
        for try await json in try await connection.query(query, logger: logger).decode(String.self) {
            return try JSONRows.decode(json, as: type)
        }
        return []
    }

    /// After rows were written under explicit ids, moves the identity sequence past
    /// them, so that the next tracked request does not collide with a copied one.
    /// (`<table>_id_seq` is the name PostgreSQL gives the identity's sequence.)
    private func advanceSequence(_ connection: PostgresConnection, table: String) async throws {
        try await connection.query(PostgresQuery(unsafeSQL: """
            SELECT setval('\(table)_id_seq', max(id)) FROM \(table)
            HAVING max(id) >= (SELECT CASE WHEN is_called THEN last_value + 1 ELSE last_value END FROM \(table)_id_seq)
            """), logger: logger)
    }
}

extension Array {
    /// Consecutive slices of at most `size` elements.
    func batches(of size: Int) -> [ArraySlice<Element>] {
        stride(from: 0, to: count, by: size).map { self[$0..<Swift.min(count, $0 + size)] }
    }
}
