import AdobeIngestionClient
import AsyncHTTPClient
import ExporterMetrics
import Foundation
import IngestionModel
import IngestionStore
import Logging
import Synchronization

/// Follows ingestion requests: triggers mappings on their schedule, polls every
/// request that has not ended, and records what it sees — first in the store,
/// then, once committed, in the metrics. Upstream trouble becomes metrics and
/// log lines; it never stops the loop. Cancelling `run()` stops every call.
public final class Collector: Sendable {
    public let config: ExporterConfig
    public let store: any IngestionStore
    public let metrics: IngestionMetrics
    private let clients: [String: AdobeIngestionClient]
    private let time: any TimeSource
    private let logger: Logger
    private let lastTriggers: Mutex<[MappingKey: Date]>
    private let schedules: [MappingKey: Duration]

    public init(config: ExporterConfig, store: any IngestionStore, metrics: IngestionMetrics,
                time: any TimeSource = SystemTimeSource(), logger: Logger,
                httpClient: HTTPClient = AdobeIngestionClient.sharedHTTPClient) {
        self.config = config
        self.store = store
        self.metrics = metrics
        self.time = time
        self.logger = logger
        let concurrency = ConcurrencyLimit(config.collector.maxConcurrentRequests)
        var clients: [String: AdobeIngestionClient] = [:]
        for configuration in config.clientConfigurations() {
            let rate = RateLimiter(ratePerSecond: config.collector.maxRequestsPerSecond, time: time)
            clients[configuration.tenant] = AdobeIngestionClient(
                configuration: configuration, httpClient: httpClient, time: time, logger: logger,
                gate: TenantGate(concurrency: concurrency, rate: rate),
                observe: { [metrics] record in
                    metrics.apiCall(tenant: record.tenant, operation: record.operation.rawValue, code: record.code,
                                    seconds: record.duration.seconds)
                })
        }
        var schedules: [MappingKey: Duration] = [:]
        for tenant in config.tenants {
            for mapping in tenant.mappings {
                if let every = mapping.triggerEvery { schedules[MappingKey(tenant: tenant.name, mapping: mapping.id)] = every }
            }
        }
        self.clients = clients
        self.schedules = schedules
        lastTriggers = Mutex([:])
    }

    /// The metrics' view of the configuration.
    public static func descriptors(of config: ExporterConfig) -> [MappingDescriptor] {
        config.tenants.flatMap { tenant in
            tenant.mappings.map {
                MappingDescriptor(key: MappingKey(tenant: tenant.name, mapping: $0.id), name: $0.name,
                                  scheduled: $0.triggerEvery != nil)
            }
        }
    }

    /// Rebuilds the metrics and the schedules from the store: run once, before serving.
    public func restore() async throws(StoreError) {
        let totals = try await store.totals()
        // When each mapping was first configured: the `_created` of its counters.
        let created = try await store.registerMappings(config.mappingKeys, at: time.now())
        metrics.restore(totals, created: created, now: time.now())
        lastTriggers.withLock { last in
            for (key, latest) in totals.latest { if let at = latest.lastTriggerAt { last[key] = at } }
        }
    }

    /// Runs every tenant's cycle each `poll_interval`, and retention hourly, until cancelled.
    public func run() async {
        await withTaskGroup(of: Void.self) { group in
            for tenant in config.tenants {
                group.addTask {
                    while !Task.isCancelled {
                        await self.cycle(tenant: tenant.name)
                        do { try await self.time.sleep(for: self.config.collector.pollInterval) } catch { return }
                    }
                }
            }
            group.addTask {
                while !Task.isCancelled {
                    await self.applyRetention()
                    do { try await self.time.sleep(for: .seconds(3600)) } catch { return }
                }
            }
        }
    }

    /// One poll cycle of a tenant: due triggers, then one GET per open request.
    public func cycle(tenant: String) async {
        guard let client = clients[tenant] else { return }
        var healthy = true
        for key in dueTriggers(tenant: tenant) {
            if Task.isCancelled { return }
            if case .failure(let error) = await trigger(key), Self.meansDown(error) { healthy = false }
        }
        let open: [TrackedRequest]
        do {
            open = try await store.openRequests(tenant: tenant)
        } catch {
            logger.error("cannot read open requests", metadata: ["tenant": "\(tenant)", "error": "\(error)"])
            return
        }
        if open.isEmpty {
            do { try await client.authenticate() } catch {
                if case .cancelled = error { return }
                logger.warning("cannot authenticate", metadata: ["tenant": "\(tenant)", "error": "\(error)"])
                healthy = false
            }
        }
        let failures = await withTaskGroup(of: Bool.self) { group in
            for request in open { group.addTask { await self.poll(request, client: client) } }
            var failures = 0
            for await ok in group where !ok { failures += 1 }
            return failures
        }
        if Task.isCancelled { return }
        if failures > 0 { healthy = false }
        metrics.pollCompleted(tenant: tenant, up: healthy, at: time.now())
    }

