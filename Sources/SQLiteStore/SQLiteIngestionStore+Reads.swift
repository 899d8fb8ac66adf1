import Foundation
import IngestionModel
import IngestionStore

extension SQLiteIngestionStore {
    public func totals() throws(StoreError) -> IngestionTotals {
        try read { db throws(StoreError) in
            var totals = IngestionTotals()
            try db.prepare("SELECT tenant, mapping, status, acp_code, requests, records, duration_sum FROM outcome_totals ORDER BY 1, 2, 3, 4")
                .run { row in
                    guard let status = FinalStatus(rawValue: row.string(2)) else { return }
                    totals.outcomes.append(.init(key: MappingKey(tenant: row.string(0), mapping: row.string(1)), status: status,
                                                 acpCode: row.string(3), requests: row.int(4), records: row.int(5),
                                                 durationSum: row.double(6)))
                }
            try db.prepare("SELECT tenant, mapping, status, upper_bound, count FROM duration_buckets ORDER BY 1, 2, 3, 4").run { row in
                guard let status = FinalStatus(rawValue: row.string(2)) else { return }
                totals.buckets.append(.init(key: MappingKey(tenant: row.string(0), mapping: row.string(1)), status: status,
                                            upperBound: SQLiteBound.read(row.double(3)), count: row.int(4)))
            }
            try db.prepare("SELECT tenant, mapping, result, count FROM trigger_totals").run { row in
                guard let result = TriggerResult(rawValue: row.string(2)) else { return }
                totals.triggers[MappingKey(tenant: row.string(0), mapping: row.string(1)), default: [:]][result] = row.int(3)
            }
            try db.prepare("""
                SELECT tenant, mapping, last_success_at, coalesce(last_success_records, 0), last_failure_at, last_trigger_at
                FROM mapping_latest
                """).run { row in
                totals.latest[MappingKey(tenant: row.string(0), mapping: row.string(1))] = .init(
                    lastSuccessAt: row.date(2), lastSuccessRecords: row.int(3), lastFailureAt: row.date(4), lastTriggerAt: row.date(5))
            }
            totals.open = try Self.requests(db, where: Self.isOpen, [], order: "id")
            try db.prepare("SELECT tenant, mapping, kind, name, value FROM aep_totals ORDER BY 1, 2, 3, 4").run { row in
                guard let kind = AEPTotals.Kind(rawValue: row.string(2)) else { return }
                totals.aep[MappingKey(tenant: row.string(0), mapping: row.string(1)), default: AEPTotals()]
                    .add(kind: kind, name: row.string(3), value: row.int(4))
            }
            try db.prepare("SELECT tenant, mapping, count(*) FROM aep_batches WHERE finished_at IS NULL GROUP BY 1, 2").run { row in
                totals.aep[MappingKey(tenant: row.string(0), mapping: row.string(1)), default: AEPTotals()].inProgress = row.int(2)
            }
            return totals
        }
    }

    public func openRequests(tenant: String?) throws(StoreError) -> [TrackedRequest] {
        try read { db throws(StoreError) in
            guard let tenant else { return try Self.requests(db, where: Self.isOpen, [], order: "id") }
            return try Self.requests(db, where: Self.isOpen + " AND tenant = ?", [.text(tenant)], order: "id")
        }
    }

    public func request(_ key: MappingKey, _ requestID: RequestID) throws(StoreError) -> TrackedRequest? {
        try read { db throws(StoreError) in try Self.request(db, key, requestID) }
    }

    public func openBatches(tenant: String?) throws(StoreError) -> [BatchFollowUp] {
        try read { db throws(StoreError) in
            guard let tenant else { return try Self.batches(db, where: "b.finished_at IS NULL", []) }
            return try Self.batches(db, where: "b.finished_at IS NULL AND b.tenant = ?", [.text(tenant)])
        }
    }

    public func batches(ofRequests rowIDs: [Int64]) throws(StoreError) -> [Int64: BatchFollowUp] {
        guard !rowIDs.isEmpty else { return [:] }
        return try read { db throws(StoreError) in
            var found: [Int64: BatchFollowUp] = [:]
            // In slices, within SQLite's limit on bound values.
            for start in stride(from: 0, to: rowIDs.count, by: 500) {
                let slice = rowIDs[start..<min(start + 500, rowIDs.count)]
                let marks = Array(repeating: "?", count: slice.count).joined(separator: ", ")
                for batch in try Self.batches(db, where: "b.request IN (\(marks))", slice.map { .integer($0) }) {
                    found[batch.requestRowID] = batch
                }
            }
            return found
        }
    }

