import Foundation
import IngestionModel

/// A tenant's lease: which replica runs its collector (its triggers and polls), until
/// when, and its epoch, which grows by one each time the lease changes hands. Every
/// write a collector makes checks, in its own transaction, that the lease it holds is
/// still the current one (a fence): a replica that lost its lease records nothing.
public struct TenantLease: Sendable, Equatable, CustomStringConvertible {
    public var tenant: String
    public var owner: String
    public var epoch: Int64
    /// When it lapses unless renewed, by the database's clock.
    public var expiresAt: Date

    public init(tenant: String, owner: String, epoch: Int64, expiresAt: Date) {
        (self.tenant, self.owner, self.epoch, self.expiresAt) = (tenant, owner, epoch, expiresAt)
    }

    public var description: String { "lease of \(tenant) held by \(owner) (epoch \(epoch))" }
}

/// What the shared database says about the replicas, as of one heartbeat.
public struct ClusterView: Sendable, Equatable {
    /// Replicas whose heartbeat is younger than the lease TTL, by name (this one included).
    public var liveReplicas: [String]
    /// Every tenant's lease, lapsed ones included.
    public var leases: [TenantLease]
    /// The database's clock when it answered.
    public var now: Date

    public init(liveReplicas: [String], leases: [TenantLease], now: Date) {
        (self.liveReplicas, self.leases, self.now) = (liveReplicas, leases, now)
    }
}

/// A trigger asked for through the API of any replica, run by the tenant's owner.
public struct QueuedTrigger: Sendable, Equatable {
    public var id: Int64
    public var key: MappingKey
    public var requestedAt: Date
    public init(id: Int64, key: MappingKey, requestedAt: Date) { (self.id, self.key, self.requestedAt) = (id, key, requestedAt) }
}

/// Coordination of replicas that share one database (PostgreSQL): heartbeats,
/// leases per tenant with epochs, fenced writes, and a queue of trigger-now calls
/// for the tenant's owner. Times are the database's (`now()`), so replicas' clocks
/// need not agree. SQLite has one writer per file (its lock) and needs none of this.
public protocol LeaseStore: Sendable {
    /// Records `replica` as alive and returns the live replicas and every lease.
    func heartbeat(replica: String, ttl: Duration) async throws(StoreError) -> ClusterView

    /// Takes the lease of `tenant` if no live lease holds it (never held, lapsed, or
    /// released): epoch + 1, expiring `ttl` from now. Nil when another replica holds it.
    func acquireLease(tenant: String, replica: String, ttl: Duration) async throws(StoreError) -> TenantLease?

    /// Extends a lease still held (same owner, same epoch, not lapsed); nil when it was lost.
    func renewLease(_ lease: TenantLease, ttl: Duration) async throws(StoreError) -> TenantLease?

    /// Gives a lease up at once, so that another replica can take it without waiting for it to lapse.
    func releaseLease(_ lease: TenantLease) async throws(StoreError)

    /// `replica` is shutting down: it is no longer live, so the others' shares grow (and
    /// they take its released leases) at their next heartbeat rather than after the TTL.
    func leave(replica: String) async throws(StoreError)

    /// The store as the lease's holder writes to it: every write about `lease.tenant`
    /// (intents, trigger answers and plans, observations, ends) fails with `.fenced`,
    /// and writes nothing, unless the lease is still held with at least `margin` left.
    func fenced(by lease: TenantLease, margin: Duration) -> any IngestionStore

    /// Queues a trigger-now for the tenant's owner; returns its id.
    func enqueueTrigger(_ key: MappingKey, at time: Date) async throws(StoreError) -> Int64

    /// The queued triggers of `lease.tenant` not yet taken, oldest first, now taken by the
    /// lease's holder (fenced): each is run once.
    func takeQueuedTriggers(by lease: TenantLease) async throws(StoreError) -> [QueuedTrigger]

    /// Records what a queued trigger came to (an API body, JSON) for the replica that queued it.
    func answerQueuedTrigger(_ id: Int64, status: Int, body: [UInt8]) async throws(StoreError)

    /// The answer of a queued trigger, once there is one.
    func queuedTriggerAnswer(_ id: Int64) async throws(StoreError) -> (status: Int, body: [UInt8])?
}
