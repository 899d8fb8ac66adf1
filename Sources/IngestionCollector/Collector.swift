import AdobeIngestionClient
import AsyncHTTPClient
import ExporterConfiguration
import ExporterMetrics
import Foundation
import IngestionModel
import IngestionStore
import Logging
import Synchronization

/// A value in force, read from any thread (the HTTP routes) and replaced whole by
/// a configuration reload.
public final class Live<Value: Sendable>: Sendable {
    private let current: Mutex<Value>

    public init(_ value: Value) { current = Mutex(value) }

    public var value: Value { current.withLock { $0 } }

    public func replace(_ value: Value) { current.withLock { $0 = value } }
}

/// The configuration in force.
public typealias LiveConfiguration = Live<ExporterConfig>

/// Follows ingestion requests: one `TenantWorker` per configured tenant triggers
/// its mappings on their schedule and polls its open requests. The collector starts
/// and stops workers (at start, on reload), applies retention, and routes the API's
/// calls to the right tenant. Upstream trouble becomes metrics and log lines; it
/// never stops the loop. Cancelling `run()` stops every call. In cluster mode (with
/// `leases`) it runs only the tenants the cluster's coordinator hands it (see
/// `TenantOwnership`), each under its lease.
public final class Collector: Sendable {
    /// The store, every call watched by `storeMonitor`.
    public let store: any IngestionStore
    public let storeMonitor: StoreMonitor
    public let metrics: IngestionMetrics
    public let settings: LiveConfiguration
    public let time: any TimeSource
    private let logger: Logger
    private let httpClient: HTTPClient
    private let concurrency: ConcurrencyLimit
    private let watchdog: Watchdog
    private let workers: Mutex<[String: TenantWorker]>
    /// Cluster mode: the store's coordination of replicas (nil: this process runs every tenant).
    let leases: (any LeaseStore)?
    /// Whether replicas share the tenants (the tenants run are those `own` hands over).
    public var isClustered: Bool { leases != nil }
    /// The leases of the tenants this replica runs, and their fenced stores (cluster mode).
    private let leased = Mutex<[String: (handle: LeaseHandle, store: any IngestionStore)]>([:])
    /// Cluster mode: tenants handed over whose worker is finishing (still leased, no longer run).
    private let leaving = Mutex<Set<String>>([])
    /// One change at a time to which tenants run and show (a take, a hand-over, a reload):
    /// each reads the others' results whole.
    private let membership = AsyncLock()
    /// Wakes `run()` when the set of workers changed.
    /// Workers added or removed: `run()` starts the new ones.
    private let workersChanged = Signal()

    /// With `leases`, the collector runs only the tenants it is handed (`own`), whose
    /// lease this replica holds; without, every configured tenant.
    public init(config: ExporterConfig, store: any IngestionStore, metrics: IngestionMetrics,
                time: any TimeSource = SystemTimeSource(), logger: Logger, readiness: Readiness? = nil,
                leases: (any LeaseStore)? = nil,
                httpClient: HTTPClient = AdobeIngestionClient.sharedHTTPClient) {
        let monitor = StoreMonitor(location: store.location, metrics: metrics, readiness: readiness, time: time, logger: logger)
        (self.store, storeMonitor) = (MonitoredStore(inner: store, monitor: monitor, timeout: config.storage.timeout), monitor)
        (self.metrics, self.time, self.logger, self.httpClient) = (metrics, time, logger, httpClient)
        self.leases = leases
        settings = LiveConfiguration(config)
        concurrency = ConcurrencyLimit(config.collector.maxConcurrentRequests)
        watchdog = Watchdog(metrics: metrics, readiness: readiness, logger: logger)
        workers = Mutex([:])
        if leases == nil {
            workers.withLock { workers in
                for tenant in config.tenants { workers[tenant.name] = makeWorker(tenant) }
            }
        }
    }

    public var config: ExporterConfig { settings.value }

    /// The tenants this process runs: all of them, or (cluster mode) those whose lease it holds.
    public var ownedTenants: Set<String> {
        isClustered ? Set(leased.withLock { $0.keys }) : Set(config.tenants.map(\.name))
    }

    private func makeWorker(_ tenant: ExporterConfig.Tenant) -> TenantWorker {
        let lease = leased.withLock { $0[tenant.name] }
        let store = lease.map { MonitoredStore(inner: $0.store, monitor: storeMonitor, timeout: config.storage.timeout) } ?? self.store
        return TenantWorker(tenant: tenant, settings: settings, store: store, metrics: metrics, concurrency: concurrency,
                            time: time, logger: logger, httpClient: httpClient, lease: lease?.handle)
    }

