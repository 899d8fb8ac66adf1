import Foundation
import IngestionStore

/// What the file system says about a database file: which file a path names
/// now, how big it is with its write-ahead log.
enum DatabaseFile {
    /// A file, whatever path reaches it: compared to notice a database deleted,
    /// moved or replaced under an open connection.
    struct Identity: Equatable, Sendable {
        let device: UInt64
        let inode: UInt64
    }

    static func identity(of path: String) -> Identity? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return Identity(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
    }

    /// Bytes of the file, nil when it does not exist.
    static func size(of path: String) -> Int64? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return Int64(info.st_size)
    }

    /// The database and its write-ahead log, as they take space on disk.
    static func storeSize(of path: String) -> Int64 {
        (size(of: path) ?? 0) + (size(of: path + "-wal") ?? 0)
    }

    /// The mode of every file the store creates (database, lock, backups): the owner's only.
    static let mode: mode_t = 0o600

    /// The files SQLite keeps beside a database in WAL mode.
    static func companions(of path: String) -> [String] { [path + "-wal", path + "-shm"] }
}

/// One writer per database: an exclusive advisory lock (`flock`) on `<database>.lock`,
/// which holds the holder's PID. Held until `release()` or deinit; the kernel drops it
/// when the process dies, kill -9 included, so a stale file never blocks a start.
/// Readers (`report`, `backup`) do not take it. The file stays after a stop: it is
/// also the mark that a database was kept at that path (`existedBefore`).
final class WriterLock: @unchecked Sendable {
    let path: String
    /// Whether the lock file was there before: a database was opened at this path before.
    let existedBefore: Bool
    private var descriptor: Int32

    /// The lock file of the database at `database`.
    static func path(of database: String) -> String { database + ".lock" }

    init(database: String) throws(StoreError) {
        path = Self.path(of: database)
        descriptor = open(path, O_RDWR | O_CLOEXEC)
        existedBefore = descriptor >= 0
        if descriptor < 0 && errno == ENOENT { descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, DatabaseFile.mode) }
        guard descriptor >= 0 else {
            throw StoreError(.unavailable, "cannot open lock file \(path): \(String(cString: strerror(errno)))")
        }
        guard Self.lock(descriptor) else {
            let reason = errno
            let holder = Self.readPID(descriptor)
            // Through release(): this initialiser throws with every property set, so deinit
            // runs too, and must not close the number again (another thread's descriptor by then).
            release()
            guard reason == EWOULDBLOCK else {
                throw StoreError(.unavailable, "cannot lock \(path): \(String(cString: strerror(reason)))")
            }
            throw StoreError(.inUse, "database \(database) is in use by another exporter (pid \(holder.map(String.init) ?? "unknown"), "
                             + "lock \(path)); one exporter writes to a database")
        }
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(descriptor, 0)
        _ = pid.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, 0) }
    }

    deinit { release() }

    /// Takes the lock, or says at once that it is held.
    private static func lock(_ descriptor: Int32) -> Bool { flock(descriptor, LOCK_EX | LOCK_NB) == 0 }

    /// Unlocks before closing: a child process another thread forked meanwhile holds a copy
    /// of the descriptor until it execs, and the lock would stay with that copy; `LOCK_UN`
    /// releases it for every copy, so a store closed here can be opened again at once.
    func release() {
        guard descriptor >= 0 else { return }
        flock(descriptor, LOCK_UN)
        close(descriptor)
        descriptor = -1
    }

    private static func readPID(_ descriptor: Int32) -> Int32? {
        var buffer = [UInt8](repeating: 0, count: 32)
        let count = buffer.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { return nil }
        return Int32(String(decoding: buffer[..<count], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }
}
