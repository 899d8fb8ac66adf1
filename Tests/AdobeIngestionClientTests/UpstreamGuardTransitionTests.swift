import AdobeIngestionClient
import Foundation
import IngestionModel
import Testing

/// The upstream guard's transitions, row by row (see `UpstreamGuard.Transitions`),
/// and the invariant they keep over any sequence: the guard never waits on a probe
/// that is not out.
@Suite("Upstream guard transitions")
struct UpstreamGuardTransitionTests {
    typealias State = UpstreamGuard.State
    typealias T = UpstreamGuard.Transitions

    static let t0 = Date(timeIntervalSince1970: 1_700_000_000)
    static func at(_ seconds: Int) -> Date { t0.addingTimeInterval(TimeInterval(seconds)) }
    static let policy = UpstreamGuard.Policy()

    // MARK: - A caller enters

    struct EnterRow: Sendable, CustomTestStringConvertible {
        let name: String
        let before: State
        let now: Date
        let entry: UpstreamGuard.Entry
        let after: State
        var testDescription: String { name }
    }

    static let enterRows: [EnterRow] = [
        EnterRow(name: "normal: sends", before: State(), now: at(0), entry: .send(.regular), after: State()),
        EnterRow(name: "paused, before its end: sleeps until it",
                 before: State(mode: .paused(until: at(10), length: .seconds(10))), now: at(9),
                 entry: .sleep(until: at(10)), after: State(mode: .paused(until: at(10), length: .seconds(10)))),
        EnterRow(name: "paused, ended: sends as the probe",
                 before: State(mode: .paused(until: at(10), length: .seconds(10)), probes: 4), now: at(10),
                 entry: .send(.probe(5)), after: State(mode: .probing(probe: 5, after: .pause(.seconds(10))), probes: 5)),
        EnterRow(name: "broken, before its end: refused",
                 before: State(mode: .broken(until: at(30), backoff: .seconds(30)), consecutiveFailures: 3), now: at(29),
                 entry: .refuse(.circuitOpen(until: at(30))),
                 after: State(mode: .broken(until: at(30), backoff: .seconds(30)), consecutiveFailures: 3)),
        EnterRow(name: "broken, ended: sends as the probe",
                 before: State(mode: .broken(until: at(30), backoff: .seconds(30)), consecutiveFailures: 3), now: at(31),
                 entry: .send(.probe(1)),
                 after: State(mode: .probing(probe: 1, after: .breaker(backoff: .seconds(30))), consecutiveFailures: 3, probes: 1)),
        EnterRow(name: "probing after a pause: parks",
                 before: State(mode: .probing(probe: 1, after: .pause(.seconds(10))), probes: 1), now: at(100),
                 entry: .park, after: State(mode: .probing(probe: 1, after: .pause(.seconds(10))), probes: 1)),
        EnterRow(name: "probing after the breaker: refused",
                 before: State(mode: .probing(probe: 1, after: .breaker(backoff: .seconds(30))), probes: 1), now: at(100),
                 entry: .refuse(.circuitOpen(until: nil)),
                 after: State(mode: .probing(probe: 1, after: .breaker(backoff: .seconds(30))), probes: 1)),
    ]

    @Test(arguments: enterRows)
    func aCallerEnters(_ row: EnterRow) {
        var state = row.before
        #expect(T.enter(&state, now: row.now) == row.entry)
        #expect(state == row.after)
    }

    // MARK: - An admitted call ends

    struct FinishRow: Sendable, CustomTestStringConvertible {
        let name: String
        let before: State
        let admission: UpstreamGuard.Admission
        let outcome: AttemptOutcome?
        let after: State
        var testDescription: String { name }
    }

    static let afterPause = State(mode: .probing(probe: 1, after: .pause(.seconds(10))), probes: 1)
    static let afterBreaker = State(mode: .probing(probe: 1, after: .breaker(backoff: .seconds(30))), consecutiveFailures: 3,
                                    probes: 1)
    static let paused = State(mode: .paused(until: at(10), length: .seconds(10)), consecutiveFailures: 2)
    static let broken = State(mode: .broken(until: at(30), backoff: .seconds(30)), consecutiveFailures: 3)

    static func with(_ state: State, mode: UpstreamGuard.Mode? = nil, failures: Int? = nil) -> State {
        State(mode: mode ?? state.mode, consecutiveFailures: failures ?? state.consecutiveFailures, probes: state.probes)
    }

