import Foundation
import IngestionModel
import Synchronization

/// One tenant's manners towards Adobe, shared by every call of that tenant (polls,
/// triggers and token requests alike):
/// - a 429 pauses every call until its `Retry-After` (or a default pause), then one
///   call goes first as a probe and the others wait for its answer, so a throttled
///   tenant sends one call per pause instead of a burst;
/// - repeated server errors, time-outs or lost connections open a breaker: calls fail
///   at once (no request is sent) until its back-off has passed, then one probe call
///   goes; another failure doubles the back-off.
/// Other tenants are not concerned: each has its own guard.
///
/// A probe is a tracked admission: whatever ends it settles the guard (see
/// `Transitions`), so callers never wait on a probe that is not out.
public final class UpstreamGuard: Sendable {
    public struct Policy: Sendable {
        /// Consecutive transient failures that open the breaker.
        public var failuresToOpen = 3
        public var breakerInitial: Duration = .seconds(30)
        public var breakerMaximum: Duration = .seconds(600)
        /// A 429 without Retry-After pauses this long.
        public var defaultPause: Duration = .seconds(30)
        /// A longer Retry-After is cut to this.
        public var maximumPause: Duration = .seconds(3600)
        public init() {}
    }

    /// Why calls are held, and until when.
    public enum Hold: Sendable, Equatable {
        case throttled(until: Date)
        case breakerOpen(until: Date)

        public var until: Date {
            switch self {
            case .throttled(let until), .breakerOpen(let until): return until
            }
        }
    }

    /// How a call was let through.
    public enum Admission: Sendable, Equatable {
        case regular
        /// The one call sent to see whether the tenant answers again; its number tells
        /// it from a later probe.
        case probe(UInt64)
    }

    /// What the guard does with calls.
    public enum Mode: Sendable, Equatable {
        case normal
        /// A 429 asked to wait `length`, until `until`.
        case paused(until: Date, length: Duration)
        /// The breaker is open until `until`; the next probe's failure doubles `backoff`.
        case broken(until: Date, backoff: Duration)
        /// Probe number `probe` is out; the others wait for its answer (after a pause)
        /// or fail at once (after the breaker). `after` is what it probes.
        case probing(probe: UInt64, after: Probed)
    }

    /// What a probe was sent after.
    public enum Probed: Sendable, Equatable {
        case pause(Duration)
        case breaker(backoff: Duration)
    }

    /// The guard's whole state.
    public struct State: Sendable, Equatable, CustomStringConvertible {
        public var mode = Mode.normal
        public var consecutiveFailures = 0
        /// The number of the last probe sent.
        public var probes: UInt64 = 0
        public init(mode: Mode = .normal, consecutiveFailures: Int = 0, probes: UInt64 = 0) {
            (self.mode, self.consecutiveFailures, self.probes) = (mode, consecutiveFailures, probes)
        }

        /// In words, for a log line: `calls paused until 2026-…`, `probe 3 out after a pause`.
        public var description: String {
            let mode: String
            switch self.mode {
            case .normal: mode = "calls go"
            case .paused(let until, _): mode = "calls paused until \(Timestamp.rfc3339(until))"
            case .broken(let until, _): mode = "breaker open until \(Timestamp.rfc3339(until))"
            case .probing(let probe, .pause): mode = "probe \(probe) out after a pause"
            case .probing(let probe, .breaker): mode = "probe \(probe) out after the breaker"
            }
            return "\(mode), \(consecutiveFailures) consecutive failures"
        }
    }

    /// What a caller asking to send is told.
    public enum Entry: Sendable, Equatable {
        case send(Admission)
        /// Wait until the pause ends, then ask again.
        case sleep(until: Date)
        /// Wait for the probe's answer, then ask again.
        case park
        /// Fail now with this error (no request is sent).
        case refuse(AdobeAPIError)
    }

    private let room: WaitingRoom<State, Void>
    private let policy: Policy
    private let time: any TimeSource
    private let changed: @Sendable (Hold?) -> Void

