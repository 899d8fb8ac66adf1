import Foundation
import IngestionModel

/// The model behind `IngestionMetrics`, guarded by its lock: the values of
/// every series, kept compact (arrays indexed by status, not dictionaries), and
/// which parts of the exposition they changed since it was last rendered.
struct MetricsState {
    struct Mapping {
        /// `tenant="…",mapping="…"`, rendered once.
        let labels: String
        /// `,name="…",scheduled="…"` of `acs_ingestion_mapping_info`.
        var infoLabels: String
        /// When the mapping was first configured (Unix time): the `_created` of its counters.
        var created: Double
        /// By `FinalStatus.allCases` index.
        var requests: [Int]
        var records = 0
        /// Sorted by status label, then code.
        var failures: [FailureSeries]
        /// The latest failure of each series, once one happened since start-up (in memory only).
        var failureExemplars: [FailureKey: Exemplar] = [:]
        /// By `FinalStatus.allCases` index.
        var histograms: [Histogram]
        var open: [RequestID: Date] = [:]
        var lastSuccess: Double?
        var lastSuccessRecords = 0
        var lastFailure: Double?
        /// By `MetricsState.triggerOrder` index.
        var triggers: [Int]
        /// A scheduled mapping's next trigger and whether its triggers fail.
        var schedule: Schedule?
        /// Status calls per ended request (nil until one ended: a histogram only for mappings that have one).
        var statusCalls: Histogram?
        /// When the oldest open request is polled next (Unix time).
        var nextPoll: Double?
        /// The batches followed in Experience Platform (nil when the tenant does not follow them and none was counted).
        var aep: AEPSeries?
    }
    struct FailureSeries {
        let key: FailureKey
        /// `,status="…",acp_code="…"`: the preset series of every mapping share one copy.
        let labels: String
        var count = 0

        init(_ key: FailureKey) {
            self.key = key
            labels = MetricsState.presetFailureLabels[key] ?? Self.labels(key)
        }

        static func labels(_ key: FailureKey) -> String {
            ",status=\"\(key.status.label)\",acp_code=\"\(ExpositionWriter.escapeLabel(key.acpCode))\""
        }
    }
    struct Tenant {
        let name: String
        let labels: String
        var up = false
        var stalled = false
        var lastPoll: Double?
        var calls: [APICallKey: Int] = [:]
        var latency: [String: Histogram] = [:]
        var heldUntil: Double?
        var tokenExpiry: Double?
        /// The tenant's budget, if it has one: calls per hour, calls left now, waits by operation.
        var budget: (callsPerHour: Int, available: Double, waits: [String: Int])?
    }

    /// Codes whose API-call series exist from the start, so error-rate alerts see increases.
    static let presetAPICodes = ["200", "401", "403", "429", "500", "503", "timeout", "connection_error"]
    static let operations = ["token", "trigger", "status"]
    static let statuses = FinalStatus.allCases
    static let statusLabels = FinalStatus.allCases.map { ",status=\"\($0.label)\"" }
    static let triggerOrder = TriggerResult.allCases.sorted { $0.label < $1.label }
    static let triggerLabels = triggerOrder.map { ",result=\"\($0.label)\"" }
    static let durationBoundLabels = Histogram.boundLabels(IngestionMetrics.durationBounds)
    static let apiBoundLabels = Histogram.boundLabels(IngestionMetrics.apiDurationBounds)
    static let statusCallBoundLabels = Histogram.boundLabels(IngestionMetrics.statusCallBounds)
    /// Failure series that exist (at 0) from the first scrape, in exposition order.
    static let presetFailures = (FinalStatus.allCases.filter(\.isFailure).map { FailureKey(status: $0, acpCode: ACPCode.noneLabel) }
        + IngestionMetrics.knownACPCodes.map { FailureKey(status: .failed, acpCode: $0) }).sorted()
    static let presetFailureLabels = Dictionary(uniqueKeysWithValues: presetFailures.map { ($0, FailureSeries.labels($0)) })
    static let mappingFamilyIndex = Dictionary(uniqueKeysWithValues: MetricFamily.perMapping.enumerated().map { ($1.name, $0) })
    static let tenantFamilyIndex = Dictionary(uniqueKeysWithValues: MetricFamily.perTenant.enumerated().map { ($1.name, $0) })

    /// Cluster mode: `,instance="…"` (the cluster's name) after the labels of every
    /// per-mapping and per-tenant series, so that a tenant's series are the same series
    /// whichever replica exposes them; empty otherwise.
    let instanceLabel: String
    /// Cluster mode: this replica's name and the tenants it runs, of all those configured.
    var cluster: ClusterState?

