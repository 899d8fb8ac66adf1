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
        self.key = key
        self.name = name
        self.scheduled = scheduled
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
    public static let triggerResults = ["submitted", "already_in_progress", "not_stopped", "not_published", "error"]
    static let outcomes = ["success", "failed", "aborted"]

    private let state: Mutex<MetricsState>
    /// The size of the last rendering, to reserve the next one in one allocation.
    private let lastSize = Atomic<Int>(0)

    public init(mappings: [MappingDescriptor], version: String, revision: String,
                branch: String, swiftVersion: String, now: Date = Date()) {
        state = Mutex(MetricsState(mappings: mappings, version: version, revision: revision,
                                   branch: branch, swiftVersion: swiftVersion, now: now))
    }

    /// Bumped by every change; the exposition is rendered again when it moves.
    public var version: UInt64 { state.withLock { $0.version } }

    // MARK: - Updates

    public func requestFinished(_ key: MappingKey, status: IngestionStatus, acpCode: ACPCode?, records: Int,
                                duration: TimeInterval, requestID: RequestID, finishedAt: Date) {
        state.withLock { state in
            guard var mapping = state.mappings[key] else { return }
            let name = status.name
            mapping.open.removeValue(forKey: requestID)
            mapping.requests[name, default: 0] += 1
            mapping.histograms[name, default: Histogram(bucketCount: Self.durationBounds.count)]
                .observe(max(0, duration), bounds: Self.durationBounds)
            if status == .success {
                mapping.records += records
                mapping.lastSuccess = finishedAt
                mapping.lastSuccessRecords = records
            } else {
                mapping.failures[FailureKey(status: name, acpCode: acpCode.labelValue), default: 0] += 1
                mapping.lastFailure = finishedAt
            }
            state.mappings[key] = mapping
            state.changed(at: finishedAt)
        }
    }

    public func requestOpened(_ key: MappingKey, requestID: RequestID, startedAt: Date, now: Date) {
        state.withLock { state in
            guard state.mappings[key] != nil else { return }
            state.mappings[key]!.open[requestID] = startedAt
            state.changed(at: now)
        }
    }

    public func triggerCounted(_ key: MappingKey, result: String, now: Date) {
        state.withLock { state in
            guard state.mappings[key] != nil else { return }
            state.mappings[key]!.triggers[result, default: 0] += 1
            state.changed(at: now)
        }
    }

    public func apiCall(tenant: String, operation: String, code: String, seconds: Double) {
        state.withLock { state in
            guard state.tenants[tenant] != nil else { return }
            state.tenants[tenant]!.calls[APICallKey(operation: operation, code: code), default: 0] += 1
            state.tenants[tenant]!.latency[operation, default: Histogram(bucketCount: Self.apiDurationBounds.count)]
                .observe(seconds, bounds: Self.apiDurationBounds)
            state.version &+= 1
        }
    }

    /// The end of one poll cycle: `up` says whether it authenticated and reached the API.
    public func pollCompleted(tenant: String, up: Bool, at time: Date) {
        state.withLock { state in
            guard state.tenants[tenant] != nil else { return }
            state.tenants[tenant]!.up = up
            state.tenants[tenant]!.lastPoll = time
            state.changed(at: time)
        }
    }

    /// Loads counters and open requests from the store at start-up.
    public func restore(_ snapshot: MetricsSnapshot, now: Date) {
        state.withLock { state in
            for outcome in snapshot.outcomes {
                guard var mapping = state.mappings[outcome.key] else { continue }
                mapping.requests[outcome.status, default: 0] += outcome.requests
                if outcome.status == "success" {
                    mapping.records += outcome.records
                } else {
                    mapping.failures[FailureKey(status: outcome.status, acpCode: outcome.acpCode), default: 0] += outcome.requests
                }
                mapping.histograms[outcome.status, default: Histogram(bucketCount: Self.durationBounds.count)].sum += outcome.durationSum
                state.mappings[outcome.key] = mapping
            }
            for bucket in snapshot.buckets {
                state.mappings[bucket.key]?.histograms[bucket.status, default: Histogram(bucketCount: Self.durationBounds.count)]
                    .add(count: bucket.count, upperBound: bucket.upperBound, bounds: Self.durationBounds)
            }
            for (key, results) in snapshot.triggers {
                for (result, count) in results { state.mappings[key]?.triggers[result, default: 0] += count }
            }
            for (key, latest) in snapshot.latest {
                state.mappings[key]?.lastSuccess = latest.lastSuccessAt
                state.mappings[key]?.lastSuccessRecords = latest.lastSuccessRecords
                state.mappings[key]?.lastFailure = latest.lastFailureAt
            }
            for open in snapshot.open { state.mappings[open.key]?.open[open.requestID] = open.startedAt }
            state.changed(at: now)
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

/// What the store holds, in the metrics' terms (the store knows nothing of metrics).
public struct MetricsSnapshot: Sendable {
    public struct Outcome: Sendable {
        public var key: MappingKey, status: String, acpCode: String, requests: Int, records: Int, durationSum: Double
        public init(key: MappingKey, status: String, acpCode: String, requests: Int, records: Int, durationSum: Double) {
            self.key = key; self.status = status; self.acpCode = acpCode
            self.requests = requests; self.records = records; self.durationSum = durationSum
        }
    }
    public struct Bucket: Sendable {
        public var key: MappingKey, status: String, upperBound: Double, count: Int
        public init(key: MappingKey, status: String, upperBound: Double, count: Int) {
            self.key = key; self.status = status; self.upperBound = upperBound; self.count = count
        }
    }
    public struct Latest: Sendable {
        public var lastSuccessAt: Date?, lastSuccessRecords: Int, lastFailureAt: Date?
        public init(lastSuccessAt: Date?, lastSuccessRecords: Int, lastFailureAt: Date?) {
            self.lastSuccessAt = lastSuccessAt; self.lastSuccessRecords = lastSuccessRecords; self.lastFailureAt = lastFailureAt
        }
    }
    public struct Open: Sendable {
        public var key: MappingKey, requestID: RequestID, startedAt: Date
        public init(key: MappingKey, requestID: RequestID, startedAt: Date) {
            self.key = key; self.requestID = requestID; self.startedAt = startedAt
        }
    }
    public var outcomes: [Outcome] = []
    public var buckets: [Bucket] = []
    public var triggers: [MappingKey: [String: Int]] = [:]
    public var latest: [MappingKey: Latest] = [:]
    public var open: [Open] = []
    public init() {}
}

struct FailureKey: Hashable, Comparable {
    let status: String
    let acpCode: String
    static func < (a: FailureKey, b: FailureKey) -> Bool { (a.status, a.acpCode) < (b.status, b.acpCode) }
}

struct APICallKey: Hashable, Comparable {
    let operation: String
    let code: String
    static func < (a: APICallKey, b: APICallKey) -> Bool { (a.operation, a.code) < (b.operation, b.code) }
}
