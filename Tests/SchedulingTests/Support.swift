import Foundation
import IngestionModel
import Scheduling
import Testing

// Helpers shared by the Scheduling tests: instants written as text, zones by name,
// and the list of fires over an interval. Every instant is injected; nothing reads the clock.

/// An instant from ISO 8601 text with its offset, e.g. `2026-10-25T02:30+02:00` (the
/// wall time and which occurrence of it) or `2026-10-25T00:30Z`; seconds, with an
/// optional fraction, may follow the minutes: `2026-01-01T00:00:59.5Z`.
func instant(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) -> Date {
    guard let date = parseInstant(text) else {
        Issue.record("not an ISO 8601 instant: \(text)", sourceLocation: sourceLocation)
        return .distantPast
    }
    return date
}

private func parseInstant(_ text: String) -> Date? {
    // yyyy-MM-ddTHH:mm[:ss[.fff]] then Z or ±HH:MM
    guard let tee = text.firstIndex(of: "T") else { return nil }
    let dateParts = text[..<tee].split(separator: "-").compactMap { Int($0) }
    var rest = text[text.index(after: tee)...]
    var offset = 0
    if rest.hasSuffix("Z") {
        rest = rest.dropLast()
    } else if let sign = rest.lastIndex(where: { $0 == "+" || $0 == "-" }) {
        let zoneParts = rest[rest.index(after: sign)...].split(separator: ":").compactMap { Int($0) }
        guard zoneParts.count == 2 else { return nil }
        offset = (zoneParts[0] * 3600 + zoneParts[1] * 60) * (rest[sign] == "-" ? -1 : 1)
        rest = rest[..<sign]
    } else {
        return nil
    }
    let timeParts = rest.split(separator: ":")
    guard dateParts.count == 3, (2...3).contains(timeParts.count),
          let hour = Int(timeParts[0]), let minute = Int(timeParts[1]) else { return nil }
    let seconds = timeParts.count == 3 ? Double(timeParts[2]) ?? .nan : 0
    var calendar = Calendar(identifier: .gregorian)
    calendar.timeZone = TimeZone(identifier: "UTC")!
    guard seconds.isFinite, let midnight = calendar.date(from: DateComponents(
        year: dateParts[0], month: dateParts[1], day: dateParts[2])) else { return nil }
    return midnight.addingTimeInterval(TimeInterval(hour * 3600 + minute * 60 - offset) + seconds)
}

/// A zone from Foundation's tz database, by IANA name.
func zone(_ identifier: String) -> TimeZone {
    TimeZone(identifier: identifier)!
}

let utc = TimeZone(identifier: "UTC")!

func cron(_ text: String) throws -> CronExpression {
    try CronExpression(parsing: text)
}

/// One case of `nextFire`: `expression` in `zone`, asked for its first fire strictly
/// after the instant `after`, fires at the instant `expected`, for the reason `why`.
struct NextFireExample: CustomTestStringConvertible, Sendable {
    let expression: String
    let zone: String
    let after: String
    let expected: String
    let why: String

    init(_ expression: String, in zone: String, after: String, expected: String, why: String) {
        (self.expression, self.zone, self.after, self.expected, self.why) = (expression, zone, after, expected, why)
    }

    var testDescription: String { "\(why): \"\(expression)\" in \(zone) after \(after)" }

    /// The fire the code under test finds.
    func fire() throws -> Date? {
        try cron(expression).nextFire(after: instant(after), in: TimeZone(identifier: zone)!)
    }
}

/// Every fire of `expression` in `timeZone` in `[start, end)`, by chaining `nextFire`.
func fires(of expression: CronExpression, in timeZone: TimeZone, from start: Date, to end: Date) -> [Date] {
    var result: [Date] = []
    var cursor = start.addingTimeInterval(-1)
    while let next = expression.nextFire(after: cursor, in: timeZone), next < end {
        result.append(next)
        cursor = next
    }
    return result
}

/// A calendar day (`yyyy-MM-dd`) in the zone of that IANA name.
struct LocalDay: CustomStringConvertible, Sendable {
    let zone: String
    let date: String

    var description: String { "\(zone) on \(date)" }

    // Europe/Paris: 2026-03-29 02:00 CET → 03:00 CEST; 2026-10-25 03:00 CEST → 02:00 CET.
    static let parisSpringForward = LocalDay(zone: "Europe/Paris", date: "2026-03-29")
    static let parisFallBack = LocalDay(zone: "Europe/Paris", date: "2026-10-25")
    // America/New_York: 2026-03-08 02:00 EST → 03:00 EDT; 2026-11-01 02:00 EDT → 01:00 EST.
    static let newYorkSpringForward = LocalDay(zone: "America/New_York", date: "2026-03-08")
    static let newYorkFallBack = LocalDay(zone: "America/New_York", date: "2026-11-01")
}

/// Every fire of `expression` on the local `day`, with the instants at which that day
/// starts and ends.
func fires(of expression: String, on day: LocalDay) throws -> (fires: [Date], start: Date, end: Date) {
    let timeZone = zone(day.zone)
    let (start, end) = localDay(day.date, in: timeZone)
    return (fires(of: try cron(expression), in: timeZone, from: start, to: end), start, end)
}

/// The instants at which a local day in `timeZone` starts and ends, found with
/// `Calendar`, independently of the code under test.
func localDay(_ day: String, in timeZone: TimeZone) -> (start: Date, end: Date) {
    var calendar = Calendar(identifier: .gregorian)
    calendar.timeZone = timeZone
    let parts = day.split(separator: "-").map { Int($0)! }
    let noon = calendar.date(from: DateComponents(year: parts[0], month: parts[1], day: parts[2], hour: 12))!
    let interval = calendar.dateInterval(of: .day, for: noon)!
    return (interval.start, interval.end)
}

/// The wall-clock reading of `date` in `timeZone` as `yyyy-MM-dd HH:mm:ss`, from
/// `Calendar.dateComponents(in:from:)`: the independent check that a fire really is
/// at the wall time asked for.
func wallClock(_ date: Date, in timeZone: TimeZone) -> String {
    let parts = Calendar(identifier: .gregorian).dateComponents(in: timeZone, from: date)
    func two(_ value: Int?) -> String { value.map { $0 < 10 ? "0\($0)" : "\($0)" } ?? "??" }
    return "\(parts.year ?? 0)-\(two(parts.month))-\(two(parts.day)) \(two(parts.hour)):\(two(parts.minute)):\(two(parts.second))"
}
