import Foundation
import IngestionModel
import IngestionStore

/// The embedded store: one SQLite file in WAL mode.
///
/// The connection is owned by this actor, whose executor is a serial queue of its
/// own: every statement runs there, never on Swift's cooperative pool, and one
/// at a time (what SQLite's multi-thread mode requires). Each write method is one
/// `write {}` transaction.
public actor SQLiteIngestionStore: IngestionStore {
    private let executor: SerialQueueExecutor
    private let db: SQLiteConnection
    /// Upper bounds (seconds) of the request-duration histogram; +Inf is implied.
    let durationBounds: [Double]
    public nonisolated let path: String
    public nonisolated var location: String { "sqlite:" + path }

    public nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    /// Opens (creating it and its directory when missing) and migrates the database.
    public init(path: String, durationBounds: [Double]) throws(StoreError) {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty && !FileManager.default.fileExists(atPath: directory) {
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            } catch {
                throw StoreError(.unavailable, "cannot create directory \(directory) for database \(path): \(error.localizedDescription)")
            }
        }
        let db = try SQLiteConnection(path: path)
        try db.execute("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;")
        // A 512 KiB page cache instead of SQLite's 2 MiB: the file's pages stay in the OS's
        // cache anyway, and at 100k series the exporter must fit in 64 MiB.
        try db.execute("PRAGMA cache_size = -512;")
        try Migrations.apply(to: db)
        self.db = db
        self.path = path
        self.durationBounds = durationBounds
        executor = SerialQueueExecutor(label: "sqlite-store")
    }

    /// A read-only handle on an existing database (the `report` command, while the
    /// daemon runs): no migrations, and every write fails.
    public init(readOnlyPath path: String) throws(StoreError) {
        guard FileManager.default.fileExists(atPath: path) else {
            throw StoreError(.unavailable, "no database at \(path)")
        }
        let db = try SQLiteConnection(path: path, readOnly: true)
        try Migrations.checkReadable(db)
        self.db = db
        self.path = path
        durationBounds = []
        executor = SerialQueueExecutor(label: "sqlite-store-read-only")
    }

    public func schemaVersion() throws(StoreError) -> Int { try Migrations.currentVersion(db) }

    public func close() {}

    /// One transaction: everything `body` writes lands, or nothing does.
    private func write<T>(_ body: (SQLiteConnection) throws(StoreError) -> T) throws(StoreError) -> T {
        try db.transaction { () throws(StoreError) -> T in try body(db) }
    }

    /// A read on the store's connection.
    func read<T>(_ body: (SQLiteConnection) throws(StoreError) -> T) throws(StoreError) -> T {
        try body(db)
    }

    // MARK: - Writes

    public func registerMappings(_ keys: [MappingKey], at time: Date) throws(StoreError) -> [MappingKey: Date] {
        try write { db throws(StoreError) in
            var created: [MappingKey: Date] = [:]
            for key in keys {
                try db.prepare("INSERT INTO mappings (tenant, mapping, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING")
                    .run([.text(key.tenant), .text(key.mapping), SQLValue(time)])
                try db.prepare("SELECT created_at FROM mappings WHERE tenant = ? AND mapping = ?")
                    .run([.text(key.tenant), .text(key.mapping)]) { row in created[key] = row.date(0) }
            }
            return created
        }
    }

    public func track(_ key: MappingKey, requestID: RequestID, origin: RequestOrigin, at time: Date,
                      triggerResult: TriggerResult?) throws(StoreError) -> TrackResult {
        try write { db throws(StoreError) in
            if let triggerResult { try Self.countTrigger(db, key, result: triggerResult, at: time) }
            if try Self.isPruned(db, key, requestID) {
                throw StoreError(.alreadyCounted,
                                 "request \(requestID) of \(key) ended before the retention horizon and was already counted")
            }
            try db.prepare("""
                INSERT INTO requests (tenant, mapping, request_id, origin, first_seen, status)
                VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING
                """).run([.text(key.tenant), .text(key.mapping), .text(requestID.rawValue),
                          .text(origin.rawValue), SQLValue(time), .text(IngestionStatus.inProgress.name)])
            let inserted = db.changes == 1
            guard let row = try Self.request(db, key, requestID) else {
                throw StoreError(.failed, "database \(db.path): request \(key)/\(requestID) vanished")
            }
            return inserted ? .inserted(row) : .alreadyTracked(row)
        }
    }

    public func recordTrigger(_ key: MappingKey, result: TriggerResult, at time: Date) throws(StoreError) {
        try write { db throws(StoreError) in try Self.countTrigger(db, key, result: result, at: time) }
    }

    public func recordObservation(_ rowID: Int64, report: StatusReport, at time: Date) throws(StoreError) -> ObservationResult {
        let bounds = durationBounds
        return try write { db throws(StoreError) -> ObservationResult in
            guard var request = try Self.request(db, rowID: rowID) else {
                throw StoreError(.failed, "database \(db.path): no tracked request with row id \(rowID)")
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

            try db.prepare("""
                UPDATE requests SET last_polled = ?, status = ?, raw_status = ?, num_records = ?, batch_id = ?,
                    info = ?, acp_code = ?, finished_at = ? WHERE id = ?
                """).run([SQLValue(time), .text(report.status.name), SQLValue(report.status.rawUnknown),
                          SQLValue(report.numRecords), SQLValue(report.batchID), SQLValue(report.info),
                          SQLValue(report.acpCode?.rawValue), SQLValue(request.finishedAt), .integer(rowID)])
            if changed { try Self.appendObservation(db, rowID, request, at: time) }
            guard request.status.isTerminal else { return .stillRunning(request) }
            try Self.countOutcome(db, request, bounds: bounds)
            return .finished(request)
        }
    }

    public func importHistory(_ requests: [TrackedRequest]) throws(StoreError) {
        let bounds = durationBounds
        try write { db throws(StoreError) in
            for request in requests {
                try db.prepare("""
                    INSERT INTO requests (tenant, mapping, request_id, origin, first_seen, last_polled, status, raw_status,
                        num_records, batch_id, info, acp_code, finished_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """).run([.text(request.key.tenant), .text(request.key.mapping), .text(request.requestID.rawValue),
                              .text(request.origin.rawValue), SQLValue(request.firstSeen), SQLValue(request.lastPolled),
                              .text(request.status.name), SQLValue(request.status.rawUnknown), SQLValue(request.numRecords),
                              SQLValue(request.batchID), SQLValue(request.info), SQLValue(request.acpCode?.rawValue),
                              SQLValue(request.finishedAt)])
                try Self.appendObservation(db, db.lastInsertRowID, request, at: request.lastPolled ?? request.firstSeen)
                if request.status.isTerminal && request.finishedAt != nil {
                    try Self.countOutcome(db, request, bounds: bounds)
                }
            }
        }
    }

    public func prune(finishedBefore cutoff: Date) throws(StoreError) -> Int {
        try write { db throws(StoreError) -> Int in
            // Their keys stay, so that tracking one again cannot count it a second time.
            try db.prepare("""
                INSERT OR IGNORE INTO pruned_requests (tenant, mapping, request_id)
                SELECT tenant, mapping, request_id FROM requests WHERE finished_at IS NOT NULL AND finished_at < ?
                """).run([SQLValue(cutoff)])
            try db.prepare("DELETE FROM requests WHERE finished_at IS NOT NULL AND finished_at < ?").run([SQLValue(cutoff)])
            return db.changes
        }
    }

    // MARK: - Statements shared by the writes

    private static func appendObservation(_ db: SQLiteConnection, _ rowID: Int64, _ request: TrackedRequest,
                                          at time: Date) throws(StoreError) {
        try db.prepare("""
            INSERT INTO observations (request, observed_at, status, raw_status, num_records, batch_id, info)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            """).run([.integer(rowID), SQLValue(time), .text(request.status.name), SQLValue(request.status.rawUnknown),
                      SQLValue(request.numRecords), SQLValue(request.batchID), SQLValue(request.info)])
    }

    private static func countOutcome(_ db: SQLiteConnection, _ request: TrackedRequest, bounds: [Double]) throws(StoreError) {
        guard let status = request.status.finalStatus else { return }
        let key = request.key
        let records = status == .success ? request.numRecords : 0
        let duration = max(0, request.duration ?? 0)
        let acp = status == .success ? ACPCode.noneLabel : request.acpCode.labelValue
        try db.prepare("""
            INSERT INTO outcome_totals (tenant, mapping, status, acp_code, requests, records, duration_sum)
            VALUES (?, ?, ?, ?, 1, ?, ?)
            ON CONFLICT DO UPDATE SET requests = requests + 1, records = records + excluded.records,
                duration_sum = duration_sum + excluded.duration_sum
            """).run([.text(key.tenant), .text(key.mapping), .text(status.label), .text(acp), SQLValue(records), .real(duration)])
        let bound = bounds.first { duration <= $0 } ?? Double.infinity
        try db.prepare("""
            INSERT INTO duration_buckets (tenant, mapping, status, upper_bound, count) VALUES (?, ?, ?, ?, 1)
            ON CONFLICT DO UPDATE SET count = count + 1
            """).run([.text(key.tenant), .text(key.mapping), .text(status.label), .real(bound.isFinite ? bound : 1e308)])
        let finished = SQLValue(request.finishedAt)
        if status == .success {
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

    private static func countTrigger(_ db: SQLiteConnection, _ key: MappingKey, result: TriggerResult,
                                     at time: Date) throws(StoreError) {
        try db.prepare("""
            INSERT INTO trigger_totals (tenant, mapping, result, count) VALUES (?, ?, ?, 1)
            ON CONFLICT DO UPDATE SET count = count + 1
            """).run([.text(key.tenant), .text(key.mapping), .text(result.label)])
        try db.prepare("""
            INSERT INTO mapping_latest (tenant, mapping, last_trigger_at) VALUES (?, ?, ?)
            ON CONFLICT DO UPDATE SET last_trigger_at = excluded.last_trigger_at
            """).run([.text(key.tenant), .text(key.mapping), SQLValue(time)])
    }
}
