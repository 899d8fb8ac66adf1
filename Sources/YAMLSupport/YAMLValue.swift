import Yams

/// One node of a YAML document with the line it starts on. Wraps Yams, whose
/// types stay inside this module.
public struct YAMLValue {
    let node: Node

    /// 1-based, when known.
    public var line: Int? { node.mark?.line }

    /// The scalar's text (for a string, number or boolean), nil for a list or a mapping.
    public var scalar: String? { node.scalar?.string }
    public var int: Int? { node.int }
    public var double: Double? { node.float }
    public var bool: Bool? { node.bool }

    public var sequence: [YAMLValue]? { node.sequence.map { $0.map(YAMLValue.init) } }

    /// The entries of a mapping, in document order; nil when not a mapping.
    public var entries: [(key: YAMLValue, value: YAMLValue)]? {
        node.mapping.map { mapping in mapping.map { (YAMLValue(node: $0.key), YAMLValue(node: $0.value)) } }
    }

    public var isMapping: Bool { node.mapping != nil }

    /// The value of `key` in a mapping.
    public subscript(key: String) -> YAMLValue? { node.mapping?[key].map(YAMLValue.init) }

    /// The document's top node, or why the text is not YAML (one line).
    static func parse(_ text: String) -> Result<YAMLValue?, YAMLSyntaxError> {
        do {
            return .success(try Yams.compose(yaml: text).map(YAMLValue.init))
        } catch {
            let line = String(describing: error).split(whereSeparator: \.isNewline).first.map(String.init) ?? "\(error)"
            return .failure(YAMLSyntaxError(description: line))
        }
    }
}

struct YAMLSyntaxError: Error, CustomStringConvertible {
    let description: String
}
