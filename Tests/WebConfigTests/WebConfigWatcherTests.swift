import Foundation
import HTTPServer
import Synchronization
import Testing
@testable import WebConfig
import TestSupport

/// Reloading from disk: certificates rotated by replacing files, users added,
/// broken files refused while the last good configuration keeps serving.
@Suite("Web configuration reload", .serialized)
struct WebConfigWatcherTests {
    static let certificates = Task { () throws -> TestCertificates in try await TestCertificates.withTwoServers() }

    private final class Log: Sendable {
        let lines = Mutex<[String]>([])
        func append(_ line: String) { lines.withLock { $0.append(line) } }
        var all: [String] { lines.withLock { $0 } }
    }

    /// Copies over `destination` the way a rotation does: write aside, rename over.
    private func replace(_ destination: String, with source: String) throws {
        let aside = destination + ".new"
        try? FileManager.default.removeItem(atPath: aside)
        try FileManager.default.copyItem(atPath: source, toPath: aside)
        guard rename(aside, destination) == 0 else { throw POSIXError(.EIO) }
    }

    private func write(_ text: String, to path: String) throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    }

    /// A directory whose web.yml serves the certificate and key of `server` (serial 1001)
    /// as tls.crt and tls.key, with the certificates to rotate them.
    private func servingFirstCertificate() async throws -> (TestCertificates, TemporaryDirectory) {
        let certificates = try await Self.certificates.value
        let directory = try TemporaryDirectory()
        try replace(directory.path("tls.crt"), with: certificates.path("server.crt"))
        try replace(directory.path("tls.key"), with: certificates.path("server.key"))
        try write("tls_server_config:\n  cert_file: tls.crt\n  key_file: tls.key\n", to: directory.path("web.yml"))
        return (certificates, directory)
    }

    private func withWatchedServer(_ web: String, in directory: TemporaryDirectory,
                                   _ body: (HTTPServer, WebConfigWatcher, Log) async throws -> Void) async throws {
        let loaded = try WebConfiguration.load(file: directory.path("web.yml"))
        let log = Log()
        try await withServer({ $0.security = loaded.settings }, routes: { router in
            router.get("/-/healthy") { _ in HTTPResponse.text("ok").reply }
            router.get("/metrics") { _ in HTTPResponse.text("up 1\n").reply }
        }) { server throws in
            let watcher = WebConfigWatcher(loaded: loaded, apply: { server.apply($0) }, log: log.append)
            try await body(server, watcher, log)
        }
    }

    @Test func aRotatedCertificateIsPresentedByTheNextHandshake() async throws {
        let (certificates, directory) = try await servingFirstCertificate()
        try await withWatchedServer("", in: directory) { server, watcher, log throws in
            #expect(try await opensslHandshake(port: server.port).serverSerial == "1001")
            #expect(watcher.checkForChanges() == .unchanged)
            try replace(directory.path("tls.crt"), with: certificates.path("server2.crt"))
            try replace(directory.path("tls.key"), with: certificates.path("server2.key"))
            #expect(watcher.checkForChanges() == .applied(notes: []))
            #expect(try await opensslHandshake(port: server.port).serverSerial == "2002")
            #expect(watcher.status.lastReloadSuccessful)
            #expect(log.all.count == 1)
        }
    }

    @Test func aBrokenReplacementKeepsTheOldCertificateServing() async throws {
        let (certificates, directory) = try await servingFirstCertificate()
        try await withWatchedServer("", in: directory) { server, watcher, log throws in
            // Half a rotation: the new certificate with the old key.
            try replace(directory.path("tls.crt"), with: certificates.path("server2.crt"))
            guard case .failed(let error) = watcher.checkForChanges() else { Issue.record("expected a failure"); return }
            #expect(error.description.contains("tls_server_config.key_file: private key: does not match the certificate"))
            #expect(!watcher.status.lastReloadSuccessful)
            #expect(watcher.status.failedReloads == 1)
            #expect(try await opensslHandshake(port: server.port).serverSerial == "1001")
            // Reported once, not at every poll.
            #expect(watcher.checkForChanges() == .unchanged)
            #expect(log.all.count == 1)
            #expect(log.all.allSatisfy { !$0.contains("PRIVATE KEY") })
            // Completing the rotation recovers.
            try replace(directory.path("tls.key"), with: certificates.path("server2.key"))
            #expect(watcher.checkForChanges() == .applied(notes: []))
            #expect(watcher.status.lastReloadSuccessful)
            #expect(try await opensslHandshake(port: server.port).serverSerial == "2002")
        }
    }

    @Test func aNewUserAppliesToTheNextRequest() async throws {
        let directory = try TemporaryDirectory()
        let aliceOnly = "basic_auth_users:\n  alice: \(WebConfigurationParsingTests.aliceHash)\n"
        try write(aliceOnly, to: directory.path("web.yml"))
        try await withWatchedServer("", in: directory) { server, watcher, _ throws in
            let url = "http://127.0.0.1:\(server.port)/metrics"
            #expect(try await curl(["-u", "bob:builder", url]).status == 401)
            let bobHash = try #require(Bcrypt.hash("builder", cost: 4))
            try write(aliceOnly + "  bob: \(bobHash)\n", to: directory.path("web.yml") + ".new")
            rename(directory.path("web.yml") + ".new", directory.path("web.yml"))
            #expect(watcher.checkForChanges() == .applied(notes: []))
            #expect(try await curl(["-u", "bob:builder", url]).status == 200)
            #expect(try await curl(["-u", "alice:correct horse", url]).status == 200)
        }
    }

    @Test func aBrokenFileKeepsTheUsersInForce() async throws {
        let directory = try TemporaryDirectory()
        try write("basic_auth_users:\n  alice: \(WebConfigurationParsingTests.aliceHash)\n", to: directory.path("web.yml"))
        try await withWatchedServer("", in: directory) { server, watcher, log throws in
            try write("basic_auth_users:\n  alice: not-a-hash\n", to: directory.path("web.yml"))
            guard case .failed = watcher.checkForChanges() else { Issue.record("expected a failure"); return }
            #expect(try await curl(["-u", "alice:correct horse", "http://127.0.0.1:\(server.port)/metrics"]).status == 200)
            #expect(log.all.count == 1 && log.all[0].contains("basic_auth_users.alice") && !log.all[0].contains("not-a-hash"))
        }
    }

    @Test func theWatcherPollsOnItsOwn() async throws {
        let directory = try TemporaryDirectory()
        try write("", to: directory.path("web.yml"))
        try await withWatchedServer("", in: directory) { server, watcher, _ throws in
            let ticks = AsyncStream<Void>.makeStream()
            let polling = Task { await watcher.run(every: .seconds(3600)) { _ in
                // The injected clock: each poll waits for the test to say "tick".
                for await _ in ticks.stream { return }
                throw CancellationError()
            } }
            try write("basic_auth_users:\n  alice: \(WebConfigurationParsingTests.aliceHash)\n", to: directory.path("web.yml"))
            ticks.continuation.yield()
            try await eventually("the new user applied") {
                try await curl(["http://127.0.0.1:\(server.port)/metrics"]).status == 401
            }
            polling.cancel()
            ticks.continuation.finish()
            await polling.value
        }
    }

    @Test func changingTLSVersionsWaitsForARestart() async throws {
        let (_, directory) = try await servingFirstCertificate()
        try await withWatchedServer("", in: directory) { server, watcher, _ throws in
            try write("tls_server_config:\n  cert_file: tls.crt\n  key_file: tls.key\n  min_version: TLS13\n",
                      to: directory.path("web.yml"))
            guard case .applied(let notes) = watcher.checkForChanges() else { Issue.record("expected applied"); return }
            #expect(notes.count == 1 && notes[0].contains("after a restart"))
            #expect(try await opensslHandshake(port: server.port, arguments: ["-tls1_2"]).protocolVersion == "TLSv1.2")
        }
    }
}
