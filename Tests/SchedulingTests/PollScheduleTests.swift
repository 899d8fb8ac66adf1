import Foundation
import IngestionModel
import Scheduling
import Testing

/// `poll_interval` 30 s and `poll_interval_max` 5 min, the defaults, in every test below.
private let schedule = PollSchedule(interval: .seconds(30), maximum: .seconds(300))
private let fixed = PollSchedule.fixed(every: .seconds(30))

/// A window of ages written as `55m...64m`.
private func window(_ text: String) -> ExpectedEnd {
    let bounds = text.components(separatedBy: "...")
    return ExpectedEnd(earliestAge: duration(bounds[0]), latestAge: duration(bounds[1]))
}

@Suite("Poll schedule")
struct PollScheduleTests {
    /// One row: a request polled last when it was `lastPollAge` old (nil: never polled) is
    /// polled again `gap` later.
    struct Gap: CustomTestStringConvertible, Sendable {
        let rule: String
        let lastPollAge: String?
        let window: String?
        let gap: String

        init(_ rule: String, lastPollAge: String?, window: String? = nil, gap: String) {
            (self.rule, self.lastPollAge, self.window, self.gap) = (rule, lastPollAge, window, gap)
        }

        var testDescription: String { rule }
    }

    static let gaps: [Gap] = [
        // The age rule, from seconds to days.
        Gap("never polled: the first poll is due at the start", lastPollAge: nil, gap: "0s"),
        Gap("10 s old: poll_interval", lastPollAge: "10s", gap: "30s"),
        Gap("4 min old: poll_interval, as fixed polling", lastPollAge: "4m", gap: "30s"),
        Gap("5 min old: a tenth of the age is poll_interval", lastPollAge: "5m", gap: "30s"),
        Gap("5 min 10 s old: a tenth of the age", lastPollAge: "5m10s", gap: "31s"),
        Gap("20 min old: a tenth of the age", lastPollAge: "20m", gap: "2m"),
        Gap("50 min old: a tenth of the age reaches poll_interval_max", lastPollAge: "50m", gap: "5m"),
        Gap("1 h old: capped at poll_interval_max", lastPollAge: "1h", gap: "5m"),
        Gap("6 h old: capped at poll_interval_max", lastPollAge: "6h", gap: "5m"),
        Gap("3 days old: capped at poll_interval_max", lastPollAge: "3d", gap: "5m"),
        // With a window of the mapping's usual end.
        Gap("well before the window: the age rule", lastPollAge: "20m", window: "55m...64m", gap: "2m"),
        Gap("the age rule would step over the window's start: polled at the start", lastPollAge: "52m",
            window: "55m...64m", gap: "3m"),
        Gap("the window's start closer than poll_interval: poll_interval", lastPollAge: "54m50s",
            window: "55m...64m", gap: "30s"),
        Gap("at the window's start: poll_interval", lastPollAge: "55m", window: "55m...64m", gap: "30s"),
        Gap("inside the window: poll_interval", lastPollAge: "60m", window: "55m...64m", gap: "30s"),
        Gap("the last poll inside the window: poll_interval", lastPollAge: "63m59s", window: "55m...64m", gap: "30s"),
        Gap("at the window's end: the age rule again", lastPollAge: "64m", window: "55m...64m", gap: "5m"),
        Gap("after the window: the age rule", lastPollAge: "2h", window: "55m...64m", gap: "5m"),
        Gap("a window of seconds: never sooner than poll_interval", lastPollAge: "30s", window: "40s...50s", gap: "30s"),
        Gap("a window two days out, reached exactly by the age rule", lastPollAge: "47h50m",
            window: "47h55m...48h5m", gap: "5m"),
        Gap("a window two days out, stepped over: polled at its start", lastPollAge: "47h52m",
            window: "47h55m...48h5m", gap: "3m"),
        Gap("inside a window two days out: poll_interval", lastPollAge: "48h", window: "47h55m...48h5m", gap: "30s"),
    ]

