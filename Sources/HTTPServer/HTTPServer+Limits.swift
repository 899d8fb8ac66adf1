extension HTTPServer {
    /// What one client, or many, may take from the server. Every limit is
    /// answered with a status code where HTTP allows one; a refused connection
    /// is closed at once (libmicrohttpd accepts it to learn the address, then
    /// closes it unanswered).
    ///
    /// The bounds achieved, on libmicrohttpd 0.9.75:
    /// - a connection must complete each request head (request line and headers,
    ///   and the body when there is one) within `requestHeadTimeout` of being
    ///   accepted, and within `idleTimeout` of its previous answer; otherwise it
    ///   is shut down whatever bytes it trickles. The deadline is enforced by a
    ///   sweep every `deadlineSweepInterval`, so a connection may outlive it by
    ///   that interval. A TLS handshake counts toward the first deadline.
    /// - a connection that makes no progress for `idleTimeout` is closed by
    ///   libmicrohttpd (this also bounds slow readers of an answer).
    /// - at most `maxConnections` connections, `maxConnectionsPerAddress` of them
    ///   from one address (an IPv6 address counts by its /64); each of the
    ///   server's threads may admit one connection past a cap while another is
    ///   being set up (the check and the count are not one atomic step inside
    ///   libmicrohttpd), so the bound is the cap plus `threads`.
    /// - past `maxConnections`, a new connection is not refused: it evicts the
    ///   connection that has waited longest for a complete request since it was
    ///   accepted, or else the kept-alive one idle longest; a connection whose
    ///   request is processed or answered is never evicted. A scraper's request
    ///   arrives in milliseconds, so slow clients cannot keep it out. Evicted and
    ///   overdue connections are shut down and closed by libmicrohttpd's threads
    ///   moments later: with them, at most `maxOpenConnections` are open.
    /// - at most `maxConcurrentRequests` requests between their dispatch and the
    ///   end of their answer; beyond that 503 with `Retry-After`.
    /// - request target (path and query) over `maxURLBytes`, or a query of more
    ///   than `maxQueryParameters` parameters: 414; request head over
    ///   `maxHeaderBytes`, or of more than `maxHeaderFields` fields: 431 (RFC
    ///   9110's URI Too Long and RFC 6585's Request Header Fields Too Large: the
    ///   parameters are part of the target, the fields of the head);
    ///   `connectionMemoryLimit` is libmicrohttpd's hard per-connection buffer,
    ///   past which it answers 414 or 431 itself.
    /// - a body whose Content-Length is over `maxBodyBytes` is refused 413 before
    ///   it is read; a chunked one is counted as it arrives and refused 413 when it
    ///   passes the limit (its bytes are then discarded, not kept).
    public struct Limits: Sendable, Equatable {
        /// `--web.max-requests`, as in exporter-toolkit; 0 means no limit.
        public var maxConcurrentRequests: Int = 40
        /// The `Retry-After` of a 503 for too many requests, in seconds.
        public var retryAfterSeconds: Int = 1
        public var maxConnections: Int = 512
        /// Half the connections by default, so one address (a scanner, a
        /// misbehaving client) cannot take the slots every scraper needs.
        public var maxConnectionsPerAddress: Int = 256
        public var idleTimeout: Duration = .seconds(30)
        public var requestHeadTimeout: Duration = .seconds(10)
        public var deadlineSweepInterval: Duration = .milliseconds(500)
        /// libmicrohttpd's default. It zeroes the whole buffer between requests of
        /// a kept-alive connection, so a larger one costs every request (64 KiB made
        /// zeroing 70% of the instructions of a small scrape).
        public var connectionMemoryLimit: Int = 32 * 1024
        public var maxURLBytes: Int = 8 * 1024
        /// Apache's default for header fields (`LimitRequestFields`), for both:
        /// no route of the exporter reads more than a few parameters.
        public var maxQueryParameters: Int = 100
        public var maxHeaderBytes: Int = 16 * 1024
        public var maxHeaderFields: Int = 100
        public var maxBodyBytes: Int = 64 * 1024

        public init() {}

        /// The most connections open at once, counting those shut down (evicted or
        /// overdue) that libmicrohttpd has not closed yet: the descriptors the
        /// server needs for them (576 by default, under the usual limit of 1,024
        /// open files). libmicrohttpd's own cap is set there, above `maxConnections`,
        /// so that the accept policy, not libmicrohttpd, decides who gets in.
        public var maxOpenConnections: Int { maxConnections + max(8, maxConnections / 8) }
    }
}
