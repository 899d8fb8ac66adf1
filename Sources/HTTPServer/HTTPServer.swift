import CMicroHTTPD
import Foundation
import Synchronization
import WireFormat

/// An HTTP/1.1 server on libmicrohttpd: one internal polling thread on epoll
/// (or a pool of them), a router, and limits on connections, header memory,
/// body size and idle time.
///
/// libmicrohttpd calls back on its own threads, so everything those callbacks
/// reach is `Sendable` and nonisolated: the router's handlers, and per-request
/// state behind a lock. Deferred handlers run in a Task while their connection
/// is suspended.
public final class HTTPServer: Sendable {
    public struct Configuration: Sendable {
        public var listenAddress: ListenAddress
        public var connectionLimit: Int = 512
        public var connectionTimeout: Duration = .seconds(30)
        /// Per-connection memory, which bounds the request line and headers.
        public var connectionMemoryLimit: Int = 64 * 1024
        /// Larger request bodies are answered 413 without being kept.
        public var maxBodyBytes: Int = 64 * 1024
        public var threads: Int = 1
        /// Serve on this inherited, already listening socket (systemd socket activation)
        /// instead of binding `listenAddress`.
        public var listeningSocket: ListeningSocket?

        public init(listenAddress: ListenAddress) {
            self.listenAddress = listenAddress
        }
    }

    private let daemon: Mutex<OpaquePointer?>
    private let context: ServerContext
    private nonisolated(unsafe) let contextPointer: UnsafeMutableRawPointer
    /// The port actually bound (useful with port 0).
    public let port: Int
    public let address: ListenAddress

    public init(configuration: Configuration, router: Router) throws(HTTPServerError) {
        let inherited = configuration.listeningSocket
        let (fd, port) = if let inherited { (inherited.fd, inherited.address.port) }
                         else { try configuration.listenAddress.openSocket() }
        self.port = port
        self.address = ListenAddress(host: (inherited?.address ?? configuration.listenAddress).host, port: port)
        let context = ServerContext(router: router, maxBodyBytes: configuration.maxBodyBytes)
        let contextPointer = Unmanaged.passRetained(context).toOpaque()
        self.context = context
        self.contextPointer = contextPointer

        var flags = MHD_USE_INTERNAL_POLLING_THREAD.rawValue | MHD_USE_EPOLL.rawValue
            | MHD_ALLOW_SUSPEND_RESUME.rawValue | MHD_USE_ERROR_LOG.rawValue
        if configuration.threads > 1 { flags |= MHD_USE_TURBO.rawValue }
        var options: [MHD_OptionItem] = [
            MHD_OptionItem(option: .LISTEN_SOCKET, value: Int(fd), ptr_value: nil),
            MHD_OptionItem(option: .CONNECTION_LIMIT, value: configuration.connectionLimit, ptr_value: nil),
            MHD_OptionItem(option: .CONNECTION_TIMEOUT,
                           value: max(1, Int(configuration.connectionTimeout.components.seconds)), ptr_value: nil),
            MHD_OptionItem(option: .CONNECTION_MEMORY_LIMIT,
                           value: configuration.connectionMemoryLimit, ptr_value: nil),
            MHD_OptionItem(option: .NOTIFY_COMPLETED,
                           value: unsafeBitCast(requestCompleted, to: Int.self), ptr_value: contextPointer),
            MHD_OptionItem(option: .UNESCAPE_CALLBACK,
                           value: unsafeBitCast(keepEscaped, to: Int.self), ptr_value: nil),
        ]
        if configuration.threads > 1 {
            options.append(MHD_OptionItem(option: .THREAD_POOL_SIZE,
                                          value: configuration.threads, ptr_value: nil))
        }
        options.append(MHD_OptionItem(option: .END, value: 0, ptr_value: nil))

        let started: OpaquePointer? = options.withUnsafeMutableBufferPointer { buffer in
            withVaList([MHD_OPTION.ARRAY.rawValue, buffer.baseAddress!, MHD_OPTION.END.rawValue]) { arguments in
                MHD_start_daemon_va(flags, 0, nil, nil, accessHandler, contextPointer, arguments)
            }
        }
        guard let started else {
            close(fd)
            Unmanaged<ServerContext>.fromOpaque(contextPointer).release()
            throw .daemonFailed(configuration.listenAddress.description)
        }
        daemon = Mutex(started)
    }

