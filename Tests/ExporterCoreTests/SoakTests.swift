import AdobeIngestionClient
import AdobeSimulator
import ExporterConfiguration
import ExporterCore
import Foundation
import HTTPServer
import IngestionModel
import IngestionStore
import Synchronization
import Testing
import TestSupport
@testable import IngestionCollector

/// What only time shows: ten tenants of five mappings on 3-second schedules, on the real
/// clock, against a simulator that meets 16 % of the ingestion calls with a fault (429
/// with Retry-After 1, 500, 503, a time-out, a truncated body, an HTML page). No
/// tenant's last poll may age past `SoakTests.pollAgeBound`, no worker may be taken for
/// stalled, and once the schedules are removed and every request (and every batch followed
/// in the simulated Experience Platform, whose lookups meet the same faults) has ended the
/// counters are exactly what the simulator did.
///
/// `ACS_SOAK_SECONDS` sets how long the faults run (default 45 s, `make test`;
/// `make soak` runs 300 s). Runs on its own (`--filter SoakTests`): its bound is on the
/// real clock.
@Suite("Soak: many tenants, mixed upstream faults", .serialized)
struct SoakTests {
    static let tenants = (0..<10).map { String(format: "soak-%02d", $0) }
    static let mappings = (1...5).map { "M\($0)" }
    static var seconds: Int { ProcessInfo.processInfo.environment["ACS_SOAK_SECONDS"].flatMap(Int.init) ?? 45 }

    /// The oldest a tenant's last completed poll may be (real seconds). A cycle triggers the
    /// due mappings one after another, then polls; one call takes at most 4 attempts of
    /// 2 s (the request time-out) with back-offs of up to 1, 2 and 4 s between them; a
    /// cycle meets a fault on most calls only by bad luck. Half a minute is far past a
    /// healthy cycle (about a second) and far short of a stall (for good).
    static let pollAgeBound: TimeInterval = 30

    struct Setup: AsyncStoppable {
        let simulator: AdobeSimulator
        let directory: TemporaryDirectory
        var config: ExporterConfig
        let daemons = Registry<ExporterDaemon>()

        init() throws {
            var scenario = Scenario(tenants: SoakTests.tenants.enumerated().map { index, name in
                var tenant = Scenario.Tenant(name: name, mappings: SoakTests.mappings.map { id in
                    var mapping = Scenario.Mapping(id: id)
                    mapping.duration = .seconds(1) ... .seconds(4)
                    mapping.records = 10...500
                    mapping.outcomes = [.success: 80, .failedToFetch: 8, .failedToUpload: 7, .aborted: 5]
                    mapping.batchProcessing = .zero ... .seconds(3)
                    return mapping
                })
                tenant.firstRequestID = 10_000 * (index + 1)
                return tenant
            })
            scenario.seed = 25
            scenario.credentials = [.init(clientID: "soak-client", clientSecret: "soak-secret")]
            scenario.faults.throttle = 0.04
            scenario.faults.retryAfter = .seconds(1)
            scenario.faults.serverError = 0.03
            scenario.faults.unavailable = 0.03
            scenario.faults.slow = 0.02
            scenario.faults.slowDelay = .seconds(3)
            scenario.faults.truncated = 0.03
            scenario.faults.notJSON = 0.01
            let simulator = try AdobeSimulator(scenario: scenario)
            let directory = try TemporaryDirectory()
            var config = ExporterConfig(tenants: SoakTests.tenants.map { name in
                var tenant = ExporterConfig.Tenant(name: name, clientID: "soak-client", clientSecret: Secret("soak-secret"),
                                                   mappings: SoakTests.mappings.map { .init(id: $0, name: $0, triggerEvery: .seconds(3)) })
                tenant.apiURL = simulator.baseURL
                tenant.imsTokenURL = simulator.tokenURL
                var platform = PlatformSettings()
                (platform.orgID, platform.url) = (Scenario.Tenant(name: name, mappings: []).orgID, simulator.baseURL)
                (platform.lookupInterval, platform.lookupIntervalMax) = (.seconds(1), .seconds(2))
                tenant.client.platform = platform
                return tenant
            })
            config.collector.pollInterval = .seconds(1)
            config.collector.requestTimeout = .seconds(2)
            config.collector.maxRequestsPerSecond = 50
            config.collector.maxConcurrentRequests = 8
            config.collector.triggerJitter = .zero
            config.storage.path = directory.path("store.sqlite")
            (self.simulator, self.directory, self.config) = (simulator, directory, config)
        }

