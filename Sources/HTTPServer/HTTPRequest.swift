#if canImport(Glibc)
import Glibc
#endif
import WireFormat

/// One HTTP request, fully read (headers and body) before a handler sees it.
public struct HTTPRequest: Sendable {
    public var method: String
    /// The path as sent, still percent-encoded, without the query string.
    public var rawPath: String
    /// The path's segments, percent-decoded: `/a%2Fb/c` is `["a/b", "c"]`.
    public var pathSegments: [String]
    /// Values captured by the route's `{name}` segments.
    public var pathParameters: [String: String]
    /// Query arguments, percent-decoded (`+` is a space); the last of a repeated name wins.
    public var query: [String: String]
    /// Header values by lower-cased name.
    public var headers: [String: String]
    public var body: [UInt8]
    /// Who the server's authenticator let through (`basic_auth_users`' name),
    /// nil when no authentication applied. Handlers decide writes with it.
    public var authenticatedUser: String?
    /// The peer's IP address in text form (nil in tests that build requests by hand).
    public var clientAddress: String?

    public init(method: String, rawPath: String, query: [String: String] = [:],
                headers: [String: String] = [:], body: [UInt8] = []) {
        self.method = method
        self.rawPath = rawPath
        self.pathSegments = PercentEncoding.segments(of: rawPath)
        self.pathParameters = [:]
        self.query = query
        self.headers = Dictionary(headers.map { (Self.headerKey($0.key), $0.value) }, uniquingKeysWith: { $1 })
        self.body = body
    }

    public func header(_ name: String) -> String? { headers[Self.headerKey(name)] }

    /// A header name as `headers` keys it: ASCII letters lower-cased (names are
    /// ASCII tokens); a name already in lower case is used as it is.
    static func headerKey(_ name: String) -> String {
        guard name.utf8.contains(where: { lowercasedASCII($0) != $0 }) else { return name }
        return String(decoding: name.utf8.map(lowercasedASCII), as: UTF8.self)
    }

    /// The same for a name from libmicrohttpd, in one copy (names of up to 15
    /// bytes, as most are, need no allocation).
    static func headerKey(_ name: UnsafePointer<CChar>) -> String {
        let count = strlen(name)
        return String(unsafeUninitializedCapacity: count) { buffer in
            name.withMemoryRebound(to: UInt8.self, capacity: count) { source in
                for index in 0..<count { buffer[index] = lowercasedASCII(source[index]) }
            }
            return count
        }
    }
}

/// `byte`, lower-cased if it is an ASCII capital letter.
@inline(__always)
func lowercasedASCII(_ byte: UInt8) -> UInt8 {
    (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte | 0x20 : byte
}

extension HTTPRequest {
    /// Whether the client accepts a gzip-encoded answer.
    public var acceptsGzip: Bool { AcceptEncoding.acceptsGzip(header("accept-encoding")) }

    /// The token of an `Authorization: Bearer <token>` header.
    public var bearerToken: String? { Authorization.bearerToken(header("authorization")) }
}