    /// Stops accepting, ends deferred handlers, closes every connection. Idempotent.
    public func stop() async {
        guard let running = daemon.withLock({ current -> OpaquePointer? in
            defer { current = nil }
            return current
        }) else { return }
        // No new connection, and no new suspension: deferred routes answer 503 from now on.
        let listening = MHD_quiesce_daemon(running)
        // libmicrohttpd must not be stopped while a connection is suspended: every
        // deferred handler (cancelled here) resumes its connection before its task ends.
        for task in context.beginStopping() { await task.value }
        // A resumed connection still has its answer to send: let it, for a moment.
        await context.deferredRepliesSent(within: .seconds(2))
        MHD_stop_daemon(running)
        if listening >= 0 { close(listening) }
        Unmanaged<ServerContext>.fromOpaque(contextPointer).release()
    }

}

/// What the C callbacks share: the router and the deferred handlers in flight.
final class ServerContext: Sendable {
    let router: Router
    let maxBodyBytes: Int
    private struct Deferred {
        var tasks: [UInt64: Task<Void, Never>] = [:]
        var stopping = false
        /// Deferred requests whose answer libmicrohttpd has not finished sending.
        var unanswered = 0
        var waiters: [CheckedContinuation<Void, Never>] = []
    }
    private let deferred = Mutex(Deferred())
    private let nextID = Atomic<UInt64>(0)

    init(router: Router, maxBodyBytes: Int) {
        self.router = router
        self.maxBodyBytes = maxBodyBytes
    }

    /// Suspends the connection and runs `work` in a task, unless the server is
    /// stopping (then returns false and nothing is suspended). The check and the
    /// suspension happen under one lock, so `beginStopping` cannot miss a task.
    func startDeferred(suspending connection: OpaquePointer, _ work: @escaping @Sendable () async -> Void) -> Bool {
        let id = nextID.add(1, ordering: .relaxed).newValue
        return deferred.withLock { state in
            guard !state.stopping else { return false }
            state.unanswered += 1
            MHD_suspend_connection(connection)
            state.tasks[id] = Task { [weak self] in
                await work()
                _ = self?.deferred.withLock { $0.tasks.removeValue(forKey: id) }
            }
            return true
        }
    }

    /// libmicrohttpd is done with a deferred request (answered, or the connection closed).
    func deferredReplySent() {
        let waiters = deferred.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.unanswered -= 1
            guard state.unanswered == 0 else { return [] }
            defer { state.waiters = [] }
            return state.waiters
        }
        waiters.forEach { $0.resume() }
    }

    /// Returns once every deferred request has been answered, or after `limit`.
    func deferredRepliesSent(within limit: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await withCheckedContinuation { continuation in
                    let done = self.deferred.withLock { state -> Bool in
                        if state.unanswered == 0 { return true }
                        state.waiters.append(continuation)
                        return false
                    }
                    if done { continuation.resume() }
                }
            }
            group.addTask { try? await Task.sleep(for: limit) }
            await group.next()
            group.cancelAll()
            // Wake the waiter if the time limit came first.
            let waiters = self.deferred.withLock { state in defer { state.waiters = [] }; return state.waiters }
            waiters.forEach { $0.resume() }
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

/// One request's state between libmicrohttpd's calls: the body as it arrives,
/// then the reply a deferred handler produced.
final class RequestState: Sendable {
    private struct Contents {
        var body: [UInt8] = []
        var bodyTooLarge = false
        var reply: HTTPReply?
        var dispatched = false
        var deferred = false
    }
    private let contents = Mutex(Contents())

