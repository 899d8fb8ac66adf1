import Foundation
import IngestionModel
import Scheduling
import Testing

/// Instants for the planner tables: `"10:00:17"` is 2026-01-10 at that time in UTC;
/// anything with a `T` is a full ISO 8601 instant.
private func at(_ text: String) -> Date {
    instant(text.contains("T") ? text : "2026-01-10T\(text)Z")
}

private func plan(_ slot: String, due: String, attempts: Int = 0, failingSince: String? = nil) -> TriggerPlan {
    TriggerPlan(slot: at(slot), dueAt: at(due), attempts: attempts, failingSince: failingSince.map(at))
}

private func cronSchedule(_ text: String, _ zoneName: String = "UTC") -> Schedule {
    .cron(try! CronExpression(parsing: text), zone(zoneName))
}

private let hourly = Schedule.every(.seconds(3600))
/// Every planner below uses this mapping jitter.
private let jitter = Duration.seconds(17)

/// A row of the planner tables, reported by the rule it states.
protocol PlannerRule: CustomTestStringConvertible, Sendable {
    var rule: String { get }
}

extension PlannerRule {
    var testDescription: String { rule }
}

@Suite("Trigger planning")
struct TriggerPlannerTests {
    struct Start: PlannerRule {
        let rule: String
        let schedule: Schedule
        let lastAttempt: String?
        let now: String
        let expected: TriggerPlan
    }

    static let starts: [Start] = [
        Start(rule: "every, never triggered: triggers at start, plus jitter",
              schedule: hourly, lastAttempt: nil, now: "10:00", expected: plan("10:00", due: "10:00:17")),
        Start(rule: "every, triggered before: one period after the last attempt, never earlier",
              schedule: hourly, lastAttempt: "09:30:17", now: "10:00", expected: plan("10:30", due: "10:30:17")),
        Start(rule: "every, slot missed while down: runs once now, plus jitter",
              schedule: hourly, lastAttempt: "06:00:17", now: "10:00", expected: plan("07:00", due: "10:00:17")),
        Start(rule: "every, restarted between a slot and its jittered due time: keeps that due time",
              schedule: hourly, lastAttempt: "09:00:17", now: "10:00:10", expected: plan("10:00", due: "10:00:17")),
        Start(rule: "every, last attempt recorded in the future (clock set back): one period from now",
              schedule: hourly, lastAttempt: "12:00:17", now: "10:00", expected: plan("10:59:43", due: "11:00")),
        Start(rule: "cron, never triggered: waits for the next fire, no immediate run",
              schedule: cronSchedule("0 2 * * *"), lastAttempt: nil, now: "10:00",
              expected: plan("2026-01-11T02:00Z", due: "2026-01-11T02:00:17Z")),
        Start(rule: "cron, triggered before: the next fire after the last attempt",
              schedule: cronSchedule("0 2 * * *"), lastAttempt: "02:00:17", now: "10:00",
              expected: plan("2026-01-11T02:00Z", due: "2026-01-11T02:00:17Z")),
        Start(rule: "cron, fires missed while down: runs once now, plus jitter",
              schedule: cronSchedule("0 2 * * *"), lastAttempt: "2026-01-07T02:00:17Z", now: "10:00",
              expected: plan("2026-01-08T02:00Z", due: "10:00:17")),
        Start(rule: "cron in Paris, never triggered before the spring-forward day: the gap day is skipped",
              schedule: cronSchedule("30 2 * * *", "Europe/Paris"), lastAttempt: nil, now: "2026-03-28T12:00Z",
              expected: plan("2026-03-30T02:30+02:00", due: "2026-03-30T02:30:17+02:00")),
        Start(rule: "cron in Paris, restarted inside the repeated hour: its 02:30 already ran",
              schedule: cronSchedule("30 2 * * *", "Europe/Paris"),
              lastAttempt: "2026-10-25T02:30:17+02:00", now: "2026-10-25T02:45+01:00",
              expected: plan("2026-10-26T02:30+01:00", due: "2026-10-26T02:30:17+01:00")),
    ]

