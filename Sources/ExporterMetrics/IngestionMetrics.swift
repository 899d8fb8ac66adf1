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
/// collector updates it after each store commit; each update marks the blocks
/// of the exposition it changed, and `SegmentedExposition` re-renders only those.
/// A scrape only reads rendered bytes. Families are named in `MetricFamily`.
public final class IngestionMetrics: Sendable {
    public static let durationBounds: [Double] = [30, 60, 120, 300, 600, 1800, 3600, 7200, 14400, 43200, 86400]
    public static let apiDurationBounds: [Double] = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]
    /// Failure series that exist (at 0) from the first scrape, so that the first
    /// failure with one of these codes is an increase, not a new series.
    public static let knownACPCodes = ["ACP-880056", "ACP-880096", "ACP-880185", "ACP-880189"]

    private let state: Mutex<MetricsState>
    private let changeObservers = Mutex<[@Sendable () -> Void]>([])

    public init(mappings: [MappingDescriptor], version: String, revision: String, now: Date = Date()) {
        state = Mutex(MetricsState(mappings: mappings, version: version, revision: revision, now: now))
    }

    /// Bumped by every change.
    public var version: UInt64 { state.withLock { $0.version } }

    /// Calls `observer` after every change (on the changing thread, outside the model's lock).
    public func onChange(_ observer: @escaping @Sendable () -> Void) {
        changeObservers.withLock { $0.append(observer) }
    }

    /// Applies `change` under the lock, then tells the observers.
    private func update(_ change: (inout MetricsState) -> Void) {
        state.withLock { change(&$0) }
        for observer in changeObservers.withLock({ $0 }) { observer() }
    }

    // MARK: - Updates

    /// A request ended. Its id (and Adobe's batch id, when it gave one) becomes
    /// the OpenMetrics exemplar of the duration bucket it fell in and, when it
    /// failed, of its failure series; exemplars are kept in memory only.
    public func requestFinished(_ key: MappingKey, status: IngestionStatus, acpCode: ACPCode?, records: Int,
                                duration: TimeInterval, requestID: RequestID, finishedAt: Date, batchID: String? = nil) {
        update { state in
            guard let position = state.index[key], let status = status.finalStatus else { return }
            let statusIndex = MetricsState.statuses.firstIndex(of: status)!
            let at = finishedAt.timeIntervalSince1970
            let seconds = max(0, duration)
            var touched: [MetricFamily] = [.requests, .inProgress, .oldestStart, .inProgressAge, .duration]
            touched += status == .success ? [.records, .lastSuccess, .lastSuccessRecords] : [.failures, .lastFailure]
            state.updateMapping(position, marking: touched) { mapping in
                mapping.open.removeValue(forKey: requestID)
                mapping.requests[statusIndex] += 1
                mapping.histograms[statusIndex].observe(
                    seconds, bounds: Self.durationBounds,
                    exemplar: Exemplar(requestID: requestID.rawValue, batchID: batchID, value: seconds, timestamp: at))
                if status == .success {
                    mapping.records += records
                    mapping.lastSuccess = at
                    mapping.lastSuccessRecords = records
                } else {
                    let key = FailureKey(status: status, acpCode: acpCode.labelValue)
                    mapping.failures[mapping.failureSeries(key)].count += 1
                    mapping.failureExemplars[key] = Exemplar(requestID: requestID.rawValue, batchID: batchID, value: 1, timestamp: at)
                    mapping.lastFailure = at
                }
            }
            state.changed(at: finishedAt)
        }
    }

    public func requestOpened(_ key: MappingKey, requestID: RequestID, startedAt: Date, now: Date) {
        update { state in
            guard let position = state.index[key] else { return }
            state.updateMapping(position, marking: [.inProgress, .oldestStart, .inProgressAge]) { $0.open[requestID] = startedAt }
            state.changed(at: now)
        }
    }

    public func triggerCounted(_ key: MappingKey, result: TriggerResult, now: Date) {
        update { state in
            guard let position = state.index[key] else { return }
            let resultIndex = MetricsState.triggerOrder.firstIndex(of: result)!
            state.updateMapping(position, marking: [.triggers]) { $0.triggers[resultIndex] += 1 }
            state.changed(at: now)
        }
    }

    public func apiCall(tenant: String, operation: String, code: String, seconds: Double) {
        update { state in
            guard let position = state.tenantIndex[tenant] else { return }
            state.updateTenant(position, marking: [.apiRequests, .apiDuration]) { tenant in
                tenant.calls[APICallKey(operation: operation, code: code), default: 0] += 1
                tenant.latency[operation, default: Histogram(bucketCount: Self.apiDurationBounds.count)]
                    .observe(seconds, bounds: Self.apiDurationBounds)
            }
            state.version &+= 1
        }
    }

    /// The end of one poll cycle: `up` says whether it authenticated and reached the API.
    public func pollCompleted(tenant: String, up: Bool, at time: Date) {
        update { state in
            guard let position = state.tenantIndex[tenant] else { return }
            state.updateTenant(position, marking: [.up, .lastPoll]) { tenant in
                tenant.up = up
                tenant.lastPoll = time.timeIntervalSince1970
            }
            state.changed(at: time)
        }
    }

    /// Loads counters and open requests from the store's totals at start-up, and
    /// when each mapping was first configured (`_created`; the model's start when unknown).
    public func restore(_ totals: IngestionTotals, created: [MappingKey: Date] = [:], now: Date) {
        update { state in
            for (key, time) in created {
                guard let position = state.index[key] else { continue }
                state.mappings[position].created = time.timeIntervalSince1970
            }
            for outcome in totals.outcomes {
                guard let position = state.index[outcome.key] else { continue }
                let statusIndex = MetricsState.statuses.firstIndex(of: outcome.status)!
                state.updateMapping(position, marking: []) { mapping in
                    mapping.requests[statusIndex] += outcome.requests
                    if outcome.status == .success {
                        mapping.records += outcome.records
                    } else {
                        let series = mapping.failureSeries(FailureKey(status: outcome.status, acpCode: outcome.acpCode))
                        mapping.failures[series].count += outcome.requests
                    }
                    mapping.histograms[statusIndex].sum += outcome.durationSum
                }
            }
            for bucket in totals.buckets {
                guard let position = state.index[bucket.key] else { continue }
                let statusIndex = MetricsState.statuses.firstIndex(of: bucket.status)!
                state.mappings[position].histograms[statusIndex]
                    .add(count: bucket.count, upperBound: bucket.upperBound, bounds: Self.durationBounds)
            }
            for (key, results) in totals.triggers {
                guard let position = state.index[key] else { continue }
                for (result, count) in results {
                    state.mappings[position].triggers[MetricsState.triggerOrder.firstIndex(of: result)!] += count
                }
            }
            for (key, latest) in totals.latest {
                guard let position = state.index[key] else { continue }
                state.mappings[position].lastSuccess = latest.lastSuccessAt?.timeIntervalSince1970
                state.mappings[position].lastSuccessRecords = latest.lastSuccessRecords
                state.mappings[position].lastFailure = latest.lastFailureAt?.timeIntervalSince1970
            }
            for open in totals.open {
                guard let position = state.index[open.key] else { continue }
                state.updateMapping(position, marking: []) { $0.open[open.requestID] = open.firstSeen }
            }
            state.markAllDirty()
            state.changed(at: now)
        }
    }

    // MARK: - Rendering

    /// One slot's bytes in each format: malloc'd buffers the caller owns.
    struct RenderedSlot {
        let slot: Int
        let text: (pointer: UnsafeMutableRawPointer, count: Int)
        /// Nil when the OpenMetrics bytes are the text bytes (see `ExpositionLayout.isSharedBetweenFormats`).
        let openMetrics: (pointer: UnsafeMutableRawPointer, count: Int)?
    }

    var layout: ExpositionLayout { state.withLock { $0.layout } }

    /// Marks one slot changed, for the next `renderChanged` (observers are not told).
    func markChanged(slot: Int) { state.withLock { $0.markDirty(slot) } }

    /// `slot` in `format`, when it did not change since it was last rendered: the
    /// same bytes as then, for a format whose uncompressed body was not kept. Nil
    /// when it changed (`renderChanged` renders it again, in both formats).
    func renderIfUnchanged(_ slot: Int, _ format: ExpositionFormat) -> (pointer: UnsafeMutableRawPointer, count: Int)? {
        state.withLock { state in state.dirty[slot] ? nil : Self.render(slot, format, state) }
    }

    /// Renders every slot changed since the last call, in both formats, and hands
    /// each to `body` before rendering the next, so that only one slot's bytes
    /// are uncompressed at a time. Each slot is rendered under the model's lock
    /// (a block of 64 mappings takes about a millisecond); a change made between
    /// two slots marks its slots again, for the next call.
    func renderChanged(_ body: (RenderedSlot) -> Void) {
        let slots = state.withLock { $0.takeDirty() }
        for slot in slots {
            let rendered = state.withLock { state in
                RenderedSlot(slot: slot, text: Self.render(slot, .text, state),
                             openMetrics: state.layout.isSharedBetweenFormats(slot) ? nil : Self.render(slot, .openMetrics, state))
            }
            body(rendered)
        }
    }

    private static func render(_ slot: Int, _ format: ExpositionFormat, _ state: MetricsState)
        -> (pointer: UnsafeMutableRawPointer, count: Int) {
        var writer = ExpositionWriter(capacity: 4096)
        state.render(slot: slot, format, into: &writer)
        return writer.takeBuffer()
    }

    /// The whole model in `format`, in one piece (without the process metrics,
    /// and with `# EOF` in OpenMetrics): for tests and tools; scrapes are served
    /// from `SegmentedExposition`.
    public func render(_ format: ExpositionFormat = .text) -> [UInt8] {
        var writer = ExpositionWriter(capacity: 0)
        state.withLock { state in
            for slot in 0..<state.layout.count { state.render(slot: slot, format, into: &writer) }
        }
        if format == .openMetrics { writer.append("# EOF\n") }
        return writer.bytes
    }
}

extension MetricsState.Mapping {
    /// The index of the failure series for `key`, created in sorted position if new.
    mutating func failureSeries(_ key: FailureKey) -> Int {
        if let found = failures.firstIndex(where: { $0.key == key }) { return found }
        let position = failures.firstIndex { key < $0.key } ?? failures.count
        failures.insert(MetricsState.FailureSeries(key), at: position)
        return position
    }
}
