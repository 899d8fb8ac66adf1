import Foundation
import IngestionModel
import Synchronization

/// The source of truth: every tracked request, every status change, and the
/// running totals the metrics are rebuilt from. One write transaction per
/// state change; every method is safe to call from any task.
public final class IngestionStore: Sendable {
    private let connection: Mutex<SQLiteConnectionBox>
    /// Upper bounds (seconds) of the request-duration histogram; +Inf is implied.
    public let durationBounds: [Double]
    public let path: String

    public init(path: String, durationBounds: [Double]) throws(StoreError) {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty && !FileManager.default.fileExists(atPath: directory) {
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            } catch {
                throw StoreError(description: "cannot create directory \(directory) for database \(path): \(error.localizedDescription)")
            }
        }
        let db = try SQLiteConnection(path: path)
        try db.execute("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;")
        try Self.migrate(db)
        self.path = path
        self.durationBounds = durationBounds
        connection = Mutex(SQLiteConnectionBox(db))
    }

    /// A read-only handle on an existing database: no migrations, no writes.
    init(readOnlyPath path: String) throws(StoreError) {
        let db = try SQLiteConnection(path: path, readOnly: true)
        var version = 0
        do {
            try db.prepare("SELECT max(version) FROM schema_migrations").run { row in version = row.int(0) }
        } catch {
            throw StoreError(description: "\(path) is not an acs-ingestion-exporter database")
        }
        guard version <= (Migrations.steps.last?.version ?? 0) else {
            throw StoreError(description: "database \(path) has schema version \(version), newer than this exporter knows")
        }
        self.path = path
        durationBounds = []
        connection = Mutex(SQLiteConnectionBox(db))
    }

    private static func migrate(_ db: SQLiteConnection) throws(StoreError) {
        try db.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at REAL NOT NULL)")
        var applied = Set<Int>()
        try db.prepare("SELECT version FROM schema_migrations").run { row in applied.insert(row.int(0)) }
        if let newest = applied.max(), newest > (Migrations.steps.last?.version ?? 0) {
            throw StoreError(description: "database \(db.path) has schema version \(newest), newer than this exporter knows; upgrade the exporter")
        }
        for step in Migrations.steps where !applied.contains(step.version) {
            try db.transaction { () throws(StoreError) in
                try db.execute(step.sql)
                try db.prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)")
                    .run([.integer(Int64(step.version)), .text(step.name), .real(Date().timeIntervalSince1970)])
            }
        }
    }

    public var schemaVersion: Int {
        (try? withDB { db throws(StoreError) in
            var version = 0
            try db.prepare("SELECT max(version) FROM schema_migrations").run { row in version = row.int(0) }
            return version
        }) ?? 0
    }

    private func withDB<T>(_ body: (SQLiteConnection) throws(StoreError) -> T) throws(StoreError) -> T {
        try connection.withLock { box throws(StoreError) -> T in try body(box.db) }
    }

    /// Reads, under the same lock as writes (one connection per store).
    func read<T>(_ body: (SQLiteConnection) throws(StoreError) -> T) throws(StoreError) -> T {
        try withDB(body)
    }

    // MARK: - Writes

    /// Starts following a request; the same request twice is tracked once.
    @discardableResult
    public func track(_ key: MappingKey, requestID: RequestID, origin: RequestOrigin, at time: Date,
                      triggerResult: String? = nil) throws(StoreError) -> TrackResult {
        try withDB { db throws(StoreError) in
            try db.transaction { () throws(StoreError) -> TrackResult in
                if let triggerResult { try Self.countTrigger(db, key, result: triggerResult, at: time) }
                var pruned = false
                try db.prepare("SELECT 1 FROM pruned_requests WHERE tenant = ? AND mapping = ? AND request_id = ?")
                    .run([.text(key.tenant), .text(key.mapping), .text(requestID.rawValue)]) { _ in pruned = true }
                if pruned {
                    throw StoreError(description: "request \(requestID) of \(key) ended before the retention horizon and was already counted")
                }
                try db.prepare("""
                    INSERT INTO requests (tenant, mapping, request_id, origin, first_seen, status)
                    VALUES (?, ?, ?, ?, ?, 'in_progress') ON CONFLICT DO NOTHING
                    """).run([.text(key.tenant), .text(key.mapping), .text(requestID.rawValue),
                              .text(origin.rawValue), SQLValue(time)])
                let inserted = db.changes == 1
                guard let row = try Self.request(db, key, requestID) else {
                    throw StoreError(description: "database \(db.path): request \(key)/\(requestID) vanished")
                }
                return inserted ? .inserted(row) : .alreadyTracked(row)
            }
        }
    }

    /// Counts a trigger that tracked nothing (refused, or an error).
    public func recordTrigger(_ key: MappingKey, result: String, at time: Date) throws(StoreError) {
        try withDB { db throws(StoreError) in
            try db.transaction { () throws(StoreError) in try Self.countTrigger(db, key, result: result, at: time) }
        }
    }

    /// Records what a poll saw. The request's row, its observation and, when it
    /// ends, the running totals change in one transaction.
    public func recordObservation(_ rowID: Int64, report: StatusReport, at time: Date) throws(StoreError) -> ObservationResult {
        let bounds = durationBounds
        return try withDB { db throws(StoreError) in
            try db.transaction { () throws(StoreError) -> ObservationResult in
                guard var request = try Self.request(db, rowID: rowID) else {
                    throw StoreError(description: "database \(db.path): no tracked request with row id \(rowID)")
                }
                if request.finishedAt != nil { return .alreadyFinished(request) }
                let changed = request.status != report.status || request.numRecords != report.numRecords
                    || request.batchID != report.batchID || request.info != report.info
                request.lastPolled = time
                request.status = report.status
                request.numRecords = report.numRecords
                request.batchID = report.batchID
                request.info = report.info
                request.acpCode = report.acpCode
                if report.status.isTerminal { request.finishedAt = time }
                let rawStatus: String? = if case .unknown(let raw) = report.status { raw } else { nil }

                try db.prepare("""
                    UPDATE requests SET last_polled = ?, status = ?, raw_status = ?, num_records = ?, batch_id = ?,
                        info = ?, acp_code = ?, finished_at = ? WHERE id = ?
                    """).run([SQLValue(time), .text(report.status.name), SQLValue(rawStatus), SQLValue(report.numRecords),
                              SQLValue(report.batchID), SQLValue(report.info), SQLValue(report.acpCode?.rawValue),
                              SQLValue(request.finishedAt), .integer(rowID)])
                if changed {
                    try db.prepare("""
                        INSERT INTO observations (request, observed_at, status, raw_status, num_records, batch_id, info)
                        VALUES (?, ?, ?, ?, ?, ?, ?)
                        """).run([.integer(rowID), SQLValue(time), .text(report.status.name), SQLValue(rawStatus),
                                  SQLValue(report.numRecords), SQLValue(report.batchID), SQLValue(report.info)])
                }
                guard report.status.isTerminal else { return .stillRunning(request) }
                try Self.countOutcome(db, request, bounds: bounds)
                return .finished(request)
            }
        }
    }

    private static func countOutcome(_ db: SQLiteConnection, _ request: TrackedRequest, bounds: [Double]) throws(StoreError) {
        let key = request.key
        let status = request.status.name
        let records = request.status == .success ? request.numRecords : 0
        let duration = max(0, request.duration ?? 0)
        let acp = request.status == .success ? ACPCode.noneLabel : request.acpCode.labelValue
        try db.prepare("""
            INSERT INTO outcome_totals (tenant, mapping, status, acp_code, requests, records, duration_sum)
            VALUES (?, ?, ?, ?, 1, ?, ?)
            ON CONFLICT DO UPDATE SET requests = requests + 1, records = records + excluded.records,
                duration_sum = duration_sum + excluded.duration_sum
            """).run([.text(key.tenant), .text(key.mapping), .text(status), .text(acp), SQLValue(records), .real(duration)])
        let bound = bounds.first { duration <= $0 } ?? Double.infinity
        try db.prepare("""
            INSERT INTO duration_buckets (tenant, mapping, status, upper_bound, count) VALUES (?, ?, ?, ?, 1)
            ON CONFLICT DO UPDATE SET count = count + 1
            """).run([.text(key.tenant), .text(key.mapping), .text(status), .real(bound.isFinite ? bound : 1e308)])
        let finished = SQLValue(request.finishedAt)
        if request.status == .success {
            try db.prepare("""
                INSERT INTO mapping_latest (tenant, mapping, last_success_at, last_success_records) VALUES (?, ?, ?, ?)
                ON CONFLICT DO UPDATE SET last_success_at = excluded.last_success_at,
                    last_success_records = excluded.last_success_records
                """).run([.text(key.tenant), .text(key.mapping), finished, SQLValue(records)])
        } else {
            try db.prepare("""
                INSERT INTO mapping_latest (tenant, mapping, last_failure_at) VALUES (?, ?, ?)
                ON CONFLICT DO UPDATE SET last_failure_at = excluded.last_failure_at
                """).run([.text(key.tenant), .text(key.mapping), finished])
        }
    }

    private static func countTrigger(_ db: SQLiteConnection, _ key: MappingKey, result: String, at time: Date) throws(StoreError) {
        try db.prepare("""
            INSERT INTO trigger_totals (tenant, mapping, result, count) VALUES (?, ?, ?, 1)
            ON CONFLICT DO UPDATE SET count = count + 1
            """).run([.text(key.tenant), .text(key.mapping), .text(result)])
        try db.prepare("""
            INSERT INTO mapping_latest (tenant, mapping, last_trigger_at) VALUES (?, ?, ?)
            ON CONFLICT DO UPDATE SET last_trigger_at = excluded.last_trigger_at
            """).run([.text(key.tenant), .text(key.mapping), SQLValue(time)])
    }

    /// Writes many requests at once, each as if it had been tracked and polled to
    /// its present status: rows, one observation each and the running totals,
    /// in one transaction. For imports, benchmarks and tests of large histories.
    public func importHistory(_ requests: [TrackedRequest]) throws(StoreError) {
        let bounds = durationBounds
        try withDB { db throws(StoreError) in
            try db.transaction { () throws(StoreError) in
                for request in requests {
                    let rawStatus: String? = if case .unknown(let raw) = request.status { raw } else { nil }
                    try db.prepare("""
                        INSERT INTO requests (tenant, mapping, request_id, origin, first_seen, last_polled, status, raw_status,
                            num_records, batch_id, info, acp_code, finished_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """).run([.text(request.key.tenant), .text(request.key.mapping), .text(request.requestID.rawValue),
                                  .text(request.origin.rawValue), SQLValue(request.firstSeen), SQLValue(request.lastPolled),
                                  .text(request.status.name), SQLValue(rawStatus), SQLValue(request.numRecords),
                                  SQLValue(request.batchID), SQLValue(request.info), SQLValue(request.acpCode?.rawValue),
                                  SQLValue(request.finishedAt)])
                    try db.prepare("""
                        INSERT INTO observations (request, observed_at, status, raw_status, num_records, batch_id, info)
                        VALUES (?, ?, ?, ?, ?, ?, ?)
                        """).run([.integer(db.lastInsertRowID), SQLValue(request.lastPolled ?? request.firstSeen),
                                  .text(request.status.name), SQLValue(rawStatus), SQLValue(request.numRecords),
                                  SQLValue(request.batchID), SQLValue(request.info)])
                    if request.status.isTerminal && request.finishedAt != nil {
                        try Self.countOutcome(db, request, bounds: bounds)
                    }
                }
            }
        }
    }

    /// Deletes requests (and their observations) that ended before `cutoff`.
    /// The running totals keep counting them.
    @discardableResult
    public func prune(finishedBefore cutoff: Date) throws(StoreError) -> Int {
        try withDB { db throws(StoreError) in
            try db.transaction { () throws(StoreError) -> Int in
                // Their keys stay, so that tracking one again cannot count it a second time.
                try db.prepare("""
                    INSERT OR IGNORE INTO pruned_requests (tenant, mapping, request_id)
                    SELECT tenant, mapping, request_id FROM requests WHERE finished_at IS NOT NULL AND finished_at < ?
                    """).run([SQLValue(cutoff)])
                try db.prepare("DELETE FROM requests WHERE finished_at IS NOT NULL AND finished_at < ?").run([SQLValue(cutoff)])
                return db.changes
            }
        }
    }

    // MARK: - Reads

    /// Requests not yet ended, of one tenant or of all.
    public func openRequests(tenant: String? = nil) throws(StoreError) -> [TrackedRequest] {
        try withDB { db throws(StoreError) in
            guard let tenant else { return try Self.requests(db, where: "finished_at IS NULL", [], order: "id") }
            return try Self.requests(db, where: "finished_at IS NULL AND tenant = ?", [.text(tenant)], order: "id")
        }
    }

    public func request(_ key: MappingKey, _ requestID: RequestID) throws(StoreError) -> TrackedRequest? {
        try withDB { db throws(StoreError) in try Self.request(db, key, requestID) }
    }

    public func observations(of rowID: Int64) throws(StoreError) -> [Observation] {
        try withDB { db throws(StoreError) in
            var result: [Observation] = []
            try db.prepare("SELECT observed_at, status, raw_status, num_records, batch_id, info FROM observations WHERE request = ? ORDER BY id")
                .run([.integer(rowID)]) { row in
                    result.append(Observation(observedAt: row.date(0)!,
                                              status: IngestionStatus(storedName: row.string(1), raw: row.text(2)),
                                              numRecords: row.int(3), batchID: row.text(4), info: row.text(5)))
                }
            return result
        }
    }

    public func totals() throws(StoreError) -> StoreTotals {
        try withDB { db throws(StoreError) in
            var totals = StoreTotals()
            try db.prepare("SELECT tenant, mapping, status, acp_code, requests, records, duration_sum FROM outcome_totals").run { row in
                totals.outcomes.append(.init(key: MappingKey(tenant: row.string(0), mapping: row.string(1)), status: row.string(2),
                                             acpCode: row.string(3), requests: row.int(4), records: row.int(5),
                                             durationSum: row.double(6)))
            }
            try db.prepare("SELECT tenant, mapping, status, upper_bound, count FROM duration_buckets").run { row in
                let bound = row.double(3)
                totals.buckets.append(.init(key: MappingKey(tenant: row.string(0), mapping: row.string(1)), status: row.string(2),
                                            upperBound: bound >= 1e308 ? .infinity : bound, count: row.int(4)))
            }
            try db.prepare("SELECT tenant, mapping, result, count FROM trigger_totals").run { row in
                totals.triggers[MappingKey(tenant: row.string(0), mapping: row.string(1)), default: [:]][row.string(2)] = row.int(3)
            }
            try db.prepare("SELECT tenant, mapping, last_success_at, last_success_records, last_failure_at, last_trigger_at FROM mapping_latest").run { row in
                totals.latest[MappingKey(tenant: row.string(0), mapping: row.string(1))] = .init(
                    lastSuccessAt: row.date(2), lastSuccessRecords: row.int(3), lastFailureAt: row.date(4), lastTriggerAt: row.date(5))
            }
            totals.open = try Self.requests(db, where: "finished_at IS NULL", [], order: "id")
            return totals
        }
    }

    static let columns = "id, tenant, mapping, request_id, origin, first_seen, last_polled, status, raw_status, num_records, batch_id, info, acp_code, finished_at"

    static func requests(_ db: SQLiteConnection, where condition: String, _ values: [SQLValue], order: String,
                         limit: Int? = nil) throws(StoreError) -> [TrackedRequest] {
        var result: [TrackedRequest] = []
        // The limit is bound, not written into the SQL: each distinct text is a cached statement.
        let sql = "SELECT \(columns) FROM requests WHERE \(condition) ORDER BY \(order)" + (limit == nil ? "" : " LIMIT ?")
        try db.prepare(sql).run(values + (limit.map { [SQLValue($0)] } ?? [])) { row in result.append(Self.decode(row)) }
        return result
    }

    private static func request(_ db: SQLiteConnection, _ key: MappingKey, _ id: RequestID) throws(StoreError) -> TrackedRequest? {
        try requests(db, where: "tenant = ? AND mapping = ? AND request_id = ?",
                     [.text(key.tenant), .text(key.mapping), .text(id.rawValue)], order: "id").first
    }

    private static func request(_ db: SQLiteConnection, rowID: Int64) throws(StoreError) -> TrackedRequest? {
        try requests(db, where: "id = ?", [.integer(rowID)], order: "id").first
    }

    private static func decode(_ row: Row) -> TrackedRequest {
        TrackedRequest(rowID: Int64(row.int(0)), key: MappingKey(tenant: row.string(1), mapping: row.string(2)),
                       requestID: RequestID(row.string(3)), origin: RequestOrigin(rawValue: row.string(4)) ?? .external,
                       firstSeen: row.date(5)!, lastPolled: row.date(6),
                       status: IngestionStatus(storedName: row.string(7), raw: row.text(8)),
                       numRecords: row.int(9), batchID: row.text(10), info: row.text(11),
                       acpCode: row.text(12).flatMap(ACPCode.init(rawValue:)), finishedAt: row.date(13))
    }
}

/// Lets the connection live behind a `Mutex` (it is only ever used under the lock).
struct SQLiteConnectionBox: @unchecked Sendable {
    let db: SQLiteConnection
    init(_ db: SQLiteConnection) { self.db = db }
}
