import Foundation
import IngestionModel
import IngestionStore
@testable import SQLiteStore
import TestSupport
import Testing

/// The SQLite file under faults, with real files: damaged ones refused before
/// anything writes into them, one writer per file, a file deleted or replaced under
/// the store, and a backup that restores.
@Suite("SQLite store under faults")
struct SQLiteFaultTests {
    let key = MappingKey(tenant: "t1", mapping: "XDM44")
    let start = Date(timeIntervalSince1970: 1_700_000_000)

    func open(_ path: String, initialize: Bool = false) throws(StoreError) -> SQLiteIngestionStore {
        try SQLiteIngestionStore(path: path, durationBounds: [30, 60], options: .init(initialize: initialize))
    }

    /// Runs `body` with a new temporary directory and the path of `store.sqlite` in it,
    /// a populated database or no file at all; the directory is removed afterwards.
    func withDatabaseFile(populated: Bool, _ body: (TemporaryDirectory, String) async throws -> Void) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let path = directory.path("store.sqlite")
        if populated { try await self.populated(path) }
        try await body(directory, path)
    }

    /// A database with `count` ended requests and one open, closed cleanly.
    func populated(_ path: String, count: Int = 400) async throws {
        let store = try open(path)
        try await store.importHistory((0..<count).map { index in
            var request = TrackedRequest(rowID: 0, key: key, requestID: RequestID(1000 + index), origin: .triggered,
                                         firstSeen: start.addingTimeInterval(Double(index)), status: .success)
            request.numRecords = index
            request.info = String(repeating: "x", count: 200)
            request.finishedAt = start.addingTimeInterval(Double(index) + 30)
            return request
        })
        _ = try await store.track(key, requestID: "99999", origin: .external, at: start)
        await store.close()
    }

    /// Opening `path` is refused as corrupt, in one line naming the path and `remedy`.
    func expectRefused(_ path: String, as what: String, naming remedy: String) {
        do throws(StoreError) {
            _ = try open(path)
            Issue.record("\(what) was opened")
        } catch {
            #expect(error.kind == .corrupt)
            #expect(!error.description.contains("\n"))
            #expect(error.description.contains(path) && error.description.contains(remedy), "\(error)")
        }
    }

    @Test("a damaged file is refused with one line, and left as it was", arguments: DatabaseDamage.allCases)
    func damagedFileIsRefused(_ damage: DatabaseDamage) async throws {
        try await withDatabaseFile(populated: true) { _, path throws in
            try damage.apply(to: path)
            let before = FileManager.default.contents(atPath: path)
            expectRefused(path, as: "a \(damage) file", naming: damage == .empty ? "--storage.init" : "restore")
            #expect(FileManager.default.contents(atPath: path) == before, "the refused file changed")
        }
    }

    @Test func anEmptyFileBecomesANewDatabaseOnlyWhenAskedTo() async throws {
        try await withDatabaseFile(populated: false) { directory, path throws in
            FileManager.default.createFile(atPath: path, contents: Data())
            #expect(throws: StoreError.self) { try open(path) }
            let store = try open(path, initialize: true)
            #expect(store.created)
            #expect(try await store.totals().open.isEmpty)
            await store.close()
            // A sound file is opened as it is, flag or not.
            try await populated(directory.path("other.sqlite"))
            let other = try open(directory.path("other.sqlite"), initialize: true)
            #expect(!other.created)
            #expect(try await other.totals().open.count == 1)
        }
    }

    /// A database file gone (deleted, a volume not mounted, a path changed) where one was
    /// kept: refused like an empty file, the lock file beside it telling that one existed;
    /// `--storage.init` begins a new history. A path never used starts one at once.
    @Test func aMissingFileWhereADatabaseWasKeptIsRefusedUnlessAskedTo() async throws {
        try await withDatabaseFile(populated: true) { directory, path throws in
            for file in [path] + DatabaseFile.companions(of: path) { try? FileManager.default.removeItem(atPath: file) }
            expectRefused(path, as: "a lost database", naming: "--storage.init")
            #expect(!FileManager.default.fileExists(atPath: path), "the refusal created a file")
            let store = try open(path, initialize: true)
            #expect(store.created)
            await store.close()
            let fresh = try open(directory.path("never-used.sqlite"))
            #expect(fresh.created)
            await fresh.close()
        }
    }
    /// `--demo` starts its own file anew each run: the database goes with its lock file (the
    /// mark that one was kept there), never while an exporter holds it.
    @Test func aRemovedDatabaseTakesItsLockFileAndIsRefusedWhileHeld() async throws {
        try await withDatabaseFile(populated: true) { _, path throws in
            let store = try open(path)
            #expect(throws: StoreError.self) { try SQLiteIngestionStore.remove(at: path) }
            #expect(FileManager.default.fileExists(atPath: path))
            await store.close()
            try SQLiteIngestionStore.remove(at: path)
            for file in [path, path + "-wal", path + "-shm", path + ".lock"] {
                #expect(!FileManager.default.fileExists(atPath: file), "\(file) left")
            }
            let fresh = try open(path)   // new, not refused as a database that went missing
            #expect(fresh.created)
            await fresh.close()
            // Nothing there, not even its folder (a first --demo in a fresh clone): nothing to do.
            try SQLiteIngestionStore.remove(at: path + "-missing/data/demo.sqlite")
        }
    }

    /// A child forked by another thread keeps a copy of the lock's descriptor until it
    /// execs; a copy made with `dup` shares the lock the same way, and must not keep it.
    @Test func aReleasedLockIsFreeAtOnceWhileACopyOfItsDescriptorLives() throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let database = directory.path("store.sqlite")
        let lock = try WriterLock(database: database)
        let copies = try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").compactMap { Int32($0) }
            .filter { (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\($0)")) == lock.path }
        let copy = dup(try #require(copies.first, "the lock's descriptor"))
        defer { close(copy) }
        lock.release()
        let again = try WriterLock(database: database)
        again.release()
    }


    @Test func aSecondWriterIsRefusedWithTheHoldersPIDWhileReadersWork() async throws {
        try await withDatabaseFile(populated: true) { _, path throws in
            let first = try open(path)
            do throws(StoreError) {
                _ = try open(path)
                Issue.record("a second writer opened the file")
            } catch {
                #expect(error.kind == .inUse)
                #expect(error.description.contains(path) && error.description.contains("pid \(getpid())"), "\(error)")
            }
            let reader = try SQLiteIngestionStore(readOnlyPath: path)
            #expect(try await reader.totals().open.count == 1)
            await first.close()
            let second = try open(path)
            #expect(try await second.totals().open.count == 1)
        }
    }

    @Test func aDeletedOrReplacedFileIsNeverWrittenInto() async throws {
        try await withDatabaseFile(populated: true) { directory, path throws in
            let store = try open(path)
            _ = try await store.probe(write: false, at: start)

            // Deleted (a hard link keeps the inode to look at afterwards).
            try FileManager.default.linkItem(atPath: path, toPath: directory.path("kept"))
            try FileManager.default.removeItem(atPath: path)
            let wal = FileManager.default.contents(atPath: path + "-wal")
            let kept = FileManager.default.contents(atPath: directory.path("kept"))
            await #expect(throws: StoreError.self) { try await store.probe(write: false, at: start) }
            do throws(StoreError) {
                _ = try await store.track(key, requestID: "5", origin: .external, at: start)
                Issue.record("a write went into a deleted file")
            } catch {
                #expect(error.kind == .unavailable && error.description.contains("deleted or moved"), "\(error)")
            }
            #expect(FileManager.default.contents(atPath: path + "-wal") == wal)
            #expect(FileManager.default.contents(atPath: directory.path("kept")) == kept)

            // Replaced by another database.
            try await populated(directory.path("other.sqlite"), count: 3)
            try FileManager.default.moveItem(atPath: directory.path("other.sqlite"), toPath: path)
            do throws(StoreError) {
                _ = try await store.track(key, requestID: "6", origin: .external, at: start)
                Issue.record("a write went into a replaced file")
            } catch {
                #expect(error.description.contains("replaced"), "\(error)")
            }

            // Put back: writes land again.
            try FileManager.default.removeItem(atPath: path)
            try FileManager.default.moveItem(atPath: directory.path("kept"), toPath: path)
            _ = try await store.probe(write: true, at: start)
            #expect(try await store.track(key, requestID: "7", origin: .external, at: start).request.requestID == "7")
        }
    }

    @Test func aFullDiskFailsWritesAsFullAndTheyLandAgainOnceThereIsSpace() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let mount = try SmallFileSystem(at: directory.path("tmpfs"), size: "2m")
        defer { mount.unmount() }
        let path = mount.path + "/store.sqlite"
        try await populated(path, count: 50)
        let store = try open(path)
        let filler = try mount.fill()
        do throws(StoreError) {
            for index in 0..<500 {   // until the WAL needs a page the disk does not have
                _ = try await store.track(key, requestID: RequestID(50_000 + index), origin: .external, at: start)
            }
            Issue.record("500 writes landed on a full disk")
        } catch {
            #expect(error.kind == .full, "\(error)")
        }
        await #expect(throws: StoreError.self) { try await store.probe(write: true, at: start) }
        try FileManager.default.removeItem(atPath: filler)
        _ = try await store.probe(write: true, at: start)
        let tracked = try await store.track(key, requestID: "77777", origin: .external, at: start)
        guard case .inserted = tracked else { Issue.record("not inserted: \(tracked)"); return }
    }

    /// The store's files hold tenants' history: the owner's only (0600), the database and
    /// its WAL and shared-memory files, the lock file, a backup and a restored copy.
    @Test func theFilesTheStoreCreatesAreTheOwnersOnly() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let path = directory.path("store.sqlite")
        let store = try open(path)
        _ = try await store.track(key, requestID: "1", origin: .external, at: start)
        let backup = directory.path("backup.sqlite")
        _ = try SQLiteBackup.backup(database: path, to: backup)
        let restored = directory.path("restored/store.sqlite")
        try FileManager.default.createDirectory(atPath: directory.path("restored"), withIntermediateDirectories: true)
        _ = try SQLiteBackup.restore(backup, into: restored, now: start)
        for file in [path, path + "-wal", path + "-shm", path + ".lock", backup, restored] {
            var info = stat()
            #expect(stat(file, &info) == 0, "\(file) missing")
            #expect(info.st_mode & 0o777 == 0o600, "\(file): mode \(String(info.st_mode & 0o777, radix: 8))")
        }
        await store.close()
    }

    @Test func aBackupTakenWhileWritesGoOnRestoresToItsOwnTotals() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let path = directory.path("live/store.sqlite")
        try await populated(path)
        let store = try open(path)
        let writer = Task {
            for index in 0..<300 {
                let id = RequestID(20_000 + index)
                _ = try await store.track(key, requestID: id, origin: .external, at: start)
                if let row = try await store.request(key, id) {
                    _ = try await store.recordObservation(row.rowID, report: StatusReport(requestID: id, status: .success, numRecords: 3), at: start)
                }
            }
        }
        let backup = directory.path("backup.sqlite")
        let summary = try SQLiteBackup.backup(database: path, to: backup)
        try await writer.value
        #expect(summary.requests >= 401 && summary.schemaVersion == Migrations.newest)
        #expect(throws: StoreError.self) { try SQLiteBackup.backup(database: path, to: backup) }   // never overwrites

        let backedUp = try await SQLiteIngestionStore(readOnlyPath: backup).totals()
        // Restoring where the daemon holds the lock is refused, naming it.
        do {
            _ = try SQLiteBackup.restore(backup, into: path, now: start)
            Issue.record("restored under a running store")
        } catch {
            #expect(error.kind == .inUse && error.description.contains("pid \(getpid())"), "\(error)")
        }
        let fresh = directory.path("fresh/store.sqlite")
        try FileManager.default.createDirectory(atPath: directory.path("fresh"), withIntermediateDirectories: true)
        let (restored, aside) = try SQLiteBackup.restore(backup, into: fresh, now: start)
        #expect(aside == nil && restored.requests == summary.requests)
        #expect(try await open(fresh).totals() == backedUp)

        // Restoring over a database keeps the old one beside it.
        await store.close()
        let liveTotals = try await SQLiteIngestionStore(readOnlyPath: path).totals()
        let (_, movedAside) = try SQLiteBackup.restore(backup, into: path, now: start)
        let old = try #require(movedAside)
        #expect(old.hasSuffix(".before-restore-20231114T221320Z"))
        #expect(try await SQLiteIngestionStore(readOnlyPath: old).totals() == liveTotals)
        #expect(try await open(path).totals() == backedUp)
    }

    @Test func aDamagedBackupIsNotRestored() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        try await populated(directory.path("backup.sqlite"))
        try DatabaseDamage.bytesInEveryPage.apply(to: directory.path("backup.sqlite"))
        try await populated(directory.path("store.sqlite"), count: 2)
        let before = FileManager.default.contents(atPath: directory.path("store.sqlite"))
        #expect(throws: StoreError.self) {
            try SQLiteBackup.restore(directory.path("backup.sqlite"), into: directory.path("store.sqlite"), now: start)
        }
        #expect(FileManager.default.contents(atPath: directory.path("store.sqlite")) == before)
    }
}
