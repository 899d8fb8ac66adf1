import AdobeIngestionClient
import BuildInfo
import Cluster
import ExporterConfiguration
import ExporterMetrics
import Exposition
import Foundation
import HTTPServer
import IngestionCollector
import IngestionModel
import IngestionStore
import Logging
import SQLiteStore
import ServiceLifecycle
import Synchronization
import WebConfig

/// The exporter's version, for `--version` and `acs_ingestion_exporter_build_info`:
/// stamped at build time by `make` (see the BuildInfo module).
public typealias ExporterVersion = BuildInfo

/// Why a configuration reload was refused: one line.
public struct ReloadError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

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
        /// `--web.config.file`, loaded and checked: TLS, basic auth, response headers.
        public var webConfig: LoadedWebConfiguration?
        /// `--web.max-requests`: requests served at once; beyond, 503 with Retry-After.
        public var maxRequests = HTTPServer.Limits().maxConcurrentRequests
        /// The configuration file a reload reads again (nil: nothing to reload, as with --demo).
        public var configFile: String?
        /// `--web.enable-lifecycle`: `POST /-/reload` reloads, as in Prometheus.
        public var lifecycleAPI = false
        public var telemetryPath = "/metrics"
        /// Set with `--web.systemd-socket`: serve on this socket instead of `listenAddress`.
        public var listeningSocket: ListeningSocket?
        /// `--storage.init`: an existing empty database file becomes a new database.
        public var initializeStorage = false
        public init(listenAddress: ListenAddress) { self.listenAddress = listenAddress }
    }

    public let collector: Collector
    /// Cluster mode: takes and gives up tenants, and hands them to the collector.
    public let coordinator: ClusterCoordinator?
    public let publisher: ExpositionPublisher
    public let readiness: Readiness
    private let server: HTTPServer
    private let webConfigWatcher: WebConfigWatcher?
    private let writers: Live<APIRoutes.Writers>
    private let basicAuth: Bool
    private let configFile: String?
    /// One reload at a time (SIGHUP and /-/reload may race).
    private let reloading = AsyncLock()
    private let logger: Logger
    private let stopped = Atomic<Bool>(false)

    public var port: Int { server.port }
    public var store: any IngestionStore { collector.store }
    public var metrics: IngestionMetrics { collector.metrics }

    public init(config: ExporterConfig, options: Options, logger: Logger,
                time: any TimeSource = SystemTimeSource()) async throws(StartupError) {
        self.logger = logger
        let opened = try await StoreOpening.open(config.storage, initialize: options.initializeStorage, logger: logger)
        let store = opened.store
        // With cluster.enabled (PostgreSQL), replicas share the tenants through leases
        // (one replica alone holds them all).
        let leases = config.cluster.enabled ? opened.leases : nil
        let cluster = leases.map { _ in
            ClusterSettings(replicaName: Self.replicaName(config.cluster, options.listenAddress), leaseTTL: config.cluster.leaseTTL)
        }
        let metrics = IngestionMetrics(mappings: Collector.descriptors(of: config), version: ExporterVersion.version,
                                       revision: ExporterVersion.revision, branch: ExporterVersion.branch,
                                       swiftVersion: ExporterVersion.swiftVersion,
                                       cluster: cluster.map { MetricsCluster(replica: $0.replicaName, instance: config.cluster.name) },
                                       now: time.now())
        readiness = Readiness()
        readiness.set("start-up", "rebuilding the metrics from the store")
        collector = Collector(config: config, store: store, metrics: metrics, time: time, logger: logger, readiness: readiness,
                              leases: leases)
        coordinator = cluster.flatMap { [collector] settings in
            leases.map { ClusterCoordinator(settings: settings, leases: $0, collector: collector, logger: logger) }
        }
        publisher = ExpositionPublisher(metrics: metrics)

        // Counters are rebuilt before anything can change them through the API.
        do {
            let totals = try await collector.restore()
            Self.logLoaded(totals, store: store.location, created: opened.created, logger: logger)
        } catch {
            await store.close()
            throw StartupError(description: error.description)
        }
        basicAuth = !(options.webConfig?.configuration.basicAuthUsers.isEmpty ?? true)
        configFile = options.configFile
        do {
            writers = Live(try Self.writers(config, basicAuth: basicAuth))
        } catch {
            throw StartupError(description: error.description)
        }
        var router = Router()
        let statusPage = StatusPage(settings: collector.settings, store: collector.store, telemetryPath: options.telemetryPath,
                                    version: ExporterVersion.version)
        ExporterRoutes.install(into: &router, telemetryPath: options.telemetryPath, publisher: publisher,
                               readiness: readiness, statusPage: statusPage, now: { time.now() })
        APIRoutes(collector: collector, coordinator: coordinator, writers: writers).install(into: &router)
        // The route is made before the daemon it reloads: it reaches it through this box, set at the end of init.
        let reloader = Live<(@Sendable () async -> Result<String, ReloadError>)?>(nil)
        LifecycleRoutes.install(into: &router, enabled: options.lifecycleAPI, reload: {
            await reloader.value?() ?? .failure(ReloadError("not started yet"))
        })
        publisher.refresh()
        do {
            var serverConfiguration = HTTPServer.Configuration(listenAddress: options.listenAddress)
            serverConfiguration.listeningSocket = options.listeningSocket
            serverConfiguration.unauthenticatedRoutes = ExporterRoutes.probes
            serverConfiguration.limits.maxConcurrentRequests = options.maxRequests
            if let web = options.webConfig { serverConfiguration.security = web.settings }
            serverConfiguration.libraryLog = { [logger] line in logger.warning("libmicrohttpd", metadata: ["message": "\(line)"]) }
            server = try HTTPServer(configuration: serverConfiguration, router: router)
        } catch {
            throw StartupError(description: error.description)
        }
        publisher.observeTraffic { [server] in HTTPTraffic(server.statistics()) }
        webConfigWatcher = options.webConfig.map { [server, logger] loaded in
            WebConfigWatcher(loaded: loaded, apply: { server.apply($0) }, log: { line in logger.info("\(line)") })
        }
        reloader.replace { [weak self] in await self?.reload() ?? .failure(ReloadError("shutting down")) }
        readiness.set("start-up", nil)
    }

    /// `cluster.replica_name`, or this host's name and the port it listens on.
    private static func replicaName(_ cluster: ExporterConfig.Cluster, _ address: ListenAddress) -> String {
        guard cluster.replicaName.isEmpty else { return cluster.replicaName }
        let host = ProcessInfo.processInfo.hostName
        return address.port == 0 ? "\(host):pid\(getpid())" : "\(host):\(address.port)"
    }

    /// The line that says what the store held at start: new, or how many requests and which totals.
    private static func logLoaded(_ totals: IngestionTotals, store: String, created: Bool, logger: Logger) {
        guard !created else {
            logger.warning("new, empty database created: counters start at 0", metadata: ["store": "\(store)"])
            return
        }
        var ended: [FinalStatus: Int] = [:]
        for outcome in totals.outcomes { ended[outcome.status, default: 0] += outcome.requests }
        var metadata: Logger.Metadata = ["store": "\(store)", "open_requests": "\(totals.open.count)",
                                         "records_ingested": "\(totals.outcomes.reduce(0) { $0 + $1.records })",
                                         "triggers": "\(totals.triggers.values.reduce(0) { $0 + $1.values.reduce(0, +) })"]
        for status in FinalStatus.allCases { metadata["ended_\(status.label)"] = "\(ended[status] ?? 0)" }
        logger.info("store loaded", metadata: metadata)
    }

    /// Who may write through the API under `config`.
    private static func writers(_ config: ExporterConfig, basicAuth: Bool) throws(ReloadError) -> APIRoutes.Writers {
        if basicAuth { return .users(Set(config.api.writeUsers)) }
        guard let file = config.api.tokenFile else { return .token(nil) }
        let token = (try? String(contentsOfFile: file, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let token, !token.isEmpty else { throw ReloadError("api.token_file \(file) is unreadable or empty") }
        return .token(Secret(token))
    }

    /// Reads the configuration file (and the secret files it names) again and applies
    /// it whole, or not at all: the last good configuration stays, and the reason is
    /// logged and returned. Settings only a restart can change are refused.
    public func reload() async -> Result<String, ReloadError> {
        do {
            try await reloading.lockUnlessCancelled()
        } catch {
            return .failure(ReloadError("the exporter is stopping"))
        }
        defer { reloading.unlock() }
        let result = await loadAndApply()
        metrics.reloaded(successfully: (try? result.get()) != nil, at: Date())
        switch result {
        case .success(let changes): logger.info("configuration reloaded", metadata: ["changes": "\(changes)"])
        case .failure(let error): logger.error("configuration not reloaded; the previous one stays", metadata: ["reason": "\(error)"])
        }
        return result
    }

    private func loadAndApply() async -> Result<String, ReloadError> {
        guard let configFile else { return .failure(ReloadError("there is no configuration file to reload (--demo)")) }
        let new: ExporterConfig
        do { new = try ExporterConfig.load(file: configFile) } catch { return .failure(ReloadError(error.summary)) }
        let old = collector.config
        if new.storage.path != old.storage.path {
            return .failure(ReloadError("storage.path changed from \(old.storage.path) to \(new.storage.path): restart the exporter to apply it"))
        }
        if !new.storage.sameConnection(as: old.storage) || new.cluster != old.cluster {
            return .failure(ReloadError("storage.driver, url, password, pool_size, timeout or cluster changed: restart the exporter to apply it"))
        }
        if new.collector.maxConcurrentRequests != old.collector.maxConcurrentRequests {
            return .failure(ReloadError("collector.max_concurrent_requests changed: restart the exporter to apply it"))
        }
        let newWriters: APIRoutes.Writers
        do { newWriters = try Self.writers(new, basicAuth: basicAuth) } catch { return .failure(error) }
        do {
            let changes = try await collector.apply(new)
            writers.replace(newWriters)
            return .success(changes)
        } catch {
            return .failure(ReloadError("the store cannot record the new mappings: \(error)"))
        }
    }

    /// The services by name, in start order; a graceful shutdown stops them in reverse:
    /// the collector first (no upstream call after the signal), the HTTP server last.
    public var services: [(name: String, service: any Service)] {
        [("http server", HTTPServerService(server: server)), ("exposition", PublisherService(publisher: publisher)),
         ("collector", CollectorService(collector: collector, coordinator: coordinator))]
            + (webConfigWatcher.map { [("web config watcher", WebConfigService(watcher: $0, metrics: metrics))] } ?? [])
    }

    /// Runs until SIGTERM or SIGINT, then shuts down within `shutdownLimit`; a
    /// second signal exits at once. SIGHUP is logged and never kills the process.
    /// What has not stopped when the limit passes (a service, or the store, say a
    /// database that stopped answering) is named in one line and the process exits 1.
    public func run(shutdownLimit: Duration = .seconds(5)) async throws {
        let running = RunningServices()
        var configuration = ServiceGroupConfiguration(
            services: services.map { .init(service: NamedService(name: $0.name, service: $0.service, running: running)) },
            gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        // Graceful for most of the limit, then cancelled; the limit itself is enforced by
        // `ShutdownLimit` (ServiceGroup's own ends in a fatal error and a crash report).
        configuration.maximumGracefulShutdownDuration = shutdownLimit * 0.6
        configuration.maximumCancellationDuration = nil
        let group = ServiceGroup(configuration: configuration)
        let limit = ShutdownLimit(limit: shutdownLimit, running: running, logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            tasks.addTask {
                await SignalWatcher(logger: self.logger, reload: { _ = await self.reload() }, stopping: { limit.start() }).run()
            }
            try await tasks.next()
            tasks.cancelAll()
        }
        limit.start()
        running.started("store")
        await stop()
        running.stopped("store")
        limit.cancel()
    }

    /// Stops what `init` started (for a daemon whose `run` was never called, as in tests). Idempotent.
    public func stop() async {
        guard !stopped.exchange(true, ordering: .relaxed) else { return }
        readiness.set("shutdown", "shutting down")
        await server.stop()
        await store.close()
    }
}

extension HTTPTraffic {
    /// The server's counts, in the metrics' terms.
    init(_ statistics: HTTPServerStatistics) {
        self.init()
        answers = statistics.requests.map { Answers(handler: $0.key.handler, code: $0.key.code, count: $0.value) }
        openConnections = statistics.openConnections
        refusedConnections = Dictionary(uniqueKeysWithValues: HTTPServerStatistics.ConnectionRefusal.allCases.map {
            ($0.rawValue, statistics.refusedConnections[$0] ?? 0)
        })
        requestsInFlight = statistics.requestsInFlight
    }
}
