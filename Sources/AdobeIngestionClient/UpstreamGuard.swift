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
    }

    private enum Mode: Sendable {
        case normal
        case paused(until: Date)
        case broken(until: Date, backoff: Duration)
        /// One call is out to see whether the tenant answers again.
        case probing(afterBreaker: Duration?)
    }

    private struct State: Sendable {
        var mode = Mode.normal
        var consecutiveFailures = 0
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
    public var hold: Hold? { room.read(Self.hold) }

    /// Whether a call admitted earlier may still go now: a pause or a breaker that
    /// began while it waited for its turn (rate, concurrency) holds it again. The
    /// probe always may.
    public func stillAdmits(_ admission: Admission) -> Bool {
        admission == .probe || room.read { if case .normal = $0.mode { return true } else { return false } }
    }

    /// How a call was let through.
    public enum Admission: Sendable, Equatable {
        case regular
        /// The one call sent to see whether the tenant answers again.
        case probe
    }

    /// Returns when a call may be sent: at once normally; after the pause, or after the
    /// probe's answer, when throttled. Throws `.circuitOpen` while the breaker is open
    /// and `.cancelled` when the caller is.
    @discardableResult
    public func admit() async throws(AdobeAPIError) -> Admission {
        while true {
            let now = time.now()
            var pausedUntil: Date?
            var refusal: AdobeAPIError?
            var becameProbe = false
            do {
                try await room.enter { state in
                    switch state.mode {
                    case .normal:
                        return .proceed
                    case .paused(let until) where now < until:
                        pausedUntil = until
                        return .proceed
                    case .broken(let until, _) where now < until:
                        refusal = .circuitOpen(until: until)
                        return .proceed
                    case .paused:
                        state.mode = .probing(afterBreaker: nil)
                        becameProbe = true
                        return .proceed
                    case .broken(_, let backoff):
                        state.mode = .probing(afterBreaker: backoff)
                        becameProbe = true
                        return .proceed
                    case .probing(.some):
                        refusal = .circuitOpen(until: nil)  // its probe is out: no second call meanwhile
                        return .proceed
                    case .probing(nil):
                        return .park(())  // the probe's answer decides
                    }
                }
            } catch {
                throw .cancelled
            }
            if let refusal { throw refusal }
            if becameProbe {
                changed(hold)
                return .probe
            }
            guard let pausedUntil else { return .regular }
            do { try await time.sleep(until: pausedUntil) } catch { throw .cancelled }
        }
    }

    /// What an attempt came to.
    public func record(_ outcome: AttemptOutcome) {
        let now = time.now()
        var before: Hold?
        var after: Hold?
        room.update { state, waiting in
            before = Self.hold(state)
            switch outcome {
            case .answered:
                state.consecutiveFailures = 0
                if case .probing = state.mode { state.mode = .normal }
            case .throttled(let retryAfter):
                let pause = min(retryAfter ?? policy.defaultPause, policy.maximumPause)
                state.mode = .paused(until: now + pause)
            case .failed:
                state.consecutiveFailures += 1
                if case .probing(let backoff?) = state.mode {
                    let next = min(backoff * 2, policy.breakerMaximum)
                    state.mode = .broken(until: now + next, backoff: next)
                } else if state.consecutiveFailures >= policy.failuresToOpen, Self.hold(state) == nil {
                    state.mode = .broken(until: now + policy.breakerInitial, backoff: policy.breakerInitial)
                }
            }
            after = Self.hold(state)
            // Parked callers look again at the new mode.
            return Array(waiting.indices)
        }
        if before != after { changed(after) }
    }

    private static func hold(_ state: State) -> Hold? {
        switch state.mode {
        case .paused(let until): return .throttled(until: until)
        case .broken(let until, _): return .breakerOpen(until: until)
        case .normal, .probing: return nil
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
}
