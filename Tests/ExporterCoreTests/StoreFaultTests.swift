import AdobeSimulator
import ExporterCore
import Foundation
import IngestionModel
import IngestionStore
import SQLiteStore
import TestSupport
import Testing

/// The real binary over a real SQLite file under faults: a full disk, a file deleted
/// or replaced under it, damaged files, a second daemon, a backup restored. Counters
/// are compared with the simulator's ground truth.
@Suite("Store under faults (the binary)", .serialized)
struct StoreFaultTests {
    static let tenant = "acme-mkt-prod1"
    static let mappings = ["XDM41", "XDM42", "XDM43", "XDM44"]
    static let secret = "fault-secret-2b7d"
    static let apiToken = "fault-api-token-93c1"

    init() throws {
        try #require(FileManager.default.isExecutableFile(atPath: Paths.binary), "run `swift build` first: no \(Paths.binary)")
    }

    /// A simulator on a clock the test moves, an exporter configuration for it, the
    /// processes started from it; all stopped and removed afterwards.
    struct Setup: AsyncStoppable {
        let mappings = StoreFaultTests.mappings
        let time = ManualTimeSource()
        let simulator: AdobeSimulator
        let directory: TemporaryDirectory
        let processes: ChildProcesses

        init() throws {
            var scenario = Scenario(tenants: [Scenario.Tenant(name: StoreFaultTests.tenant, mappings: StoreFaultTests.mappings.map { id in
                var m = Scenario.Mapping(id: id)
                m.duration = .seconds(5) ... .seconds(5)
                m.records = 10...900
                m.outcomes = [.success: 0.6, .failedToFetch: 0.2, .failedToUpload: 0.1, .aborted: 0.1]
                return m
            })])
            scenario.credentials = [.init(clientID: "fault-client", clientSecret: StoreFaultTests.secret)]
            simulator = try AdobeSimulator(scenario: scenario, time: time)
            directory = try TemporaryDirectory()
            processes = ChildProcesses(directory: directory)
        }

        /// Every mapping triggered each second (the simulator's clock decides when requests end), on an SQLite file.
        func config(database: String, pollInterval: String = "200ms", apiURL: String? = nil) throws -> String {
            try config(storage: "  path: \(database)", pollInterval: pollInterval, apiURL: apiURL)
        }

        /// The same on PostgreSQL, over TLS checked against the test CA.
        func config(postgres server: PostgresServer, database: String, pollInterval: String = "200ms",
                    storage extra: String = "", cluster: String = "") throws -> String {
            let passwordFile = try directory.write("pg-password", server.password + "\n")
            return try config(storage: """
              driver: postgres
              url: \(server.url(database: database, sslMode: "verify-full", sslRootCert: server.caCertificate, host: "localhost"))
              password_file: \(passwordFile)
            \(extra)
            \(cluster)
            """, pollInterval: pollInterval)
        }

        /// Every mapping triggered each second, with `storage` as the storage section's body.
        func config(storage: String, pollInterval: String, apiURL: String? = nil) throws -> String {
            let secretFile = try directory.write("secret", StoreFaultTests.secret + "\n")
            let tokenFile = try directory.write("api-token", StoreFaultTests.apiToken + "\n")
            return try directory.write("config-\(UUID().uuidString.prefix(8)).yml", """
            tenants:
              - name: \(StoreFaultTests.tenant)
                api_url: \(apiURL ?? simulator.baseURL)
                ims_token_url: \(apiURL.map { $0 + "/ims/token/v3" } ?? simulator.tokenURL)
                client_id: fault-client
                client_secret_file: \(secretFile)
                mappings:
            \(StoreFaultTests.mappings.map { "      - id: \($0)\n        trigger_every: 1s" }.joined(separator: "\n"))
            collector:
              poll_interval: \(pollInterval)
              max_requests_per_second: 1000
              trigger_jitter: 0s
            api:
              token_file: \(tokenFile)
            storage:
            \(storage)
            """)
        }

