import AdobeIngestionClient
import AdobeSimulator
import ExporterConfiguration
import ExporterCore
import Foundation
import HTTPServer
import IngestionModel
import Synchronization
import TestSupport
import Testing

/// The scheduler and the upstream manners, against the simulator over HTTP, with one
/// injected clock for both sides: a failed trigger is retried within its back-off,
/// a 429 pauses one tenant and no other, a refused secret backs off, a request Adobe
/// does not know is given up on once.
@Suite("Scheduler and upstream manners", .serialized)
struct SchedulerTests {
    /// Tenants `t-a` and `t-b`, each with mappings M1…M3 (M1 scheduled every hour),
    /// requests lasting 5 min; the simulator accepts `secret` only.
    struct Setup: DaemonSetup {
        let time = ManualTimeSource()
        let simulator: AdobeSimulator
        let directory: TemporaryDirectory
        var config: ExporterConfig
        let daemons = Registry<ExporterDaemon>()

        /// With `scheduled`, M1 of each tenant triggers every hour.
        init(secret: String = "s", scheduled: Bool = true, mappings: [String] = ["M1", "M2", "M3"],
             configure: (inout ExporterConfig) -> Void = { _ in }) throws {
            var scenario = Scenario(tenants: ["t-a", "t-b"].map { name in
                Scenario.Tenant(name: name, mappings: mappings.map { id in
                    var mapping = Scenario.Mapping(id: id)
                    mapping.duration = .seconds(300) ... .seconds(300)
                    return mapping
                })
            })
            scenario.credentials = [.init(clientID: "c", clientSecret: "s")]
            let simulator = try AdobeSimulator(scenario: scenario, time: time)
            let directory = try TemporaryDirectory()
            var config = ExporterConfig(tenants: ["t-a", "t-b"].map { name in
                var tenant = ExporterConfig.Tenant(name: name, clientID: "c", clientSecret: Secret(secret), mappings: mappings.map {
                    ExporterConfig.Mapping(id: $0, name: $0, triggerEvery: scheduled && $0 == "M1" ? .seconds(3600) : nil)
                })
                tenant.apiURL = simulator.baseURL
                tenant.imsTokenURL = simulator.tokenURL
                return tenant
            })
            config.collector.maxRequestsPerSecond = 10_000
            config.collector.triggerJitter = .zero
            config.storage.path = directory.path("store.sqlite")
            configure(&config)
            (self.simulator, self.directory, self.config) = (simulator, directory, config)
        }

        /// Runs `work` while moving the clock on in small steps, until it returns: for
        /// work that sleeps on the injected clock (retries, back-off).
        func drive(step: Duration = .milliseconds(250), _ work: @escaping @Sendable () async -> Void) async {
            let done = Atomic<Bool>(false)
            let task = Task {
                await work()
                done.store(true, ordering: .releasing)
            }
            // The injected clock moves a step at a time, each step giving the work a moment to
            // react, until the work is done (or a minute of real time has passed).
            let deadline = ContinuousClock.now + .seconds(60)
            while !done.load(ordering: .acquiring) && ContinuousClock.now < deadline {
                time.advance(by: step)
                try? await Task.sleep(for: .milliseconds(2))
            }
            let ended = done.load(ordering: .acquiring)
            #expect(ended, "the work did not end within a minute")
            task.cancel()
            await task.value
        }
    }

    @Test func aFailedTriggerIsRetriedWithinItsBackOffNotAfterItsPeriod() async throws {
        try await stopping(try Setup()) { setup throws in
            let daemon = try await setup.daemon()
            let start = setup.time.now()
            // Three 503s: the client's attempts, until the tenant's breaker holds the fourth.
            setup.simulator.inject(.unavailable, on: .trigger, times: 3)
            await setup.drive { await daemon.collector.cycle(tenant: "t-a") }
            var metrics = try await setup.metrics(daemon)
            #expect(metrics[series("acs_ingestion_triggers_total", "t-a", "M1", "result=\"error\"")] == 1)
            let next = try #require(metrics[series("acs_ingestion_next_trigger_timestamp_seconds", "t-a", "M1")])
            // One minute of back-off after the failed attempt, not the hour of trigger_every.
            #expect(next > start.timeIntervalSince1970 + 55 && next < start.timeIntervalSince1970 + 120)
            #expect(metrics[series("acs_ingestion_trigger_failing_since_timestamp_seconds", "t-a", "M1")] ?? 0 > 0)

            setup.time.advance(by: .seconds(Int64(next - setup.time.now().timeIntervalSince1970) + 1))
            await setup.drive { await daemon.collector.cycle(tenant: "t-a") }
            metrics = try await setup.metrics(daemon)
            #expect(metrics[series("acs_ingestion_triggers_total", "t-a", "M1", "result=\"submitted\"")] == 1)
            #expect(metrics[series("acs_ingestion_trigger_failing_since_timestamp_seconds", "t-a", "M1")] == 0)
            #expect(setup.time.now().timeIntervalSince(start) < 180)
        }
    }

