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

/// The command line against a running exporter, and `report` against a large history.
@Suite("Command line", .serialized)
struct CLITests {
    init() throws {
        try #require(FileManager.default.isExecutableFile(atPath: Paths.binary), "run `swift build` first: no \(Paths.binary)")
    }

    func run(_ arguments: [String], in directory: TemporaryDirectory) async throws -> (Int32?, String, String) {
        let child = try ChildProcess(Paths.binary, arguments, directory: directory, name: "cli-\(UUID().uuidString.prefix(6))")
        let status = await child.wait(timeout: .seconds(120))
        if status == nil { await child.kill9() }
        return (status, child.stdout, child.stderr)
    }

    @Test func trackTriggerAndRequestsAgainstARunningExporter() async throws {
        try await EndToEndTests.Setup.run(apiToken: APITests.token) { setup, daemon in
            let url = "http://127.0.0.1:\(daemon.port)"
            let tokenFile = setup.directory.path("api-token")
            let tenant = EndToEndTests.tenant

            let (trackStatus, tracked, _) = try await run(["track", "--url", url, "--token-file", tokenFile, "--tenant", tenant,
                                                           "--mapping", "XDM45", "--request-id", "77"], in: setup.directory)
            #expect(trackStatus == 0)
            #expect(tracked.hasPrefix("now tracking:") && tracked.contains("XDM45") && tracked.contains("77"))
            let (_, again, _) = try await run(["track", "--url", url, "--token-file", tokenFile, "--tenant", tenant,
                                               "--mapping", "XDM45", "--request-id", "77"], in: setup.directory)
            #expect(again.hasPrefix("already tracked:"))

            let (triggerStatus, triggered, _) = try await run(["trigger", "--url", url, "--token-file", tokenFile,
                                                               "--tenant", tenant, "--mapping", "XDM44"], in: setup.directory)
            #expect(triggerStatus == 0)
            #expect(triggered == "\(tenant)/XDM44: submitted request 3520\n")

            let (_, json, _) = try await run(["requests", "--url", url, "--output", "json", "--mapping", "XDM44"], in: setup.directory)
            let object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
            let ids = (object?["requests"] as? [[String: Any]])?.compactMap { $0["request_id"] as? String }
            #expect(ids == ["3520"])
            let (_, table, _) = try await run(["requests", "--url", url, "--limit", "1"], in: setup.directory)
            let lines = table.split(separator: "\n")
            #expect(lines.first?.hasPrefix("FIRST SEEN") == true)
            #expect(lines.count == 3 && lines[2].hasPrefix("more: --cursor "))

            // Without the token: the API's own words, on one line, exit 1.
            let (refusedStatus, _, refused) = try await run(["trigger", "--url", url, "--tenant", tenant, "--mapping", "XDM44"],
                                                            in: setup.directory)
            #expect(refusedStatus == 1)
            #expect(refused.contains("HTTP 401: missing or wrong bearer token") && refused.split(separator: "\n").count == 1)

            // Credentials inside --url are refused, and never repeated.
            let withPassword = url.replacingOccurrences(of: "http://", with: "http://ops:s3cret-pw@")
            let (credentialsStatus, _, credentials) = try await run(["requests", "--url", withPassword], in: setup.directory)
            #expect(credentialsStatus == 1 && credentials.contains("--url must not hold credentials"))
            #expect(!credentials.contains("s3cret-pw"))

            // A stopped exporter is reported at once, not after the call's 90 s deadline.
            await daemon.stop()
            let asked = ContinuousClock.now
            let (downStatus, _, down) = try await run(["requests", "--url", url], in: setup.directory)
            #expect(downStatus == 1 && down.contains("cannot reach the exporter at \(url)"))
            #expect(ContinuousClock.now - asked < .seconds(10), "a stopped exporter took \(ContinuousClock.now - asked) to report")
        }
    }

    /// A deterministic history: statuses, records and end times spread over 120 days.
    static func history(count: Int, start: Date) -> [TrackedRequest] {
        var random = SeededRandom(seed: 99)
        let mappings = (0..<6).map { MappingKey(tenant: $0 < 3 ? "tenant-a" : "tenant-b", mapping: "XDM\($0)") }
        let failures = ["Mapping Id: X. ACP-880056 Failed to fetch the record from the database.",
                        "Mapping Id: X. ACP-880096 Sync Job failed to upload.", "Mapping Id: X. no code here"]
        return (0..<count).map { index in
            let key = mappings[Int(random.next() % 6)]
            let first = start.addingTimeInterval(random.unit() * 120 * 86400)
            let finished = first.addingTimeInterval(30 + random.unit() * 7200)
            let draw = random.unit()
            let status: IngestionStatus = draw < 0.8 ? .success : draw < 0.95 ? .failed : .aborted
            let info: String? = status == .failed ? failures[Int(random.next() % 3)] : nil
            return TrackedRequest(key: key, requestID: RequestID(index), origin: .triggered, firstSeen: first, lastPolled: finished,
                                  status: status, numRecords: status == .success ? Int(random.next() % 5000) : 0,
                                  info: info, acpCode: ACPCode.find(in: info), finishedAt: finished)
        }
    }

