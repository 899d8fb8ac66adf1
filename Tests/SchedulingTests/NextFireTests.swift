import Foundation
import IngestionModel
import Scheduling
import Testing

@Suite("Next fire time")
struct NextFireTests {
    static let examples: [NextFireExample] = [
        // Strictly after, to the minute.
        NextFireExample("* * * * *", in: "UTC", after: "2026-01-01T00:00Z", expected: "2026-01-01T00:01Z",
                        why: "a fire time equal to `after` is not returned"),
        NextFireExample("* * * * *", in: "UTC", after: "2026-01-01T00:00:59.5Z", expected: "2026-01-01T00:01Z",
                        why: "fractions of a second round up to the next minute"),
        NextFireExample("0 * * * *", in: "UTC", after: "2026-01-01T10:00Z", expected: "2026-01-01T11:00Z",
                        why: "hourly"),
        NextFireExample("30 2 * * *", in: "UTC", after: "2026-01-01T02:30Z", expected: "2026-01-02T02:30Z",
                        why: "daily, after today's fire"),
        NextFireExample("30 2 * * *", in: "UTC", after: "2026-01-01T02:29:59Z", expected: "2026-01-01T02:30Z",
                        why: "daily, just before today's fire"),
        NextFireExample("0 0 1 1 *", in: "UTC", after: "2026-06-15T12:00Z", expected: "2027-01-01T00:00Z",
                        why: "yearly rolls over to the next year"),
        NextFireExample("59 23 31 12 *", in: "UTC", after: "2026-12-31T23:59Z", expected: "2027-12-31T23:59Z",
                        why: "the last minute of the year"),
        NextFireExample("0 0 1 1 *", in: "UTC", after: "1969-06-01T00:00Z", expected: "1970-01-01T00:00Z",
                        why: "instants before 1970"),
        NextFireExample("* * 31 * *", in: "UTC", after: "2026-04-01T00:00Z", expected: "2026-05-31T00:00Z",
                        why: "months without a 31st are skipped"),
        NextFireExample("@weekly", in: "UTC", after: "2026-01-01T00:00Z", expected: "2026-01-04T00:00Z",
                        why: "@weekly is Sunday midnight (2026-01-01 is a Thursday)"),
        NextFireExample("@weekly", in: "UTC", after: "2026-01-04T00:00Z", expected: "2026-01-11T00:00Z",
                        why: "@weekly, a week later"),
        NextFireExample("0 12 * * 7", in: "UTC", after: "2026-01-01T00:00Z", expected: "2026-01-04T12:00Z",
                        why: "day-of-week 7 is Sunday"),
        NextFireExample("0 9 * * 1-5", in: "UTC", after: "2026-01-02T09:00Z", expected: "2026-01-05T09:00Z",
                        why: "weekdays skip the weekend"),
        // Vixie cron: both day fields restricted → either matches.
        NextFireExample("0 0 13 * 5", in: "UTC", after: "2026-01-01T00:00Z", expected: "2026-01-02T00:00Z",
                        why: "13th or Friday: the first Friday"),
        NextFireExample("0 0 13 * 5", in: "UTC", after: "2026-01-10T00:00Z", expected: "2026-01-13T00:00Z",
                        why: "13th or Friday: the 13th, a Tuesday"),
        NextFireExample("0 0 1 * MON", in: "UTC", after: "2026-01-01T00:00Z", expected: "2026-01-05T00:00Z",
                        why: "1st or Monday: the next Monday"),
        NextFireExample("0 0 31 2 MON", in: "UTC", after: "2026-02-01T00:00Z", expected: "2026-02-02T00:00Z",
                        why: "an impossible day of the month still fires on the weekday"),
        // One day field starts with `*` → both must match.
        NextFireExample("0 0 */2 * 5", in: "UTC", after: "2026-01-01T00:00Z", expected: "2026-01-09T00:00Z",
                        why: "odd day AND Friday (the 2nd is an even Friday)"),
        NextFireExample("0 0 13 * */5", in: "UTC", after: "2026-01-01T00:00Z", expected: "2026-02-13T00:00Z",
                        why: "13th AND (Sunday or Friday): Friday 13 February"),
        // Leap days.
        NextFireExample("0 0 29 2 *", in: "UTC", after: "2026-03-01T00:00Z", expected: "2028-02-29T00:00Z",
                        why: "29 February waits for the next leap year"),
        NextFireExample("0 0 29 2 *", in: "UTC", after: "2096-03-01T00:00Z", expected: "2104-02-29T00:00Z",
                        why: "2100 is not a leap year: 8 years without a fire"),
        NextFireExample("0 0 29 2 */7", in: "UTC", after: "2088-03-01T00:00Z", expected: "2128-02-29T00:00Z",
                        why: "29 February on a Sunday: 40 years without a fire"),
        // Time zones, away from transitions.
        NextFireExample("0 9 * * *", in: "Europe/Paris", after: "2026-01-15T12:00Z", expected: "2026-01-16T08:00Z",
                        why: "Paris in winter is UTC+1"),
        NextFireExample("0 9 * * *", in: "Europe/Paris", after: "2026-07-15T12:00Z", expected: "2026-07-16T07:00Z",
                        why: "Paris in summer is UTC+2"),
        NextFireExample("0 9 * * *", in: "America/New_York", after: "2026-01-15T12:00Z", expected: "2026-01-15T14:00Z",
                        why: "New York in winter is UTC-5"),
        NextFireExample("0 9 * * *", in: "America/New_York", after: "2026-07-15T14:00Z", expected: "2026-07-16T13:00Z",
                        why: "New York in summer is UTC-4"),
        NextFireExample("0 0 * * MON", in: "America/New_York", after: "2026-01-05T04:59Z", expected: "2026-01-05T05:00Z",
                        why: "the local day decides the weekday, not the UTC day"),
        NextFireExample("@yearly", in: "Europe/Paris", after: "2026-12-31T22:59Z", expected: "2026-12-31T23:00Z",
                        why: "local new year comes before UTC's"),
    ]

