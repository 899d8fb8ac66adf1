import Foundation
import IngestionModel
import IngestionStore
import Logging
import PostgresStore
import Synchronization
import Testing
import TestSupport

/// What only the PostgreSQL store meets: a server that goes away and comes back, and TLS.
@Suite("PostgreSQL connections")
struct PostgresConnectionTests {
    let key = MappingKey(tenant: "t1", mapping: "XDM44")
    let start = Date(timeIntervalSince1970: 1_700_000_000)

    @Test func aStoppedServerIsUnavailableAndTheStoreResumesWhenItReturns() async throws {
        try await withPostgresServer { server in
            let fixture = try await StoreFixture(.postgres, server: server)
            // A short wait: this test meets the stopped server several times.
            var configuration = try fixture.postgresConfiguration
            configuration.connectTimeout = .seconds(2)
            let store = try await PostgresIngestionStore.connect(configuration, durationBounds: StoreFixture.durationBounds)
            let first = try await store.recordTriggerAttempt(TriggerAttempt(key: key, at: start, result: .submitted, requestID: "1"))!
            let second = try await store.track(key, requestID: "2", origin: .triggered, at: start)
            _ = try await store.recordObservation(first.request.rowID, report: StatusReport(requestID: "1", status: .success, numRecords: 7),
                                                  at: start.addingTimeInterval(40))
            let success = StatusReport(requestID: "2", status: .success, numRecords: 5)

            try await server.stop()
            for attempt in 0..<2 { // a pooled connection the server closed, then no connection at all
                do throws(StoreError) {
                    _ = try await store.recordObservation(second.request.rowID, report: success, at: start.addingTimeInterval(50))
                    Issue.record("a write succeeded with the server stopped (attempt \(attempt))")
                } catch {
                    #expect(error.kind == .unavailable)
                    #expect(error.description.contains(fixture.database) && error.description.contains("127.0.0.1:\(server.port)"))
                    #expect(!error.description.contains(server.password) && !error.description.contains("\n"))
                }
            }
            await #expect(throws: StoreError.self) { try await store.totals() }
            // The health check says so, a write or not, on one line without the password.
            for write in [false, true] {
                do throws(StoreError) {
                    _ = try await store.probe(write: write, at: start.addingTimeInterval(55))
                    Issue.record("a probe succeeded with the server stopped (write: \(write))")
                } catch {
                    #expect(error.kind == .unavailable && error.isOutage)
                    #expect(error.description.contains("127.0.0.1:\(server.port)"))
                    #expect(!error.description.contains(server.password) && !error.description.contains("\n"))
                }
            }

            try await server.start()
            // The health check is what notices the server is back.
            let probe = try await eventually(within: .seconds(120)) { try await store.probe(write: true, at: start.addingTimeInterval(58)) }
            #expect((probe.sizeBytes ?? 0) > 0)
            #expect(Double(try await server.psql("SELECT at FROM store_probe", database: fixture.database)) == start.timeIntervalSince1970 + 58)
            let result = try await eventually(within: .seconds(120)) {
                try await store.recordObservation(second.request.rowID, report: success, at: start.addingTimeInterval(60))
            }
            guard case .finished = result else {
                Issue.record("expected the request to finish, got \(result)")
                return
            }
            // Nothing lost, nothing counted twice: two successes, 12 records, one trigger.
            let totals = try await store.totals()
            #expect(totals.requests(of: key) == [.success: 2])
            #expect(totals.recordsIngested(of: key) == 12)
            #expect(totals.triggers[key] == [.submitted: 1])
            #expect(try await store.observations(of: second.request.rowID).map(\.observedAt) == [start.addingTimeInterval(60)])
            await store.close()
        }
    }

