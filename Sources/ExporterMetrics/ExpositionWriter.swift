/// Writes the Prometheus text format 0.0.4 into a byte buffer.
public struct ExpositionWriter {
    public private(set) var bytes: [UInt8] = []

    public init(capacity: Int = 1 << 16) { bytes.reserveCapacity(capacity) }

    public mutating func reserve(_ additional: Int) { bytes.reserveCapacity(bytes.count + additional) }

    public mutating func family(_ name: String, _ type: String, _ help: String) {
        append("# HELP "); append(name); append(" "); append(Self.escapeHelp(help)); newline()
        append("# TYPE "); append(name); append(" "); append(type); newline()
    }

    /// One sample; `labels` is already rendered (`a="x",b="y"`), may be empty.
    public mutating func sample(_ name: String, _ labels: String, _ value: Double) {
        append(name)
        if !labels.isEmpty { append("{"); append(labels); append("}") }
        append(" "); number(value); newline()
    }

    public mutating func sample(_ name: String, _ labels: String, _ value: Int) {
        append(name)
        if !labels.isEmpty { append("{"); append(labels); append("}") }
        append(" "); append(String(value)); newline()
    }

    mutating func number(_ value: Double) {
        if value.isNaN { append("NaN") }
        else if value == .infinity { append("+Inf") }
        else if value == -.infinity { append("-Inf") }
        else if value == value.rounded(), abs(value) < 1e15 { append(String(Int64(value))) }
        else { append(String(value)) }
    }

    mutating func append(_ text: String) {
        var text = text
        text.withUTF8 { bytes.append(contentsOf: $0) }
    }

    private mutating func newline() { bytes.append(UInt8(ascii: "\n")) }

    /// `name="value"` pairs with the format's escaping of `\`, `"` and newlines.
    public static func labels(_ pairs: [(String, String)]) -> String {
        pairs.map { "\($0.0)=\"\(escapeLabel($0.1))\"" }.joined(separator: ",")
    }

    static func escapeLabel(_ value: String) -> String {
        guard value.contains(where: { $0 == "\\" || $0 == "\"" || $0 == "\n" }) else { return value }
        return value.replacingOccurrences(of: "\\", with: "\\\\")
            .replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }

    static func escapeHelp(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\n", with: "\\n")
    }
}

import Foundation
