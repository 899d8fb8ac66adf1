import IngestionModel

/// One metric family: its name, type and HELP. Every family the exporter serves
/// is declared below, once; the renderers only refer to these.
public struct MetricFamily: Sendable {
    public enum Kind: String, Sendable { case counter, gauge, histogram }

    /// The name as text 0.0.4 writes it, and as samples carry it (`…_total` for counters).
    public let name: String
    public let kind: Kind
    public let help: String

    init(_ name: String, _ kind: Kind, _ help: String) {
        (self.name, self.kind, self.help) = (name, kind, help)
        precondition(kind != .counter || name.hasSuffix("_total"), "counter \(name) must end in _total")
    }

    /// The OpenMetrics family name: a counter's drops `_total`, which only its samples carry.
    public var openMetricsName: String { kind == .counter ? String(name.dropLast("_total".count)) : name }

    /// The OpenMetrics unit, written only when the family name ends with it.
    public var unit: String? {
        ["seconds", "bytes"].first { openMetricsName.hasSuffix("_" + $0) }
    }
}

/// Every value a label takes, as a HELP text lists them: `success, failed, …`.
private func values<Label: CaseIterable>(of label: KeyPath<Label, String>) -> String {
    Label.allCases.map { $0[keyPath: label] }.joined(separator: ", ")
}

extension MetricFamily {
    // Per mapping (labels tenant, mapping).
    static let requests = MetricFamily("acs_ingestion_requests_total", .counter,
        "Ingestion requests that ended, by final status (\(values(of: \FinalStatus.label))).")
    static let records = MetricFamily("acs_ingestion_records_ingested_total", .counter,
        "Records ingested into Adobe Experience Platform by successful requests (numRecords).")
    static let failures = MetricFamily("acs_ingestion_failures_total", .counter,
        "Requests that ended Failed or Aborted, by status and ACP error code (none when info has no code).")
    static let inProgress = MetricFamily("acs_ingestion_requests_in_progress", .gauge,
        "Tracked requests not yet Success, Failed or Aborted.")
    static let oldestStart = MetricFamily("acs_ingestion_oldest_in_progress_start_timestamp_seconds", .gauge,
        "When the oldest in-progress request was first seen (Unix time); absent when none is in progress.")
    static let inProgressAge = MetricFamily("acs_ingestion_in_progress_duration_seconds", .gauge,
        "Age of the oldest in-progress request at the last poll, 0 when none; time() minus the start timestamp gives it live.")
    static let duration = MetricFamily("acs_ingestion_request_duration_seconds", .histogram,
        "Time from a request's submission (or first sight) to the poll that saw it end, by final status.")
    static let lastSuccess = MetricFamily("acs_ingestion_last_success_timestamp_seconds", .gauge,
        "When the last successful request of the mapping ended (Unix time), 0 if never.")
    static let lastFailure = MetricFamily("acs_ingestion_last_failure_timestamp_seconds", .gauge,
        "When the last Failed or Aborted request of the mapping ended (Unix time), 0 if never.")
    static let lastSuccessRecords = MetricFamily("acs_ingestion_last_success_records", .gauge,
        "Records ingested by the last successful request of the mapping.")
    static let triggers = MetricFamily("acs_ingestion_triggers_total", .counter,
        "Ingestion POSTs made by this exporter, by result (\(values(of: \TriggerResult.label))).")
    static let mappingInfo = MetricFamily("acs_ingestion_mapping_info", .gauge,
        "A configured XDM mapping: its display name and whether this exporter triggers it on a schedule.")
    static let nextTrigger = MetricFamily("acs_ingestion_next_trigger_timestamp_seconds", .gauge,
        "When the exporter next POSTs a scheduled mapping's ingestion (Unix time): its slot plus jitter, or a retry.")
    static let triggerFailingSince = MetricFamily("acs_ingestion_trigger_failing_since_timestamp_seconds", .gauge,
        "Since when a scheduled mapping's triggers have not started an ingestion (Unix time), 0 when the last one did.")

    static let statusCallsPerRequest = MetricFamily("acs_ingestion_status_calls_per_request", .histogram,
        "Status calls this process spent on each request that ended (from its first poll by this process); absent until one ended.")
    static let nextPoll = MetricFamily("acs_ingestion_next_poll_timestamp_seconds", .gauge,
        "When the exporter next polls the mapping's oldest open request (Unix time); absent when none is open.")

    static let aepBatches = MetricFamily("acs_ingestion_aep_batches_total", .counter,
        "Batches of ended requests followed in Adobe Experience Platform's Catalog to their end, by final status (success, failed, aborted, …; unknown when given up on).")
    static let aepRecords = MetricFamily("acs_ingestion_aep_batch_records_total", .counter,
        "Records of followed batches that ended, by outcome: input (inputRecordCount), ingested (outputRecordCount), failed (failedRecordCount).")
    static let aepErrors = MetricFamily("acs_ingestion_aep_batch_errors_total", .counter,
        "Followed batches that ended reporting this error code (a batch counts once per code); at most 20 codes per mapping, the others as code=\"other\"; the common INGEST codes exist at 0.")
    static let aepInProgress = MetricFamily("acs_ingestion_aep_batches_in_progress", .gauge,
        "Batches being followed in Adobe Experience Platform's Catalog (looked up until they end).")

