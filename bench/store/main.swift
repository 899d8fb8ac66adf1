// Measures the stores side by side for bench/store.sh. Not part of the exporter.
//   acs-bench-store seed    (--sqlite PATH | --postgres URL --password-file F) --requests N [--mappings M] [--tenant-names a,b,…]
//   acs-bench-store startup (…store…)                    opening + totals(), as the daemon's start-up
//   acs-bench-store report  (…store…) [--period day]     the capacity report over the whole history
//   acs-bench-store observe (…store…) [--open 1000] [--rounds 20] [--concurrency 4] [--server-pid PID] [--fenced 1]
//                                      --fenced 1: through a lease's fenced store, as a cluster's replica (PostgreSQL)
// Each prints one line of `name=value` figures.
import Foundation
import IngestionModel
import IngestionStore
import PostgresStore
import SQLiteStore

let bounds: [Double] = [30, 60, 120, 300, 600, 1800, 3600, 7200, 14400, 43200, 86400]
let command = CommandLine.arguments.dropFirst().first ?? ""
let options: [String: String] = {
    var options: [String: String] = [:]
    var arguments = CommandLine.arguments.dropFirst(2)
    while let name = arguments.popFirst(), name.hasPrefix("--"), let value = arguments.popFirst() {
        options[String(name.dropFirst(2))] = value
    }
    return options
}()

func usage() -> Never {
    FileHandle.standardError.write(Data("usage: acs-bench-store seed|startup|report|observe (--sqlite PATH | --postgres URL --password-file F) …\n".utf8))
    exit(2)
}

func openStore() async throws -> any IngestionStore {
    if let path = options["sqlite"] { return try SQLiteIngestionStore(path: path, durationBounds: bounds) }
    guard let url = options["postgres"] else { usage() }
    let password = try options["password-file"].map { try String(contentsOfFile: $0, encoding: .utf8).trimmingCharacters(in: .newlines) }
    let configuration = try PostgresConfiguration(url: url, password: password, poolSize: Int(options["pool"] ?? "4") ?? 4)
    return try await PostgresIngestionStore.connect(configuration, durationBounds: bounds)
}

/// User plus system CPU seconds of this process.
func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
}

/// CPU seconds of a server's processes (the postmaster's children: backends, writers), from /proc.
func serverCPUSeconds(_ postmaster: Int32) -> [Int32: Double] {
    var result: [Int32: Double] = [:]
    let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
    for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
        guard let pid = Int32(entry), let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { continue }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // After the command: state, ppid, …; utime and stime are fields 14 and 15 of the whole line.
        guard fields.count > 13, Int32(fields[1]) == postmaster, let user = Double(fields[11]), let system = Double(fields[12]) else { continue }
        result[pid] = (user + system) / ticks
    }
    return result
}

/// `--fenced 1`: the store's lease of `tenant`, for an hour (released at the end).
func takeLease(of tenant: String, in store: any IngestionStore) async throws -> (leases: any LeaseStore, lease: TenantLease) {
    guard let leases = store as? any LeaseStore,
          let lease = try await leases.acquireLease(tenant: tenant, replica: "acs-bench-store", ttl: .seconds(3600)) else {
        FileHandle.standardError.write(Data("--fenced 1 needs a PostgreSQL store whose lease of \(tenant) is free\n".utf8))
        exit(2)
    }
    return (leases, lease)
}

let clock = ContinuousClock()
func seconds(_ duration: Duration) -> String {
    String(format: "%.3f", Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18)
}