    static let finishRows: [FinishRow] = [
        // Regular calls in normal mode.
        FinishRow(name: "normal, answered: failures reset", before: State(consecutiveFailures: 2), admission: .regular,
                  outcome: .answered, after: State()),
        FinishRow(name: "normal, throttled: paused for Retry-After", before: State(), admission: .regular,
                  outcome: .throttled(retryAfter: .seconds(5)), after: State(mode: .paused(until: at(5), length: .seconds(5)))),
        FinishRow(name: "normal, throttled without Retry-After: the default pause", before: State(), admission: .regular,
                  outcome: .throttled(retryAfter: nil), after: State(mode: .paused(until: at(30), length: .seconds(30)))),
        FinishRow(name: "normal, throttled for two hours: cut to the maximum", before: State(), admission: .regular,
                  outcome: .throttled(retryAfter: .seconds(7200)),
                  after: State(mode: .paused(until: at(3600), length: .seconds(3600)))),
        FinishRow(name: "normal, failed: counted", before: State(), admission: .regular, outcome: .failed,
                  after: State(consecutiveFailures: 1)),
        FinishRow(name: "normal, third failure in a row: breaker opens", before: State(consecutiveFailures: 2),
                  admission: .regular, outcome: .failed,
                  after: State(mode: .broken(until: at(30), backoff: .seconds(30)), consecutiveFailures: 3)),
        FinishRow(name: "normal, no outcome: unchanged", before: State(consecutiveFailures: 1), admission: .regular,
                  outcome: nil, after: State(consecutiveFailures: 1)),
        // The probe after a pause.
        FinishRow(name: "probe after a pause, answered: normal", before: afterPause, admission: .probe(1), outcome: .answered,
                  after: with(afterPause, mode: .normal)),
        FinishRow(name: "probe after a pause, throttled: paused anew", before: afterPause, admission: .probe(1),
                  outcome: .throttled(retryAfter: .seconds(20)),
                  after: with(afterPause, mode: .paused(until: at(20), length: .seconds(20)))),
        FinishRow(name: "probe after a pause, failed: paused as long again (the stall of issue 25)", before: afterPause,
                  admission: .probe(1), outcome: .failed,
                  after: with(afterPause, mode: .paused(until: at(10), length: .seconds(10)), failures: 1)),
        FinishRow(name: "probe after an hour's pause, failed: paused for the breaker's first back-off, not another hour",
                  before: with(afterPause, mode: .probing(probe: 1, after: .pause(.seconds(3600)))), admission: .probe(1),
                  outcome: .failed, after: with(afterPause, mode: .paused(until: at(30), length: .seconds(30)), failures: 1)),
        FinishRow(name: "probe after a pause, third failure in a row: breaker opens", before: with(afterPause, failures: 2),
                  admission: .probe(1), outcome: .failed,
                  after: with(afterPause, mode: .broken(until: at(30), backoff: .seconds(30)), failures: 3)),
        FinishRow(name: "probe after a pause, no outcome (cancelled, refused, thrown): the pause is over, the next caller probes",
                  before: afterPause, admission: .probe(1), outcome: nil,
                  after: with(afterPause, mode: .paused(until: at(0), length: .seconds(10)))),
        // The probe after the breaker.
        FinishRow(name: "probe after the breaker, answered: normal", before: afterBreaker, admission: .probe(1),
                  outcome: .answered, after: with(afterBreaker, mode: .normal, failures: 0)),
        FinishRow(name: "probe after the breaker, throttled: paused", before: afterBreaker, admission: .probe(1),
                  outcome: .throttled(retryAfter: .seconds(5)),
                  after: with(afterBreaker, mode: .paused(until: at(5), length: .seconds(5)))),
        FinishRow(name: "probe after the breaker, failed: back-off doubled", before: afterBreaker, admission: .probe(1),
                  outcome: .failed, after: with(afterBreaker, mode: .broken(until: at(60), backoff: .seconds(60)), failures: 4)),
        FinishRow(name: "probe after a long breaker, failed: back-off at its maximum",
                  before: with(afterBreaker, mode: .probing(probe: 1, after: .breaker(backoff: .seconds(400)))),
                  admission: .probe(1), outcome: .failed,
                  after: with(afterBreaker, mode: .broken(until: at(600), backoff: .seconds(600)), failures: 4)),
        FinishRow(name: "probe after the breaker, no outcome: the breaker is over, the next caller probes",
                  before: afterBreaker, admission: .probe(1), outcome: nil,
                  after: with(afterBreaker, mode: .broken(until: at(0), backoff: .seconds(30)))),
        // A probe that is no longer the one out, and regular calls while one is.
        FinishRow(name: "an earlier probe, no outcome: unchanged", before: with(afterPause, mode: .probing(probe: 2, after: .pause(.seconds(10)))),
                  admission: .probe(1), outcome: nil, after: with(afterPause, mode: .probing(probe: 2, after: .pause(.seconds(10))))),
        FinishRow(name: "an earlier probe, failed: counted, the probe out decides",
                  before: with(afterPause, mode: .probing(probe: 2, after: .pause(.seconds(10)))), admission: .probe(1),
                  outcome: .failed, after: with(afterPause, mode: .probing(probe: 2, after: .pause(.seconds(10))), failures: 1)),
        FinishRow(name: "a regular call answered while a probe is out: normal", before: afterPause, admission: .regular,
                  outcome: .answered, after: with(afterPause, mode: .normal)),
        FinishRow(name: "a regular call throttled while a probe is out: paused anew", before: afterPause, admission: .regular,
                  outcome: .throttled(retryAfter: .seconds(3)),
                  after: with(afterPause, mode: .paused(until: at(3), length: .seconds(3)))),
        FinishRow(name: "a regular call failed while a probe is out: counted, the probe decides", before: afterPause,
                  admission: .regular, outcome: .failed, after: with(afterPause, failures: 1)),
        // Regular calls that were on their way when a pause or the breaker began.
        FinishRow(name: "paused, a call answered: still paused", before: paused, admission: .regular, outcome: .answered,
                  after: with(paused, failures: 0)),
        FinishRow(name: "paused, a third failure: counted, no breaker while held", before: paused, admission: .regular,
                  outcome: .failed, after: with(paused, failures: 3)),
        FinishRow(name: "broken, a call answered: still broken", before: broken, admission: .regular, outcome: .answered,
                  after: with(broken, failures: 0)),
        FinishRow(name: "broken, a call failed: counted", before: broken, admission: .regular, outcome: .failed,
                  after: with(broken, failures: 4)),
    ]

