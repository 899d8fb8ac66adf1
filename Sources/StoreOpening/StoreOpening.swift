import ExporterConfiguration
import Foundation
import IngestionModel
import IngestionStore
import Logging
import PostgresStore
import SQLiteStore

/// The store a configuration names, open for the daemon.
public struct OpenedStore: Sendable {
    public let store: any IngestionStore
    /// PostgreSQL: the coordination replicas share through it.
    public let leases: (any LeaseStore)?
    /// Whether the store was made new by this start (SQLite: no file, or an empty one with `--storage.init`).
    public let created: Bool
    /// PostgreSQL: the connection pool, to run as a service of the daemon's group (until it
    /// runs, each call opens a connection of its own).
    public var runPool: (@Sendable () async -> Void)? = nil
}

/// Why the configured store cannot be opened: one line, naming what to fix.
public struct StoreOpeningError: Error, CustomStringConvertible, Sendable {
    public let description: String
}

public enum StoreOpening {
    /// How long the daemon waits between attempts while PostgreSQL cannot be reached at start.
    static let retryEvery: Duration = .seconds(5)

    /// Opens `storage`: SQLite at once (a damaged, empty or locked file is refused);
    /// PostgreSQL once the server answers, waiting for it (said once, then every five
    /// minutes: `sayAgainEvery`) rather than failing, as replicas may start before their database.
    /// PostgreSQL's leases follow `time` (the server's own clock with the system's), and so
    /// does the wait.
    public static func open(_ storage: ExporterConfig.Storage, durationBounds: [Double], initialize: Bool,
                            sayAgainEvery: Duration, time: any TimeSource, logger: Logger) async throws(StoreOpeningError) -> OpenedStore {
        switch storage.driver {
        case .sqlite:
            // Off the cooperative pool: the integrity check of a large file takes a while.
            do {
                let store = try await offPool { () throws -> SQLiteIngestionStore in
                    try SQLiteIngestionStore(path: storage.path, durationBounds: durationBounds,
                                             options: .init(initialize: initialize))
                }
                return OpenedStore(store: store, leases: nil, created: store.created)
            } catch let error as StoreError {
                throw StoreOpeningError(description: error.description)
            } catch {
                throw StoreOpeningError(description: "\(error)")
            }
        case .postgres:
            let configuration: PostgresConfiguration
            do {
                configuration = try storage.postgres(url: storage.url ?? "")
            } catch {
                throw StoreOpeningError(description: "storage.url: \(error.description)")
            }
            let started = time.elapsed()
            var lastSaid: Duration?
            while true {
                do {
                    let store = try await PostgresIngestionStore.open(configuration, durationBounds: durationBounds,
                                                                      logger: logger, leaseClock: .following(time))
                    if lastSaid != nil { logger.info("store reachable", metadata: ["store": "\(configuration.location)"]) }
                    return OpenedStore(store: store, leases: store, created: false, runPool: { await store.run() })
                } catch where error.kind == .unavailable {
                    if lastSaid.map({ time.elapsed() - $0 >= sayAgainEvery }) ?? true {
                        lastSaid = time.elapsed()
                        logger.error("waiting for the store", metadata: ["error": "\(error)",
                                                                         "waited": "\(DurationText.format(time.elapsed() - started))"])
                    }
                    do { try await time.sleep(for: retryEvery) } catch { throw StoreOpeningError(description: "stopped while waiting for \(configuration.location)") }
                } catch {
                    throw StoreOpeningError(description: error.description)
                }
            }
        }
    }
}
