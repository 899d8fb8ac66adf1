import AdobeIngestionClient
import Foundation
import IngestionModel
import Scheduling
import Synchronization

/// At most N HTTP attempts in flight at once, across all tenants. Waiting is
/// cancellable: a cancelled waiter leaves the queue and takes no slot.
final class ConcurrencyLimit: Sendable {
    /// Free slots; waiters are let in in arrival order.
    private let slots: WaitingRoom<Int, Void>
    private let limit: Int

    init(_ limit: Int) {
        self.limit = max(1, limit)
        slots = WaitingRoom(self.limit)
    }

    func acquire() async throws(CancellationError) {
        try await slots.enter { free in
            guard free > 0 else { return .park(()) }
            free -= 1
            return .proceed
        }
    }

    /// The longest a call that joins the queue now waits for a slot, when each attempt
    /// ahead of it (and in flight) takes `attempt`.
    func worstWait(attempt: Duration) -> Duration {
        attempt * ((slots.parkedCount + limit) / limit)
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
/// cancelled caller sends nothing. Every admission the guard gives is ended here,
/// whatever becomes of the call: answered, failed, cancelled while it waits for its
/// turn, refused before sending, or held again by a pause that began meanwhile.
struct TenantGate: RequestGate {
    let concurrency: ConcurrencyLimit
    let rate: RateLimiter
    var upstream: UpstreamGuard?
    /// The guard of the tenant's Catalog lookups (`batch`): a Catalog that fails or throttles
    /// holds its own lookups, never the Campaign calls (nil: `upstream` guards them too).
    var platformUpstream: UpstreamGuard?
    /// The tenant's call budget, if it has one: every attempt takes a call from it.
    var budget: TenantCallBudget?
    /// Told when an attempt of `operation` had to wait for the budget.
    var budgetWaited: @Sendable (APICallRecord.Operation) -> Void = { _ in }
    /// Told when an attempt of the worker's own cycle ended, however it ended, and when a
    /// call of it waits a known time (a back-off, its turn for a slot).
    var liveness: WorkerLiveness?
    /// The request time-out: how long an attempt ahead in the queue for a slot may take.
    var attemptTimeout: Duration = .seconds(60)
    /// Asked right before each attempt: false once the tenant's worker is finishing
    /// (hand-over, shutdown), which starts no call (the attempt ends as cancelled).
    var mayAttempt: @Sendable () -> Bool = { true }
    /// Asked right before each POST attempt: a replica that no longer holds the
    /// tenant's lease sends none (the attempt ends as cancelled).
    var maySendTrigger: @Sendable () -> Bool = { true }

    var holdsThrottledCalls: Bool { upstream != nil }

    func backingOff(until: Date) { ownLiveness?.quiet(until: until) }

    /// `liveness`, when this call is one of the worker's own cycle.
    private var ownLiveness: WorkerLiveness? {
        guard let liveness, WorkerLiveness.ofCurrentCycle === liveness else { return nil }
        return liveness
    }

    func withPermit<T: Sendable>(for operation: APICallRecord.Operation,
                                 judge: (Result<T, AdobeAPIError>) -> AttemptOutcome?,
                                 _ body: () async throws(AdobeAPIError) -> T) async throws(AdobeAPIError) -> T {
        let upstream = operation == .batch ? platformUpstream ?? self.upstream : self.upstream
        while true {
            let admission = try await upstream?.admit()
            // nil: held again before sending (the admission is ended, and the call asks anew).
            let result: Result<T, AdobeAPIError>?
            do throws(AdobeAPIError) {
                result = try await attempt(operation, upstream: upstream, admitted: admission, body).map { .success($0) }
            } catch {
                result = .failure(error)
            }
            let outcome = result.flatMap(judge)
            if let admission { upstream?.finish(admission, outcome) }
            if result != nil { ownLiveness?.progressed() }
            guard let result else { continue }
            return try result.get()
        }
    }

    /// Waits for a rate token and a slot, then runs `body`; nil when a pause or the
    /// breaker began while this call waited for its turn.
    private func attempt<T: Sendable>(_ operation: APICallRecord.Operation, upstream: UpstreamGuard?,
                                      admitted admission: UpstreamGuard.Admission?,
                                      _ body: () async throws(AdobeAPIError) -> T) async throws(AdobeAPIError) -> T? {
        do {
            if let budget, try await budget.acquire(CallKind(operation), waiting: { ownLiveness?.quiet(until: $0) }) {
                budgetWaited(operation)
            }
            try await rate.acquire()
            // Behind the other tenants' calls, each of which may take its time-out.
            ownLiveness?.quiet(for: concurrency.worstWait(attempt: attemptTimeout))
            try await concurrency.acquire()
        } catch {
            throw .cancelled
        }
        defer { concurrency.release() }
        if let upstream, let admission, !upstream.stillAdmits(admission) { return nil }
        if Task.isCancelled || !mayAttempt() || (operation == .trigger && !maySendTrigger()) { throw .cancelled }
        return try await body()
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

/// A tenant's `max_calls_per_hour` (see `CallBudget`), shared by its worker and its
/// client: every HTTP attempt takes a call from it (a token request, a POST, a status
/// GET), waiting on the injected clock while it is empty; polls leave one call for a
/// trigger or a token.
final class TenantCallBudget: Sendable {
    let callsPerHour: Int
    private let bucket: Mutex<CallBudget>
    private let time: any TimeSource
    /// Told of the calls left after each call taken.
    private let report: @Sendable (Double) -> Void

    init?(callsPerHour: Int?, time: any TimeSource, report: @escaping @Sendable (Double) -> Void) {
        guard let callsPerHour, let budget = CallBudget(callsPerHour: callsPerHour) else { return nil }
        bucket = Mutex(budget)
        (self.callsPerHour, self.time, self.report) = (callsPerHour, time, report)
        report(budget.availableCalls(at: time.now()))
    }

    /// The calls left in the bucket now.
    var available: Double { bucket.withLock { $0.availableCalls(at: time.now()) } }

    /// How many polls may go now without waiting, one call kept for a trigger or a token.
    var pollsAvailable: Int { max(0, Int(available.rounded(.down)) - 1) }

    /// Waits until a call of `kind` may go, and takes it; `waiting` is told until when
    /// before each wait. True when it had to wait.
    func acquire(_ kind: CallKind, waiting: (Date) -> Void = { _ in }) async throws -> Bool {
        var waited = false
        while true {
            let now = time.now()
            let next = bucket.withLock { bucket -> Date? in
                guard bucket.allowsCall(kind, at: now) else { return bucket.earliestCall(kind, from: now) }
                bucket.recordCall(at: now)
                return nil
            }
            guard let next else {
                report(available)
                return waited
            }
            waited = true
            waiting(next)
            try await time.sleep(until: next)
        }
    }
}

extension CallKind {
    /// What an API call is, as the budget ranks it.
    init(_ operation: APICallRecord.Operation) {
        switch operation {
        case .token: self = .token
        case .trigger: self = .trigger
        case .status, .batch: self = .poll
        }
    }
}