    /// POSTs an ingestion now and starts following what it answers.
    public func trigger(_ key: MappingKey) async -> Result<TriggerOutcome, AdobeAPIError> {
        guard let client = clients[key.tenant] else { return .failure(.notFound(message: "unknown tenant \(key.tenant)")) }
        let result: Result<TriggerOutcome, AdobeAPIError>
        do throws(AdobeAPIError) { result = .success(try await client.trigger(mapping: key.mapping)) } catch {
            result = .failure(error)
        }
        // A cancelled POST may or may not have reached Adobe: nothing to count.
        if case .failure(.cancelled) = result { return result }
        let now = time.now()
        lastTriggers.withLock { $0[key] = now }
        let counted = (try? result.get())?.result ?? .error
        let labels: Logger.Metadata = ["tenant": "\(key.tenant)", "mapping": "\(key.mapping)", "result": "\(counted)"]
        do {
            switch result {
            case .success(let outcome):
                if let id = outcome.requestID {
                    let origin: RequestOrigin = if case .submitted = outcome { .triggered } else { .adopted }
                    let tracked = try await store.track(key, requestID: id, origin: origin, at: now, triggerResult: counted)
                    if case .inserted(let request) = tracked {
                        metrics.requestOpened(key, requestID: id, startedAt: request.firstSeen, now: now)
                    }
                    logger.info("ingestion triggered", metadata: labels.merging(["request_id": "\(id)"]) { $1 })
                } else {
                    try await store.recordTrigger(key, result: counted, at: now)
                    logger.warning("ingestion refused", metadata: labels)
                }
            case .failure(let error):
                try await store.recordTrigger(key, result: counted, at: now)
                logger.warning("ingestion trigger failed", metadata: labels.merging(["error": "\(error)"]) { $1 })
            }
            metrics.triggerCounted(key, result: counted, now: now)
        } catch {
            logger.error("cannot store a trigger", metadata: labels.merging(["error": "\(error)"]) { $1 })
        }
        return result
    }

    /// Starts following a request triggered elsewhere (idempotent).
    public func track(_ key: MappingKey, requestID: RequestID) async throws(StoreError) -> TrackResult {
        let now = time.now()
        let result = try await store.track(key, requestID: requestID, origin: .external, at: now, triggerResult: nil)
        if case .inserted(let request) = result {
            metrics.requestOpened(key, requestID: requestID, startedAt: request.firstSeen, now: now)
        }
        return result
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

    /// GETs one request's status and records it. False when the API could not be used.
    private func poll(_ request: TrackedRequest, client: AdobeIngestionClient) async -> Bool {
        let key = request.key
        let labels: Logger.Metadata = ["tenant": "\(key.tenant)", "mapping": "\(key.mapping)",
                                       "request_id": "\(request.requestID)"]
        let report: StatusReport
        do throws(AdobeAPIError) {
            report = try await client.status(mapping: key.mapping, requestID: request.requestID)
        } catch {
            if case .cancelled = error { return true }
            logger.warning("status poll failed", metadata: labels.merging(["error": "\(error)"]) { $1 })
            return !Self.meansDown(error)
        }
        if let raw = report.status.rawUnknown {
            logger.warning("unknown ingestion status", metadata: labels.merging(["status": "\(raw)"]) { $1 })
        }
        do {
            let result = try await store.recordObservation(request.rowID, report: report, at: time.now())
            if case .finished(let finished) = result {
                metrics.requestFinished(key, status: finished.status, acpCode: finished.acpCode, records: finished.numRecords,
                                        duration: finished.duration ?? 0, requestID: finished.requestID,
                                        finishedAt: finished.finishedAt ?? time.now(), batchID: finished.batchID)
                logger.info("ingestion request ended", metadata: labels.merging([
                    "status": "\(finished.status.name)", "records": "\(finished.numRecords)",
                    "acp_code": "\(finished.acpCode.labelValue)",
                ]) { $1 })
            }
        } catch {
            logger.error("cannot store an observation", metadata: labels.merging(["error": "\(error)"]) { $1 })
        }
        return true
    }

    private func dueTriggers(tenant: String) -> [MappingKey] {
        let now = time.now()
        return lastTriggers.withLock { last in
            schedules.filter { key, every in
                key.tenant == tenant && (last[key].map { now >= $0.adding(every) } ?? true)
            }.keys.sorted()
        }
    }

    /// Failures that mean the tenant's API could not be used: `acs_ingestion_up` 0.
    static func meansDown(_ error: AdobeAPIError) -> Bool {
        switch error {
        case .authenticationFailed, .unauthorized, .forbidden, .timeout, .connectionFailed, .serverError: return true
        default: return false
        }
    }
}
