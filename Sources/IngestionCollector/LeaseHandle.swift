import Foundation
import IngestionModel
import IngestionStore
import Synchronization

/// The lease this replica holds on one tenant, and until when it may act on it by
/// its own clock: the moment the renewal that granted it was asked for, plus the
/// TTL, less a safety margin. A process paused past that (SIGSTOP, a long GC-like
/// stall, a partition) finds it lapsed on waking, before the database says so.
public final class LeaseHandle: Sendable {
    private struct State {
        public var lease: TenantLease
        /// On the time source's `elapsed()` clock, which never steps.
        public var validUntil: Duration
    }
    private let state: Mutex<State>
    public let ttl: Duration
    /// Time kept in hand: the replica stops acting this long before its lease lapses.
    public let margin: Duration
    private let time: any TimeSource

    /// `askedAt`: `time.elapsed()` when the call that granted the lease was made.
    public init(_ lease: TenantLease, askedAt: Duration, ttl: Duration, margin: Duration, time: any TimeSource) {
        (self.ttl, self.margin, self.time) = (ttl, margin, time)
        state = Mutex(State(lease: lease, validUntil: askedAt + ttl - margin))
    }

    public var lease: TenantLease { state.withLock { $0.lease } }

    /// How long the replica may still act for the tenant (zero once it may not).
    public var timeLeft: Duration { max(.zero, state.withLock { $0.validUntil } - time.elapsed()) }

    /// Whether the replica may still act for the tenant (send a POST, render its series).
    public var isValid: Bool { time.elapsed() < state.withLock { $0.validUntil } }

    /// A renewal asked for at `askedAt` (`time.elapsed()`) extended the lease.
    public func renewed(_ lease: TenantLease, askedAt: Duration) {
        state.withLock { $0 = State(lease: lease, validUntil: askedAt + ttl - margin) }
    }
}
