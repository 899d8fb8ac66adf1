/// How the project's messages list the values a setting accepts.
public enum Alternatives {
    /// `a or b`, `a, b or c`; with four or more, `one of a, b, c, d`.
    public static func list(_ values: [String]) -> String {
        guard values.count > 1 else { return values.first ?? "" }
        if values.count > 3 { return "one of " + values.joined(separator: ", ") }
        return values.dropLast().joined(separator: ", ") + " or " + values.last!
    }
}
