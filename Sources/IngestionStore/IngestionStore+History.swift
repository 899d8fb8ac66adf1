import Foundation
import IngestionModel

/// A filter over the request history, newest first.
public struct HistoryQuery: Sendable, Equatable {
    public var tenant: String?
    public var mapping: String?
    public var status: IngestionStatus?
    /// Requests first seen at or after this moment.
    public var since: Date?
    public var limit = 50
    /// The row id of the last request of the previous page.
    public var before: Int64?

    public init() {}
}

/// One day's figures of one mapping, for charts.
public struct DailyRecords: Sendable, Equatable {
    public var key: MappingKey
    /// The day, `YYYY-MM-DD` (UTC).
    public var day: String
    public var records: Int
}

/// Capacity figures of one mapping over one period.
public struct ReportRow: Sendable, Equatable {
    public var key: MappingKey
    /// `2026-11-29`, `2026-11-23` (the Monday of a week) or `2026-11`, by when requests ended (UTC).
    public var period: String
    public var recordsIngested: Int
    public var succeeded: Int
    public var failed: Int
    public var aborted: Int
    /// Failed and Aborted requests by ACP code (`none` without one).
    public var failuresByACPCode: [String: Int]

    public init(key: MappingKey, period: String, recordsIngested: Int = 0, succeeded: Int = 0, failed: Int = 0,
                aborted: Int = 0, failuresByACPCode: [String: Int] = [:]) {
        self.key = key
        self.period = period
        self.recordsIngested = recordsIngested
        self.succeeded = succeeded
        self.failed = failed
        self.aborted = aborted
        self.failuresByACPCode = failuresByACPCode
    }
}

public enum ReportPeriod: String, Sendable, CaseIterable {
    case day, week, month

    var sqlExpression: String {
        switch self {
        case .day: return "strftime('%Y-%m-%d', finished_at, 'unixepoch')"
        case .week: return "date(finished_at, 'unixepoch', 'weekday 0', '-6 days')"
        case .month: return "strftime('%Y-%m', finished_at, 'unixepoch')"
        }
    }
}

extension IngestionStore {
    /// Opens an existing database for reading only (the `report` command, while the daemon runs).
    public static func openReadOnly(path: String) throws(StoreError) -> IngestionStore {
        guard FileManager.default.fileExists(atPath: path) else {
            throw StoreError(description: "no database at \(path)")
        }
        return try IngestionStore(readOnlyPath: path)
    }

    /// Whether retention removed this request (it was counted, and cannot be tracked again).
    public func isPruned(_ key: MappingKey, _ requestID: RequestID) throws(StoreError) -> Bool {
        try read { db throws(StoreError) in
            var found = false
            try db.prepare("SELECT 1 FROM pruned_requests WHERE tenant = ? AND mapping = ? AND request_id = ?")
                .run([.text(key.tenant), .text(key.mapping), .text(requestID.rawValue)]) { _ in found = true }
            return found
        }
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

    /// The most recent request of each mapping that has one.
    public func latestRequests() throws(StoreError) -> [MappingKey: TrackedRequest] {
        try read { db throws(StoreError) in
            let rows = try Self.requests(db, where: "id IN (SELECT max(id) FROM requests GROUP BY tenant, mapping)", [],
                                         order: "id")
            return Dictionary(rows.map { ($0.key, $0) }, uniquingKeysWith: { $1 })
        }
    }

    /// Records ingested per mapping and day since `since`.
    public func dailyRecords(since: Date) throws(StoreError) -> [DailyRecords] {
        try read { db throws(StoreError) in
            var result: [DailyRecords] = []
            try db.prepare("""
                SELECT tenant, mapping, strftime('%Y-%m-%d', finished_at, 'unixepoch') AS day, sum(num_records)
                FROM requests WHERE status = 'success' AND finished_at >= ? GROUP BY tenant, mapping, day ORDER BY day
                """).run([SQLValue(since)]) { row in
                result.append(DailyRecords(key: MappingKey(tenant: row.string(0), mapping: row.string(1)),
                                           day: row.string(2), records: row.int(3)))
            }
            return result
        }
    }

    /// Capacity figures per mapping and period for requests that ended in [from, to).
    public func report(period: ReportPeriod, from: Date?, to: Date?) throws(StoreError) -> [ReportRow] {
        var conditions = ["finished_at IS NOT NULL"]
        var values: [SQLValue] = []
        if let from { conditions.append("finished_at >= ?"); values.append(SQLValue(from)) }
        if let to { conditions.append("finished_at < ?"); values.append(SQLValue(to)) }
        let sql = """
            SELECT tenant, mapping, \(period.sqlExpression) AS period, status, coalesce(acp_code, 'none'),
                count(*), sum(num_records)
            FROM requests WHERE \(conditions.joined(separator: " AND "))
            GROUP BY tenant, mapping, period, status, acp_code ORDER BY tenant, mapping, period
            """
        return try read { db throws(StoreError) in
            var rows: [String: ReportRow] = [:]
            var order: [String] = []
            try db.prepare(sql).run(values) { row in
                let key = MappingKey(tenant: row.string(0), mapping: row.string(1))
                let period = row.string(2)
                let id = "\(key.tenant)\u{0}\(key.mapping)\u{0}\(period)"
                if rows[id] == nil { order.append(id); rows[id] = ReportRow(key: key, period: period) }
                let count = row.int(5)
                switch row.string(3) {
                case "success":
                    rows[id]!.succeeded += count
                    rows[id]!.recordsIngested += row.int(6)
                case "failed":
                    rows[id]!.failed += count
                    rows[id]!.failuresByACPCode[row.string(4), default: 0] += count
                case "aborted":
                    rows[id]!.aborted += count
                    rows[id]!.failuresByACPCode[row.string(4), default: 0] += count
                default:
                    break
                }
            }
            return order.map { rows[$0]! }
        }
    }
}