    private(set) var mappings: [Mapping] = []
    private(set) var index: [MappingKey: Int] = [:]
    private(set) var tenants: [Tenant] = []
    private(set) var tenantIndex: [String: Int] = [:]
    let buildLabels: String
    /// When this model started counting (Unix time): the `_created` of the per-process counters.
    let started: Double
    /// When each mapping was first configured (Unix time), as the store says: the
    /// `_created` of its counters, kept for mappings that leave and come back.
    var firstConfigured: [MappingKey: Double] = [:]
    private(set) var layout = ExpositionLayout(mappings: 0, tenants: 0)
    /// Bumped each time the set of mappings or tenants changes (a reload, a lease
    /// taken or given up): the layout is new and every slot is rendered again.
    private(set) var generation = 0
    var version: UInt64 = 1
    var reload: Reload
    var webConfigReloadSuccessful = true
    var store = StoreHealth()
    /// When the model last changed: in-progress ages are as of this moment, so
    /// the exposition only changes when the model does.
    var asOf: Date
    /// Slots of the layout whose bytes no longer match the model.
    private(set) var dirty: [Bool] = []
    /// Mappings with requests in progress, per block: their ages move with `asOf`.
    private var openMappingsPerBlock: [Int] = []

    init(mappings descriptors: [MappingDescriptor], version: String, revision: String,
         branch: String, swiftVersion: String, cluster: MetricsCluster? = nil, now: Date) {
        instanceLabel = cluster.map { "," + ExpositionWriter.labels([("instance", $0.instance)]) } ?? ""
        self.cluster = cluster.map { ClusterState(replicaLabels: ExpositionWriter.labels([("replica_name", $0.replica)])) }
        buildLabels = ExpositionWriter.labels([("version", version), ("revision", revision), ("branch", branch),
                                               ("swift_version", swiftVersion)])
        started = now.timeIntervalSince1970
        asOf = now
        reload = Reload(lastSuccess: now)
        _ = configure(descriptors)
    }

    /// Makes the model serve exactly `descriptors`: mappings and tenants that are new get
    /// their series at zero (every label value the alerts need, from the first scrape),
    /// those that are gone leave, the others keep their values. A new layout follows,
    /// every slot dirty. Returns the new mappings.
    mutating func configure(_ descriptors: [MappingDescriptor]) -> [MappingKey] {
        var sorted: [MappingDescriptor] = []
        var seen = Set<MappingKey>()
        for descriptor in descriptors.sorted(by: { $0.key < $1.key }) where seen.insert(descriptor.key).inserted {
            sorted.append(descriptor)
        }
        var newMappings: [Mapping] = [], newIndex: [MappingKey: Int] = [:], added: [MappingKey] = []
        for descriptor in sorted {
            newIndex[descriptor.key] = newMappings.count
            var mapping = index[descriptor.key].map { mappings[$0] } ?? {
                added.append(descriptor.key)
                return newMapping(descriptor, created: firstConfigured[descriptor.key] ?? asOf.timeIntervalSince1970)
            }()
            mapping.infoLabels = Self.infoLabels(descriptor)
            if descriptor.followsBatches && mapping.aep == nil { mapping.aep = AEPSeries() }
            newMappings.append(mapping)
        }
        var newTenants: [Tenant] = [], newTenantIndex: [String: Int] = [:]
        for name in Set(sorted.map(\.key.tenant)).sorted() {
            newTenantIndex[name] = newTenants.count
            newTenants.append(tenantIndex[name].map { tenants[$0] } ?? newTenant(name))
        }
        (mappings, index, tenants, tenantIndex) = (newMappings, newIndex, newTenants, newTenantIndex)
        layout = ExpositionLayout(mappings: mappings.count, tenants: tenants.count)
        generation += 1
        dirty = Array(repeating: true, count: layout.count)
        openMappingsPerBlock = Array(repeating: 0, count: layout.mappingBlocks)
        for (position, mapping) in mappings.enumerated() where !mapping.open.isEmpty {
            openMappingsPerBlock[position / layout.mappingBlock] += 1
        }
        return added
    }

    private func newMapping(_ descriptor: MappingDescriptor, created: Double) -> Mapping {
        Mapping(labels: ExpositionWriter.labels([("tenant", descriptor.key.tenant), ("mapping", descriptor.key.mapping)]) + instanceLabel,
                infoLabels: Self.infoLabels(descriptor),
                created: created,
                requests: Array(repeating: 0, count: Self.statuses.count),
                failures: Self.presetFailures.map(FailureSeries.init),
                histograms: Array(repeating: Histogram(bucketCount: IngestionMetrics.durationBounds.count), count: Self.statuses.count),
                triggers: Array(repeating: 0, count: Self.triggerOrder.count))
    }

