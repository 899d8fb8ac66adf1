import Foundation
import IngestionModel
import IngestionStore
import Logging
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// The shared store: PostgreSQL, which several exporters can use at once.
///
/// The same tables, transactions and semantics as the SQLite store: each write
/// method is one transaction that makes a whole state change or nothing. It owns
/// a PostgresNIO connection pool, whose `run()` must be going for any statement
/// to run: either run the store as a `Service` (its `run()`) or open it with
/// `connect(_:durationBounds:logger:)`, which runs it in a task of its own until
/// `close()`.
///
/// When the server goes away, calls fail with `.unavailable` (after at most
/// `connectTimeout` waiting for a connection) and work again once it is back:
/// the pool reconnects by itself, with a back-off that PostgresNIO caps at a minute.
public final class PostgresIngestionStore: IngestionStore, Service {
    let client: PostgresClient
    public let configuration: PostgresConfiguration
    /// Upper bounds (seconds) of the request-duration histogram; +Inf is implied.
    let durationBounds: [Double]
    let logger: Logger
    /// The pool's `run()`, when `connect` started it.
    private let ownedRun = Mutex<Task<Void, Never>?>(nil)
    /// Whether the pool runs (`connect`'s task, or `run()` as a service); before, each call
    /// opens a connection of its own.
    private let poolRunning = Atomic<Bool>(false)

    /// The clock leases and fences are read against (the server's, unless a test moves it).
    let leaseClock: LeaseClock

    public var location: String { configuration.location }

    /// Sets up the pool; nothing connects until `run()` is going and a statement needs a connection.
    public init(configuration: PostgresConfiguration, durationBounds: [Double],
                logger: Logger = Logger(label: "acs-ingestion-exporter.postgres", factory: { _ in SwiftLogNoOpLogHandler() }),
                leaseClock: LeaseClock = .server) throws(StoreError) {
        self.configuration = configuration
        self.durationBounds = durationBounds
        self.logger = logger
        self.leaseClock = leaseClock
        client = PostgresClient(configuration: try configuration.clientConfiguration(), backgroundLogger: logger)
    }

    /// Opens the store: runs its pool in a task it owns, and migrates the schema
    /// (or, read-only, checks that this exporter can read it).
    public static func connect(_ configuration: PostgresConfiguration, durationBounds: [Double],
                               logger: Logger = Logger(label: "acs-ingestion-exporter.postgres",
                                                       factory: { _ in SwiftLogNoOpLogHandler() }),
                               leaseClock: LeaseClock = .server)
        async throws(StoreError) -> PostgresIngestionStore {
        let store = try PostgresIngestionStore(configuration: configuration, durationBounds: durationBounds, logger: logger,
                                               leaseClock: leaseClock)
        store.poolRunning.store(true, ordering: .releasing)
        store.ownedRun.withLock { $0 = Task { await store.run() } }
        do {
            try await store.prepare()
        } catch {
            await store.close()
            throw error
        }
        return store
    }

    /// Opens the store without its pool: migrates the schema (or, read-only, checks it);
    /// until `run()` runs the pool, as a service of the caller's group, each call opens a
    /// connection of its own.
    public static func open(_ configuration: PostgresConfiguration, durationBounds: [Double], logger: Logger,
                            leaseClock: LeaseClock = .server) async throws(StoreError) -> PostgresIngestionStore {
        let store = try PostgresIngestionStore(configuration: configuration, durationBounds: durationBounds, logger: logger,
                                               leaseClock: leaseClock)
        try await store.prepare()
        return store
    }

    /// Runs the connection pool until cancelled or, in a `ServiceGroup`, until graceful shutdown.
    /// Once it has ended (a graceful shutdown, or the group cancelled), calls open connections
    /// of their own again: a replica's last lease releases still go out.
    public func run() async {
        poolRunning.store(true, ordering: .releasing)
        defer { poolRunning.store(false, ordering: .releasing) }
        await client.run()
    }

