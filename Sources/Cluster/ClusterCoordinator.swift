import Foundation
import IngestionCollector
import IngestionModel
import IngestionStore
import Logging
import Synchronization

/// How replicas that share one PostgreSQL database split the tenants.
public struct ClusterSettings: Sendable, Equatable {
    /// This replica's name in leases and metrics (`cluster.replica_name`, default hostname:port).
    public var replicaName: String
    /// How long a lease lasts unless renewed (`cluster.lease_ttl`); renewed every third of it.
    public var leaseTTL: Duration

    public init(replicaName: String, leaseTTL: Duration = .seconds(15)) {
        (self.replicaName, self.leaseTTL) = (replicaName, leaseTTL)
    }

    /// Kept in hand: a replica stops acting for a tenant this long before its lease lapses,
    /// and writes nothing for it with less than this left.
    package var margin: Duration { leaseTTL / 5 }
}

/// Runs this replica's share of the tenants: every third of the lease TTL (or poll
/// interval, if shorter) it says it is alive, renews the leases it holds, gives up those beyond its share
/// (ceil(tenants / live replicas)), and takes lapsed or free ones up to it, each
/// replica preferring the tenants that rank highest for it (rendezvous hashing), so
/// the split is stable and spread. A tenant it takes gets a worker whose writes are
/// fenced by the lease; one it loses or gives up has its worker stopped first.
/// It drives the collector through `TenantOwnership`; the collector does not know it.
public final class ClusterCoordinator: Sendable {
    public let settings: ClusterSettings
    let leases: any LeaseStore
    /// Runs the tenants this coordinator takes, and stops those it gives up.
    let collector: any TenantOwnership
    private let logger: Logger
    /// This replica's clock: when to step, and until when a lease may be acted on.
    let time: any TimeSource
    private let held = Mutex<[String: LeaseHandle]>([:])
    /// Tenants being handed over (see `handOver`): their last cycle ends, then their lease is released.
    private let handingOver = Mutex<[String: Task<Void, Never>]>([:])

    public init(settings: ClusterSettings, leases: any LeaseStore, collector: any TenantOwnership, logger: Logger,
                time: any TimeSource = SystemTimeSource()) {
        (self.settings, self.leases, self.collector, self.logger, self.time) = (settings, leases, collector, logger, time)
    }

    /// The tenants this replica holds leases on now.
    public var owned: Set<String> { Set(held.withLock { $0.keys }) }

    /// The lease held on `tenant`, if any.
    func lease(of tenant: String) -> TenantLease? { held.withLock { $0[tenant]?.lease } }

    /// Steps every third of the TTL, or every poll interval when that is shorter, and
    /// also right after another replica's lease is due to lapse: a lease its holder
    /// stopped renewing is taken as it lapses, not up to a step later.
    public func run() async {
        while !Task.isCancelled {
            let lapse = await step()
            let next = time.now().adding(min(settings.leaseTTL / 3, collector.pollInterval))
            do { try await time.sleep(until: min(next, lapse.map { $0.adding(.milliseconds(20)) } ?? next)) } catch { break }
        }
        await releaseAll()
    }

