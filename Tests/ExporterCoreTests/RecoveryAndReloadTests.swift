import AdobeSimulator
import ExporterCore
import Foundation
import IngestionModel
import TestSupport
import Testing

/// The real binary: a kill -9 between Adobe accepting a POST and the exporter
/// storing its answer, and configuration reloads by SIGHUP and by /-/reload.
@Suite("Recovery and reload", .serialized)
struct RecoveryAndReloadTests {
    init() throws {
        try #require(FileManager.default.isExecutableFile(atPath: Paths.binary), "run `swift build` first: no \(Paths.binary)")
    }

    /// A simulator on an injected clock whose requests last an hour unless the test moves it.
    func simulator(_ time: ManualTimeSource, tenants: [String] = ["t1"], credentials: [(String, String)] = [("c", "s")]) throws
        -> AdobeSimulator {
        var scenario = Scenario(tenants: tenants.map { name in
            Scenario.Tenant(name: name, mappings: ["M1", "M2"].map { id in
                var mapping = Scenario.Mapping(id: id)
                mapping.duration = .seconds(3600) ... .seconds(3600)
                return mapping
            })
        })
        scenario.credentials = credentials.map { Scenario.Credentials(clientID: $0.0, clientSecret: $0.1) }
        return try AdobeSimulator(scenario: scenario, time: time)
    }

    static func tenant(_ name: String, _ simulator: AdobeSimulator, client: String = "c", secret: String = "client_secret: s",
                       mappings: String = "[{id: M1, trigger_every: 1h}]") -> String {
        """
          - name: \(name)
            api_url: \(simulator.baseURL)
            ims_token_url: \(simulator.tokenURL)
            client_id: \(client)
            \(secret)
            mappings: \(mappings)

        """
    }

    static func config(_ tenants: String, database: String) -> String {
        "tenants:\n\(tenants)collector:\n  poll_interval: 200ms\n  trigger_jitter: 0s\nstorage:\n  path: \(database)\n"
    }

    /// Starts an exporter on t1 whose first POST Adobe takes (its request starts) but
    /// answers only after 60 s, and kills it (-9) meanwhile: the POST's answer is never
    /// stored. Then `body`, with the clock, the simulator, the processes and the
    /// configuration to start the next exporter on.
    func afterALostPost(_ body: (ManualTimeSource, AdobeSimulator, ChildProcesses, String) async throws -> Void) async throws {
        let time = ManualTimeSource()
        let simulator = try simulator(time)
        try await withExporterProcesses(simulator) { directory, processes throws in
            let config = try directory.write("config.yml", Self.config(Self.tenant("t1", simulator), database: directory.path("s.sqlite")))
            simulator.inject(.slow(.seconds(60)), on: .trigger)
            let (child, _) = try await startExporter(processes, config: config, name: "first")
            #expect(await eventually { simulator.callCount(.trigger) == 1 })
            await child.kill9()
            try await body(time, simulator, processes, config)
        }
    }

    func metricsHold(_ port: Int, _ condition: @escaping (Exposition) -> Bool) async -> Bool {
        await eventually { (try? await scrape(port)).map(condition) ?? false }
    }

    @Test func aKill9BetweenThePostAndItsRecordAdoptsTheRunningRequestOnce() async throws {
        try await afterALostPost { time, simulator, processes, config throws in
            #expect(simulator.requests().count == 1)

            let (child, port) = try await startExporter(processes, config: config, name: "second")
            let inProgress = series("acs_ingestion_requests_in_progress", "t1", "M1")
            let adopted = series("acs_ingestion_triggers_total", "t1", "M1", "result=\"already_in_progress\"")
            #expect(await metricsHold(port) { $0[inProgress] == 1 && $0[adopted] == 1 }, "\(child.stderr)")
            #expect(simulator.requests().count == 1, "no second ingestion started")
            #expect(simulator.callCount(.trigger) == 2, "one POST to resolve the lost one, none more")
            // It ends once, and is counted once.
            time.advance(by: .seconds(3601))
            let succeeded = series("acs_ingestion_requests_total", "t1", "M1", "status=\"success\"")
            #expect(await metricsHold(port) { $0[succeeded] == 1 && $0[inProgress] == 0 })
            #expect(try await scrape(port)[series("acs_ingestion_triggers_total", "t1", "M1", "result=\"unknown\"")] == 0)
            #expect(child.stderr.contains("a trigger's answer was never stored"))
        }
    }

