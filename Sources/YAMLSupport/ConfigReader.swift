import IngestionModel

/// Reads a YAML file through tables of keys (`ConfigTable`), collecting every
/// problem with its file, line and key, so that one run of `check-config` names
/// them all. A problem never quotes the value it is about: a secret pasted into
/// the wrong key must not end up in a log line.
public final class ConfigReader {
    public let file: String
    public private(set) var problems: [String] = []
    private let environment: [String: String]

    public init(file: String, environment: [String: String] = [:]) {
        self.file = file
        self.environment = environment
    }

    /// Reads `text` into `value` through `table`; false (with problems recorded) when anything is wrong.
    @discardableResult
    public func read<Value>(_ text: String, into value: inout Value, table: ConfigTable<Value>) -> Bool {
        switch YAMLValue.parse(text) {
        case .failure(let error):
            problems.append("\(file): not valid YAML: \(error)")
        case .success(nil):
            problems.append("\(file): the file is empty")
        case .success(let root?):
            if root.isMapping {
                table.read(root, into: &value, path: "", reader: self)
            } else {
                problem(root, "(top level)", "expected a mapping of keys")
            }
        }
        return problems.isEmpty
    }

    public func problem(_ node: YAMLValue?, _ key: String, _ why: String) {
        let line = node?.line.map { ":\($0)" } ?? ""
        problems.append("\(file)\(line): \(key): \(why)")
    }

    // MARK: - Scalars, each recording a problem when it returns nil

    /// A string with each `${VAR}` replaced from the environment.
    public func string(_ node: YAMLValue, _ key: String) -> String? {
        guard let raw = node.scalar else {
            problem(node, key, "must be a string")
            return nil
        }
        return expand(raw, node: node, key: key)
    }

    public func duration(_ node: YAMLValue, _ key: String, minimum: Duration = .zero) -> Duration? {
        guard let text = node.scalar, let value = DurationText.parse(text), value >= minimum else {
            problem(node, key, "must be a duration such as 500ms, 30s, 5m, 1h or 400d"
                    + (minimum > .zero ? ", at least \(DurationText.format(minimum))" : ""))
            return nil
        }
        return value
    }

    public func int(_ node: YAMLValue, _ key: String, range: ClosedRange<Int>) -> Int? {
        guard let value = node.int, range.contains(value) else {
            problem(node, key, "must be a whole number from \(range.lowerBound) to \(range.upperBound)")
            return nil
        }
        return value
    }

    public func double(_ node: YAMLValue, _ key: String, minimum: Double, maximum: Double = .infinity) -> Double? {
        guard let value = node.double, value.isFinite, value >= minimum, value <= maximum else {
            problem(node, key, maximum.isFinite ? "must be a number from \(Self.number(minimum)) to \(Self.number(maximum))"
                                                : "must be a number ≥ \(Self.number(minimum))")
            return nil
        }
        return value
    }

    public func bool(_ node: YAMLValue, _ key: String) -> Bool? {
        guard let value = node.bool else {
            problem(node, key, "must be true or false")
            return nil
        }
        return value
    }

    public func stringList(_ node: YAMLValue, _ key: String) -> [String]? {
        guard let items = node.sequence else {
            problem(node, key, "must be a list of strings")
            return nil
        }
        var values: [String] = []
        for item in items {
            guard let text = item.scalar.flatMap({ expand($0, node: item, key: key) }), !text.isEmpty else {
                problem(item, key, "must be a list of non-empty strings")
                return nil
            }
            values.append(text)
        }
        return values
    }

    /// One of an enumeration's raw values.
    public func choice<Choice: RawRepresentable & CaseIterable>(_ node: YAMLValue, _ key: String) -> Choice?
        where Choice.RawValue == String {
        guard let value = node.scalar.flatMap(Choice.init(rawValue:)) else {
            problem(node, key, "must be \(Alternatives.list(Choice.allCases.map(\.rawValue)))")
            return nil
        }
        return value
    }

    private static func number(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }

    /// Replaces each `${VAR}` with the environment's value. The text itself is never
    /// quoted in a problem: it may be a secret.
    private func expand(_ text: String, node: YAMLValue, key: String) -> String? {
        guard text.contains("${") else { return text }
        var result = ""
        var rest = Substring(text)
        while let start = rest.range(of: "${") {
            result += rest[..<start.lowerBound]
            guard let end = rest[start.upperBound...].firstIndex(of: "}") else {
                problem(node, key, "unterminated ${ (write ${NAME} to read the environment variable NAME)")
                return nil
            }
            let name = String(rest[start.upperBound..<end])
            guard Self.isVariableName(name) else {
                problem(node, key, "${…} must hold an environment variable name (letters, digits and _)")
                return nil
            }
            guard let value = environment[name] else {
                problem(node, key, "environment variable \(name) is not set")
                return nil
            }
            result += value
            rest = rest[rest.index(after: end)...]
        }
        return result + rest
    }

    private static func isVariableName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, !("0"..."9").contains(first) else { return false }
        return name.unicodeScalars.allSatisfy {
            $0 == "_" || ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0)
        }
    }
}
