import AdobeIngestionClient
import AdobeSimulator
import ExporterCore
import Foundation
import HTTPServer
import IngestionModel
import Logging
import Testing
import TestSupport
@testable import IngestionCollector

/// A tenant's collector never stops for good, and a stall cannot be silent: the real
/// collector loop on the injected clock against the simulator.
@Suite("Collector stalls")
struct CollectorStallTests {
    /// The stall of issue 25, as the soak found it: a 429 (Retry-After 1), then the probe
    /// sent after the pause meets a 503. Before the fix the probe's failure left the
    /// guard "probing" with no probe out: every later call of the tenant parked for good,
    /// its open request was never polled again and never ended.
    @Test func a429ThenA503OnTheProbeLeavesTheTenantPolled() async throws {
        let setup = try SchedulerTests.Setup(scheduled: false) {
            // Polled every 5 s whatever its age (the adaptive schedule is not what this test is about).
            ($0.collector.pollInterval, $0.collector.pollIntervalMax) = (.seconds(5), .seconds(5))
        }
        try await stopping(setup) { setup throws in
            let daemon = try await setup.daemon()
            let key = MappingKey(tenant: "t-a", mapping: "M1")
            guard case .success = await daemon.collector.trigger(key) else {
                Issue.record("the trigger failed")
                return
            }
            let start = setup.time.now()
            setup.simulator.inject(.throttled(retryAfter: "1"), on: .status)
            setup.simulator.inject(.serverError, on: .status)
            let loop = Task { await daemon.collector.run() }
            // Six minutes of the clock: the request lasts five.
            try await setup.time.run(for: .seconds(360))
            loop.cancel()
            await loop.value
            let calls = setup.simulator.calls(tenant: "t-a").filter { $0 >= start }
            let metrics = try await setup.metrics(daemon)
            #expect(metrics[series("acs_ingestion_requests_total", "t-a", "M1", "status=\"success\"")] == 1,
                    "the request was not followed to its end: \(calls.count) calls after the trigger")
            #expect(calls.contains { $0 >= start.addingTimeInterval(300) }, "no poll after the request's end")
            // Polled each 5 s (about 60 calls; fewer when the machine is slow, as the clock moves
            // on while a cycle runs), plus the 429's and the 503's retries: no burst, no silence.
            #expect((30...70).contains(calls.count), "\(calls.count) calls in 300 s")
        }
    }

    /// A worker wedged on purpose (the test takes the probe after a pause and never ends
    /// it: the tenant's calls park behind it) is seen stalled past its deadline: up 0,
    /// the stall metric, one log line saying what it waits for, and /-/ready's reason;
    /// all of it clears once the worker goes on.
    @Test func aWedgedWorkerIsSeenStalledAndRecovers() async throws {
        let setup = try SchedulerTests.Setup(scheduled: false) {
            $0.collector.pollInterval = .seconds(5)
            $0.collector.requestTimeout = .seconds(5)
        }
        try await stopping(setup) { setup throws in
            let logs = LogCapture()
            let daemon = try await ExporterDaemon.serving(config: setup.config,
                                                  options: .init(listenAddress: ListenAddress(host: "127.0.0.1", port: 0)),
                                                  logger: logs.logger, time: setup.time)
            setup.daemons.add(daemon)
            for tenant in ["t-a", "t-b"] {
                guard case .success = await daemon.collector.trigger(MappingKey(tenant: tenant, mapping: "M1")) else {
                    Issue.record("the trigger of \(tenant) failed")
                    return
                }
            }
            let start = setup.time.now()
            let loop = Task { await daemon.collector.run() }
            defer { loop.cancel() }
            // The first cycle runs at once, the clock standing still.
            try await eventually("t-a's first poll cycle") {
                try await setup.metrics(daemon)["acs_ingestion_last_poll_timestamp_seconds{tenant=\"t-a\"}"]
                    == start.timeIntervalSince1970
            }
            // Wedge t-a between two cycles: a 429, then the probe after it, taken and kept here.
            let upstream = try #require(daemon.collector.worker("t-a")).upstream
            upstream.finish(try await upstream.admit(), .throttled(retryAfter: .seconds(1)))
            setup.time.advance(by: .seconds(1))
            let probe = try await upstream.admit()
            #expect(probe == .probe(1))
            // The deadline: the pause's end (or, later, the worst wait for a slot the last poll
            // announced: one time-out), plus three poll intervals and a request's time-out.
            let deadline = start.addingTimeInterval(1 + 3 * 5 + 5)
            var stalledAt: Date?
            try await setup.time.run(for: .seconds(60)) {
                guard daemon.readiness.notReadyReason != nil else { return false }
                stalledAt = setup.time.now()
                return true
            }
            let seen = try #require(stalledAt, "no stall seen within 60 s of the clock")
            #expect(seen > deadline, "stalled at \(seen), before the deadline \(deadline)")
            #expect(seen <= deadline.addingTimeInterval(15), "stalled at \(seen), long after the deadline \(deadline)")
            var metrics = try await setup.metrics(daemon)
            #expect(metrics["acs_ingestion_collector_stalled{tenant=\"t-a\"}"] == 1)
            #expect(metrics["acs_ingestion_up{tenant=\"t-a\"}"] == 0)
            #expect(metrics["acs_ingestion_collector_stalled{tenant=\"t-b\"}"] == 0)
            #expect(metrics["acs_ingestion_up{tenant=\"t-b\"}"] == 1)
            let ready = try await http("http://127.0.0.1:\(daemon.port)/-/ready")
            #expect(ready.status == 503)
            #expect(ready.text.contains("tenant t-a stalled: waiting for the status of 1 of 1 open requests (no progress since "),
                    "\(ready.text)")
            // Said once, with what the worker waits for, however long it lasts.
            try await setup.time.run(for: .seconds(60))
            let said = logs.all.filter { $0.contains("tenant's collector stalled") }
            #expect(said.count == 1, "\(said)")
            #expect(said.first?.contains("the status of 1 of 1 open requests") == true, "\(said)")
            #expect(said.first?.contains("probe 1 out after a pause") == true, "\(said)")
            #expect(said.first?.contains("t-a") == true)

            // The probe is answered: the parked calls go, the worker completes cycles again.
            upstream.finish(probe, .answered)
            try await setup.time.run(for: .seconds(60)) { daemon.readiness.notReadyReason == nil }
            #expect(daemon.readiness.notReadyReason == nil)
            try await eventually("t-a up again") {
                try await setup.metrics(daemon)["acs_ingestion_up{tenant=\"t-a\"}"] == 1
            }
            metrics = try await setup.metrics(daemon)
            #expect(metrics["acs_ingestion_collector_stalled{tenant=\"t-a\"}"] == 0)
            #expect(logs.all.contains { $0.contains("tenant's collector completes cycles again") })
            loop.cancel()
            await loop.value
        }
    }
}
