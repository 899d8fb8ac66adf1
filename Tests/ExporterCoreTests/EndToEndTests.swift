import AdobeIngestionClient
import AdobeSimulator
import ExporterConfiguration
import ExporterCore
import Foundation
import HTTPServer
import IngestionModel
import IngestionStore
import TestSupport
import Testing

/// Simulator and exporter in one process, over HTTP on loopback, one clock for
/// both: the test decides when requests end, and compares /metrics with the
/// simulator's ground truth.
@Suite("Exporter end to end", .serialized)
struct EndToEndTests {
    static let tenant = "acme-mkt-prod1"

    /// A simulator, a folder and a configuration pointing at them; the daemons made
    /// from it are stopped with it.
    struct Setup: DaemonSetup {
        let time = ManualTimeSource()
        let daemons = Registry<ExporterDaemon>()
        let simulator: AdobeSimulator
        let directory: TemporaryDirectory
        let config: ExporterConfig

        init(apiToken: String? = nil) throws {
            var scenario = Scenario(tenants: [Scenario.Tenant(name: EndToEndTests.tenant, mappings: ["XDM44", "XDM45"].map { id in
                var m = Scenario.Mapping(id: id)
                m.duration = .seconds(5) ... .seconds(5)
                m.records = 10...900
                return m
            })])
            scenario.credentials = [.init(clientID: "e2e-client", clientSecret: "e2e-secret-7781")]
            simulator = try AdobeSimulator(scenario: scenario, time: time)
            directory = try TemporaryDirectory()
            var tenant = ExporterConfig.Tenant(name: EndToEndTests.tenant, clientID: "e2e-client",
                                               clientSecret: Secret("e2e-secret-7781"), mappings: [
                                                   .init(id: "XDM44", name: "Profiles to AEP", triggerEvery: .seconds(60)),
                                                   .init(id: "XDM45", name: "Subscriptions", triggerEvery: .seconds(60)),
                                               ])
            tenant.apiURL = simulator.baseURL
            tenant.imsTokenURL = simulator.tokenURL
            var config = ExporterConfig(tenants: [tenant])
            config.collector.maxRequestsPerSecond = 10_000
            config.collector.triggerJitter = .zero  // triggers exactly on their slots: the rounds below count on it
            // Each cycle below polls every open request: the tests step the clock by 10 s between cycles.
            (config.collector.pollInterval, config.collector.pollIntervalMax) = (.seconds(10), .seconds(10))
            config.storage.path = directory.path("store.sqlite")
            if let apiToken { config.api.tokenFile = try directory.write("api-token", apiToken + "\n") }
            self.config = config
        }

        /// A setup and a daemon made from it for `body`, both stopped afterwards.
        static func run(apiToken: String? = nil, _ body: (Setup, ExporterDaemon) async throws -> Void) async throws {
            try await stopping(Setup(apiToken: apiToken)) { setup throws in try await body(setup, try await setup.daemon()) }
        }
    }

    /// Runs the exporter through `rounds` schedules: trigger, then poll after the requests end.
    func run(_ setup: Setup, _ daemon: ExporterDaemon, rounds: Int) async {
        for _ in 0..<rounds {
            await daemon.collector.cycle(tenant: Self.tenant)   // triggers both mappings
            setup.time.advance(by: .seconds(10))
            await daemon.collector.cycle(tenant: Self.tenant)   // sees them end
            setup.time.advance(by: .seconds(50))
        }
    }

