/// Writes the Prometheus text format 0.0.4 into a malloc'd buffer that can be
/// handed over whole (to libmicrohttpd, say) without a copy: at 100k series an
/// exposition is ~10 MB, and every copy of it counts in resident memory.
public struct ExpositionWriter: ~Copyable {
    private var base: UnsafeMutablePointer<UInt8>
    public private(set) var count = 0
    private var capacity: Int

    public init(capacity: Int = 1 << 16) {
        self.capacity = max(capacity, 64)
        base = malloc(self.capacity)!.assumingMemoryBound(to: UInt8.self)
    }

    deinit { free(base) }

    /// A copy of what was written (for tests and small outputs).
    public var bytes: [UInt8] { Array(UnsafeBufferPointer(start: base, count: count)) }

    public mutating func reserve(_ additional: Int) { grow(to: count + additional) }

    /// Hands the buffer over: the caller frees it with `free`.
    public consuming func takeBuffer() -> (pointer: UnsafeMutableRawPointer, count: Int) {
        let result = (UnsafeMutableRawPointer(base), count)
        discard self
        return result
    }

    private mutating func grow(to needed: Int) {
        guard needed > capacity else { return }
        capacity = max(needed, capacity + capacity / 2)
        base = realloc(base, capacity)!.assumingMemoryBound(to: UInt8.self)
    }

    private mutating func appendBytes(_ source: UnsafeRawBufferPointer) {
        grow(to: count + source.count)
        if source.count > 0 { (base + count).update(from: source.baseAddress!.assumingMemoryBound(to: UInt8.self), count: source.count) }
        count += source.count
    }

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
        text.withUTF8 { appendBytes(UnsafeRawBufferPointer($0)) }
    }

    private mutating func newline() {
        grow(to: count + 1)
        base[count] = UInt8(ascii: "\n")
        count += 1
    }

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
