import Cluster
import ExporterConfiguration
import ExporterMetrics
import ExporterWeb
import Foundation
import IngestionCollector
import IngestionModel
import Logging
import ServiceLifecycle
import StoreOpening
import Synchronization

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
        /// How it serves HTTP (the `--web.*` flags).
        public var web: WebOptions
        /// The configuration file a reload reads again (nil: nothing to reload, as with --demo).
        public var configFile: String?
        /// `--storage.init`: an existing empty database file becomes a new database.
        public var initializeStorage = false
        public init(web: WebOptions) { self.web = web }
    }

    public let collector: Collector
    /// Cluster mode: takes and gives up tenants, and hands them to the collector.
    public let coordinator: ClusterCoordinator?
    public let readiness: Readiness
    /// Every route, the exposition and the web configuration watcher.
    public let web: WebFront
    /// PostgreSQL: the connection pool, the first service (stopped last).
    private let storePool: (@Sendable () async -> Void)?
    private let writers: Live<APIRoutes.Writers>
    private let basicAuth: Bool
    private let configFile: String?
    /// One reload at a time (SIGHUP and /-/reload may race).
    private let reloading = AsyncLock()
    private let logger: Logger
    private let stopped = Atomic<Bool>(false)

    public var port: Int { web.port }
    public var metrics: IngestionMetrics { collector.metrics }

    public init(config: ExporterConfig, options: Options, logger: Logger,
                time: any TimeSource = SystemTimeSource()) async throws(StartupError) {
        self.logger = logger
        let opened: OpenedStore
        do {
            opened = try await StoreOpening.open(config.storage, durationBounds: IngestionMetrics.durationBounds,
                                                 initialize: options.initializeStorage, sayAgainEvery: StoreMonitor.repeatEvery,
                                                 time: time, logger: logger)
        } catch {
            throw StartupError(description: error.description)
        }
        let store = opened.store
        storePool = opened.runPool
        // With cluster.enabled (PostgreSQL), replicas share the tenants through leases
        // (one replica alone holds them all).
        let leases = config.cluster.enabled ? opened.leases : nil
        let cluster = leases.map { _ in
            ClusterSettings(replicaName: Self.replicaName(config.cluster, port: options.web.listenAddress.port), leaseTTL: config.cluster.leaseTTL)
        }
        let metrics = IngestionMetrics(mappings: Collector.descriptors(of: config),
                                       cluster: cluster.map { MetricsCluster(replica: $0.replicaName, instance: config.cluster.name) },
                                       now: time.now())
        readiness = Readiness()
        readiness.set("start-up", "rebuilding the metrics from the store")
        collector = Collector(config: config, store: store, metrics: metrics, time: time, logger: logger, readiness: readiness,
                              leases: leases)
        coordinator = cluster.flatMap { [collector] settings in
            leases.map { ClusterCoordinator(settings: settings, leases: $0, collector: collector, logger: logger, time: time) }
        }

        // Counters are rebuilt before anything can change them through the API.
        do {
            let totals = try await collector.restore()
            Self.logLoaded(totals, store: store.location, created: opened.created, logger: logger)
        } catch {
            await store.close()
            throw StartupError(description: error.description)
        }
        basicAuth = options.web.basicAuth
        configFile = options.configFile
        do {
            writers = Live(try APIRoutes.Writers(config, basicAuth: basicAuth))
        } catch {
            await store.close()
            throw StartupError(description: error.description)
        }
        // The lifecycle route is made before the daemon it reloads: it reaches it through this box, set at the end of init.
        let reloader = Live<(@Sendable () async -> Result<String, ReloadError>)?>(nil)
        do {
            web = try WebFront(options: options.web, collector: collector, coordinator: coordinator, readiness: readiness,
                               writers: writers, time: time, logger: logger) {
                await reloader.value?() ?? .failure(ReloadError("not started yet"))
            }
        } catch {
            await store.close()
            throw StartupError(description: error.description)
        }
        reloader.replace { [weak self] in await self?.reload() ?? .failure(ReloadError("shutting down")) }
        readiness.set("start-up", nil)
    }

    /// `cluster.replica_name`, or this host's name and the port it listens on.
    private static func replicaName(_ cluster: ExporterConfig.Cluster, port: Int) -> String {
        guard cluster.replicaName.isEmpty else { return cluster.replicaName }
        let host = ProcessInfo.processInfo.hostName
        return port == 0 ? "\(host):pid\(getpid())" : "\(host):\(port)"
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
        do { newWriters = try APIRoutes.Writers(new, basicAuth: basicAuth) } catch { return .failure(error) }
        do {
            let changes = try await collector.apply(new)
            writers.replace(newWriters)
            return .success(changes)
        } catch {
            return .failure(ReloadError("the store cannot record the new mappings: \(error)"))
        }
    }

    /// The services by name, in start order; a graceful shutdown stops them in reverse:
    /// the collector first (no upstream call after the signal), then the web front, and
    /// PostgreSQL's pool last.
    public var services: [(name: String, service: any Service)] {
        (storePool.map { [("store", StorePoolService(pool: $0))] } ?? []) + web.services
            + [("collector", CollectorService(collector: collector, coordinator: coordinator))]
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
        // A service that fails (the HTTP server cannot start its threads) ends the group; what
        // init opened is closed all the same, then the failure is thrown.
        var failure: (any Error)?
        do {
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                tasks.addTask {
                    await SignalWatcher(logger: self.logger, reload: { _ = await self.reload() }, stopping: { limit.start() }).run()
                }
                try await tasks.next()
                tasks.cancelAll()
            }
        } catch {
            failure = error
        }
        limit.start()
        running.started("store")
        await stop()
        running.stopped("store")
        limit.cancel()
        if let failure { throw failure }
    }

    /// Stops what `init` started (for a daemon whose `run` was never called, as in tests). Idempotent.
    public func stop() async {
        guard !stopped.exchange(true, ordering: .relaxed) else { return }
        readiness.set("shutdown", "shutting down")
        await web.stop()
        await collector.store.close()
    }
}