    /// Followed batches with their request's id, the soonest due first (or in `order`).
    static func batches(_ db: SQLiteConnection, where condition: String, _ values: [SQLValue],
                        order: String = "b.next_lookup_at, b.request", limit: Int? = nil) throws(StoreError) -> [BatchFollowUp] {
        var result: [BatchFollowUp] = []
        try db.prepare("""
            SELECT b.request, b.tenant, b.mapping, r.request_id, b.batch_id, b.status, b.created_at, b.lookups, b.next_lookup_at,
                b.last_error, b.finished_at, b.input_records, b.output_records, b.failed_records, b.errors
            FROM aep_batches b JOIN requests r ON r.id = b.request WHERE \(condition) ORDER BY \(order)
            """ + (limit == nil ? "" : " LIMIT ?")).run(values + (limit.map { [SQLValue($0)] } ?? [])) { row in
            result.append(BatchFollowUp(
                requestRowID: Int64(row.int(0)), key: MappingKey(tenant: row.string(1), mapping: row.string(2)),
                requestID: RequestID(row.string(3)), batchID: row.string(4), status: row.string(5), createdAt: row.date(6)!,
                lookups: row.int(7), nextLookupAt: row.date(8), lastError: row.text(9), finishedAt: row.date(10),
                counts: CatalogBatch.Counts(input: row.optionalInt(11), output: row.optionalInt(12), failed: row.optionalInt(13)),
                errors: BatchFollowUp.errors(fromJSON: row.string(14))))
        }
        return result
    }

    public func observations(of rowID: Int64) throws(StoreError) -> [Observation] {
        try read { db throws(StoreError) in
            var result: [Observation] = []
            try db.prepare("""
                SELECT observed_at, status, raw_status, num_records, batch_id, info FROM observations
                WHERE request = ? ORDER BY id
                """).run([.integer(rowID)]) { row in
                result.append(Observation(observedAt: row.date(0)!, status: IngestionStatus(storedName: row.string(1), raw: row.text(2)),
                                          numRecords: row.int(3), batchID: row.text(4), info: row.text(5)))
            }
            return result
        }
    }

    public func pendingTriggerIntents() throws(StoreError) -> [TriggerIntent] {
        try read { db throws(StoreError) in
            var intents: [TriggerIntent] = []
            try db.prepare("SELECT id, tenant, mapping, at FROM trigger_intents ORDER BY id").run { row in
                intents.append(TriggerIntent(id: Int64(row.int(0)), key: MappingKey(tenant: row.string(1), mapping: row.string(2)),
                                             at: row.date(3)!))
            }
            return intents
        }
    }

    public func triggerPlans() throws(StoreError) -> [MappingKey: TriggerPlan] {
        try read { db throws(StoreError) in
            var plans: [MappingKey: TriggerPlan] = [:]
            try db.prepare("SELECT tenant, mapping, slot, due_at, attempts, failing_since FROM trigger_plans").run { row in
                plans[MappingKey(tenant: row.string(0), mapping: row.string(1))] = TriggerPlan(
                    slot: row.date(2)!, dueAt: row.date(3)!, attempts: row.int(4), failingSince: row.date(5))
            }
            return plans
        }
    }

    public func isPruned(_ key: MappingKey, _ requestID: RequestID) throws(StoreError) -> Bool {
        try read { db throws(StoreError) in try Self.isPruned(db, key, requestID) }
    }

    public func history(_ query: HistoryQuery) throws(StoreError) -> [TrackedRequest] {
        var conditions = ["1 = 1"]
        var values: [SQLValue] = []
        if let tenant = query.tenant { conditions.append("tenant = ?"); values.append(.text(tenant)) }
        if let mapping = query.mapping { conditions.append("mapping = ?"); values.append(.text(mapping)) }
        if let status = query.status { conditions.append("status = ?"); values.append(.text(status.name)) }
        if let since = query.since { conditions.append("first_seen >= ?"); values.append(SQLValue(since)) }
        if let before = query.before { conditions.append("id < ?"); values.append(.integer(before)) }
        let limit = max(1, query.limit)
        return try read { db throws(StoreError) in
            try Self.requests(db, where: conditions.joined(separator: " AND "), values, order: "id DESC", limit: limit)
        }
    }

    public func latestRequests() throws(StoreError) -> [MappingKey: TrackedRequest] {
        try read { db throws(StoreError) in
            let rows = try Self.requests(db, where: "id IN (SELECT max(id) FROM requests GROUP BY tenant, mapping)", [],
                                         order: "id")
            return Dictionary(rows.map { ($0.key, $0) }, uniquingKeysWith: { $1 })
        }
    }

    public func dailyRecords(since: Date) throws(StoreError) -> [MappingKey: [String: Int]] {
        try read { db throws(StoreError) in
            var result: [MappingKey: [String: Int]] = [:]
            try db.prepare("""
                SELECT tenant, mapping, \(ReportPeriod.day.sqlExpression) AS day, sum(num_records)
                FROM requests WHERE status = ? AND finished_at >= ? GROUP BY tenant, mapping, day ORDER BY tenant, mapping, day
                """).run([.text(FinalStatus.success.label), SQLValue(since)]) { row in
                result[MappingKey(tenant: row.string(0), mapping: row.string(1)), default: [:]][row.string(2)] = row.int(3)
            }
            return result
        }
    }

