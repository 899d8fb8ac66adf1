/// The HTTP server's own traffic, so that abuse is visible: answers by route and
/// code, connections open and refused by a limit. It changes with every request, so
/// it is rendered with the process metrics (every few seconds), not with the model.
public struct HTTPTraffic: Sendable, Equatable {
    public struct Answers: Sendable, Equatable {
        /// The route pattern (bounded), `unmatched` for the rest.
        public var handler: String
        public var code: Int
        public var count: UInt64
        public init(handler: String, code: Int, count: UInt64) { (self.handler, self.code, self.count) = (handler, code, count) }
    }

    public var answers: [Answers] = []
    public var openConnections = 0
    /// Connections closed by a limit, by reason (`connection_limit`, `request_head_timeout`…).
    public var refusedConnections: [String: UInt64] = [:]
    public var requestsInFlight = 0

    public init() {}

    public func write(into w: inout ExpositionWriter) {
        w.family("acs_ingestion_http_requests_total", "counter",
                 "HTTP requests this exporter answered, by route (handler) and status code.")
        for answer in answers.sorted(by: { ($0.handler, $0.code) < ($1.handler, $1.code) }) {
            w.sample("acs_ingestion_http_requests_total",
                     ExpositionWriter.labels([("handler", answer.handler), ("code", String(answer.code))]), Double(answer.count))
        }
        w.family("acs_ingestion_http_requests_in_flight", "gauge", "HTTP requests being answered now.")
        w.sample("acs_ingestion_http_requests_in_flight", "", requestsInFlight)
        w.family("acs_ingestion_http_connections", "gauge", "HTTP connections open now.")
        w.sample("acs_ingestion_http_connections", "", openConnections)
        w.family("acs_ingestion_http_connections_refused_total", "counter",
                 "HTTP connections closed by a limit rather than by their client, by reason.")
        for reason in refusedConnections.keys.sorted() {
            w.sample("acs_ingestion_http_connections_refused_total", ExpositionWriter.labels([("reason", reason)]),
                     Double(refusedConnections[reason]!))
        }
    }
}
