/// Comparisons of secrets whose duration does not depend on where the inputs
/// first differ, so response times do not reveal a token byte by byte.
public enum ConstantTime {
    /// Whether `a` and `b` hold the same bytes. The length is not hidden (the
    /// time grows with the longer input), only the position of a difference.
    public static func equals(_ a: some Collection<UInt8>, _ b: some Collection<UInt8>) -> Bool {
        var difference: UInt8 = a.count == b.count ? 0 : 1
        var left = a.makeIterator()
        var right = b.makeIterator()
        // Walk the longer input in full: a short guess costs as long as a long one.
        for _ in 0..<max(a.count, b.count) {
            difference |= (left.next() ?? 0) ^ (right.next() ?? 0)
        }
        return difference == 0
    }

    /// The same for two strings, compared as UTF-8.
    public static func equals(_ a: String, _ b: String) -> Bool {
        equals(Array(a.utf8), Array(b.utf8))
    }
}