    @Test("the plan at start-up", arguments: starts)
    func initialPlan(_ example: Start) {
        let planner = TriggerPlanner(schedule: example.schedule, jitter: jitter)
        #expect(planner.initialPlan(lastAttempt: example.lastAttempt.map(at), now: at(example.now)) == example.expected)
    }

    struct Attempt: PlannerRule {
        let rule: String
        let schedule: Schedule
        let before: TriggerPlan
        let result: TriggerAttemptResult
        let now: String
        let expected: TriggerPlan
    }

    static let attempts: [Attempt] = [
        // every 1h
        Attempt(rule: "every, started: the next slot is one period after this one",
                schedule: hourly, before: plan("10:00", due: "10:00:17"), result: .started, now: "10:00:17",
                expected: plan("11:00", due: "11:00:17")),
        Attempt(rule: "every, started after retries: counted from the attempt, failure cleared",
                schedule: hourly, before: plan("10:00", due: "10:07:17", attempts: 3, failingSince: "10:00:17"),
                result: .started, now: "10:07:17", expected: plan("11:07", due: "11:07:17")),
        Attempt(rule: "every, started late after downtime: missed periods are not replayed",
                schedule: hourly, before: plan("07:00", due: "10:00:17"), result: .started, now: "10:00:17",
                expected: plan("11:00", due: "11:00:17")),
        Attempt(rule: "every, first retryable failure: retry in 1 minute, failing since now",
                schedule: hourly, before: plan("10:00", due: "10:00:17"), result: .retryable, now: "10:00:17",
                expected: plan("10:00", due: "10:01:17", attempts: 1, failingSince: "10:00:17")),
        Attempt(rule: "every, second retryable failure: retry in 2 minutes, failing since kept",
                schedule: hourly, before: plan("10:00", due: "10:01:17", attempts: 1, failingSince: "10:00:17"),
                result: .retryable, now: "10:01:17",
                expected: plan("10:00", due: "10:03:17", attempts: 2, failingSince: "10:00:17")),
        Attempt(rule: "every, back-off reaching the next slot: moves to it, attempts reset, failing since kept",
                schedule: hourly, before: plan("10:00", due: "11:03:17", attempts: 6, failingSince: "10:00:17"),
                result: .retryable, now: "11:03:17", expected: plan("12:03", due: "12:03:17", failingSince: "10:00:17")),
        Attempt(rule: "every, needs a person: no retry before the next slot",
                schedule: hourly, before: plan("10:00", due: "10:00:17"), result: .needsPerson, now: "10:00:17",
                expected: plan("11:00", due: "11:00:17", failingSince: "10:00:17")),
        Attempt(rule: "every, needs a person while already failing: failing since kept",
                schedule: hourly, before: plan("10:00", due: "10:03:17", attempts: 2, failingSince: "09:00:17"),
                result: .needsPerson, now: "10:03:17", expected: plan("11:03", due: "11:03:17", failingSince: "09:00:17")),
        // cron, hourly
        Attempt(rule: "cron, started: the next fire after now",
                schedule: cronSchedule("0 * * * *"), before: plan("10:00", due: "10:00:17"), result: .started,
                now: "10:00:17", expected: plan("11:00", due: "11:00:17")),
        Attempt(rule: "cron, retryable before the next slot: retries within this slot",
                schedule: cronSchedule("0 * * * *"), before: plan("10:00", due: "10:57:59"), result: .retryable,
                now: "10:58:59", expected: plan("10:00", due: "10:59:59", attempts: 1, failingSince: "10:58:59")),
        Attempt(rule: "cron, retry exactly at the next slot: moves to that slot",
                schedule: cronSchedule("0 * * * *"), before: plan("10:00", due: "10:59"), result: .retryable,
                now: "10:59", expected: plan("11:00", due: "11:00:17", failingSince: "10:59")),
        Attempt(rule: "cron, back-off past the next slot: moves to that slot, failing since kept",
                schedule: cronSchedule("0 * * * *"), before: plan("10:00", due: "10:45", attempts: 4, failingSince: "10:00:17"),
                result: .retryable, now: "10:45", expected: plan("11:00", due: "11:00:17", failingSince: "10:00:17")),
        Attempt(rule: "cron, needs a person: the next fire",
                schedule: cronSchedule("0 * * * *"), before: plan("10:00", due: "10:00:17"), result: .needsPerson,
                now: "10:00:17", expected: plan("11:00", due: "11:00:17", failingSince: "10:00:17")),
        Attempt(rule: "cron, started late after downtime: the next fire after now, missed fires skipped",
                schedule: cronSchedule("0 2 * * *"), before: plan("2026-01-08T02:00Z", due: "10:00:17"),
                result: .started, now: "10:00:17", expected: plan("2026-01-11T02:00Z", due: "2026-01-11T02:00:17Z")),
        Attempt(rule: "cron, attempted before its slot: the next slot is after the served one",
                schedule: cronSchedule("0 2 * * *"), before: plan("2026-01-11T02:00Z", due: "2026-01-11T02:00:17Z"),
                result: .started, now: "10:00", expected: plan("2026-01-12T02:00Z", due: "2026-01-12T02:00:17Z")),
        // cron in Paris, across DST
        Attempt(rule: "hourly in Paris at fall-back: after the first 02:00, the next slot is 03:00 CET",
                schedule: cronSchedule("0 * * * *", "Europe/Paris"),
                before: plan("2026-10-25T02:00+02:00", due: "2026-10-25T02:00:17+02:00"), result: .started,
                now: "2026-10-25T02:00:17+02:00",
                expected: plan("2026-10-25T03:00+01:00", due: "2026-10-25T03:00:17+01:00")),
        Attempt(rule: "daily 02:30 in Paris before spring-forward: the gap day has no slot",
                schedule: cronSchedule("30 2 * * *", "Europe/Paris"),
                before: plan("2026-03-28T02:30+01:00", due: "2026-03-28T02:30:17+01:00"), result: .needsPerson,
                now: "2026-03-28T02:30:17+01:00",
                expected: plan("2026-03-30T02:30+02:00", due: "2026-03-30T02:30:17+02:00",
                               failingSince: "2026-03-28T02:30:17+01:00")),
        Attempt(rule: "daily 02:30 in Paris, retried into the repeated hour: same slot, plain back-off",
                schedule: cronSchedule("30 2 * * *", "Europe/Paris"),
                before: plan("2026-10-25T02:30+02:00", due: "2026-10-25T02:59+02:00", attempts: 5,
                             failingSince: "2026-10-25T02:30:17+02:00"),
                result: .retryable, now: "2026-10-25T02:59+02:00",
                expected: plan("2026-10-25T02:30+02:00", due: "2026-10-25T02:31+01:00", attempts: 6,
                               failingSince: "2026-10-25T02:30:17+02:00")),
    ]