    private static func infoLabels(_ descriptor: MappingDescriptor) -> String {
        "," + ExpositionWriter.labels([("name", descriptor.name), ("scheduled", descriptor.scheduled ? "true" : "false")])
    }

    private func newTenant(_ name: String) -> Tenant {
        var tenant = Tenant(name: name, labels: ExpositionWriter.labels([("tenant", name)]) + instanceLabel)
        for operation in Self.operations {
            tenant.latency[operation] = Histogram(bucketCount: IngestionMetrics.apiDurationBounds.count)
            for code in Self.presetAPICodes { tenant.calls[APICallKey(operation: operation, code: code)] = 0 }
        }
        return tenant
    }

    // MARK: - Changes

    /// Records that the model changed at `time`; in-progress ages are recomputed
    /// from the latest change, so their blocks are dirty when it moves.
    mutating func changed(at time: Date) {
        version &+= 1
        guard time > asOf else { return }
        asOf = time
        for block in openMappingsPerBlock.indices where openMappingsPerBlock[block] > 0 {
            markMapping(.inProgressAge, block: block)
        }
    }

    /// Changes mapping `position` and marks `families` of its block dirty.
    mutating func updateMapping(_ position: Int, marking families: [MetricFamily], _ change: (inout Mapping) -> Void) {
        let hadOpen = !mappings[position].open.isEmpty
        change(&mappings[position])
        let block = position / layout.mappingBlock
        let hasOpen = !mappings[position].open.isEmpty
        if hadOpen != hasOpen { openMappingsPerBlock[block] += hasOpen ? 1 : -1 }
        for family in families { markMapping(family, block: block) }
    }

    mutating func updateTenant(_ position: Int, marking families: [MetricFamily], _ change: (inout Tenant) -> Void) {
        change(&tenants[position])
        for family in families {
            dirty[layout.tenantSlot(Self.tenantFamilyIndex[family.name]!, block: position / layout.tenantBlock)] = true
        }
    }

    private mutating func markMapping(_ family: MetricFamily, block: Int) {
        dirty[layout.mappingSlot(Self.mappingFamilyIndex[family.name]!, block: block)] = true
    }

    mutating func markDirty(_ slot: Int) { dirty[slot] = true }

    /// Marks the slot of the families with one series each (reloads, store, build info).
    mutating func markGlobal() { dirty[layout.count - 1] = true }

    mutating func markAllDirty() {
        for slot in dirty.indices { dirty[slot] = true }
    }

    /// The dirty slots, which are clean from now on (their renderer is about to render them).
    mutating func takeDirty() -> [Int] {
        let slots = dirty.indices.filter { dirty[$0] }
        for slot in slots { dirty[slot] = false }
        return slots
    }

    // MARK: - Rendering

    /// Writes one slot of the layout in `format`.
    func render(slot: Int, _ format: ExpositionFormat, into w: inout ExpositionWriter) {
        switch layout.describe(slot) {
        case .mapping(let index, let block):
            let family = MetricFamily.perMapping[index]
            if block == 0 { w.header(family, format) }
            let start = block * layout.mappingBlock
            for m in mappings[start..<min(start + layout.mappingBlock, mappings.count)] { renderMapping(family, m, format, into: &w) }
        case .tenant(let index, let block):
            let family = MetricFamily.perTenant[index]
            if block == 0 { w.header(family, format) }
            let start = block * layout.tenantBlock
            for t in tenants[start..<min(start + layout.tenantBlock, tenants.count)] { renderTenant(family, t, format, into: &w) }
        case .global:
            renderGlobal(format, into: &w)
        }
    }

