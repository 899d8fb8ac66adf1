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

    func write(_ format: ExpositionFormat, into w: inout ExpositionWriter) {
        w.header(.httpRequests, format)
        for answer in answers.sorted(by: { ($0.handler, $0.code) < ($1.handler, $1.code) }) {
            w.sample(MetricFamily.httpRequests.name,
                     ExpositionWriter.labels([("handler", answer.handler), ("code", String(answer.code))]), value: Int(answer.count))
        }
        w.header(.httpInFlight, format)
        w.sample(MetricFamily.httpInFlight.name, value: requestsInFlight)
        w.header(.httpConnections, format)
        w.sample(MetricFamily.httpConnections.name, value: openConnections)
        w.header(.httpConnectionsRefused, format)
        for reason in refusedConnections.keys.sorted() {
            w.sample(MetricFamily.httpConnectionsRefused.name, ExpositionWriter.labels([("reason", reason)]),
                     value: Int(refusedConnections[reason]!))
        }
    }
}
