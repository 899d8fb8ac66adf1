import AdobeIngestionClient
import AdobeSimulator
import ExporterConfiguration
import ExporterCore
import Foundation
import IngestionModel
import IngestionStore
import SQLiteStore
import TestSupport
import Testing

/// The poll schedule and the call budget end to end: the real collector loop against
/// the simulator over HTTP, on an injected clock moved a second at a time once the code
/// has settled (`ManualTimeSource.runSettled`): a delay is measured to the second.
@Suite("Adaptive polling and the call budget (simulator over HTTP)", .serialized)
struct AdaptivePollingTests {
    /// What the clock's one-second steps may add to a detection delay.
    static let slack: TimeInterval = 1
    static let start = ManualTimeSource.start

    /// Every request the store knows of `tenant`, by request id.
    static func stored(_ store: any IngestionStore, tenant: String) async throws -> [Int: TrackedRequest] {
        var query = HistoryQuery()
        (query.tenant, query.limit) = (tenant, 1000)
        return Dictionary(uniqueKeysWithValues: try await store.history(query).compactMap { request in
            Int(request.requestID.rawValue).map { ($0, request) }
        })
    }

    /// t-a: M1 runs 1 h, M2 6 h, M3 2 min every 5 min. t-b: M1 runs 1 h after ten runs of
    /// 55 to 65 min (stored before the start). poll_interval 30 s, poll_interval_max 5 min.
    @Test func callsAndDetectionDelayAgainstTheSimulator() async throws {
        let setup = try SchedulerTests.Setup(scheduled: false) { config in
            (config.collector.pollInterval, config.collector.pollIntervalMax) = (.seconds(30), .seconds(300))
            config.tenants[0].mappings[2] = ExporterConfig.Mapping(id: "M3", name: "M3", triggerEvery: .seconds(300))
        }
        try await stopping(setup) { setup throws in
            let hour = Duration.seconds(3600)
            setup.simulator.setMapping(tenant: "t-a", mapping: "M1", duration: hour ... hour)
            setup.simulator.setMapping(tenant: "t-a", mapping: "M2", duration: hour * 6 ... hour * 6)
            setup.simulator.setMapping(tenant: "t-a", mapping: "M3", duration: .seconds(120) ... .seconds(120))
            setup.simulator.setMapping(tenant: "t-b", mapping: "M1", duration: hour ... hour)
            // Ten earlier runs of t-b/M1, 55 to 65 min, ended before the start.
            let seeded = try SQLiteIngestionStore(path: setup.config.storage.path, durationBounds: [30, 60])
            try await seeded.importHistory((0..<10).map { run in
                let began = Self.start.addingTimeInterval(Double(-86_400 + run * 7200))
                var request = TrackedRequest(rowID: 0, key: MappingKey(tenant: "t-b", mapping: "M1"), requestID: RequestID(900_000 + run),
                                             origin: .triggered, firstSeen: began, status: .success)
                request.finishedAt = began.addingTimeInterval(Double(55 * 60 + run * 60 + (run == 9 ? 60 : 0)))
                return request
            })
            await seeded.close()

            let daemon = try await ExporterDaemon.serving(config: setup.config, options: .init(listenAddress: .init(host: "127.0.0.1", port: 0)),
                                                  logger: LogCapture().logger, time: setup.time)
            for key in [("t-a", "M1"), ("t-a", "M2"), ("t-b", "M1")].map({ MappingKey(tenant: $0.0, mapping: $0.1) }) {
                _ = await daemon.collector.trigger(key)
            }
            let loop = Task { await daemon.collector.run() }
            try await setup.time.runSettled(for: hour * 6 + .seconds(420))
            loop.cancel()
            await loop.value

            var seen: [String: (calls: Int, delay: TimeInterval)] = [:]
            var twoMinuteDelays: [TimeInterval] = []
            for tenant in ["t-a", "t-b"] {
                let simulated = Dictionary(uniqueKeysWithValues: setup.simulator.requests().filter { $0.tenant == tenant }.map { ($0.requestID, $0) })
                let calls = setup.simulator.statusCalls(tenant: tenant)
                for (id, request) in try await Self.stored(daemon.collector.store, tenant: tenant) where id < 900_000 {
                    let truth = try #require(simulated[id])
                    guard let finishedAt = request.finishedAt else {
                        #expect(truth.finishesAt > setup.time.now().addingTimeInterval(-300), "request \(id) ended long ago and was not seen")
                        continue
                    }
                    let delay = finishedAt.timeIntervalSince(truth.finishesAt)
                    if request.key.mapping == "M3" { twoMinuteDelays.append(delay) } else {
                        seen["\(tenant)/\(request.key.mapping)"] = (calls[id] ?? 0, delay)
                    }
                }
            }
            let fixedHour = Int(hour / .seconds(30)) + 1, fixedSixHours = Int(hour * 6 / .seconds(30)) + 1
            for (name, figures) in seen.sorted(by: { $0.key < $1.key }) {
                print("adaptive polling: \(name): \(figures.calls) status calls, end seen \(Int(figures.delay.rounded())) s late")
            }
            print("adaptive polling: \(twoMinuteDelays.count) 2-min runs, seen at most \(Int((twoMinuteDelays.max() ?? 0).rounded())) s late; "
                  + "fixed 30 s polling: \(fixedHour) calls for 1 h, \(fixedSixHours) for 6 h")
            let hourRun = try #require(seen["t-a/M1"]), sixHours = try #require(seen["t-a/M2"]), withHistory = try #require(seen["t-b/M1"])
            #expect(hourRun.calls <= 55 && hourRun.delay <= 360 + Self.slack, "1 h: \(hourRun)")
            #expect(sixHours.calls <= 115, "6 h: \(sixHours)")
            #expect(twoMinuteDelays.count >= 60 && twoMinuteDelays.allSatisfy { $0 <= 30 + Self.slack }, "\(twoMinuteDelays)")
            #expect(withHistory.delay <= 30 + Self.slack, "with history: \(withHistory)")
            #expect(withHistory.calls <= hourRun.calls + 20, "with history \(withHistory.calls) calls, by age alone \(hourRun.calls)")

            // The histogram counts exactly the status calls the simulator answered for the ended requests.
            let metrics = try await setup.metrics(daemon)
            for tenant in ["t-a", "t-b"] {
                let calls = setup.simulator.statusCalls(tenant: tenant)
                let ended = try await Self.stored(daemon.collector.store, tenant: tenant).filter { $0.key < 900_000 && $0.value.finishedAt != nil }
                for mapping in Set(ended.values.map(\.key.mapping)) {
                    let spent = ended.filter { $0.value.key.mapping == mapping }.keys.map { calls[$0] ?? 0 }.reduce(0, +)
                    #expect(metrics[series("acs_ingestion_status_calls_per_request_sum", tenant, mapping)] == Double(spent),
                            "\(tenant)/\(mapping): the simulator answered \(spent) status calls for its ended requests")
                }
            }
            await daemon.stop()
        }
    }

    /// 100 requests open together under `max_calls_per_hour: 600`, each running 20 to 80
    /// min: no hour holds more than 600 calls at the simulator, every request is polled and
    /// followed to its end, and the counters equal the simulator's ground truth.
    @Test func aHundredOpenRequestsUnderABudgetOf600CallsAnHour() async throws {
        let mappings = (1...100).map { String(format: "B%03d", $0) }
        let setup = try SchedulerTests.Setup(scheduled: false, mappings: mappings) { config in
            config.tenants.removeAll { $0.name == "t-b" }
            config.tenants[0].maxCallsPerHour = 600
        }
        try await stopping(setup) { setup throws in
            let (time, simulator) = (setup.time, setup.simulator)
            for mapping in mappings { simulator.setMapping(tenant: "t-a", mapping: mapping, duration: .seconds(1200) ... .seconds(4800)) }
            let daemon = try await ExporterDaemon.serving(config: setup.config, options: .init(listenAddress: .init(host: "127.0.0.1", port: 0)),
                                                  logger: LogCapture().logger, time: time)
            let triggers = Task {
                for mapping in mappings { _ = await daemon.collector.trigger(MappingKey(tenant: "t-a", mapping: mapping)) }
            }
            let loop = Task { await daemon.collector.run() }
            let hours = 3.0
            try await time.runSettled(for: .seconds(hours * 3600))
            await triggers.value
            loop.cancel()
            await loop.value

            let instants = simulator.calls(tenant: "t-a").sorted()
            let tokens = simulator.callCount(.token)
            let busiest = instants.indices.map { index in instants[index...].prefix { $0.timeIntervalSince(instants[index]) < 3600 }.count }.max() ?? 0
            let requests = simulator.requests()
            let polled = simulator.statusCalls(tenant: "t-a")
            print("budget 600/h, 100 open requests: \(instants.count) ingestion calls and \(tokens) token call(s) in \(Int(hours)) h, "
                  + "at most \(busiest) in any hour; status calls per request \(polled.values.min() ?? 0)...\(polled.values.max() ?? 0)")
            #expect(requests.count == 100)
            #expect(busiest + tokens <= 600, "\(busiest) ingestion calls and \(tokens) token calls in one hour")
            #expect(requests.allSatisfy { (polled[$0.requestID] ?? 0) >= 1 }, "a request was never polled")
            daemon.web.publisher.refresh()
            let metrics = try await scrape(daemon.port)
            let now = time.now()
            for request in requests {
                #expect(request.status(at: now).isTerminal)
                let success = request.outcome == .success ? 1.0 : 0
                #expect(metrics[series("acs_ingestion_requests_total", "t-a", request.mapping, "status=\"success\"")] == success,
                        "\(request.mapping)")
                #expect(metrics[series("acs_ingestion_requests_in_progress", "t-a", request.mapping)] == 0, "\(request.mapping)")
            }
            #expect(metrics["acs_ingestion_api_budget_calls_per_hour{tenant=\"t-a\"}"] == 600)
            #expect((metrics["acs_ingestion_api_budget_waits_total{tenant=\"t-a\",operation=\"status\"}"] ?? 0) > 0)
            await daemon.stop()
        }
    }
}
