import AdobeIngestionClient
import AdobeSimulator
import ExporterAPI
import ExporterConfiguration
import ExporterCore
import Foundation
import IngestionModel
import IngestionStore
import Scheduling
import TestSupport
import Testing

/// Following a failed request's batch into Experience Platform's Catalog, end to end: the
/// real collector loop against the simulator over HTTP, on an injected clock moved from
/// one deadline to the next once the code has settled.
@Suite("Batches followed in Experience Platform (simulator over HTTP)", .serialized)
struct PlatformFollowUpTests {
    static let orgID = Scenario.Tenant(name: "", mappings: []).orgID

    /// Both tenants follow their batches (looked up at once, then after 60 s doubling to
    /// 5 min, for at most `giveUpAfter`); every request of M1, M2 and M3 fails with
    /// ACP-880096 after a minute, and its batch stays `processing` for 10 minutes more.
    static func setup(giveUpAfter: Duration = .seconds(7200),
                      platform: (String, inout PlatformSettings) -> Void = { _, _ in }) throws -> SchedulerTests.Setup {
        let setup = try SchedulerTests.Setup(scheduled: false) { config in
            (config.collector.pollInterval, config.collector.pollIntervalMax) = (.seconds(30), .seconds(30))
            for index in config.tenants.indices {
                var settings = PlatformSettings()
                settings.orgID = orgID
                settings.url = config.tenants[index].apiURL
                (settings.lookupInterval, settings.lookupIntervalMax, settings.giveUpAfter) = (.seconds(60), .seconds(300), giveUpAfter)
                platform(config.tenants[index].name, &settings)
                config.tenants[index].client.platform = settings
            }
        }
        for tenant in ["t-a", "t-b"] {
            for mapping in ["M1", "M2", "M3"] {
                setup.simulator.setMapping(tenant: tenant, mapping: mapping, duration: .seconds(60) ... .seconds(60))
                setup.simulator.setNextOutcomes(tenant: tenant, mapping: mapping, [.failedToUpload])
            }
        }
        return setup
    }

    static func processing(_ setup: SchedulerTests.Setup, _ duration: Duration) {
        setup.simulator.setBatchProcessing(duration ... duration)
    }

    /// Runs the collector of a new daemon on the clock for `duration`, after triggering `keys`.
    static func run(_ setup: SchedulerTests.Setup, _ daemon: ExporterDaemon, triggering keys: [MappingKey],
                    for duration: Duration) async throws {
        for key in keys { _ = await daemon.collector.trigger(key) }
        let loop = Task { await daemon.collector.run() }
        // Not before every worker ran its first cycle and sleeps, beside the collector's store
        // monitor, liveness and retention loops: a loop task started late on a busy machine
        // would otherwise find the whole span already stepped through.
        try await eventually("the collector's loops and workers asleep on the test clock") {
            setup.time.sleepers >= 3 + daemon.collector.config.tenants.count
        }
        try await setup.time.runSettled(for: duration)
        loop.cancel()
        await loop.value
    }

    static func keys(_ tenant: String) -> [MappingKey] { ["M1", "M2", "M3"].map { MappingKey(tenant: tenant, mapping: $0) } }

