import Foundation
import IngestionModel
import IngestionStore
import PostgresNIO

extension PostgresIngestionStore {
    public func totals() async throws(StoreError) -> IngestionTotals {
        try await snapshot("read totals") { connection in
            var totals = try await self.totalsRows(connection)
            totals.open = try await self.requests(connection, """
                SELECT \(unescaped: Self.requestColumns) FROM requests WHERE \(unescaped: Self.isOpen) ORDER BY id
                """)
            let aep = try await connection.query(
                "SELECT tenant, mapping, kind, name, value FROM aep_totals ORDER BY 1, 2, 3, 4", logger: self.logger)
            for try await (tenant, mapping, kind, name, value) in aep.decode((String, String, String, String, Int).self) {
                guard let kind = AEPTotals.Kind(rawValue: kind) else { continue }
                totals.aep[MappingKey(tenant: tenant, mapping: mapping), default: AEPTotals()].add(kind: kind, name: name, value: value)
            }
            let open = try await connection.query(
                "SELECT tenant, mapping, count(*)::bigint FROM aep_batches WHERE finished_at IS NULL GROUP BY 1, 2", logger: self.logger)
            for try await (tenant, mapping, count) in open.decode((String, String, Int).self) {
                totals.aep[MappingKey(tenant: tenant, mapping: mapping), default: AEPTotals()].inProgress = count
            }
            return totals
        }
    }

    public func openBatches(tenant: String?) async throws(StoreError) -> [BatchFollowUp] {
        try await withConnection("read followed batches") { connection in
            try await self.batches(connection, """
                SELECT \(unescaped: Self.batchColumns) FROM aep_batches b JOIN requests r ON r.id = b.request
                WHERE b.finished_at IS NULL AND (\(tenant)::text IS NULL OR b.tenant = \(tenant))
                ORDER BY b.next_lookup_at, b.request
                """)
        }
    }

    public func batches(ofRequests rowIDs: [Int64]) async throws(StoreError) -> [Int64: BatchFollowUp] {
        guard !rowIDs.isEmpty else { return [:] }
        return try await withConnection("read the batches of \(rowIDs.count) requests") { connection in
            let found = try await self.batches(connection, """
                SELECT \(unescaped: Self.batchColumns) FROM aep_batches b JOIN requests r ON r.id = b.request
                WHERE b.request = ANY(\(rowIDs))
                """)
            return Dictionary(found.map { ($0.requestRowID, $0) }) { first, _ in first }
        }
    }

    /// A followed batch's columns, with its request's id (`aep_batches b JOIN requests r`), as `batches(_:_:)` decodes them.
    static let batchColumns = """
        b.request, b.tenant, b.mapping, r.request_id, b.batch_id, b.status, b.created_at, b.lookups, b.next_lookup_at, \
        b.last_error, b.finished_at, b.input_records, b.output_records, b.failed_records, b.errors
        """

    func batches(_ connection: PostgresConnection, _ query: PostgresQuery) async throws -> [BatchFollowUp] {
        var result: [BatchFollowUp] = []
        let rows = try await connection.query(query, logger: logger)
        for try await row in rows {
            let (request, tenant, mapping, requestID, batchID, status, created, lookups, next, lastError, finished,
                 input, output, failed, errors) =
                try row.decode((Int64, String, String, String, String, String, Double, Int, Double?, String?, Double?,
                                Int?, Int?, Int?, String).self)
            result.append(BatchFollowUp(
                requestRowID: request, key: MappingKey(tenant: tenant, mapping: mapping), requestID: RequestID(requestID),
                batchID: batchID, status: status, createdAt: Date(timeIntervalSince1970: created), lookups: lookups,
                nextLookupAt: next.map(Date.init(timeIntervalSince1970:)), lastError: lastError,
                finishedAt: finished.map(Date.init(timeIntervalSince1970:)),
                counts: CatalogBatch.Counts(input: input, output: output, failed: failed), errors: BatchFollowUp.errors(fromJSON: errors)))
        }
        return result
    }

    public func openRequests(tenant: String?) async throws(StoreError) -> [TrackedRequest] {
        try await withConnection("read open requests") { connection in
            try await self.requests(connection, """
                SELECT \(unescaped: Self.requestColumns) FROM requests
                WHERE \(unescaped: Self.isOpen) AND (\(tenant)::text IS NULL OR tenant = \(tenant)) ORDER BY id
                """)
        }
    }

