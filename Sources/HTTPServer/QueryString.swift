import WireFormat

/// A request's query string, read by the server itself (libmicrohttpd would keep
/// each parameter in the connection's 32 KiB of memory, and on running out leave
/// the request unanswered).
public enum QueryString {
    /// The parameters of `query` (the text after `?`), names and values
    /// percent-decoded with `+` as a space, the last of a repeated name winning;
    /// a parameter without `=` has an empty value, and empty ones (`a=1&&b=2`) are
    /// skipped. Nil when there are more than `maxParameters`, found before any is decoded.
    public static func parameters(of query: String, maxParameters: Int) -> [String: String]? {
        var query = query
        return query.withUTF8 { bytes -> [String: String]? in
            // Counted first: a query of thousands of parameters costs one pass, nothing stored.
            var count = 0
            var inField = false
            for byte in bytes {
                if byte == UInt8(ascii: "&") {
                    inField = false
                } else if !inField {
                    inField = true
                    count += 1
                    if count > maxParameters { return nil }
                }
            }
            var parameters: [String: String] = [:]
            for field in bytes.split(separator: UInt8(ascii: "&")) {
                let equals = field.firstIndex(of: UInt8(ascii: "=")) ?? field.endIndex
                let name = String(decoding: field[..<equals], as: UTF8.self)
                let value = equals < field.endIndex ? String(decoding: field[(equals + 1)...], as: UTF8.self) : ""
                parameters[PercentEncoding.decode(name, plusIsSpace: true)] = PercentEncoding.decode(value, plusIsSpace: true)
            }
            return parameters
        }
    }
}
