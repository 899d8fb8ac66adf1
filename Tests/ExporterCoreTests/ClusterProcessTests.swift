import AdobeSimulator
import Foundation
import IngestionModel
import TestSupport
import Testing

/// Three replicas of the real binary (`cluster.enabled`) on one PostgreSQL, six
/// tenants, the simulator in real time: one owner per tenant, takeover after kill -9
/// and SIGSTOP within the lease's TTL and a poll interval, no POST from a replica that
/// lost its lease, no trigger early or skipped, and counters equal to the simulator's
/// ground truth. Each replica has its own client id, so POSTs are attributed to it.
@Suite("Replicas of a cluster (the binary)", .serialized)
struct ClusterProcessTests {
    static let tenants = (1...6).map { "ha-t\($0)" }
    /// Triggered every `every` by whichever replica runs the tenant.
    static let scheduled = "XDM1"
    /// Not scheduled: for trigger-now, and for a request triggered elsewhere and tracked.
    static let triggeredNow = "XDM98", trackedOnly = "XDM99"
    static let every = 3.0, ttl = 3.0, poll = 1.0
    static let instance = "acs-ha"
    static let secret = "ha-secret-71c2"
    static let apiToken = "ha-api-token-0d4e"
    /// A client id of the test's own, for a POST no replica made.
    static let outsider = "ha-outsider"

    init() throws {
        try #require(FileManager.default.isExecutableFile(atPath: Paths.binary), "run `swift build` first: no \(Paths.binary)")
    }

    /// One replica process: its name, client id and port.
    struct Replica: Sendable {
        let name: String
        let clientID: String
        let port: Int
        let child: ChildProcess
        var alive: Bool { child.process.isRunning }
    }

    /// The simulator (real time), PostgreSQL, the configuration, and the replicas started from it.
    final class Cluster: AsyncStoppable, @unchecked Sendable {
        // @unchecked: `replicas` is only touched under `lock`.
        let simulator: AdobeSimulator
        let server: PostgresServer
        let directory: TemporaryDirectory
        let processes: ChildProcesses
        let config: String
        private var replicas: [Replica] = []
        private let lock = NSLock()

        /// Starts PostgreSQL and the simulator and writes the configuration; whatever it
        /// started is stopped again when a later step fails.
        static func start() async throws -> Cluster {
            var scenario = Scenario(tenants: ClusterProcessTests.tenants.map { tenant in
                Scenario.Tenant(name: tenant, mappings: [scheduled, triggeredNow, trackedOnly].map { id in
                    var m = Scenario.Mapping(id: id)
                    m.duration = .seconds(1) ... .seconds(2)
                    m.records = 10...900
                    m.outcomes = [.success: 0.6, .failedToFetch: 0.2, .failedToUpload: 0.1, .aborted: 0.1]
                    return m
                })
            })
            scenario.credentials = ["a", "b", "c"].map { .init(clientID: "ha-client-\($0)", clientSecret: secret) }
                + [.init(clientID: outsider, clientSecret: secret)]
            let server = try await PostgresServer.started()
            let directory: TemporaryDirectory, simulator: AdobeSimulator
            do {
                directory = try TemporaryDirectory()
                simulator = try AdobeSimulator(scenario: scenario)
            } catch {
                await server.destroy()
                throw error
            }
            do {
                return try Cluster(simulator: simulator, server: server, database: try await server.createDatabase(), directory: directory)
            } catch {
                await simulator.stop()
                await server.destroy()
                directory.cleanUp()
                throw error
            }
        }

