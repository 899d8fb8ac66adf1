/// Counts the exporter turns into `acs_ingestion_http_requests_total` and
/// `acs_ingestion_http_connections`: a snapshot, taken at once, that HTTPServer
/// never renders itself (metric names belong to ExporterMetrics).
public struct HTTPServerStatistics: Sendable, Equatable {
    public struct RequestKey: Hashable, Sendable {
        /// The route's pattern (`/api/v1/requests/{tenant}/{mapping}/{id}`), never
        /// the raw path, so the label set stays bounded; `unmatched` for paths no
        /// route takes and requests refused before routing.
        public var handler: String
        public var code: Int
    }

    /// Why a connection was closed by a limit rather than by its client.
    public enum ConnectionRefusal: String, Sendable, CaseIterable {
        /// `maxConnections` reached and no connection could be evicted (each had a request in progress).
        case connectionLimit = "connection_limit"
        /// `maxConnectionsPerAddress` reached.
        case perAddressLimit = "per_address_limit"
        /// A request head (or TLS handshake) not complete within its deadline.
        case requestHeadTimeout = "request_head_timeout"
        /// `maxConnections` reached: shut down to make room for a new connection, having waited
        /// longest for a request (or, kept alive, idled longest).
        case evicted = "evicted"
        /// A TLS client certificate missing, untrusted, expired or outside `client_allowed_sans`.
        case clientCertificate = "client_certificate"
    }

    /// Answers given, by route pattern and status code. Not counted: the 414 and
    /// 431 that libmicrohttpd sends itself when a head overflows its buffer
    /// (`connectionMemoryLimit`, above `maxURLBytes` and `maxHeaderBytes`), and
    /// answers to clients refused before HTTP (connection caps, TLS).
    public var requests: [RequestKey: UInt64] = [:]
    /// Connections open now.
    public var openConnections: Int = 0
    /// Connections closed by a limit, by reason, since start.
    public var refusedConnections: [ConnectionRefusal: UInt64] = [:]
    /// Requests dispatched and not yet fully answered.
    public var requestsInFlight: Int = 0

    public init() {}

    /// Answers given on `handler`'s route with `code`.
    public func requests(handler: String, code: Int) -> UInt64 { requests[RequestKey(handler: handler, code: code)] ?? 0 }
}

/// The label for requests that match no route.
extension HTTPServerStatistics {
    public static let unmatchedHandler = "unmatched"
}
