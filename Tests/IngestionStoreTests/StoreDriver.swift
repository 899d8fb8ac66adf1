import Foundation
import IngestionModel
import IngestionStore
@testable import PostgresStore
@testable import SQLiteStore
import Testing
import TestSupport

/// The store implementations every test of the suite runs against.
enum StoreDriver: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite, postgres

    var testDescription: String { rawValue }
}

/// A fresh, empty database of one driver: a file in a temporary directory, or a
/// new database on the test process's PostgreSQL cluster.
struct StoreFixture: Sendable {
    static let durationBounds: [Double] = [30, 60, 120]

    let driver: StoreDriver
    let directory = TemporaryDirectory.processFolder.appendingPathComponent("store-\(UUID().uuidString.prefix(13))")
    var sqlitePath: String { directory.appendingPathComponent("nested/store.sqlite").path }
    let server: PostgresServer?
    let database: String

    init(_ driver: StoreDriver, server: PostgresServer? = nil) async throws {
        self.driver = driver
        switch driver {
        case .sqlite:
            self.server = nil
            database = ""
        case .postgres:
            let server = if let server { server } else { try await PostgresServer.shared() }
            self.server = server
            database = try await server.createDatabase()
        }
    }

    var postgresConfiguration: PostgresConfiguration {
        get throws {
            // The default wait (10 s): the test process runs many suites at once on two
            // cores, and a shorter one fails a healthy store whose work waits for a thread.
            try PostgresConfiguration(url: server!.url(database: database), password: server!.password, poolSize: 4)
        }
    }

    /// Opens (creating and migrating) the store.
    func open() async throws -> any StoreTransfer {
        switch driver {
        case .sqlite: return try SQLiteIngestionStore(path: sqlitePath, durationBounds: Self.durationBounds)
        case .postgres: return try await PostgresIngestionStore.connect(try postgresConfiguration, durationBounds: Self.durationBounds)
        }
    }

    /// Runs SQL straight on the database, around the store (a migration from the future, say).
    func execute(_ sql: String) async throws {
        switch driver {
        case .sqlite: try SQLiteConnection(path: sqlitePath).execute(sql)
        case .postgres: _ = try await server!.psql(sql, database: database)
        }
    }

    /// The first column of each row of a query, as text.
    func column(_ sql: String) async throws -> [String] {
        switch driver {
        case .sqlite:
            var values: [String] = []
            try SQLiteConnection(path: sqlitePath).prepare(sql).run { row in values.append(row.string(0)) }
            return values
        case .postgres:
            return try await server!.psql(sql, database: database).split(separator: "\n").map(String.init)
        }
    }

    func remove() {
        try? FileManager.default.removeItem(at: directory)
    }
}

/// Runs `body` on a fresh store of `driver`, closed and removed afterwards whatever happens.
func withStore(_ driver: StoreDriver, _ body: (any StoreTransfer, StoreFixture) async throws -> Void) async throws {
    let fixture = try await StoreFixture(driver)
    defer { fixture.remove() }
    let store = try await fixture.open()
    do {
        try await body(store, fixture)
    } catch {
        await store.close()
        throw error
    }
    await store.close()
}

/// The newest schema version this exporter knows, per engine (they number their steps alike).
func newestSchemaVersion(_ driver: StoreDriver) -> Int {
    switch driver {
    case .sqlite: return SQLiteStore.Migrations.newest
    case .postgres: return PostgresStore.Migrations.newest
    }
}

/// Each engine's migration steps, by version and name.
func migrationSteps(_ driver: StoreDriver) -> [String] {
    switch driver {
    case .sqlite: return SQLiteStore.Migrations.steps.map { "\($0.version) \($0.name)" }
    case .postgres: return PostgresStore.Migrations.steps.map { "\($0.version) \($0.name)" }
    }
}

/// `count` ended requests of `key`, a minute apart, alternating success (10 records)
/// and failure, lasting 40 s and a few tenths (so that sums of durations are not whole).
func endedRequests(_ key: MappingKey, count: Int, from start: Date) -> [TrackedRequest] {
    (0..<count).map { index in
        let first = start.addingTimeInterval(Double(index) * 60)
        let failed = index % 2 == 1
        let info = failed ? "Mapping Id: \(key.mapping). ACP-880056 Failed to fetch the record." : nil
        let end = first.addingTimeInterval(40 + Double(index % 7) * 0.3)
        return TrackedRequest(key: key, requestID: RequestID(index), origin: .triggered, firstSeen: first, lastPolled: end,
                              status: failed ? .failed : .success, numRecords: failed ? 0 : 10, info: info,
                              acpCode: ACPCode.find(in: info), finishedAt: end)
    }
}

/// The error connecting with `configuration` fails with; nil when it connects.
func connectionError(_ configuration: PostgresConfiguration) async -> StoreError? {
    do throws(StoreError) {
        let store = try await PostgresIngestionStore.connect(configuration, durationBounds: [])
        await store.close()
        return nil
    } catch {
        return error
    }
}