    @Test("the plan after an attempt", arguments: attempts)
    func planAfterAttempt(_ example: Attempt) {
        let planner = TriggerPlanner(schedule: example.schedule, jitter: jitter)
        let next = planner.plan(after: example.before, result: example.result, now: at(example.now))
        #expect(next == example.expected)
        #expect(next.dueAt >= at(example.now), "due time never earlier than the attempt")
    }

    /// Delay before retry number n with the defaults: 1, 2, 4 … minutes, capped at 1 hour.
    static let backOffs: [(failedAttempts: Int, minutes: Int)] = [
        (1, 1), (2, 2), (3, 4), (4, 8), (5, 16), (6, 32), (7, 60), (8, 60), (50, 60), (1_000_000, 60),
    ]

    @Test("retryable failures back off exponentially up to the maximum", arguments: backOffs)
    func backOff(failedAttempts: Int, minutes: Int) {
        let planner = TriggerPlanner(schedule: cronSchedule("0 2 * * *"), jitter: jitter)
        let failing = plan("02:00", due: "03:00", attempts: failedAttempts - 1, failingSince: "02:00:17")
        let next = planner.plan(after: failing, result: .retryable, now: at("03:00"))
        #expect(next.dueAt == at("03:00").addingTimeInterval(TimeInterval(60 * minutes)))
        #expect(next.attempts == failedAttempts)
    }