        func stop() async {
            for daemon in daemons.all { await daemon.stop() }
            await simulator.stop()
            directory.cleanUp()
        }
    }

    @Test func tenTenantsUnderMixedFaultsKeepPollingAndCountExactly() async throws {
        try await stopping(try Setup()) { setup throws in
            let daemon = try await ExporterDaemon.serving(config: setup.config,
                                                  options: .init(listenAddress: ListenAddress(host: "127.0.0.1", port: 0)),
                                                  logger: silentLogger)
            setup.daemons.add(daemon)
            let loop = Task { await daemon.collector.run() }
            defer { loop.cancel() }
            let started = Date()
            var oldest: [String: TimeInterval] = [:]
            var stallsSeen = 0
            // Sampled once a second of the real clock for the whole run: how old each tenant's
            // last poll is, and whether any worker is taken for stalled.
            _ = try await throughout(.seconds(Self.seconds), every: .seconds(1)) {
                let metrics = try await Self.scrape(daemon)
                let now = Date().timeIntervalSince1970
                for tenant in Self.tenants {
                    let last = metrics["acs_ingestion_last_poll_timestamp_seconds{tenant=\"\(tenant)\"}"] ?? 0
                    // Before the first cycle ends, age counts from the start.
                    let age = now - max(last, started.timeIntervalSince1970)
                    oldest[tenant] = max(oldest[tenant] ?? 0, age)
                    if metrics["acs_ingestion_collector_stalled{tenant=\"\(tenant)\"}"] == 1 { stallsSeen += 1 }
                }
                return true
            }
            let calls = setup.simulator.callCount(.any)
            // No more triggers; every request followed to its end (faults go on meanwhile).
            var drained = setup.config
            for index in drained.tenants.indices {
                drained.tenants[index].mappings = Self.mappings.map { .init(id: $0, name: $0, triggerEvery: nil) }
            }
            _ = try await daemon.collector.apply(drained)
            try await eventually("every tracked request and followed batch ended", timeout: .seconds(120)) {
                let store = daemon.collector.store
                guard try await store.openRequests(tenant: nil).isEmpty else { return false }
                return try await store.openBatches(tenant: nil).isEmpty
            }
            loop.cancel()
            await loop.value
            daemon.web.publisher.refresh()
            let metrics = try await Self.scrape(daemon)
            let worst = oldest.max { $0.value < $1.value }
            print("soak: \(Self.seconds) s, \(calls) calls to the simulator, \(setup.simulator.requests().count) ingestions; "
                  + "oldest last poll \(String(format: "%.1f", worst?.value ?? 0)) s (\(worst?.key ?? "-")), bound \(Int(Self.pollAgeBound)) s")
            #expect(stallsSeen == 0, "a worker was taken for stalled \(stallsSeen) times")
            for (tenant, age) in oldest.sorted(by: { $0.key < $1.key }) {
                #expect(age <= Self.pollAgeBound, "\(tenant)'s last poll was \(age) s old")
            }
            try await Self.expectExactCounters(metrics, store: daemon.collector.store, simulator: setup.simulator)
        }
    }

    static func scrape(_ daemon: ExporterDaemon) async throws -> Exposition {
        daemon.web.publisher.refresh()
        return try await ExporterCoreTests.scrape(daemon.port)
    }

