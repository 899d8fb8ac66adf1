import AdobeIngestionClient
import BuildInfo
import ExporterMetrics
import CGlibcExtras
import Foundation
import HTTPServer
import IngestionModel
import IngestionStore
import Logging
import Synchronization

/// The exporter's version, for `--version` and `acs_ingestion_exporter_build_info`:
/// stamped at build time by `make` (see the BuildInfo module).
public typealias ExporterVersion = BuildInfo

/// Why the daemon could not start: one line, naming what to fix.
public struct StartupError: Error, CustomStringConvertible {
    public let description: String
}

/// Store, metrics, collector and HTTP server, put together.
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
    private let server: HTTPServer
    private let collecting = Mutex<Task<Void, Never>?>(nil)
    private let readyFlag: Ready

    public var port: Int { server.port }
    public var store: IngestionStore { collector.store }
    public var metrics: IngestionMetrics { collector.metrics }

    public init(config: ExporterConfig, options: Options, logger: Logger,
                time: any TimeSource = SystemTimeSource()) throws(StartupError) {
        // Each rendering allocates buffers the size of the exposition. With glibc's
        // adaptive threshold they end up on the heap and resident memory only grows;
        // a fixed threshold keeps them mmapped, so freeing one returns it to the system.
        mallopt(M_MMAP_THRESHOLD, 256 * 1024)
        let store: IngestionStore
        do {
            store = try IngestionStore(path: config.storage.path, durationBounds: IngestionMetrics.durationBounds)
        } catch {
            throw StartupError(description: error.description)
        }
        let descriptors = Collector.descriptors(of: config)
        let metrics = IngestionMetrics(mappings: descriptors, version: ExporterVersion.version,
                                       revision: ExporterVersion.revision, branch: ExporterVersion.branch,
                                       swiftVersion: ExporterVersion.swiftVersion, now: time.now())
        collector = Collector(config: config, store: store, metrics: metrics, time: time, logger: logger)
        publisher = ExpositionPublisher(metrics: metrics)

        // Counters are rebuilt before anything can change them through the API.
        do {
            try collector.restore()
        } catch {
            throw StartupError(description: error.description)
        }
        var router = Router()
        let publisher = self.publisher
        let ready = Ready()
        let statusPage = StatusPage(config: config, store: store, telemetryPath: options.telemetryPath,
                                    version: ExporterVersion.version)
        ExporterRoutes.install(into: &router, telemetryPath: options.telemetryPath, publisher: publisher,
                               ready: { ready.value && publisher.isReady }, statusPage: statusPage, now: { time.now() })
        var writeToken: Secret?
        if let file = config.api.tokenFile {
            let token = (try? String(contentsOfFile: file, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
            guard let token, !token.isEmpty else { throw StartupError(description: "api.token_file \(file) is unreadable or empty") }
            writeToken = Secret(token)
        }
        APIRoutes(collector: collector, writeToken: writeToken).install(into: &router)
        do {
            var serverConfiguration = HTTPServer.Configuration(listenAddress: options.listenAddress)
            serverConfiguration.listeningSocket = options.listeningSocket
            server = try HTTPServer(configuration: serverConfiguration, router: router)
        } catch {
            throw StartupError(description: error.description)
        }
        publisher.start()
        ready.value = true
        readyFlag = ready
    }

    /// Starts triggering and polling in the background.
    public func startCollecting() {
        collecting.withLock { task in
            guard task == nil else { return }
            task = Task { [collector] in await collector.run() }
        }
    }

    public func stop() async {
        let task = collecting.withLock { task -> Task<Void, Never>? in
            defer { task = nil }
            return task
        }
        task?.cancel()
        await task?.value
        readyFlag.value = false
        server.stop()
        publisher.stop()
    }
}

/// A flag the readiness route reads from libmicrohttpd's thread.
final class Ready: Sendable {
    private let flag = Atomic<Bool>(false)
    var value: Bool {
        get { flag.load(ordering: .acquiring) }
        set { flag.store(newValue, ordering: .releasing) }
    }
}
