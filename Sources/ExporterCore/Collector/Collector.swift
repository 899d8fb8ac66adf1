import AdobeIngestionClient
import AsyncHTTPClient
import ExporterMetrics
import Foundation
import IngestionModel
import IngestionStore
import Logging
import Synchronization

/// The configuration in force, read from any thread (the HTTP routes) and
/// replaced whole by a reload.
public final class LiveConfiguration: Sendable {
    private let current: Mutex<ExporterConfig>

    public init(_ config: ExporterConfig) { current = Mutex(config) }

    public var config: ExporterConfig { current.withLock { $0 } }

    func replace(_ config: ExporterConfig) { current.withLock { $0 = config } }
}

/// Follows ingestion requests: one `TenantWorker` per configured tenant triggers
/// its mappings on their schedule and polls its open requests. The collector starts
/// and stops workers (at start, on reload), applies retention, and routes the API's
/// calls to the right tenant. Upstream trouble becomes metrics and log lines; it
/// never stops the loop. Cancelling `run()` stops every call.
public final class Collector: Sendable {
    public let store: any IngestionStore
    public let metrics: IngestionMetrics
    public let settings: LiveConfiguration
    private let time: any TimeSource
    private let logger: Logger
    private let httpClient: HTTPClient
    private let concurrency: ConcurrencyLimit
    private let workers: Mutex<[String: TenantWorker]>
    /// Wakes `run()` when the set of workers changed.
    private let workersChanged: AsyncStream<Void>.Continuation
    private let workerChanges: AsyncStream<Void>

    public init(config: ExporterConfig, store: any IngestionStore, metrics: IngestionMetrics,
                time: any TimeSource = SystemTimeSource(), logger: Logger,
                httpClient: HTTPClient = AdobeIngestionClient.sharedHTTPClient) {
        (self.store, self.metrics, self.time, self.logger, self.httpClient) = (store, metrics, time, logger, httpClient)
        settings = LiveConfiguration(config)
        concurrency = ConcurrencyLimit(config.collector.maxConcurrentRequests)
        (workerChanges, workersChanged) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        workers = Mutex([:])
        workers.withLock { workers in
            for tenant in config.tenants { workers[tenant.name] = makeWorker(tenant) }
        }
    }

    public var config: ExporterConfig { settings.config }

    private func makeWorker(_ tenant: ExporterConfig.Tenant) -> TenantWorker {
        TenantWorker(tenant: tenant, settings: settings, store: store, metrics: metrics, concurrency: concurrency,
                     time: time, logger: logger, httpClient: httpClient)
    }

    func worker(_ tenant: String) -> TenantWorker? { workers.withLock { $0[tenant] } }

    /// The metrics' view of the configuration.
    public static func descriptors(of config: ExporterConfig) -> [MappingDescriptor] {
        config.tenants.flatMap { tenant in
            tenant.mappings.map {
                MappingDescriptor(key: MappingKey(tenant: tenant.name, mapping: $0.id), name: $0.name, scheduled: $0.schedule != nil)
            }
        }
    }

    /// Rebuilds the metrics and the schedules from the store: run once, before serving.
    public func restore() async throws(StoreError) {
        let totals = try await store.totals()
        metrics.restore(totals, now: time.now())
        _ = try await store.registerMappings(config.mappingKeys, at: time.now())
        try await loadPlans(for: workers.withLock { Array($0.values) }, totals: totals)
    }

    private func loadPlans(for workers: [TenantWorker], totals: IngestionTotals) async throws(StoreError) {
        let stored = try await store.triggerPlans()
        let lastTriggers = totals.latest.compactMapValues(\.lastTriggerAt)
        for worker in workers { worker.loadPlans(stored: stored, lastTriggers: lastTriggers) }
    }

    /// Runs every tenant's worker, and retention hourly, until cancelled; starts the
    /// workers a reload adds.
    public func run() async {
        await withDiscardingTaskGroup { group in
            group.addTask {
                while !Task.isCancelled {
                    await self.applyRetention()
                    do { try await self.time.sleep(for: .seconds(3600)) } catch { return }
                }
            }
            var started = Set<ObjectIdentifier>()
            workersChanged.yield()
            for await _ in workerChanges {
                for worker in workers.withLock({ Array($0.values) }) where started.insert(ObjectIdentifier(worker)).inserted {
                    group.addTask { await worker.run() }
                }
            }
        }
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

    public func applyRetention() async {
        let cutoff = time.now().adding(.zero - config.storage.retention)
        do {
            let removed = try await store.prune(finishedBefore: cutoff)
            if removed > 0 { logger.info("retention pruned old requests", metadata: ["removed": "\(removed)"]) }
        } catch {
            logger.error("retention failed", metadata: ["error": "\(error)"])
        }
    }
}
