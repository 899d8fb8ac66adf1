import Foundation
import IngestionModel
import Scheduling
import Testing

/// The project's DST rules, like cron: a wall time in the spring-forward gap is
/// skipped that day; a wall time repeated at fall-back fires once, at its first
/// occurrence. Expected instants are written as local wall time plus the offset in
/// force, which says which occurrence is meant.
@Suite("Next fire time across DST transitions")
struct DaylightSavingTests {
    struct TransitionDay: CustomTestStringConvertible, Sendable {
        let expression: String
        let day: LocalDay
        /// Every fire of that local day, as `HH:mm±hh:mm`.
        let fires: [String]
        var testDescription: String { "\"\(expression)\" in \(day)" }
    }

    static let days: [TransitionDay] = [
        TransitionDay(expression: "30 2 * * *", day: .parisSpringForward, fires: []),
        TransitionDay(expression: "30 2 * * *", day: .parisFallBack, fires: ["02:30+02:00"]),
        TransitionDay(expression: "0 3 * * *", day: .parisSpringForward, fires: ["03:00+02:00"]),
        TransitionDay(expression: "0 3 * * *", day: .parisFallBack, fires: ["03:00+01:00"]),
        TransitionDay(expression: "0 * * * *", day: .parisSpringForward, fires: hours(0...1, "+01:00") + hours(3...23, "+02:00")),
        TransitionDay(expression: "0 * * * *", day: .parisFallBack, fires: hours(0...2, "+02:00") + hours(3...23, "+01:00")),
        TransitionDay(expression: "30 2 * * *", day: .newYorkSpringForward, fires: []),
        TransitionDay(expression: "30 2 * * *", day: .newYorkFallBack, fires: ["02:30-05:00"]),
        TransitionDay(expression: "30 1 * * *", day: .newYorkFallBack, fires: ["01:30-04:00"]),
        TransitionDay(expression: "0 3 * * *", day: .newYorkSpringForward, fires: ["03:00-04:00"]),
        TransitionDay(expression: "0 3 * * *", day: .newYorkFallBack, fires: ["03:00-05:00"]),
        TransitionDay(expression: "0 * * * *", day: .newYorkSpringForward, fires: hours(0...1, "-05:00") + hours(3...23, "-04:00")),
        TransitionDay(expression: "0 * * * *", day: .newYorkFallBack, fires: hours(0...1, "-04:00") + hours(2...23, "-05:00")),
    ]

    @Test("every fire of a transition day", arguments: days)
    func firesOfTheDay(_ example: TransitionDay) throws {
        let (actual, _, _) = try fires(of: example.expression, on: example.day)
        #expect(actual == example.fires.map { instant("\(example.day.date)T\($0)") })
    }

    struct QuarterHours: CustomTestStringConvertible, Sendable {
        let day: LocalDay
        let count: Int
        /// The quarter-hours (UTC, same date) that do not fire: second occurrences.
        let repeated: [String]
        var testDescription: String { day.description }
    }

    /// `*/15` fires at every quarter-hour of the local day, once: 92 on a 23-hour day,
    /// and 96 (not 100) on a 25-hour day, whose repeated hour does not fire again.
    static let quarterHourDays: [QuarterHours] = [
        QuarterHours(day: .parisSpringForward, count: 92, repeated: []),
        QuarterHours(day: .parisFallBack, count: 96, repeated: ["01:00Z", "01:15Z", "01:30Z", "01:45Z"]),
        QuarterHours(day: .newYorkSpringForward, count: 92, repeated: []),
        QuarterHours(day: .newYorkFallBack, count: 96, repeated: ["06:00Z", "06:15Z", "06:30Z", "06:45Z"]),
    ]

    @Test("every quarter-hour of a transition day fires once", arguments: quarterHourDays)
    func quarterHours(_ example: QuarterHours) throws {
        let (actual, start, end) = try fires(of: "*/15 * * * *", on: example.day)
        let skipped = Set(example.repeated.map { instant("\(example.day.date)T\($0)") })
        let everyQuarterHour = stride(from: start.timeIntervalSince1970, to: end.timeIntervalSince1970, by: 900)
            .map { Date(timeIntervalSince1970: $0) }
        #expect(actual.count == example.count)
        #expect(actual == everyQuarterHour.filter { !skipped.contains($0) })
    }

