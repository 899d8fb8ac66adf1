import AdobeIngestionClient
import BuildInfo
import ExporterMetrics
import Foundation
import HTTPServer
import IngestionModel
import IngestionStore
import Logging
import SQLiteStore
import ServiceLifecycle
import Synchronization

/// The exporter's version, for `--version` and `acs_ingestion_exporter_build_info`:
/// stamped at build time by `make` (see the BuildInfo module).
public typealias ExporterVersion = BuildInfo

/// Why the daemon could not start: one line, naming what to fix.
public struct StartupError: Error, CustomStringConvertible {
    public let description: String
    public init(description: String) { self.description = description }
}

/// Store, metrics, collector and HTTP server, put together. `init` opens the
/// store, rebuilds the metrics from it and starts listening (so the port is known);
/// `run()` runs the services until SIGTERM or SIGINT and shuts them down in order.
public final class ExporterDaemon: Sendable {
    public struct Options: Sendable {
        public var listenAddress: ListenAddress
        public var telemetryPath = "/metrics"
        /// Set with `--web.systemd-socket`: serve on this socket instead of `listenAddress`.
        public var listeningSocket: ListeningSocket?
        public init(listenAddress: ListenAddress) { self.listenAddress = listenAddress }
    }

    public let collector: Collector
    public let publisher: ExpositionPublisher
    public let readiness: Readiness
    private let server: HTTPServer
    private let logger: Logger
    private let stopped = Atomic<Bool>(false)

    public var port: Int { server.port }
    public var store: any IngestionStore { collector.store }
    public var metrics: IngestionMetrics { collector.metrics }

    public init(config: ExporterConfig, options: Options, logger: Logger,
                time: any TimeSource = SystemTimeSource()) async throws(StartupError) {
        self.logger = logger
        let store: SQLiteIngestionStore
        do {
            store = try SQLiteIngestionStore(path: config.storage.path, durationBounds: IngestionMetrics.durationBounds)
        } catch {
            throw StartupError(description: error.description)
        }
        let metrics = IngestionMetrics(mappings: Collector.descriptors(of: config), version: ExporterVersion.version,
                                       revision: ExporterVersion.revision, branch: ExporterVersion.branch,
                                       swiftVersion: ExporterVersion.swiftVersion, now: time.now())
        collector = Collector(config: config, store: store, metrics: metrics, time: time, logger: logger)
        publisher = ExpositionPublisher(metrics: metrics)
        readiness = Readiness()
        readiness.set("start-up", "rebuilding the metrics from the store")

        // Counters are rebuilt before anything can change them through the API.
        do {
            try await collector.restore()
        } catch {
            throw StartupError(description: error.description)
        }
        var writeToken: Secret?
        if let file = config.api.tokenFile {
            let token = (try? String(contentsOfFile: file, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
            guard let token, !token.isEmpty else { throw StartupError(description: "api.token_file \(file) is unreadable or empty") }
            writeToken = Secret(token)
        }
        var router = Router()
        let statusPage = StatusPage(config: config, store: store, telemetryPath: options.telemetryPath,
                                    version: ExporterVersion.version)
        ExporterRoutes.install(into: &router, telemetryPath: options.telemetryPath, publisher: publisher,
                               readiness: readiness, statusPage: statusPage, now: { time.now() })
        APIRoutes(collector: collector, writeToken: writeToken).install(into: &router)
        publisher.refresh()
        do {
            var serverConfiguration = HTTPServer.Configuration(listenAddress: options.listenAddress)
            serverConfiguration.listeningSocket = options.listeningSocket
            server = try HTTPServer(configuration: serverConfiguration, router: router)
        } catch {
            throw StartupError(description: error.description)
        }
        readiness.set("start-up", nil)
    }

    /// The services, in start order; a graceful shutdown stops them in reverse:
    /// the collector first (no upstream call after the signal), the HTTP server last.
    public var services: [any Service] {
        [HTTPServerService(server: server), PublisherService(publisher: publisher), CollectorService(collector: collector)]
    }

    /// Runs until SIGTERM or SIGINT, then shuts down within `shutdownLimit`; a
    /// second signal exits at once. SIGHUP is logged and never kills the process.
    public func run(shutdownLimit: Duration = .seconds(5)) async throws {
        var configuration = ServiceGroupConfiguration(
            services: services.map { .init(service: $0) }, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        configuration.maximumGracefulShutdownDuration = shutdownLimit
        configuration.maximumCancellationDuration = shutdownLimit
        let group = ServiceGroup(configuration: configuration)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            tasks.addTask { await SignalWatcher(logger: self.logger).run() }
            try await tasks.next()
            tasks.cancelAll()
        }
        await stop()
    }

    /// Stops what `init` started (for a daemon whose `run` was never called, as in tests). Idempotent.
    public func stop() async {
        guard !stopped.exchange(true, ordering: .relaxed) else { return }
        readiness.set("shutdown", "shutting down")
        await server.stop()
        await store.close()
    }
}
