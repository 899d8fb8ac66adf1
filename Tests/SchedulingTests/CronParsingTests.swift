import Foundation
import IngestionModel
import Scheduling
import Testing

@Suite("Parsing cron expressions")
struct CronParsingTests {
    /// A valid expression and the values each field allows; nil means the whole range.
    struct Valid: CustomTestStringConvertible, Sendable {
        let text: String
        var minute: [Int]? = nil
        var hour: [Int]? = nil
        var dayOfMonth: [Int]? = nil
        var month: [Int]? = nil
        var dayOfWeek: [Int]? = nil
        var testDescription: String { "\"\(text)\"" }

        func expected(_ field: CronField) -> [Int] {
            let given: [Int]? = switch field {
            case .minute: minute
            case .hour: hour
            case .dayOfMonth: dayOfMonth
            case .month: month
            case .dayOfWeek: dayOfWeek
            }
            // The whole day-of-week range lists Sunday once, as 0.
            return given ?? Array(field == .dayOfWeek ? 0...6 : field.range)
        }
    }

    static let valid: [Valid] = [
        Valid(text: "* * * * *"),
        Valid(text: "0 0 1 1 *", minute: [0], hour: [0], dayOfMonth: [1], month: [1]),
        Valid(text: "*/15 * * * *", minute: [0, 15, 30, 45]),
        Valid(text: "5/15 * * * *", minute: [5, 20, 35, 50]),
        Valid(text: "10-20/5 * * * *", minute: [10, 15, 20]),
        Valid(text: "1,2,5-7 * * * *", minute: [1, 2, 5, 6, 7]),
        Valid(text: "*/100 * * * *", minute: [0]),
        Valid(text: "00 05 * * *", minute: [0], hour: [5]),
        Valid(text: "59 23 31 12 *", minute: [59], hour: [23], dayOfMonth: [31], month: [12]),
        Valid(text: "0 9-17/4 * * *", minute: [0], hour: [9, 13, 17]),
        Valid(text: "* * 1-31/10 * *", dayOfMonth: [1, 11, 21, 31]),
        Valid(text: "* * * JAN,jul *", month: [1, 7]),
        Valid(text: "* * * Mar-May *", month: [3, 4, 5]),
        Valid(text: "* * * nov/1 *", month: [11, 12]),
        Valid(text: "* * * * mon-FRI", dayOfWeek: [1, 2, 3, 4, 5]),
        Valid(text: "* * * * 7", dayOfWeek: [0]),
        Valid(text: "* * * * 0,7", dayOfWeek: [0]),
        Valid(text: "* * * * 5-7", dayOfWeek: [0, 5, 6]),
        Valid(text: "* * * * FRI-SUN", dayOfWeek: [0, 5, 6]),
        Valid(text: "* * * * */2", dayOfWeek: [0, 2, 4, 6]),
        Valid(text: "* * * * 1/2", dayOfWeek: [0, 1, 3, 5]),
        Valid(text: "* * * * sat,Sun", dayOfWeek: [0, 6]),
        Valid(text: "  0\t0   * *\t\t* ", minute: [0], hour: [0]),
        Valid(text: "@yearly", minute: [0], hour: [0], dayOfMonth: [1], month: [1]),
        Valid(text: "@annually", minute: [0], hour: [0], dayOfMonth: [1], month: [1]),
        Valid(text: "@monthly", minute: [0], hour: [0], dayOfMonth: [1]),
        Valid(text: "@weekly", minute: [0], hour: [0], dayOfWeek: [0]),
        Valid(text: "@daily", minute: [0], hour: [0]),
        Valid(text: "@midnight", minute: [0], hour: [0]),
        Valid(text: "@HOURLY", minute: [0]),
    ]

    @Test("a valid expression allows exactly the values it spells", arguments: valid)
    func validExpression(_ example: Valid) throws {
        let expression = try CronExpression(parsing: example.text)
        for field in CronField.allCases {
            #expect(expression.allowedValues(in: field) == example.expected(field), "\(field.name)")
        }
    }

