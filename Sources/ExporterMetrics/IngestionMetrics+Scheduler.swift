import Foundation
import IngestionModel

/// What the collector's scheduler and upstream manners report: the next trigger of
/// each scheduled mapping and whether it keeps failing, a tenant's held calls and its
/// token's expiry, and the last configuration reload.
extension IngestionMetrics {
    /// A scheduled mapping's plan changed.
    public func triggerPlanned(_ key: MappingKey, plan: TriggerPlan) {
        update { state in
            guard let position = state.index[key] else { return }
            state.updateMapping(position, marking: [.nextTrigger, .triggerFailingSince]) { mapping in
                mapping.schedule = .init(nextTrigger: plan.dueAt.timeIntervalSince1970,
                                         failingSince: plan.failingSince?.timeIntervalSince1970)
            }
            state.version &+= 1
        }
    }

    /// The tenant's calls are held until `until` (a 429's pause, an open breaker), or no longer (nil).
    public func upstreamHeld(tenant: String, until: Date?) {
        update { state in
            guard let position = state.tenantIndex[tenant] else { return }
            state.updateTenant(position, marking: [.apiBackoffUntil]) { $0.heldUntil = until?.timeIntervalSince1970 }
            state.version &+= 1
        }
    }

    /// IMS issued a token for the tenant.
    public func tokenObtained(tenant: String, expiresAt: Date) {
        update { state in
            guard let position = state.tenantIndex[tenant] else { return }
            state.updateTenant(position, marking: [.tokenExpiry]) { $0.tokenExpiry = expiresAt.timeIntervalSince1970 }
            state.version &+= 1
        }
    }

    /// An operator stopped following a request: it leaves the in-progress figures.
    public func requestUntracked(_ key: MappingKey, requestID: RequestID, now: Date) {
        update { state in
            guard let position = state.index[key], state.mappings[position].open[requestID] != nil else { return }
            state.updateMapping(position, marking: [.inProgress, .oldestStart, .inProgressAge]) { _ = $0.open.removeValue(forKey: requestID) }
            state.changed(at: now)
        }
    }

    /// The requests of `mappings` in progress, as the store lists them at the start of a
    /// poll cycle: one tracked or untracked through another replica's API (cluster mode)
    /// appears, or leaves, at the owner's next cycle. Renders only on a difference.
    public func openRequests(_ mappings: [MappingKey], _ open: [TrackedRequest], now: Date) {
        let wanted = Dictionary(grouping: open, by: \.key).mapValues { requests in
            Dictionary(requests.map { ($0.requestID, $0.firstSeen) }, uniquingKeysWith: { first, _ in first })
        }
        let differs = state.withLock { state in
            mappings.contains { key in state.index[key].map { state.mappings[$0].open != wanted[key, default: [:]] } ?? false }
        }
        guard differs else { return }
        update { state in
            for key in mappings {
                guard let position = state.index[key], state.mappings[position].open != wanted[key, default: [:]] else { continue }
                state.updateMapping(position, marking: [.inProgress, .oldestStart, .inProgressAge]) { $0.open = wanted[key, default: [:]] }
            }
            state.changed(at: now)
        }
    }

    /// The outcome of re-reading the web configuration file (`--web.config.file`).
    public func webConfigReloaded(successfully: Bool) {
        update { state in
            state.webConfigReloadSuccessful = successfully
            state.markGlobal()
            state.version &+= 1
        }
    }

    /// The outcome of a configuration reload (SIGHUP or /-/reload).
    public func reloaded(successfully: Bool, at time: Date) {
        update { state in
            state.reload.successful = successfully
            if successfully { state.reload.lastSuccess = time }
            state.markGlobal()
            state.version &+= 1
        }
    }

    /// A request of `key` ended after `calls` status calls by this process.
    public func statusCallsSpent(_ key: MappingKey, calls: Int) {
        update { state in
            guard let position = state.index[key] else { return }
            state.updateMapping(position, marking: [.statusCallsPerRequest]) { mapping in
                if mapping.statusCalls == nil { mapping.statusCalls = Histogram(bucketCount: Self.statusCallBounds.count) }
                mapping.statusCalls!.observe(Double(calls), bounds: Self.statusCallBounds)
            }
            state.version &+= 1
        }
    }

    /// When the mapping's oldest open request is polled next (nil: none is open).
    public func nextPoll(_ key: MappingKey, at time: Date?) {
        update { state in
            guard let position = state.index[key], state.mappings[position].nextPoll != time?.timeIntervalSince1970 else { return }
            state.updateMapping(position, marking: [.nextPoll]) { $0.nextPoll = time?.timeIntervalSince1970 }
            state.version &+= 1
        }
    }

    /// The tenant's budget: `callsPerHour` (nil: none) and the calls left in its bucket now.
    public func budget(tenant: String, callsPerHour: Int?, available: Double) {
        update { state in
            guard let position = state.tenantIndex[tenant] else { return }
            state.updateTenant(position, marking: [.budgetCallsPerHour, .budgetAvailable, .budgetWaits]) { tenant in
                guard let callsPerHour else { return tenant.budget = nil }
                tenant.budget = (callsPerHour, available.rounded(.down), tenant.budget?.waits ?? [:])
            }
            state.version &+= 1
        }
    }

    /// A call of `operation` (token, trigger, status) waited for the tenant's budget.
    public func budgetWaited(tenant: String, operation: String) {
        update { state in
            guard let position = state.tenantIndex[tenant], state.tenants[position].budget != nil else { return }
            state.updateTenant(position, marking: [.budgetWaits]) { $0.budget!.waits[operation, default: 0] += 1 }
            state.version &+= 1
        }
    }
}

extension MetricsState {
    /// A scheduled mapping's next attempt and, while its triggers fail, since when (Unix times).
    struct Schedule {
        var nextTrigger: Double
        var failingSince: Double?
    }

    /// The last reload's outcome; the start counts as a successful load.
    struct Reload {
        var successful = true
        var lastSuccess: Date
    }
}
