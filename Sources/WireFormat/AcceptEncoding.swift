/// The `Accept-Encoding` request header (RFC 9110 §12.5.3), as far as a server
/// that offers gzip or identity needs it.
public enum AcceptEncoding {
    /// Whether a client sending `header` accepts a gzip-encoded answer: `gzip`
    /// (or `*`) is listed with a non-zero quality. An explicit `gzip;q=0` wins over `*`.
    ///
    /// Read byte by byte without a copy: every scrape asks this, and splitting
    /// and trimming strings cost a tenth of a small scrape's CPU. Codings and
    /// parameters are ASCII tokens and whitespace is space or tab (RFC 9110's
    /// OWS), so Unicode spaces or an empty coding before `;` match nothing.
    public static func acceptsGzip(_ header: String?) -> Bool {
        guard var header else { return false }
        return header.withUTF8 { acceptsGzip(bytes: $0) }
    }

    private static func acceptsGzip(bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        var wildcard = false
        for member in bytes.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false) {
            var fields = member.split(separator: UInt8(ascii: ";"), omittingEmptySubsequences: false)[...]
            guard let coding = fields.popFirst().map(trimmed) else { continue }
            if equalsIgnoringCase(coding, "gzip") || equalsIgnoringCase(coding, "x-gzip") {
                return quality(of: fields) > 0
            }
            if equalsIgnoringCase(coding, "*") { wildcard = quality(of: fields) > 0 }
        }
        return wildcard
    }

    /// The `q` parameter (1 when absent or unreadable, as the RFC's default);
    /// spaces around and inside `q = 0.5` are ignored.
    private static func quality(of parameters: ArraySlice<Slice<UnsafeBufferPointer<UInt8>>>) -> Double {
        for parameter in parameters {
            let compact = parameter.filter { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\t") }
            guard compact.count >= 2, compact[0] | 0x20 == UInt8(ascii: "q"), compact[1] == UInt8(ascii: "=") else {
                continue
            }
            guard let value = Double(String(decoding: compact.dropFirst(2), as: UTF8.self)), value.isFinite else {
                return 1
            }
            return min(max(value, 0), 1)
        }
        return 1
    }

    private static func trimmed(_ field: Slice<UnsafeBufferPointer<UInt8>>) -> Slice<UnsafeBufferPointer<UInt8>> {
        let isSpace = { (byte: UInt8) in byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
        guard let first = field.firstIndex(where: { !isSpace($0) }),
              let last = field.lastIndex(where: { !isSpace($0) }) else { return field[field.startIndex..<field.startIndex] }
        return field[first...last]
    }

    /// ASCII case-insensitive equality with a lower-case `token`.
    private static func equalsIgnoringCase(_ field: Slice<UnsafeBufferPointer<UInt8>>, _ token: StaticString) -> Bool {
        guard field.count == token.utf8CodeUnitCount else { return false }
        let expected = UnsafeBufferPointer(start: token.utf8Start, count: token.utf8CodeUnitCount)
        return zip(field, expected).allSatisfy { byte, lower in
            (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte | 0x20 == lower : byte == lower
        }
    }
}
