import AdobeSimulator
import ExporterConfiguration
import ExporterCore
import ExporterWeb
import Foundation
import IngestionModel
import HTTPServer
import Logging
import TestSupport
import Testing

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

func scrape(_ port: Int, headers: [String: String] = [:]) async throws -> Exposition {
    let answer = try await http("http://127.0.0.1:\(port)/metrics", headers: headers)
    #expect(answer.status == 200)
    return Exposition(answer.text)
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

/// Runs `body` with a new temporary directory and the processes it starts there;
/// afterwards, returned or thrown, every process still running and `simulator` are
/// stopped and the directory is removed.
func withExporterProcesses(_ simulator: AdobeSimulator,
                           _ body: (TemporaryDirectory, ChildProcesses) async throws -> Void) async throws {
    let directory = try TemporaryDirectory()
    defer { directory.cleanUp() }
    let processes = ChildProcesses(directory: directory)
    try await stopping(simulator) { _ throws in
        try await stopping(processes) { processes throws in try await body(directory, processes) }
    }
}

/// Starts the exporter binary with `config` on a free port (`arguments` after) and
/// waits until `/-/ready` answers 200; an issue, with its stderr, when it never does.
func startExporter(_ processes: ChildProcesses, config: String, name: String, arguments: [String] = [],
                   environment: [String: String] = [:],
                   sourceLocation: SourceLocation = #_sourceLocation) async throws -> (ChildProcess, Int) {
    let port = try await freePort()
    let child = try processes.start(Paths.binary, ["--config.file", config, "--web.listen-address", "127.0.0.1:\(port)"] + arguments,
                                    name: name, environment: environment)
    #expect(await eventually { (try? await http("http://127.0.0.1:\(port)/-/ready").status) == 200 },
            "exporter did not become ready: \(child.stderr)", sourceLocation: sourceLocation)
    return (child, port)
}

/// A simulator, a folder and a configuration pointing at them, on one injected clock;
/// the daemons made from it run in this process and are stopped with it.
protocol DaemonSetup: AsyncStoppable {
    var time: ManualTimeSource { get }
    var simulator: AdobeSimulator { get }
    var directory: TemporaryDirectory { get }
    var config: ExporterConfig { get }
    /// The daemons `daemon()` made, for `stop()`.
    var daemons: Registry<ExporterDaemon> { get }
}

extension DaemonSetup {
    /// A daemon of `config` on a free port of 127.0.0.1, on the injected clock, logging nothing.
    func daemon() async throws -> ExporterDaemon {
        let daemon = try await ExporterDaemon.serving(config: config, options: .init(listenAddress: ListenAddress(host: "127.0.0.1", port: 0)),
                                              logger: silentLogger, time: time)
        daemons.add(daemon)
        return daemon
    }

    /// A scrape of `daemon`, its gauges refreshed first.
    func metrics(_ daemon: ExporterDaemon) async throws -> Exposition {
        daemon.web.publisher.refresh()
        return try await scrape(daemon.port)
    }

    func stop() async {
        for daemon in daemons.all { await daemon.stop() }
        await simulator.stop()
        directory.cleanUp()
    }
}

extension ExporterDaemon: AsyncStoppable {
    /// A daemon that serves HTTP at once; its collector runs only as the test drives it.
    static func serving(config: ExporterConfig, options: Options, logger: Logger,
                        time: any TimeSource = SystemTimeSource()) async throws -> ExporterDaemon {
        let daemon = try await ExporterDaemon(config: config, options: options, logger: logger, time: time)
        do { try daemon.web.startServing() } catch {
            await daemon.stop()
            throw error
        }
        return daemon
    }
}

extension ExporterDaemon.Options {
    /// Serving on `listenAddress`, every other web option at its default.
    init(listenAddress: ListenAddress) { self.init(web: WebOptions(listenAddress: listenAddress)) }
}
extension AdobeSimulator: AsyncStoppable {}
