import AdobeIngestionClient
import Foundation
import IngestionModel
import Synchronization

/// At most N HTTP attempts in flight at once, across all tenants. Waiting is
/// cancellable: a cancelled waiter leaves the queue and takes no slot.
final class ConcurrencyLimit: Sendable {
    private struct Waiter {
        let id: UInt64
        let continuation: CheckedContinuation<Void, Error>
    }
    private struct State {
        var available: Int
        var nextID: UInt64 = 0
        var waiters: [Waiter] = []
    }
    private let state: Mutex<State>

    init(_ limit: Int) { state = Mutex(State(available: max(1, limit))) }

    func acquire() async throws(CancellationError) {
        let id = state.withLock { state -> UInt64 in
            state.nextID += 1
            return state.nextID
        }
        do {
            try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, Error>) in
                    let granted = state.withLock { state -> Bool? in
                        if Task.isCancelled { return nil }
                        if state.available > 0 {
                            state.available -= 1
                            return true
                        }
                        state.waiters.append(Waiter(id: id, continuation: continuation))
                        return false
                    }
                    switch granted {
                    case true?: continuation.resume()
                    case nil: continuation.resume(throwing: CancellationError())
                    case false?: break
                    }
                }
            } onCancel: {
                let waiter = state.withLock { state -> Waiter? in
                    guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                    return state.waiters.remove(at: index)
                }
                waiter?.continuation.resume(throwing: CancellationError())
            }
        } catch {
            throw CancellationError()
        }
    }

    func release() {
        let next = state.withLock { state -> Waiter? in
            if state.waiters.isEmpty {
                state.available += 1
                return nil
            }
            return state.waiters.removeFirst()
        }
        next?.continuation.resume()
    }
}

/// The collector's limits on one tenant's calls, per HTTP attempt: a token of the
/// tenant's rate, then a slot of the global concurrency limit. The rate token comes
/// first so that a throttled tenant waits without holding a slot the other tenants
/// need; a cancelled caller sends nothing.
struct TenantGate: RequestGate {
    let concurrency: ConcurrencyLimit
    let rate: RateLimiter

    func withPermit<T: Sendable>(_ body: () async throws(AdobeAPIError) -> T) async throws(AdobeAPIError) -> T {
        do {
            try await rate.acquire()
            try await concurrency.acquire()
        } catch {
            throw .cancelled
        }
        defer { concurrency.release() }
        if Task.isCancelled { throw .cancelled }
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