    /// Applies the migrations not yet applied (read-only: checks the schema), on a
    /// connection of its own, so that it works before `run()` and its errors are
    /// the server's own (refused, authentication, TLS, no such database).
    public func prepare() async throws(StoreError) {
        let connection = try await directConnection("connect")
        do {
            if configuration.readOnly {
                try await Migrations.checkReadable(on: connection, location: location, logger: logger)
            } else {
                try await Migrations.apply(on: connection, location: location, logger: logger)
            }
        } catch {
            try? await connection.close()
            throw error
        }
        try? await connection.close()
    }

    public func schemaVersion() async throws(StoreError) -> Int {
        try await withConnection("schema version") { connection in
            try await Migrations.currentVersion(connection, logger: self.logger)
        }
    }

    /// Whether the server answers (and, with `write`, takes a one-row write, which a
    /// read-only standby refuses), in one round trip; returns the database's size
    /// (`pg_database_size`). `.unavailable` when the server cannot be reached.
    public func probe(write: Bool, at time: Date) async throws(StoreError) -> StoreProbe {
        try await withConnection(write ? "probe with a write" : "probe") { connection in
            let size = "SELECT pg_database_size(current_database())"
            let rows = try await connection.query(write ? """
                WITH probe AS (
                    INSERT INTO store_probe (id, at) VALUES (1, \(time.timeIntervalSince1970))
                    ON CONFLICT (id) DO UPDATE SET at = excluded.at
                )
                \(unescaped: size)
                """ : "\(unescaped: size)", logger: self.logger)
            for try await bytes in rows.decode(Int64.self) { return StoreProbe(sizeBytes: bytes) }
            return StoreProbe(sizeBytes: nil)
        }
    }

    /// Ends the pool's `run()` when `connect` started it (a `ServiceGroup` ends its own).
    public func close() async {
        let task = ownedRun.withLock { task in
            defer { task = nil }
            return task
        }
        task?.cancel()
        await task?.value
    }

    // MARK: - Connections

