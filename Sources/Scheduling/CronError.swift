import Foundation
import IngestionModel

/// Why a cron expression was rejected, or why it can never fire.
///
/// `description` is one line that names the field and what is wrong with it, meant
/// to be shown as is next to the config key, e.g.
/// `minute field "61": 61 is out of range 0-59`. `localizedDescription` says the same.
public enum CronError: LocalizedError, Equatable, Sendable, CustomStringConvertible {
    /// Not five whitespace-separated fields (and not a macro).
    case wrongFieldCount(found: Int)
    /// A word starting with `@` that is not one of the supported macros.
    case unknownMacro(String)
    /// A macro followed by more words, e.g. `@daily 5`.
    case macroNotAlone(String)
    /// One field could not be read; `text` is that field as written.
    case invalidField(CronField, text: String, problem: CronFieldProblem)
    /// The expression is well formed but no date matches it, e.g. `0 0 30 2 *`.
    case neverFires(expression: String)

    public var description: String {
        switch self {
        case .wrongFieldCount(let found):
            "expected 5 fields (minute hour day-of-month month day-of-week), got \(found)"
        case .unknownMacro(let macro):
            "unknown macro \(quoted(macro)); expected one of \(CronExpression.macroNames.joined(separator: ", "))"
        case .macroNotAlone(let macro):
            "\(quoted(macro)) must stand alone: a macro replaces all five fields"
        case .invalidField(let field, let text, let problem):
            "\(field.name) field \(quoted(text)): \(problem.explanation(in: field))"
        case .neverFires(let expression):
            "\(quoted(expression)) never fires: no date has both that day of the month and that month"
        }
    }

    public var errorDescription: String? { description }
}

/// What is wrong inside one field of a cron expression. (An `Error` only so the parser
/// can throw it internally; callers see it inside `CronError.invalidField`.)
public enum CronFieldProblem: Error, Equatable, Sendable {
    /// Two commas in a row, or a leading or trailing comma.
    case emptyListItem
    /// A value that is neither a number nor, where allowed, a month or day name.
    case notAValue(String)
    /// A number outside `CronField.range`, as written (it may be too large for an Int).
    case outOfRange(String)
    /// A `-` with nothing on one side, e.g. `MON-`.
    case incompleteRange
    /// A range whose start is after its end, e.g. `5-1`; cron does not wrap around.
    case reversedRange(start: String, end: String)
    /// A step that is missing, zero or not a whole number, e.g. `*/0`.
    case invalidStep
    /// A `/` with nothing before it, e.g. `/5`.
    case missingStepStart
    /// A `*` used as part of a range, e.g. `*-5`.
    case misplacedWildcard

    func explanation(in field: CronField) -> String {
        let range = field.range
        switch self {
        case .emptyListItem:
            return "empty list item"
        case .notAValue(let text):
            return "\(quoted(text)) is not \(field.valueSyntax)"
        case .outOfRange(let text):
            return "\(clipped(text)) is out of range \(range.lowerBound)-\(range.upperBound)"
        case .incompleteRange:
            return "incomplete range"
        case .reversedRange(let start, let end):
            // Say how to get the wrap-around the person most likely meant.
            return "range \(clipped(start))-\(clipped(end)) is reversed; to wrap around, write "
                + "\(clipped(start))-\(range.upperBound),\(range.lowerBound)-\(clipped(end))"
        case .invalidStep:
            return "step must be a whole number ≥ 1"
        case .missingStepStart:
            return "a step needs a start, as in */5 or 10/5"
        case .misplacedWildcard:
            return "\"*\" must stand alone or be followed by a step, as in */5"
        }
    }
}

/// Text quoted for a one-line message, cut short so that a pasted blob cannot flood a log line.
func quoted(_ text: String) -> String {
    "\"\(clipped(text))\""
}

/// `text` cut to a readable length, with `…` when something was dropped.
func clipped(_ text: String, maximumLength: Int = 40) -> String {
    text.count <= maximumLength ? text : String(text.prefix(maximumLength)) + "…"
}