    func worker(_ tenant: String) -> TenantWorker? { workers.withLock { $0[tenant] } }

    /// Whether this process runs `tenant` now (has its worker).
    public func isRunning(_ tenant: String) -> Bool { worker(tenant) != nil }

    /// The metrics' view of the configuration (of some tenants only, when `tenants` says which).
    public static func descriptors(of config: ExporterConfig, tenants: Set<String>? = nil) -> [MappingDescriptor] {
        config.tenants.filter { tenants?.contains($0.name) ?? true }.flatMap { tenant in
            tenant.mappings.map {
                MappingDescriptor(key: MappingKey(tenant: tenant.name, mapping: $0.id), name: $0.name, scheduled: $0.schedule != nil,
                                  followsBatches: tenant.client.platform != nil)
            }
        }
    }

    /// Rebuilds the metrics and the schedules from the store: run once, before
    /// serving. Returns the totals it loaded.
    @discardableResult
    public func restore() async throws(StoreError) -> IngestionTotals {
        let totals = try await store.totals()
        // A replica shows the series of the tenants it runs only, none before it holds a lease.
        // When each mapping was first configured: the `_created` of its counters.
        let created = try await store.registerMappings(config.mappingKeys, at: time.now())
        metrics.restore(totals, created: created, now: time.now())
        if isClustered {
            metrics.reconfigure(mappings: [], totals: totals, now: time.now())
            showOwnership()
        }
        try await loadPlans(for: workers.withLock { Array($0.values) }, totals: totals)
        await storeMonitor.check(store)
        return totals
    }

    private func loadPlans(for workers: [TenantWorker], totals: IngestionTotals) async throws(StoreError) {
        let stored = try await store.triggerPlans()
        let lastTriggers = totals.latest.compactMapValues(\.lastTriggerAt)
        for worker in workers { worker.loadPlans(stored: stored, lastTriggers: lastTriggers) }
    }

    /// How often the store's health and the workers' liveness are checked: each poll
    /// interval, at least every 10 s.
    var checkInterval: Duration { min(settings.value.collector.pollInterval, .seconds(10)) }

    /// Runs every tenant's worker, the store's health check, the workers' watchdog, and
    /// retention hourly, until cancelled; starts the workers a reload adds.
    public func run() async {
        await withDiscardingTaskGroup { group in
            group.addTask { await self.storeMonitor.run(self.store, interval: { self.checkInterval }) }
            group.addTask {
                while !Task.isCancelled {
                    do { try await self.time.sleep(for: self.checkInterval) } catch { return }
                    self.checkLiveness()
                }
            }
            group.addTask {
                while !Task.isCancelled {
                    await self.applyRetention()
                    do { try await self.time.sleep(for: .seconds(3600)) } catch { return }
                }
            }
            // Held until the worker leaves the set, so that a new worker cannot take the
            // address (the ObjectIdentifier) of one started before and be taken for it.
            var started: [ObjectIdentifier: TenantWorker] = [:]
            while true {
                let seen = workersChanged.count
                let current = workers.withLock { $0.values.map { (ObjectIdentifier($0), $0) } }
                for (id, worker) in current where started[id] == nil {
                    started[id] = worker
                    group.addTask { await worker.run() }
                }
                let kept = Set(current.map(\.0))
                started = started.filter { kept.contains($0.key) }
                do { try await workersChanged.wait(after: seen) } catch { break }
            }
        }
    }

