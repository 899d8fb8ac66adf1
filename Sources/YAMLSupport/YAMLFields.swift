import Foundation
import IngestionModel
import Yams

/// Typed reads from a YAML document that collect every problem with its file,
/// line and key, so that one run of `check-config` names them all.
public final class YAMLFields {
    public let file: String
    public private(set) var problems: [String] = []
    private let environment: [String: String]

    public init(file: String, environment: [String: String] = [:]) {
        self.file = file
        self.environment = environment
    }

    /// The document's top-level mapping, or nil (with a problem recorded).
    public func root(of text: String) -> Node.Mapping? {
        do {
            guard let node = try Yams.compose(yaml: text) else {
                problems.append("\(file): the file is empty")
                return nil
            }
            guard let mapping = node.mapping else {
                problem(node, "(top level)", "expected a mapping of keys")
                return nil
            }
            return mapping
        } catch let error as YamlError {
            problems.append("\(file): not valid YAML: \(Self.oneLine(error))")
        } catch {
            problems.append("\(file): not valid YAML: \(error)")
        }
        return nil
    }

    public func problem(_ node: Node?, _ key: String, _ why: String) {
        let line = node?.mark.map { ":\($0.line)" } ?? ""
        problems.append("\(file)\(line): \(key): \(why)")
    }

    /// Flags keys this reader does not know (a typo would otherwise be ignored).
    public func allowOnly(_ keys: Set<String>, in mapping: Node.Mapping, path: String) {
        for (key, _) in mapping {
            guard let name = key.string, !keys.contains(name) else { continue }
            problem(key, path.isEmpty ? name : "\(path).\(name)",
                    "unknown key; expected one of \(keys.sorted().joined(separator: ", "))")
        }
    }

    public func string(_ mapping: Node.Mapping?, _ key: String, path: String, required: Bool = false,
                       parent: Node? = nil) -> String? {
        guard let node = mapping?[key] else {
            if required { problem(parent, qualified(path, key), "is required") }
            return nil
        }
        guard let raw = node.scalar?.string else {
            problem(node, qualified(path, key), "must be a string")
            return nil
        }
        guard let expanded = expand(raw, node: node, key: qualified(path, key)) else { return nil }
        if required && expanded.isEmpty {
            problem(node, qualified(path, key), "must not be empty")
            return nil
        }
        return expanded
    }

    public func int(_ mapping: Node.Mapping?, _ key: String, path: String, range: ClosedRange<Int>) -> Int? {
        guard let node = mapping?[key] else { return nil }
        guard let value = node.int, range.contains(value) else {
            problem(node, qualified(path, key), "must be a whole number from \(range.lowerBound) to \(range.upperBound)")
            return nil
        }
        return value
    }

    public func double(_ mapping: Node.Mapping?, _ key: String, path: String, minimum: Double = 0) -> Double? {
        guard let node = mapping?[key] else { return nil }
        guard let value = node.float, value >= minimum, value.isFinite else {
            problem(node, qualified(path, key), "must be a number ≥ \(minimum)")
            return nil
        }
        return value
    }

    public func bool(_ mapping: Node.Mapping?, _ key: String, path: String) -> Bool? {
        guard let node = mapping?[key] else { return nil }
        guard let value = node.bool else {
            problem(node, qualified(path, key), "must be true or false")
            return nil
        }
        return value
    }

    public func duration(_ mapping: Node.Mapping?, _ key: String, path: String, minimum: Duration = .zero) -> Duration? {
        guard let node = mapping?[key] else { return nil }
        guard let text = node.string, let value = DurationText.parse(text), value >= minimum else {
            problem(node, qualified(path, key),
                    "must be a duration such as 500ms, 30s, 5m, 1h or 400d" + (minimum > .zero ? ", at least \(DurationText.format(minimum))" : ""))
            return nil
        }
        return value
    }

    public func stringList(_ mapping: Node.Mapping?, _ key: String, path: String) -> [String]? {
        guard let node = mapping?[key] else { return nil }
        guard let items = node.sequence else {
            problem(node, qualified(path, key), "must be a list of strings")
            return nil
        }
        return items.compactMap { item in
            guard let text = item.string, !text.isEmpty else {
                problem(item, qualified(path, key), "must be a list of non-empty strings")
                return nil
            }
            return text
        }
    }

    /// Replaces each `${VAR}` with the environment's value.
    private func expand(_ text: String, node: Node, key: String) -> String? {
        guard text.contains("${") else { return text }
        var result = ""
        var rest = Substring(text)
        while let start = rest.range(of: "${") {
            result += rest[..<start.lowerBound]
            guard let end = rest[start.upperBound...].firstIndex(of: "}") else {
                problem(node, key, "unterminated ${ in \"\(text)\"")
                return nil
            }
            let name = String(rest[start.upperBound..<end])
            guard let value = environment[name] else {
                problem(node, key, "environment variable \(name) is not set")
                return nil
            }
            result += value
            rest = rest[rest.index(after: end)...]
        }
        return result + rest
    }

    private func qualified(_ path: String, _ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    private static func oneLine(_ error: Error) -> String {
        String(describing: error).split(whereSeparator: \.isNewline).first.map(String.init) ?? "\(error)"
    }
}