    public func request(_ key: MappingKey, _ requestID: RequestID) async throws(StoreError) -> TrackedRequest? {
        try await withConnection("read request \(key)/\(requestID)") { connection in
            try await self.request(connection, key, requestID)
        }
    }

    public func observations(of rowID: Int64) async throws(StoreError) -> [Observation] {
        try await withConnection("read observations of request row \(rowID)") { connection in
            let rows = try await connection.query("""
                SELECT \(unescaped: Self.observationColumns) FROM observations WHERE request = \(rowID) ORDER BY id
                """, logger: self.logger)
            var result: [Observation] = []
            for try await row in rows { result.append(try Self.decodeObservation(row).observation) }
            return result
        }
    }

    public func pendingTriggerIntents() async throws(StoreError) -> [TriggerIntent] {
        try await withConnection("read trigger intents") { connection in
            let rows = try await connection.query("SELECT id, tenant, mapping, at FROM trigger_intents ORDER BY id", logger: self.logger)
            var intents: [TriggerIntent] = []
            for try await (id, tenant, mapping, at) in rows.decode((Int64, String, String, Double).self) {
                intents.append(TriggerIntent(id: id, key: MappingKey(tenant: tenant, mapping: mapping), at: Date(timeIntervalSince1970: at)))
            }
            return intents
        }
    }

    public func triggerPlans() async throws(StoreError) -> [MappingKey: TriggerPlan] {
        try await withConnection("read trigger plans") { connection in
            let rows = try await connection.query(
                "SELECT tenant, mapping, slot, due_at, attempts, failing_since FROM trigger_plans", logger: self.logger)
            var plans: [MappingKey: TriggerPlan] = [:]
            for try await (tenant, mapping, slot, dueAt, attempts, failingSince)
                in rows.decode((String, String, Double, Double, Int, Double?).self) {
                plans[MappingKey(tenant: tenant, mapping: mapping)] = TriggerPlan(
                    slot: Date(timeIntervalSince1970: slot), dueAt: Date(timeIntervalSince1970: dueAt), attempts: attempts,
                    failingSince: failingSince.map(Date.init(timeIntervalSince1970:)))
            }
            return plans
        }
    }

    public func isPruned(_ key: MappingKey, _ requestID: RequestID) async throws(StoreError) -> Bool {
        try await withConnection("read pruned keys") { connection in try await self.isPruned(connection, key, requestID) }
    }

    /// One statement for every filter: PostgresNIO sends unnamed statements, which
    /// PostgreSQL plans with the values bound, so `$1 IS NULL OR …` folds away and
    /// each call gets the plan (and index) of its actual filters.
    public func history(_ query: HistoryQuery) async throws(StoreError) -> [TrackedRequest] {
        let since = query.since?.timeIntervalSince1970, status = query.status?.name, limit = max(1, query.limit)
        return try await withConnection("read history") { connection in
            try await self.requests(connection, """
                SELECT \(unescaped: Self.requestColumns) FROM requests
                WHERE (\(query.tenant)::text IS NULL OR tenant = \(query.tenant))
                    AND (\(query.mapping)::text IS NULL OR mapping = \(query.mapping))
                    AND (\(status)::text IS NULL OR status = \(status))
                    AND (\(since)::float8 IS NULL OR first_seen >= \(since))
                    AND (\(query.before)::bigint IS NULL OR id < \(query.before))
                ORDER BY id DESC LIMIT \(limit)
                """)
        }
    }

    /// A skip scan over `requests_mapping` (tenant, mapping, id): one index probe per
    /// mapping instead of grouping every stored request.
    public func latestRequests() async throws(StoreError) -> [MappingKey: TrackedRequest] {
        let rows = try await withConnection("read latest requests") { connection in
            try await self.requests(connection, """
                WITH RECURSIVE keys (tenant, mapping) AS (
                    (SELECT tenant, mapping FROM requests ORDER BY tenant, mapping LIMIT 1)
                    UNION ALL
                    SELECT next.tenant, next.mapping FROM keys CROSS JOIN LATERAL (
                        SELECT tenant, mapping FROM requests WHERE (tenant, mapping) > (keys.tenant, keys.mapping)
                        ORDER BY tenant, mapping LIMIT 1) AS next
                )
                SELECT latest.* FROM keys CROSS JOIN LATERAL (
                    SELECT \(unescaped: Self.requestColumns) FROM requests
                    WHERE tenant = keys.tenant AND mapping = keys.mapping ORDER BY id DESC LIMIT 1) AS latest
                ORDER BY latest.id
                """)
        }
        return Dictionary(rows.map { ($0.key, $0) }, uniquingKeysWith: { $1 })
    }

