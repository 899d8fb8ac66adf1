/// Reads the text of one field (`*/15`, `MON-FRI`, `1,15,20-25/2`) into the set of
/// values it allows.
///
/// Grammar, per comma-separated item: `*`, `a`, `a-b`, each optionally followed by
/// `/step`; `a/step` means `a-max/step`. Values are decimal numbers or, in the month
/// and day-of-week fields, three-letter names in any case.
enum CronFieldParser {
    static func values(of text: Substring, as field: CronField) throws(CronError) -> CronValueSet {
        func fail(_ problem: CronFieldProblem) -> CronError {
            .invalidField(field, text: String(text), problem: problem)
        }
        var result = CronValueSet()
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            do {
                result.formUnion(try values(ofItem: item, as: field))
            } catch {
                throw fail(error)
            }
        }
        if field == .dayOfWeek, result.contains(7) {
            // 7 is Sunday too; keep one spelling so matching only looks at 0...6.
            result.remove(7)
            result.insert(0)
        }
        return result
    }

    private static func values(ofItem item: Substring, as field: CronField) throws(CronFieldProblem) -> CronValueSet {
        guard !item.isEmpty else { throw .emptyListItem }
        let (base, step) = try split(item)
        let bounds = try bounds(of: base, as: field, hasStep: step != nil)
        return CronValueSet(stride(from: bounds.lowerBound, through: bounds.upperBound, by: step ?? 1))
    }

    /// Splits `base/step` and reads the step.
    private static func split(_ item: Substring) throws(CronFieldProblem) -> (base: Substring, step: Int?) {
        guard let slash = item.firstIndex(of: "/") else { return (item, nil) }
        let base = item[..<slash]
        guard !base.isEmpty else { throw .missingStepStart }
        guard let step = wholeNumber(item[item.index(after: slash)...]), step >= 1 else { throw .invalidStep }
        return (base, step)
    }

    /// The first and last value of `*`, `a` or `a-b`.
    private static func bounds(of base: Substring, as field: CronField, hasStep: Bool) throws(CronFieldProblem) -> ClosedRange<Int> {
        let range = field.range
        if base == "*" { return range }
        guard !base.contains("*") else { throw .misplacedWildcard }
        guard let dash = base.firstIndex(of: "-") else {
            let start = try value(of: base, as: field)
            // `a/n` is `a-max/n`, as in Vixie cron.
            return hasStep ? start...range.upperBound : start...start
        }
        let startText = base[..<dash]
        let endText = base[base.index(after: dash)...]
        guard !startText.isEmpty, !endText.isEmpty else { throw .incompleteRange }
        let start = try value(of: startText, as: field)
        var end = try value(of: endText, as: field)
        if field == .dayOfWeek, end == 0, start > 0 {
            // `FRI-SUN` reads naturally; Sunday at the end of a range is day 7.
            end = 7
        }
        guard start <= end else { throw .reversedRange(start: String(startText), end: String(endText)) }
        return start...end
    }

    /// A number or a name, checked against the field's range.
    private static func value(of text: Substring, as field: CronField) throws(CronFieldProblem) -> Int {
        if let number = wholeNumber(text) {
            guard field.range.contains(number) else { throw .outOfRange(String(text)) }
            return number
        }
        if let named = field.value(named: String(text)) { return named }
        throw .notAValue(String(text))
    }

    /// The value of a run of ASCII digits, saturating at a bound far above any field's
    /// range so that a huge number is reported as out of range instead of overflowing;
    /// nil when `text` is empty or holds anything but `0`-`9`.
    private static func wholeNumber(_ text: Substring) -> Int? {
        guard !text.isEmpty else { return nil }
        var number = 0
        for byte in text.utf8 {
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
            number = min(number * 10 + Int(byte - UInt8(ascii: "0")), 1_000_000)
        }
        return number
    }
}
