import AdobeIngestionClient
import Foundation
import IngestionModel
import Synchronization

/// At most N HTTP attempts in flight at once, across all tenants. Waiting is
/// cancellable: a cancelled waiter leaves the queue and takes no slot.
final class ConcurrencyLimit: Sendable {
    /// Free slots; waiters are let in in arrival order.
    private let slots: WaitingRoom<Int, Void>

    init(_ limit: Int) { slots = WaitingRoom(max(1, limit)) }

    func acquire() async throws(CancellationError) {
        try await slots.enter { free in
            guard free > 0 else { return .park(()) }
            free -= 1
            return .proceed
        }
    }

    func release() {
        slots.update { free, waiting in
            // A freed slot goes to the first waiter, or back to the pool.
            if waiting.isEmpty { free += 1 }
            return waiting.isEmpty ? [] : [0]
        }
    }
}

/// The collector's limits on one tenant's calls, per HTTP attempt: the tenant's
/// upstream guard (a 429's pause, the breaker), a token of the tenant's rate, then a
/// slot of the global concurrency limit. The rate token comes before the slot so that
/// a throttled tenant waits without holding a slot the other tenants need; a
/// cancelled caller sends nothing.
struct TenantGate: RequestGate {
    let concurrency: ConcurrencyLimit
    let rate: RateLimiter
    var upstream: UpstreamGuard?
    /// Told of every answer that shows the API works or asks to wait.
    var answered: @Sendable () -> Void = {}
    /// Asked right before each attempt: false once the tenant's worker is finishing
    /// (hand-over, shutdown), which starts no call (the attempt ends as cancelled).
    var mayAttempt: @Sendable () -> Bool = { true }
    /// Asked right before each POST attempt: a replica that no longer holds the
    /// tenant's lease sends none (the attempt ends as cancelled).
    var maySendTrigger: @Sendable () -> Bool = { true }

    var holdsThrottledCalls: Bool { upstream != nil }

    func withPermit<T: Sendable>(for operation: APICallRecord.Operation,
                                 _ body: () async throws(AdobeAPIError) -> T) async throws(AdobeAPIError) -> T {
        while true {
            let admission = try await upstream?.admit()
            do {
                try await rate.acquire()
                try await concurrency.acquire()
            } catch {
                throw .cancelled
            }
            // A 429 or the breaker may have come while this call waited for its turn.
            if let upstream, let admission, !upstream.stillAdmits(admission) {
                concurrency.release()
                continue
            }
            break
        }
        defer { concurrency.release() }
        if Task.isCancelled || !mayAttempt() || (operation == .trigger && !maySendTrigger()) { throw .cancelled }
        return try await body()
    }

    func attempted(_ outcome: AttemptOutcome) {
        upstream?.record(outcome)
        if outcome != .failed { answered() }
    }
}

/// A token bucket: at most `rate` calls a second for one tenant, with bursts
/// of up to one second's worth. Time comes from the injected clock.
final class RateLimiter: Sendable {
    private struct Bucket {
        var tokens: Double
        var updated: Date
    }
    private let rate: Double
    private let capacity: Double
    private let time: any TimeSource
    private let bucket: Mutex<Bucket>

    init(ratePerSecond: Double, time: any TimeSource) {
        rate = ratePerSecond
        capacity = max(1, ratePerSecond)
        self.time = time
        bucket = Mutex(Bucket(tokens: max(1, ratePerSecond), updated: time.now()))
    }

    func acquire() async throws {
        while true {
            let next = bucket.withLock { bucket -> Date? in
                let now = time.now()
                bucket.tokens = min(capacity, bucket.tokens + max(0, now.timeIntervalSince(bucket.updated)) * rate)
                bucket.updated = now
                if bucket.tokens >= 1 {
                    bucket.tokens -= 1
                    return nil
                }
                return now.addingTimeInterval((1 - bucket.tokens) / rate)  // when the next token is due
            }
            guard let next else { return }
            try await time.sleep(until: next)
        }
    }
}