    /// Every request the exporter followed ended as the simulator says, each counted once;
    /// those it never learned of were started by a POST whose answer was lost (cut short,
    /// or later than the time-out) and had ended before a later POST could adopt them.
    static func expectExactCounters(_ metrics: Exposition, store: any IngestionStore, simulator: AdobeSimulator) async throws {
        var query = HistoryQuery()
        query.limit = 1_000_000
        let followed = try await store.history(query)
        let truth = simulator.requests()
        let unanswered = Set(simulator.requestsStartedUnanswered().map { "\($0.tenant)/\($0.requestID)" })
        var lost = 0
        for tenant in tenants {
            for mapping in mappings {
                let key = MappingKey(tenant: tenant, mapping: mapping)
                let made = Dictionary(uniqueKeysWithValues: truth.filter { $0.tenant == tenant && $0.mapping == mapping }
                    .map { (String($0.requestID), $0) })
                let mine = followed.filter { $0.key == key }
                for request in mine {
                    guard let real = made[request.requestID.rawValue] else {
                        Issue.record("\(key) followed request \(request.requestID), which Adobe never made")
                        continue
                    }
                    #expect(request.status == real.status(at: .distantFuture), "\(key) \(request.requestID)")
                    #expect(request.numRecords == real.records, "\(key) \(request.requestID)")
                }
                for status in FinalStatus.allCases {
                    let expected = Double(mine.filter { $0.status.name == status.label }.count)
                    #expect(metrics[series("acs_ingestion_requests_total", tenant, mapping, "status=\"\(status.label)\"")] == expected,
                            "\(key) \(status.label)")
                }
                let records = Double(mine.filter { $0.status == .success }.map(\.numRecords).reduce(0, +))
                #expect(metrics[series("acs_ingestion_records_ingested_total", tenant, mapping)] == records, "\(key)")
                expectExactAEPCounters(metrics, key, followed: mine, batches: simulator.batches())
                let known = Set(mine.map(\.requestID.rawValue))
                for id in made.keys where !known.contains(id) {
                    lost += 1
                    #expect(unanswered.contains("\(tenant)/\(id)"), "\(key): request \(id) never learned of, yet its POST was answered")
                }
            }
        }
        let batches = followed.filter { $0.batchID?.isEmpty == false }.count
        print("soak: \(followed.count) requests followed and counted exactly, \(batches) batches followed in AEP; "
              + "\(lost) started by a POST whose answer was lost")
        #expect(followed.count > 100 && batches > 0)
    }

    /// Every batch of a followed request ended as the simulated Catalog says, counted once:
    /// by final status, records by outcome, and one per error code.
    static func expectExactAEPCounters(_ metrics: Exposition, _ key: MappingKey, followed: [TrackedRequest], batches: [SimulatedBatch]) {
        let truth = Dictionary(uniqueKeysWithValues: batches.map { ($0.id, $0) })
        let mine = followed.compactMap { request in request.batchID.flatMap { truth[$0] } }
        #expect(mine.count == followed.filter { $0.batchID?.isEmpty == false }.count, "\(key): a followed batch the Catalog never had")
        func sample(_ name: String, _ extra: String) -> Double { metrics[series(name, key.tenant, key.mapping, extra)] ?? 0 }
        for status in ["success", "failed", "unknown"] {
            #expect(sample("acs_ingestion_aep_batches_total", "status=\"\(status)\"") == Double(mine.filter { $0.finalStatus == status }.count),
                    "\(key) \(status)")
        }
        for (outcome, count) in [("input", \SimulatedBatch.input), ("ingested", \.ingested), ("failed", \.failed)] {
            #expect(sample("acs_ingestion_aep_batch_records_total", "outcome=\"\(outcome)\"") == Double(mine.map { $0[keyPath: count] }.reduce(0, +)),
                    "\(key) \(outcome)")
        }
        let codes = Set(mine.flatMap { $0.errors.map(\.code) })
        let prefix = "acs_ingestion_aep_batch_errors_total{tenant=\"\(key.tenant)\",mapping=\"\(key.mapping)\",code="
        #expect(Set(metrics.samples.keys.filter { $0.hasPrefix(prefix) }.map { String($0.dropFirst(prefix.count + 1).dropLast(2)) })
                    == codes.union(AEPTotals.presetCodes), "\(key): the code series are the codes the batches reported and the preset ones")
        for code in codes.union(AEPTotals.presetCodes) {
            #expect(sample("acs_ingestion_aep_batch_errors_total", "code=\"\(code)\"") == Double(mine.filter { $0.errors.contains { $0.code == code } }.count),
                    "\(key) \(code)")
        }
        #expect(sample("acs_ingestion_aep_batches_in_progress", "") == 0, "\(key)")
    }
}