    @Test("the next poll of an open request", arguments: gaps)
    func nextPoll(_ row: Gap) {
        let lastPoll = row.lastPollAge.map { requestStart + duration($0) }
        let next = schedule.nextPoll(startedAt: requestStart, lastPolledAt: lastPoll, expecting: row.window.map(window))
        #expect(next == (lastPoll ?? requestStart) + duration(row.gap))
        #expect(!schedule.isDue(startedAt: requestStart, lastPolledAt: lastPoll, expecting: row.window.map(window),
                                now: next - .milliseconds(1)))
        #expect(schedule.isDue(startedAt: requestStart, lastPolledAt: lastPoll, expecting: row.window.map(window), now: next))
    }

    @Test func aRequestAdoptedLongAfterItStartedIsDueAtOnce() {
        let now = requestStart + .seconds(7200)
        #expect(schedule.nextPoll(startedAt: requestStart, lastPolledAt: nil) == requestStart)
        #expect(schedule.isDue(startedAt: requestStart, lastPolledAt: nil, now: now))
    }

    @Test func pollsMissedWhileDownAreDueAtOnceNotReplayed() {
        // Last polled at 3 h, back at 5 h: due now, and one poll is all it takes.
        let lastPoll = requestStart + .seconds(3 * 3600)
        let now = requestStart + .seconds(5 * 3600)
        #expect(schedule.isDue(startedAt: requestStart, lastPolledAt: lastPoll, now: now))
        #expect(!schedule.isDue(startedAt: requestStart, lastPolledAt: now, now: now))
    }

    @Test func aLastPollBeforeTheStartCountsAsAgeZero() {
        // The clock was set back between the start and the poll.
        let lastPoll = requestStart - .seconds(3600)
        #expect(schedule.nextPoll(startedAt: requestStart, lastPolledAt: lastPoll) == lastPoll + .seconds(30))
    }

    @Test func aMaximumBelowTheIntervalIsReadAsTheInterval() {
        let odd = PollSchedule(interval: .seconds(30), maximum: .seconds(10))
        #expect(odd.gap(afterPollAtAge: duration("6h")) == .seconds(30))
    }

    @Test func fixedPollingIsEveryIntervalAtAnyAge() {
        for age in ["0s", "5m", "1h", "6h", "3d"] {
            #expect(fixed.gap(afterPollAtAge: duration(age)) == .seconds(30))
        }
    }

    /// Ends from 1 s to 7 days, and the bound the age rule promises for each.
    static let ends: [Duration] = stride(from: 1.0, through: 7 * 86_400, by: 97.3).map { .seconds($0) }

    @Test func anEndIsSeenAtMostATenthOfItsAgeLateAndNeverLaterThanTheMaximum() {
        for end in Self.ends {
            let run = pollRun(schedule, until: end)
            let bound = max(schedule.interval, min(end / 10, schedule.maximum))
            #expect(run.detectionDelay <= bound, "end at \(end.roundedText) seen \(run.detectionDelay.roundedText) late")
        }
    }

    @Test func aWindowNeverMakesAGapLonger() {
        let windows = ["40s...50s", "9m...11m", "55m...64m", "5h55m...6h5m"].map(window)
        for window in windows {
            for age in stride(from: 0.0, through: 8 * 3600, by: 13.7).map({ Duration.seconds($0) }) {
                #expect(schedule.gap(afterPollAtAge: age, expecting: window) <= schedule.gap(afterPollAtAge: age))
                #expect(schedule.gap(afterPollAtAge: age, expecting: window) >= schedule.interval)
            }
        }
    }
}

