import Foundation
import IngestionModel
import Synchronization

/// A configured mapping, as its metrics label it.
public struct MappingDescriptor: Sendable, Equatable {
    public var key: MappingKey
    public var name: String
    /// Whether this exporter triggers it on a schedule.
    public var scheduled: Bool

    public init(key: MappingKey, name: String, scheduled: Bool) {
        (self.key, self.name, self.scheduled) = (key, name, scheduled)
    }
}

/// Every metric the exporter serves, kept in memory in a compact model. The
/// collector updates it after each store commit; a scrape only reads the
/// rendered bytes. Names and HELP texts live here and nowhere else.
public final class IngestionMetrics: Sendable {
    public static let durationBounds: [Double] = [30, 60, 120, 300, 600, 1800, 3600, 7200, 14400, 43200, 86400]
    public static let apiDurationBounds: [Double] = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]
    /// Failure series that exist (at 0) from the first scrape, so that the first
    /// failure with one of these codes is an increase, not a new series.
    public static let knownACPCodes = ["ACP-880056", "ACP-880096", "ACP-880185", "ACP-880189"]

    let state: Mutex<MetricsState>
    private let changeObservers = Mutex<[@Sendable () -> Void]>([])
    /// The size of the last rendering, to reserve the next one in one allocation.
    private let lastSize = Atomic<Int>(0)

    public init(mappings: [MappingDescriptor], version: String, revision: String,
                branch: String, swiftVersion: String, now: Date = Date()) {
        state = Mutex(MetricsState(mappings: mappings, version: version, revision: revision,
                                   branch: branch, swiftVersion: swiftVersion, now: now))
    }

    /// Bumped by every change; the exposition is rendered again when it moves.
    public var version: UInt64 { state.withLock { $0.version } }

    /// Calls `observer` after every change (on the changing thread, outside the model's lock).
    public func onChange(_ observer: @escaping @Sendable () -> Void) {
        changeObservers.withLock { $0.append(observer) }
    }

    /// Applies `change` under the lock, then tells the observers.
    func update(_ change: (inout MetricsState) -> Void) {
        state.withLock { change(&$0) }
        for observer in changeObservers.withLock({ $0 }) { observer() }
    }

    // MARK: - Updates

    public func requestFinished(_ key: MappingKey, status: IngestionStatus, acpCode: ACPCode?, records: Int,
                                duration: TimeInterval, requestID: RequestID, finishedAt: Date) {
        update { state in
            guard var mapping = state.mappings[key], let status = status.finalStatus else { return }
            mapping.open.removeValue(forKey: requestID)
            mapping.requests[status, default: 0] += 1
            mapping.histograms[status, default: Histogram(bucketCount: Self.durationBounds.count)]
                .observe(max(0, duration), bounds: Self.durationBounds)
            if status == .success {
                mapping.records += records
                mapping.lastSuccess = finishedAt
                mapping.lastSuccessRecords = records
            }
            if status.isFailure {
                mapping.failures[FailureKey(status: status, acpCode: acpCode.labelValue), default: 0] += 1
                mapping.lastFailure = finishedAt
            }
            state.mappings[key] = mapping
            state.changed(at: finishedAt)
        }
    }

    public func requestOpened(_ key: MappingKey, requestID: RequestID, startedAt: Date, now: Date) {
        update { state in
            guard state.mappings[key] != nil else { return }
            state.mappings[key]!.open[requestID] = startedAt
            state.changed(at: now)
        }
    }

    public func triggerCounted(_ key: MappingKey, result: TriggerResult, now: Date) {
        update { state in
            guard state.mappings[key] != nil else { return }
            state.mappings[key]!.triggers[result, default: 0] += 1
            state.changed(at: now)
        }
    }

    public func apiCall(tenant: String, operation: String, code: String, seconds: Double) {
        update { state in
            guard state.tenants[tenant] != nil else { return }
            state.tenants[tenant]!.calls[APICallKey(operation: operation, code: code), default: 0] += 1
            state.tenants[tenant]!.latency[operation, default: Histogram(bucketCount: Self.apiDurationBounds.count)]
                .observe(seconds, bounds: Self.apiDurationBounds)
            state.version &+= 1
        }
    }

    /// The end of one poll cycle.
    public func pollCompleted(tenant: String, at time: Date) {
        update { state in
            guard state.tenants[tenant] != nil else { return }
            state.tenants[tenant]!.lastPoll = time
            state.changed(at: time)
        }
    }

    /// Whether the tenant's API was just reached (`acs_ingestion_up`); renders only on a change.
    public func tenantReached(tenant: String, up: Bool, at time: Date) {
        guard state.withLock({ $0.tenants[tenant]?.up }) != up else { return }
        update { state in
            guard state.tenants[tenant] != nil else { return }
            state.tenants[tenant]!.up = up
            state.changed(at: time)
        }
    }

    /// Serves exactly these mappings from now on (a configuration reload): new ones
    /// start from their stored `totals`, removed ones leave /metrics.
    public func reconfigure(mappings descriptors: [MappingDescriptor], totals: IngestionTotals, now: Date) {
        update { state in
            let added = Set(state.configure(descriptors))
            Self.restore(totals, into: &state, only: added)
            state.changed(at: now)
        }
    }

    /// Loads counters and open requests from the store's totals at start-up.
    public func restore(_ totals: IngestionTotals, now: Date) {
        update { state in
            Self.restore(totals, into: &state, only: nil)
            state.changed(at: now)
        }
    }

    /// Adds `totals` to the model's counters, for every mapping or only those of `keys`.
    private static func restore(_ totals: IngestionTotals, into state: inout MetricsState, only keys: Set<MappingKey>?) {
        func wanted(_ key: MappingKey) -> Bool { keys?.contains(key) ?? true }
        do {
            for outcome in totals.outcomes where wanted(outcome.key) {
                guard var mapping = state.mappings[outcome.key] else { continue }
                mapping.requests[outcome.status, default: 0] += outcome.requests
                if outcome.status == .success { mapping.records += outcome.records }
                if outcome.status.isFailure {
                    mapping.failures[FailureKey(status: outcome.status, acpCode: outcome.acpCode), default: 0] += outcome.requests
                }
                mapping.histograms[outcome.status, default: Histogram(bucketCount: Self.durationBounds.count)].sum += outcome.durationSum
                state.mappings[outcome.key] = mapping
            }
            for bucket in totals.buckets where wanted(bucket.key) {
                state.mappings[bucket.key]?.histograms[bucket.status, default: Histogram(bucketCount: Self.durationBounds.count)]
                    .add(count: bucket.count, upperBound: bucket.upperBound, bounds: Self.durationBounds)
            }
            for (key, results) in totals.triggers where wanted(key) {
                for (result, count) in results { state.mappings[key]?.triggers[result, default: 0] += count }
            }
            for (key, latest) in totals.latest where wanted(key) {
                state.mappings[key]?.lastSuccess = latest.lastSuccessAt
                state.mappings[key]?.lastSuccessRecords = latest.lastSuccessRecords
                state.mappings[key]?.lastFailure = latest.lastFailureAt
            }
            for open in totals.open where wanted(open.key) { state.mappings[open.key]?.open[open.requestID] = open.firstSeen }
        }
    }

    // MARK: - Rendering

    /// The whole exposition in text format 0.0.4, without the process metrics.
    public func render() -> [UInt8] {
        var writer = ExpositionWriter(capacity: 0)
        render(into: &writer)
        return writer.bytes
    }

    /// Appends the exposition to `writer` (so the process metrics can follow without a copy).
    public func render(into writer: inout ExpositionWriter) {
        let start = writer.count
        writer.reserve(lastSize.load(ordering: .relaxed) * 21 / 20 + 4096)
        state.withLock { $0.render(into: &writer) }
        lastSize.store(writer.count - start, ordering: .relaxed)
    }
}

struct FailureKey: Hashable, Comparable {
    let status: FinalStatus
    let acpCode: String
    static func < (a: FailureKey, b: FailureKey) -> Bool { (a.status.label, a.acpCode) < (b.status.label, b.acpCode) }
}

struct APICallKey: Hashable, Comparable {
    let operation: String
    let code: String
    static func < (a: APICallKey, b: APICallKey) -> Bool { (a.operation, a.code) < (b.operation, b.code) }
}