    /// `changed` is told whenever calls start or stop being held (for metrics and logs).
    public init(policy: Policy = Policy(), time: any TimeSource, changed: @escaping @Sendable (Hold?) -> Void = { _ in }) {
        self.room = WaitingRoom(State())
        self.policy = policy
        self.time = time
        self.changed = changed
    }

    /// Until when calls are held, if they are.
    public var hold: Hold? { room.read { Transitions.hold($0.mode) } }

    /// The guard's state, for a log line or a test.
    public var state: State { room.read { $0 } }

    /// Calls parked until the probe's answer.
    public var parkedCalls: Int { room.parkedCount }

    /// Whether a call admitted earlier may still go now: a pause or a breaker that
    /// began while it waited for its turn (rate, concurrency) holds it again; a probe
    /// goes while it is still the one out.
    public func stillAdmits(_ admission: Admission) -> Bool {
        room.read { Transitions.stillAdmits(admission, $0) }
    }

    /// Returns when a call may be sent: at once normally; after the pause, or after the
    /// probe's answer, when throttled. Throws `.circuitOpen` while the breaker is open
    /// and `.cancelled` when the caller is. Every admission returned must be ended
    /// with `finish(_:_:)`, whatever becomes of the call.
    public func admit() async throws(AdobeAPIError) -> Admission {
        while true {
            let now = time.now()
            var entry = Entry.park
            var before: Hold?
            var after: Hold?
            do {
                try await room.enter { state in
                    before = Transitions.hold(state.mode)
                    entry = Transitions.enter(&state, now: now)
                    after = Transitions.hold(state.mode)
                    return entry == .park ? .park(()) : .proceed
                }
            } catch {
                throw .cancelled
            }
            switch entry {
            case .send(let admission):
                if before != after { changed(after) }
                return admission
            case .refuse(let error):
                throw error
            case .sleep(let until):
                do { try await time.sleep(until: until) } catch { throw .cancelled }
            case .park:
                continue  // let in by a change: look again
            }
        }
    }

    /// Ends an admitted call with what its attempt came to, or with nil when no attempt
    /// was made or it came to nothing the guard can judge (cancelled, refused before
    /// sending, an error thrown before or during the attempt).
    public func finish(_ admission: Admission, _ outcome: AttemptOutcome?) {
        let now = time.now()
        var before: Hold?
        var after: Hold?
        room.update { state, waiting in
            before = Transitions.hold(state.mode)
            Transitions.finish(&state, admission, outcome, now: now, policy: policy)
            after = Transitions.hold(state.mode)
            // Parked callers look again at the new mode.
            return Array(waiting.indices)
        }
        if before != after { changed(after) }
    }

    /// The guard's transitions, as pure functions of its state: every way a call can
    /// enter (`enter`) and every way an admitted call can end (`finish`).
    ///
    /// | mode | a caller enters | the probe ends: answered | throttled | failed | nothing |
    /// |---|---|---|---|---|---|
    /// | normal | sends | (regular calls) failures reset | paused | failures +1; breaker at `failuresToOpen` | — |
    /// | paused, before its end | sleeps until it | | | | |
    /// | paused, ended | sends as the probe: probing(after: pause) | | | | |
    /// | broken, before its end | refused: circuit open | | | | |
    /// | broken, ended | sends as the probe: probing(after: breaker) | | | | |
    /// | probing after a pause | parks | normal | paused anew | paused as long again (at most `breakerInitial`); breaker at `failuresToOpen` | paused, ended: the next caller probes |
    /// | probing after the breaker | refused: circuit open | normal | paused | broken, back-off doubled | broken, ended: the next caller probes |
    ///
    /// A regular call that ends while a probe is out: answered makes the mode normal
    /// (the API answered), throttled pauses anew, failed counts a failure; in each case
    /// the probe's own end no longer changes the mode (it is not the one out).
    public enum Transitions {
        public static func enter(_ state: inout State, now: Date) -> Entry {
            switch state.mode {
            case .normal:
                return .send(.regular)
            case .paused(let until, _) where now < until:
                return .sleep(until: until)
            case .broken(let until, _) where now < until:
                return .refuse(.circuitOpen(until: until))
            case .paused(_, let length):
                return .send(sendProbe(&state, after: .pause(length)))
            case .broken(_, let backoff):
                return .send(sendProbe(&state, after: .breaker(backoff: backoff)))
            case .probing(_, .breaker):
                return .refuse(.circuitOpen(until: nil))  // its probe is out: no second call meanwhile
            case .probing(_, .pause):
                return .park  // the probe's answer decides
            }
        }

