/// Bucket counts (not cumulative), sum and count of one histogram series.
struct Histogram: Sendable {
    var counts: [Int]
    var sum: Double = 0

    init(bucketCount: Int) { counts = Array(repeating: 0, count: bucketCount + 1) }

    var count: Int { counts.reduce(0, +) }

    mutating func observe(_ value: Double, bounds: [Double]) {
        let index = bounds.firstIndex { value <= $0 } ?? bounds.count
        counts[index] += 1
        sum += value
    }

    /// Adds `count` observations that fell at or under `upperBound` (and over the previous bound).
    mutating func add(count: Int, upperBound: Double, bounds: [Double]) {
        let index = bounds.firstIndex { upperBound <= $0 } ?? bounds.count
        counts[index] += count
    }

    func write(_ name: String, labels: String, boundLabels: [String], into writer: inout ExpositionWriter) {
        var cumulative = 0
        let prefix = labels.isEmpty ? "" : labels + ","
        for (index, bound) in boundLabels.enumerated() {
            cumulative += counts[index]
            writer.sample(name + "_bucket", prefix + bound, cumulative)
        }
        writer.sample(name + "_sum", labels, sum)
        writer.sample(name + "_count", labels, cumulative)
    }

    /// `le="30"` … `le="+Inf"`, rendered once.
    static func boundLabels(_ bounds: [Double]) -> [String] {
        bounds.map { bound in
            var writer = ExpositionWriter(capacity: 16)
            writer.number(bound)
            return "le=\"" + String(decoding: writer.bytes, as: UTF8.self) + "\""
        } + ["le=\"+Inf\""]
    }
}