    /// Applies a reloaded configuration: workers of tenants that are new or set up
    /// differently (a rotated secret included) are made anew, those of removed tenants
    /// stop; the metrics follow (new mappings from their stored totals, removed ones
    /// leave /metrics; their history stays in the store). Returns what changed, in words.
    public func apply(_ new: ExporterConfig) async throws(StoreError) -> String {
        await membership.lock()
        defer { membership.unlock() }
        let old = config
        let now = time.now()
        let firstConfigured = try await store.registerMappings(new.mappingKeys, at: now)
        let totals = try await store.totals()
        settings.replace(new)
        // A replica runs, and shows, only the tenants it holds; the others are its peers'.
        let runs = !isClustered ? nil
            : ownedTenants.subtracting(leaving.withLock { $0 }).intersection(new.tenants.map(\.name))
        metrics.reconfigure(mappings: Self.descriptors(of: new, tenants: runs), totals: totals, created: firstConfigured, now: now)
        showOwnership()
        let workerSettingsChanged = old.collector != new.collector
        let wanted = Dictionary(new.tenants.map { ($0.name, $0) }, uniquingKeysWith: { $1 })
        var (stopped, created): ([TenantWorker], [TenantWorker]) = ([], [])
        workers.withLock { workers in
            for (name, worker) in workers {
                guard let tenant = wanted[name], tenant.sameSettings(as: worker.tenant), !workerSettingsChanged else {
                    stopped.append(worker)
                    workers[name] = nil
                    continue
                }
            }
            for tenant in new.tenants where workers[tenant.name] == nil && runs?.contains(tenant.name) ?? true {
                let worker = makeWorker(tenant)
                workers[tenant.name] = worker
                created.append(worker)
            }
        }
        for worker in stopped { worker.stop() }
        // The new workers start even when their plans cannot be read (they poll; plans come
        // with the next reload or restart): without this they would never run.
        defer { workersChanged.signal() }
        try await loadPlans(for: created, totals: totals)
        let oldNames = Set(old.tenants.map(\.name)), newNames = Set(wanted.keys)
        return "tenants added \(newNames.subtracting(oldNames).sorted()), removed \(oldNames.subtracting(newNames).sorted()), "
            + "restarted \(created.map(\.tenant.name).filter(oldNames.contains).sorted())"
    }

    /// Cluster mode: runs the tenants `taken`, each under its lease, its writes fenced by it:
    /// their series rebuilt from the store, their schedules loaded, their workers started,
    /// after one read of the store for all of them. Returns the tenants started: none
    /// when the store cannot be read.
    public func own(_ taken: [TakenTenant]) async -> Set<String> {
        let taken = taken.filter { entry in config.tenants.contains { $0.name == entry.tenant } }
        guard !taken.isEmpty else { return [] }
        await membership.lock()
        defer { membership.unlock() }
        leased.withLock { leased in for entry in taken { leased[entry.tenant] = (entry.lease, entry.fencedStore) } }
        let started = taken.compactMap { entry in config.tenants.first { $0.name == entry.tenant }.map(makeWorker) }
        do {
            let totals = try await store.totals()
            metrics.reconfigure(mappings: Self.descriptors(of: config, tenants: ownedTenants), totals: totals, now: time.now())
            showOwnership()
            try await loadPlans(for: started, totals: totals)
        } catch {
            leased.withLock { leased in for entry in taken { leased[entry.tenant] = nil } }
            metrics.reconfigure(mappings: Self.descriptors(of: config, tenants: ownedTenants), totals: IngestionTotals(), now: time.now())
            showOwnership()
            logger.warning("cannot take tenants: the store cannot be read",
                           metadata: ["tenants": "\(taken.map(\.tenant))", "error": "\(error)"])
            return []
        }
        workers.withLock { workers in for worker in started { workers[worker.tenant.name] = worker } }
        workersChanged.signal()
        return Set(started.map(\.tenant.name))
    }

    /// Cluster mode: stops running `tenant` (its worker ends before this returns) and
    /// takes its series out of /metrics: another replica runs it now. With `grace`, the
    /// worker starts no call and its cycle in progress may end first (a POST in flight is
    /// answered and recorded), for that long at most; without, its calls are cancelled at
    /// once (the lease is lost).
    public func disown(_ tenant: String, grace: Duration?) async {
        await membership.lock()
        let worker = workers.withLock { $0.removeValue(forKey: tenant) }
        leaving.withLock { _ = $0.insert(tenant) }
        membership.unlock()
        if let worker {
            if let grace {
                worker.finish()
                if await !worker.finished(within: grace) { worker.stop() }
            }
            worker.stop()
            await worker.finished()
        }
        await membership.lock()
        defer { membership.unlock() }
        leased.withLock { _ = $0.removeValue(forKey: tenant) }
        leaving.withLock { _ = $0.remove(tenant) }
        workersChanged.signal()
        metrics.reconfigure(mappings: Self.descriptors(of: config, tenants: ownedTenants), totals: IngestionTotals(), now: time.now())
        showOwnership()
    }

    /// Cluster mode: which configured tenants this replica runs, in /metrics.
    private func showOwnership() {
        guard isClustered else { return }
        metrics.ownership(tenants: config.tenants.map(\.name), owned: ownedTenants)
    }

