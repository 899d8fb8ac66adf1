import Foundation
import IngestionModel

/// What the collector's scheduler and upstream manners report: the next trigger of
/// each scheduled mapping and whether it keeps failing, a tenant's held calls and its
/// token's expiry, and the last configuration reload.
extension IngestionMetrics {
    /// A scheduled mapping's plan changed.
    public func triggerPlanned(_ key: MappingKey, plan: TriggerPlan) {
        update { state in
            guard state.mappings[key] != nil else { return }
            state.mappings[key]!.schedule = .init(nextTrigger: plan.dueAt, failingSince: plan.failingSince)
            state.version &+= 1
        }
    }

    /// The tenant's calls are held until `until` (a 429's pause, an open breaker), or no longer (nil).
    public func upstreamHeld(tenant: String, until: Date?) {
        update { state in
            guard state.tenants[tenant] != nil else { return }
            state.tenants[tenant]!.heldUntil = until
            state.version &+= 1
        }
    }

    /// IMS issued a token for the tenant.
    public func tokenObtained(tenant: String, expiresAt: Date) {
        update { state in
            guard state.tenants[tenant] != nil else { return }
            state.tenants[tenant]!.tokenExpiry = expiresAt
            state.version &+= 1
        }
    }

    /// An operator stopped following a request: it leaves the in-progress figures.
    public func requestUntracked(_ key: MappingKey, requestID: RequestID, now: Date) {
        update { state in
            guard state.mappings[key]?.open.removeValue(forKey: requestID) != nil else { return }
            state.changed(at: now)
        }
    }

    /// The outcome of re-reading the web configuration file (`--web.config.file`).
    public func webConfigReloaded(successfully: Bool) {
        update { state in
            state.webConfigReloadSuccessful = successfully
            state.version &+= 1
        }
    }

    /// The outcome of a configuration reload (SIGHUP or /-/reload).
    public func reloaded(successfully: Bool, at time: Date) {
        update { state in
            state.reload.successful = successfully
            if successfully { state.reload.lastSuccess = time }
            state.version &+= 1
        }
    }
}

extension MetricsState {
    /// A scheduled mapping's next attempt and, while its triggers fail, since when.
    struct Schedule {
        var nextTrigger: Date
        var failingSince: Date?
    }

    /// The last reload's outcome; the start counts as a successful load.
    struct Reload {
        var successful = true
        var lastSuccess: Date
    }

    func renderScheduler(into w: inout ExpositionWriter, _ ordered: [Mapping], _ tenants: [Tenant]) {
        let scheduled = ordered.filter { $0.schedule != nil }
        w.family("acs_ingestion_next_trigger_timestamp_seconds", "gauge",
                 "When the exporter next POSTs a scheduled mapping's ingestion (Unix time): its slot plus jitter, or a retry.")
        for m in scheduled { w.sample("acs_ingestion_next_trigger_timestamp_seconds", m.labels, m.schedule!.nextTrigger.timeIntervalSince1970) }
        w.family("acs_ingestion_trigger_failing_since_timestamp_seconds", "gauge",
                 "Since when a scheduled mapping's triggers have not started an ingestion (Unix time), 0 when the last one did.")
        for m in scheduled {
            w.sample("acs_ingestion_trigger_failing_since_timestamp_seconds", m.labels,
                     m.schedule!.failingSince?.timeIntervalSince1970 ?? 0)
        }
        w.family("acs_ingestion_api_backoff_until_timestamp_seconds", "gauge",
                 "Until when the tenant's calls are held (Unix time): a 429's Retry-After or an open breaker; 0 when not held.")
        for t in tenants { w.sample("acs_ingestion_api_backoff_until_timestamp_seconds", t.labels, t.heldUntil?.timeIntervalSince1970 ?? 0) }
        w.family("acs_ingestion_token_expiry_timestamp_seconds", "gauge",
                 "When the tenant's current IMS access token expires (Unix time), 0 before the first one.")
        for t in tenants { w.sample("acs_ingestion_token_expiry_timestamp_seconds", t.labels, t.tokenExpiry?.timeIntervalSince1970 ?? 0) }
        w.family("acs_ingestion_config_last_reload_successful", "gauge",
                 "1 when the last configuration reload (SIGHUP or /-/reload) was applied, 0 when it was refused.")
        w.sample("acs_ingestion_config_last_reload_successful", "", reload.successful ? 1 : 0)
        w.family("acs_ingestion_web_config_last_reload_successful", "gauge",
                 "1 when the web configuration file (--web.config.file) last loaded, 0 when a change on disk was refused.")
        w.sample("acs_ingestion_web_config_last_reload_successful", "", webConfigReloadSuccessful ? 1 : 0)
        w.family("acs_ingestion_config_last_reload_success_timestamp_seconds", "gauge",
                 "When the configuration was last loaded successfully (Unix time).")
        w.sample("acs_ingestion_config_last_reload_success_timestamp_seconds", "", reload.lastSuccess.timeIntervalSince1970)
    }
}