switch command {
case "seed":
    guard let count = options["requests"].flatMap(Int.init) else { usage() }
    let mappings = Int(options["mappings"] ?? "100") ?? 100
    let store = try await openStore()
    // Mapping i is XDM<i / tenants + 1> of tenant i % tenants: with --tenant-names, the mappings of a config.
    let tenants = options["tenant-names"].map { $0.split(separator: ",").map(String.init) } ?? (0..<4).map { "bench-tenant-\($0)" }
    guard !tenants.isEmpty else { usage() }
    let keys = (0..<mappings).map { MappingKey(tenant: tenants[$0 % tenants.count], mapping: "XDM\($0 / tenants.count + 1)") }
    let start = Date().addingTimeInterval(-Double(count) * 30)
    let failures = ["Mapping Id: X. ACP-880056 Failed to fetch the record from the database.",
                    "Mapping Id: X. ACP-880096 Sync Job failed to upload."]
    let began = clock.now
    var batch: [TrackedRequest] = []
    for index in 0..<count {
        let first = start.addingTimeInterval(Double(index) * 30)
        let status: IngestionStatus = index % 7 == 5 ? .failed : index % 7 == 6 ? .aborted : .success
        let info = status == .failed ? failures[index % 2] : nil
        let done = first.addingTimeInterval(Double(30 + index % 3000) + 0.25)
        batch.append(TrackedRequest(key: keys[index % keys.count], requestID: RequestID(index), origin: .triggered, firstSeen: first,
                                    lastPolled: done, status: status, numRecords: status == .success ? 100 + index % 900 : 0,
                                    info: info, acpCode: ACPCode.find(in: info), finishedAt: done))
        if batch.count == 20_000 {
            try await store.importHistory(batch)
            batch.removeAll(keepingCapacity: true)
        }
    }
    try await store.importHistory(batch)
    print("seeded=\(count) seconds=\(seconds(clock.now - began))")
    await store.close()

case "startup":
    let began = clock.now
    let store = try await openStore()
    let totals = try await store.totals()
    print("startup_seconds=\(seconds(clock.now - began)) outcome_rows=\(totals.outcomes.count) open=\(totals.open.count)")
    await store.close()

case "report":
    let period = ReportPeriod(rawValue: options["period"] ?? "day") ?? .day
    let store = try await openStore()
    let began = clock.now
    let rows = try await store.report(period: period, from: nil, to: nil)
    print("report_seconds=\(seconds(clock.now - began)) rows=\(rows.count)")
    await store.close()

case "observe":
    // One exporter polling `open` requests, `concurrency` at a time (max_concurrent_requests):
    // most polls see no change, some see progress, one in twenty an end, and a new request
    // takes the place of each that ended.
    let open = Int(options["open"] ?? "1000") ?? 1000
    let rounds = Int(options["rounds"] ?? "20") ?? 20
    let concurrency = Int(options["concurrency"] ?? "4") ?? 4
    let key = MappingKey(tenant: "bench-observe", mapping: "XDM1")
    let opened = try await openStore()
    let held = options["fenced"] == "1" ? try await takeLease(of: key.tenant, in: opened) : nil
    let store = held.map { $0.leases.fenced(by: $0.lease, margin: .seconds(1)) } ?? opened
    let now = Date()
    var rows: [Int64] = []
    for index in 0..<open {
        rows.append(try await store.track(key, requestID: RequestID("o\(index)"), origin: .triggered, at: now).request.rowID)
    }
    var reported = [Int](repeating: 0, count: open)
    var nextID = open
    let server = options["server-pid"].flatMap(Int32.init)
    let serverBefore = server.map(serverCPUSeconds) ?? [:]
    let cpuBefore = cpuSeconds()
    let began = clock.now
    var observations = 0
    for round in 1...rounds {
        let at = now.addingTimeInterval(Double(round) * 30)
        let results = try await withThrowingTaskGroup(of: (Int, Bool).self) { group in
            var ended: [Int] = []
            for (slot, row) in rows.enumerated() {
                if slot >= concurrency, let (done, finished) = try await group.next(), finished { ended.append(done) }
                let kind = (slot + round * 7) % 20 // 0: ends; 1-3: progress; else the same as last time
                let status: IngestionStatus = kind == 0 ? .success : .inProgress
                if kind < 4 { reported[slot] += 10 }
                let records = reported[slot]
                group.addTask {
                    let result = try await store.recordObservation(row, report: StatusReport(requestID: nil, status: status, numRecords: records),
                                                                   at: at)
                    if case .finished = result { return (slot, true) }
                    return (slot, false)
                }
            }
            for try await (done, finished) in group where finished { ended.append(done) }
            return ended
        }
        observations += rows.count
        for slot in results {
            reported[slot] = 0
            rows[slot] = try await store.track(key, requestID: RequestID("o\(nextID)"), origin: .triggered, at: at).request.rowID
            nextID += 1
        }
    }
    let elapsed = clock.now - began
    let cpu = cpuSeconds() - cpuBefore
    var line = "observations=\(observations) seconds=\(seconds(elapsed)) "
        + String(format: "per_second=%.0f process_cpu_seconds=%.2f", Double(observations) / (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18), cpu)
    if let server {
        let after = serverCPUSeconds(server)
        let used = after.reduce(0.0) { $0 + $1.value - (serverBefore[$1.key] ?? 0) }
        line += String(format: " server_cpu_seconds=%.2f", used)
    }
    print(line)
    if let held { try await held.leases.releaseLease(held.lease) }
    await opened.close()

default:
    usage()
}
