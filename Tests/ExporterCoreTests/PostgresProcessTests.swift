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
