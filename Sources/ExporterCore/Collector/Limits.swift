import Foundation
import IngestionModel
import Synchronization

/// At most N calls in flight at once, across all tenants.
actor ConcurrencyLimit {
    private var available: Int
    private var waiters: [CheckedContinuation<Void, Never>] = []

    init(_ limit: Int) { available = max(1, limit) }

    func withPermit<T: Sendable>(_ body: @Sendable () async -> T) async -> T {
        await acquire()
        defer { release() }
        return await body()
    }

    private func acquire() async {
        if available > 0 {
            available -= 1
            return
        }
        await withCheckedContinuation { waiters.append($0) }
    }

    private func release() {
        if waiters.isEmpty { available += 1 } else { waiters.removeFirst().resume() }
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
