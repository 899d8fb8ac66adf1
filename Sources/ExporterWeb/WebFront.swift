import BuildInfo
import Cluster
import ExporterConfiguration
import ExporterMetrics
import Exposition
import Foundation
import HTTPServer
import IngestionCollector
import IngestionModel
import Logging
import ServiceLifecycle
import WebConfig

/// How the exporter serves HTTP: the flags of the same names.
public struct WebOptions: Sendable {
    public var listenAddress: ListenAddress
    /// `--web.config.file`, loaded and checked: TLS, basic auth, response headers.
    public var webConfig: LoadedWebConfiguration?
    /// `--web.max-requests`: requests served at once; beyond, 503 with Retry-After.
    public var maxRequests = HTTPServer.Limits().maxConcurrentRequests
    /// `--web.enable-lifecycle`: `POST /-/reload` reloads, as in Prometheus.
    public var lifecycleAPI = false
    public var telemetryPath = "/metrics"
    /// Set with `--web.systemd-socket`: serve on this socket instead of `listenAddress`.
    public var listeningSocket: ListeningSocket?

    public init(listenAddress: ListenAddress) { self.listenAddress = listenAddress }

    /// Whether the web configuration asks for basic auth (then API writes are per user).
    public var basicAuth: Bool { !(webConfig?.configuration.basicAuthUsers.isEmpty ?? true) }
}

/// Why a configuration reload was refused: one line.
public struct ReloadError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// The exporter on HTTP: every route (probes, /metrics, the API, the status page,
/// the lifecycle API) on one libmicrohttpd server, the exposition /metrics serves,
/// and the web configuration watcher, each a service of the daemon's group.
/// `init` listens, so that the port is known (connections wait in the kernel's
/// queue); libmicrohttpd's threads start with the HTTP server's service.
public final class WebFront: Sendable {
    public let publisher: ExpositionPublisher
    private let server: HTTPServer
    private let watcher: WebConfigWatcher?
    private let metrics: IngestionMetrics

    public var port: Int { server.port }

    public init(options: WebOptions, collector: Collector, coordinator: ClusterCoordinator?, readiness: Readiness,
                writers: Live<APIRoutes.Writers>, time: any TimeSource, logger: Logger,
                reload: @escaping @Sendable () async -> Result<String, ReloadError>) throws(HTTPServerError) {
        metrics = collector.metrics
        publisher = ExpositionPublisher(metrics: collector.metrics)
        var router = Router()
        let statusPage = StatusPage(settings: collector.settings, store: collector.store, telemetryPath: options.telemetryPath,
                                    version: BuildInfo.version)
        ExporterRoutes.install(into: &router, telemetryPath: options.telemetryPath, publisher: publisher,
                               readiness: readiness, statusPage: statusPage, now: { time.now() })
        APIRoutes(collector: collector, coordinator: coordinator, writers: writers).install(into: &router)
        LifecycleRoutes.install(into: &router, enabled: options.lifecycleAPI, reload: reload)
        publisher.refresh()
        var configuration = HTTPServer.Configuration(listenAddress: options.listenAddress)
        configuration.listeningSocket = options.listeningSocket
        configuration.unauthenticatedRoutes = ExporterRoutes.probes
        configuration.limits.maxConcurrentRequests = options.maxRequests
        if let web = options.webConfig { configuration.security = web.settings }
        configuration.libraryLog = { [logger] line in logger.warning("libmicrohttpd", metadata: ["message": "\(line)"]) }
        server = try HTTPServer(configuration: configuration, router: router, start: false)
        publisher.observeTraffic { [server] in HTTPTraffic(server.statistics()) }
        watcher = options.webConfig.map { [server, logger] loaded in
            WebConfigWatcher(loaded: loaded, apply: { server.apply($0) }, log: { line in logger.info("\(line)") })
        }
    }

    /// The server first and the watcher last: a graceful shutdown stops them in reverse.
    public var services: [(name: String, service: any Service)] {
        [("http server", HTTPServerService(server: server)), ("exposition", PublisherService(publisher: publisher))]
            + (watcher.map { [("web config watcher", WebConfigService(watcher: $0, metrics: metrics))] } ?? [])
    }

    /// Serves without the service group (tests, which drive the collector themselves).
    public func startServing() throws(HTTPServerError) { try server.start() }

    /// Stops the server (for a daemon whose services never ran, as in tests). Idempotent.
    public func stop() async { await server.stop() }
}

/// Starts libmicrohttpd's threads and serves HTTP until a graceful shutdown, then
/// stops accepting and closes every connection. Listening starts earlier (in
/// `WebFront.init`), so the port is known.
struct HTTPServerService: Service {
    let server: HTTPServer

    func run() async throws {
        try server.start()
        try? await gracefulShutdown()
        await server.stop()
    }
}

/// Renders the exposition on change until a graceful shutdown.
struct PublisherService: Service {
    let publisher: ExpositionPublisher

    func run() async {
        await cancelWhenGracefulShutdown { await publisher.run() }
    }
}

/// Re-reads the web configuration when it (or a file it names) changes, until a graceful shutdown.
struct WebConfigService: Service {
    let watcher: WebConfigWatcher
    let metrics: IngestionMetrics

    func run() async {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do { try await Task.sleep(for: .seconds(5)) } catch { return }
                switch watcher.checkForChanges() {
                case .applied: metrics.webConfigReloaded(successfully: true)
                case .failed: metrics.webConfigReloaded(successfully: false)
                case .unchanged: break
                }
            }
        }
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
