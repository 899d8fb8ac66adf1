import Foundation
import IngestionModel

/// When to poll one open ingestion request again: its first poll, the age rule, and the
/// window around the mapping's usual end. A pure function of the request's start, its last
/// poll and the mapping's `ExpectedEnd`; the caller supplies the instants and makes the calls.
/// How many calls a tenant may make at all is `CallBudget`'s business.
///
/// Rules, in short:
/// - the first poll is due as soon as the request is known (right after its trigger, or
///   when it is tracked), as the collector always did; the second `interval` after it;
/// - the age rule: after a poll made when the request was `age` old, the next one comes
///   `age / 10` later, never sooner than `interval` nor later than `maximum`. The end of a
///   request is therefore seen at most a tenth of its age late, and never more than
///   `maximum` late; a request younger than 10 × `interval` (5 min by default) is polled
///   every `interval`, as with fixed polling;
/// - the window: between the `ExpectedEnd`'s earliest and latest ages the request is
///   polled every `interval`; when the age rule would step over the window's start, the
///   poll is made at the start instead.
///
/// No gap is ever longer than the age rule's, so the window only makes ends seen sooner.
/// Fixed polling is the special case `maximum == interval` (see `fixed(every:)`).
public struct PollSchedule: Sendable, Equatable {
    /// `collector.poll_interval`: the shortest gap between polls.
    public var interval: Duration
    /// `collector.poll_interval_max`: the longest gap. A value below `interval` is read as
    /// `interval`.
    public var maximum: Duration
    /// How many polls at `interval` a window spans at most (see `expectedEnd(from:)`), so
    /// that history costs at most about that many calls per request more than the age rule.
    public var maximumWindowPolls = 20

    /// A request's age at its last poll is divided by this to give the next gap: the
    /// largest share of its age by which the end of a request is seen late.
    public static let agePerGap = 10

    public init(interval: Duration = .seconds(30), maximum: Duration = .seconds(300)) {
        self.interval = interval
        self.maximum = maximum
    }

    /// Polling every `interval` whatever the age: what the collector did before this schedule.
    public static func fixed(every interval: Duration) -> PollSchedule {
        PollSchedule(interval: interval, maximum: interval)
    }

    /// The instant of a request's next poll: `startedAt` when it was never polled (due at
    /// once), else its last poll plus `gap(afterPollAtAge:expecting:)`. It may be in the
    /// past (a request adopted late, or polls missed while the exporter was down): then the
    /// poll is due at once. A last poll recorded before the start (the clock was set back)
    /// counts as made at age 0.
    public func nextPoll(startedAt: Date, lastPolledAt: Date?, expecting window: ExpectedEnd? = nil) -> Date {
        guard let lastPolledAt else { return startedAt }
        let age = Duration.seconds(max(0, lastPolledAt.timeIntervalSince(startedAt)))
        return lastPolledAt + gap(afterPollAtAge: age, expecting: window)
    }

    /// Whether the request's next poll is due at `now`.
    public func isDue(startedAt: Date, lastPolledAt: Date?, expecting window: ExpectedEnd? = nil, now: Date) -> Bool {
        nextPoll(startedAt: startedAt, lastPolledAt: lastPolledAt, expecting: window) <= now
    }

    /// The wait after a poll made when the request was `age` old (nil: before its first poll).
    public func gap(afterPollAtAge age: Duration?, expecting window: ExpectedEnd? = nil) -> Duration {
        guard let age else { return interval }
        let ageRule = ageRuleGap(afterPollAtAge: age)
        guard let window else { return ageRule }
        if age >= window.earliestAge && age < window.latestAge { return interval }
        if age < window.earliestAge && age + ageRule > window.earliestAge {
            return max(window.earliestAge - age, interval)
        }
        return ageRule
    }

    /// The age rule alone: `age / 10`, within `interval`…`maximum`.
    func ageRuleGap(afterPollAtAge age: Duration) -> Duration {
        max(interval, min(age / Self.agePerGap, maximum))
    }
}

/// The ages (time since a request started) between which a mapping's requests usually end,
/// where `PollSchedule` polls every `interval`. Made from the mapping's recent durations by
/// `PollSchedule.expectedEnd(from:)`.
public struct ExpectedEnd: Sendable, Equatable, CustomStringConvertible {
    public var earliestAge: Duration
    public var latestAge: Duration

    public init(earliestAge: Duration, latestAge: Duration) {
        self.earliestAge = earliestAge
        self.latestAge = max(latestAge, earliestAge)
    }

    public var description: String {
        "\(DurationText.format(earliestAge))…\(DurationText.format(latestAge))"
    }
}
