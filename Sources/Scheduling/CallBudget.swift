import Foundation
import IngestionModel

/// What a call to Adobe is for, as the budget ranks it.
public enum CallKind: String, Sendable, Hashable, CaseIterable {
    /// A POST that starts an ingestion.
    case trigger
    /// A token request to IMS.
    case token
    /// A status GET of an open request.
    case poll
    /// Any other call, such as one an operator asked for.
    case other

    /// Polls give way: a later poll still sees the same end, while a trigger, a token or
    /// a person's request put off is a run, or an answer, late.
    public var yieldsToOtherCalls: Bool { self == .poll }
}

/// One credential's `max_calls_per_hour`: a token bucket that spreads the calls over the
/// hour and never lets more than the budget through in any hour window. A pure value: the
/// caller asks before each call, sleeps until `earliestCall(_:from:)` when refused, and
/// records the calls it makes.
///
/// - The bucket holds `burst` calls (a minute's share of the budget, at least 2 and at most
///   10) and refills at `callsPerHour - burst` per hour, one call every `spacing`. In any
///   hour at most `burst` calls are in the bucket at its start and `callsPerHour - burst`
///   come in during it, so no hour window, wherever it starts, holds more than `callsPerHour`.
///   The price: a tenant that is always short of calls gets `callsPerHour - burst` an hour
///   (590 of 600; 1.7 % less from 120 calls an hour up).
/// - Polls yield: a poll goes only when it leaves one call in the bucket, kept for a
///   trigger, a token request or a person's call. When the budget binds, polls go at the
///   refill rate and a trigger finds that call waiting.
/// - Among polls, fairness is the caller's choice of which request to poll; see
///   `longestUnpolled(among:startedAt:lastPolledAt:)`.
///
/// It is full at start: the budget counts the calls of this process only (another replica's
/// or an earlier run's calls are not known to it).
public struct CallBudget: Sendable, Equatable {
    /// The smallest budget accepted: a burst of 2 and 8 calls an hour after it. (A trigger
    /// alone takes a token request, the POST and its polls.)
    public static let minimumCallsPerHour = 10

    public let callsPerHour: Int
    /// How many calls may go back to back after a quiet spell.
    public let burst: Int
    /// The time the bucket takes to refill by one call: an hour over `callsPerHour - burst`.
    public let spacing: Duration
    /// When the bucket is full again, as counted from the calls recorded: `fullAfter` past
    /// `origin`, the first call since the bucket was last full (nil: no call yet). An exact
    /// `Duration` rather than a `Date`, so that calls `spacing` apart add up exactly.
    private var origin: Date?
    private var fullAfter = Duration.zero

    /// Nil below `minimumCallsPerHour`.
    public init?(callsPerHour: Int) {
        guard callsPerHour >= Self.minimumCallsPerHour else { return nil }
        self.callsPerHour = callsPerHour
        burst = min(max(callsPerHour / 60, 2), 10)
        spacing = .seconds(3600) / (callsPerHour - burst)
    }

    /// Whether a call of `kind` may go at `now`.
    public func allowsCall(_ kind: CallKind, at now: Date) -> Bool {
        earliestCall(kind, from: now) <= now
    }

    /// The first instant, `now` or later, at which a call of `kind` may go (`now` when it
    /// may go at once), if no other call is recorded meanwhile.
    public func earliestCall(_ kind: CallKind, from now: Date) -> Date {
        guard let origin else { return now }
        // Calls left at t: burst - (fullAfter - t) / spacing. A call needs one; a poll
        // needs two, so that it leaves one behind.
        let callsToLeave = kind.yieldsToOtherCalls ? 1 : 0
        let allowedAfter = fullAfter - spacing * (burst - 1 - callsToLeave)
        return allowedAfter <= elapsed(from: origin, to: now) ? now : origin + allowedAfter
    }

    /// Takes a call made at `now` from the bucket. A call made without asking still counts:
    /// the bucket goes into debt and the calls after it wait until it is paid back.
    public mutating func recordCall(at now: Date) {
        if let origin, fullAfter > elapsed(from: origin, to: now) {
            fullAfter += spacing
        } else {
            (origin, fullAfter) = (now, spacing)
        }
    }

    /// How many calls are in the bucket at `now` (negative in debt): for a gauge.
    public func availableCalls(at now: Date) -> Double {
        guard let origin else { return Double(burst) }
        let owed = fullAfter - elapsed(from: origin, to: now)
        return owed > .zero ? Double(burst) - owed / spacing : Double(burst)
    }

    private func elapsed(from origin: Date, to now: Date) -> Duration {
        .seconds(now.timeIntervalSince(origin))
    }
}