        /// Starts the exporter and waits until it is ready.
        func start(config: String, name: String, extra: [String] = []) async throws -> (ChildProcess, Int) {
            let port = try await freePort()
            let child = try processes.start(Paths.binary, ["--config.file", config, "--web.listen-address", "127.0.0.1:\(port)",
                                                           "--log.level", "debug"] + extra, name: name)
            try await eventually("\(name) ready: \(child.stderr)") { (try? await http("http://127.0.0.1:\(port)/-/ready").status) == 200 }
            return (child, port)
        }

        /// Once every mapping has a request running, and the exporter shows each in progress,
        /// lets them end at the simulator and waits until the exporter has counted them all.
        /// (A request the simulator runs but the exporter does not know yet, one whose POST's
        /// answer is on its way or that a new owner has still to ask Adobe about, would end
        /// unseen: the exporter's next POST starts another.)
        func round(_ port: Int) async throws {
            try await eventually("a request running for each mapping, in progress at the exporter") {
                let running = Set(simulator.requests().filter { !$0.status(at: simulator.now).isTerminal }.map(\.mapping))
                guard running.count == mappings.count, let metrics = try? await scrape(port) else { return false }
                return mappings.allSatisfy { mapping in
                    metrics.samples.contains { $0.key.hasPrefix("acs_ingestion_requests_in_progress{")
                        && $0.key.contains("mapping=\"\(mapping)\"") && $0.value >= 1 }
                }
            }
            let before = try await ended(port)
            time.advance(by: .seconds(10))
            do {
                try await eventually("requests end") { try await ended(port) >= before + Double(mappings.count) }
            } catch let timedOut as TimedOut {
                // Say what each side saw, for a failure that does not come again on demand.
                let open = simulator.requests().filter { !$0.status(at: simulator.now).isTerminal }
                    .map { "\($0.mapping) #\($0.requestID)" }
                throw TimedOut(what: "\(timedOut.what) on :\(port) (ended \((try? await ended(port)) ?? -1), "
                                   + "before \(before), running at the simulator \(open))\n\(processes.tails())")
            }
        }

        func stop() async {
            await processes.stop()
            await simulator.stop()
            directory.cleanUp()
        }
    }

    static func ended(_ metrics: Exposition) -> Double {
        metrics.samples.filter { $0.key.hasPrefix("acs_ingestion_requests_total{") }.values.reduce(0, +)
    }

    static func ended(_ port: Int) async throws -> Double { ended(try await scrape(port)) }

    /// Where every mapping's counters differ from the simulator's ground truth (empty when they agree).
    static func differences(_ metrics: Exposition, _ simulator: AdobeSimulator) -> [String] {
        let now = simulator.now
        var found: [String] = []
        for mapping in mappings {
            let made = simulator.requests().filter { $0.mapping == mapping }
            let ended = made.filter { $0.status(at: now).isTerminal }
            func count(_ outcomes: [Scenario.Outcome]) -> Double { Double(ended.filter { outcomes.contains($0.outcome) }.count) }
            let records = Double(ended.filter { $0.outcome == .success }.map(\.records).reduce(0, +))
            let expected: [(String, Double)] = [
                (series("acs_ingestion_requests_total", tenant, mapping, "status=\"success\""), count([.success])),
                (series("acs_ingestion_requests_total", tenant, mapping, "status=\"failed\""), count([.failedToFetch, .failedToUpload])),
                (series("acs_ingestion_requests_total", tenant, mapping, "status=\"aborted\""), count([.aborted])),
                (series("acs_ingestion_records_ingested_total", tenant, mapping), records),
                (series("acs_ingestion_requests_in_progress", tenant, mapping), Double(made.count - ended.count)),
            ]
            for (name, value) in expected where metrics[name] != value {
                found.append("\(name) = \(metrics[name].map { String($0) } ?? "absent"), truth \(value)")
            }
        }
        return found
    }

