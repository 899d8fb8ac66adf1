/// The values one field of a parsed expression allows, as a bit set.
///
/// Every field's values fit in 0...63, so one machine word holds a field and the
/// next-fire search asks "next allowed value ≥ n" with a shift and a bit scan
/// instead of walking a collection.
struct CronValueSet: Sendable, Hashable {
    private(set) var bits: UInt64 = 0

    init() {}

    init(_ values: some Sequence<Int>) {
        for value in values { insert(value) }
    }

    var isEmpty: Bool { bits == 0 }

    /// The allowed values in increasing order.
    var values: [Int] {
        (0..<64).filter(contains)
    }

    func contains(_ value: Int) -> Bool {
        (0..<64).contains(value) && bits & (1 << UInt64(value)) != 0
    }

    mutating func insert(_ value: Int) {
        precondition((0..<64).contains(value), "cron values fit in 0...63")
        bits |= 1 << UInt64(value)
    }

    mutating func remove(_ value: Int) {
        bits &= ~(1 << UInt64(value))
    }

    mutating func formUnion(_ other: CronValueSet) {
        bits |= other.bits
    }

    /// The smallest allowed value that is ≥ `value`, or nil when there is none.
    func first(atLeast value: Int) -> Int? {
        guard value < 64 else { return nil }
        let remaining = value <= 0 ? bits : bits & (UInt64.max << UInt64(value))
        return remaining == 0 ? nil : remaining.trailingZeroBitCount
    }

    /// The allowed values that are ≥ `value`, in increasing order, without allocating.
    func values(from value: Int) -> UnfoldSequence<Int, Int> {
        sequence(state: value) { [self] next in
            guard let found = first(atLeast: next) else { return nil }
            next = found + 1
            return found
        }
    }
}
