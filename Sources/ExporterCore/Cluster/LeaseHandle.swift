import Foundation
import IngestionStore
import Synchronization

/// The lease this replica holds on one tenant, and until when it may act on it by
/// its own clock: the moment the renewal that granted it was asked for, plus the
/// TTL, less a safety margin. A process paused past that (SIGSTOP, a long GC-like
/// stall, a partition) finds it lapsed on waking, before the database says so.
final class LeaseHandle: Sendable {
    private struct State {
        var lease: TenantLease
        var validUntil: ContinuousClock.Instant
    }
    private let state: Mutex<State>
    let ttl: Duration
    /// Time kept in hand: the replica stops acting this long before its lease lapses.
    let margin: Duration

    init(_ lease: TenantLease, askedAt: ContinuousClock.Instant, ttl: Duration, margin: Duration) {
        (self.ttl, self.margin) = (ttl, margin)
        state = Mutex(State(lease: lease, validUntil: askedAt + ttl - margin))
    }

    var lease: TenantLease { state.withLock { $0.lease } }
    var validUntil: ContinuousClock.Instant { state.withLock { $0.validUntil } }

    /// Whether the replica may still act for the tenant (send a POST, render its series).
    var isValid: Bool { ContinuousClock.now < validUntil }

    /// A renewal asked for at `askedAt` extended the lease.
    func renewed(_ lease: TenantLease, askedAt: ContinuousClock.Instant) {
        state.withLock { $0 = State(lease: lease, validUntil: askedAt + ttl - margin) }
    }
}
