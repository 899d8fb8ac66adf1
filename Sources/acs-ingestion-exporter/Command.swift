import AdobeSimulator
import ArgumentParser
import ExporterCore
import Foundation
import HTTPServer
import Logging

@main
struct ACSIngestionExporter: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "acs-ingestion-exporter",
        abstract: "Prometheus exporter for Adobe Campaign Standard data ingestion (XDM mappings to Experience Platform).",
        discussion: """
        Triggers and follows ingestion requests, keeps their history in SQLite and serves Prometheus metrics.
        Run with --config.file FILE, or --demo to try it against the built-in Adobe simulator.
        """,
        version: ExporterVersion.versionText(program: "acs-ingestion-exporter"),
        subcommands: [Serve.self, CheckConfig.self, Simulate.self, Track.self, Trigger.self, Requests.self, Report.self],
        defaultSubcommand: Serve.self)
}

/// The daemon: what runs when no other command is named.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the exporter (the default command).")

    @OptionGroup var common: CommonOptions

    @Option(name: .customLong("config.file"), help: "Path to the configuration file (YAML).")
    var configFile: String?

    @Option(name: .customLong("web.listen-address"),
            help: "Address to listen on for the web interface and telemetry (default :10193; 127.0.0.1:10193 with --demo).")
    var listenAddress: String?

    @Flag(name: .customLong("web.systemd-socket"),
          help: "Use the listening socket systemd passes (socket activation) instead of --web.listen-address.")
    var systemdSocket = false

    @Option(name: .customLong("web.telemetry-path"), help: "Path under which to expose metrics.")
    var telemetryPath = "/metrics"

    @Option(name: .customLong("storage.path"), help: "SQLite database file; overrides storage.path of the config file.")
    var storagePath: String?

    @Flag(help: "Run against the built-in Adobe simulator with a few tenants and mappings.")
    var demo = false

    func run() async throws {
        let logger = common.bootstrapLogging()
        guard telemetryPath.hasPrefix("/") else { fail("--web.telemetry-path must start with /, got \"\(telemetryPath)\"") }
        var address: ListenAddress
        do {
            address = try ListenAddress(parsing: listenAddress ?? (demo ? "127.0.0.1:10193" : ":10193"))
        } catch {
            fail(error.description)
        }
        // Socket activation: systemd (or systemd-socket-activate) has bound the address already.
        var listeningSocket: ListeningSocket?
        if systemdSocket {
            guard listenAddress == nil else {
                fail("--web.systemd-socket and --web.listen-address are mutually exclusive: the .socket unit sets the address")
            }
            do {
                let socket = try SystemdSocket.take()
                listeningSocket = socket
                address = socket.address
            } catch {
                fail(error.description)
            }
        }

        var simulator: AdobeSimulator?
        var config: ExporterConfig
        if demo {
            do {
                let sim = try AdobeSimulator(scenario: Demo.scenario(), listenAddress: ListenAddress(host: "127.0.0.1", port: 0))
                Demo.prime(sim)
                simulator = sim
                config = Demo.config(simulatorURL: sim.baseURL, storagePath: try Demo.prepareStorage(storagePath))
                config.api.tokenFile = try Demo.writeAPIToken(beside: config.storage.path)
            } catch let error as StartupError {
                fail(error.description)
            } catch {
                fail("cannot start the demo simulator: \(error)")
            }
        } else {
            guard let configFile else { fail("--config.file is required (or --demo to try the exporter)") }
            do {
                config = try ExporterConfig.load(file: configFile)
            } catch {
                fail("invalid configuration: \(error.summary)")
            }
            if let storagePath { config.storage.path = storagePath }
        }

        var options = ExporterDaemon.Options(listenAddress: address)
        options.telemetryPath = telemetryPath
        options.listeningSocket = listeningSocket
        let daemon: ExporterDaemon
        do {
            daemon = try ExporterDaemon(config: config, options: options, logger: logger)
        } catch {
            fail(error.description)
        }
        daemon.startCollecting()
        let host = address.host.isEmpty || address.host == "::" || address.host == "0.0.0.0" ? "localhost" : address.host
        let base = "http://\(host.contains(":") ? "[\(host)]" : host):\(daemon.port)"
        logger.info("listening", metadata: ["address": "\(address.host):\(daemon.port)", "telemetry_path": "\(telemetryPath)",
                                            "database": "\(config.storage.path)"])
        if let simulator {
            say("""
            Demo running: \(config.tenants.count) tenants, \(config.mappingKeys.count) mappings, a trigger every 3 s each.
              Status page:  \(base)/
              Metrics:      \(base)\(telemetryPath)
              Simulator:    \(simulator.baseURL) (client_id demo-client)
              Database:     \(config.storage.path)
              API token:    \(config.api.tokenFile ?? "") (try: \(CommandLine.arguments[0]) trigger --url \(base) --tenant demo-mkt-prod1 --mapping XDM44 --token-file \(config.api.tokenFile ?? ""))
            Press Ctrl-C to stop.
            """)
        }
        await waitForTermination()
        logger.info("shutting down")
        await daemon.stop()
        simulator?.stop()
    }
}

/// Flags every command shares.
struct CommonOptions: ParsableArguments {
    @Option(name: .customLong("log.level"), help: "Only log messages with the given severity or above: debug, info, warn, error.")
    var logLevel = "info"

    @Option(name: .customLong("log.format"), help: "Output format of log messages: logfmt or json.")
    var logFormat = "logfmt"

    func bootstrapLogging() -> Logger {
        let levels: [String: Logger.Level] = ["debug": .debug, "info": .info, "warn": .warning, "error": .error]
        guard let level = levels[logLevel] else { fail("--log.level must be one of debug, info, warn, error; got \"\(logLevel)\"") }
        guard let format = LogFormat(rawValue: logFormat) else { fail("--log.format must be logfmt or json; got \"\(logFormat)\"") }
        LoggingSystem.bootstrap { label in StderrLogHandler(label: label, level: level, format: format) }
        return Logger(label: "acs-ingestion-exporter")
    }
}

/// Writes to standard output at once (stdout is block-buffered when piped).
func say(_ text: String, newline: Bool = true) {
    FileHandle.standardOutput.write(Data((newline ? text + "\n" : text).utf8))
}

/// Prints one line to standard error and exits 1.
func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("acs-ingestion-exporter: error: \(message)\n".utf8))
    exit(1)
}

/// Returns on SIGINT or SIGTERM.
func waitForTermination() async {
    signal(SIGINT, SIG_IGN)
    signal(SIGTERM, SIG_IGN)
    await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
        let queue = DispatchQueue(label: "signals")
        let once = OnceFlag()
        var sources: [DispatchSourceSignal] = []
        for number in [SIGINT, SIGTERM] {
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler {
                if once.take() { continuation.resume() }
            }
            source.resume()
            sources.append(source)
        }
        SignalSources.keep(sources)
    }
}

/// Keeps the signal sources alive for the life of the process.
enum SignalSources {
    nonisolated(unsafe) private static var sources: [DispatchSourceSignal] = []
    static func keep(_ new: [DispatchSourceSignal]) { sources += new }
}

final class OnceFlag: @unchecked Sendable {
    private var taken = false
    private let lock = NSLock()
    func take() -> Bool {
        lock.lock()
        defer { lock.unlock() }
        if taken { return false }
        taken = true
        return true
    }
}