    private func renderMapping(_ f: MetricFamily, _ m: Mapping, _ format: ExpositionFormat, into w: inout ExpositionWriter) {
        let om = format == .openMetrics
        switch f.name {
        case MetricFamily.requests.name:
            for (i, status) in Self.statusLabels.enumerated() {
                w.sample(f.name, m.labels, status, value: m.requests[i])
                if om { w.sample(f.openMetricsName, suffix: "_created", m.labels, status, value: m.created) }
            }
        case MetricFamily.records.name:
            w.sample(f.name, m.labels, value: m.records)
            if om { w.sample(f.openMetricsName, suffix: "_created", m.labels, value: m.created) }
        case MetricFamily.failures.name:
            for series in m.failures {
                let exemplar = om && !m.failureExemplars.isEmpty ? m.failureExemplars[series.key] : nil
                w.sample(f.name, m.labels, series.labels, value: series.count, exemplar: exemplar)
                if om { w.sample(f.openMetricsName, suffix: "_created", m.labels, series.labels, value: m.created) }
            }
        case MetricFamily.inProgress.name:
            w.sample(f.name, m.labels, value: m.open.count)
        case MetricFamily.oldestStart.name:
            if let oldest = m.open.values.min() { w.sample(f.name, m.labels, value: oldest.timeIntervalSince1970) }
        case MetricFamily.inProgressAge.name:
            let age = m.open.values.min().map { max(0, asOf.timeIntervalSince($0)) } ?? 0
            w.sample(f.name, m.labels, value: age.rounded())
        case MetricFamily.duration.name:
            for (i, status) in Self.statusLabels.enumerated() {
                m.histograms[i].write(f, labels: m.labels, status, bounds: Self.durationBoundLabels, format: format,
                                      created: m.created, into: &w)
            }
        case MetricFamily.lastSuccess.name:
            w.sample(f.name, m.labels, value: m.lastSuccess ?? 0)
        case MetricFamily.lastFailure.name:
            w.sample(f.name, m.labels, value: m.lastFailure ?? 0)
        case MetricFamily.lastSuccessRecords.name:
            w.sample(f.name, m.labels, value: m.lastSuccessRecords)
        case MetricFamily.triggers.name:
            for (i, result) in Self.triggerLabels.enumerated() {
                w.sample(f.name, m.labels, result, value: m.triggers[i])
                if om { w.sample(f.openMetricsName, suffix: "_created", m.labels, result, value: m.created) }
            }
        case MetricFamily.mappingInfo.name:
            w.sample(f.name, m.labels, m.infoLabels, value: 1)
        case MetricFamily.nextTrigger.name:
            if let schedule = m.schedule { w.sample(f.name, m.labels, value: schedule.nextTrigger) }
        case MetricFamily.triggerFailingSince.name:
            if let schedule = m.schedule { w.sample(f.name, m.labels, value: schedule.failingSince ?? 0) }
        case MetricFamily.statusCallsPerRequest.name:
            m.statusCalls?.write(f, labels: m.labels, "", bounds: Self.statusCallBoundLabels, format: format, created: started, into: &w)
        case MetricFamily.nextPoll.name:
            if let next = m.nextPoll { w.sample(f.name, m.labels, value: next) }
        case MetricFamily.aepBatches.name, MetricFamily.aepRecords.name, MetricFamily.aepErrors.name, MetricFamily.aepInProgress.name:
            m.aep?.render(f, labels: m.labels, format, created: m.created, into: &w)
        default:
            preconditionFailure("no renderer for \(f.name)")
        }
    }

    private func renderTenant(_ f: MetricFamily, _ t: Tenant, _ format: ExpositionFormat, into w: inout ExpositionWriter) {
        let om = format == .openMetrics
        switch f.name {
        case MetricFamily.up.name:
            w.sample(f.name, t.labels, value: t.up && !t.stalled ? 1 : 0)
        case MetricFamily.collectorStalled.name:
            w.sample(f.name, t.labels, value: t.stalled ? 1 : 0)
        case MetricFamily.lastPoll.name:
            w.sample(f.name, t.labels, value: t.lastPoll ?? 0)
        case MetricFamily.apiRequests.name:
            for key in t.calls.keys.sorted() {
                let labels = ",operation=\"\(key.operation)\",code=\"\(ExpositionWriter.escapeLabel(key.code))\""
                w.sample(f.name, t.labels, labels, value: t.calls[key]!)
                if om { w.sample(f.openMetricsName, suffix: "_created", t.labels, labels, value: started) }
            }
        case MetricFamily.apiDuration.name:
            for operation in t.latency.keys.sorted() {
                t.latency[operation]!.write(f, labels: t.labels, ",operation=\"\(operation)\"", bounds: Self.apiBoundLabels,
                                            format: format, created: started, into: &w)
            }
        case MetricFamily.apiBackoffUntil.name:
            w.sample(f.name, t.labels, value: t.heldUntil ?? 0)
        case MetricFamily.tokenExpiry.name:
            w.sample(f.name, t.labels, value: t.tokenExpiry ?? 0)
        case MetricFamily.budgetCallsPerHour.name:
            if let budget = t.budget { w.sample(f.name, t.labels, value: budget.callsPerHour) }
        case MetricFamily.budgetAvailable.name:
            if let budget = t.budget { w.sample(f.name, t.labels, value: budget.available) }
        case MetricFamily.budgetWaits.name:
            guard let budget = t.budget else { break }
            for operation in Set(Self.operations).union(budget.waits.keys).sorted() {
                let labels = ",operation=\"\(operation)\""
                w.sample(f.name, t.labels, labels, value: budget.waits[operation] ?? 0)
                if om { w.sample(f.openMetricsName, suffix: "_created", t.labels, labels, value: started) }
            }
        default:
            preconditionFailure("no renderer for \(f.name)")
        }
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
