import Foundation
import IngestionModel

/// The model behind `IngestionMetrics`, guarded by its lock.
struct MetricsState {
    struct Mapping {
        var descriptor: MappingDescriptor
        /// `tenant="…",mapping="…"`, rendered once.
        let labels: String
        var requests: [FinalStatus: Int] = [:]
        var records = 0
        var failures: [FailureKey: Int] = [:]
        var histograms: [FinalStatus: Histogram] = [:]
        var open: [RequestID: Date] = [:]
        var lastSuccess: Date?
        var lastSuccessRecords = 0
        var lastFailure: Date?
        var triggers: [TriggerResult: Int] = [:]
        var schedule: Schedule?
    }
    struct Tenant {
        let labels: String
        var up = false
        var lastPoll: Date?
        var calls: [APICallKey: Int] = [:]
        var latency: [String: Histogram] = [:]
        var heldUntil: Date?
        var tokenExpiry: Date?
    }

    /// Codes whose API-call series exist from the start, so error-rate alerts see increases.
    static let presetAPICodes = ["200", "401", "403", "429", "500", "503", "timeout", "connection_error"]
    static let operations = ["token", "trigger", "status"]

    var mappings: [MappingKey: Mapping] = [:]
    private(set) var order: [MappingKey]
    var tenants: [String: Tenant] = [:]
    private(set) var tenantOrder: [String]
    let buildLabels: String
    var version: UInt64 = 1
    var reload: Reload
    var webConfigReloadSuccessful = true
    var store = StoreHealth()
    /// When the model last changed: in-progress ages are as of this moment, so
    /// the exposition only changes when the model does.
    var asOf: Date
    let durationBoundLabels = Histogram.boundLabels(IngestionMetrics.durationBounds)
    let apiBoundLabels = Histogram.boundLabels(IngestionMetrics.apiDurationBounds)

    init(mappings descriptors: [MappingDescriptor], version: String, revision: String,
         branch: String, swiftVersion: String, now: Date) {
        order = []
        tenantOrder = []
        buildLabels = ExpositionWriter.labels([("version", version), ("revision", revision), ("branch", branch),
                                               ("swift_version", swiftVersion)])
        asOf = now
        reload = Reload(lastSuccess: now)
        _ = configure(descriptors)
    }

    /// Makes the model serve exactly `descriptors`: mappings and tenants that are new get
    /// their series at zero (every label value the alerts need, from the first scrape),
    /// those that are gone leave, the others keep their values. Returns the new mappings.
    mutating func configure(_ descriptors: [MappingDescriptor]) -> [MappingKey] {
        let wanted = Dictionary(descriptors.map { ($0.key, $0) }, uniquingKeysWith: { $1 })
        mappings = mappings.filter { wanted[$0.key] != nil }
        var added: [MappingKey] = []
        for descriptor in descriptors {
            if var existing = mappings[descriptor.key] {
                existing.descriptor = descriptor
                mappings[descriptor.key] = existing
                continue
            }
            var mapping = Mapping(descriptor: descriptor, labels: ExpositionWriter.labels(
                [("tenant", descriptor.key.tenant), ("mapping", descriptor.key.mapping)]))
            for status in FinalStatus.allCases {
                mapping.requests[status] = 0
                mapping.histograms[status] = Histogram(bucketCount: IngestionMetrics.durationBounds.count)
                if status.isFailure { mapping.failures[FailureKey(status: status, acpCode: ACPCode.noneLabel)] = 0 }
            }
            for code in IngestionMetrics.knownACPCodes { mapping.failures[FailureKey(status: .failed, acpCode: code)] = 0 }
            for result in TriggerResult.allCases { mapping.triggers[result] = 0 }
            mappings[descriptor.key] = mapping
            added.append(descriptor.key)
        }
        let wantedTenants = Set(descriptors.map(\.key.tenant))
        tenants = tenants.filter { wantedTenants.contains($0.key) }
        for name in wantedTenants where tenants[name] == nil {
            var tenant = Tenant(labels: ExpositionWriter.labels([("tenant", name)]))
            for operation in Self.operations {
                tenant.latency[operation] = Histogram(bucketCount: IngestionMetrics.apiDurationBounds.count)
                for code in Self.presetAPICodes { tenant.calls[APICallKey(operation: operation, code: code)] = 0 }
            }
            tenants[name] = tenant
        }
        order = mappings.keys.sorted()
        tenantOrder = tenants.keys.sorted()
        return added
    }

    mutating func changed(at time: Date) {
        version &+= 1
        if time > asOf { asOf = time }
    }

