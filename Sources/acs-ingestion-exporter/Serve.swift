import AdobeSimulator
import ArgumentParser
import ExporterConfiguration
import ExporterCore
import ExporterWeb
import ExporterDemo
import Foundation
import HTTPServer
import Logging
import WebConfig

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

    @Option(name: .customLong("web.config.file"),
            help: "Path to a web configuration file (exporter-toolkit's format) that enables TLS and/or basic authentication.")
    var webConfigFile: String?

    @Option(name: .customLong("web.max-requests"),
            help: "Maximum number of requests served at once; beyond it the answer is 503 with Retry-After. 0 means no limit.")
    var maxRequests = HTTPServer.Limits().maxConcurrentRequests

    @Flag(name: .customLong("web.enable-lifecycle"), help: "Enable reloading the configuration via HTTP (POST /-/reload).")
    var lifecycleAPI = false

    @Option(name: .customLong("web.telemetry-path"), help: "Path under which to expose metrics.")
    var telemetryPath = "/metrics"

    @Option(name: .customLong("storage.path"), help: "SQLite database file; overrides storage.path of the config file.")
    var storagePath: String?

    @Flag(name: .customLong("storage.init"),
          help: "Accept an existing but empty database file as a new database (refused otherwise: it is more often a lost history).")
    var initializeStorage = false

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
                (simulator, config) = try Demo.start(storagePath: storagePath)
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

        var web = WebOptions(listenAddress: address)
        web.telemetryPath = telemetryPath
        web.listeningSocket = listeningSocket
        web.lifecycleAPI = lifecycleAPI
        guard maxRequests >= 0 else { fail("--web.max-requests must be 0 (no limit) or more, got \(maxRequests)") }
        web.maxRequests = maxRequests == 0 ? Int.max : maxRequests
        if let webConfigFile {
            do { web.webConfig = try WebConfiguration.load(file: webConfigFile) } catch { fail(error.description) }
        }
        var options = ExporterDaemon.Options(web: web)
        options.configFile = demo ? nil : configFile
        options.initializeStorage = initializeStorage
        let daemon: ExporterDaemon
        do {
            daemon = try await ExporterDaemon(config: config, options: options, logger: logger)
        } catch {
            fail(error.description)
        }
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
        try await daemon.run()
        logger.info("stopped")
        await simulator?.stop()
    }
}