    @Test(arguments: ["localhost", "127.0.0.1"])
    func verifyFullAgainstTheTestCAConnectsOverTLS(host: String) async throws {
        let server = try await PostgresServer.shared()
        let database = try await server.createDatabase()
        let url = server.url(database: database, sslMode: "verify-full", sslRootCert: server.caCertificate, host: host)
        let store = try await PostgresIngestionStore.connect(try PostgresConfiguration(url: url, password: server.password),
                                                             durationBounds: [])
        _ = try await store.track(key, requestID: "1", origin: .external, at: start)
        #expect(try await store.request(key, "1") != nil)
        // The pool keeps its connection open: the server sees it encrypted.
        #expect(try await server.psql("""
            SELECT count(*) FROM pg_stat_ssl JOIN pg_stat_activity USING (pid) WHERE datname = '\(database)' AND NOT ssl
            """) == "0")
        #expect(try await Int(server.psql("""
            SELECT count(*) FROM pg_stat_ssl JOIN pg_stat_activity USING (pid) WHERE datname = '\(database)' AND ssl
            """))! >= 1)
        await store.close()
    }

    @Test func aServerCertificateFromAnotherCAIsRefusedOnOneLine() async throws {
        let server = try await PostgresServer.shared()
        let database = try await server.createDatabase()
        let url = server.url(database: database, sslMode: "verify-full", sslRootCert: server.otherCACertificate, host: "localhost")
        let configuration = try PostgresConfiguration(url: url, password: server.password, connectTimeout: .seconds(5))
        let error = try #require(await connectionError(configuration), "connected to a server whose certificate the CA did not sign")
        #expect(error.kind == .unavailable)
        #expect(error.description.hasPrefix("database postgres://localhost:\(server.port)/\(database): "))
        #expect(error.description.lowercased().contains("certificate"))
        #expect(!error.description.contains("\n") && !error.description.contains(server.password))
    }

    @Test func thePasswordReachesNoLogLine() async throws {
        let server = try await PostgresServer.shared()
        let database = try await server.createDatabase()
        let log = CapturedLog()
        let store = try await PostgresIngestionStore.connect(
            try PostgresConfiguration(url: server.url(database: database, sslMode: "require"), password: server.password),
            durationBounds: [], logger: log.logger())
        let row = try await store.track(key, requestID: "1", origin: .external, at: start).request.rowID
        _ = try await store.recordObservation(row, report: StatusReport(requestID: "1", status: .success, numRecords: 1), at: start)
        await store.close()
        let wrong = try PostgresConfiguration(url: server.url(database: database), password: "wrong-\(server.password)",
                                              connectTimeout: .seconds(2))
        await #expect(throws: StoreError.self) { try await PostgresIngestionStore.connect(wrong, durationBounds: [], logger: log.logger()) }
        #expect(!log.text.isEmpty)
        #expect(!log.text.contains(server.password))
    }

    @Test func requireEncryptsWithoutVerifying() async throws {
        let server = try await PostgresServer.shared()
        let database = try await server.createDatabase()
        let store = try await PostgresIngestionStore.connect(
            try PostgresConfiguration(url: server.url(database: database, sslMode: "require"), password: server.password),
            durationBounds: [])
        #expect(try await store.schemaVersion() == newestSchemaVersion(.postgres))
        await store.close()
    }

    @Test func aReadOnlyStoreReadsAndRefusesWrites() async throws {
        let server = try await PostgresServer.shared()
        let database = try await server.createDatabase()
        let writer = try await PostgresIngestionStore.connect(
            try PostgresConfiguration(url: server.url(database: database), password: server.password), durationBounds: [])
        _ = try await writer.track(key, requestID: "1", origin: .external, at: start)
        await writer.close()
        var configuration = try PostgresConfiguration(url: server.url(database: database), password: server.password)
        configuration.readOnly = true
        let reader = try await PostgresIngestionStore.connect(configuration, durationBounds: [])
        #expect(try await reader.openRequests().count == 1)
        await #expect(throws: StoreError.self) { try await reader.track(key, requestID: "2", origin: .external, at: start) }
        await #expect(throws: StoreError.self) { try await reader.probe(write: true, at: start) }
        #expect((try await reader.probe(write: false, at: start).sizeBytes ?? 0) > 0)
        await reader.close()
    }
}

/// Retries `body` until it succeeds or `within` has passed (then rethrows its last error).
func eventually<T>(within limit: Duration, _ body: () async throws -> T) async throws -> T {
    let deadline = ContinuousClock.now + limit
    while true {
        do {
            return try await body()
        } catch where ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(200))
        }
    }
}

/// Every log line PostgresNIO writes at trace level, for a password hunt.
final class CapturedLog: Sendable {
    private let lines = Mutex<[String]>([])

    var text: String { lines.withLock { $0.joined(separator: "\n") } }

    func logger() -> Logger {
        Logger(label: "test") { _ in Handler(log: self) }
    }

    private struct Handler: LogHandler {
        let log: CapturedLog
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let all = metadata.merging(event.metadata ?? [:]) { $1 }
            log.lines.withLock { $0.append("\(event.level) \(event.message) \(all)") }
        }
    }
}