    public func dailyRecords(since: Date) async throws(StoreError) -> [MappingKey: [String: Int]] {
        try await withConnection("read daily records") { connection in
            let rows = try await connection.query("""
                SELECT tenant, mapping, \(unescaped: ReportPeriod.day.postgresName), records FROM (
                    SELECT tenant, mapping, \(unescaped: ReportPeriod.postgresEndDay) AS day, sum(num_records)::bigint AS records
                    FROM requests WHERE status = \(FinalStatus.success.label) AND finished_at >= \(since.timeIntervalSince1970)
                    GROUP BY 1, 2, 3) AS days
                ORDER BY tenant, mapping, day
                """, logger: self.logger)
            var result: [MappingKey: [String: Int]] = [:]
            for try await (tenant, mapping, day, records) in rows.decode((String, String, String, Int).self) {
                result[MappingKey(tenant: tenant, mapping: mapping), default: [:]][day] = records
            }
            return result
        }
    }

    /// Requests are grouped by the day number they ended on first (arithmetic), and
    /// only the groups are named (`to_char`, the costly part) and merged into periods.
    /// The aggregation of a long history gets the memory to stay off disk.
    public func report(period: ReportPeriod, from: Date?, to: Date?) async throws(StoreError) -> [ReportRow] {
        let from = from?.timeIntervalSince1970, to = to?.timeIntervalSince1970
        return try await transaction("read the \(period) report") { connection in
            try await connection.query("SET LOCAL work_mem = '64MB'", logger: self.logger)
            let rows = try await connection.query("""
                SELECT tenant, mapping, \(unescaped: period.postgresName) AS period, status, acp, sum(requests)::bigint,
                    sum(records)::bigint
                FROM (
                    SELECT tenant, mapping, \(unescaped: ReportPeriod.postgresEndDay) AS day, status,
                        coalesce(acp_code, \(ACPCode.noneLabel)) AS acp, count(*) AS requests, sum(num_records) AS records
                    FROM requests
                    WHERE finished_at IS NOT NULL AND (\(from)::float8 IS NULL OR finished_at >= \(from))
                        AND (\(to)::float8 IS NULL OR finished_at < \(to))
                    GROUP BY 1, 2, 3, 4, 5) AS days
                GROUP BY tenant, mapping, period, status, acp ORDER BY tenant, mapping, period
                """, logger: self.logger)
            var report: [ReportRow] = []
            for try await (tenant, mapping, period, status, acp, count, records)
                in rows.decode((String, String, String, String, String, Int, Int).self) {
                guard let status = FinalStatus(rawValue: status) else { continue }
                let key = MappingKey(tenant: tenant, mapping: mapping)
                if report.last?.key != key || report.last?.period != period { report.append(ReportRow(key: key, period: period)) }
                report[report.count - 1].add(status: status, acpCode: acp, count: count, records: records)
            }
            return report
        }
    }

    // MARK: - Row reads shared by the methods

    static let requestColumns = """
        id, tenant, mapping, request_id, origin, first_seen, last_polled, status, raw_status, num_records, batch_id, \
        info, acp_code, finished_at, not_found_since, untracked_at
        """

    /// Requests still followed: not ended, not untracked.
    static let isOpen = "finished_at IS NULL AND untracked_at IS NULL"

    static let observationColumns = "id, request, observed_at, status, raw_status, num_records, batch_id, info"

    func requests(_ connection: PostgresConnection, _ query: PostgresQuery) async throws -> [TrackedRequest] {
        var result: [TrackedRequest] = []
        for try await row in try await connection.query(query, logger: logger) { result.append(try Self.decodeRequest(row)) }
        return result
    }

    func request(_ connection: PostgresConnection, _ key: MappingKey, _ requestID: RequestID) async throws -> TrackedRequest? {
        try await requests(connection, """
            SELECT \(unescaped: Self.requestColumns) FROM requests
            WHERE tenant = \(key.tenant) AND mapping = \(key.mapping) AND request_id = \(requestID.rawValue)
            """).first
    }