    func render(into w: inout ExpositionWriter) {
        let ordered = order.map { mappings[$0]! }

        w.family("acs_ingestion_requests_total", "counter",
                 "Ingestion requests that ended, by final status (\(FinalStatus.allCases.map(\.label).joined(separator: ", "))).")
        for m in ordered {
            for status in FinalStatus.allCases {
                w.sample("acs_ingestion_requests_total", m.labels + ",status=\"\(status.label)\"", m.requests[status] ?? 0)
            }
        }
        w.family("acs_ingestion_records_ingested_total", "counter",
                 "Records ingested into Adobe Experience Platform by successful requests (numRecords).")
        for m in ordered { w.sample("acs_ingestion_records_ingested_total", m.labels, m.records) }

        w.family("acs_ingestion_failures_total", "counter",
                 "Requests that ended Failed or Aborted, by status and ACP error code (none when info has no code).")
        for m in ordered {
            for key in m.failures.keys.sorted() {
                w.sample("acs_ingestion_failures_total",
                         m.labels + ",status=\"\(key.status.label)\",acp_code=\"\(ExpositionWriter.escapeLabel(key.acpCode))\"",
                         m.failures[key]!)
            }
        }
        w.family("acs_ingestion_requests_in_progress", "gauge", "Tracked requests not yet Success, Failed or Aborted.")
        for m in ordered { w.sample("acs_ingestion_requests_in_progress", m.labels, m.open.count) }

        w.family("acs_ingestion_oldest_in_progress_start_timestamp_seconds", "gauge",
                 "When the oldest in-progress request was first seen (Unix time); absent when none is in progress.")
        for m in ordered {
            if let oldest = m.open.values.min() {
                w.sample("acs_ingestion_oldest_in_progress_start_timestamp_seconds", m.labels, oldest.timeIntervalSince1970)
            }
        }
        w.family("acs_ingestion_in_progress_duration_seconds", "gauge",
                 "Age of the oldest in-progress request at the last poll, 0 when none; time() minus the start timestamp gives it live.")
        for m in ordered {
            let age = m.open.values.min().map { max(0, asOf.timeIntervalSince($0)) } ?? 0
            w.sample("acs_ingestion_in_progress_duration_seconds", m.labels, age.rounded())
        }
        w.family("acs_ingestion_request_duration_seconds", "histogram",
                 "Time from a request's submission (or first sight) to the poll that saw it end, by final status.")
        for m in ordered {
            for status in FinalStatus.allCases {
                m.histograms[status]?.write("acs_ingestion_request_duration_seconds", labels: m.labels + ",status=\"\(status.label)\"",
                                            boundLabels: durationBoundLabels, into: &w)
            }
        }
        w.family("acs_ingestion_last_success_timestamp_seconds", "gauge",
                 "When the last successful request of the mapping ended (Unix time), 0 if never.")
        for m in ordered { w.sample("acs_ingestion_last_success_timestamp_seconds", m.labels, m.lastSuccess?.timeIntervalSince1970 ?? 0) }
        w.family("acs_ingestion_last_failure_timestamp_seconds", "gauge",
                 "When the last Failed or Aborted request of the mapping ended (Unix time), 0 if never.")
        for m in ordered { w.sample("acs_ingestion_last_failure_timestamp_seconds", m.labels, m.lastFailure?.timeIntervalSince1970 ?? 0) }
        w.family("acs_ingestion_last_success_records", "gauge", "Records ingested by the last successful request of the mapping.")
        for m in ordered { w.sample("acs_ingestion_last_success_records", m.labels, m.lastSuccessRecords) }

        w.family("acs_ingestion_triggers_total", "counter",
                 "Ingestion POSTs made by this exporter, by result (\(TriggerResult.allCases.map(\.label).joined(separator: ", "))).")
        for m in ordered {
            for result in m.triggers.keys.sorted(by: { $0.label < $1.label }) {
                w.sample("acs_ingestion_triggers_total", m.labels + ",result=\"\(result.label)\"", m.triggers[result]!)
            }
        }
        w.family("acs_ingestion_mapping_info", "gauge",
                 "A configured XDM mapping: its display name and whether this exporter triggers it on a schedule.")
        for m in ordered {
            w.sample("acs_ingestion_mapping_info", m.labels + "," + ExpositionWriter.labels(
                [("name", m.descriptor.name), ("scheduled", m.descriptor.scheduled ? "true" : "false")]), 1)
        }

        let tenantList = tenantOrder.map { tenants[$0]! }
        w.family("acs_ingestion_up", "gauge",
                 "1 when the tenant's last poll cycle obtained a token and reached the ingestion API, else 0.")
        for t in tenantList { w.sample("acs_ingestion_up", t.labels, t.up ? 1 : 0) }
        w.family("acs_ingestion_last_poll_timestamp_seconds", "gauge", "When the tenant's last poll cycle ended (Unix time), 0 if none yet.")
        for t in tenantList { w.sample("acs_ingestion_last_poll_timestamp_seconds", t.labels, t.lastPoll?.timeIntervalSince1970 ?? 0) }
        w.family("acs_ingestion_api_requests_total", "counter",
                 "HTTP calls to Adobe IMS and the ingestion API, by operation and HTTP code or error kind.")
        for t in tenantList {
            for key in t.calls.keys.sorted() {
                w.sample("acs_ingestion_api_requests_total",
                         t.labels + ",operation=\"\(key.operation)\",code=\"\(ExpositionWriter.escapeLabel(key.code))\"", t.calls[key]!)
            }
        }
        w.family("acs_ingestion_api_request_duration_seconds", "histogram",
                 "Duration of HTTP calls to Adobe IMS and the ingestion API, by operation.")
        for t in tenantList {
            for operation in t.latency.keys.sorted() {
                t.latency[operation]!.write("acs_ingestion_api_request_duration_seconds",
                                            labels: t.labels + ",operation=\"\(operation)\"", boundLabels: apiBoundLabels, into: &w)
            }
        }
        renderScheduler(into: &w, ordered, tenantList)
        renderStore(into: &w)
        w.family("acs_ingestion_exporter_build_info", "gauge",
                 "The exporter's version, the git revision and branch it was built from, and its Swift compiler; always 1.")
        w.sample("acs_ingestion_exporter_build_info", buildLabels, 1)
    }
}