    @Test func aLostPostWhoseRequestEndedIsCountedUnknown() async throws {
        try await afterALostPost { time, simulator, processes, config throws in
            time.advance(by: .seconds(3601))   // the lost request ends while the exporter is down

            let (child, port) = try await startExporter(processes, config: config, name: "second")
            let unknown = series("acs_ingestion_triggers_total", "t1", "M1", "result=\"unknown\"")
            let submitted = series("acs_ingestion_triggers_total", "t1", "M1", "result=\"submitted\"")
            #expect(await metricsHold(port) { $0[unknown] == 1 && $0[submitted] == 1 }, "\(child.stderr)")
            #expect(child.stderr.contains("lost trigger counted as unknown"))
        }
    }

    @Test func sighupAndSlashReloadApplyAChangedConfigurationWholeOrNotAtAll() async throws {
        let simulator = try simulator(ManualTimeSource(), tenants: ["t1", "t2", "t3"], credentials: [("c", "s"), ("c1", "new-secret")])
        try await withExporterProcesses(simulator) { directory, processes throws in
            let secretFile = try directory.write("t1-secret", "old-secret\n")
            let database = directory.path("s.sqlite")
            let t1 = { (mappings: String) in
                Self.tenant("t1", simulator, client: "c1", secret: "client_secret_file: \(secretFile)", mappings: mappings)
            }
            let config = try directory.write("config.yml", Self.config(t1("[{id: M1}]") + Self.tenant("t2", simulator), database: database))
            let (child, port) = try await startExporter(processes, config: config, name: "exporter", arguments: ["--web.enable-lifecycle"])
            let up = { (tenant: String) in "acs_ingestion_up{tenant=\"\(tenant)\"}" }
            let info = { (tenant: String, mapping: String) in
                "acs_ingestion_mapping_info{tenant=\"\(tenant)\",mapping=\"\(mapping)\",name=\"\(mapping)\",scheduled=\"false\"}"
            }
            // t1's secret is refused (IMS has rotated it); t2 works.
            #expect(await metricsHold(port) { $0[up("t1")] == 0 && $0[up("t2")] == 1 })

            // SIGHUP: t1's secret rotated (in its file) and a mapping added, t2 removed, t3 added.
            try "new-secret\n".write(toFile: secretFile, atomically: true, encoding: .utf8)
            _ = try directory.write("config.yml", Self.config(t1("[{id: M1}, {id: M2}]") + Self.tenant("t3", simulator), database: database))
            child.signal(SIGHUP)
            #expect(await metricsHold(port) { m in
                m[info("t1", "M2")] == 1 && m[up("t1")] == 1 && m[up("t3")] == 1 && m[up("t2")] == nil
                    && m["acs_ingestion_config_last_reload_successful"] == 1
            }, "\(child.stderr)")
            #expect(child.process.isRunning)

            // A broken file is refused: the running configuration stays, the metric and /-/reload say so.
            _ = try directory.write("config.yml", "tenants: [unclosed\n")
            let refused = try await http("http://127.0.0.1:\(port)/-/reload", method: "POST")
            #expect(refused.status == 500 && refused.text.contains("not valid YAML"))
            #expect(await metricsHold(port) { m in m["acs_ingestion_config_last_reload_successful"] == 0 && m[info("t1", "M2")] == 1 })

            // Fixed, through /-/reload: M2 goes, and the metric recovers.
            _ = try directory.write("config.yml", Self.config(t1("[{id: M1}]") + Self.tenant("t3", simulator), database: database))
            let applied = try await http("http://127.0.0.1:\(port)/-/reload", method: "POST")
            #expect(applied.status == 200)
            #expect(await metricsHold(port) { m in m["acs_ingestion_config_last_reload_successful"] == 1 && m[info("t1", "M2")] == nil })

            // A change only a restart can make is refused, saying so.
            _ = try directory.write("config.yml", Self.config(t1("[{id: M1}]"), database: database + "-elsewhere"))
            let restartNeeded = try await http("http://127.0.0.1:\(port)/-/reload", method: "POST")
            #expect(restartNeeded.status == 500 && restartNeeded.text.contains("restart the exporter"))
        }
    }

    @Test func slashReloadNeedsTheLifecycleFlag() async throws {
        let simulator = try simulator(ManualTimeSource())
        try await withExporterProcesses(simulator) { directory, processes throws in
            let config = try directory.write("config.yml", Self.config(Self.tenant("t1", simulator), database: directory.path("s.sqlite")))
            let (_, port) = try await startExporter(processes, config: config, name: "exporter")
            let answer = try await http("http://127.0.0.1:\(port)/-/reload", method: "POST")
            #expect(answer.status == 403 && answer.text.contains("--web.enable-lifecycle"))
        }
    }
}
