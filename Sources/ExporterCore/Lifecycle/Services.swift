import Cluster
import ExporterWeb
import Foundation
import IngestionCollector
import IngestionModel
import Logging
import ServiceLifecycle
import Synchronization
import UnixSignals

/// Triggers and polls until a graceful shutdown, which cancels every upstream call.
/// In cluster mode the coordinator runs beside the collector: it takes and gives up
/// tenants, and serves the trigger-now calls other replicas queue for them.
struct CollectorService: Service {
    let collector: Collector
    let coordinator: ClusterCoordinator?
    /// Cluster mode: how long the workers may take to end their cycle on a graceful shutdown.
    var finishing: Duration = .seconds(2)

    func run() async {
        guard let coordinator else {
            await cancelWhenGracefulShutdown { await collector.run() }
            return
        }
        // Cluster mode: the workers end their cycle (a POST in flight is recorded) before
        // everything is cancelled and the leases are released.
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await collector.run() }
            group.addTask { await coordinator.run() }
            group.addTask { [collector] in
                await coordinator.serveQueuedTriggers { key in TriggerNow.queuedAnswer(key, await collector.trigger(key)) }
            }
            if (try? await gracefulShutdown()) != nil { await collector.finishWorkers(within: finishing) }
            group.cancelAll()
        }
    }
}

/// PostgreSQL's connection pool, until a graceful shutdown (the last service stopped). Before
/// it runs, the store's calls (rebuilding the metrics in `init`) open connections of their own.
struct StorePoolService: Service {
    let pool: @Sendable () async -> Void

    func run() async { await pool() }
}

/// The names of the services (and the store) still running.
final class RunningServices: Sendable {
    private let names = Mutex<[String]>([])

    func started(_ name: String) { names.withLock { $0.append(name) } }
    func stopped(_ name: String) { names.withLock { names in names.firstIndex(of: name).map { _ = names.remove(at: $0) } } }
    var current: [String] { names.withLock { $0 } }
}

/// A service that says, by name, while it runs.
struct NamedService: Service {
    let name: String
    let service: any Service
    let running: RunningServices

    func run() async throws {
        running.started(name)
        defer { running.stopped(name) }
        try await service.run()
    }
}

/// The bound on a shutdown: once started (the first stop signal, or the services ending
/// on their own), what still runs after `limit` is named in one line and the process exits
/// 1, with no crash report; `cancel()` once everything has stopped.
final class ShutdownLimit: Sendable {
    let limit: Duration
    let running: RunningServices
    let logger: Logger
    private let timer = Mutex<Task<Void, Never>?>(nil)

    init(limit: Duration, running: RunningServices, logger: Logger) {
        (self.limit, self.running, self.logger) = (limit, running, logger)
    }

    /// Starts the countdown (once).
    func start() {
        timer.withLock { timer in
            guard timer == nil else { return }
            timer = Task.detached { [limit, running, logger] in
                // Half a second early: the process is gone by the limit, its exit included.
                do { try await Task.sleep(for: max(limit - .milliseconds(500), limit / 2)) } catch { return }
                logger.error("shutdown did not finish within \(DurationText.format(limit)): exiting", metadata: [
                    "still_stopping": "\(running.current.joined(separator: ", "))",
                ])
                exit(1)
            }
        }
    }

    /// Everything stopped in time.
    func cancel() { timer.withLock { $0?.cancel() } }
}

/// What the service group does not do with signals: a second SIGTERM or SIGINT
/// ends the process at once, and SIGHUP reloads the configuration (never ending the process).
struct SignalWatcher {
    let logger: Logger
    let reload: @Sendable () async -> Void
    /// Told of the first stop signal.
    var stopping: @Sendable () -> Void = {}

    func run() async {
        let signals = await UnixSignalsSequence(trapping: .sigterm, .sigint, .sighup)
        var stopSignals = 0
        for await signal in signals {
            if signal == .sighup {
                logger.info("SIGHUP received: reloading the configuration")
                await reload()
                continue
            }
            stopSignals += 1
            if stopSignals == 1 { stopping() }
            if stopSignals >= 2 {
                logger.warning("second stop signal: exiting now", metadata: ["signal": "\(signal)"])
                exit(1)
            }
        }
    }
}
