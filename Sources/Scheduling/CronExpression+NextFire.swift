import Foundation
import IngestionModel

extension CronExpression {
    /// How many years ahead `nextFire(after:in:)` looks before giving up.
    ///
    /// The Gregorian calendar repeats itself, weekdays included, every 400 years
    /// (146,097 days = 20,871 weeks), so a date pattern that matches nothing in 400
    /// years matches nothing ever. Gaps between matches can be long: `0 0 29 2 *` waits
    /// 8 years across 2100, which is not a leap year, and 29 February on a Sunday waits
    /// up to 40 — a bound of a few years would wrongly call those "never". The search
    /// jumps month by month and day by day in integer arithmetic, so even the full
    /// horizon costs well under a millisecond, and `canEverFire` answers the "never"
    /// case up front without searching at all.
    static let searchHorizonInYears = 401

    /// The first instant strictly after `date` at which a clock in `timeZone` reads a
    /// wall time (with seconds at 0) that matches this expression; nil when the
    /// expression never fires.
    ///
    /// Daylight-saving time behaves as the project decided, like cron:
    /// - a wall time that does not exist that day (spring-forward gap) is skipped;
    /// - a wall time that occurs twice (fall-back) fires once, at its first occurrence:
    ///   the repeated wall times do not fire again, whatever the expression.
    ///
    /// The search goes field by field: next matching day (month, then day), then hour,
    /// then minute, and only converts the few candidate wall times to instants.
    public func nextFire(after date: Date, in timeZone: TimeZone) -> Date? {
        guard canEverFire else { return nil }
        let after = date.timeIntervalSince1970
        // ±10^11 s is about ±3,000 years around 1970: plenty, and far from Int overflow.
        guard after.isFinite, abs(after) < 1e11 else { return nil }

        // Wall times before the one showing at `date` all had their first occurrence
        // before `date` (first occurrences increase with the wall time), so the search
        // starts at the minute showing at `date`.
        let startMinute = floorDivide(timeZone.wallClockSeconds(at: Int(after.rounded(.down))), 60)
        var day = CivilDate(daysSince1970: floorDivide(startMinute, 1440))
        var fromMinuteOfDay = startMinute - day.daysSince1970 * 1440
        let lastYear = day.year + Self.searchHorizonInYears

        while let matchingDay = firstMatchingDay(onOrAfter: day, throughYear: lastYear) {
            if matchingDay != day { fromMinuteOfDay = 0 }
            if let instant = firstFire(on: matchingDay, fromMinuteOfDay: fromMinuteOfDay,
                                       after: after, in: timeZone) {
                return Date(timeIntervalSince1970: TimeInterval(instant))
            }
            // Every matching time that day was in a DST gap or already past.
            day = CivilDate(daysSince1970: matchingDay.daysSince1970 + 1)
            fromMinuteOfDay = 0
        }
        return nil
    }

    /// The first day on or after `start` that the day and month fields match.
    private func firstMatchingDay(onOrAfter start: CivilDate, throughYear lastYear: Int) -> CivilDate? {
        // With the either-day rule any day of the month may match through its weekday;
        // otherwise only the allowed days of the month need a look.
        let candidateDays = matchesEitherDayField ? Self.everyDayOfMonth : daysOfMonth
        var year = start.year
        var month = start.month
        var firstDay = start.day
        while year <= lastYear {
            guard let allowedMonth = months.first(atLeast: month) else {
                (year, month, firstDay) = (year + 1, 1, 1)
                continue
            }
            if allowedMonth != month { (month, firstDay) = (allowedMonth, 1) }
            let length = CivilDate.numberOfDays(inMonth: month, of: year)
            for day in candidateDays.values(from: firstDay) {
                guard day <= length else { break }
                let date = CivilDate(year: year, month: month, day: day)
                if matchesDay(date) { return date }
            }
            (month, firstDay) = (month + 1, 1)
        }
        return nil
    }

    private static let everyDayOfMonth = CronValueSet(1...31)

    /// The first matching time on `day`, at or after `fromMinuteOfDay`, whose first
    /// occurrence is strictly after `after` (seconds since 1970), as seconds since 1970.
    private func firstFire(on day: CivilDate, fromMinuteOfDay: Int, after: TimeInterval,
                           in timeZone: TimeZone) -> Int? {
        let midnight = day.daysSince1970 * 86_400
        let fromHour = fromMinuteOfDay / 60
        for hour in hours.values(from: fromHour) {
            for minute in minutes.values(from: hour == fromHour ? fromMinuteOfDay % 60 : 0) {
                // nil: the wall time is in a gap, skipped. ≤ after: a wall time that is
                // repeated, or the minute of `date` itself, already had its turn.
                guard let instant = timeZone.firstInstant(ofWallClock: midnight + hour * 3600 + minute * 60),
                      TimeInterval(instant) > after else { continue }
                return instant
            }
        }
        return nil
    }
}

/// Division rounding toward −∞, so that instants before 1970 land on the right day.
func floorDivide(_ dividend: Int, _ divisor: Int) -> Int {
    let quotient = dividend / divisor
    return dividend % divisor != 0 && (dividend < 0) != (divisor < 0) ? quotient - 1 : quotient
}