    public func report(period: ReportPeriod, from: Date?, to: Date?) throws(StoreError) -> [ReportRow] {
        var conditions = ["finished_at IS NOT NULL"]
        var values: [SQLValue] = []
        if let from { conditions.append("finished_at >= ?"); values.append(SQLValue(from)) }
        if let to { conditions.append("finished_at < ?"); values.append(SQLValue(to)) }
        let sql = """
            SELECT tenant, mapping, \(period.sqlExpression) AS period, status, coalesce(acp_code, '\(ACPCode.noneLabel)'),
                count(*), sum(num_records)
            FROM requests WHERE \(conditions.joined(separator: " AND "))
            GROUP BY tenant, mapping, period, status, acp_code ORDER BY tenant, mapping, period
            """
        return try read { db throws(StoreError) in
            var rows: [ReportRow] = []
            try db.prepare(sql).run(values) { row in
                guard let status = FinalStatus(rawValue: row.string(3)) else { return }
                let key = MappingKey(tenant: row.string(0), mapping: row.string(1))
                let period = row.string(2)
                if rows.last?.key != key || rows.last?.period != period { rows.append(ReportRow(key: key, period: period)) }
                rows[rows.count - 1].add(status: status, acpCode: row.string(4), count: row.int(5), records: row.int(6))
            }
            return rows
        }
    }

    // MARK: - Row reads shared by the methods

    static let columns = """
        id, tenant, mapping, request_id, origin, first_seen, last_polled, status, raw_status, num_records, batch_id, info, \
        acp_code, finished_at, not_found_since, untracked_at
        """

    /// Requests still followed: not ended, not untracked.
    static let isOpen = "finished_at IS NULL AND untracked_at IS NULL"

    static func requests(_ db: SQLiteConnection, where condition: String, _ values: [SQLValue], order: String,
                         limit: Int? = nil) throws(StoreError) -> [TrackedRequest] {
        var result: [TrackedRequest] = []
        // The limit is bound, not written into the SQL: each distinct text is a cached statement.
        let sql = "SELECT \(columns) FROM requests WHERE \(condition) ORDER BY \(order)" + (limit == nil ? "" : " LIMIT ?")
        try db.prepare(sql).run(values + (limit.map { [SQLValue($0)] } ?? [])) { row in result.append(decode(row)) }
        return result
    }

    static func request(_ db: SQLiteConnection, _ key: MappingKey, _ id: RequestID) throws(StoreError) -> TrackedRequest? {
        try requests(db, where: "tenant = ? AND mapping = ? AND request_id = ?",
                     [.text(key.tenant), .text(key.mapping), .text(id.rawValue)], order: "id").first
    }

    static func request(_ db: SQLiteConnection, rowID: Int64) throws(StoreError) -> TrackedRequest? {
        try requests(db, where: "id = ?", [.integer(rowID)], order: "id").first
    }

    static func isPruned(_ db: SQLiteConnection, _ key: MappingKey, _ id: RequestID) throws(StoreError) -> Bool {
        var found = false
        try db.prepare("SELECT 1 FROM pruned_requests WHERE tenant = ? AND mapping = ? AND request_id = ?")
            .run([.text(key.tenant), .text(key.mapping), .text(id.rawValue)]) { _ in found = true }
        return found
    }

    private static func decode(_ row: Row) -> TrackedRequest {
        TrackedRequest(rowID: Int64(row.int(0)), key: MappingKey(tenant: row.string(1), mapping: row.string(2)),
                       requestID: RequestID(row.string(3)), origin: RequestOrigin(rawValue: row.string(4)) ?? .external,
                       firstSeen: row.date(5)!, lastPolled: row.date(6),
                       status: IngestionStatus(storedName: row.string(7), raw: row.text(8)),
                       numRecords: row.int(9), batchID: row.text(10), info: row.text(11),
                       acpCode: row.text(12).flatMap(ACPCode.init(rawValue:)), finishedAt: row.date(13),
                       notFoundSince: row.date(14), untrackedAt: row.date(15))
    }
}

extension ReportPeriod {
    /// SQLite's spelling of the period a request's end falls in (UTC).
    var sqlExpression: String {
        switch self {
        case .day: return "strftime('%Y-%m-%d', finished_at, 'unixepoch')"
        case .week: return "date(finished_at, 'unixepoch', 'weekday 0', '-6 days')"
        case .month: return "strftime('%Y-%m', finished_at, 'unixepoch')"
        }
    }
}
