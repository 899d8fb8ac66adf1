import AdobeIngestionClient
import AdobeSimulator
import ExporterCore
import Foundation
import HTTPServer
import IngestionModel
import Logging
import Testing
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A fresh temporary folder, removed by `cleanUp()`.
struct TemporaryDirectory {
    let url: URL
    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("acs-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    func path(_ name: String) -> String { url.appendingPathComponent(name).path }
    func write(_ name: String, _ text: String) throws -> String {
        try text.write(toFile: path(name), atomically: true, encoding: .utf8)
        return path(name)
    }
    func cleanUp() { try? FileManager.default.removeItem(at: url) }
}

/// Samples of a text exposition by `name{labels}`.
struct Exposition {
    let samples: [String: Double]
    let text: String

    init(_ text: String) {
        self.text = text
        var samples: [String: Double] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " ") else { continue }
            samples[String(line[..<space])] = Double(line[line.index(after: space)...])
        }
        self.samples = samples
    }

    subscript(_ series: String) -> Double? { samples[series] }

    /// The samples of the ingestion families that must survive a restart unchanged.
    var persistent: [String: Double] {
        let kept = ["acs_ingestion_requests_total", "acs_ingestion_records_ingested_total", "acs_ingestion_failures_total",
                    "acs_ingestion_request_duration_seconds", "acs_ingestion_last_success", "acs_ingestion_last_failure",
                    "acs_ingestion_triggers_total", "acs_ingestion_requests_in_progress",
                    "acs_ingestion_oldest_in_progress_start_timestamp_seconds", "acs_ingestion_mapping_info"]
        return samples.filter { key, _ in kept.contains { key.hasPrefix($0) } }
    }
}

func httpGet(_ url: String, headers: [String: String] = [:]) async throws -> (Int, Data, HTTPURLResponse) {
    var request = URLRequest(url: URL(string: url)!)
    request.timeoutInterval = 10
    for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
    let (data, response) = try await URLSession.shared.data(for: request)
    let http = response as! HTTPURLResponse
    return (http.statusCode, data, http)
}

func scrape(_ port: Int) async throws -> Exposition {
    let (status, data, _) = try await httpGet("http://127.0.0.1:\(port)/metrics")
    #expect(status == 200)
    return Exposition(String(decoding: data, as: UTF8.self))
}

/// Labels as the exposition writes them, for lookups.
func series(_ name: String, _ tenant: String, _ mapping: String, _ extra: String = "") -> String {
    "\(name){tenant=\"\(tenant)\",mapping=\"\(mapping)\"\(extra.isEmpty ? "" : "," + extra)}"
}

let silentLogger: Logger = {
    var logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
    logger.logLevel = .critical
    return logger
}()

/// The repository root, and the exporter binary `swift build` made.
enum Paths {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static var binary: String {
        if let path = ProcessInfo.processInfo.environment["ACS_EXPORTER_BIN"] { return path }
        return root.appendingPathComponent(".build/debug/acs-ingestion-exporter").path
    }
    static func executable(_ name: String) -> String? {
        for directory in ["/usr/bin", "/usr/local/bin", "/bin"] {
            let path = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }
}

/// Finds a free loopback port by binding to port 0.
func freePort() throws -> Int {
    let server = try HTTPServer(configuration: .init(listenAddress: ListenAddress(host: "127.0.0.1", port: 0)), router: Router())
    defer { server.stop() }
    return server.port
}

/// A child process with its output captured to files.
final class ChildProcess: @unchecked Sendable {
    let process = Process()
    let stdoutPath: String
    let stderrPath: String

    init(_ executable: String, _ arguments: [String], directory: TemporaryDirectory, name: String,
         environment: [String: String] = [:]) throws {
        stdoutPath = directory.path("\(name).out")
        stderrPath = directory.path("\(name).err")
        FileManager.default.createFile(atPath: stdoutPath, contents: nil)
        FileManager.default.createFile(atPath: stderrPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: stdoutPath))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: stderrPath))
        try process.run()
    }

    var stdout: String { (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

    /// Waits for the process to exit (polling, at most `timeout`) and returns its status.
    func wait(timeout: Duration = .seconds(30)) async -> Int32? {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning && ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(20)) }
        return process.isRunning ? nil : process.terminationStatus
    }

    func kill9() async {
        kill(process.processIdentifier, SIGKILL)
        _ = await wait()
    }

    func terminate() async {
        if process.isRunning { process.terminate() }
        if await wait(timeout: .seconds(10)) == nil { await kill9() }
    }
}

/// Polls `condition` every 50 ms until it holds or `timeout` passes.
func eventually(timeout: Duration = .seconds(20), _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(50))
    }
    return try await condition()
}
