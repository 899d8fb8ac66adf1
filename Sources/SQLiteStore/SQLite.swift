import CSQLite
import Foundation
import IngestionStore

/// A value bound to or read from a statement.
enum SQLValue: Sendable {
    case integer(Int64)
    case real(Double)
    case text(String)
    case null

    init(_ text: String?) { self = text.map { .text($0) } ?? .null }
    init(_ date: Date?) { self = date.map { .real($0.timeIntervalSince1970) } ?? .null }
    init(_ number: Int) { self = .integer(Int64(number)) }
    init(_ number: Int?) { self = number.map { .integer(Int64($0)) } ?? .null }
}

/// One SQLite connection: the only code that calls SQLite's C API.
///
/// Opened with `SQLITE_OPEN_NOMUTEX`, SQLite's multi-thread mode: "a single database
/// connection may not be used simultaneously in two or more threads"
/// (https://sqlite.org/threadsafe.html). The store actor that owns a connection
/// runs on one serial queue, so that never happens, and SQLite's own mutexes are
/// not needed.
final class SQLiteConnection {
    private let handle: OpaquePointer
    let path: String
    /// Statements prepared once and reused: the same few run for every request.
    private var cache: [String: Statement] = [:]

    init(path: String, readOnly: Bool = false) throws(StoreError) {
        self.path = path
        // A new database is readable by its owner only (SQLite gives its WAL and shared-memory
        // files the same mode): it holds tenants' history. An existing file keeps its mode.
        if !readOnly {
            let created = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, DatabaseFile.mode)
            if created >= 0 { close(created) }
        }
        var db: OpaquePointer?
        let flags = readOnly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)
        let code = sqlite3_open_v2(path, &db, flags | SQLITE_OPEN_NOMUTEX, nil)
        guard code == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(code))
            if let db { sqlite3_close_v2(db) }
            throw StoreError(Self.kind(of: code), "cannot open database \(path): \(message)")
        }
        handle = db
        sqlite3_busy_timeout(db, 5000)
        sqlite3_extended_result_codes(db, 1)
    }

    deinit {
        cache.removeAll()
        sqlite3_close_v2(handle)
    }

    func execute(_ sql: String) throws(StoreError) {
        var error: UnsafeMutablePointer<CChar>?
        let code = sqlite3_exec(handle, sql, nil, nil, &error)
        guard code == SQLITE_OK else {
            let message = error.map { String(cString: $0) } ?? String(cString: sqlite3_errstr(code))
            sqlite3_free(error)
            throw StoreError(Self.kind(of: code), "database \(path): \(message)")
        }
    }

    func prepare(_ sql: String) throws(StoreError) -> Statement {
        if let cached = cache[sql] { return cached }
        var statement: OpaquePointer?
        guard sqlite3_prepare_v2(handle, sql, -1, &statement, nil) == SQLITE_OK, let statement else {
            throw failure("prepare")
        }
        let prepared = Statement(handle: statement, connection: self)
        cache[sql] = prepared
        return prepared
    }

    /// Runs `body` in one write transaction: all of it lands, or none.
    func transaction<T>(_ body: () throws(StoreError) -> T) throws(StoreError) -> T {
        try execute("BEGIN IMMEDIATE")
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    /// `PRAGMA quick_check`: what it finds wrong (the first few), nothing when the file is sound.
    func quickCheck() throws(StoreError) -> [String] {
        var lines: [String] = []
        try prepare("PRAGMA quick_check(10)").run { row in
            lines += row.string(0).split(whereSeparator: \.isNewline).map(String.init).filter { !$0.hasPrefix("*** ") }
        }
        return lines == ["ok"] ? [] : lines
    }

    /// Copies this whole database into `destination` in one step, so in one read
    /// transaction: a consistent snapshot even while another process writes.
    func copy(into destination: SQLiteConnection) throws(StoreError) {
        guard let backup = sqlite3_backup_init(destination.handle, "main", handle, "main") else {
            throw destination.failure("backup to \(destination.path)")
        }
        let code = sqlite3_backup_step(backup, -1)
        sqlite3_backup_finish(backup)
        guard code == SQLITE_DONE else {
            throw StoreError(Self.kind(of: code), "database \(path): backup to \(destination.path): \(String(cString: sqlite3_errstr(code)))")
        }
    }

    var changes: Int { Int(sqlite3_changes(handle)) }
    var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }

    func failure(_ what: String) -> StoreError {
        StoreError(Self.kind(of: sqlite3_extended_errcode(handle)),
                   "database \(path): \(what): \(String(cString: sqlite3_errmsg(handle)))")
    }

    /// What a caller can do about a result code.
    static func kind(of code: Int32) -> StoreError.Kind {
        switch code & 0xff {
        case SQLITE_FULL: return .full
        case SQLITE_CORRUPT, SQLITE_NOTADB: return .corrupt
        case SQLITE_CANTOPEN, SQLITE_BUSY, SQLITE_LOCKED, SQLITE_IOERR, SQLITE_READONLY, SQLITE_PERM: return .unavailable
        default: return .failed
        }
    }
}

/// A prepared statement; `run` binds, steps through every row, and resets.
final class Statement {
    private let handle: OpaquePointer
    private unowned let connection: SQLiteConnection

    init(handle: OpaquePointer, connection: SQLiteConnection) {
        self.handle = handle
        self.connection = connection
    }

    deinit { sqlite3_finalize(handle) }

    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    @discardableResult
    func run(_ values: [SQLValue] = [], row: (Row) throws(StoreError) -> Void = { _ in }) throws(StoreError) -> Int {
        defer {
            sqlite3_reset(handle)
            sqlite3_clear_bindings(handle)
        }
        for (index, value) in values.enumerated() {
            let position = Int32(index + 1)
            let code: Int32
            switch value {
            case .integer(let number): code = sqlite3_bind_int64(handle, position, number)
            case .real(let number): code = sqlite3_bind_double(handle, position, number)
            case .text(let text): code = sqlite3_bind_text(handle, position, text, -1, Statement.transient)
            case .null: code = sqlite3_bind_null(handle, position)
            }
            guard code == SQLITE_OK else { throw connection.failure("bind parameter \(position)") }
        }
        var rows = 0
        while true {
            switch sqlite3_step(handle) {
            case SQLITE_ROW:
                rows += 1
                try row(Row(handle: handle))
            case SQLITE_DONE:
                return rows
            default:
                throw connection.failure("step")
            }
        }
    }
}

/// The current row of a statement, read by column index.
struct Row {
    let handle: OpaquePointer

    func isNull(_ column: Int32) -> Bool { sqlite3_column_type(handle, column) == SQLITE_NULL }
    func int(_ column: Int32) -> Int { Int(sqlite3_column_int64(handle, column)) }
    func double(_ column: Int32) -> Double { sqlite3_column_double(handle, column) }
    func text(_ column: Int32) -> String? {
        guard let pointer = sqlite3_column_text(handle, column) else { return nil }
        return String(cString: pointer)
    }
    func string(_ column: Int32) -> String { text(column) ?? "" }
    func optionalInt(_ column: Int32) -> Int? { isNull(column) ? nil : int(column) }
    func date(_ column: Int32) -> Date? {
        isNull(column) ? nil : Date(timeIntervalSince1970: double(column))
    }
}