    @Test func metricsMatchTheSimulatorsGroundTruth() async throws {
        try await Setup.run { setup, daemon in
            setup.simulator.setNextOutcomes(tenant: Self.tenant, mapping: "XDM44", [.success, .failedToFetch, .success, .aborted])
            setup.simulator.setNextOutcomes(tenant: Self.tenant, mapping: "XDM45", [.failedToUpload, .success, .success, .failedToFetch])
            await run(setup, daemon, rounds: 4)
            await daemon.collector.cycle(tenant: Self.tenant)  // a fifth request each, still running
            let metrics = try await setup.metrics(daemon)

            let truth = setup.simulator.requests()
            #expect(truth.count == 10)
            let now = setup.time.now()
            for mapping in ["XDM44", "XDM45"] {
                let mine = truth.filter { $0.mapping == mapping }
                let ended = mine.filter { $0.status(at: now).isTerminal }
                for (status, outcomes) in [("success", [Scenario.Outcome.success]), ("failed", [.failedToFetch, .failedToUpload]),
                                           ("aborted", [.aborted])] {
                    let expected = Double(ended.filter { outcomes.contains($0.outcome) }.count)
                    #expect(metrics[series("acs_ingestion_requests_total", Self.tenant, mapping, "status=\"\(status)\"")] == expected,
                            "\(mapping) \(status)")
                }
                let records = Double(ended.filter { $0.outcome == .success }.map(\.records).reduce(0, +))
                #expect(records > 0)
                #expect(metrics[series("acs_ingestion_records_ingested_total", Self.tenant, mapping)] == records)
                for (code, outcome) in [("ACP-880056", Scenario.Outcome.failedToFetch), ("ACP-880096", .failedToUpload)] {
                    #expect(metrics[series("acs_ingestion_failures_total", Self.tenant, mapping, "status=\"failed\",acp_code=\"\(code)\"")]
                            == Double(ended.filter { $0.outcome == outcome }.count))
                }
                #expect(metrics[series("acs_ingestion_failures_total", Self.tenant, mapping, "status=\"aborted\",acp_code=\"none\"")]
                        == Double(ended.filter { $0.outcome == .aborted }.count))
                #expect(metrics[series("acs_ingestion_requests_in_progress", Self.tenant, mapping)] == 1)
                let running = try #require(mine.first { !$0.status(at: now).isTerminal })
                #expect(metrics[series("acs_ingestion_oldest_in_progress_start_timestamp_seconds", Self.tenant, mapping)]
                        == running.submittedAt.timeIntervalSince1970)
                #expect(metrics[series("acs_ingestion_triggers_total", Self.tenant, mapping, "result=\"submitted\"")] == 5)
                let lastSuccess = ended.filter { $0.outcome == .success }.map(\.records).last
                #expect(metrics[series("acs_ingestion_last_success_records", Self.tenant, mapping)] == lastSuccess.map(Double.init))
                // Every request took 10 s from trigger to the poll that saw it end.
                #expect(metrics[series("acs_ingestion_request_duration_seconds_bucket", Self.tenant, mapping, "status=\"success\",le=\"30\"")]
                        == Double(ended.filter { $0.outcome == .success }.count))
            }
            #expect(metrics["acs_ingestion_up{tenant=\"\(Self.tenant)\"}"] == 1)
            #expect(metrics["acs_ingestion_mapping_info{tenant=\"\(Self.tenant)\",mapping=\"XDM44\",name=\"Profiles to AEP\",scheduled=\"true\"}"] == 1)
        }
    }

    @Test func everyConfiguredMappingHasItsSeriesFromTheFirstScrape() async throws {
        try await Setup.run { setup, daemon in
            let metrics = try await setup.metrics(daemon)
            for mapping in ["XDM44", "XDM45"] {
                for status in ["success", "failed", "aborted"] {
                    #expect(metrics[series("acs_ingestion_requests_total", Self.tenant, mapping, "status=\"\(status)\"")] == 0)
                }
                #expect(metrics[series("acs_ingestion_records_ingested_total", Self.tenant, mapping)] == 0)
                #expect(metrics[series("acs_ingestion_failures_total", Self.tenant, mapping, "status=\"failed\",acp_code=\"none\"")] == 0)
                #expect(metrics[series("acs_ingestion_in_progress_duration_seconds", Self.tenant, mapping)] == 0)
                #expect(metrics[series("acs_ingestion_oldest_in_progress_start_timestamp_seconds", Self.tenant, mapping)] == nil)
            }
        }
    }

    @Test func aRestartContinuesEveryCounterFromTheStore() async throws {
        let setup = try Setup()
        try await stopping(setup) { setup throws in
            setup.simulator.setNextOutcomes(tenant: Self.tenant, mapping: "XDM44", [.success, .failedToFetch, .success])
            setup.simulator.setNextOutcomes(tenant: Self.tenant, mapping: "XDM45", [.aborted, .failedToUpload, .success])
            var daemon = try await setup.daemon()
            await run(setup, daemon, rounds: 2)
            await daemon.collector.cycle(tenant: Self.tenant)  // third requests start
            let before = try await setup.metrics(daemon)
            await daemon.stop()

            daemon = try await setup.daemon()
            let after = try await setup.metrics(daemon)
            #expect(after.persistent == before.persistent)
            #expect(!after.persistent.isEmpty)

            // Polling resumes: the running requests end once, and are counted once.
            setup.time.advance(by: .seconds(10))
            await daemon.collector.cycle(tenant: Self.tenant)
            await daemon.collector.cycle(tenant: Self.tenant)
            let resumed = try await setup.metrics(daemon)
            #expect(resumed[series("acs_ingestion_requests_total", Self.tenant, "XDM44", "status=\"success\"")] == 2)
            #expect(resumed[series("acs_ingestion_requests_total", Self.tenant, "XDM45", "status=\"success\"")] == 1)
            #expect(resumed[series("acs_ingestion_requests_in_progress", Self.tenant, "XDM44")] == 0)
            // No trigger was repeated: the schedule also continues from the store.
            #expect(resumed[series("acs_ingestion_triggers_total", Self.tenant, "XDM44", "result=\"submitted\"")] == 3)
            await daemon.stop()
        }
    }

    @Test func alreadyInProgressAdoptsTheRunningRequest() async throws {
        try await Setup.run { setup, daemon in
            let key = MappingKey(tenant: Self.tenant, mapping: "XDM44")
            _ = await daemon.collector.trigger(key)
            let second = await daemon.collector.trigger(key)
            #expect(try second.get() == .alreadyInProgress("3520"))
            let metrics = try await setup.metrics(daemon)
            #expect(metrics[series("acs_ingestion_requests_in_progress", Self.tenant, "XDM44")] == 1)
            #expect(metrics[series("acs_ingestion_triggers_total", Self.tenant, "XDM44", "result=\"already_in_progress\"")] == 1)
            #expect(try await daemon.collector.store.openRequests().count == 1)
        }
    }

    @Test func refusedTriggersAreCountedByReason() async throws {
        try await Setup.run { setup, daemon in
            setup.simulator.setMapping(tenant: Self.tenant, mapping: "XDM44", stopped: false)
            setup.simulator.setMapping(tenant: Self.tenant, mapping: "XDM45", published: false)
            await daemon.collector.cycle(tenant: Self.tenant)
            let metrics = try await setup.metrics(daemon)
            #expect(metrics[series("acs_ingestion_triggers_total", Self.tenant, "XDM44", "result=\"not_stopped\"")] == 1)
            #expect(metrics[series("acs_ingestion_triggers_total", Self.tenant, "XDM45", "result=\"not_published\"")] == 1)
            #expect(metrics[series("acs_ingestion_requests_in_progress", Self.tenant, "XDM44")] == 0)
        }
    }

    @Test func upstreamTroubleIsDataNotAnOutage() async throws {
        try await Setup.run { setup, daemon in
            await daemon.collector.cycle(tenant: Self.tenant)
            setup.simulator.inject(.forbidden, on: .status, times: 2)
            setup.time.advance(by: .seconds(10))
            await daemon.collector.cycle(tenant: Self.tenant)
            let metrics = try await setup.metrics(daemon)
            #expect(metrics["acs_ingestion_up{tenant=\"\(Self.tenant)\"}"] == 0)
            #expect(metrics["acs_ingestion_api_requests_total{tenant=\"\(Self.tenant)\",operation=\"status\",code=\"403\"}"] == 2)
            #expect(try await http("http://127.0.0.1:\(daemon.port)/-/ready").status == 200)
        }
    }

    @Test func servesGzipHealthReadinessAndALandingPage() async throws {
        try await Setup.run { setup, daemon in
            daemon.web.publisher.refresh()
            let base = "http://127.0.0.1:\(daemon.port)"
            // On the wire: gzip-encoded when asked, and the same exposition once inflated.
            let gzipped = try rawHTTP(port: daemon.port, path: "/metrics", headers: ["Accept-Encoding": "gzip"])
            #expect(gzipped.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8")
            #expect(gzipped.headers["content-encoding"] == "gzip" && gzipped.body.starts(with: [0x1f, 0x8b]))
            let inflated = String(decoding: try await gunzip(gzipped.body), as: UTF8.self)
            let plain = try rawHTTP(port: daemon.port, path: "/metrics")
            #expect(plain.headers["content-encoding"] == nil)
            #expect(Exposition(inflated).persistent == Exposition(String(decoding: plain.body, as: UTF8.self)).persistent)
            #expect(!Exposition(inflated).persistent.isEmpty)
            #expect(try await http(base + "/-/healthy").status == 200)
            #expect(try await http(base + "/-/ready").status == 200)
            let page = try await http(base + "/")
            #expect(page.status == 200)
            #expect(page.text.contains("href=\"/metrics\""))
        }
    }

    @Test(.enabled(if: Paths.executable("promtool") != nil, "promtool comes with Debian's prometheus package"))
    func exposionPassesPromtoolCheckMetrics() async throws {
        try await Setup.run { setup, daemon in
            setup.simulator.setNextOutcomes(tenant: Self.tenant, mapping: "XDM44", [.failedToFetch])
            await run(setup, daemon, rounds: 1)
            let metrics = try await setup.metrics(daemon)
            let file = try setup.directory.write("metrics.prom", metrics.text)
            let check = try ChildProcess("/bin/sh", ["-c", "promtool check metrics < \(file)"], directory: setup.directory, name: "promtool")
            #expect(await check.wait() == 0)
            #expect(check.stdout + check.stderr == "", "promtool findings: \(check.stdout)\(check.stderr)")
        }
    }
}