    @Test func theBackOffBoundsAreSettable() {
        var planner = TriggerPlanner(schedule: cronSchedule("0 2 * * *"), jitter: jitter)
        planner.retryInitial = .seconds(10)
        planner.retryMaximum = .seconds(45)
        var current = plan("02:00", due: "03:00")
        var delays: [TimeInterval] = []
        for _ in 0..<5 {
            let now = current.dueAt
            current = planner.plan(after: current, result: .retryable, now: now)
            delays.append(current.dueAt.timeIntervalSince(now))
        }
        #expect(delays == [10, 20, 40, 45, 45])
    }

    struct Resume: PlannerRule {
        let rule: String
        let persisted: TriggerPlan
        let now: String
        let expected: TriggerPlan
    }

    static let resumes: [Resume] = [
        Resume(rule: "due later: unchanged", persisted: plan("11:00", due: "11:00:17"), now: "10:30",
               expected: plan("11:00", due: "11:00:17")),
        Resume(rule: "due right now: unchanged", persisted: plan("11:00", due: "11:00:17"), now: "11:00:17",
               expected: plan("11:00", due: "11:00:17")),
        Resume(rule: "missed while down: once now, plus jitter; slot kept",
               persisted: plan("2026-01-07T02:00Z", due: "2026-01-07T02:00:17Z"), now: "10:00",
               expected: plan("2026-01-07T02:00Z", due: "10:00:17")),
        Resume(rule: "a retry missed while down: once now, failure history kept",
               persisted: plan("02:00", due: "02:07:17", attempts: 3, failingSince: "02:00:17"), now: "10:00",
               expected: plan("02:00", due: "10:00:17", attempts: 3, failingSince: "02:00:17")),
    ]

    @Test("a persisted plan after downtime", arguments: resumes)
    func resumed(_ example: Resume) {
        let planner = TriggerPlanner(schedule: cronSchedule("0 2 * * *"), jitter: jitter)
        #expect(planner.resumed(example.persisted, now: at(example.now)) == example.expected)
    }

    @Test func daysOfMissedSlotsRunOnceThenTheScheduleResumes() {
        let planner = TriggerPlanner(schedule: cronSchedule("0 2 * * *"), jitter: jitter)
        let resumed = planner.resumed(plan("2026-01-07T02:00Z", due: "2026-01-07T02:00:17Z"), now: at("10:00"))
        #expect(planner.isDue(resumed, now: at("10:00:17")))
        let after = planner.plan(after: resumed, result: .started, now: at("10:00:17"))
        #expect(after == plan("2026-01-11T02:00Z", due: "2026-01-11T02:00:17Z"))
        #expect(!planner.isDue(after, now: at("23:59")))
    }

    static let dueness: [(now: String, isDue: Bool)] = [("10:00", false), ("10:00:16", false), ("10:00:17", true), ("12:00", true)]

    @Test("a plan is due from its due time on", arguments: dueness)
    func isDue(now: String, isDue: Bool) {
        let planner = TriggerPlanner(schedule: hourly, jitter: jitter)
        #expect(planner.isDue(plan("10:00", due: "10:00:17"), now: at(now)) == isDue)
    }

    @Test func aPlanSurvivesPersistence() throws {
        let original = plan("10:00", due: "10:03:17", attempts: 2, failingSince: "10:00:17")
        let decoded = try JSONDecoder().decode(TriggerPlan.self, from: JSONEncoder().encode(original))
        #expect(decoded == original)
    }

    @Test func aCronThatNeverFiresIsPlannedForTheDistantFuture() {
        let planner = TriggerPlanner(schedule: cronSchedule("0 0 30 2 *"), jitter: jitter)
        let start = planner.initialPlan(lastAttempt: nil, now: at("10:00"))
        #expect(start.slot == .distantFuture)
        #expect(!planner.isDue(start, now: at("10:00")))
    }
}