    /// One transaction: everything `body` writes lands, or nothing does. Bounded by
    /// `callTimeout` unless `bounded` is false (an import: its own session has no statement timeout).
    func transaction<T: Sendable>(_ operation: String, bounded: Bool = true,
                                  _ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws(StoreError) -> T {
        try await withConnection(operation, bounded: bounded) { connection in
            try await connection.withTransaction(logger: self.logger) { connection in try await body(connection) }
        }
    }

    /// Reads that must agree with each other (totals and open requests at start-up)
    /// see one snapshot, even while other exporters write.
    func snapshot<T: Sendable>(_ operation: String,
                               _ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws(StoreError) -> T {
        try await transaction(operation) { connection in
            try await connection.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY", logger: self.logger)
            return try await body(connection)
        }
    }

    /// Runs `body` on a pooled connection. Waiting for one is bounded by
    /// `connectTimeout`: while it cannot connect, PostgresNIO's pool keeps a request
    /// waiting for 15 s before failing it, and the daemon must learn sooner that the
    /// database is gone. A connection handed over after the deadline is returned unused.
    /// Once it has one, the call is bounded by `callTimeout` (unless `bounded` is false)
    /// and by its task's cancellation: either closes the connection, which ends the
    /// statement in flight at once, even on a server that stopped answering (a hung or
    /// SIGSTOPped one, whose socket still takes the bytes); the pool opens another.
    func withConnection<T: Sendable>(_ operation: String, bounded: Bool = true,
                                     _ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws(StoreError) -> T {
        guard poolRunning.load(ordering: .acquiring) else { return try await withOwnConnection(operation, bounded: bounded, body) }
        let gate = LeaseGate()
        let timeout = configuration.connectTimeout
        let limit = bounded ? configuration.callTimeout : nil
        do {
            return try await withThrowingTaskGroup(of: T?.self) { group in
                group.addTask { [client] in
                    try await client.withConnection { connection in
                        guard gate.claim() else { throw ConnectionWaitTimedOut() }
                        return try await Self.answer(on: connection, within: limit, body)
                    }
                }
                group.addTask {
                    try await Task.sleep(for: timeout)
                    if gate.expire() { throw ConnectionWaitTimedOut() }
                    return nil
                }
                while let result = try await group.next() {
                    if let value = result {
                        group.cancelAll()
                        return value
                    }
                }
                throw ConnectionWaitTimedOut() // not reached: the first task returns or throws
            }
        } catch where !gate.wasClaimed {
            // No connection came (the deadline, or the pool's own circuit breaker).
            throw await unreachable(operation)
        } catch {
            throw StoreError.postgres(error, location: location, operation)
        }
    }

    /// `body` on a connection of its own (before the pool runs), bounded as a pooled call is.
    private func withOwnConnection<T: Sendable>(_ operation: String, bounded: Bool,
                                                _ body: @escaping @Sendable (PostgresConnection) async throws -> T)
        async throws(StoreError) -> T {
        let connection = try await directConnection(operation, bounded: bounded)
        do {
            let value = try await Self.answer(on: connection, within: bounded ? configuration.callTimeout : nil, body)
            try? await connection.close()
            return value
        } catch {
            try? await connection.close()
            throw StoreError.postgres(error, location: location, operation)
        }
    }

    /// `body` on `connection`, within `limit` (nil: no limit) and until its task is
    /// cancelled: past either, the connection is closed, which fails the statement in flight.
    private static func answer<T: Sendable>(on connection: PostgresConnection, within limit: Duration?,
                                            _ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        try await withTaskCancellationHandler {
            guard let limit else { return try await body(connection) }
            return try await withThrowingTaskGroup(of: T?.self) { group in
                group.addTask { try await body(connection) }
                group.addTask {
                    try? await Task.sleep(for: limit)
                    return nil
                }
                if let value = try await group.next() ?? nil {
                    group.cancelAll()
                    return value
                }
                Self.drop(connection)
                group.cancelAll()
                if Task.isCancelled { throw CancellationError() }
                throw CallTimedOut(limit: limit)
            }
        } onCancel: {
            drop(connection)
        }
    }

    /// Closes `connection` now, without waiting for the server (which may not answer).
    private static func drop(_ connection: PostgresConnection) {
        let closing: EventLoopFuture<Void> = connection.close()
        closing.whenComplete { _ in }
    }

    /// Why no pooled connection came: a connection of its own gets the server's
    /// own answer (refused, authentication, TLS) instead of the pool's silence.
    private func unreachable(_ operation: String) async -> StoreError {
        do {
            let connection = try await directConnection(operation)
            try? await connection.close()
        } catch {
            return error
        }
        return StoreError(.unavailable, "database \(location): \(operation): no pooled connection within \(configuration.connectTimeout) "
                                        + "(the server answers; the pool is reconnecting or all \(configuration.poolSize) connections are busy)")
    }

    private func directConnection(_ operation: String, bounded: Bool = false) async throws(StoreError) -> PostgresConnection {
        var connectionConfiguration = try configuration.connectionConfiguration(bounded: bounded)
        let (seconds, attoseconds) = configuration.connectTimeout.components
        connectionConfiguration.options.connectTimeout = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
        do {
            return try await PostgresConnection.connect(configuration: connectionConfiguration, id: 0, logger: logger)
        } catch {
            throw StoreError.postgres(error, location: location, operation)
        }
    }
}

/// Who got there first: the lease, or the deadline for it.
private final class LeaseGate: Sendable {
    private static let waiting: UInt8 = 0, leased: UInt8 = 1, expired: UInt8 = 2
    private let state = Atomic<UInt8>(LeaseGate.waiting)

    /// The connection arrived; false when the deadline had already passed.
    func claim() -> Bool {
        state.compareExchange(expected: Self.waiting, desired: Self.leased, ordering: .acquiringAndReleasing).exchanged
    }

    var wasClaimed: Bool { state.load(ordering: .acquiring) == Self.leased }

    /// The deadline passed; false when the connection had already arrived.
    func expire() -> Bool {
        state.compareExchange(expected: Self.waiting, desired: Self.expired, ordering: .acquiringAndReleasing).exchanged
    }
}
