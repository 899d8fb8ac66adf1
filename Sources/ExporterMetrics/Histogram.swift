/// Bucket counts (not cumulative), sum and count of one histogram series, and
/// the latest exemplar of each bucket.
struct Histogram: Sendable {
    var counts: [Int]
    var sum: Double = 0
    /// Allocated on the first exemplar: exemplars live in memory only, so a
    /// histogram restored from the store has none until its next observation.
    var exemplars: [Exemplar?]?

    init(bucketCount: Int) { counts = Array(repeating: 0, count: bucketCount + 1) }

    var count: Int { counts.reduce(0, +) }

    mutating func observe(_ value: Double, bounds: [Double], exemplar: Exemplar? = nil) {
        let index = bounds.firstIndex { value <= $0 } ?? bounds.count
        counts[index] += 1
        sum += value
        if let exemplar {
            if exemplars == nil { exemplars = Array(repeating: nil, count: counts.count) }
            exemplars![index] = exemplar
        }
    }

    /// Adds `count` observations that fell at or under `upperBound` (and over the previous bound).
    mutating func add(count: Int, upperBound: Double, bounds: [Double]) {
        let index = bounds.firstIndex { upperBound <= $0 } ?? bounds.count
        counts[index] += count
    }

    /// The series' lines; in OpenMetrics each bucket carries its latest exemplar,
    /// and `created` (Unix time) follows as `_created`.
    func write(_ family: MetricFamily, labels: String, _ extra: String, bounds: [String], format: ExpositionFormat,
               created: Double, into writer: inout ExpositionWriter) {
        var cumulative = 0
        for index in counts.indices {
            cumulative += counts[index]
            writer.sample(family.name, suffix: "_bucket", labels, extra, bounds[index], value: cumulative,
                          exemplar: format == .openMetrics ? exemplars?[index] : nil)
        }
        writer.sample(family.name, suffix: "_sum", labels, extra, value: sum)
        writer.sample(family.name, suffix: "_count", labels, extra, value: cumulative)
        if format == .openMetrics { writer.sample(family.name, suffix: "_created", labels, extra, value: created) }
    }

    /// `,le="30"` … `,le="+Inf"`, rendered once.
    static func boundLabels(_ bounds: [Double]) -> [String] {
        bounds.map { bound in
            var writer = ExpositionWriter(capacity: 16)
            writer.number(bound)
            return ",le=\"" + String(decoding: writer.bytes, as: UTF8.self) + "\""
        } + [",le=\"+Inf\""]
    }
}

/// A request an OpenMetrics sample points to: `# {request_id="3520",batch_id="…"} 45 1764400000.5`.
struct Exemplar: Sendable, Equatable {
    /// Rendered label pairs.
    let labels: String
    let value: Double
    /// Unix time of the event.
    let timestamp: Double

    /// OpenMetrics caps an exemplar's label names and values at 128 UTF-8 characters
    /// together (code points): `batch_id` is left out when it would not fit, and an id that does not fit alone gives no exemplar.
    static let maxLabelCharacters = 128

    init?(requestID: String, batchID: String?, value: Double, timestamp: Double) {
        var pairs = [("request_id", requestID)]
        if let batchID, !batchID.isEmpty { pairs.append(("batch_id", batchID)) }
        while pairs.map({ $0.0.unicodeScalars.count + $0.1.unicodeScalars.count }).reduce(0, +) > Self.maxLabelCharacters {
            guard pairs.count > 1 else { return nil }
            pairs.removeLast()
        }
        labels = ExpositionWriter.labels(pairs)
        self.value = value
        self.timestamp = timestamp
    }
}
