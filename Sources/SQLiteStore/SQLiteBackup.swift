import Foundation
import IngestionModel
import IngestionStore

/// Consistent copies of a database (while the daemon writes to it) and putting one
/// back (while no daemon does). Both go through SQLite's online backup API, which
/// copies every page in one read transaction.
public enum SQLiteBackup {
    /// What a copy holds, checked: `PRAGMA quick_check` passed and the schema is one this exporter reads.
    public struct Summary: Sendable, Equatable {
        public var path: String
        public var sizeBytes: Int64
        public var schemaVersion: Int
        public var requests: Int
    }

    /// Writes a copy of `database` to `output` (which must not exist) and checks it.
    public static func backup(database: String, to output: String) throws(StoreError) -> Summary {
        guard DatabaseFile.size(of: database) != nil else { throw StoreError(.unavailable, "no database at \(database)") }
        guard DatabaseFile.size(of: output) == nil else {
            throw StoreError(.failed, "\(output) already exists: a backup never overwrites a file; name a new one")
        }
        do {
            try copy(from: database, to: output)
            return try inspect(output)
        } catch {
            try? FileManager.default.removeItem(atPath: output)
            throw error
        }
    }

    /// Puts the backup `input` in place of `database`, refused while an exporter holds
    /// the database: checks the copy, writes it beside the database, moves the file it
    /// replaces (and its WAL) aside to `<database>.before-restore-<time>`, then renames
    /// the copy into place. Returns the restored summary and where the old file went.
    public static func restore(_ input: String, into database: String, now: Date) throws(StoreError) -> (Summary, String?) {
        let lock: WriterLock
        do {
            lock = try WriterLock(database: database)
        } catch where error.kind == .inUse {
            throw StoreError(.inUse, "restore refused: \(error.description); stop it first")
        }
        defer { lock.release() }
        _ = try inspect(input)
        let staged = database + ".restoring"
        try? FileManager.default.removeItem(atPath: staged)
        do {
            try copy(from: input, to: staged)
        } catch {
            try? FileManager.default.removeItem(atPath: staged)
            throw error
        }
        var aside: String?
        if DatabaseFile.size(of: database) != nil {
            let moved = database + ".before-restore-" + Timestamp.basicFormat(now)
            try move(database, to: moved)
            if DatabaseFile.size(of: database + "-wal") != nil { try move(database + "-wal", to: moved + "-wal") }
            aside = moved
        }
        try? FileManager.default.removeItem(atPath: database + "-shm")
        try move(staged, to: database)
        return (try inspect(database), aside)
    }

    /// Checks a database file read-only: sound pages, a schema this exporter reads; counts its requests.
    public static func inspect(_ path: String) throws(StoreError) -> Summary {
        guard let size = DatabaseFile.size(of: path) else { throw StoreError(.unavailable, "no database at \(path)") }
        guard size > 0 else { throw StoreError(.corrupt, "\(path) is an empty file, not a database") }
        let db: SQLiteConnection
        let problems: [String]
        do {
            db = try SQLiteConnection(path: path, readOnly: true)
            problems = try db.quickCheck()
        } catch where error.kind == .corrupt {
            throw StoreError(.corrupt, "\(path) is damaged: \(error.reason)")
        }
        if let first = problems.first { throw StoreError(.corrupt, "\(path) is damaged (quick_check: \(first))") }
        try Migrations.checkReadable(db)
        var requests = 0
        try db.prepare("SELECT count(*) FROM requests").run { row in requests = row.int(0) }
        return Summary(path: path, sizeBytes: DatabaseFile.storeSize(of: path), schemaVersion: try Migrations.currentVersion(db),
                       requests: requests)
    }

    private static func copy(from source: String, to destination: String) throws(StoreError) {
        let from = try SQLiteConnection(path: source, readOnly: true)
        let to = try SQLiteConnection(path: destination)
        try from.copy(into: to)
    }

    private static func move(_ path: String, to destination: String) throws(StoreError) {
        guard rename(path, destination) == 0 else {
            throw StoreError(.unavailable, "cannot move \(path) to \(destination): \(String(cString: strerror(errno)))")
        }
        // The rename itself survives a power cut once its directory is on disk.
        let directory = open((destination as NSString).deletingLastPathComponent.isEmpty ? "."
                             : (destination as NSString).deletingLastPathComponent, O_RDONLY | O_CLOEXEC)
        if directory >= 0 {
            fsync(directory)
            close(directory)
        }
    }
}
