import BuildInfo
import AdobeSimulator
import ExporterCore
import Foundation
import IngestionModel
import TestSupport
import Testing

/// The real binary: kill -9 and restart, secrets kept out of every output,
/// and a clear one-line error for each bad input.
@Suite("Exporter process", .serialized)
struct ProcessTests {
    init() throws {
        // `make test` builds the binary first; without it these tests fail rather than skip.
        try #require(FileManager.default.isExecutableFile(atPath: Paths.binary), "run `swift build` first: no \(Paths.binary)")
    }

    static let secret = "proc-secret-5f1c9a"

    func configYAML(simulator: AdobeSimulator, secretFile: String, database: String) -> String {
        """
        tenants:
          - name: acme-mkt-prod1
            api_url: \(simulator.baseURL)
            ims_token_url: \(simulator.tokenURL)
            client_id: ${ACS_TEST_CLIENT_ID}
            client_secret_file: \(secretFile)
            mappings:
              - id: XDM44
                name: Profiles to AEP
                trigger_every: 1h
              - id: XDM45
                trigger_every: 1h
        collector:
          poll_interval: 200ms
          max_requests_per_second: 1000
        storage:
          path: \(database)
        """
    }

    func simulator(_ time: ManualTimeSource) throws -> AdobeSimulator {
        var scenario = Scenario(tenants: [Scenario.Tenant(name: "acme-mkt-prod1", mappings: ["XDM44", "XDM45"].map { id in
            var m = Scenario.Mapping(id: id)
            m.duration = .seconds(5) ... .seconds(5)
            return m
        })])
        scenario.credentials = [.init(clientID: "proc-client", clientSecret: Self.secret)]
        return try AdobeSimulator(scenario: scenario, time: time)
    }

    func start(_ processes: ChildProcesses, config: String, name: String) async throws -> (ChildProcess, Int) {
        try await startExporter(processes, config: config, name: name, arguments: ["--log.level", "debug"],
                                environment: ["ACS_TEST_CLIENT_ID": "proc-client"])
    }

    @Test func killMinus9AndRestartKeepEveryCounter() async throws {
        let time = ManualTimeSource()
        let simulator = try simulator(time)
        try await withExporterProcesses(simulator) { directory, processes throws in
            simulator.setNextOutcomes(tenant: "acme-mkt-prod1", mapping: "XDM44", [.success, .success])
            simulator.setNextOutcomes(tenant: "acme-mkt-prod1", mapping: "XDM45", [.failedToUpload, .success])
            let secretFile = try directory.write("secret", Self.secret + "\n")
            let database = directory.path("store.sqlite")
            let config = try directory.write("config.yml", configYAML(simulator: simulator, secretFile: secretFile, database: database))

            var (child, port) = try await start(processes, config: config, name: "first")
            let inProgress = series("acs_ingestion_requests_in_progress", "acme-mkt-prod1", "XDM45")
            #expect(await eventually { (try? await scrape(port))?[inProgress] == 1 })
            time.advance(by: .seconds(10))
            let failed = series("acs_ingestion_failures_total", "acme-mkt-prod1", "XDM45", "status=\"failed\",acp_code=\"ACP-880096\"")
            let succeeded = series("acs_ingestion_requests_total", "acme-mkt-prod1", "XDM44", "status=\"success\"")
            #expect(await eventually {
                let metrics = try? await scrape(port)
                return metrics?[failed] == 1 && metrics?[succeeded] == 1
            })
            let before = try await scrape(port)
            await child.kill9()