    /// Cluster mode, on a graceful shutdown: every worker ends its cycle, starting no call,
    /// so that a POST in flight is answered and recorded (the next owner then has no lost
    /// trigger to ask Adobe about again), waiting at most `limit` in all.
    public func finishWorkers(within limit: Duration) async {
        guard isClustered else { return }
        let deadline = ContinuousClock.now + limit
        let running = workers.withLock { Array($0.values) }
        for worker in running { worker.finish() }
        for worker in running { _ = await worker.finished(within: max(.zero, deadline - ContinuousClock.now)) }
    }

    /// Judges every running worker's liveness now (what `run()` does each check interval).
    func checkLiveness() {
        watchdog.check(workers.withLock { Array($0.values) }, now: time.now(), allowance: Watchdog.allowance(config.collector))
    }

    /// One poll cycle of a tenant (what `run()` does each poll interval).
    public func cycle(tenant: String) async { await worker(tenant)?.cycle() }

    /// POSTs an ingestion now and starts following what it answers.
    public func trigger(_ key: MappingKey) async -> Result<TriggerOutcome, TriggerFailure> {
        guard let worker = worker(key.tenant) else { return .failure(.upstream(.notFound(message: "unknown tenant \(key.tenant)"))) }
        return await worker.trigger(key.mapping)
    }

    /// Starts following a request triggered elsewhere (idempotent).
    public func track(_ key: MappingKey, requestID: RequestID) async throws(StoreError) -> TrackResult {
        let now = time.now()
        let result = try await store.track(key, requestID: requestID, origin: .external, at: now)
        if case .inserted(let request) = result {
            metrics.requestOpened(key, requestID: requestID, startedAt: request.firstSeen, now: now)
        }
        return result
    }

    /// Stops following a mistaken request: no longer polled nor in progress; its history stays.
    public func untrack(_ key: MappingKey, requestID: RequestID) async throws(StoreError) -> TrackedRequest? {
        let untracked = try await store.untrack(key, requestID, at: time.now())
        if let untracked, untracked.untrackedAt != nil {
            metrics.requestUntracked(key, requestID: requestID, now: time.now())
            logger.info("request untracked", metadata: ["tenant": "\(key.tenant)", "mapping": "\(key.mapping)",
                                                        "request_id": "\(requestID)"])
        }
        return untracked
    }

    /// Requests deleted per retention transaction.
    static let pruneBatch = 1000

    public func applyRetention() async {
        await endOrphanedFollowUps()
        let cutoff = time.now().adding(.zero - config.storage.retention)
        do {
            // In short transactions: polls go on in between, and a shutdown waits for one batch at most.
            var removed = 0
            while !Task.isCancelled {
                let batch = try await store.prune(finishedBefore: cutoff, limit: Self.pruneBatch)
                removed += batch
                if batch < Self.pruneBatch { break }
            }
            if removed > 0 { logger.info("retention pruned old requests", metadata: ["removed": "\(removed)"]) }
        } catch {
            logger.error("retention failed", metadata: ["error": "\(error)"])
        }
    }

    /// How long a follow-up of a tenant this configuration does not name must have been left
    /// alone before it is ended: in cluster mode another replica may run a newer configuration
    /// that names the tenant (its lookups keep `next_lookup_at` recent).
    static let orphanGrace: TimeInterval = 86_400

    /// Follow-ups of a tenant no longer configured, left alone for `orphanGrace`, end as
    /// `unknown`, counted once, so that they neither stay in progress nor keep their requests
    /// from retention (a configured tenant without an `aep` block ends its own, see `TenantWorker`).
    func endOrphanedFollowUps() async {
        let configured = Set(config.tenants.map(\.name))
        guard let open = try? await store.openBatches(tenant: nil) else { return }
        let stale = time.now().addingTimeInterval(-Self.orphanGrace)
        let orphaned = open.filter { !configured.contains($0.key.tenant) && ($0.nextLookupAt ?? .distantPast) < stale }
        for batch in orphaned {
            let now = time.now()
            guard case .ended(let ended, let addition)? = try? await store.recordBatchLookup(
                BatchLookup(requestRowID: batch.requestRowID, outcome: .gaveUp, at: now, next: now)) else { continue }
            metrics.batchEnded(addition, requestID: ended.requestID, batchID: ended.batchID, at: now)
        }
        for key in Set(orphaned.map(\.key)) { metrics.batchesInProgress(key, count: 0, at: time.now()) }
        if !orphaned.isEmpty {
            logger.warning("batches no longer followed in Experience Platform ended as unknown: their tenant is no longer configured",
                           metadata: ["batches": "\(orphaned.count)"])
        }
    }
}