    @Test func notStoppedIsRetriedAndTheIngestionStartsOnceTheMappingStops() async throws {
        try await stopping(try Setup()) { setup throws in
            let daemon = try await setup.daemon()
            setup.simulator.setMapping(tenant: "t-a", mapping: "M1", stopped: false)
            await daemon.collector.cycle(tenant: "t-a")
            var metrics = try await setup.metrics(daemon)
            #expect(metrics[series("acs_ingestion_triggers_total", "t-a", "M1", "result=\"not_stopped\"")] == 1)
            setup.simulator.setMapping(tenant: "t-a", mapping: "M1", stopped: true)
            setup.time.advance(by: .seconds(30))
            await daemon.collector.cycle(tenant: "t-a")  // not due yet: the back-off is a minute
            setup.time.advance(by: .seconds(31))
            await daemon.collector.cycle(tenant: "t-a")
            metrics = try await setup.metrics(daemon)
            #expect(metrics[series("acs_ingestion_triggers_total", "t-a", "M1", "result=\"submitted\"")] == 1)
            #expect(metrics[series("acs_ingestion_requests_in_progress", "t-a", "M1")] == 1)
            #expect(setup.simulator.callCount(.trigger) == 2)
        }
    }

    @Test func a429PausesEveryCallOfThatTenantAndNoOther() async throws {
        try await stopping(try Setup(scheduled: false)) { setup throws in
            let daemon = try await setup.daemon()
            // Three requests open on each tenant.
            for tenant in ["t-a", "t-b"] {
                for mapping in ["M1", "M2", "M3"] { _ = await daemon.collector.trigger(MappingKey(tenant: tenant, mapping: mapping)) }
            }
            setup.simulator.throttle(tenant: "t-a", for: .seconds(30), retryAfter: .seconds(30))
            let pausedFrom = setup.time.now()
            let callsBefore = setup.simulator.calls(tenant: "t-a").count
            let throttled = Task { await daemon.collector.cycle(tenant: "t-a") }
            // The three polls go at once; the first 429 pauses the tenant (calls already on
            // their way land at the pause's first instant: the clock stands still meanwhile).
            #expect(await eventually {
                (try? await setup.metrics(daemon))?["acs_ingestion_api_backoff_until_timestamp_seconds{tenant=\"t-a\"}"]
                    == pausedFrom.timeIntervalSince1970 + 30
            })
            // Meanwhile the other tenant's cycle is not delayed.
            let clock = ContinuousClock()
            let started = clock.now
            await daemon.collector.cycle(tenant: "t-b")
            let latency = clock.now - started
            #expect(latency < .seconds(2), "t-b's cycle took \(latency) while t-a was paused")
            for _ in 0..<29 { setup.time.advance(by: .seconds(1)) }
            setup.time.advance(by: .seconds(2))
            await throttled.value
            let calls = setup.simulator.calls(tenant: "t-a").dropFirst(callsBefore)
            let resumeAt = pausedFrom.addingTimeInterval(30)
            #expect(calls.filter { $0 > pausedFrom && $0 < resumeAt }.isEmpty, "a call of t-a within its 30 s pause")
            #expect((1...3).contains(calls.filter { $0 == pausedFrom }.count))
            // After the pause: one probe, then the two others, each once (no burst of retries).
            #expect(calls.filter { $0 >= resumeAt }.count == 3)
            let metrics = try await setup.metrics(daemon)
            #expect(metrics["acs_ingestion_up{tenant=\"t-a\"}"] == 1, "throttling alone is not down")
            print("t-b's poll cycle while t-a was paused: \(latency)")
        }
    }

    @Test func aRefusedSecretBacksOffItsTokenRequests() async throws {
        try await stopping(try Setup(secret: "revoked")) { setup throws in
            let daemon = try await setup.daemon()
            let before = setup.simulator.callCount(.token)
            // Ten minutes of one-second poll cycles.
            for _ in 0..<600 {
                await daemon.collector.cycle(tenant: "t-b")
                setup.time.advance(by: .seconds(1))
            }
            // IMS asked at 0 s, then after 1, 2 and 4 minutes of back-off: 4 requests, not 600.
            #expect(setup.simulator.callCount(.token) - before == 4)
            let metrics = try await setup.metrics(daemon)
            #expect(metrics["acs_ingestion_up{tenant=\"t-b\"}"] == 0)
        }
    }

    @Test func aRequestAdobeDoesNotKnowIsAbandonedOnceAcrossARestart() async throws {
        let setup = try Setup(scheduled: false) { $0.collector.giveUpAfter = .seconds(3600) }
        try await stopping(setup) { setup throws in
            var daemon = try await setup.daemon()
            let key = MappingKey(tenant: "t-a", mapping: "M2")
            _ = try await daemon.collector.track(key, requestID: RequestID(999_999))
            await daemon.collector.cycle(tenant: "t-a")   // 404: noted
            setup.time.advance(by: .seconds(1800))
            await daemon.stop()
            daemon = try await setup.daemon()             // the 404's start is in the store
            await daemon.collector.cycle(tenant: "t-a")
            var metrics = try await setup.metrics(daemon)
            #expect(metrics[series("acs_ingestion_requests_in_progress", "t-a", "M2")] == 1)
            setup.time.advance(by: .seconds(1801))
            await daemon.collector.cycle(tenant: "t-a")   // an hour of 404s: abandoned
            metrics = try await setup.metrics(daemon)
            #expect(metrics[series("acs_ingestion_requests_total", "t-a", "M2", "status=\"abandoned\"")] == 1)
            #expect(metrics[series("acs_ingestion_requests_in_progress", "t-a", "M2")] == 0)
            let polls = setup.simulator.callCount(.status)
            await daemon.collector.cycle(tenant: "t-a")
            #expect(setup.simulator.callCount(.status) == polls, "an abandoned request is not polled")
            await daemon.stop()
            daemon = try await setup.daemon()
            metrics = try await setup.metrics(daemon)
            #expect(metrics[series("acs_ingestion_requests_total", "t-a", "M2", "status=\"abandoned\"")] == 1)
            #expect(metrics[series("acs_ingestion_failures_total", "t-a", "M2", "status=\"failed\",acp_code=\"none\"")] == 0)
        }
    }

    @Test func aRequestInProgressTooLongIsAbandoned() async throws {
        let setup = try Setup { $0.collector.maxInProgress = .seconds(120) }
        try await stopping(setup) { setup throws in
            let daemon = try await setup.daemon()
            _ = await daemon.collector.trigger(MappingKey(tenant: "t-a", mapping: "M2"))   // runs 5 min upstream
            setup.time.advance(by: .seconds(121))
            await daemon.collector.cycle(tenant: "t-a")
            let metrics = try await setup.metrics(daemon)
            #expect(metrics[series("acs_ingestion_requests_total", "t-a", "M2", "status=\"abandoned\"")] == 1)
        }
    }

    @Test func anUntrackedRequestLeavesTheInProgressFiguresAndKeepsItsHistory() async throws {
        try await stopping(try Setup(scheduled: false)) { setup throws in
            let daemon = try await setup.daemon()
            let key = MappingKey(tenant: "t-a", mapping: "M3")
            _ = try await daemon.collector.track(key, requestID: RequestID(424_242))
            let untracked = try await daemon.collector.untrack(key, requestID: RequestID(424_242))
            #expect(untracked?.untrackedAt != nil)
            let metrics = try await setup.metrics(daemon)
            #expect(metrics[series("acs_ingestion_requests_in_progress", "t-a", "M3")] == 0)
            #expect(try await daemon.collector.store.request(key, RequestID(424_242)) != nil)
            let polls = setup.simulator.callCount(.status)
            await daemon.collector.cycle(tenant: "t-a")
            #expect(setup.simulator.callCount(.status) == polls)
        }
    }
}