    func isPruned(_ connection: PostgresConnection, _ key: MappingKey, _ requestID: RequestID) async throws -> Bool {
        let rows = try await connection.query("""
            SELECT 1 FROM pruned_requests
            WHERE tenant = \(key.tenant) AND mapping = \(key.mapping) AND request_id = \(requestID.rawValue)
            """, logger: logger)
        for try await _ in rows { return true }
        return false
    }

    /// The running totals (not the open requests), as `totals()` returns them.
    func totalsRows(_ connection: PostgresConnection) async throws -> IngestionTotals {
        var totals = IngestionTotals()
        let outcomes = try await connection.query("""
            SELECT tenant, mapping, status, acp_code, requests, records, duration_sum FROM outcome_totals ORDER BY 1, 2, 3, 4
            """, logger: logger)
        for try await (tenant, mapping, status, acp, requests, records, durationSum)
            in outcomes.decode((String, String, String, String, Int, Int, Double).self) {
            guard let status = FinalStatus(rawValue: status) else { continue }
            totals.outcomes.append(.init(key: MappingKey(tenant: tenant, mapping: mapping), status: status, acpCode: acp,
                                         requests: requests, records: records, durationSum: durationSum))
        }
        let buckets = try await connection.query(
            "SELECT tenant, mapping, status, upper_bound, count FROM duration_buckets ORDER BY 1, 2, 3, 4", logger: logger)
        for try await (tenant, mapping, status, bound, count) in buckets.decode((String, String, String, Double, Int).self) {
            guard let status = FinalStatus(rawValue: status) else { continue }
            totals.buckets.append(.init(key: MappingKey(tenant: tenant, mapping: mapping), status: status,
                                        upperBound: bound, count: count))
        }
        let triggers = try await connection.query("SELECT tenant, mapping, result, count FROM trigger_totals", logger: logger)
        for try await (tenant, mapping, result, count) in triggers.decode((String, String, String, Int).self) {
            guard let result = TriggerResult(rawValue: result) else { continue }
            totals.triggers[MappingKey(tenant: tenant, mapping: mapping), default: [:]][result] = count
        }
        let latest = try await connection.query("""
            SELECT tenant, mapping, last_success_at, coalesce(last_success_records, 0), last_failure_at, last_trigger_at
            FROM mapping_latest
            """, logger: logger)
        for try await (tenant, mapping, success, records, failure, trigger)
            in latest.decode((String, String, Double?, Int, Double?, Double?).self) {
            totals.latest[MappingKey(tenant: tenant, mapping: mapping)] = .init(
                lastSuccessAt: success.map(Date.init(timeIntervalSince1970:)), lastSuccessRecords: records,
                lastFailureAt: failure.map(Date.init(timeIntervalSince1970:)),
                lastTriggerAt: trigger.map(Date.init(timeIntervalSince1970:)))
        }
        return totals
    }

    static func decodeRequest(_ row: PostgresRow) throws -> TrackedRequest {
        RequestRecord(try row.decode(RequestRecord.Columns.self)).request
    }

    static func decodeObservation(_ row: PostgresRow) throws -> ObservationRow {
        ObservationRecord(try row.decode(ObservationRecord.Columns.self)).row
    }
}

extension ReportPeriod {
    /// The UTC day a request ended (`finished_at`), as days since 1970-01-01, the very
    /// day SQLite's date functions give: SQLite turns a unix time into a julian day
    /// rounded to the millisecond (`(int64)(t*1000 + 210866760000000 + 0.5)`, in its
    /// date.c) before taking the date, so this does the same double arithmetic.
    static let postgresEndDay = "floor((floor(finished_at * 1000 + 210866760000000 + 0.5) - 210866760000000) / 86400000)::integer"

    /// The period's name for the day number in column `day`: `YYYY-MM-DD`, the
    /// `YYYY-MM-DD` of the Monday of its ISO week, or `YYYY-MM`. Sorted bytewise
    /// ("C"), as SQLite sorts, whatever the database's locale.
    var postgresName: String {
        let date = "(DATE '1970-01-01' + day)"
        switch self {
        case .day: return "to_char(\(date), 'YYYY-MM-DD') COLLATE \"C\""
        case .week: return "to_char(\(date) - (extract(isodow FROM \(date))::integer - 1), 'YYYY-MM-DD') COLLATE \"C\""
        case .month: return "to_char(\(date), 'YYYY-MM') COLLATE \"C\""
        }
    }
}