    @Test func processingBatchesAreLookedUpWithBackOffAndCountedOnceWithTheirRecordsAndCodes() async throws {
        let setup = try Self.setup()
        try await stopping(setup) { setup throws in
            Self.processing(setup, .seconds(600))
            setup.simulator.setNextBatchFates(tenant: "t-a", mapping: "M1", [.partial])
            setup.simulator.setNextBatchFates(tenant: "t-a", mapping: "M2", [.failedWithoutCounts])
            setup.simulator.setNextBatchFates(tenant: "t-a", mapping: "M3", [.failed])
            let daemon = try await setup.daemon()
            try await Self.run(setup, daemon, triggering: Self.keys("t-a"), for: .seconds(3600))

            let batches = setup.simulator.batches()
            #expect(batches.count == 3)
            // Four headers on every lookup: the tenant's token and client, its organization and sandbox.
            let headers = setup.simulator.batchLookupHeaders()
            #expect(!headers.isEmpty)
            let tokens = Set(setup.simulator.issuedTokens().map { "Bearer " + $0 })
            for sent in headers {
                #expect(tokens.contains(sent["authorization"] ?? ""), "\(sent)")
                #expect(sent["x-api-key"] == "c" && sent["x-gw-ims-org-id"] == Self.orgID && sent["x-sandbox-name"] == "prod", "\(sent)")
            }
            // Back-off: at once, then 60 s, 120 s, 240 s, 300 s: the batch that ends 10 min after its
            // request is seen at the fifth lookup (12 min), and not looked up again.
            let lookups = setup.simulator.batchLookups()
            for batch in batches { #expect(lookups[batch.id] == 5, "\(batch.id): \(lookups[batch.id] ?? 0) lookups") }
            let stored = try await daemon.collector.store.batches(ofRequests: try await daemon.collector.store.history(HistoryQuery()).map(\.rowID))
            #expect(stored.count == 3 && stored.values.allSatisfy { !$0.isOpen && $0.lookups == 5 })

            let metrics = try await setup.metrics(daemon)
            func sample(_ name: String, _ mapping: String, _ extra: String) -> Double? { metrics[series(name, "t-a", mapping, extra)] }
            for batch in batches {
                #expect(sample("acs_ingestion_aep_batches_total", batch.mapping, "status=\"\(batch.finalStatus)\"") == 1)
                #expect(sample("acs_ingestion_aep_batches_total", batch.mapping, "status=\"unknown\"") == 0)
                #expect(sample("acs_ingestion_aep_batch_records_total", batch.mapping, "outcome=\"input\"") == Double(batch.input))
                #expect(sample("acs_ingestion_aep_batch_records_total", batch.mapping, "outcome=\"ingested\"") == Double(batch.ingested))
                #expect(sample("acs_ingestion_aep_batch_records_total", batch.mapping, "outcome=\"failed\"") == Double(batch.failed))
                #expect(sample("acs_ingestion_aep_batches_in_progress", batch.mapping, "") == 0)
                for error in batch.errors {
                    #expect(sample("acs_ingestion_aep_batch_errors_total", batch.mapping, "code=\"\(error.code)\"") == 1, "\(error.code)")
                }
            }
            // A partial success: a `success` batch with rejected rows.
            let partial = try #require(batches.first { $0.fate == .partial })
            #expect(partial.finalStatus == "success" && partial.failed > 0 && partial.ingested > 0)
            // An error without recordCount still counts its batch.
            let withoutCounts = try #require(batches.first { $0.fate == .failedWithoutCounts })
            #expect(withoutCounts.errors.allSatisfy { $0.recordCount == nil })
            #expect(sample("acs_ingestion_aep_batch_errors_total", withoutCounts.mapping, "code=\"INGEST-1212-400\"") == 1)
            #expect(metrics["acs_ingestion_api_requests_total{tenant=\"t-a\",operation=\"batch\",code=\"200\"}"] == 15)

            // The request's record carries its batch.
            let page = try JSONDecoder().decode(RequestPage.self, from: Data(try await http("http://127.0.0.1:\(daemon.port)/api/v1/requests").body))
            let record = try #require(page.requests.first { $0.mapping == partial.mapping }?.aepBatch)
            #expect(record.batchID == partial.id && record.status == "success" && record.ended)
            #expect(record.inputRecords == partial.input && record.ingestedRecords == partial.ingested && record.failedRecords == partial.failed)
            #expect(record.errors.map(\.code) == ["INGEST-1401-400"] && record.errors.first?.recordCount == partial.failed)
            let statusPage = try await http("http://127.0.0.1:\(daemon.port)/").text
            #expect(statusPage.contains("AEP batch \(partial.id): success, \(partial.ingested) of \(partial.input) records ingested"))
            let (_, table, _) = try await CLITests().run(["requests", "--url", "http://127.0.0.1:\(daemon.port)", "--mapping", partial.mapping],
                                                         in: setup.directory)
            #expect(table.contains("AEP BATCH") && table.contains(
                "success \(partial.ingested)/\(partial.input) ingested, \(partial.failed) failed: INGEST-1401-400 (\(partial.failed))"), "\(table)")

            // Ended batches are not looked up again.
            try await setup.time.runSettled(for: .seconds(1800))
            #expect(setup.simulator.batchLookups() == lookups)
        }
    }

    @Test func aWrongOrganizationOrSandboxIsOneLineAndACountedCodeUntilTheFollowUpGivesUp() async throws {
        let setup = try Self.setup(giveUpAfter: .seconds(1200)) { tenant, settings in
            if tenant == "t-a" { settings.orgID = "FFFF0000FFFF0000@AdobeOrg" } else { settings.sandbox = "dev" }
        }
        try await stopping(setup) { setup throws in
            Self.processing(setup, .zero)
            let log = LogCapture()
            let daemon = try await ExporterDaemon.serving(config: setup.config, options: .init(listenAddress: .init(host: "127.0.0.1", port: 0)),
                                                  logger: log.logger, time: setup.time)
            setup.daemons.add(daemon)
            try await Self.run(setup, daemon, triggering: [MappingKey(tenant: "t-a", mapping: "M1"), MappingKey(tenant: "t-b", mapping: "M1")],
                               for: .seconds(1800))
            let schedule = BatchLookupSchedule(interval: .seconds(60), maximum: .seconds(300), giveUpAfter: .seconds(1200))
            let metrics = try await setup.metrics(daemon)
            for (tenant, code) in [("t-a", "403"), ("t-b", "404")] {
                let failing = log.all.filter { $0.contains("Experience Platform batch lookups fail") && $0.contains(tenant) }
                #expect(failing.count == 1, "\(tenant): \(failing)")
                let sent = metrics["acs_ingestion_api_requests_total{tenant=\"\(tenant)\",operation=\"batch\",code=\"\(code)\"}"] ?? 0
                #expect(sent >= 2 && sent <= Double(schedule.maxLookups), "\(tenant): \(sent) lookups, at most \(schedule.maxLookups)")
                #expect(metrics[series("acs_ingestion_aep_batches_total", tenant, "M1", "status=\"unknown\"")] == 1)
                #expect(metrics[series("acs_ingestion_aep_batches_in_progress", tenant, "M1")] == 0)
                #expect(metrics[series("acs_ingestion_aep_batch_records_total", tenant, "M1", "outcome=\"input\"")] == 0)
                // Campaign's own API stays up: the Catalog's refusals are not its failures.
                #expect(metrics["acs_ingestion_up{tenant=\"\(tenant)\"}"] == 1)
            }
            #expect(schedule.maxLookups == 6)
            let stored = try await daemon.collector.store.batches(ofRequests: try await daemon.collector.store.history(HistoryQuery()).map(\.rowID))
            #expect(stored.values.contains { $0.lastError?.contains("HTTP 403") == true })
            #expect(stored.values.contains { $0.lastError?.contains("HTTP 404: the Catalog does not know this batch in sandbox dev") == true })
        }
    }

    @Test func catalogRefusalsAndThrottlingAreHandledAsForCampaignCalls() async throws {
        let setup = try Self.setup()
        try await stopping(setup) { setup throws in
            Self.processing(setup, .zero)
            setup.simulator.setNextBatchFates(tenant: "t-a", mapping: "M1", [.partial])
            // The first lookup: a 401 (the token is renewed and the lookup sent again), then a
            // 429 that pauses the tenant's calls, then two 500s retried within the next lookup.
            setup.simulator.inject(.unauthorized, on: .batch)
            setup.simulator.inject(.throttled(retryAfter: "45"), on: .batch, times: 4)
            setup.simulator.inject(.serverError, on: .batch, times: 2)
            let daemon = try await setup.daemon()
            try await Self.run(setup, daemon, triggering: [MappingKey(tenant: "t-a", mapping: "M1")], for: .seconds(1800))
            let metrics = try await setup.metrics(daemon)
            let batch = try #require(setup.simulator.batches().first)
            for code in ["401", "429", "500", "200"] {
                #expect((metrics["acs_ingestion_api_requests_total{tenant=\"t-a\",operation=\"batch\",code=\"\(code)\"}"] ?? 0) >= 1, "\(code)")
            }
            #expect(setup.simulator.batchLookups()[batch.id] == 1)
            #expect(metrics[series("acs_ingestion_aep_batches_total", "t-a", "M1", "status=\"success\"")] == 1)
            #expect(metrics[series("acs_ingestion_aep_batch_records_total", "t-a", "M1", "outcome=\"failed\"")] == Double(batch.failed))
            #expect(setup.simulator.issuedTokens().count >= 2, "the 401 renewed the token")
        }
    }

    /// A Catalog that fails (503) opens the breaker of its own lookups, one attempt each, said
    /// on one line: Campaign's calls go on meanwhile (a 10-minute request is polled to its end, the
    /// tenant is never down, nothing holds its calls), and the batches are counted once the Catalog
    /// answers again; every lookup sent is counted as one, none that the breaker held.
    @Test func aFailingCatalogHoldsItsOwnLookupsAndNeverCampaignsCalls() async throws {
        let setup = try Self.setup()
        try await stopping(setup) { setup throws in
            Self.processing(setup, .zero)
            setup.simulator.setNextOutcomes(tenant: "t-a", mapping: "M3", [.success])
            setup.simulator.setMapping(tenant: "t-a", mapping: "M3", duration: .seconds(600) ... .seconds(600))
            setup.simulator.inject(.unavailable, on: .batch, times: 6)
            let log = LogCapture()
            let daemon = try await ExporterDaemon.serving(config: setup.config, options: .init(listenAddress: .init(host: "127.0.0.1", port: 0)),
                                                  logger: log.logger, time: setup.time)
            setup.daemons.add(daemon)
            try await Self.run(setup, daemon, triggering: Self.keys("t-a"), for: .seconds(3600))
            let metrics = try await setup.metrics(daemon)
            #expect(metrics["acs_ingestion_api_requests_total{tenant=\"t-a\",operation=\"batch\",code=\"503\"}"] == 6)
            #expect(metrics["acs_ingestion_up{tenant=\"t-a\"}"] == 1)
            #expect(!log.all.contains { $0.contains("cannot be used") || $0.contains("calls held") }, "Campaign's API was never down")
            #expect(log.all.filter { $0.contains("Experience Platform batch lookups fail") }.count == 1)
            #expect(log.all.filter { $0.contains("Experience Platform answers batch lookups again") }.count == 1)
            #expect(metrics[series("acs_ingestion_requests_total", "t-a", "M3", "status=\"success\"")] == 1)
            #expect((setup.simulator.statusCalls(tenant: "t-a").values.max() ?? 0) >= 10, "the 10-minute request was polled throughout")
            for mapping in ["M1", "M2"] {
                #expect(metrics[series("acs_ingestion_requests_total", "t-a", mapping, "status=\"failed\"")] == 1, "\(mapping)")
                let ended = ["success", "failed"].compactMap { metrics[series("acs_ingestion_aep_batches_total", "t-a", mapping, "status=\"\($0)\"")] }
                #expect(ended.reduce(0, +) == 1, "\(mapping): \(ended)")
            }
            let stored = try await daemon.collector.store.batches(ofRequests: try await daemon.collector.store.history(HistoryQuery()).map(\.rowID))
            let lookups = stored.values.map(\.lookups).reduce(0, +)
            let answered = setup.simulator.batchLookups().values.reduce(0, +)
            #expect(answered == 2 && lookups == answered + 6, "\(lookups) lookups stored, \(answered) answered, 6 503s")
        }
    }

    /// A batch still followed when its tenant's `aep` block is removed ends as `unknown` at the
    /// tenant's next cycle (counted once), instead of staying in progress and keeping its request
    /// from retention; one of a tenant no longer configured at all, once left alone for a day (a
    /// replica with a newer configuration may still follow it).
    @Test func removingTheAEPBlockOrTheTenantEndsTheBatchesItFollowed() async throws {
        var setup = try Self.setup()
        try await stopping(setup) { _ throws in
            Self.processing(setup, .seconds(3600))
            let first = try await setup.daemon()
            try await Self.run(setup, first, triggering: [MappingKey(tenant: "t-a", mapping: "M1"), MappingKey(tenant: "t-b", mapping: "M1")],
                               for: .seconds(300))
            #expect(try await first.collector.store.openBatches(tenant: nil).count == 2)
            await first.stop()

            setup.config.tenants[0].client.platform = nil
            setup.config.tenants.removeLast()
            let second = try await setup.daemon()
            try await Self.run(setup, second, triggering: [], for: .seconds(60))
            #expect(try await second.collector.store.openBatches(tenant: nil).map(\.key.tenant) == ["t-b"])
            setup.time.advance(by: .seconds(86_400 + 3600))
            await second.collector.applyRetention()
            #expect(try await second.collector.store.openBatches(tenant: nil).isEmpty)
            let metrics = try await setup.metrics(second)
            #expect(metrics[series("acs_ingestion_aep_batches_total", "t-a", "M1", "status=\"unknown\"")] == 1)
            #expect(metrics[series("acs_ingestion_aep_batches_in_progress", "t-a", "M1")] == 0)
            #expect(metrics[series("acs_ingestion_aep_batches_total", "t-a", "M2", "status=\"unknown\"")] == nil, "no block: no series")
        }
    }
}
