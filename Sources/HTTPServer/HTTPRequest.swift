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
        self.headers = Dictionary(headers.map { ($0.key.lowercased(), $0.value) }, uniquingKeysWith: { $1 })
        self.body = body
    }

    public func header(_ name: String) -> String? { headers[name.lowercased()] }

    /// Whether the client accepts a gzip-encoded answer.
    public var acceptsGzip: Bool { AcceptEncoding.acceptsGzip(header("accept-encoding")) }

    /// The token of an `Authorization: Bearer <token>` header.
    public var bearerToken: String? { Authorization.bearerToken(header("authorization")) }
}

