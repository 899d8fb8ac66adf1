import AdobeSimulator
import Foundation
import TestSupport
import Testing

/// The real binary with `storage.driver: postgres` (a PostgreSQL 15 cluster the tests
/// start, over TLS checked against a CA they generate), against the simulator: exact
/// counters across kill -9 and restart, and the database stopped mid-run.
@Suite("Exporter on PostgreSQL (the binary)", .serialized)
struct PostgresProcessTests {
    typealias Setup = StoreFaultTests.Setup

    init() throws {
        try #require(FileManager.default.isExecutableFile(atPath: Paths.binary), "run `swift build` first: no \(Paths.binary)")
    }

    @Test func exactCountersAcrossKillMinus9AndRestart() async throws {
        let server = try await PostgresServer.shared()
        try await stopping(Setup()) { setup throws in
            let config = try setup.config(postgres: server, database: try await server.createDatabase())
            var (exporter, port) = try await setup.start(config: config, name: "first")
            try await setup.round(port)
            try await setup.round(port)
            let before = try await scrape(port)
            await exporter.kill9()

            (exporter, port) = try await setup.start(config: config, name: "second")
            let after = try await scrape(port)
            for name in before.persistent.keys where name.hasPrefix("acs_ingestion_requests_total") || name.hasPrefix("acs_ingestion_records") {
                #expect(after[name] == before[name], "\(name) before kill -9 \(before[name] ?? -1), after \(after[name] ?? -1)")
            }
            try await setup.round(port)
            try await StoreFaultTests.expectGroundTruth(setup, port)
            #expect(exporter.stderr.contains("store loaded") && exporter.stderr.contains("store=postgres://localhost:"))
            #expect(!exporter.stderr.contains(server.password))
        }
    }

    @Test func theDatabaseStoppedMidRunIsSaidAndNothingIsLostOrCountedTwice() async throws {
        try await withPostgresServer { server in
            try await stopping(Setup()) { setup throws in
                let config = try setup.config(postgres: server, database: try await server.createDatabase())
                let (exporter, port) = try await setup.start(config: config, name: "exporter")
                try await setup.round(port)
                #expect(try await http("http://127.0.0.1:\(port)/").status == 200)

                try await server.stop()
                setup.time.advance(by: .seconds(10))   // requests end at Adobe while nothing can be written
                try await eventually("store_up 0", timeout: .seconds(30)) { await StoreFaultTests.storeUp(port) == 0 }
                let ready = try await http("http://127.0.0.1:\(port)/-/ready")
                #expect(ready.status == 503 && ready.text.contains("the store cannot write"), "\(ready.text)")
                #expect(!ready.text.contains(server.password))
                let tracked = try await StoreFaultTests.track(port, "888001")
                #expect(tracked.status == 503 && tracked.header("Retry-After") == "30", "\(tracked.status) \(tracked.text)")
                // No POST without a place to write its answer: triggers are refused before sending.
                let posts = setup.simulator.callCount(.trigger)
                let refused = await StoreFaultTests.storeErrors(port, "trigger_intent")
                try await eventually("two more refused triggers", timeout: .seconds(30)) {
                    await StoreFaultTests.storeErrors(port, "trigger_intent") >= refused + 2
                }
                #expect(setup.simulator.callCount(.trigger) == posts)
                // Still serving the last metrics and pages.
                let page = try await http("http://127.0.0.1:\(port)/")
                #expect(page.status == 200 && page.text.contains("The store cannot be read"), "\(page.status)")
                #expect(try await scrape(port)["acs_ingestion_up{tenant=\"\(StoreFaultTests.tenant)\"}"] == 1)

                try await server.start()
                try await eventually("store_up 1", timeout: .seconds(90)) { await StoreFaultTests.storeUp(port) == 1 }
                #expect(try await http("http://127.0.0.1:\(port)/-/ready").status == 200)
                try await setup.round(port)
                try await StoreFaultTests.expectGroundTruth(setup, port)
                #expect(!exporter.stderr.contains(server.password))
            }
        }
    }
}

/// A PostgreSQL that hangs (every process SIGSTOPped: connections and bytes are taken,
/// nothing answers) under a single exporter and a two-replica cluster, each against a
/// simulator of its own.
@Suite("Exporter on a hung PostgreSQL (the binary)", .serialized)
struct HungPostgresTests {
    typealias Setup = StoreFaultTests.Setup
    /// `storage.timeout` in these tests; the bound on seeing the hang is twice it plus a health check.
    static let timeout = 2.0
    /// How long the server hangs.
    static let hang: Duration = .seconds(60)

    init() throws {
        try #require(FileManager.default.isExecutableFile(atPath: Paths.binary), "run `swift build` first: no \(Paths.binary)")
    }

    /// POSTs the simulator received in all.
    static func posts(_ setup: Setup) -> Int { setup.simulator.callCount(.trigger) }

    /// The port of the replica that runs the tenant now.
    static func owner(_ ports: [Int]) async throws -> Int {
        var found: Int?
        try await eventually("a replica runs the tenant", timeout: .seconds(60)) {
            for port in ports where (try? await scrape(port))?["acs_ingestion_tenant_owner{tenant=\"\(StoreFaultTests.tenant)\"}"] == 1 {
                found = port
                return true
            }
            return false
        }
        return found!
    }