    /// One round: heartbeat, renewals, then giving up or taking leases toward this replica's
    /// share. Returns when, by this replica's clock, the first lease of another replica
    /// lapses unless renewed (nil: none held, or the heartbeat failed).
    @discardableResult
    public func step() async -> Date? {
        let tenants = collector.configuredTenants
        let replica = settings.replicaName
        let (asked, askedElapsed) = (time.now(), time.elapsed())
        let view: ClusterView
        do {
            view = try await leases.heartbeat(replica: replica, ttl: settings.leaseTTL)
        } catch {
            await dropLapsed()
            logger.debug("cluster heartbeat failed", metadata: ["error": "\(error)"])
            return nil
        }
        let nextLapse = view.leases.filter { $0.owner != replica && $0.expiresAt > view.now }.map(\.expiresAt).min()
            .map { asked.addingTimeInterval($0.timeIntervalSince(view.now)) }
        for (tenant, handle) in held.withLock({ $0 }) {
            let renewed: TenantLease?
            do {
                renewed = try await leases.renewLease(handle.lease, ttl: settings.leaseTTL)
            } catch {
                continue   // the store is down: the lease lapses by its own clock (dropLapsed)
            }
            if let renewed, tenants.contains(tenant) {
                handle.renewed(renewed, askedAt: askedElapsed)
            } else {
                await drop(tenant, because: renewed == nil ? "lease lost to another replica" : "tenant removed from the configuration")
                if let renewed { try? await leases.releaseLease(renewed) }
            }
        }
        await dropLapsed()

        let live = max(1, view.liveReplicas.count)
        let share = (tenants.count + live - 1) / live
        let mine = owned
        let ranked = tenants.sorted { Self.rank($0, replica) > Self.rank($1, replica) }
        if mine.count > share {
            for tenant in ranked.reversed().filter(mine.contains).prefix(mine.count - share) {
                handOver(tenant, because: "more than this replica's share (\(share) of \(tenants.count) tenants over \(live) replicas)")
            }
        } else if mine.count < share {
            let leased = Dictionary(view.leases.map { ($0.tenant, $0) }, uniquingKeysWith: { $1 })
            let free = ranked.filter { tenant in
                guard !mine.contains(tenant) else { return false }
                guard let lease = leased[tenant] else { return true }
                return lease.expiresAt <= view.now
            }
            var taken: [TakenTenant] = []
            // Down the ranking until the share is reached: a tenant another replica took first is passed over.
            for tenant in free where taken.count < share - mine.count {
                let asked = time.elapsed()
                guard let lease = try? await leases.acquireLease(tenant: tenant, replica: replica, ttl: settings.leaseTTL) else { continue }
                let handle = LeaseHandle(lease, askedAt: asked, ttl: settings.leaseTTL, margin: settings.margin, time: time)
                held.withLock { $0[tenant] = handle }
                taken.append(TakenTenant(tenant: tenant, lease: handle, fencedStore: leases.fenced(by: lease, margin: settings.margin)))
            }
            // One read of the store for all the tenants taken: a failover of many starts them together.
            let started = await collector.own(taken)
            for entry in taken {
                let lease = entry.lease.lease
                guard started.contains(entry.tenant) else {
                    held.withLock { _ = $0.removeValue(forKey: entry.tenant) }
                    try? await leases.releaseLease(lease)
                    continue
                }
                logger.info("tenant taken", metadata: ["tenant": "\(entry.tenant)", "replica": "\(replica)", "epoch": "\(lease.epoch)"])
            }
        }
        return nextLapse
    }

    /// Stops the workers of leases that lapsed by this replica's clock (the store unreachable, or this process paused).
    private func dropLapsed() async {
        for (tenant, handle) in held.withLock({ $0 }) where !handle.isValid {
            await drop(tenant, because: "lease lapsed before it could be renewed")
        }
    }

    private func drop(_ tenant: String, because reason: String) async {
        guard held.withLock({ $0.removeValue(forKey: tenant) }) != nil else { return }
        await collector.disown(tenant)
        logger.info("tenant given up", metadata: ["tenant": "\(tenant)", "replica": "\(settings.replicaName)", "reason": "\(reason)"])
    }

    /// Gives `tenant` up to another replica without cutting what is in flight: its worker
    /// starts no call and ends its cycle (a POST sent is answered and recorded, so the next
    /// owner has no lost trigger to resolve, nor POSTs again), at most until the lease
    /// lapses by this replica's clock, then the lease is released. In the background: the renewals of
    /// the other leases do not wait for it.
    private func handOver(_ tenant: String, because reason: String) {
        guard let handle = held.withLock({ $0.removeValue(forKey: tenant) }) else { return }
        let grace = handle.timeLeft
        // Made under the lock, so that the task's own removal comes after it.
        handingOver.withLock { tasks in
            tasks[tenant] = Task {
                await collector.disown(tenant, grace: grace)
                try? await leases.releaseLease(handle.lease)
                logger.info("tenant given up", metadata: ["tenant": "\(tenant)", "replica": "\(settings.replicaName)", "reason": "\(reason)"])
                handingOver.withLock { _ = $0.removeValue(forKey: tenant) }
            }
        }
    }

    /// On shutdown: stop every worker, then give the leases back and leave, so that other
    /// replicas take them at their next step rather than after the TTL. The store calls run
    /// in a task of their own: this one is cancelled, and the store refuses a cancelled task's calls.
    private func releaseAll() async {
        for task in handingOver.withLock({ Array($0.values) }) { await task.value }
        for (tenant, handle) in held.withLock({ $0 }) {
            await drop(tenant, because: "shutting down")
            await Task { try? await leases.releaseLease(handle.lease) }.value
        }
        await Task { [settings, leases] in try? await leases.leave(replica: settings.replicaName) }.value
    }

    /// Rendezvous hashing: how much `replica` wants `tenant` (FNV-1a of both names).
    static func rank(_ tenant: String, _ replica: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in Array(tenant.utf8) + [0] + Array(replica.utf8) {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01b3
        }
        return hash
    }
}
