// Writes a configuration with M mappings and a database with their history, for
// bench/run.sh; or measures the renderer's CPU per model change. Not part of the exporter.
//   acs-bench-seed --dir DIR --mappings M --history N --api-url URL
//   acs-bench-seed render --mappings M --changes N
import ExporterMetrics
import Foundation
import IngestionModel
import SQLiteStore

var options: [String: String] = [:]
var arguments = CommandLine.arguments.dropFirst()
let renderMode = arguments.first == "render"
if renderMode { arguments.removeFirst() }
while let name = arguments.popFirst(), name.hasPrefix("--"), let value = arguments.popFirst() {
    options[String(name.dropFirst(2))] = value
}
if renderMode {
    guard let mappings = options["mappings"].flatMap(Int.init), let changes = options["changes"].flatMap(Int.init) else {
        FileHandle.standardError.write(Data("usage: acs-bench-seed render --mappings M --changes N\n".utf8))
        exit(2)
    }
    renderBench(mappings: mappings, changes: changes)
    exit(0)
}
guard let dir = options["dir"], let mappings = options["mappings"].flatMap(Int.init),
      let history = options["history"].flatMap(Int.init), let apiURL = options["api-url"] else {
    FileHandle.standardError.write(Data("usage: acs-bench-seed --dir DIR --mappings M --history N --api-url URL\n".utf8))
    exit(2)
}
let tenants = max(1, min(20, mappings / 50))
var yaml = "tenants:\n"
var keys: [MappingKey] = []
for t in 0..<tenants {
    yaml += """
      - name: bench-tenant-\(t)
        api_url: \(apiURL)
        ims_token_url: \(apiURL)/ims/token/v3
        client_id: bench
        client_secret: bench
        mappings:

    """
    for m in stride(from: t, to: mappings, by: tenants) {
        yaml += "      - {id: XDM\(m), name: Bench mapping \(m)}\n"
        keys.append(MappingKey(tenant: "bench-tenant-\(t)", mapping: "XDM\(m)"))
    }
}
let database = dir + "/bench.sqlite"
yaml += "collector:\n  poll_interval: 1h\nstorage:\n  path: \(database)\n"
try yaml.write(toFile: dir + "/config.yml", atomically: true, encoding: .utf8)

let store = try SQLiteIngestionStore(path: database, durationBounds: IngestionMetrics.durationBounds)
let start = Date().addingTimeInterval(-Double(history) * 60)
var batch: [TrackedRequest] = []
let statuses: [(IngestionStatus, String?)] = [(.success, nil), (.success, nil), (.success, nil), (.success, nil),
                                             (.failed, "Mapping Id: X. ACP-880056 Failed to fetch the record from the database."),
                                             (.failed, "Mapping Id: X. ACP-880096 Sync Job failed to upload."), (.aborted, nil)]
for index in 0..<history {
    let key = keys[index % keys.count]
    let first = start.addingTimeInterval(Double(index) * 60 / Double(max(1, history / 100_000)))
    let (status, info) = statuses[index % statuses.count]
    let done = first.addingTimeInterval(Double(30 + index % 3000))
    batch.append(TrackedRequest(rowID: 0, key: key, requestID: RequestID(index), origin: .triggered, firstSeen: first,
                                lastPolled: done, status: status, numRecords: status == .success ? 100 + index % 900 : 0,
                                info: info, acpCode: ACPCode.find(in: info), finishedAt: done))
    if batch.count == 20_000 {
        try await store.importHistory(batch)
        batch.removeAll(keepingCapacity: true)
    }
}
try await store.importHistory(batch)
print("\(keys.count) mappings in \(tenants) tenants, \(history) requests in \(database)")