        private init(simulator: AdobeSimulator, server: PostgresServer, database: String, directory: TemporaryDirectory) throws {
            (self.simulator, self.server, self.directory) = (simulator, server, directory)
            processes = ChildProcesses(directory: directory)
            let passwordFile = try directory.write("pg-password", server.password + "\n")
            let secretFile = try directory.write("secret", secret + "\n")
            let tokenFile = try directory.write("api-token", apiToken + "\n")
            let tenantsYAML = ClusterProcessTests.tenants.map { tenant in
                """
                  - name: \(tenant)
                    api_url: \(simulator.baseURL)
                    ims_token_url: \(simulator.tokenURL)
                    client_id: ${ACS_CLIENT_ID}
                    client_secret_file: \(secretFile)
                    mappings:
                      - id: \(scheduled)
                        trigger_every: \(Int(every))s
                      - id: \(triggeredNow)
                      - id: \(trackedOnly)
                """
            }.joined(separator: "\n")
            config = try directory.write("config.yml", """
            tenants:
            \(tenantsYAML)
            collector:
              poll_interval: \(Int(poll))s
              max_requests_per_second: 1000
            api:
              token_file: \(tokenFile)
            storage:
              driver: postgres
              url: \(server.url(database: database, sslMode: "verify-full", sslRootCert: server.caCertificate, host: "localhost"))
              password_file: \(passwordFile)
            cluster:
              enabled: true
              name: \(instance)
              replica_name: ${ACS_REPLICA_NAME}
              lease_ttl: \(Int(ttl))s
            """)
        }

        /// Starts replica `letter` (client id `ha-client-<letter>`) and waits until it is ready.
        @discardableResult
        func start(_ letter: String, run: Int = 1) async throws -> Replica {
            let port = try await freePort()
            let name = "replica-\(letter)"
            let child = try processes.start(Paths.binary, ["--config.file", config, "--web.listen-address", "127.0.0.1:\(port)",
                                                           "--log.level", "debug", "--log.format", "json"],
                                            name: "\(name)-\(run)",
                                            environment: ["ACS_CLIENT_ID": "ha-client-\(letter)", "ACS_REPLICA_NAME": name])
            try await eventually("\(name) ready", timeout: .seconds(30)) {
                (try? await http("http://127.0.0.1:\(port)/-/ready").status) == 200
            }
            let replica = Replica(name: name, clientID: "ha-client-\(letter)", port: port, child: child)
            lock.withLock {
                replicas.removeAll { $0.name == name }
                replicas.append(replica)
            }
            return replica
        }

        var live: [Replica] { lock.withLock { replicas.filter(\.alive) } }
        func replica(_ name: String) -> Replica? { lock.withLock { replicas.first { $0.name == name } } }

        func stop() async {
            await processes.stop()
            await simulator.stop()
            // ACS_KEEP_LOGS=dir keeps the replicas' logs, to read after a failure.
            if let keep = ProcessInfo.processInfo.environment["ACS_KEEP_LOGS"] {
                try? FileManager.default.createDirectory(atPath: keep, withIntermediateDirectories: true)
                for file in (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? [] where file.hasSuffix(".err") {
                    try? FileManager.default.removeItem(atPath: keep + "/" + file)
                    try? FileManager.default.copyItem(atPath: directory.path(file), toPath: keep + "/" + file)
                }
            }
            await server.destroy()
            directory.cleanUp()
        }
    }

    /// What one replica's /metrics says: the tenants it owns, and the tenants whose series it shows.
    struct View {
        let replica: String
        let metrics: Exposition
        var owned: Set<String> {
            Set(tenants.filter { metrics["acs_ingestion_tenant_owner{tenant=\"\($0)\"}"] == 1 })
        }
        /// Tenants with an ingestion series here (`acs_ingestion_up`).
        var shown: Set<String> {
            Set(tenants.filter { metrics["acs_ingestion_up{tenant=\"\($0)\",instance=\"\(instance)\"}"] != nil })
        }
    }

    /// The views of every live replica that answers (a stopped process does not).
    static func views(_ replicas: [Replica]) async -> [View] {
        var views: [View] = []
        for replica in replicas {
            guard let answer = try? await http("http://127.0.0.1:\(replica.port)/metrics", timeout: 1), answer.status == 200 else { continue }
            views.append(View(replica: replica.name, metrics: Exposition(answer.text)))
        }
        return views
    }

