import AdobeSimulator
import Foundation
import IngestionModel
import TestSupport
import Testing

/// The real binary under signals: shutdown is bounded whatever upstream does,
/// sends nothing after the signal, and signals that should not end the process do not.
@Suite("Process lifecycle", .serialized)
struct LifecycleTests {
    init() throws {
        try #require(FileManager.default.isExecutableFile(atPath: Paths.binary), "run `swift build` first: no \(Paths.binary)")
    }

    /// An exporter whose IMS answers 429 with Retry-After 30 to every token request,
    /// so every cycle waits inside the client's retries: the worst case for shutdown.
    func withThrottledExporter(_ body: (ChildProcess, AdobeSimulator, Int) async throws -> Void) async throws {
        var scenario = Scenario(tenants: [Scenario.Tenant(name: "acme-mkt-prod1", mappings: [Scenario.Mapping(id: "XDM44")])])
        scenario.credentials = [.init(clientID: "c", clientSecret: "s")]
        let simulator = try AdobeSimulator(scenario: scenario)
        simulator.inject(.throttled(retryAfter: "30"), on: .token, times: 10_000)
        try await withExporterProcesses(simulator) { directory, processes throws in
            let port = try await freePort()
            let config = try directory.write("config.yml", """
                tenants:
                  - name: acme-mkt-prod1
                    api_url: \(simulator.baseURL)
                    ims_token_url: \(simulator.tokenURL)
                    client_id: c
                    client_secret: s
                    mappings: [{id: XDM44, trigger_every: 1h}]
                collector:
                  poll_interval: 200ms
                storage:
                  path: \(directory.path("store.sqlite"))
                """)
            let child = try processes.start(Paths.binary, ["--config.file", config, "--web.listen-address", "127.0.0.1:\(port)"],
                                            name: "exporter")
            #expect(await eventually { simulator.callCount(.token) >= 1 }, "the exporter never asked IMS: \(child.stderr)")
            try await body(child, simulator, port)
        }
    }

    @Test func sigtermEndsTheProcessWithinFiveSecondsAndNothingIsSentAfterIt() async throws {
        try await withThrottledExporter { child, simulator, _ throws in
            let calls = simulator.callCount(.any) + simulator.callCount(.token)
            let clock = ContinuousClock()
            let signalled = clock.now
            child.signal(SIGTERM)
            let status = await child.wait(timeout: .seconds(10))
            let took = clock.now - signalled
            #expect(status != nil && took < .seconds(5), "still running \(took) after SIGTERM")
            #expect(simulator.callCount(.any) + simulator.callCount(.token) == calls, "upstream calls after the signal")
            #expect(child.stderr.contains("msg=stopped"))
        }
    }

    @Test func aSecondSignalExitsAtOnce() async throws {
        try await withThrottledExporter { child, _, _ throws in
            child.signal(SIGTERM)
            child.signal(SIGINT)
            let clock = ContinuousClock()
            let signalled = clock.now
            #expect(await child.wait(timeout: .seconds(10)) != nil)
            #expect(clock.now - signalled < .seconds(2))
        }
    }

    @Test func sigabrtSentWithKillEndsTheProcess() async throws {
        try await withThrottledExporter { child, _, _ throws in
            child.signal(SIGABRT)
            let ended = await child.wait(timeout: .seconds(10)) != nil
            #expect(ended, "still running 10 s after SIGABRT")
            if ended { #expect(child.process.terminationReason == .uncaughtSignal && child.process.terminationStatus == SIGABRT) }
        }
    }

    @Test func sighupNeverEndsTheProcess() async throws {
        try await withThrottledExporter { child, _, port throws in
            child.signal(SIGHUP)
            #expect(await eventually { child.stderr.contains("SIGHUP") })
            #expect(child.process.isRunning)
            #expect(try await http("http://127.0.0.1:\(port)/-/healthy").status == 200)
        }
    }
}
