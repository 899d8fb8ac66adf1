import Foundation

/// The one way this project writes and reads a moment: RFC 3339 in UTC with
/// milliseconds and `Z` (`2026-11-29T08:00:00.000Z`), as Prometheus' own logs do.
/// API bodies, log lines, reports and the status page all go through here.
/// The format styles are value types, safe to use from any thread.
public enum Timestamp {
    private static let withMilliseconds = Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: .gmt)
    private static let withoutFraction = Date.ISO8601FormatStyle(timeZone: .gmt)
    private static let dayOnly = Date.ISO8601FormatStyle(timeZone: .gmt).year().month().day()
    private static let basic = Date.ISO8601FormatStyle(dateSeparator: .omitted, dateTimeSeparator: .standard,
                                                       timeSeparator: .omitted, timeZone: .gmt)

    /// `2026-11-29T08:00:00.000Z`.
    public static func rfc3339(_ date: Date) -> String { withMilliseconds.format(date) }

    /// `20261129T080000Z`: ISO 8601's basic format, for file names.
    public static func basicFormat(_ date: Date) -> String { basic.format(date) }

    /// The UTC day, `2026-11-29`.
    public static func day(_ date: Date) -> String { dayOnly.format(date) }

    /// Midnight UTC of a `2026-11-29` day, or nil.
    public static func startOfDay(_ day: String) -> Date? { try? dayOnly.parse(day) }

    /// What a person may type for a moment: RFC 3339 (with or without fraction),
    /// a UTC day (`2026-11-01`), or Unix seconds.
    public static func parse(_ text: String) -> Date? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if let seconds = Double(trimmed), seconds.isFinite { return Date(timeIntervalSince1970: seconds) }
        if let date = try? withMilliseconds.parse(trimmed) { return date }
        if let date = try? withoutFraction.parse(trimmed) { return date }
        return startOfDay(trimmed)
    }
}
