import AdobeIngestionClient
import Foundation
import IngestionModel
import Synchronization
import Testing
import TestSupport
@testable import IngestionCollector

/// The collector's per-attempt limits: a throttled tenant waits without holding
/// the slots the others need, and a cancelled call sends nothing.
@Suite("Request limits")
struct LimitsTests {
    @Test func aThrottledTenantDoesNotHoldTheSlotsTheOthersNeed() async throws {
        let time = ManualTimeSource()
        let concurrency = ConcurrencyLimit(1)
        let throttled = TenantGate(concurrency: concurrency, rate: RateLimiter(ratePerSecond: 0.01, time: time))
        let other = TenantGate(concurrency: concurrency, rate: RateLimiter(ratePerSecond: 100, time: time))
        // The throttled tenant's first call takes its only token; its second waits 100 s for the next.
        try await Self.send(through: throttled) {}
        let waiting = Task { try? await Self.send(through: throttled) {} }
        defer { waiting.cancel() }
        // Meanwhile the other tenant's call goes through: the single slot is free.
        let sent = Atomic<Bool>(false)
        let otherCall = Task { try? await Self.send(through: other) { sent.store(true, ordering: .relaxed) } }
        #expect(await eventually(timeout: .seconds(5)) { sent.load(ordering: .relaxed) })
        otherCall.cancel()
    }

    @Test func aCancelledCallSendsNothing() async throws {
        let time = ManualTimeSource()
        let gate = TenantGate(concurrency: ConcurrencyLimit(4), rate: RateLimiter(ratePerSecond: 0.01, time: time))
        try await Self.send(through: gate) {}   // the only token
        let sent = Atomic<Bool>(false)
        let call = Task { () async -> AdobeAPIError? in
            do {
                try await Self.send(through: gate) { sent.store(true, ordering: .relaxed) }
                return nil
            } catch {
                return error as? AdobeAPIError
            }
        }
        call.cancel()
        let failure = await call.value
        #expect(failure == AdobeAPIError.cancelled)
        let wasSent = sent.load(ordering: .relaxed)
        #expect(!wasSent)
    }

    /// One attempt through `gate`: `send` stands for the HTTP exchange.
    static func send(through gate: TenantGate, _ send: @escaping @Sendable () -> Void) async throws(AdobeAPIError) {
        try await gate.withPermit(for: .status, judge: { _ in nil }) { () async throws(AdobeAPIError) -> Bool in
            send()
            return true
        }
    }

    @Test func aCancelledWaiterGivesUpItsPlaceInTheQueue() async throws {
        let limit = ConcurrencyLimit(1)
        try await limit.acquire()
        let waiter = Task { try await limit.acquire() }
        waiter.cancel()
        await #expect(throws: CancellationError.self) { try await waiter.value }
        limit.release()
        // The slot went back to the pool, not to the cancelled waiter.
        try await limit.acquire()
    }
}
