import BuildInfo
import Foundation
import IngestionModel
import Synchronization

/// A configured mapping, as its metrics label it.
public struct MappingDescriptor: Sendable, Equatable {
    public var key: MappingKey
    public var name: String
    /// Whether this exporter triggers it on a schedule.
    public var scheduled: Bool
    /// Whether its failed requests' batches are followed in Experience Platform (its `acs_ingestion_aep_*` series).
    public var followsBatches: Bool

    public init(key: MappingKey, name: String, scheduled: Bool, followsBatches: Bool = false) {
        (self.key, self.name, self.scheduled, self.followsBatches) = (key, name, scheduled, followsBatches)
    }
}

/// Every metric the exporter serves, kept in memory in a compact model. The
/// collector updates it after each store commit; each update marks the blocks
/// of the exposition it changed, and `SegmentedExposition` re-renders only those.
/// A scrape only reads rendered bytes. Families are named in `MetricFamily`.
public final class IngestionMetrics: Sendable {
    public static let durationBounds: [Double] = [30, 60, 120, 300, 600, 1800, 3600, 7200, 14400, 43200, 86400]
    public static let apiDurationBounds: [Double] = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]
    /// `acs_ingestion_status_calls_per_request`'s buckets: 1, 2, 4 … 1024.
    public static let statusCallBounds: [Double] = (0...10).map { Double(1 << $0) }
    /// Failure series that exist (at 0) from the first scrape, so that the first
    /// failure with one of these codes is an increase, not a new series.
    public static let knownACPCodes = ["ACP-880056", "ACP-880096", "ACP-880185", "ACP-880189"]

    let state: Mutex<MetricsState>
    private let changeObservers = Mutex<[@Sendable () -> Void]>([])

    /// With `cluster`, the series of tenants carry the cluster's `instance` label, and the
    /// replica's name and the tenants it runs are exposed (see `ownership(tenants:owned:)`).
    public init(mappings: [MappingDescriptor], version: String, revision: String,
                branch: String = "unknown", swiftVersion: String = "unknown", cluster: MetricsCluster? = nil, now: Date = Date()) {
        state = Mutex(MetricsState(mappings: mappings, version: version, revision: revision,
                                   branch: branch, swiftVersion: swiftVersion, cluster: cluster, now: now))
    }

    /// Stamped with this build: `acs_ingestion_exporter_build_info` gives its version, revision,
    /// branch and compiler.
    public convenience init(mappings: [MappingDescriptor], cluster: MetricsCluster?, now: Date) {
        self.init(mappings: mappings, version: BuildInfo.version, revision: BuildInfo.revision, branch: BuildInfo.branch,
                  swiftVersion: BuildInfo.swiftVersion, cluster: cluster, now: now)
    }

    /// Bumped by every change.
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

    /// A request ended. Its id (and Adobe's batch id, when it gave one) becomes
    /// the OpenMetrics exemplar of the duration bucket it fell in and, when it
    /// failed, of its failure series; exemplars are kept in memory only.
    public func requestFinished(_ key: MappingKey, status: IngestionStatus, acpCode: ACPCode?, records: Int,
                                duration: TimeInterval, requestID: RequestID, finishedAt: Date, batchID: String? = nil) {
        update { state in
            guard let position = state.index[key], let status = status.finalStatus else { return }
            // What it adds, as the stores count it.
            let added = IngestionTotals.Addition(key: key, status: status, acpCode: acpCode, numRecords: records,
                                                 duration: duration, finishedAt: finishedAt, bounds: Self.durationBounds)
            let statusIndex = MetricsState.statuses.firstIndex(of: status)!
            let at = finishedAt.timeIntervalSince1970
            var touched: [MetricFamily] = [.requests, .inProgress, .oldestStart, .inProgressAge, .duration]
            switch added.latest {
            case .success?: touched += [.records, .lastSuccess, .lastSuccessRecords]
            case .failure?: touched += [.failures, .lastFailure]
            case nil: break
            }
            state.updateMapping(position, marking: touched) { mapping in
                mapping.open.removeValue(forKey: requestID)
                mapping.requests[statusIndex] += 1
                mapping.records += added.records
                mapping.histograms[statusIndex].observe(
                    added.duration, bounds: Self.durationBounds,
                    exemplar: Exemplar(requestID: requestID.rawValue, batchID: batchID, value: added.duration, timestamp: at))
                switch added.latest {
                case .success(_, let records)?:
                    mapping.lastSuccess = at
                    mapping.lastSuccessRecords = records
                case .failure?:
                    let key = FailureKey(status: status, acpCode: added.acpCode)
                    mapping.failures[mapping.failureSeries(key)].count += 1
                    mapping.failureExemplars[key] = Exemplar(requestID: requestID.rawValue, batchID: batchID, value: 1, timestamp: at)
                    mapping.lastFailure = at
                case nil:
                    break
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

    /// The end of one poll cycle.
    public func pollCompleted(tenant: String, at time: Date) {
        update { state in
            guard let position = state.tenantIndex[tenant] else { return }
            state.updateTenant(position, marking: [.lastPoll]) { $0.lastPoll = time.timeIntervalSince1970 }
            state.changed(at: time)
        }
    }

    /// Whether the tenant's API was just reached (`acs_ingestion_up`); renders only on a change.
    public func tenantReached(tenant: String, up: Bool, at time: Date) {
        guard state.withLock({ state in state.tenantIndex[tenant].map { state.tenants[$0].up } }) != up else { return }
        update { state in
            guard let position = state.tenantIndex[tenant] else { return }
            state.updateTenant(position, marking: [.up]) { $0.up = up }
            state.changed(at: time)
        }
    }

    /// Whether the tenant's collector is stalled (`acs_ingestion_collector_stalled`,
    /// and `acs_ingestion_up` 0 meanwhile).
    public func collectorStalled(tenant: String, _ stalled: Bool, at time: Date) {
        update { state in
            guard let position = state.tenantIndex[tenant] else { return }
            state.updateTenant(position, marking: [.up, .collectorStalled]) { $0.stalled = stalled }
            state.changed(at: time)
        }
    }

    /// Serves exactly these mappings from now on (a configuration reload, a lease
    /// taken or given up): new ones start from their stored `totals`, removed ones
    /// leave /metrics. `created` adds to when mappings were first configured.
    public func reconfigure(mappings descriptors: [MappingDescriptor], totals: IngestionTotals,
                            created: [MappingKey: Date] = [:], now: Date) {
        update { state in
            for (key, time) in created { state.firstConfigured[key] = time.timeIntervalSince1970 }
            let added = Set(state.configure(descriptors))
            Self.restore(totals, into: &state, only: added)
            state.changed(at: now)
        }
    }

    /// Loads counters and open requests from the store's totals at start-up, and
    /// when each mapping was first configured (`_created`; the model's start when unknown).
    public func restore(_ totals: IngestionTotals, created: [MappingKey: Date] = [:], now: Date) {
        update { state in
            for (key, time) in created {
                state.firstConfigured[key] = time.timeIntervalSince1970
                guard let position = state.index[key] else { continue }
                state.updateMapping(position, marking: []) { $0.created = time.timeIntervalSince1970 }
            }
            Self.restore(totals, into: &state, only: nil)
            state.markAllDirty()
            state.changed(at: now)
        }
    }

    /// Adds `totals` to the model's counters, for every mapping or only those of `keys`.
    private static func restore(_ totals: IngestionTotals, into state: inout MetricsState, only keys: Set<MappingKey>?) {
        func position(_ key: MappingKey) -> Int? { keys?.contains(key) ?? true ? state.index[key] : nil }
        for outcome in totals.outcomes {
            guard let position = position(outcome.key) else { continue }
            let statusIndex = MetricsState.statuses.firstIndex(of: outcome.status)!
            state.updateMapping(position, marking: []) { mapping in
                mapping.requests[statusIndex] += outcome.requests
                if outcome.status == .success { mapping.records += outcome.records }
                if outcome.status.isFailure {
                    let series = mapping.failureSeries(FailureKey(status: outcome.status, acpCode: outcome.acpCode))
                    mapping.failures[series].count += outcome.requests
                }
                mapping.histograms[statusIndex].sum += outcome.durationSum
            }
        }
        for bucket in totals.buckets {
            guard let position = position(bucket.key) else { continue }
            let statusIndex = MetricsState.statuses.firstIndex(of: bucket.status)!
            state.updateMapping(position, marking: []) {
                $0.histograms[statusIndex].add(count: bucket.count, upperBound: bucket.upperBound, bounds: durationBounds)
            }
        }
        for (key, results) in totals.triggers {
            guard let position = position(key) else { continue }
            state.updateMapping(position, marking: []) { mapping in
                for (result, count) in results { mapping.triggers[MetricsState.triggerOrder.firstIndex(of: result)!] += count }
            }
        }
        for (key, latest) in totals.latest {
            guard let position = position(key) else { continue }
            state.updateMapping(position, marking: []) { mapping in
                mapping.lastSuccess = latest.lastSuccessAt?.timeIntervalSince1970
                mapping.lastSuccessRecords = latest.lastSuccessRecords
                mapping.lastFailure = latest.lastFailureAt?.timeIntervalSince1970
            }
        }
        for open in totals.open {
            guard let position = position(open.key) else { continue }
            state.updateMapping(position, marking: []) { $0.open[open.requestID] = open.firstSeen }
        }
        for (key, aep) in totals.aep {
            guard let position = position(key) else { continue }
            state.updateMapping(position, marking: []) { mapping in
                if mapping.aep == nil { mapping.aep = MetricsState.AEPSeries() }
                mapping.aep!.restore(aep)
            }
        }
    }

    // MARK: - Rendering

    /// One slot's bytes in each format: malloc'd buffers the caller owns.
    package struct RenderedSlot {
        package let slot: Int
        package let text: (pointer: UnsafeMutableRawPointer, count: Int)
        /// Nil when the OpenMetrics bytes are the text bytes (see `ExpositionLayout.isSharedBetweenFormats`).
        package let openMetrics: (pointer: UnsafeMutableRawPointer, count: Int)?
    }

    var layout: ExpositionLayout { state.withLock { $0.layout } }

    /// The layout's generation (see `MetricsState.generation`) and its slot count.
    package var generation: (number: Int, slots: Int) { state.withLock { ($0.generation, $0.layout.count) } }

    /// Marks one slot of layout `generation` changed, for the next `renderChanged`
    /// (observers are not told); nothing when the layout changed since.
    package func markChanged(slot: Int, generation: Int) {
        state.withLock { state in if state.generation == generation { state.markDirty(slot) } }
    }

    /// `slot` of layout `generation` in `format`, when it did not change since it was
    /// last rendered: the same bytes as then, for an uncompressed body that did not
    /// take them when they were rendered. Nil when it changed (`renderChanged`
    /// renders it again, in both formats).
    package func renderIfUnchanged(_ slot: Int, generation: Int, _ format: ExpositionFormat)
        -> (pointer: UnsafeMutableRawPointer, count: Int)? {
        state.withLock { state in
            state.generation != generation || state.dirty[slot] ? nil : Self.render(slot, format, state)
        }
    }

    /// Renders every slot of layout `generation` changed since the last call, in both
    /// formats, and hands each to `body` before rendering the next, so that only one
    /// slot's bytes are uncompressed at a time. Each slot is rendered under the model's
    /// lock (a block of 64 mappings takes about a millisecond); a change made between
    /// two slots marks its slots again, for the next call. False when the layout
    /// changed (every slot of the new one is dirty): start again with the new one.
    package func renderChanged(generation: Int, _ body: (RenderedSlot) -> Void) -> Bool {
        guard let slots = state.withLock({ $0.generation == generation ? $0.takeDirty() : nil }) else { return false }
        for slot in slots {
            let rendered = state.withLock { state -> RenderedSlot? in
                guard state.generation == generation else { return nil }
                return RenderedSlot(slot: slot, text: Self.render(slot, .text, state),
                                    openMetrics: state.layout.isSharedBetweenFormats(slot) ? nil : Self.render(slot, .openMetrics, state))
            }
            guard let rendered else { return false }
            body(rendered)
        }
        return true
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