    @Test func aHungDatabaseIsSeenNothingIsSentShutdownIsCleanAndCountersAreExactAfter() async throws {
        try await withPostgresServer { server in
            try await stopping(Setup()) { single throws in
                try await stopping(Setup()) { clustered throws in
                    let storage = "  timeout: \(Int(Self.timeout))s"
                    let singleConfig = try single.config(postgres: server, database: try await server.createDatabase(), storage: storage)
                    let clusterConfig = try clustered.config(postgres: server, database: try await server.createDatabase(), storage: storage,
                                                             cluster: "cluster:\n  enabled: true\n  lease_ttl: 6s")
                    let (alone, alonePort) = try await single.start(config: singleConfig, name: "single")
                    let first = try await clustered.start(config: clusterConfig, name: "replica-1")
                    let second = try await clustered.start(config: clusterConfig, name: "replica-2")
                    try await single.round(alonePort)
                    let owner = try await Self.owner([first.1, second.1])
                    try await clustered.round(owner)
                    // The owner is the one SIGTERMed during the hang; the other stays and recovers.
                    let (leaving, staying) = owner == first.1 ? (first, second) : (second, first)

                    try await server.signalAll(SIGSTOP)
                    do {
                        try await hung(server: server, single: single, clustered: clustered, alone: (alone, alonePort),
                                       leaving: leaving, staying: staying.1)
                    } catch {
                        try? await server.signalAll(SIGCONT)
                        throw error
                    }
                    try await server.signalAll(SIGCONT)
                    let resumedAt = ContinuousClock.now
                    func say(_ what: String) { print("hung PostgreSQL, after SIGCONT: \(what) after \(ContinuousClock.now - resumedAt)") }

                    // The replica left running recovers on its own; the single exporter starts again.
                    try await eventually("the staying replica's store_up 1", timeout: .seconds(90)) {
                        await StoreFaultTests.storeUp(staying.1) == 1
                    }
                    say("the staying replica's store_up 1")
                    let again = try await single.start(config: singleConfig, name: "single-again")
                    say("the single exporter ready again")
                    try await single.round(again.1)
                    try await StoreFaultTests.expectGroundTruth(single, again.1)
                    say("the single exporter's round counted")
                    #expect(try await Self.owner([staying.1]) == staying.1)
                    say("the staying replica owns the tenant")
                    try await clustered.round(staying.1)
                    try await StoreFaultTests.expectGroundTruth(clustered, staying.1, cluster: "acs-ingestion-exporter")
                    say("the staying replica's round counted")
                    #expect(!staying.0.stderr.contains(server.password) && !again.0.stderr.contains(server.password))
                }
            }
        }
    }

    /// While the server hangs: each exporter sees it within the bound, sends no POST, and
    /// a SIGTERM ends the single exporter and the cluster's owner within 5 s, cleanly.
    func hung(server: PostgresServer, single: Setup, clustered: Setup, alone: (ChildProcess, Int),
              leaving: (ChildProcess, Int), staying: Int) async throws {
        let hungAt = ContinuousClock.now
        // Seen within twice the timeout and a health check (at most 10 s apart): store_up 0, not ready.
        let bound = Duration.seconds(Self.timeout * 2 + 10)
        for (name, port) in [("single", alone.1), ("owner", leaving.1), ("other replica", staying)] {
            try await eventually("\(name): store_up 0 and not ready", timeout: .seconds(40)) {
                guard await StoreFaultTests.storeUp(port) == 0 else { return false }
                return (try? await http("http://127.0.0.1:\(port)/-/ready").status) == 503
            }
            print("hung PostgreSQL: \(name) store_up 0 and /-/ready 503 after \(ContinuousClock.now - hungAt)")
        }
        #expect(ContinuousClock.now - hungAt <= bound, "the hang was seen after \(ContinuousClock.now - hungAt), bound \(bound)")
        // Nothing is sent while the store hangs: the triggers due every second find no place
        // to record them, and the owner's lease cannot be renewed.
        let (alonePosts, clusterPosts) = (Self.posts(single), Self.posts(clustered))
        let ready = try await http("http://127.0.0.1:\(alone.1)/-/ready")
        #expect(ready.text.contains("store") && !ready.text.contains(server.password), "\(ready.text)")

        // SIGTERM during the hang: out within 5 s, one line naming what did not stop, no crash.
        for (name, child) in [("single", alone.0), ("owner", leaving.0)] {
            await StoreFaultTests.expectBoundedShutdown(child, "hung PostgreSQL, the \(name) exporter")
        }
        // The hang lasts its full length, and no POST goes at any moment of it.
        let quiet = await throughout(max(.zero, hungAt + Self.hang - ContinuousClock.now), every: .seconds(1)) {
            Self.posts(single) == alonePosts && Self.posts(clustered) == clusterPosts
        }
        #expect(quiet, "a POST was sent while the store hung")
        #expect(Self.posts(single) == alonePosts, "POSTs sent by the single exporter while the store hung")
        #expect(Self.posts(clustered) == clusterPosts, "POSTs sent by the cluster while the store hung")
        #expect(await StoreFaultTests.storeUp(staying) == 0)
    }
}