    @Test func reportFiguresEqualTheStoredHistoryAndTheMetrics() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let database = directory.path("history.sqlite")
        let start = Date(timeIntervalSince1970: 1_780_000_000)
        let history = Self.history(count: 120_000, start: start)
        do {
            let store = try SQLiteIngestionStore(path: database, durationBounds: [30, 60])
            try await store.importHistory(history)
        }

        // Ground truth, per mapping and UTC day.
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd"
        struct Figures: Equatable { var records = 0, success = 0, failed = 0, aborted = 0, codes: [String: Int] = [:] }
        var byDay: [String: Figures] = [:]
        var totals: [String: Figures] = [:]
        for request in history {
            for (table, id) in [(0, "\(request.key.tenant)/\(request.key.mapping)/\(formatter.string(from: request.finishedAt!))"),
                                (1, "\(request.key.tenant)/\(request.key.mapping)")] {
                var figures = (table == 0 ? byDay[id] : totals[id]) ?? Figures()
                switch request.status {
                case .success: figures.success += 1; figures.records += request.numRecords
                case .failed: figures.failed += 1; figures.codes[request.acpCode.labelValue, default: 0] += 1
                default: figures.aborted += 1; figures.codes[request.acpCode.labelValue, default: 0] += 1
                }
                if table == 0 { byDay[id] = figures } else { totals[id] = figures }
            }
        }

        let clock = ContinuousClock()
        let started = clock.now
        let (status, output, stderr) = try await run(["report", "--storage.path", database, "--period", "day", "--output", "json"],
                                                     in: directory)
        let elapsed = clock.now - started
        print("report over \(history.count) requests (--period day --output json) took \(elapsed)")
        #expect(status == 0, "\(stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any])
        func figures(_ row: [String: Any]) -> Figures {
            let requests = row["requests"] as? [String: Int] ?? [:]
            return Figures(records: row["records_ingested"] as? Int ?? -1, success: requests["success"] ?? -1,
                           failed: requests["failed"] ?? -1, aborted: requests["aborted"] ?? -1,
                           codes: row["failures_by_acp_code"] as? [String: Int] ?? [:])
        }
        var reportedDays: [String: Figures] = [:]
        for row in report["rows"] as? [[String: Any]] ?? [] {
            reportedDays["\(row["tenant"]!)/\(row["mapping"]!)/\(row["period"]!)"] = figures(row)
        }
        #expect(reportedDays.count == byDay.count)
        #expect(reportedDays == byDay)
        var reportedTotals: [String: Figures] = [:]
        for row in report["totals"] as? [[String: Any]] ?? [] { reportedTotals["\(row["tenant"]!)/\(row["mapping"]!)"] = figures(row) }
        #expect(reportedTotals == totals)

        // The same totals as the exporter's counters, rebuilt from that database.
        var config = ExporterConfig(tenants: ["tenant-a", "tenant-b"].map { name in
            ExporterConfig.Tenant(name: name, clientID: "c", clientSecret: Secret("s"), mappings: (0..<6).compactMap { index in
                (index < 3) == (name == "tenant-a") ? ExporterConfig.Mapping(id: "XDM\(index)", name: "XDM\(index)", triggerEvery: nil) : nil
            })
        })
        config.storage.path = database
        let daemon = try await ExporterDaemon.serving(config: config, options: .init(listenAddress: .init(host: "127.0.0.1", port: 0)),
                                              logger: silentLogger)
        daemon.web.publisher.refresh()
        let metrics = try await scrape(daemon.port)
        for (id, expected) in totals {
            let parts = id.split(separator: "/").map(String.init)
            #expect(metrics[series("acs_ingestion_records_ingested_total", parts[0], parts[1])] == Double(expected.records))
            #expect(metrics[series("acs_ingestion_requests_total", parts[0], parts[1], "status=\"success\"")] == Double(expected.success))
            #expect(metrics[series("acs_ingestion_requests_total", parts[0], parts[1], "status=\"aborted\"")] == Double(expected.aborted))
            for (code, count) in expected.codes {
                let failed = metrics[series("acs_ingestion_failures_total", parts[0], parts[1], "status=\"failed\",acp_code=\"\(code)\"")] ?? 0
                let aborted = metrics[series("acs_ingestion_failures_total", parts[0], parts[1], "status=\"aborted\",acp_code=\"\(code)\"")] ?? 0
                #expect(failed + aborted == Double(count), "\(id) \(code)")
            }
        }
        await daemon.stop()