    static let invalid: [(text: String, message: String)] = [
        ("", "expected 5 fields (minute hour day-of-month month day-of-week), got 0"),
        (" \t ", "expected 5 fields (minute hour day-of-month month day-of-week), got 0"),
        ("* * * *", "expected 5 fields (minute hour day-of-month month day-of-week), got 4"),
        ("0 * * * * 2026", "expected 5 fields (minute hour day-of-month month day-of-week), got 6"),
        ("61 * * * *", #"minute field "61": 61 is out of range 0-59"#),
        ("* 24 * * *", #"hour field "24": 24 is out of range 0-23"#),
        ("* * 0 * *", #"day-of-month field "0": 0 is out of range 1-31"#),
        ("* * * 13 *", #"month field "13": 13 is out of range 1-12"#),
        ("* * * * 8", #"day-of-week field "8": 8 is out of range 0-7"#),
        ("99999999999999999999999 * * * *",
         #"minute field "99999999999999999999999": 99999999999999999999999 is out of range 0-59"#),
        ("* * * * MON-", #"day-of-week field "MON-": incomplete range"#),
        ("-5 * * * *", #"minute field "-5": incomplete range"#),
        ("*/0 * * * *", #"minute field "*/0": step must be a whole number ≥ 1"#),
        ("*/ * * * *", #"minute field "*/": step must be a whole number ≥ 1"#),
        ("*/x * * * *", #"minute field "*/x": step must be a whole number ≥ 1"#),
        ("*/5/2 * * * *", #"minute field "*/5/2": step must be a whole number ≥ 1"#),
        ("/5 * * * *", #"minute field "/5": a step needs a start, as in */5 or 10/5"#),
        ("5-1 * * * *", #"minute field "5-1": range 5-1 is reversed; to wrap around, write 5-59,0-1"#),
        ("* 22-2 * * *", #"hour field "22-2": range 22-2 is reversed; to wrap around, write 22-23,0-2"#),
        ("* * * NOV-FEB *", #"month field "NOV-FEB": range NOV-FEB is reversed; to wrap around, write NOV-12,1-FEB"#),
        (",, * * * *", #"minute field ",,": empty list item"#),
        ("1, * * * *", #"minute field "1,": empty list item"#),
        ("*-5 * * * *", #"minute field "*-5": "*" must stand alone or be followed by a step, as in */5"#),
        ("1-2-3 * * * *", #"minute field "1-2-3": "2-3" is not a number"#),
        ("1.5 * * * *", #"minute field "1.5": "1.5" is not a number"#),
        ("🙂 * * * *", #"minute field "🙂": "🙂" is not a number"#),
        ("JAN * * * *", #"minute field "JAN": "JAN" is not a number"#),
        ("* * * FOO *", #"month field "FOO": "FOO" is not a number or month name (JAN-DEC)"#),
        ("* * * MON *", #"month field "MON": "MON" is not a number or month name (JAN-DEC)"#),
        ("* * * * MONDAY", #"day-of-week field "MONDAY": "MONDAY" is not a number or day name (SUN-SAT)"#),
        ("* * * * ５", #"day-of-week field "５": "５" is not a number or day name (SUN-SAT)"#),
        ("@reboot", #"unknown macro "@reboot"; expected one of @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly"#),
        ("@", #"unknown macro "@"; expected one of @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly"#),
        ("@daily 5", #""@daily" must stand alone: a macro replaces all five fields"#),
        (String(repeating: "7", count: 60) + " * * * *",
         #"minute field "7777777777777777777777777777777777777777…": 7777777777777777777777777777777777777777… is out of range 0-59"#),
    ]

    @Test("an invalid expression is rejected with a one-line message naming the field", arguments: invalid)
    func invalidExpression(_ text: String, message: String) {
        #expect {
            try CronExpression(parsing: text)
        } throws: { error in
            (error as? CronError)?.description == message
        }
    }

    @Test func theTextIsKeptAsWrittenButTrimmed() throws {
        #expect(try cron("  */5\t* * * *\n").text == "*/5\t* * * *")
        #expect(try cron("@daily").description == "@daily")
    }

    @Test func theErrorCarriesTheFieldAndProblemForCallers() {
        #expect(throws: CronError.invalidField(.minute, text: "61", problem: .outOfRange("61"))) {
            try CronExpression(parsing: "61 * * * *")
        }
    }

    @Test func theErrorMessageIsAlsoTheLocalizedDescription() {
        #expect(CronError.wrongFieldCount(found: 4).localizedDescription
            == "expected 5 fields (minute hour day-of-month month day-of-week), got 4")
    }

    /// Any mix of cron-looking tokens and junk either parses or throws a `CronError`
    /// with a one-line message; a parsed one answers `nextFire` without trapping.
    @Test func arbitraryInputNeverCrashes() {
        let tokens = ["*", "/", "-", ",", "0", "7", "59", "60", "31", "MON", "jan", "@daily", "@", " ", "\t",
                      "🙂", "99999999999999999999", "x", "\n", "SUN", "12", "1", "2"]
        var generator = SeededRandom(seed: 2026)
        for _ in 0..<5_000 {
            let length = Int(generator.next() % 16)
            let text = (0..<length).map { _ in tokens[Int(generator.next() % UInt64(tokens.count))] }.joined()
            do {
                let expression = try CronExpression(parsing: text)
                if let fire = expression.nextFire(after: instant("2026-01-01T00:00Z"), in: zone("Europe/Paris")) {
                    #expect(fire > instant("2026-01-01T00:00Z"), "\(text)")
                }
            } catch {
                #expect(!error.description.isEmpty && !error.description.contains("\n"), "\(text)")
            }
        }
    }
}
