import ExporterConfiguration
import ExporterMetrics
import Foundation
import IngestionCollector
import IngestionModel
import IngestionStore
import Logging
import PostgresStore
import SQLiteStore

/// The store a configuration names, open for the daemon.
struct OpenedStore {
    let store: any IngestionStore
    /// PostgreSQL: the coordination replicas share through it.
    let leases: (any LeaseStore)?
    /// Whether the store was made new by this start (SQLite: no file, or an empty one with `--storage.init`).
    let created: Bool
}

enum StoreOpening {
    /// How long the daemon waits between attempts while PostgreSQL cannot be reached at start.
    static let retryEvery: Duration = .seconds(5)

    /// Opens `storage`: SQLite at once (a damaged, empty or locked file is refused);
    /// PostgreSQL once the server answers, waiting for it (said once, then every five
    /// minutes) rather than failing, as replicas may start before their database.
    static func open(_ storage: ExporterConfig.Storage, initialize: Bool, logger: Logger) async throws(StartupError) -> OpenedStore {
        switch storage.driver {
        case .sqlite:
            // Off the cooperative pool: the integrity check of a large file takes a while.
            do {
                let store = try await offPool { () throws -> SQLiteIngestionStore in
                    try SQLiteIngestionStore(path: storage.path, durationBounds: IngestionMetrics.durationBounds,
                                             options: .init(initialize: initialize))
                }
                return OpenedStore(store: store, leases: nil, created: store.created)
            } catch let error as StoreError {
                throw StartupError(description: error.description)
            } catch {
                throw StartupError(description: "\(error)")
            }
        case .postgres:
            let configuration: PostgresConfiguration
            do {
                configuration = try storage.postgres(url: storage.url ?? "")
            } catch {
                throw StartupError(description: "storage.url: \(error.description)")
            }
            let started = ContinuousClock.now
            var lastSaid: ContinuousClock.Instant?
            while true {
                do {
                    let store = try await PostgresIngestionStore.connect(configuration, durationBounds: IngestionMetrics.durationBounds,
                                                                         logger: logger)
                    if lastSaid != nil { logger.info("store reachable", metadata: ["store": "\(configuration.location)"]) }
                    return OpenedStore(store: store, leases: store, created: false)
                } catch where error.kind == .unavailable {
                    if lastSaid.map({ ContinuousClock.now - $0 >= StoreMonitor.repeatEvery }) ?? true {
                        lastSaid = ContinuousClock.now
                        logger.error("waiting for the store", metadata: ["error": "\(error)",
                                                                         "waited": "\(DurationText.format(ContinuousClock.now - started))"])
                    }
                    do { try await Task.sleep(for: retryEvery) } catch { throw StartupError(description: "stopped while waiting for \(configuration.location)") }
                } catch {
                    throw StartupError(description: error.description)
                }
            }
        }
    }
}