/// The targets for `poll_interval` 30 s and `poll_interval_max` 5 min, met by the
/// schedule alone (the collector's integration must meet them again end to end).
@Suite("Poll schedule targets")
struct PollScheduleTargetTests {
    @Test func aOneHourIngestionTakesAtMost55CallsAndIsSeenWithin6Minutes() {
        let run = pollRun(schedule, until: duration("1h"))
        #expect(run.calls <= 55)
        #expect(run.detectionDelay <= duration("6m"))
        #expect(pollRun(fixed, until: duration("1h")).calls == 121)   // at 0 s, 30 s … 3600 s
        // Wherever in its last minutes it ends.
        for end in stride(from: 3300.0, through: 3600, by: 0.7).map({ Duration.seconds($0) }) {
            let run = pollRun(schedule, until: end)
            #expect(run.calls <= 55 && run.detectionDelay <= duration("6m"))
        }
    }

    @Test func aSixHourIngestionTakesAtMost115Calls() {
        #expect(pollRun(schedule, until: duration("6h")).calls <= 115)
        #expect(pollRun(fixed, until: duration("6h")).calls == 721)
    }

    @Test func aTwoMinuteIngestionIsSeenWithinThePollInterval() {
        for end in stride(from: 0.1, through: 120, by: 0.1).map({ Duration.seconds($0) }) {
            let run = pollRun(schedule, until: end)
            #expect(run.detectionDelay <= schedule.interval)
            #expect(run.pollAges == pollRun(fixed, until: end).pollAges, "as fast, and as often, as fixed polling")
        }
    }

    @Test func withTenRunsOf55To65MinutesASixtyMinuteRunIsSeenWithinThePollIntervalForAtMost20MoreCalls() throws {
        for history in [tenRuns(from: duration("55m"), to: duration("65m")),
                        DurationHistory(durations: (55...64).map { Duration.seconds($0 * 60) }),
                        DurationHistory(durations: (56...65).map { Duration.seconds($0 * 60) })] {
            let window = try #require(schedule.expectedEnd(from: history))
            let withHistory = pollRun(schedule, until: duration("1h"), expecting: window)
            let ageRule = pollRun(schedule, until: duration("1h"))
            #expect(withHistory.detectionDelay <= schedule.interval, "window \(window)")
            #expect(withHistory.calls - ageRule.calls <= 20, "window \(window)")
        }
    }

    @Test func theExampleOfTheDocs() throws {
        // docs/polling.md: runs of 55, 56 … 64 min; a 60-min run seen within 30 s for 9 more calls.
        let window = try #require(schedule.expectedEnd(from: DurationHistory(durations: (55...64).map { Duration.seconds($0 * 60) })))
        #expect(window == ExpectedEnd(earliestAge: duration("55m"), latestAge: duration("63m")))
        let withHistory = pollRun(schedule, until: duration("1h"), expecting: window)
        #expect(withHistory.detectionDelay <= schedule.interval)
        #expect(withHistory.calls - pollRun(schedule, until: duration("1h")).calls == 9)
    }

    @Test func everyEndInsideTheWindowIsSeenWithinThePollInterval() throws {
        let window = try #require(schedule.expectedEnd(from: tenRuns(from: duration("55m"), to: duration("65m"))))
        for end in stride(from: window.earliestAge.seconds, through: window.latestAge.seconds, by: 1.3) {
            #expect(pollRun(schedule, until: .seconds(end), expecting: window).detectionDelay <= schedule.interval)
        }
    }

    /// Runs that always take the same time, recorded as the store records them (the age of
    /// the poll that saw the end), each run's window made from the runs before it: the
    /// first five have no window, the median moves after five more, and from the eleventh
    /// on the end is seen within poll_interval.
    static let steadyDurations = ["17m23s", "50m", "1h", "1h2m7s", "2h", "6h"]

    @Test("a window made from recorded durations slides to the real end", arguments: steadyDurations)
    func theWindowFindsTheRealEnd(_ text: String) {
        let real = duration(text)
        var history = DurationHistory(durations: [])
        var delays: [Duration] = []
        for _ in 0..<20 {
            let run = pollRun(schedule, until: real, expecting: schedule.expectedEnd(from: history))
            delays.append(run.detectionDelay)
            history.record(run.pollAges.last!)
        }
        #expect(delays.dropFirst(10).allSatisfy { $0 <= schedule.interval }, "delays \(delays.map(\.roundedText))")
    }
}