    /// Waits until every mapping's counters equal the simulator's ground truth, which
    /// holds still while its clock does: each request it made is counted once, as it ended.
    /// `cluster`: the exporter is a replica of the cluster named so (its series carry `instance`).
    static func expectGroundTruth(_ setup: Setup, _ port: Int, cluster: String? = nil) async throws {
        func scraped() async throws -> Exposition {
            let metrics = try await scrape(port)
            guard let cluster else { return metrics }
            return Exposition(metrics.text.replacingOccurrences(of: ",instance=\"\(cluster)\"", with: ""))
        }
        let equal = await eventually(timeout: .seconds(20)) {
            guard let metrics = try? await scraped() else { return false }
            return differences(metrics, setup.simulator).isEmpty
        }
        let last = try await scraped()
        #expect(equal, "counters differ from the simulator's ground truth: \(differences(last, setup.simulator))")
    }

    /// SIGTERM to `child` ends it within 5 s (and a half, for the machine), never by a crash;
    /// an exit status other than 0 comes with the one line that names what did not stop.
    static func expectBoundedShutdown(_ child: ChildProcess, _ name: String) async {
        let signalled = ContinuousClock.now
        child.signal(SIGTERM)
        let status = await child.wait(timeout: .seconds(15))
        let took = ContinuousClock.now - signalled
        print("\(name): SIGTERM: exit status \(status.map(String.init) ?? "none") after \(took)")
        #expect(status != nil && took <= .seconds(5.5), "\(name): exit \(String(describing: status)) after \(took)")
        #expect(!child.stderr.contains("Fatal error") && !child.stderr.contains("Stack dump"), "\(name): \(child.stderr.suffix(3000))")
        if status != 0 {
            let line = child.stderr.split(separator: "\n").last { $0.contains("shutdown did not finish") }
            print("\(name): \(line ?? "no line")")
            #expect(line?.contains("still_stopping=") == true, "\(name) exited \(String(describing: status)) without saying why")
        }
    }

    static func storeUp(_ port: Int) async -> Double? { try? await scrape(port)["acs_ingestion_store_up"] }

    static func storeErrors(_ port: Int, _ operation: String) async -> Double {
        (try? await scrape(port)["acs_ingestion_store_errors_total{operation=\"\(operation)\"}"]) ?? 0
    }

