/// Maps a method and a path to a handler. Patterns are literal segments and
/// `{name}` captures, matched against the percent-decoded path.
public struct Router: Sendable {
    public enum Handler: Sendable {
        /// Answers at once, on libmicrohttpd's thread: for cached or cheap answers.
        case immediate(@Sendable (HTTPRequest) -> HTTPReply)
        /// May wait (on the network, say): the connection is suspended meanwhile
        /// and libmicrohttpd's thread goes on serving others.
        case deferred(@Sendable (HTTPRequest) async -> HTTPReply)
    }

    private struct Route: Sendable {
        let method: String
        let pattern: [Segment]
        let text: String
        let handler: Handler
        let headers: [(name: String, value: String)]
    }

    private enum Segment: Sendable, Equatable {
        case literal(String)
        case capture(String)
    }

    /// A route that matched: its handler, its `{name}` captures, its pattern as
    /// written (the `handler` label of the request counter) and its headers.
    public struct Match: Sendable {
        public let handler: Handler
        public let parameters: [String: String]
        public let pattern: String
        public let headers: [(name: String, value: String)]
    }

    public enum Resolution: Sendable {
        case found(Match)
        /// The path exists under other methods; `pattern` is the first route's.
        case methodNotAllowed(allowed: [String], pattern: String)
        case notFound
    }

    private var routes: [Route] = []
    /// Answers paths that match no route.
    public var notFound: @Sendable (HTTPRequest) -> HTTPReply = { _ in
        HTTPResponse.text("not found\n", status: 404).reply
    }

    /// Answers a method the path does not take; `allowed` lists those it does.
    public var methodNotAllowed: @Sendable (HTTPRequest, [String]) -> HTTPReply = { request, allowed in
        let allow = allowed.joined(separator: ", ")
        return HTTPResponse(status: 405, headers: [("Allow", allow), ("Content-Type", "text/plain; charset=utf-8")],
                            body: Array("method \(request.method) not allowed; allowed: \(allow)\n".utf8)).reply
    }

    /// Answers a request whose body is over the server's limit (in bytes).
    public var payloadTooLarge: @Sendable (HTTPRequest, Int) -> HTTPReply = { _, limit in
        HTTPResponse.text("request body over \(limit) bytes\n", status: 413).reply
    }

    public init() {}

    /// Adds a route; `headers` are added to its answers (for example
    /// `SecurityHeaders.page`) unless an answer sets the same header itself.
    public mutating func add(_ method: String, _ pattern: String, _ handler: Handler,
                             headers: [(name: String, value: String)] = []) {
        let segments = pattern.split(separator: "/").map { part -> Segment in
            if part.hasPrefix("{"), part.hasSuffix("}") { return .capture(String(part.dropFirst().dropLast())) }
            return .literal(String(part))
        }
        routes.append(Route(method: method.uppercased(), pattern: segments, text: pattern, handler: handler,
                            headers: headers))
    }

    public mutating func get(_ pattern: String, headers: [(name: String, value: String)] = [],
                             _ handler: @escaping @Sendable (HTTPRequest) -> HTTPReply) {
        add("GET", pattern, .immediate(handler), headers: headers)
    }

    public func resolve(method: String, segments: [String]) -> Resolution {
        var allowed: [String] = []
        var firstPattern: String?
        // HEAD is answered by GET's handler; libmicrohttpd drops the body.
        let wanted = method == "HEAD" ? "GET" : method
        for route in routes {
            guard let parameters = match(route.pattern, segments) else { continue }
            if route.method == wanted {
                return .found(Match(handler: route.handler, parameters: parameters, pattern: route.text,
                                    headers: route.headers))
            }
            allowed.append(route.method)
            firstPattern = firstPattern ?? route.text
        }
        guard let firstPattern else { return .notFound }
        return .methodNotAllowed(allowed: allowed, pattern: firstPattern)
    }

    private func match(_ pattern: [Segment], _ segments: [String]) -> [String: String]? {
        guard pattern.count == segments.count else { return nil }
        var parameters: [String: String] = [:]
        for (part, segment) in zip(pattern, segments) {
            switch part {
            case .literal(let literal): if literal != segment { return nil }
            case .capture(let name): parameters[name] = segment
            }
        }
        return parameters
    }
}