    @Test(arguments: finishRows)
    func anAdmittedCallEnds(_ row: FinishRow) {
        var state = row.before
        T.finish(&state, row.admission, row.outcome, now: Self.t0, policy: Self.policy)
        #expect(state == row.after)
    }

    @Test func aCallWaitingForItsTurnGoesOnlyWhileItsAdmissionHolds() {
        #expect(T.stillAdmits(.regular, State()))
        #expect(!T.stillAdmits(.regular, Self.paused))
        #expect(!T.stillAdmits(.regular, Self.afterPause))
        #expect(T.stillAdmits(.probe(1), Self.afterPause))
        #expect(!T.stillAdmits(.probe(1), Self.with(Self.afterPause, mode: .probing(probe: 2, after: .pause(.seconds(10))))))
        #expect(!T.stillAdmits(.probe(1), State()))
    }

    /// Random sequences of entries and ends (any admitted call ending any way, in any
    /// order, the clock moving on): whenever the guard parks or refuses callers for a
    /// probe, that probe is admitted and not yet ended.
    @Test(arguments: 1...20)
    func theGuardNeverWaitsOnAProbeThatIsNotOut(seed: UInt64) {
        var random = SeededRandom(seed: seed)
        var state = State()
        var now = Self.t0
        var outstanding: [UpstreamGuard.Admission] = []
        let outcomes: [AttemptOutcome?] = [.answered, .throttled(retryAfter: .seconds(2)), .throttled(retryAfter: nil), .failed, nil]
        for step in 0..<2_000 {
            switch random.next() % 3 {
            case 0:
                if case .send(let admission) = T.enter(&state, now: now) { outstanding.append(admission) }
            case 1 where !outstanding.isEmpty:
                let admission = outstanding.remove(at: Int(random.next() % UInt64(outstanding.count)))
                T.finish(&state, admission, outcomes[Int(random.next() % UInt64(outcomes.count))], now: now, policy: Self.policy)
            default:
                now = now.addingTimeInterval(TimeInterval(random.next() % 40))
            }
            if case .probing(let probe, _) = state.mode {
                #expect(outstanding.contains(.probe(probe)), "step \(step): probe \(probe) is not out, yet callers wait on it")
                if !outstanding.contains(.probe(probe)) { return }
            }
        }
    }
}