    static func track(_ port: Int, _ requestID: String) async throws -> HTTPAnswer {
        try await http("http://127.0.0.1:\(port)/api/v1/requests", method: "POST",
                       body: Data(#"{"tenant":"\#(Self.tenant)","mapping":"XDM41","requestId":"\#(requestID)"}"#.utf8),
                       headers: ["Authorization": "Bearer \(Self.apiToken)", "Content-Type": "application/json"])
    }

    /// The exporter on a database in a 16 MiB tmpfs the test can fill, after one round of requests.
    func onASmallDisk(_ body: (Setup, SmallFileSystem, ChildProcess, Int) async throws -> Void) async throws {
        try await stopping(Setup()) { setup throws in
            let mount = try SmallFileSystem(at: setup.directory.path("tmpfs"), size: "16m")
            defer { mount.unmount() }
            let (exporter, port) = try await setup.start(config: try setup.config(database: mount.path + "/store.sqlite"), name: "exporter")
            try await setup.round(port)
            try await body(setup, mount, exporter, port)
        }
    }

    @Test func aFullDiskIsSaidAndNothingObservedMeanwhileIsLostOrCountedTwice() async throws {
        try await onASmallDisk { setup, mount, exporter, port throws in
            try await setup.round(port)

            let filler = try mount.fill()
            setup.time.advance(by: .seconds(10))   // requests end: their observations cannot be written
            try await eventually("store_up 0") { await Self.storeUp(port) == 0 }
            let ready = try await http("http://127.0.0.1:\(port)/-/ready")
            #expect(ready.status == 503 && ready.text.contains("the store cannot write"), "\(ready.status) \(ready.text)")
            let tracked = try await Self.track(port, "777001")
            #expect(tracked.status == 503 && tracked.header("Retry-After") == "30", "\(tracked.status) \(tracked.text)")
            // Triggers are refused before any POST while the intent cannot be written.
            let refused = await Self.storeErrors(port, "trigger_intent")
            try await eventually("two more refused triggers") { await Self.storeErrors(port, "trigger_intent") >= refused + 2 }
            #expect(try await http("http://127.0.0.1:\(port)/-/healthy").status == 200)

            try FileManager.default.removeItem(atPath: filler)
            try await eventually("store_up 1") { await Self.storeUp(port) == 1 }
            #expect(try await http("http://127.0.0.1:\(port)/-/ready").status == 200)
            #expect(try await Self.track(port, "777001").status == 201)
            let untracked = try await http("http://127.0.0.1:\(port)/api/v1/requests/\(Self.tenant)/XDM41/777001", method: "DELETE",
                                           headers: ["Authorization": "Bearer \(Self.apiToken)"])
            #expect(untracked.status == 200, "\(untracked.text)")
            try await setup.round(port)
            try await Self.expectGroundTruth(setup, port)

            // Said when it started and when it ended, not once per failed write.
            await exporter.terminate()
            let log = exporter.stderr
            let lines = log.split(separator: "\n")
            #expect(lines.filter { $0.contains("store cannot write") }.count == 1, "\(log.suffix(3000))")
            #expect(lines.filter { $0.contains("store writes again") }.count == 1)
            #expect(lines.filter { $0.contains("level=error") }.count <= 2)
        }
    }

    /// SQLite held by another process (an exclusive transaction, as a hung filesystem or a
    /// stray tool would hold it): writes fail after SQLite's busy wait, so the store is
    /// down and not ready within the bound, nothing is triggered, and a SIGTERM meanwhile
    /// ends the process within 5 s without a crash; once released, counters are exact.
    @Test func aDatabaseHeldByAnotherProcessIsSeenAndShutdownStaysBounded() async throws {
        try await stopping(Setup()) { setup throws in
            let database = setup.directory.path("store.sqlite")
            let config = try setup.config(storage: "  path: \(database)\n  timeout: 2s", pollInterval: "200ms")
            var (exporter, port) = try await setup.start(config: config, name: "exporter")
            try await setup.round(port)
            let holder = try setup.processes.start("/usr/bin/python3", ["-c", """
                db = __import__("sqlite3").connect(__import__("sys").argv[1], isolation_level=None, timeout=30)
                db.execute("BEGIN EXCLUSIVE")
                print("held", flush=True)
                __import__("signal").pause()
                """, database], name: "holder")
            try await eventually("the other process holds the database") { holder.stdout.contains("held") }
            let heldAt = ContinuousClock.now
            try await eventually("store_up 0 and not ready", timeout: .seconds(40)) {
                guard await Self.storeUp(port) == 0 else { return false }
                return (try? await http("http://127.0.0.1:\(port)/-/ready").status) == 503
            }
            let seen = ContinuousClock.now - heldAt
            print("SQLite held by another process: store_up 0 and /-/ready 503 after \(seen)")
            let posts = setup.simulator.callCount(.trigger)
            let refused = await Self.storeErrors(port, "trigger_intent")
            try await eventually("two more refused triggers") { await Self.storeErrors(port, "trigger_intent") >= refused + 2 }
            #expect(setup.simulator.callCount(.trigger) == posts, "a POST was sent while the store could not record it")

            await Self.expectBoundedShutdown(exporter, "SQLite held by another process")

            await holder.kill9()
            (exporter, port) = try await setup.start(config: config, name: "exporter-again")
            try await setup.round(port)
            try await Self.expectGroundTruth(setup, port)
        }
    }

    @Test func aTriggerAnsweredWhileTheDiskIsFullIsStoredOnceItHasSpace() async throws {
        try await onASmallDisk { setup, mount, _, port throws in
            // The next POST is answered 4 s late: its intent is stored, then the disk fills.
            let posted = setup.simulator.callCount(.trigger)
            setup.simulator.inject(.slow(.seconds(4)), on: .trigger)
            try await eventually("the slow POST sent") { setup.simulator.callCount(.trigger) > posted }
            let filler = try mount.fill()
            try await eventually("its answer not stored") { await Self.storeErrors(port, "trigger_attempt") >= 1 }
            // The ingestion it started ends while the store still cannot write.
            setup.time.advance(by: .seconds(10))
            try FileManager.default.removeItem(atPath: filler)
            try await eventually("store_up 1") { await Self.storeUp(port) == 1 }
            try await setup.round(port)
            // Stored as Adobe answered it: followed and counted, not asked again and lost as unknown.
            try await Self.expectGroundTruth(setup, port)
            let metrics = try await scrape(port)
            for mapping in Self.mappings {
                #expect(metrics[series("acs_ingestion_triggers_total", Self.tenant, mapping, "result=\"unknown\"")] == 0)
            }
        }
    }

    @Test func aDeletedOrReplacedFileIsNoticedWithinOnePollInterval() async throws {
        try await stopping(Setup()) { setup throws in
            let database = setup.directory.path("store.sqlite")
            let (exporter, port) = try await setup.start(config: try setup.config(database: database, pollInterval: "1s"), name: "exporter")
            try await setup.round(port)

            try FileManager.default.linkItem(atPath: database, toPath: setup.directory.path("kept.sqlite"))
            let deleted = ContinuousClock.now
            try FileManager.default.removeItem(atPath: database)
            try await eventually("ready 503") { (try? await http("http://127.0.0.1:\(port)/-/ready"))?.status == 503 }
            let noticedAfter = ContinuousClock.now - deleted
            print("measured: a deleted database noticed after \(noticedAfter) (poll interval 1 s)")
            #expect(noticedAfter < .milliseconds(1500), "noticed after \(noticedAfter), the poll interval is 1 s")
            try await eventually("store_up 0") { await Self.storeUp(port) == 0 }
            #expect(exporter.stderr.contains("was deleted or moved while the exporter ran"))

            // Writes come (triggers, each second) and are refused; neither the file nor its WAL changes.
            let wal = FileManager.default.contents(atPath: database + "-wal")
            let kept = FileManager.default.contents(atPath: setup.directory.path("kept.sqlite"))
            let failures = await Self.storeErrors(port, "trigger_intent")
            setup.time.advance(by: .seconds(10))
            try await eventually("writes refused") { await Self.storeErrors(port, "trigger_intent") >= failures + 2 }
            #expect(FileManager.default.contents(atPath: database + "-wal") == wal)
            #expect(FileManager.default.contents(atPath: setup.directory.path("kept.sqlite")) == kept)

            // Put back, it is written again and nothing was lost.
            try FileManager.default.moveItem(atPath: setup.directory.path("kept.sqlite"), toPath: database)
            try await eventually("store_up 1") { await Self.storeUp(port) == 1 }
            try await Self.expectGroundTruth(setup, port)

            // Replaced by another file: refused too, with the reason on /-/ready.
            let other = setup.directory.path("other.sqlite")
            try FileManager.default.copyItem(atPath: database, toPath: other)
            try FileManager.default.removeItem(atPath: database)
            try FileManager.default.moveItem(atPath: other, toPath: database)
            try await eventually("ready 503, replaced") {
                (try? await http("http://127.0.0.1:\(port)/-/ready"))?.text.contains("replaced by another file") ?? false
            }
        }
    }

    @Test("a damaged database: one line, exit 1, the file untouched", arguments: DatabaseDamage.allCases)
    func aDamagedDatabaseIsRefused(_ damage: DatabaseDamage) async throws {
        try await stopping(Setup()) { setup throws in
            let database = setup.directory.path("store.sqlite")
            let (exporter, port) = try await setup.start(config: try setup.config(database: database), name: "first")
            try await setup.round(port)
            await exporter.terminate()
            try damage.apply(to: database)
            let before = FileManager.default.contents(atPath: database)

            let child = try setup.processes.start(Paths.binary, ["--config.file", try setup.config(database: database),
                                                                 "--web.listen-address", "127.0.0.1:0"], name: "second")
            #expect(await child.wait() == 1)
            let lines = child.stderr.split(separator: "\n")
            #expect(lines.count == 1, "\(child.stderr)")
            #expect(child.stderr.contains(database) && child.stderr.contains(damage == .empty ? "--storage.init" : "restore"),
                    "\(child.stderr)")
            #expect(FileManager.default.contents(atPath: database) == before)
        }
    }