    func append(_ bytes: UnsafeRawBufferPointer, limit: Int) {
        contents.withLock { state in
            if state.body.count + bytes.count > limit {
                state.bodyTooLarge = true
                state.body = []
            } else if !state.bodyTooLarge {
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

    func setReply(_ reply: HTTPReply) { contents.withLock { $0.reply = reply } }
    func markDeferred() { contents.withLock { $0.deferred = true } }
    var wasDeferred: Bool { contents.withLock { $0.deferred } }
    func takeReply() -> HTTPReply? { contents.withLock { state in defer { state.reply = nil }; return state.reply } }
}

/// A raw pointer that crosses into the Task that resumes its connection.
private struct ConnectionHandle: @unchecked Sendable {
    let pointer: OpaquePointer
}

// MARK: - libmicrohttpd callbacks (run on its threads; nonisolated, no globals mutated)

private let keepEscaped: @convention(c) (UnsafeMutableRawPointer?, OpaquePointer?, UnsafeMutablePointer<CChar>?) -> Int = {
    _, _, text in
    // Leave the path and query escaped: a mapping id may contain an encoded "/".
    text.map { strlen($0) } ?? 0
}

private let requestCompleted: @convention(c) (
    UnsafeMutableRawPointer?, OpaquePointer?, UnsafeMutablePointer<UnsafeMutableRawPointer?>?, MHD_RequestTerminationCode
) -> Void = { contextPointer, _, slot, _ in
    guard let slot, let statePointer = slot.pointee else { return }
    let state = Unmanaged<RequestState>.fromOpaque(statePointer).takeRetainedValue()
    slot.pointee = nil
    if state.wasDeferred, let contextPointer {
        Unmanaged<ServerContext>.fromOpaque(contextPointer).takeUnretainedValue().deferredReplySent()
    }
}

private let accessHandler: MHD_AccessHandlerCallback = {
    contextPointer, connection, url, method, _, uploadData, uploadSize, slot in
    guard let contextPointer, let connection, let url, let method, let uploadSize, let slot else { return MHD_Result.NO }
    let context = Unmanaged<ServerContext>.fromOpaque(contextPointer).takeUnretainedValue()

    guard let statePointer = slot.pointee else {
        slot.pointee = Unmanaged.passRetained(RequestState()).toOpaque()
        return MHD_Result.YES
    }
    let state = Unmanaged<RequestState>.fromOpaque(statePointer).takeUnretainedValue()

    if uploadSize.pointee > 0 {
        state.append(UnsafeRawBufferPointer(start: uploadData, count: uploadSize.pointee), limit: context.maxBodyBytes)
        uploadSize.pointee = 0
        return MHD_Result.YES
    }
    if let reply = state.takeReply() { return queue(reply, on: connection) }
    guard state.markDispatched() else { return MHD_Result.YES }

    var request = HTTPRequest(method: String(cString: method), rawPath: String(cString: url))
    guard let body = state.takeBody() else {
        return queue(context.router.payloadTooLarge(request, context.maxBodyBytes), on: connection)
    }
    request.headers = values(of: connection, kind: MHD_ValueKind.HEADER_KIND, lowercasingKeys: true)
    request.query = values(of: connection, kind: MHD_ValueKind.GET_ARGUMENT_KIND, lowercasingKeys: false)
        .reduce(into: [:]) { result, pair in
            result[PercentEncoding.decode(pair.key, plusIsSpace: true)] = PercentEncoding.decode(pair.value, plusIsSpace: true)
        }
    request.body = body

    switch context.router.resolve(method: request.method, segments: request.pathSegments) {
    case .notFound:
        return queue(context.router.notFound(request), on: connection)
    case .methodNotAllowed(let allowed):
        return queue(context.router.methodNotAllowed(request, allowed), on: connection)
    case .found(let handler, let parameters):
        request.pathParameters = parameters
        switch handler {
        case .immediate(let respond):
            return queue(respond(request), on: connection)
        case .deferred(let respond):
            let handle = ConnectionHandle(pointer: connection)
            let finalRequest = request
            let started = context.startDeferred(suspending: connection) {
                let reply = await respond(finalRequest)
                state.setReply(reply)
                MHD_resume_connection(handle.pointer)
            }
            // Counted as unanswered by startDeferred; libmicrohttpd cannot complete this
            // request before the access handler returns, so marking it now is in time.
            if started { state.markDeferred(); return MHD_Result.YES }
            return queue(HTTPResponse.text("shutting down\n", status: 503).reply, on: connection)
        }
    }
}

private func queue(_ reply: HTTPReply, on connection: OpaquePointer) -> MHD_Result {
    switch reply {
    case .prepared(let prepared):
        return withExtendedLifetime(prepared) {
            MHD_queue_response(connection, UInt32(prepared.status), prepared.handle)
        }
    case .response(let response):
        let prepared = PreparedResponse(response)
        return withExtendedLifetime(prepared) {
            MHD_queue_response(connection, UInt32(response.status), prepared.handle)
        }
    }
}

private final class ValueCollector {
    var values: [String: String] = [:]
    let lowercasingKeys: Bool
    init(lowercasingKeys: Bool) { self.lowercasingKeys = lowercasingKeys }
}

private func values(of connection: OpaquePointer, kind: MHD_ValueKind, lowercasingKeys: Bool) -> [String: String] {
    let collector = ValueCollector(lowercasingKeys: lowercasingKeys)
    withExtendedLifetime(collector) {
        _ = MHD_get_connection_values(connection, kind, { cls, _, key, value in
            guard let cls, let key else { return MHD_Result.YES }
            let collector = Unmanaged<ValueCollector>.fromOpaque(cls).takeUnretainedValue()
            var name = String(cString: key)
            if collector.lowercasingKeys { name = name.lowercased() }
            let text = value.map { String(cString: $0) } ?? ""
            if let existing = collector.values[name], collector.lowercasingKeys {
                collector.values[name] = existing + ", " + text
            } else {
                collector.values[name] = text
            }
            return MHD_Result.YES
        }, Unmanaged.passUnretained(collector).toOpaque())
    }
    return collector.values
}
