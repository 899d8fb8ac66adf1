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
    /// Held by the daemon's store (nil for a read-only handle), released by `close()`.
    private let lock: WriterLock?
    /// The file the connection has open; a write first checks the path still names it.
    private let identity: DatabaseFile.Identity?
    /// Whether `init` made a new database (there was none, or, with `--storage.init`, an empty file or a lost one).
    public nonisolated let created: Bool
    /// Upper bounds (seconds) of the request-duration histogram; +Inf is implied.
    let durationBounds: [Double]
    public nonisolated let path: String
    public nonisolated var location: String { "sqlite:" + path }

    public nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    /// How the daemon opens its database.
    public struct OpenOptions: Sendable {
        /// A file that exists but is empty, or a missing file where a database was kept
        /// before (its lock file is there), becomes a new database (`--storage.init`);
        /// without it, either is refused: it is more often a history lost than a new one.
        public var initialize = false
        public init(initialize: Bool = false) { self.initialize = initialize }
    }

    /// Opens the database as its one writer, creating it and its directory when
    /// missing: takes the writer lock (another exporter on the file is refused), checks
    /// an existing file read-only first (`PRAGMA quick_check`: a damaged file is
    /// refused before anything could write into it), then migrates.
    public init(path: String, durationBounds: [Double], options: OpenOptions = OpenOptions()) throws(StoreError) {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty && !FileManager.default.fileExists(atPath: directory) {
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            } catch {
                throw StoreError(.unavailable, "cannot create directory \(directory) for database \(path): \(error.localizedDescription)")
            }
        }
        let lock = try WriterLock(database: path)
        switch DatabaseFile.size(of: path) {
        case nil where lock.existedBefore && !options.initialize:
            throw StoreError(.corrupt, "database \(path) is missing, but \(lock.path) shows one was kept there: restore it from a backup "
                             + "(acs-ingestion-exporter restore), or start once with --storage.init to begin a new, empty history")
        case nil:
            created = true
        case 0? where !options.initialize:
            throw StoreError(.corrupt, "database \(path) is an empty file: restore it from a backup "
                             + "(acs-ingestion-exporter restore), or start once with --storage.init to begin a new, empty history")
        case 0?:
            created = true
        default:
            created = false
            try Self.verify(path)
        }
        let db = try SQLiteConnection(path: path)
        try db.execute("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;")
        // A 512 KiB page cache instead of SQLite's 2 MiB: the file's pages stay in the OS's
        // cache anyway, and at 100k series the exporter must fit in 64 MiB.
        try db.execute("PRAGMA cache_size = -512;")
        try Migrations.apply(to: db)
        guard let identity = DatabaseFile.identity(of: path) else {
            throw StoreError(.unavailable, "database \(path) vanished while it was opened")
        }
        self.db = db
        self.lock = lock
        self.identity = identity
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
        (lock, identity, created) = (nil, nil, false)
        durationBounds = []
        executor = SerialQueueExecutor(label: "sqlite-store-read-only")
    }

    /// Deletes the database at `path`, its write-ahead log and its lock file (the mark that a
    /// database was kept there), refused while an exporter holds it (`.inUse`): for a
    /// history started anew on purpose, as `--demo` does with its own file.
    public static func remove(at path: String) throws(StoreError) {
        // Neither a database nor its lock (a first run, its folder perhaps not made yet): nothing to remove.
        let files = [path] + DatabaseFile.companions(of: path) + [WriterLock.path(of: path)]
        guard files.contains(where: FileManager.default.fileExists) else { return }
        let lock = try WriterLock(database: path)
        defer { lock.release() }
        for file in files { try? FileManager.default.removeItem(atPath: file) }
    }

    /// Refuses a damaged file, read-only (so nothing, not even a checkpoint, writes
    /// into it): `PRAGMA quick_check`, which reads every page once.
    static func verify(_ path: String) throws(StoreError) {
        let restore = "restore it from a backup (acs-ingestion-exporter restore --input FILE)"
        let problems: [String]
        do {
            let db = try SQLiteConnection(path: path, readOnly: true)
            problems = try db.quickCheck()
            try Migrations.checkReadable(db)
        } catch where error.kind == .corrupt {
            throw StoreError(.corrupt, "database \(path) is damaged (\(error.reason)): \(restore)")
        }
        if let first = problems.first {
            throw StoreError(.corrupt, "database \(path) is damaged (quick_check: \(first)\(problems.count > 1 ? ", …" : "")): \(restore)")
        }
    }

    public func schemaVersion() throws(StoreError) -> Int { try Migrations.currentVersion(db) }

    /// Copies the WAL into the database file and empties it (so that the file alone is
    /// the whole database after a clean stop), then lets another exporter open it.
    /// The connection closes with the store.
    public func close() {
        guard let lock else { return }
        try? db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        lock.release()
    }

    /// One transaction: everything `body` writes lands, or nothing does. Never into a
    /// file that is no longer the one the path names. A `durable` write (one that
    /// records a side effect upstream, or an answer given to an API client) is on disk
    /// when it returns; the others may be lost to a power cut (see the README).
    func write<T>(durable: Bool = false, _ body: (SQLiteConnection) throws(StoreError) -> T) throws(StoreError) -> T {
        try checkFile()
        if durable { try db.execute("PRAGMA synchronous = FULL") }
        defer { if durable { try? db.execute("PRAGMA synchronous = NORMAL") } }
        return try db.transaction { () throws(StoreError) -> T in try body(db) }
    }

    /// Throws unless the path still names the file the connection has open.
    private func checkFile() throws(StoreError) {
        guard let identity else { return }
        guard let current = DatabaseFile.identity(of: path) else {
            throw StoreError(.unavailable, "database \(path) was deleted or moved while the exporter ran; nothing more is "
                             + "written to it: put the file back, or restore a backup and restart the exporter")
        }
        guard current == identity else {
            throw StoreError(.unavailable, "database \(path) was replaced by another file while the exporter ran; nothing is "
                             + "written to either: restart the exporter to open the new file")
        }
    }

    /// Whether the store can write now: the path still names the open file and, when
    /// `write` is set, a one-row write lands. Returns the bytes taken (database + WAL).
    public func probe(write probeWrite: Bool, at time: Date) throws(StoreError) -> StoreProbe {
        try checkFile()
        if probeWrite {
            try write { db throws(StoreError) in
                try db.prepare("INSERT INTO store_probe (id, at) VALUES (1, ?) ON CONFLICT DO UPDATE SET at = excluded.at")
                    .run([SQLValue(time)])
            }
        }
        return StoreProbe(sizeBytes: DatabaseFile.storeSize(of: path))
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

    public func track(_ key: MappingKey, requestID: RequestID, origin: RequestOrigin, at time: Date) throws(StoreError) -> TrackResult {
        try write(durable: true) { db throws(StoreError) in try Self.track(db, key, requestID, origin: origin, at: time) }
    }

    public func recordTriggerIntent(_ key: MappingKey, at time: Date) throws(StoreError) -> Int64 {
        try write(durable: true) { db throws(StoreError) -> Int64 in
            try db.prepare("INSERT INTO trigger_intents (tenant, mapping, at) VALUES (?, ?, ?)")
                .run([.text(key.tenant), .text(key.mapping), SQLValue(time)])
            return db.lastInsertRowID
        }
    }

    public func recordTriggerAttempt(_ attempt: TriggerAttempt) throws(StoreError) -> TrackResult? {
        try write(durable: true) { db throws(StoreError) -> TrackResult? in
            let key = attempt.key
            try Self.countTrigger(db, key, result: attempt.result, at: attempt.at)
            for _ in 0..<attempt.lostTriggers { try Self.countTrigger(db, key, result: .unknown, at: attempt.at) }
            for intent in attempt.intents {
                try db.prepare("DELETE FROM trigger_intents WHERE id = ?").run([.integer(intent)])
            }
            if let plan = attempt.plan {
                try db.prepare("""
                    INSERT INTO trigger_plans (tenant, mapping, slot, due_at, attempts, failing_since) VALUES (?, ?, ?, ?, ?, ?)
                    ON CONFLICT DO UPDATE SET slot = excluded.slot, due_at = excluded.due_at, attempts = excluded.attempts,
                        failing_since = excluded.failing_since
                    """).run([.text(key.tenant), .text(key.mapping), SQLValue(plan.slot), SQLValue(plan.dueAt),
                              SQLValue(plan.attempts), SQLValue(plan.failingSince)])
            }
            guard let requestID = attempt.requestID else { return nil }
            return try Self.track(db, key, requestID, origin: attempt.origin, at: attempt.at)
        }
    }

    public func recordNotFound(_ rowID: Int64, at time: Date) throws(StoreError) -> TrackedRequest {
        try write { db throws(StoreError) -> TrackedRequest in
            try db.prepare("UPDATE requests SET not_found_since = coalesce(not_found_since, ?), last_polled = ? WHERE id = ?")
                .run([SQLValue(time), SQLValue(time), .integer(rowID)])
            guard let request = try Self.request(db, rowID: rowID) else { throw Self.noRow(db, rowID) }
            return request
        }
    }

    public func abandon(_ rowID: Int64, reason: String, at time: Date) throws(StoreError) -> ObservationResult {
        let bounds = durationBounds
        return try write { db throws(StoreError) -> ObservationResult in
            guard var request = try Self.request(db, rowID: rowID) else { throw Self.noRow(db, rowID) }
            guard request.isOpen else { return .alreadyFinished(request) }
            (request.status, request.info, request.acpCode, request.finishedAt) = (.abandoned, reason, nil, time)
            try db.prepare("UPDATE requests SET status = ?, raw_status = NULL, info = ?, acp_code = NULL, finished_at = ? WHERE id = ?")
                .run([.text(request.status.name), .text(reason), SQLValue(time), .integer(rowID)])
            try Self.appendObservation(db, rowID, request, at: time)
            try Self.countOutcome(db, request, bounds: bounds)
            return .finished(request)
        }
    }

    public func untrack(_ key: MappingKey, _ requestID: RequestID, at time: Date) throws(StoreError) -> TrackedRequest? {
        try write(durable: true) { db throws(StoreError) -> TrackedRequest? in
            try db.prepare("""
                UPDATE requests SET untracked_at = ? WHERE tenant = ? AND mapping = ? AND request_id = ?
                    AND finished_at IS NULL AND untracked_at IS NULL
                """).run([SQLValue(time), .text(key.tenant), .text(key.mapping), .text(requestID.rawValue)])
            return try Self.request(db, key, requestID)
        }
    }

    public func recordObservation(_ rowID: Int64, report: StatusReport, at time: Date,
                                  followBatch: Bool) throws(StoreError) -> ObservationResult {
        let bounds = durationBounds
        return try write { db throws(StoreError) -> ObservationResult in
            guard var request = try Self.request(db, rowID: rowID) else { throw Self.noRow(db, rowID) }
            if !request.isOpen { return .alreadyFinished(request) }
            let changed = request.status != report.status || request.numRecords != report.numRecords
                || request.batchID != report.batchID || request.info != report.info
            request.record(report, polledAt: time)

            try db.prepare("""
                UPDATE requests SET last_polled = ?, status = ?, raw_status = ?, num_records = ?, batch_id = ?,
                    info = ?, acp_code = ?, finished_at = ?, not_found_since = NULL WHERE id = ?
                """).run([SQLValue(time), .text(report.status.name), SQLValue(report.status.rawUnknown),
                          SQLValue(report.numRecords), SQLValue(report.batchID), SQLValue(report.info),
                          SQLValue(report.acpCode?.rawValue), SQLValue(request.finishedAt), .integer(rowID)])
            if changed { try Self.appendObservation(db, rowID, request, at: time) }
            guard request.status.isTerminal else { return .stillRunning(request) }
            try Self.countOutcome(db, request, bounds: bounds)
            if followBatch, let batchID = request.batchID, !batchID.isEmpty {
                try db.prepare("""
                    INSERT INTO aep_batches (request, tenant, mapping, batch_id, status, created_at, next_lookup_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING
                    """).run([.integer(rowID), .text(request.key.tenant), .text(request.key.mapping), .text(batchID),
                              .text(BatchFollowUp.pending), SQLValue(time), SQLValue(time)])
            }
            return .finished(request)
        }
    }

    public func recordBatchLookup(_ lookup: BatchLookup) throws(StoreError) -> BatchLookupResult {
        try write { db throws(StoreError) -> BatchLookupResult in
            guard var batch = try Self.batches(db, where: "b.request = ?", [.integer(lookup.requestRowID)]).first else {
                throw StoreError(.failed, "database \(db.path): no followed batch for request row \(lookup.requestRowID)")
            }
            guard batch.isOpen else { return .alreadyEnded(batch) }
            batch.apply(lookup.outcome, at: lookup.at, next: lookup.next)
            try db.prepare("""
                UPDATE aep_batches SET status = ?, lookups = ?, next_lookup_at = ?, last_error = ?, finished_at = ?,
                    input_records = ?, output_records = ?, failed_records = ?, errors = ? WHERE request = ?
                """).run([.text(batch.status), SQLValue(batch.lookups), SQLValue(batch.nextLookupAt), SQLValue(batch.lastError),
                          SQLValue(batch.finishedAt), SQLValue(batch.counts.input), SQLValue(batch.counts.output),
                          SQLValue(batch.counts.failed), .text(batch.errorsJSON), .integer(batch.requestRowID)])
            guard !batch.isOpen else { return .stillOpen(batch) }
            var known = Set<String>()
            try db.prepare("SELECT name FROM aep_totals WHERE tenant = ? AND mapping = ? AND kind = ?")
                .run([.text(batch.key.tenant), .text(batch.key.mapping), .text(AEPTotals.Kind.errors.rawValue)]) { known.insert($0.string(0)) }
            let addition = AEPTotals.Addition(batch, knownCodes: known)
            for row in addition.rows {
                try db.prepare("""
                    INSERT INTO aep_totals (tenant, mapping, kind, name, value) VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT DO UPDATE SET value = value + excluded.value
                    """).run([.text(batch.key.tenant), .text(batch.key.mapping), .text(row.kind.rawValue), .text(row.name),
                              SQLValue(row.value)])
            }
            return .ended(batch, addition)
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

    public func prune(finishedBefore cutoff: Date, limit: Int) throws(StoreError) -> Int {
        try write { db throws(StoreError) -> Int in
            // The oldest `limit` ended before the cutoff; their keys stay, so that
            // tracking one again cannot count it a second time.
            // A request whose batch is still followed stays until the follow-up ends.
            let oldest = """
                SELECT id FROM requests WHERE finished_at < ? AND id NOT IN (SELECT request FROM aep_batches WHERE finished_at IS NULL)
                ORDER BY finished_at, id LIMIT ?
                """
            try db.prepare("""
                INSERT OR IGNORE INTO pruned_requests (tenant, mapping, request_id)
                SELECT tenant, mapping, request_id FROM requests WHERE id IN (\(oldest))
                """).run([SQLValue(cutoff), SQLValue(limit)])
            try db.prepare("DELETE FROM requests WHERE id IN (\(oldest))").run([SQLValue(cutoff), SQLValue(limit)])
            return db.changes
        }
    }

    // MARK: - Statements shared by the writes

    private static func track(_ db: SQLiteConnection, _ key: MappingKey, _ requestID: RequestID, origin: RequestOrigin,
                              at time: Date) throws(StoreError) -> TrackResult {
        if try isPruned(db, key, requestID) {
            throw StoreError(.alreadyCounted, "request \(requestID) of \(key) ended before the retention horizon and was already counted")
        }
        try db.prepare("""
            INSERT INTO requests (tenant, mapping, request_id, origin, first_seen, status)
            VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING
            """).run([.text(key.tenant), .text(key.mapping), .text(requestID.rawValue),
                      .text(origin.rawValue), SQLValue(time), .text(IngestionStatus.inProgress.name)])
        let inserted = db.changes == 1
        guard let row = try request(db, key, requestID) else {
            throw StoreError(.failed, "database \(db.path): request \(key)/\(requestID) vanished")
        }
        return inserted ? .inserted(row) : .alreadyTracked(row)
    }

    private static func noRow(_ db: SQLiteConnection, _ rowID: Int64) -> StoreError {
        StoreError(.failed, "database \(db.path): no tracked request with row id \(rowID)")
    }

    private static func appendObservation(_ db: SQLiteConnection, _ rowID: Int64, _ request: TrackedRequest,
                                          at time: Date) throws(StoreError) {
        try db.prepare("""
            INSERT INTO observations (request, observed_at, status, raw_status, num_records, batch_id, info)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            """).run([.integer(rowID), SQLValue(time), .text(request.status.name), SQLValue(request.status.rawUnknown),
                      SQLValue(request.numRecords), SQLValue(request.batchID), SQLValue(request.info)])
    }

    /// Counts one ended request (`IngestionTotals.Addition` says what it adds).
    private static func countOutcome(_ db: SQLiteConnection, _ request: TrackedRequest, bounds: [Double]) throws(StoreError) {
        guard let added = IngestionTotals.Addition(request, bounds: bounds) else { return }
        let (key, status, records, duration, acp) = (added.key, added.status, added.records, added.duration, added.acpCode)
        try db.prepare("""
            INSERT INTO outcome_totals (tenant, mapping, status, acp_code, requests, records, duration_sum)
            VALUES (?, ?, ?, ?, 1, ?, ?)
            ON CONFLICT DO UPDATE SET requests = requests + 1, records = records + excluded.records,
                duration_sum = duration_sum + excluded.duration_sum
            """).run([.text(key.tenant), .text(key.mapping), .text(status.label), .text(acp), SQLValue(records), .real(duration)])
        try db.prepare("""
            INSERT INTO duration_buckets (tenant, mapping, status, upper_bound, count) VALUES (?, ?, ?, ?, 1)
            ON CONFLICT DO UPDATE SET count = count + 1
            """).run([.text(key.tenant), .text(key.mapping), .text(status.label), .real(SQLiteBound.stored(added.upperBound))])
        switch added.latest {
        case .success(let at, let records)?:
            try db.prepare("""
                INSERT INTO mapping_latest (tenant, mapping, last_success_at, last_success_records) VALUES (?, ?, ?, ?)
                ON CONFLICT DO UPDATE SET last_success_at = excluded.last_success_at,
                    last_success_records = excluded.last_success_records
                """).run([.text(key.tenant), .text(key.mapping), SQLValue(at), SQLValue(records)])
        case .failure(let at)?:
            try db.prepare("""
                INSERT INTO mapping_latest (tenant, mapping, last_failure_at) VALUES (?, ?, ?)
                ON CONFLICT DO UPDATE SET last_failure_at = excluded.last_failure_at
                """).run([.text(key.tenant), .text(key.mapping), SQLValue(at)])
        case nil:
            break
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
