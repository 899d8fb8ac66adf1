/// One of the five fields of a cron expression, in the order they are written:
/// `minute hour day-of-month month day-of-week`.
///
/// Owns what is true of a field regardless of any expression: its name as people
/// write it in messages, the values it accepts and the names that stand for numbers.
public enum CronField: String, CaseIterable, Sendable {
    case minute
    case hour
    case dayOfMonth = "day-of-month"
    case month
    case dayOfWeek = "day-of-week"

    /// The name used in error messages, e.g. `day-of-month`.
    public var name: String { rawValue }

    /// The values a number in this field may take. Day-of-week accepts 7 as well as 0
    /// for Sunday, as Vixie cron does; both are stored as 0.
    public var range: ClosedRange<Int> {
        switch self {
        case .minute: 0...59
        case .hour: 0...23
        case .dayOfMonth: 1...31
        case .month: 1...12
        case .dayOfWeek: 0...7
        }
    }

    /// Three-letter names that stand for numbers, upper-cased; the first stands for `range.lowerBound`.
    var valueNames: [String] {
        switch self {
        case .month: ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
        case .dayOfWeek: ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]
        case .minute, .hour, .dayOfMonth: []
        }
    }

    /// The number a name stands for, case-insensitively (`"mon"` → 1), or nil.
    func value(named name: String) -> Int? {
        // Compare ASCII only: upper-casing arbitrary Unicode could turn a foreign
        // letter into one that spells a name.
        guard name.utf8.count == 3, name.allSatisfy(\.isASCII) else { return nil }
        return valueNames.firstIndex(of: name.uppercased()).map { $0 + range.lowerBound }
    }

    /// What a single value may look like, for "is not a number" messages.
    var valueSyntax: String {
        switch self {
        case .month: "a number or month name (JAN-DEC)"
        case .dayOfWeek: "a number or day name (SUN-SAT)"
        case .minute, .hour, .dayOfMonth: "a number"
        }
    }
}
