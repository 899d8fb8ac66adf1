import Foundation

/// Which scheduled slot a mapping is serving and when its next attempt is due.
///
/// Plain data so the caller can persist it (Codable) and compare it (Equatable); all
/// decisions about it are `TriggerPlanner`'s.
public struct TriggerPlan: Sendable, Equatable, Codable {
    /// The scheduled time being served, without jitter.
    public var slot: Date
    /// When the next attempt should be made: the slot plus the mapping's jitter, or a retry time.
    public var dueAt: Date
    /// Failed attempts made for this slot so far.
    public var attempts: Int
    /// The first failed attempt since the last attempt that started an ingestion; nil when healthy.
    public var failingSince: Date?

    public init(slot: Date, dueAt: Date, attempts: Int = 0, failingSince: Date? = nil) {
        self.slot = slot
        self.dueAt = dueAt
        self.attempts = attempts
        self.failingSince = failingSince
    }
}

/// What came of one attempt to trigger an ingestion.
public enum TriggerAttemptResult: Sendable, Equatable {
    /// Submitted, or already in progress (adopted): an ingestion runs.
    case started
    /// Upstream error or throttling (after the HTTP client's own retries), or "not
    /// stopped" (the previous run is still going in Campaign): worth retrying soon.
    case retryable
    /// "Not published": nothing changes until a person acts, so it is retried only at
    /// the next scheduled slot.
    case needsPerson
}
