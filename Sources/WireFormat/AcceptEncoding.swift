import Foundation

/// The `Accept-Encoding` request header (RFC 9110 §12.5.3), as far as a server
/// that offers gzip or identity needs it.
public enum AcceptEncoding {
    /// Whether a client sending `header` accepts a gzip-encoded answer: `gzip`
    /// (or `*`) is listed with a non-zero quality. An explicit `gzip;q=0` wins over `*`.
    public static func acceptsGzip(_ header: String?) -> Bool {
        guard let header else { return false }
        var wildcard = false
        for member in header.lowercased().split(separator: ",") {
            let fields = member.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            guard let coding = fields.first else { continue }
            let accepted = quality(of: fields.dropFirst()) > 0
            if coding == "gzip" || coding == "x-gzip" { return accepted }
            if coding == "*" { wildcard = accepted }
        }
        return wildcard
    }

    /// The `q` parameter (1 when absent or unreadable, as the RFC's default).
    private static func quality(of parameters: ArraySlice<String>) -> Double {
        for parameter in parameters {
            let compact = parameter.filter { $0 != " " }
            guard compact.hasPrefix("q=") else { continue }
            guard let value = Double(compact.dropFirst(2)), value.isFinite else { return 1 }
            return min(max(value, 0), 1)
        }
        return 1
    }
}
