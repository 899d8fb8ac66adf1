import CMicroHTTPD
import Synchronization

/// What libmicrohttpd's callbacks share, on its threads: the router, the limits,
/// the current security settings, the connections, the deferred handlers in
/// flight and the counters. Everything is immutable or behind a lock.
final class ServerContext: Sendable {
    let router: Router
    let limits: HTTPServer.Limits
    let unauthenticatedRoutes: Set<String>
    /// libmicrohttpd's lines, to the configuration's logger at most once per cause a minute.
    let libraryLog: RateLimitedLog
    let connections = ConnectionTable()
    private let settings: Mutex<SecuritySettings>

    private struct Deferred {
        var tasks: [UInt64: Task<Void, Never>] = [:]
        var stopping = false
    }
    private let deferred = Mutex(Deferred())
    private let nextID = Atomic<UInt64>(0)

    let inFlight = Atomic<Int>(0)
    private let requestCounts = Mutex<[HTTPServerStatistics.RequestKey: UInt64]>([:])
    private let refusals = Mutex<[HTTPServerStatistics.ConnectionRefusal: UInt64]>([:])

    init(router: Router, limits: HTTPServer.Limits, settings: SecuritySettings, unauthenticatedRoutes: Set<String>,
         libraryLog: @escaping @Sendable (String) -> Void) {
        self.router = router
        self.limits = limits
        self.settings = Mutex(settings)
        self.unauthenticatedRoutes = unauthenticatedRoutes
        self.libraryLog = RateLimitedLog(write: libraryLog)
    }

    var securitySettings: SecuritySettings {
        get { settings.withLock { $0 } }
        set { settings.withLock { $0 = newValue } }
    }

    var currentTLS: TLSConfiguration? { settings.withLock { $0.tls } }

    // MARK: Counters

    func countRequest(handler: String, code: Int) {
        requestCounts.withLock { $0[HTTPServerStatistics.RequestKey(handler: handler, code: code), default: 0] += 1 }
    }

    func countRefusal(_ reason: HTTPServerStatistics.ConnectionRefusal, by amount: UInt64 = 1) {
        refusals.withLock { $0[reason, default: 0] += amount }
    }

    var statistics: HTTPServerStatistics {
        var snapshot = HTTPServerStatistics()
        snapshot.requests = requestCounts.withLock { $0 }
        snapshot.refusedConnections = refusals.withLock { $0 }
        snapshot.openConnections = connections.count
        snapshot.requestsInFlight = inFlight.load(ordering: .relaxed)
        return snapshot
    }

    // MARK: Deferred work

    /// Suspends the connection and runs `work` in a task, unless the server is
    /// stopping (then returns false and nothing is suspended). The check and the
    /// suspension happen under one lock, so `beginStopping` cannot miss a task.
    ///
    /// The task runs at high priority. Dispatch on Linux runs each priority on
    /// threads of its own, so a request is not queued behind background work
    /// (polls, store writes) that keeps the default priority's threads busy.
    func startDeferred(suspending connection: OpaquePointer, _ work: @escaping @Sendable () async -> Void) -> Bool {
        let id = nextID.add(1, ordering: .relaxed).newValue
        return deferred.withLock { state in
            guard !state.stopping else { return false }
            MHD_suspend_connection(connection)
            state.tasks[id] = Task(priority: .high) { [weak self] in
                await work()
                _ = self?.deferred.withLock { $0.tasks.removeValue(forKey: id) }
            }
            return true
        }
    }

    /// Refuses new deferred handlers, cancels the running ones and returns them to await.
    func beginStopping() -> [Task<Void, Never>] {
        deferred.withLock { state in
            state.stopping = true
            state.tasks.values.forEach { $0.cancel() }
            return Array(state.tasks.values)
        }
    }
}

/// One request's state between libmicrohttpd's calls: its target as the request
/// line gave it, what the first call (headers complete) decided, the body as it
/// arrives, then the reply a deferred handler produced.
final class RequestState: Sendable {
    /// The request target's length in bytes, query included.
    let targetBytes: Int
    /// The query's parameters, decoded; nil when there were more than the limit.
    let query: [String: String]?

    init(targetBytes: Int, query: [String: String]?) {
        self.targetBytes = targetBytes
        self.query = query
    }

    /// What the first call decided, fixed from then on (a class: it is read on
    /// each later call, and a copy of the request would cost on every scrape).
    final class Head: Sendable {
        let request: HTTPRequest
        let resolution: Router.Resolution
        /// The route's pattern, the request counter's `handler` label.
        let handlerLabel: String
        /// The route's headers, then the configuration's, added to the answer
        /// where it does not set them itself.
        let extraHeaders: [(name: String, value: String)]
        let pendingAuthentication: (@Sendable () async -> AuthenticationDecision)?

        init(request: HTTPRequest, resolution: Router.Resolution, handlerLabel: String,
             extraHeaders: [(name: String, value: String)],
             pendingAuthentication: (@Sendable () async -> AuthenticationDecision)?) {
            (self.request, self.resolution, self.handlerLabel) = (request, resolution, handlerLabel)
            (self.extraHeaders, self.pendingAuthentication) = (extraHeaders, pendingAuthentication)
        }
    }
    private struct Contents {
        var headSeen = false
        var head: Head?
        var body: [UInt8] = []
        var bodyTooLarge = false
        var reply: HTTPReply?
        var dispatched = false
        var countedInFlight = false
    }
    private let contents = Mutex(Contents())

    /// True once: on libmicrohttpd's first call for this request, with the headers complete.
    func takeFirstCall() -> Bool {
        contents.withLock { state in
            defer { state.headSeen = true }
            return !state.headSeen
        }
    }

    func setHead(_ head: Head) { contents.withLock { $0.head = head } }
    var head: Head? { contents.withLock { $0.head } }

    /// Keeps the body's bytes up to `limit`; past it, drops them and remembers why.
    func append(_ bytes: UnsafeRawBufferPointer, limit: Int) {
        contents.withLock { state in
            guard !state.bodyTooLarge else { return }
            if state.body.count + bytes.count > limit {
                state.bodyTooLarge = true
                state.body = []
            } else {
                state.body.append(contentsOf: bytes)
            }
        }
    }

    /// The body, or nil when it was over the limit.
    func takeBody() -> [UInt8]? {
        contents.withLock { $0.bodyTooLarge ? nil : $0.body }
    }

    func markDispatched() -> Bool {
        contents.withLock { state in
            defer { state.dispatched = true }
            return !state.dispatched
        }
    }

    func markCountedInFlight() { contents.withLock { $0.countedInFlight = true } }
    var countedInFlight: Bool { contents.withLock { $0.countedInFlight } }

    func setReply(_ reply: HTTPReply) { contents.withLock { $0.reply = reply } }
    func takeReply() -> HTTPReply? { contents.withLock { state in defer { state.reply = nil }; return state.reply } }
}
