import AdobeSimulator
import Foundation
import IngestionModel
import TestSupport
import Testing

/// A batch followed in Experience Platform by the real binary: kill -9 while it is
/// followed, restart, and it is counted exactly once; no row content and no secret in
/// any output (log, database, API, status page, metrics).
@Suite("Batches followed in Experience Platform (the binary)", .serialized)
struct PlatformProcessTests {
    init() throws {
        try #require(FileManager.default.isExecutableFile(atPath: Paths.binary), "run `swift build` first: no \(Paths.binary)")
    }

    static let secret = "aep-secret-3b9d1e"
    static let tenant = "acme-mkt-prod1", mapping = "XDM45"

    /// The simulator on `time`: XDM45 fails with ACP-880096 after 5 s, its batch ends 5 min later as a partial success.
    static func simulator(_ time: ManualTimeSource) throws -> AdobeSimulator {
        var mapping = Scenario.Mapping(id: mapping)
        mapping.duration = .seconds(5) ... .seconds(5)
        mapping.batchProcessing = .seconds(300) ... .seconds(300)
        var scenario = Scenario(tenants: [Scenario.Tenant(name: tenant, mappings: [mapping])])
        scenario.credentials = [.init(clientID: "aep-client", clientSecret: secret)]
        let simulator = try AdobeSimulator(scenario: scenario, time: time)
        simulator.setNextOutcomes(tenant: tenant, mapping: Self.mapping, [.failedToUpload])
        simulator.setNextBatchFates(tenant: tenant, mapping: Self.mapping, [.partial])
        return simulator
    }

    static func config(_ simulator: AdobeSimulator, secretFile: String, database: String) -> String {
        """
        tenants:
          - name: \(tenant)
            api_url: \(simulator.baseURL)
            ims_token_url: \(simulator.tokenURL)
            client_id: aep-client
            client_secret_file: \(secretFile)
            aep:
              org_id: \(Scenario.Tenant(name: "", mappings: []).orgID)
              platform_url: \(simulator.baseURL)
              lookup_interval: 1s
              lookup_interval_max: 1s
            mappings:
              - id: \(mapping)
                trigger_every: 1h
        collector: {poll_interval: 200ms, max_requests_per_second: 1000}
        storage: {path: \(database)}
        """
    }

    @Test func killMinus9DuringAFollowUpCountsItsBatchOnceAfterRestartAndNothingLeaks() async throws {
        let time = ManualTimeSource()
        let simulator = try Self.simulator(time)
        try await withExporterProcesses(simulator) { directory, processes throws in
            let secretFile = try directory.write("secret", Self.secret + "\n")
            let database = directory.path("store.sqlite")
            let config = try directory.write("config.yml", Self.config(simulator, secretFile: secretFile, database: database))
            var (child, port) = try await startExporter(processes, config: config, name: "first", arguments: ["--log.level", "debug"])
            let open = series("acs_ingestion_requests_in_progress", Self.tenant, Self.mapping)
            #expect(await eventually { (try? await scrape(port))?[open] == 1 })
            time.advance(by: .seconds(10))
            // The request failed; its batch is being looked up, still processing.
            let inProgress = series("acs_ingestion_aep_batches_in_progress", Self.tenant, Self.mapping)
            #expect(await eventually {
                guard (simulator.batchLookups().values.first ?? 0) >= 2 else { return false }
                return (try? await scrape(port))?[inProgress] == 1
            })
            await child.kill9()
            time.advance(by: .seconds(600))

            (child, port) = try await startExporter(processes, config: config, name: "second", arguments: ["--log.level", "debug"])
            let batch = try #require(simulator.batches().first)
            let ended = series("acs_ingestion_aep_batches_total", Self.tenant, Self.mapping, "status=\"success\"")
            #expect(await eventually { (try? await scrape(port))?[ended] == 1 })
            let lookups = simulator.batchLookups()
            // Counted once, and no longer looked up.
            let settled = try await throughout(.seconds(2)) {
                let metrics = try await scrape(port)
                return metrics[ended] == 1 && metrics[inProgress] == 0
                    && metrics[series("acs_ingestion_aep_batch_records_total", Self.tenant, Self.mapping, "outcome=\"failed\"")] == Double(batch.failed)
                    && metrics[series("acs_ingestion_aep_batch_records_total", Self.tenant, Self.mapping, "outcome=\"ingested\"")] == Double(batch.ingested)
            }
            #expect(settled)
            #expect(simulator.batchLookups() == lookups)

