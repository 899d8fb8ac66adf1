import Foundation
import IngestionStore
import Synchronization

/// The lease this replica holds on one tenant, and until when it may act on it by
/// its own clock: the moment the renewal that granted it was asked for, plus the
/// TTL, less a safety margin. A process paused past that (SIGSTOP, a long GC-like
/// stall, a partition) finds it lapsed on waking, before the database says so.
public final class LeaseHandle: Sendable {
    private struct State {
        public var lease: TenantLease
        public var validUntil: ContinuousClock.Instant
    }
    private let state: Mutex<State>
    public let ttl: Duration
    /// Time kept in hand: the replica stops acting this long before its lease lapses.
    public let margin: Duration

    public init(_ lease: TenantLease, askedAt: ContinuousClock.Instant, ttl: Duration, margin: Duration) {
        (self.ttl, self.margin) = (ttl, margin)
        state = Mutex(State(lease: lease, validUntil: askedAt + ttl - margin))
    }

    public var lease: TenantLease { state.withLock { $0.lease } }
    public var validUntil: ContinuousClock.Instant { state.withLock { $0.validUntil } }

    /// Whether the replica may still act for the tenant (send a POST, render its series).
    public var isValid: Bool { ContinuousClock.now < validUntil }

    /// A renewal asked for at `askedAt` extended the lease.
    public func renewed(_ lease: TenantLease, askedAt: ContinuousClock.Instant) {
        state.withLock { $0 = State(lease: lease, validUntil: askedAt + ttl - margin) }
    }
}