    /// Each tenant's owners, as the replicas say.
    static func owners(_ views: [View]) -> [String: [String]] {
        var owners: [String: [String]] = [:]
        for view in views { for tenant in view.owned { owners[tenant, default: []].append(view.replica) } }
        return owners
    }

    /// Every tenant owned by exactly one of `replicas`, which alone shows its series,
    /// and (when `balanced`) no replica owning more than its share.
    static func settled(_ views: [View], among replicas: Set<String>, balanced: Bool = true) -> Bool {
        let owners = owners(views)
        let share = (tenants.count + replicas.count - 1) / replicas.count
        return tenants.allSatisfy { owners[$0]?.count == 1 && replicas.contains(owners[$0]![0]) }
            && views.allSatisfy { $0.owned == $0.shown && (!balanced || $0.owned.count <= share) }
    }

    static func series(_ name: String, _ tenant: String, _ mapping: String, _ extra: String = "") -> String {
        "\(name){tenant=\"\(tenant)\",mapping=\"\(mapping)\",instance=\"\(instance)\"\(extra.isEmpty ? "" : "," + extra)}"
    }

    /// Waits until `lost` are all owned by replicas other than `gone`; returns each one's takeover time from `since`.
    static func takeover(of lost: Set<String>, from gone: String, since: ContinuousClock.Instant,
                         _ cluster: Cluster) async throws -> [String: Duration] {
        var taken: [String: Duration] = [:]
        try await eventually("\(lost.sorted()) taken over from \(gone)", timeout: .seconds(ttl + poll + 10)) {
            let views = await views(cluster.live.filter { $0.name != gone })
            let owners = owners(views)
            for tenant in lost where taken[tenant] == nil && owners[tenant]?.count == 1 {
                taken[tenant] = ContinuousClock.now - since
            }
            return taken.count == lost.count
        }
        return taken
    }

    @Test func threeReplicasShareSixTenantsAndFailOverWithoutDoubleOrLostTriggers() async throws {
        try await Self.shareAndFailOver()
    }