    // Per tenant (label tenant).
    static let up = MetricFamily("acs_ingestion_up", .gauge,
        "1 when the tenant's last poll cycle obtained a token and reached the ingestion API, else 0 (0 too while its collector is stalled).")
    static let collectorStalled = MetricFamily("acs_ingestion_collector_stalled", .gauge,
        "1 when the tenant's collector has made no progress (no poll cycle, no API call ended) within its liveness deadline, else 0.")
    static let lastPoll = MetricFamily("acs_ingestion_last_poll_timestamp_seconds", .gauge,
        "When the tenant's last poll cycle ended (Unix time), 0 if none yet.")
    static let apiRequests = MetricFamily("acs_ingestion_api_requests_total", .counter,
        "HTTP calls to Adobe IMS and the ingestion API, by operation and HTTP code or error kind.")
    static let apiDuration = MetricFamily("acs_ingestion_api_request_duration_seconds", .histogram,
        "Duration of HTTP calls to Adobe IMS and the ingestion API, by operation.")
    static let apiBackoffUntil = MetricFamily("acs_ingestion_api_backoff_until_timestamp_seconds", .gauge,
        "Until when the tenant's calls are held (Unix time): a 429's Retry-After or an open breaker; 0 when not held.")
    static let tokenExpiry = MetricFamily("acs_ingestion_token_expiry_timestamp_seconds", .gauge,
        "When the tenant's current IMS access token expires (Unix time), 0 before the first one.")
    static let budgetCallsPerHour = MetricFamily("acs_ingestion_api_budget_calls_per_hour", .gauge,
        "The tenant's max_calls_per_hour: calls to Adobe (tokens, triggers, polls) it may make in any hour; absent without a budget.")
    static let budgetAvailable = MetricFamily("acs_ingestion_api_budget_available_calls", .gauge,
        "Calls left in the tenant's budget bucket now (it refills evenly over the hour); absent without a budget.")
    static let budgetWaits = MetricFamily("acs_ingestion_api_budget_waits_total", .counter,
        "Calls that waited for the tenant's budget, by operation (a poll put off to a later cycle counts once per cycle).")

    // Once.
    static let configReloadSuccessful = MetricFamily("acs_ingestion_config_last_reload_successful", .gauge,
        "1 when the last configuration reload (SIGHUP or /-/reload) was applied, 0 when it was refused.")
    static let webConfigReloadSuccessful = MetricFamily("acs_ingestion_web_config_last_reload_successful", .gauge,
        "1 when the web configuration file (--web.config.file) last loaded, 0 when a change on disk was refused.")
    static let configReloadSuccessTime = MetricFamily("acs_ingestion_config_last_reload_success_timestamp_seconds", .gauge,
        "When the configuration was last loaded successfully (Unix time).")
    static let storeUp = MetricFamily("acs_ingestion_store_up", .gauge,
        "1 when the store's writes land, 0 while they fail (disk full, file deleted, database unreachable).")
    static let storeErrors = MetricFamily("acs_ingestion_store_errors_total", .counter, "Store calls that failed, by operation.")
    static let storeSize = MetricFamily("acs_ingestion_store_size_bytes", .gauge,
        "Space the store takes: the SQLite file and its WAL, or the PostgreSQL database.")
    static let buildInfo = MetricFamily("acs_ingestion_exporter_build_info", .gauge,
        "The exporter's version, the git revision and branch it was built from, and its Swift compiler; always 1.")

    // Once, in cluster mode only.
    static let replicaInfo = MetricFamily("acs_ingestion_cluster_replica_info", .gauge,
        "This replica's name in the cluster (cluster.replica_name), as label replica_name; always 1.")
    static let tenantOwner = MetricFamily("acs_ingestion_tenant_owner", .gauge,
        "1 when this replica runs the tenant (holds its lease) and exposes its series, else 0.")

    // The HTTP server's own traffic (rendered with the process metrics).
    static let httpRequests = MetricFamily("acs_ingestion_http_requests_total", .counter,
        "HTTP requests this exporter answered, by route (handler) and status code.")
    static let httpInFlight = MetricFamily("acs_ingestion_http_requests_in_flight", .gauge, "HTTP requests being answered now.")
    static let httpConnections = MetricFamily("acs_ingestion_http_connections", .gauge, "HTTP connections open now.")
    static let httpConnectionsRefused = MetricFamily("acs_ingestion_http_connections_refused_total", .counter,
        "HTTP connections closed by a limit rather than by their client, by reason.")

    // The process (the names and HELP texts of the Prometheus client libraries).
    static let processCPU = MetricFamily("process_cpu_seconds_total", .counter, "Total user and system CPU time spent in seconds.")
    static let processVirtualMemory = MetricFamily("process_virtual_memory_bytes", .gauge, "Virtual memory size in bytes.")
    static let processResidentMemory = MetricFamily("process_resident_memory_bytes", .gauge, "Resident memory size in bytes.")
    static let processStartTime = MetricFamily("process_start_time_seconds", .gauge,
        "Start time of the process since unix epoch in seconds.")
    static let processOpenFDs = MetricFamily("process_open_fds", .gauge, "Number of open file descriptors.")
    static let processMaxFDs = MetricFamily("process_max_fds", .gauge, "Maximum number of open file descriptors.")

    /// The per-mapping families, in exposition order.
    static let perMapping: [MetricFamily] = [requests, records, failures, inProgress, oldestStart, inProgressAge, duration,
                                             lastSuccess, lastFailure, lastSuccessRecords, triggers, mappingInfo, nextTrigger,
                                             triggerFailingSince, statusCallsPerRequest, nextPoll, aepBatches, aepRecords, aepErrors,
                                             aepInProgress]
    /// The per-tenant families, in exposition order (after the per-mapping ones).
    static let perTenant: [MetricFamily] = [up, collectorStalled, lastPoll, apiRequests, apiDuration, apiBackoffUntil, tokenExpiry,
                                            budgetCallsPerHour, budgetAvailable, budgetWaits]
}
