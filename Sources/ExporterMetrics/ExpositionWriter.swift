import Foundation

/// Writes exposition lines (text 0.0.4 or OpenMetrics) into a malloc'd buffer
/// that can be handed over whole without a copy: every copy of an exposition
/// counts in resident memory.
struct ExpositionWriter: ~Copyable {
    private var base: UnsafeMutablePointer<UInt8>
    private(set) var count = 0
    private var capacity: Int

    init(capacity: Int = 1 << 16) {
        self.capacity = max(capacity, 64)
        base = malloc(self.capacity)!.assumingMemoryBound(to: UInt8.self)
    }

    deinit { free(base) }

    /// A copy of what was written (for tests and small outputs).
    var bytes: [UInt8] { Array(UnsafeBufferPointer(start: base, count: count)) }

    /// Hands the buffer over, trimmed to what was written: the caller frees it with `free`.
    consuming func takeBuffer() -> (pointer: UnsafeMutableRawPointer, count: Int) {
        let trimmed = count < capacity ? realloc(base, max(count, 1)) ?? UnsafeMutableRawPointer(base) : UnsafeMutableRawPointer(base)
        let result = (trimmed, count)
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

    // MARK: - Lines

    /// The metadata lines of a family. Text: HELP and TYPE under the sample name.
    /// OpenMetrics: the same order (so a gauge's lines are the same bytes in both),
    /// under the family name (a counter's without `_total`), then UNIT when the name ends with one.
    mutating func header(_ family: MetricFamily, _ format: ExpositionFormat) {
        let name = format == .text ? family.name : family.openMetricsName
        append("# HELP "); append(name); append(" "); append(Self.escapeHelp(family.help, format)); newline()
        append("# TYPE "); append(name); append(" "); append(family.kind.rawValue); newline()
        if format == .openMetrics, let unit = family.unit {
            append("# UNIT "); append(name); append(" "); append(unit); newline()
        }
    }

    /// One sample: `name{labels,extra,extra2} value`. `labels` is rendered
    /// (`a="x",b="y"`) and may be empty; each `extra` is empty or starts with a comma.
    mutating func sample(_ name: String, suffix: String = "", _ labels: String = "", _ extra: String = "",
                         _ extra2: String = "", value: Int, exemplar: Exemplar? = nil) {
        labelled(name, suffix, labels, extra, extra2)
        append(String(value))
        finish(exemplar)
    }

    mutating func sample(_ name: String, suffix: String = "", _ labels: String = "", _ extra: String = "",
                         _ extra2: String = "", value: Double, exemplar: Exemplar? = nil) {
        labelled(name, suffix, labels, extra, extra2)
        number(value)
        finish(exemplar)
    }

    private mutating func labelled(_ name: String, _ suffix: String, _ labels: String, _ extra: String, _ extra2: String) {
        append(name)
        if !suffix.isEmpty { append(suffix) }
        if !labels.isEmpty {
            append("{"); append(labels)
            if !extra.isEmpty { append(extra) }
            if !extra2.isEmpty { append(extra2) }
            append("}")
        }
        append(" ")
    }

    /// Ends a sample line, with its exemplar (OpenMetrics only: callers pass none for text).
    private mutating func finish(_ exemplar: Exemplar?) {
        if let exemplar {
            append(" # {"); append(exemplar.labels); append("} "); number(exemplar.value)
            append(" "); number(exemplar.timestamp)
        }
        newline()
    }

    /// Go's formatting of floats as Prometheus clients write them, without
    /// needless exponents for whole numbers.
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

    // MARK: - Escaping

    /// `name="value"` pairs with the escaping of `\`, `"` and newlines both formats share.
    static func labels(_ pairs: [(String, String)]) -> String {
        pairs.map { "\($0.0)=\"\(escapeLabel($0.1))\"" }.joined(separator: ",")
    }

    static func escapeLabel(_ value: String) -> String {
        guard value.contains(where: { $0 == "\\" || $0 == "\"" || $0 == "\n" }) else { return value }
        return value.replacingOccurrences(of: "\\", with: "\\\\")
            .replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }

    /// Text 0.0.4 escapes `\` and newlines in HELP; OpenMetrics also `"`.
    static func escapeHelp(_ text: String, _ format: ExpositionFormat) -> String {
        var escaped = text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\n", with: "\\n")
        if format == .openMetrics { escaped = escaped.replacingOccurrences(of: "\"", with: "\\\"") }
        return escaped
    }
}