        // The other formats and periods run too, and a bad flag is one line.
        let (csvStatus, csv, _) = try await run(["report", "--storage.path", database, "--period", "month", "--output", "csv"], in: directory)
        #expect(csvStatus == 0 && csv.hasPrefix("period,tenant,mapping,records_ingested,success,failed,aborted,abandoned,ACP-880056,ACP-880096,none\n"))
        let (_, table, _) = try await run(["report", "--storage.path", database, "--period", "week",
                                           "--since", "2026-06-01", "--until", "2026-07-01"], in: directory)
        #expect(table.hasPrefix("PERIOD"))
        let (badStatus, _, bad) = try await run(["report", "--storage.path", database, "--period", "year"], in: directory)
        #expect(badStatus == 1 && bad == "acs-ingestion-exporter: error: --period must be day, week or month; got \"year\"\n")
    }

    /// `migrate` in the real executable: an SQLite history (mappings, a plan, a lost
    /// intent, ended and open requests) into a new PostgreSQL database over verified
    /// TLS, checked by digest; a second run writes nothing; a wrong password is one line
    /// that does not quote it.
    @Test func migrateCopiesASQLiteHistoryIntoPostgreSQLOnce() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let database = directory.path("history.sqlite")
        let key = MappingKey(tenant: "acme-mkt-prod1", mapping: "XDM44")
        let start = Date(timeIntervalSince1970: 1_790_000_000.5)
        do {
            let store = try SQLiteIngestionStore(path: database, durationBounds: [30, 60])
            _ = try await store.registerMappings([key], at: start)
            try await store.importHistory((0..<50).map { index in
                let first = start.addingTimeInterval(Double(index) * 60)
                return TrackedRequest(key: key, requestID: RequestID(index), origin: .triggered, firstSeen: first,
                                      lastPolled: first.addingTimeInterval(40.25), status: index % 5 == 0 ? .failed : .success,
                                      numRecords: index % 5 == 0 ? 0 : index, finishedAt: first.addingTimeInterval(40.25))
            })
            _ = try await store.recordTriggerAttempt(TriggerAttempt(
                key: key, at: start.addingTimeInterval(3600), result: .submitted, requestID: "open",
                plan: TriggerPlan(slot: start.addingTimeInterval(3600), dueAt: start.addingTimeInterval(7200.5))))
            _ = try await store.recordTriggerIntent(key, at: start.addingTimeInterval(7200.5))
            await store.close()
        }
        let server = try await PostgresServer.shared()
        let target = try await server.createDatabase()
        let url = server.url(database: target, sslMode: "verify-full", sslRootCert: server.caCertificate, host: "localhost")
        let passwordFile = try directory.write("pg-password", server.password + "\n")
        let arguments = ["migrate", "--from", "sqlite:" + database, "--to", url, "--password-file", passwordFile]

        let (status, output, stderr) = try await run(arguments, in: directory)
        #expect(status == 0, "\(stderr)")
        #expect(output.contains("copying sqlite:\(database) to postgres://localhost:\(server.port)/\(target)"))
        #expect(output.contains("the target holds the same history as the source: 51 requests, 50 observations, 0 pruned keys, "
                                + "1 mappings, 1 trigger plans, 1 trigger intents"), "\(output)")
        #expect(try await server.psql("SELECT count(*) FROM requests WHERE finished_at IS NULL", database: target) == "1")
        #expect(try await server.psql("SELECT max(version) FROM schema_migrations", database: target) == "7")

        let (againStatus, again, _) = try await run(arguments, in: directory)
        #expect(againStatus == 0 && again.contains("nothing to copy: the target already holds this history"), "\(again)")

        let wrongFile = try directory.write("wrong-password", "not-the-password-\(UUID().uuidString)\n")
        let wrong = try String(contentsOfFile: wrongFile, encoding: .utf8).trimmingCharacters(in: .newlines)
        let (refusedStatus, refusedOutput, refused) = try await run(
            ["migrate", "--from", "sqlite:" + database, "--to", url, "--password-file", wrongFile], in: directory)
        #expect(refusedStatus == 1)
        #expect(refused.hasPrefix("acs-ingestion-exporter: error: database postgres://localhost:\(server.port)/\(target): "))
        #expect(refused.contains("password authentication failed") && refused.split(separator: "\n").count == 1, "\(refused)")
        for text in [output, stderr, again, refusedOutput, refused] {
            #expect(!text.contains(server.password) && !text.contains(wrong))
        }
    }
}