    @Test func aSecondDaemonOnTheSameFileRefusesInUnderASecondAndReportStillWorks() async throws {
        try await stopping(Setup()) { setup throws in
            let database = setup.directory.path("store.sqlite")
            let config = try setup.config(database: database)
            let (first, port) = try await setup.start(config: config, name: "first")
            try await setup.round(port)

            let started = ContinuousClock.now
            let second = try setup.processes.start(Paths.binary, ["--config.file", config, "--web.listen-address", "127.0.0.1:0"],
                                                   name: "second")
            #expect(await second.wait(timeout: .seconds(5)) == 1)
            let took = ContinuousClock.now - started
            print("measured: a second daemon refused after \(took)")
            #expect(took < .seconds(1), "the second daemon took \(took) to refuse")
            #expect(second.stderr.split(separator: "\n").count == 1)
            #expect(second.stderr.contains(database) && second.stderr.contains("pid \(first.pid)"), "\(second.stderr)")

            let report = try setup.processes.start(Paths.binary, ["report", "--config.file", config, "--output", "csv"], name: "report")
            #expect(await report.wait() == 0, "\(report.stderr)")
            #expect(report.stdout.contains("XDM41"))
            #expect(first.process.isRunning)
        }
    }

    @Test func aBackupTakenWhileRequestsAreWrittenRestoresToItsTotalsExactly() async throws {
        try await stopping(Setup()) { setup throws in
            let database = setup.directory.path("live/store.sqlite")
            let (_, port) = try await setup.start(config: try setup.config(database: database), name: "exporter")
            try await setup.round(port)
            // Requests keep ending and being written while the copy is taken.
            let driving = Task {
                for _ in 0..<3 { try await setup.round(port) }
            }
            let backup = setup.directory.path("backup.sqlite")
            let command = try setup.processes.start(Paths.binary, ["backup", "--storage.path", database, "--output", backup], name: "backup")
            #expect(await command.wait() == 0, "\(command.stderr)")
            #expect(command.stdout.contains("quick_check ok"))
            try await driving.value
            let backedUp = try await SQLiteIngestionStore(readOnlyPath: backup).totals()
            #expect(!backedUp.outcomes.isEmpty)

            // Restored into a fresh directory, started against an Adobe that answers nothing
            // (so nothing can move the counters): they are the backup's, exactly.
            let fresh = setup.directory.path("fresh/store.sqlite")
            try FileManager.default.createDirectory(atPath: setup.directory.path("fresh"), withIntermediateDirectories: true)
            let restore = try setup.processes.start(Paths.binary, ["restore", "--storage.path", fresh, "--input", backup], name: "restore")
            #expect(await restore.wait() == 0, "\(restore.stderr)")
            let nowhere = try await freePort()
            let (_, restoredPort) = try await setup.start(
                config: try setup.config(database: fresh, apiURL: "http://127.0.0.1:\(nowhere)"), name: "restored")
            let metrics = try await scrape(restoredPort)
            for mapping in Self.mappings {
                let key = MappingKey(tenant: Self.tenant, mapping: mapping)
                let requests = backedUp.requests(of: key)
                for status in FinalStatus.allCases {
                    #expect(metrics[series("acs_ingestion_requests_total", Self.tenant, mapping, "status=\"\(status.label)\"")]
                            == Double(requests[status] ?? 0), "\(mapping) \(status.label)")
                }
                #expect(metrics[series("acs_ingestion_records_ingested_total", Self.tenant, mapping)] == Double(backedUp.recordsIngested(of: key)))
                #expect(metrics[series("acs_ingestion_requests_in_progress", Self.tenant, mapping)]
                        == Double(backedUp.open.filter { $0.key == key }.count))
            }
            // Restoring under the running exporter is refused, naming it.
            let refused = try setup.processes.start(Paths.binary, ["restore", "--storage.path", fresh, "--input", backup], name: "refused")
            #expect(await refused.wait() == 1)
            #expect(refused.stderr.contains("restore refused") && refused.stderr.contains("in use"), "\(refused.stderr)")
        }
    }
}
