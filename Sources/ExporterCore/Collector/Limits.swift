import AdobeIngestionClient
import Foundation
import IngestionModel
import Synchronization

/// At most N HTTP attempts in flight at once, across all tenants.
final class ConcurrencyLimit: Sendable {
    private struct State {
        var available: Int
        var waiters: [CheckedContinuation<Void, Never>] = []
    }
    private let state: Mutex<State>

    init(_ limit: Int) { state = Mutex(State(available: max(1, limit))) }

    func acquire() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let now = state.withLock { state -> Bool in
                if state.available > 0 {
                    state.available -= 1
                    return true
                }
                state.waiters.append(continuation)
                return false
            }
            if now { continuation.resume() }
        }
    }

    func release() {
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if state.waiters.isEmpty {
                state.available += 1
                return nil
            }
            return state.waiters.removeFirst()
        }
        next?.resume()
    }
}

/// The collector's limits on one tenant's calls: a slot of the global
/// concurrency limit and a token of the tenant's rate, per HTTP attempt.
struct TenantGate: RequestGate {
    let concurrency: ConcurrencyLimit
    let rate: RateLimiter

    func withPermit<T: Sendable>(_ body: () async throws(AdobeAPIError) -> T) async throws(AdobeAPIError) -> T {
        await concurrency.acquire()
        defer { concurrency.release() }
        try? await rate.acquire()
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
            let wait = bucket.withLock { bucket -> Double in
                let now = time.now()
                bucket.tokens = min(capacity, bucket.tokens + max(0, now.timeIntervalSince(bucket.updated)) * rate)
                bucket.updated = now
                if bucket.tokens >= 1 {
                    bucket.tokens -= 1
                    return 0
                }
                return (1 - bucket.tokens) / rate
            }
            if wait == 0 { return }
            try await time.sleep(for: .milliseconds(Int64((wait * 1000).rounded(.up))))
        }
    }
}