            (child, port) = try await start(processes, config: config, name: "second")
            let after = try await scrape(port)
            #expect(after.persistent == before.persistent)
            #expect(after[succeeded] == 1 && after[failed] == 1)
            // The schedule (1h) continues from the store: once a whole poll cycle (which
            // begins with the due triggers) has run, no second trigger was made.
            #expect(await eventually {
                (try? await scrape(port))?["acs_ingestion_last_poll_timestamp_seconds{tenant=\"acme-mkt-prod1\"}"] ?? 0 > 0
            })
            #expect(simulator.requests().count == 2)
            await child.terminate()

            // Secrets: not in the database, the metrics or any log line.
            let tokens = simulator.issuedTokens()
            #expect(tokens.count >= 2)
            var outputs = [before.text, after.text, child.stderr, child.stdout]
            for suffix in ["", "-wal"] {
                if let bytes = FileManager.default.contents(atPath: database + suffix) {
                    outputs.append(String(decoding: bytes, as: UTF8.self))
                }
            }
            let logs = try String(contentsOfFile: directory.path("first.err"), encoding: .utf8)
            #expect(logs.contains("ingestion request ended"))
            outputs.append(logs)
            for text in outputs {
                #expect(!text.contains(Self.secret))
                for token in tokens { #expect(!text.contains(token)) }
            }
        }
    }

    /// Runs the binary to completion and returns (status, stdout, stderr).
    func runToExit(_ arguments: [String], environment: [String: String] = [:]) async throws -> (Int32?, String, String) {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let child = try ChildProcess(Paths.binary, arguments, directory: directory, name: "run", environment: environment)
        let status = await child.wait()
        if status == nil { await child.kill9() }
        return (status, child.stdout, child.stderr)
    }

    struct BadInput: Sendable, CustomTestStringConvertible {
        let name: String
        let config: String?
        let extra: [String]
        let expected: String
        /// The case is about the config's own storage.path: no --storage.path override.
        var keepsConfiguredStorage = false
        var testDescription: String { name }
    }

    static let valid = """
    tenants:
      - name: t1
        client_id: c
        client_secret: s
        mappings:
          - id: XDM44
    """

    static let badInputs: [BadInput] = [
        BadInput(name: "unknown key", config: valid + "\nstorage:\n  pth: x.sqlite\n", extra: [],
                 expected: ":8: storage.pth: unknown key"),
        BadInput(name: "bad duration", config: valid + "\ncollector:\n  poll_interval: soon\n", extra: [],
                 expected: ":8: collector.poll_interval: must be a duration"),
        BadInput(name: "missing client_id", config: "tenants:\n  - name: t1\n    client_secret: s\n    mappings: [{id: X}]\n",
                 extra: [], expected: ":2: tenants[0].client_id: is required"),
        BadInput(name: "unset environment variable", config: valid.replacingOccurrences(of: "client_id: c", with: "client_id: ${ACS_NOT_SET_ANYWHERE}"),
                 extra: [], expected: ":3: tenants[0].client_id: environment variable ACS_NOT_SET_ANYWHERE is not set"),
        BadInput(name: "unreadable secret file", config: valid.replacingOccurrences(of: "client_secret: s", with: "client_secret_file: /nonexistent/acs-secret"),
                 extra: [], expected: "tenants[0].client_secret_file: cannot read /nonexistent/acs-secret"),
        BadInput(name: "not YAML", config: "tenants: [unclosed\n", extra: [], expected: "not valid YAML"),
        BadInput(name: "missing config file", config: nil, extra: ["--config.file", "/nonexistent/acs.yml"],
                 expected: "cannot read config file /nonexistent/acs.yml"),
        BadInput(name: "database cannot be opened", config: valid + "\nstorage:\n  path: /proc/acs/none.sqlite\n", extra: [],
                 expected: "/proc/acs", keepsConfiguredStorage: true),
        BadInput(name: "bad listen address", config: valid, extra: ["--web.listen-address", "localhost"],
                 expected: "invalid --web.listen-address \"localhost\""),
        BadInput(name: "bad log level", config: valid, extra: ["--log.level", "loud"], expected: "--log.level must be one of"),
        BadInput(name: "no config at all", config: nil, extra: [], expected: "--config.file is required"),
    ]

    @Test("a one-line error and exit 1", arguments: badInputs)
    func badInputIsOneClearLine(_ input: BadInput) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        var arguments = input.extra + (input.keepsConfiguredStorage ? [] : ["--storage.path", directory.path("kept.sqlite")])
        if let config = input.config { arguments += ["--config.file", try directory.write("config.yml", config)] }
        arguments += ["--web.listen-address", "127.0.0.1:0"].filter { _ in !input.extra.contains("--web.listen-address") }
        let (status, _, stderr) = try await runToExit(arguments)
        #expect(status == 1)
        let lines = stderr.split(separator: "\n")
        #expect(lines.count == 1, "expected one line, got: \(stderr)")
        #expect(stderr.contains(input.expected), "stderr: \(stderr)")
        #expect(stderr.hasPrefix("acs-ingestion-exporter: error: "))
    }

    @Test func checkConfigNamesEveryProblemWithItsLine() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let file = try directory.write("bad.yml", """
        tenants:
          - name: t1
            client_id: c
            client_secret: s
            request_id_in: header
            mappings:
              - id: XDM44
                trigger_every: often
              - id: XDM44
        collector:
          max_concurrent_requests: 0
        """)
        let (status, _, stderr) = try await runToExit(["check-config", "--config.file", file])
        #expect(status == 1)
        #expect(stderr.contains("bad.yml:5: tenants[0].request_id_in: must be query or body"))
        #expect(stderr.contains("bad.yml:8: tenants[0].mappings[0].trigger_every: must be a duration"))
        #expect(stderr.contains("bad.yml:9: tenants[0].mappings[1].id: duplicate mapping \"XDM44\""))
        #expect(stderr.contains("bad.yml:11: collector.max_concurrent_requests: must be a whole number from 1 to 256"))

        let good = try directory.write("good.yml", Self.valid)
        let (okStatus, stdout, _) = try await runToExit(["check-config", "--config.file", good])
        #expect(okStatus == 0)
        #expect(stdout.contains("OK: 1 tenant(s), 1 mapping(s)"))
    }

    @Test func aBadConfigLosesNothingAlreadyStored() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let database = directory.path("kept.sqlite")
        let store = try await IngestionStoreFixture.populated(at: database)
        let bytes = FileManager.default.contents(atPath: database)
        let config = try directory.write("c.yml", Self.valid + "\nstorage:\n  path: \(database)\n  retention: tomorrow\n")
        let (status, _, _) = try await runToExit(["--config.file", config, "--web.listen-address", "127.0.0.1:0"])
        #expect(status == 1)
        #expect(FileManager.default.contents(atPath: database) == bytes)
        #expect(try await store.openRequests().count == 1)
    }

    @Test func theExampleConfigurationIsValid() async throws {
        let example = Paths.root.appendingPathComponent("examples/acs-ingestion-exporter.yml").path
        let (status, stdout, stderr) = try await runToExit(["check-config", "--config.file", example],
                                                           environment: ["ACS_CLIENT_ID": "id", "ACS_CLIENT_SECRET": "s"])
        #expect(status == 0, "\(stderr)")
        #expect(stdout.contains("OK: 1 tenant(s), 3 mapping(s), 2 on a schedule"))
    }

    @Test func versionAndHelp() async throws {
        let (status, stdout, _) = try await runToExit(["--version"])
        #expect(status == 0 && stdout.trimmingCharacters(in: .whitespacesAndNewlines)
                == BuildInfo.versionText(program: "acs-ingestion-exporter"))
        let (_, help, _) = try await runToExit(["simulate", "--help"])
        #expect(help.contains("Scenario file (YAML)") && help.contains("--web.listen-address"))
    }
}

import IngestionStore
import SQLiteStore

enum IngestionStoreFixture {
    static func populated(at path: String) async throws -> SQLiteIngestionStore {
        let store = try SQLiteIngestionStore(path: path, durationBounds: [30, 60])
        try await store.track(MappingKey(tenant: "t1", mapping: "XDM44"), requestID: "1", origin: .external, at: Date())
        return store
    }
}