            // What every output holds: no secret, no token, no row content; row errors never asked for.
            let metricsText = try await scrape(port).text
            let openMetrics = try await http("http://127.0.0.1:\(port)/metrics", headers: ["Accept": "application/openmetrics-text"]).text
            let api = try await http("http://127.0.0.1:\(port)/api/v1/requests").text
            let page = try await http("http://127.0.0.1:\(port)/").text
            #expect(api.contains("\"aep_batch\"") && api.contains(batch.id) && page.contains("AEP batch \(batch.id)"))
            #expect(openMetrics.contains("batch_id=\"\(batch.id)\""), "the records counter's exemplar names the batch")
            await child.terminate()
            var outputs = [metricsText, openMetrics, api, page, child.stdout, child.stderr,
                           try String(contentsOfFile: directory.path("first.err"), encoding: .utf8)]
            let stored = ["", "-wal"].compactMap { FileManager.default.contents(atPath: database + $0) }.map { String(decoding: $0, as: UTF8.self) }
            #expect(stored.contains { $0.contains(batch.id) }, "the database holds the batch")
            outputs += stored
            let tokens = simulator.issuedTokens()
            #expect(tokens.count >= 2)
            for text in outputs {
                #expect(!text.contains(Self.secret))
                #expect(!text.contains(SimulatedBatch.rowContentMarker))
                for token in tokens { #expect(!text.contains(token)) }
            }
            #expect(simulator.rowErrorCalls() == 0)
        }
    }
}

/// In cluster mode, a follow-up is the tenant's, stored in the shared database: when its
/// owner is killed (-9) while the batch is still processing, the replica that takes the
/// tenant over finishes the follow-up and counts the batch once.
@Suite("Batches followed in Experience Platform (a cluster of the binary)", .serialized)
struct PlatformClusterTests {
    init() throws {
        try #require(FileManager.default.isExecutableFile(atPath: Paths.binary), "run `swift build` first: no \(Paths.binary)")
    }

    static let instance = "acs-aep"

    static func sample(_ name: String, _ extra: String = "") -> String {
        "\(name){tenant=\"\(PlatformProcessTests.tenant)\",mapping=\"\(PlatformProcessTests.mapping)\",instance=\"\(instance)\""
            + (extra.isEmpty ? "" : "," + extra) + "}"
    }

    static let owner = "acs_ingestion_tenant_owner{tenant=\"\(PlatformProcessTests.tenant)\"}"

    @Test func theFollowUpSurvivesItsOwnersKillMinus9() async throws {
        let time = ManualTimeSource()
        let simulator = try PlatformProcessTests.simulator(time)
        let server = try await PostgresServer.shared()
        do {
            try await withExporterProcesses(simulator) { directory, processes throws in
                let secretFile = try directory.write("secret", PlatformProcessTests.secret + "\n")
                let passwordFile = try directory.write("pg-password", server.password + "\n")
                let database = try await server.createDatabase()
                let single = PlatformProcessTests.config(simulator, secretFile: secretFile, database: "unused")
                let config = try directory.write("config.yml", single.replacingOccurrences(of: "poll_interval: 200ms", with: "poll_interval: 500ms")
                    .replacingOccurrences(of: "storage: {path: unused}", with: """
                    storage:
                      driver: postgres
                      url: \(server.url(database: database))
                      password_file: \(passwordFile)
                    cluster:
                      enabled: true
                      name: \(Self.instance)
                      replica_name: ${ACS_REPLICA_NAME}
                      lease_ttl: 3s
                    """))
                func start(_ name: String) async throws -> (ChildProcess, Int) {
                    try await startExporter(processes, config: config, name: name, arguments: ["--log.level", "debug"],
                                            environment: ["ACS_REPLICA_NAME": name])
                }
                let (first, firstPort) = try await start("replica-a")
                #expect(await eventually {
                    let metrics = try? await scrape(firstPort)
                    return metrics?[Self.owner] == 1 && metrics?[Self.sample("acs_ingestion_requests_in_progress")] == 1
                })
                let (_, secondPort) = try await start("replica-b")
                time.advance(by: .seconds(10))
                let inProgress = Self.sample("acs_ingestion_aep_batches_in_progress")
                #expect(await eventually {
                    guard (simulator.batchLookups().values.first ?? 0) >= 2 else { return false }
                    return (try? await scrape(firstPort))?[inProgress] == 1
                })
                #expect((try await scrape(secondPort))[Self.owner] == 0)

                await first.kill9()
                #expect(await eventually { (try? await scrape(secondPort))?[Self.owner] == 1 })
                time.advance(by: .seconds(600))
                let batch = try #require(simulator.batches().first)
                let ended = Self.sample("acs_ingestion_aep_batches_total", "status=\"success\"")
                #expect(await eventually { (try? await scrape(secondPort))?[ended] == 1 })
                let settled = try await throughout(.seconds(2)) {
                    let metrics = try await scrape(secondPort)
                    return metrics[ended] == 1 && metrics[inProgress] == 0
                        && metrics[Self.sample("acs_ingestion_aep_batch_records_total", "outcome=\"input\"")] == Double(batch.input)
                        && metrics[Self.sample("acs_ingestion_aep_batch_records_total", "outcome=\"failed\"")] == Double(batch.failed)
                }
                #expect(settled)
                #expect(simulator.posts(tenant: PlatformProcessTests.tenant, mapping: PlatformProcessTests.mapping).count == 1)
            }
        }
    }
}