    /// Checked with the others by `NextFireTests.nextFire`.
    static let afterRepeatedTimes: [NextFireExample] = [
        NextFireExample("30 2 * * *", in: "Europe/Paris", after: "2026-10-25T02:00+02:00", expected: "2026-10-25T02:30+02:00",
                        why: "the first 02:30 of the repeated hour fires (and the next fire is tomorrow's)"),
        NextFireExample("30 2 * * *", in: "Europe/Paris", after: "2026-10-25T02:30+02:00", expected: "2026-10-26T02:30+01:00",
                        why: "after the first 02:30, the next is tomorrow's, not the second 02:30"),
        NextFireExample("30 2 * * *", in: "Europe/Paris", after: "2026-10-25T02:10+01:00", expected: "2026-10-26T02:30+01:00",
                        why: "during the repeated hour, 02:30 has already fired"),
        NextFireExample("*/15 * * * *", in: "Europe/Paris", after: "2026-10-25T02:45+02:00", expected: "2026-10-25T03:00+01:00",
                        why: "after the last first-occurrence quarter, the repeated hour is skipped"),
        NextFireExample("*/15 * * * *", in: "Europe/Paris", after: "2026-10-25T02:30+01:00", expected: "2026-10-25T03:00+01:00",
                        why: "from inside the repeated hour, the next fire is its end"),
        NextFireExample("0 * * * *", in: "America/New_York", after: "2026-11-01T01:00-04:00", expected: "2026-11-01T02:00-05:00",
                        why: "hourly: the repeated 01:00 does not fire again"),
        NextFireExample("30 2 * * *", in: "Europe/Paris", after: "2026-03-28T02:30+01:00", expected: "2026-03-30T02:30+02:00",
                        why: "a daily time in the gap is skipped that day"),
        NextFireExample("* * * * *", in: "Europe/Paris", after: "2026-03-29T01:59+01:00", expected: "2026-03-29T03:00+02:00",
                        why: "every minute: the first minute after the gap"),
        NextFireExample("30 2 29 3 *", in: "Europe/Paris", after: "2026-01-01T00:00Z", expected: "2027-03-29T02:30+02:00",
                        why: "a yearly time in the gap waits a year"),
    ]

    /// Cross-check against a naive model written with `Calendar` only: walk the
    /// transition days minute by minute and fire at every instant whose wall time
    /// matches and has not been seen before.
    @Test("agrees with a minute-by-minute scan of the transition days",
          arguments: ["Europe/Paris", "America/New_York", "Australia/Lord_Howe", "Europe/London", "UTC"])
    func agreesWithNaiveScan(zoneName: String) throws {
        let timeZone = zone(zoneName)
        let calendar = Calendar(identifier: .gregorian)
        let expressions = ["*/15 * * * *", "0 * * * *", "30 2 * * *", "0 3 * * *", "45 1,2 * * *", "*/7 0-4 * * *",
                           "0,30 1-3 * * *", "* 2 * * *"]
        var transitions: [Date] = []
        var cursor = instant("2026-01-01T00:00Z")
        while let next = timeZone.nextDaylightSavingTimeTransition(after: cursor), next < instant("2027-01-01T00:00Z") {
            transitions.append(next)
            cursor = next
        }
        let windows = transitions.isEmpty ? [instant("2026-06-01T00:00Z")] : transitions
        for expressionText in expressions {
            let expression = try cron(expressionText)
            let minutes = Set(expression.allowedValues(in: .minute))
            let hours = Set(expression.allowedValues(in: .hour))
            for transition in windows {
                let start = transition.addingTimeInterval(-86_400)
                let end = transition.addingTimeInterval(86_400)
                var seen: Set<DateComponents> = []
                var expected: [Date] = []
                for second in stride(from: start.timeIntervalSince1970 - 86_400, to: end.timeIntervalSince1970, by: 60) {
                    let moment = Date(timeIntervalSince1970: second)
                    let parts = calendar.dateComponents(in: timeZone, from: moment)
                    let wall = DateComponents(year: parts.year, month: parts.month, day: parts.day,
                                              hour: parts.hour, minute: parts.minute)
                    guard seen.insert(wall).inserted else { continue }
                    if moment >= start, minutes.contains(parts.minute!), hours.contains(parts.hour!) {
                        expected.append(moment)
                    }
                }
                let actual = fires(of: expression, in: timeZone, from: start, to: end)
                #expect(actual == expected, "\(expressionText) around \(transition)")
            }
        }
    }

    @Test("each fire reads the asked wall time, checked with Calendar")
    func firesReadTheirWallTime() throws {
        let (halfHours, _, _) = try fires(of: "0,30 * * * *", on: .parisFallBack)
        #expect(halfHours.count == 48)
        #expect(halfHours.map { wallClock($0, in: zone("Europe/Paris")) } == (0..<48).map {
            "2026-10-25 \(twoDigits($0 / 2)):\($0 % 2 == 0 ? "00" : "30"):00"
        })
    }
}

/// The whole hours of `range` at the UTC offset `offset`, as `HH:mm±hh:mm`.
func hours(_ range: ClosedRange<Int>, _ offset: String) -> [String] {
    range.map { "\(twoDigits($0)):00\(offset)" }
}

func twoDigits(_ value: Int) -> String {
    value < 10 ? "0\(value)" : "\(value)"
}
