import Foundation
import IngestionModel

/// A standard five-field cron expression, `minute hour day-of-month month day-of-week`,
/// parsed once and kept as the set of values each field allows.
///
/// Owns the syntax (numbers, `*`, ranges, steps, lists, month and day names, the `@`
/// macros) and the rule for combining the two day fields. Turning it into instants in
/// a time zone is `nextFire(after:in:)`, in CronExpression+NextFire.swift.
public struct CronExpression: Sendable, Hashable, CustomStringConvertible {
    /// The expression as written, trimmed; for messages and metric labels.
    public let text: String

    let minutes: CronValueSet
    let hours: CronValueSet
    let daysOfMonth: CronValueSet
    let months: CronValueSet
    /// 0 = Sunday … 6 = Saturday (a 7 in the text is stored as 0).
    let daysOfWeek: CronValueSet
    /// Vixie cron's rule: when both day fields are restricted (neither starts with `*`),
    /// a day matches if either field matches; otherwise both must match.
    let matchesEitherDayField: Bool

    /// Whether some date matches, which is all it takes for the expression to fire.
    ///
    /// Exact, without searching: every parsed field allows at least one value, so only
    /// the day fields can rule out every date. With Vixie's either-day rule, every month
    /// has every weekday. Otherwise some allowed month must have an allowed day of the
    /// month (29 February counts), and that date then falls on every weekday within one
    /// 400-year Gregorian cycle — including on one the day-of-week field allows, which
    /// is never empty (when it starts with `*` it allows Sunday, and when day-of-month
    /// starts with `*` it allows the 1st, which every month has).
    public let canEverFire: Bool

    /// Parses `text`, which is five fields separated by runs of spaces or tabs, or one
    /// of the macros `@yearly`, `@annually`, `@monthly`, `@weekly`, `@daily`,
    /// `@midnight`, `@hourly`. Names and macros are case-insensitive.
    ///
    /// An expression that parses may still never fire (`0 0 30 2 *`); `validate()` says so.
    public init(parsing text: String) throws(CronError) {
        self.text = text.trimmingCharacters(in: .whitespacesAndNewlines)
        var words = self.text.split(whereSeparator: \.isWhitespace)
        if let first = words.first, first.hasPrefix("@") {
            guard let expansion = Self.expansion(ofMacro: first) else { throw .unknownMacro(String(first)) }
            guard words.count == 1 else { throw .macroNotAlone(String(first)) }
            words = expansion.split(separator: " ")
        }
        guard words.count == 5 else { throw .wrongFieldCount(found: words.count) }
        minutes = try CronFieldParser.values(of: words[0], as: .minute)
        hours = try CronFieldParser.values(of: words[1], as: .hour)
        daysOfMonth = try CronFieldParser.values(of: words[2], as: .dayOfMonth)
        months = try CronFieldParser.values(of: words[3], as: .month)
        daysOfWeek = try CronFieldParser.values(of: words[4], as: .dayOfWeek)
        matchesEitherDayField = !words[2].hasPrefix("*") && !words[4].hasPrefix("*")
        // Some allowed month is at least as long (29 days for February) as the smallest allowed day.
        let smallestDay = daysOfMonth.first(atLeast: 1) ?? 32
        canEverFire = matchesEitherDayField
            || months.values.contains { CivilDate.numberOfDays(inMonth: $0, of: 2000) >= smallestDay }
    }

    public var description: String { text }

    /// The values `field` allows, in increasing order; day-of-week lists Sunday as 0.
    public func allowedValues(in field: CronField) -> [Int] {
        switch field {
        case .minute: minutes.values
        case .hour: hours.values
        case .dayOfMonth: daysOfMonth.values
        case .month: months.values
        case .dayOfWeek: daysOfWeek.values
        }
    }

    /// Throws `CronError.neverFires` for an expression that no date matches, such as
    /// `0 0 30 2 *` (30 February), so a config checker can reject it.
    ///
    /// Time-zone independent on purpose: a zone can skip a wall time (a DST gap) but no
    /// zone skips a given date in every year, so a date that matches yields a fire.
    public func validate() throws(CronError) {
        guard canEverFire else {
            throw .neverFires(expression: text.split(whereSeparator: \.isWhitespace).joined(separator: " "))
        }
    }

    /// Whether `date` satisfies the day-of-month, month and day-of-week fields.
    func matchesDay(_ date: CivilDate) -> Bool {
        guard months.contains(date.month) else { return false }
        let dayOfMonthMatches = daysOfMonth.contains(date.day)
        let dayOfWeekMatches = daysOfWeek.contains(date.weekday)
        return matchesEitherDayField ? dayOfMonthMatches || dayOfWeekMatches : dayOfMonthMatches && dayOfWeekMatches
    }

    // MARK: - Macros

    private static let macros: [(name: String, expansion: String)] = [
        ("@yearly", "0 0 1 1 *"),
        ("@annually", "0 0 1 1 *"),
        ("@monthly", "0 0 1 * *"),
        ("@weekly", "0 0 * * 0"),
        ("@daily", "0 0 * * *"),
        ("@midnight", "0 0 * * *"),
        ("@hourly", "0 * * * *"),
    ]

    /// The supported macros, for messages.
    static var macroNames: [String] { macros.map(\.name) }

    private static func expansion(ofMacro word: Substring) -> String? {
        let name = word.lowercased()
        return macros.first { $0.name == name }?.expansion
    }
}