    /// The scenario of the test above (static: the suite's constants are).
    static func shareAndFailOver() async throws {
        try await stopping(try await Cluster.start()) { cluster throws in
            let simulator = cluster.simulator
            for letter in ["a", "b", "c"] { try await cluster.start(letter) }
            let names = Set(cluster.live.map(\.name))
            try await eventually("every tenant owned by one replica, two each", timeout: .seconds(30)) {
                Self.settled(await Self.views(cluster.live), among: names)
            }
            let first = await views(cluster.live)
            #expect(first.allSatisfy { $0.owned.count == 2 }, "\(first.map { ($0.replica, $0.owned.sorted()) })")
            #expect(first.allSatisfy { $0.metrics["acs_ingestion_cluster_replica_info{replica_name=\"\($0.replica)\"}"] == 1 })
            try await eventually("two POSTs of every scheduled mapping", timeout: .seconds(30)) {
                tenants.allSatisfy { simulator.posts(tenant: $0, mapping: scheduled).count >= 2 }
            }

            // kill -9 of an owner: its tenants are taken within TTL + one poll interval.
            let victim = try #require(cluster.replica("replica-a"))
            let victimTenants = try #require(first.first { $0.replica == victim.name }).owned
            let killedAt = ContinuousClock.now
            victim.child.signal(SIGKILL)
            let killTakeover = try await Self.takeover(of: victimTenants, from: victim.name, since: killedAt, cluster)
            let worstKill = killTakeover.values.max()!
            print("cluster: kill -9 of \(victim.name): \(victimTenants.sorted()) taken over after "
                  + killTakeover.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
            #expect(worstKill <= .seconds(ttl + poll) + .milliseconds(500), "takeover after kill -9 took \(worstKill)")
            try await eventually("two replicas hold every tenant", timeout: .seconds(20)) {
                Self.settled(await Self.views(cluster.live), among: Set(cluster.live.map(\.name)))
            }

            // It comes back: the tenants spread over three again.
            try await cluster.start("a", run: 2)
            try await eventually("balanced again over three replicas", timeout: .seconds(30)) {
                Self.settled(await Self.views(cluster.live), among: names)
            }

            // SIGSTOP of an owner past its TTL, then SIGCONT: no POST, nothing recorded, for the tenants it lost.
            let paused = try #require(cluster.replica("replica-b"))
            let pausedTenants = try #require(await Self.views([paused]).first).owned
            try #require(!pausedTenants.isEmpty)
            let stoppedAt = ContinuousClock.now
            paused.child.signal(SIGSTOP)
            let pauseTakeover = try await Self.takeover(of: pausedTenants, from: paused.name, since: stoppedAt, cluster)
            print("cluster: SIGSTOP of \(paused.name): \(pausedTenants.sorted()) taken over after "
                  + pauseTakeover.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
            #expect(pauseTakeover.values.max()! <= .seconds(ttl + poll) + .milliseconds(500))
            let resumedAt = Date()
            paused.child.signal(SIGCONT)
            try await eventually("\(paused.name) gives up the tenants it lost", timeout: .seconds(20)) {
                let log = paused.child.stderr
                return pausedTenants.allSatisfy { tenant in Self.logLines(log).contains { $0.msg == "tenant given up" && $0.tenant == tenant } }
            }
            try await eventually("balanced again after the pause", timeout: .seconds(30)) {
                Self.settled(await Self.views(cluster.live), among: names)
            }
            let retaken = Self.logLines(paused.child.stderr).filter { $0.msg == "tenant taken" }
            for tenant in pausedTenants {
                // Until it took the tenant again under a new lease, the paused replica sent nothing for it.
                let until = retaken.filter { $0.tenant == tenant && $0.at > resumedAt }.map(\.at).min() ?? .distantFuture
                for mapping in [scheduled, triggeredNow, trackedOnly] {
                    let stray = simulator.posts(tenant: tenant, mapping: mapping)
                        .filter { $0.clientID == paused.clientID && $0.at >= resumedAt && $0.at < until }
                    #expect(stray.isEmpty, "\(paused.name) POSTed \(tenant)/\(mapping) after its lease lapsed: \(stray)")
                }
                let recorded = Self.logLines(paused.child.stderr).filter {
                    $0.tenant == tenant && $0.at >= resumedAt && $0.at < until
                        && ["ingestion triggered", "ingestion refused", "ingestion request ended"].contains($0.msg)
                }
                #expect(recorded.isEmpty, "\(paused.name) recorded for \(tenant) after its lease lapsed: \(recorded.map(\.msg))")
            }

            // A trigger-now and a track call on replicas that do not own the tenant: one POST, tracked once.
            let tenant = tenants[0]
            let current = await Self.views(cluster.live)
            let owner = try #require(Self.owners(current)[tenant]?.first)
            let others = cluster.live.filter { $0.name != owner }
            try #require(others.count == 2)
            let triggered = try await http("http://127.0.0.1:\(others[0].port)/api/v1/tenants/\(tenant)/mappings/\(triggeredNow)/ingest",
                                           method: "POST", headers: ["Authorization": "Bearer \(apiToken)"], timeout: 30)
            #expect(triggered.status == 201, "\(triggered.status) \(triggered.text)")
            let triggerPosts = simulator.posts(tenant: tenant, mapping: triggeredNow)
            #expect(triggerPosts.count == 1 && triggerPosts.first?.clientID == cluster.replica(owner)?.clientID, "\(triggerPosts)")
            let requestID = try #require(
                (try JSONSerialization.jsonObject(with: triggered.body) as? [String: Any])?["requestId"] as? String)
            let again = try await Self.track(others[1].port, tenant, triggeredNow, requestID)
            #expect(again.status == 200, "tracking the triggered request again: \(again.status) \(again.text)")

            simulator.setMapping(tenant: tenant, mapping: trackedOnly, duration: .seconds(5) ... .seconds(5))
            let external = try await Self.postAtSimulator(simulator, tenant, trackedOnly)
            let tracked = try await Self.track(others[1].port, tenant, trackedOnly, external)
            #expect(tracked.status == 201, "\(tracked.status) \(tracked.text)")
            // The owner shows it in progress from its next cycle, though another replica tracked it.
            let shownInProgress = await eventually(timeout: .seconds(4)) {
                await Self.views(cluster.live).first { $0.owned.contains(tenant) }?
                    .metrics[Self.series("acs_ingestion_requests_in_progress", tenant, trackedOnly)] == 1
            }
            #expect(shownInProgress, "the owner does not show the request tracked through another replica in progress")
            #expect(try await Self.track(others[0].port, tenant, trackedOnly, external).status == 200)
            for (mapping, id) in [(triggeredNow, requestID), (trackedOnly, external)] {
                var seen = ""
                let counted = await eventually(timeout: .seconds(20)) {
                    let metrics = await Self.views(cluster.live).first { $0.owned.contains(tenant) }?.metrics
                    seen = metrics?.text.split(separator: "\n").filter { $0.contains("\"\(tenant)\",mapping=\"\(mapping)\"") && !$0.contains("bucket") }
                        .joined(separator: "\n") ?? "no owner"
                    return (metrics?[Self.series("acs_ingestion_requests_in_progress", tenant, mapping)] ?? 1) == 0
                        && Self.statuses.reduce(0) { $0 + (metrics?[Self.series("acs_ingestion_requests_total", tenant, mapping, "status=\"\($1)\"")] ?? 0) } == 1
                }
                #expect(counted, "\(mapping) \(id) not counted by the owner: \(seen)")
                let listed = try await http("http://127.0.0.1:\(others[0].port)/api/v1/requests?tenant=\(tenant)&mapping=\(mapping)")
                let requests = (try JSONSerialization.jsonObject(with: listed.body) as? [String: Any])?["requests"] as? [Any]
                #expect(requests?.count == 1, "\(listed.text)")
            }
            #expect(simulator.posts(tenant: tenant, mapping: triggeredNow).count == 1)
            #expect(simulator.posts(tenant: tenant, mapping: trackedOnly).count == 1)

            // The end: mappings unpublished, so POSTs start nothing; every counter equals the ground truth.
            for tenant in tenants { for mapping in [scheduled, triggeredNow, trackedOnly] {
                simulator.setMapping(tenant: tenant, mapping: mapping, published: false)
            } }
            try await eventually("every request of the simulator ended", timeout: .seconds(10)) {
                simulator.requests().allSatisfy { $0.status(at: Date()).isTerminal }
            }
            var last: [String] = []
            let agreed = await eventually(timeout: .seconds(30)) {
                let before = Self.postCounts(simulator)
                let views = await Self.views(cluster.live)
                last = Self.differences(views, simulator)
                return last.isEmpty && Self.postCounts(simulator) == before
            }
            #expect(agreed, "counters differ from the simulator's ground truth: \(last)")

            // Over the whole run: no scheduled mapping POSTed twice within its period, none late beyond TTL + poll interval.
            for tenant in tenants {
                let times = simulator.posts(tenant: tenant, mapping: scheduled).map(\.at)
                for (earlier, later) in zip(times, times.dropFirst()) {
                    let gap = later.timeIntervalSince(earlier)
                    #expect(gap >= every - 0.05, "\(tenant): two POSTs \(gap) s apart, closer than trigger_every \(every) s")
                    #expect(gap <= every + ttl + poll + 0.5, "\(tenant): a POST \(gap) s after the previous one: a trigger skipped")
                }
            }
            let gaps = tenants.flatMap { tenant in
                let times = simulator.posts(tenant: tenant, mapping: scheduled).map(\.at)
                return zip(times, times.dropFirst()).map { $1.timeIntervalSince($0) }
            }
            print("cluster: \(gaps.count + tenants.count) scheduled POSTs, gaps from \(gaps.min() ?? 0) to \(gaps.max() ?? 0) s")

            // SIGTERM: the leases are released on the way out, taken by the others at their next step, before the TTL.
            let leaving = try #require(cluster.replica("replica-c"))
            let leavingTenants = try #require(await Self.views([leaving]).first).owned
            let terminatedAt = ContinuousClock.now, terminatedOn = Date()
            leaving.child.signal(SIGTERM)
            let handedOver = try await Self.takeover(of: leavingTenants, from: leaving.name, since: terminatedAt, cluster)
            print("cluster: SIGTERM of \(leaving.name): \(leavingTenants.sorted()) taken over after "
                  + handedOver.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
            #expect(handedOver.values.max()! < .seconds(ttl), "leases not released on SIGTERM: taken over after \(handedOver)")
            #expect(await leaving.child.wait() == 0)
            // Its workers ended their cycle first: no trigger left for the next owner to ask Adobe about again.
            for replica in cluster.live {
                let resolved = Self.logLines(replica.child.stderr).filter {
                    $0.at >= terminatedOn && $0.msg.hasPrefix("a trigger's answer was never stored") && leavingTenants.contains($0.tenant ?? "")
                }
                #expect(resolved.isEmpty, "\(replica.name) found a trigger \(leaving.name) left unrecorded")
            }

            for replica in cluster.live { #expect(!replica.child.stderr.contains(secret) && !replica.child.stderr.contains(cluster.server.password)) }
        }
    }

    static let statuses = ["success", "failed", "aborted", "abandoned"]

    /// POSTs by the replicas (not the test's own), per mapping.
    static func postCounts(_ simulator: AdobeSimulator) -> [String: Int] {
        var counts: [String: Int] = [:]
        for tenant in tenants { for mapping in [scheduled, triggeredNow, trackedOnly] {
            counts["\(tenant)/\(mapping)"] = simulator.posts(tenant: tenant, mapping: mapping).filter { $0.clientID != outsider }.count
        } }
        return counts
    }

    /// Where the replicas' counters differ from the simulator's ground truth: each tenant's
    /// series shown by its owner alone, each request counted once, each POST once.
    static func differences(_ views: [View], _ simulator: AdobeSimulator) -> [String] {
        var found: [String] = []
        let now = Date()
        for tenant in tenants {
            let showing = views.filter { $0.shown.contains(tenant) }
            guard showing.count == 1, let metrics = showing.first?.metrics else {
                found.append("\(tenant) shown by \(showing.map(\.replica))")
                continue
            }
            for mapping in [scheduled, triggeredNow, trackedOnly] {
                let made = simulator.requests().filter { $0.tenant == tenant && $0.mapping == mapping }
                let ended = made.filter { $0.status(at: now).isTerminal }
                func count(_ outcomes: [Scenario.Outcome]) -> Double { Double(ended.filter { outcomes.contains($0.outcome) }.count) }
                let posts = simulator.posts(tenant: tenant, mapping: mapping)
                let byReplicas = Double(posts.filter { $0.clientID != outsider }.count)
                let triggers = metrics.samples.filter { $0.key.hasPrefix(String(series("acs_ingestion_triggers_total", tenant, mapping).dropLast()) + ",result=") }
                // A replica killed between a POST and its record leaves an intent the next owner
                // resolves by POSTing again: "already in progress" adopts the request, any other
                // answer counts the lost POST `unknown` (what it started cannot be known, as
                // designed). Each such request is then missing from the counts, once.
                let unknown = metrics[series("acs_ingestion_triggers_total", tenant, mapping, "result=\"unknown\"")] ?? 0
                if unknown > 0 {
                    let statusSeries = statuses.map { series("acs_ingestion_requests_total", tenant, mapping, "status=\"\($0)\"") }
                    let seen = statusSeries.reduce(0) { $0 + (metrics[$1] ?? 0) }
                        + (metrics[series("acs_ingestion_requests_in_progress", tenant, mapping)] ?? 0)
                    let submitted = metrics[series("acs_ingestion_triggers_total", tenant, mapping, "result=\"submitted\"")] ?? 0
                    let byOutsider = Double(posts.filter { $0.clientID == outsider }.count)
                    if seen != Double(made.count) - unknown || submitted != Double(made.count) - byOutsider - unknown {
                        found.append("\(tenant)/\(mapping): \(seen) requests seen and \(submitted) submitted with \(unknown) lost POSTs, "
                                     + "\(made.count) made (\(byOutsider) by the outsider)")
                    }
                    let counted = triggers.values.reduce(0, +)
                    if counted != byReplicas { found.append("\(tenant)/\(mapping): \(counted) triggers counted, \(byReplicas) POSTs") }
                    continue
                }
                let expected: [(String, Double)] = [
                    (series("acs_ingestion_requests_total", tenant, mapping, "status=\"success\""), count([.success])),
                    (series("acs_ingestion_requests_total", tenant, mapping, "status=\"failed\""), count([.failedToFetch, .failedToUpload])),
                    (series("acs_ingestion_requests_total", tenant, mapping, "status=\"aborted\""), count([.aborted])),
                    (series("acs_ingestion_records_ingested_total", tenant, mapping),
                     Double(ended.filter { $0.outcome == .success }.map(\.records).reduce(0, +))),
                    (series("acs_ingestion_requests_in_progress", tenant, mapping), Double(made.count - ended.count)),
                    (series("acs_ingestion_triggers_total", tenant, mapping, "result=\"submitted\""),
                     Double(made.count - posts.filter { $0.clientID == outsider }.count)),
                ]
                for (name, value) in expected where metrics[name] != value {
                    found.append("\(name) = \(metrics[name].map { String($0) } ?? "absent"), truth \(value)")
                }
                let counted = triggers.values.reduce(0, +)
                if counted != byReplicas { found.append("\(tenant)/\(mapping): \(counted) triggers counted, \(byReplicas) POSTs") }
            }
        }
        return found
    }

    /// The exporter's JSON log lines: message, tenant, time.
    struct LogLine {
        let msg: String
        let tenant: String?
        let at: Date
    }

    static func logLines(_ text: String) -> [LogLine] {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let plain = ISO8601DateFormatter()
        return text.split(separator: "\n").compactMap { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String],
                  let msg = object["msg"], let ts = object["ts"], let at = formatter.date(from: ts) ?? plain.date(from: ts) else { return nil }
            return LogLine(msg: msg, tenant: object["tenant"], at: at)
        }
    }

    static func track(_ port: Int, _ tenant: String, _ mapping: String, _ requestID: String) async throws -> HTTPAnswer {
        try await http("http://127.0.0.1:\(port)/api/v1/requests", method: "POST",
                       body: Data(#"{"tenant":"\#(tenant)","mapping":"\#(mapping)","requestId":"\#(requestID)"}"#.utf8),
                       headers: ["Authorization": "Bearer \(apiToken)", "Content-Type": "application/json"])
    }

    /// An ingestion started at Adobe by someone else (the test, with a client id of its own); returns its request id.
    static func postAtSimulator(_ simulator: AdobeSimulator, _ tenant: String, _ mapping: String) async throws -> String {
        let form = "grant_type=client_credentials&client_id=\(outsider)&client_secret=\(secret)"
        let token = try await http(simulator.tokenURL, method: "POST", body: Data(form.utf8),
                                   headers: ["Content-Type": "application/x-www-form-urlencoded"])
        let accessToken = try #require((try JSONSerialization.jsonObject(with: token.body) as? [String: Any])?["access_token"] as? String)
        let posted = try await http("\(simulator.baseURL)/\(tenant)/campaign/dataIngestion/xdmIngestion/\(mapping)/ingest", method: "POST",
                                    headers: ["Authorization": "Bearer \(accessToken)", "x-api-key": outsider])
        let requestID = try #require(simulator.requests().first { $0.tenant == tenant && $0.mapping == mapping }?.requestID,
                                     "no request made: \(posted.text)")
        return String(requestID)
    }
}