        private static func sendProbe(_ state: inout State, after probed: Probed) -> Admission {
            state.probes += 1
            state.mode = .probing(probe: state.probes, after: probed)
            return .probe(state.probes)
        }

        public static func stillAdmits(_ admission: Admission, _ state: State) -> Bool {
            switch (admission, state.mode) {
            case (.regular, .normal): return true
            case (.probe(let number), .probing(let out, _)): return number == out
            default: return false
            }
        }

        public static func finish(_ state: inout State, _ admission: Admission, _ outcome: AttemptOutcome?,
                                  now: Date, policy: Policy) {
            let probed: Probed?
            if case .probe(let number) = admission, case .probing(number, let after) = state.mode {
                probed = after
            } else {
                probed = nil  // a regular call, or a probe no longer the one out
            }
            switch outcome {
            case .answered?:
                state.consecutiveFailures = 0
                if case .probing = state.mode { state.mode = .normal }
            case .throttled(let retryAfter)?:
                let pause = min(retryAfter ?? policy.defaultPause, policy.maximumPause)
                state.mode = .paused(until: now + pause, length: pause)
            case .failed?:
                state.consecutiveFailures += 1
                switch probed {
                case .breaker(let backoff)?:
                    let next = min(backoff * 2, policy.breakerMaximum)
                    state.mode = .broken(until: now + next, backoff: next)
                case .pause(let length)?:
                    // As long again, but no longer than the breaker's first back-off: a failure is
                    // not a 429, and an hour's Retry-After is not to be repeated for a 503.
                    let again = min(length, policy.breakerInitial)
                    state.mode = state.consecutiveFailures >= policy.failuresToOpen
                        ? .broken(until: now + policy.breakerInitial, backoff: policy.breakerInitial)
                        : .paused(until: now + again, length: again)
                case nil:
                    if case .normal = state.mode, state.consecutiveFailures >= policy.failuresToOpen {
                        state.mode = .broken(until: now + policy.breakerInitial, backoff: policy.breakerInitial)
                    }
                }
            case nil:
                // No answer to judge by: the probe is no longer out, and the next caller probes.
                switch probed {
                case .pause(let length)?: state.mode = .paused(until: now, length: length)
                case .breaker(let backoff)?: state.mode = .broken(until: now, backoff: backoff)
                case nil: break
                }
            }
        }

        /// Until when a mode holds calls, if it does.
        public static func hold(_ mode: Mode) -> Hold? {
            switch mode {
            case .paused(let until, _): return .throttled(until: until)
            case .broken(let until, _): return .breakerOpen(until: until)
            case .normal, .probing: return nil
            }
        }
    }
}

/// What one HTTP attempt came to, for the guard.
public enum AttemptOutcome: Sendable, Equatable {
    /// An answer that says the API works (any status but 429 and 5xx).
    case answered
    case throttled(retryAfter: Duration?)
    /// A server error, a time-out or a lost connection.
    case failed

    /// What an answer's status says (429 and 5xx may carry a `Retry-After`).
    public init(status: Int, retryAfter: Duration?) {
        switch status {
        case 429: self = .throttled(retryAfter: retryAfter)
        case 500..<600: self = .failed
        default: self = .answered
        }
    }

    /// What an attempt came to, or nil when it says nothing of the API (cancelled,
    /// refused before sending, a body over the size limit).
    init?(_ result: Result<RawResponse, AdobeAPIError>, now: Date) {
        switch result {
        case .success(let response):
            self.init(status: response.status,
                      retryAfter: RetryAfter.parse(response.headers.first(name: "retry-after"), now: now))
        case .failure(.timeout), .failure(.connectionFailed):
            self = .failed
        case .failure:
            return nil
        }
    }
}