    /// These examples and those across DST transitions (`DaylightSavingTests.afterRepeatedTimes`):
    /// each one's fire, and the one after it, which reads another wall time, so a wall
    /// time that occurs twice (fall back) is not taken twice.
    @Test("the first matching wall time strictly after the given instant, then another",
          arguments: examples + DaylightSavingTests.afterRepeatedTimes)
    func nextFire(_ example: NextFireExample) throws {
        let fire = try #require(try example.fire())
        #expect(fire == instant(example.expected))
        let timeZone = zone(example.zone)
        if let next = try cron(example.expression).nextFire(after: fire, in: timeZone) {
            #expect(wallClock(next, in: timeZone) != wallClock(fire, in: timeZone))
        }
    }

    static let neverFiring = ["0 0 30 2 *", "0 0 31 4,6,9,11 *", "0 0 30,31 FEB *", "* * 31 2 */2"]

    @Test("an expression no date matches never fires", arguments: neverFiring)
    func neverFires(_ text: String) throws {
        let expression = try cron(text)
        #expect(expression.canEverFire == false)
        #expect(expression.nextFire(after: instant("2026-01-01T00:00Z"), in: utc) == nil)
        #expect(throws: CronError.neverFires(expression: text)) { try expression.validate() }
    }

    @Test func theNeverFiresMessageQuotesTheExpressionOnOneLine() throws {
        let expression = try cron("0 0  30\t2 *")
        #expect {
            try expression.validate()
        } throws: { error in
            (error as? CronError)?.description
                == #""0 0 30 2 *" never fires: no date has both that day of the month and that month"#
        }
    }

    static let rarelyFiring = ["0 0 29 2 *", "0 0 29 2 */7", "0 0 31 2 MON", "0 0 31 1-2 *", "@yearly"]

    @Test("an expression with a rare date validates", arguments: rarelyFiring)
    func rareButValid(_ text: String) throws {
        try cron(text).validate()
        #expect(try cron(text).canEverFire)
    }

    @Test func anInstantOutsideThousandsOfYearsHasNoFire() throws {
        let everyMinute = try cron("* * * * *")
        #expect(everyMinute.nextFire(after: Date(timeIntervalSince1970: .infinity), in: utc) == nil)
        #expect(everyMinute.nextFire(after: Date(timeIntervalSince1970: .nan), in: utc) == nil)
        #expect(everyMinute.nextFire(after: .distantFuture, in: utc) != nil)
    }
}
