import AdobeIngestionClient
import Foundation
import IngestionModel
import Synchronization
import Testing
import TestSupport
@testable import IngestionCollector

/// Every way an admitted call can end, through the tenant's gate: the guard is
/// settled each time, so that the calls parked behind a probe go on.
@Suite("Upstream guard through the tenant's gate")
struct UpstreamGuardGateTests {
    final class Setup: Sendable {
        let time = ManualTimeSource()
        let slots = ConcurrencyLimit(1)
        let upstream: UpstreamGuard
        let gate: TenantGate
        /// When set, the next attempt is refused before sending (as when the worker is finishing).
        let refuseNext = Switch()
        private let holding = Switch()

        init() {
            upstream = UpstreamGuard(time: time)
            var gate = TenantGate(concurrency: slots, rate: RateLimiter(ratePerSecond: 1000, time: time), upstream: upstream)
            let refuseNext = refuseNext
            gate.mayAttempt = { !refuseNext.take() }
            self.gate = gate
        }

        /// One attempt through the gate whose body answers `outcome` (nil: nothing to judge).
        func send(_ outcome: AttemptOutcome?, body: @escaping @Sendable () async throws(AdobeAPIError) -> Void = {})
            async throws(AdobeAPIError) -> AttemptOutcome? {
            try await gate.withPermit(for: .status, judge: { result in
                if case .success(let outcome) = result { return outcome } else { return nil }
            }) { () async throws(AdobeAPIError) -> AttemptOutcome? in
                try await body()
                return outcome
            }
        }

        /// A 429 with Retry-After 1 s, then the second passes: the next call is the probe.
        func pauseEnded() async throws {
            _ = try await send(.throttled(retryAfter: .seconds(1)))
            time.advance(by: .seconds(1))
        }

        /// Takes the only slot: a call admitted by the guard then waits for its turn.
        func holdSlot() async throws {
            try await slots.acquire()
            holding.set()
        }

        /// Gives the slot back, if the test holds it.
        func releaseSlot() {
            if holding.take() { slots.release() }
        }

        func probeOut(_ number: UInt64) -> Bool {
            if case .probing(number, _) = upstream.state.mode { return true } else { return false }
        }
    }

    /// A flag set once and taken once.
    final class Switch: Sendable {
        private let on = Atomic<Bool>(false)
        func set() { on.store(true, ordering: .relaxed) }
        /// Whether it was set; unset afterwards.
        func take() -> Bool { on.exchange(false, ordering: .relaxed) }
    }

    /// The call parked behind a probe that never gets to send goes on as the next probe.
    func parkedCallGoesOn(after end: (Setup, Task<AttemptOutcome?, any Error>) async throws -> Void,
                          holdSlot: Bool = true, body: @escaping @Sendable () async throws(AdobeAPIError) -> Void = {})
        async throws {
        let setup = Setup()
        try await setup.pauseEnded()
        if holdSlot { try await setup.holdSlot() }
        let probe = Task { try await setup.send(.answered, body: body) }
        try await eventually("the first call is the probe") { setup.probeOut(1) }
        let parked = Task { try await setup.send(.answered) }
        defer { parked.cancel() }  // a test that fails leaves no call parked
        try await eventually("the second call parked behind the probe") { setup.upstream.parkedCalls == 1 }
        try await end(setup, probe)
        try await eventually("the parked call becomes the next probe") { setup.upstream.state.probes == 2 }
        setup.releaseSlot()
        try await eventually("the parked call answered") { setup.upstream.state.mode == .normal }
        #expect(try await parked.value == .answered)
    }

    @Test func aProbeCancelledBeforeItsAttempt() async throws {
        // The probe waits for the only slot (the test holds it) and is cancelled there.
        try await parkedCallGoesOn { _, probe in
            probe.cancel()
            await #expect(throws: AdobeAPIError.cancelled) { try await probe.value }
        }
    }

    @Test func aProbeCancelledDuringItsAttempt() async throws {
        // The probe's request is on its way (its body sleeps an hour) when it is cancelled.
        let started = Gate()
        let time = ManualTimeSource()
        try await parkedCallGoesOn(after: { _, probe in
            try await eventually("the probe's request is on its way") { started.isOpen }
            probe.cancel()
            await #expect(throws: AdobeAPIError.cancelled) { try await probe.value }
        }, holdSlot: false, body: { () async throws(AdobeAPIError) in
            started.open()
            do { try await time.sleep(for: .seconds(3600)) } catch { throw .cancelled }
        })
    }

    @Test func aProbeRefusedBeforeSending() async throws {
        // The worker is finishing when the probe's turn comes: it is refused, and ends as cancelled.
        try await parkedCallGoesOn { setup, probe in
            setup.refuseNext.set()
            setup.releaseSlot()
            await #expect(throws: AdobeAPIError.cancelled) { try await probe.value }
        }
    }

    @Test func aProbeThatThrowsBeforeItsRequest() async throws {
        // The body fails before anything is sent (a request it cannot build, a token it cannot get).
        try await parkedCallGoesOn(after: { setup, probe in
            setup.releaseSlot()
            await #expect(throws: AdobeAPIError.missingField("requestId")) { try await probe.value }
        }, body: { () async throws(AdobeAPIError) in throw .missingField("requestId") })
    }

    /// The stall of issue 25 at the gate: a 429, then the probe fails (a 503). The parked
    /// call goes after another pause as long as the first, as the next probe.
    @Test func aProbeThatFailsAfterAPause() async throws {
        let setup = Setup()
        try await setup.pauseEnded()
        try await setup.holdSlot()
        let probe = Task { try await setup.send(.failed) }
        try await eventually("the first call is the probe") { setup.probeOut(1) }
        let parked = Task { try await setup.send(.answered) }
        defer { parked.cancel() }
        try await eventually("the second call parked behind the probe") { setup.upstream.parkedCalls == 1 }
        setup.releaseSlot()
        #expect(try await probe.value == .failed)
        let pausedAgain = UpstreamGuard.Mode.paused(until: setup.time.now().addingTimeInterval(1), length: .seconds(1))
        #expect(setup.upstream.state.mode == pausedAgain)
        setup.time.advance(by: .seconds(1))
        try await eventually("the parked call sent as the next probe and answered") {
            setup.upstream.state.mode == .normal && setup.upstream.state.probes == 2
        }
        #expect(try await parked.value == .answered)
    }
}
