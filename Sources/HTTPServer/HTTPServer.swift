import CMicroHTTPD
import Foundation
import Synchronization

/// An HTTP/1.1 (optionally TLS) server on libmicrohttpd: a pool of threads,
/// each with its own epoll loop, a router, an authenticator, and the limits of
/// `Limits`.
///
/// Thread-pool mode because libmicrohttpd 0.9.75's single-thread epoll loop
/// stalls when exactly 128 keep-alive clients are busy (every one of them hangs
/// until the idle timeout); with a pool of epoll threads it does not (see
/// bench/README or the reference server's figures).
///
/// libmicrohttpd calls back on its own threads, so everything those callbacks
/// reach is `Sendable` and nonisolated: the router's handlers, and per-request
/// and per-connection state behind locks. Deferred handlers (and slow
/// authentication) run in a Task while their connection is suspended.
public final class HTTPServer: Sendable {
    public struct Configuration: Sendable {
        public var listenAddress: ListenAddress
        /// Threads in libmicrohttpd's pool, each with its own epoll loop.
        public var threads: Int = 2
        public var limits = Limits()
        /// TLS, authentication and response headers; replaceable while running with `apply(_:)`.
        public var security = SecuritySettings()
        /// Route patterns answered without authentication (the application's health
        /// and readiness probes, which orchestrators call without credentials).
        public var unauthenticatedRoutes: Set<String> = []
        /// Serve on this inherited, already listening socket (systemd socket activation)
        /// instead of binding `listenAddress`.
        public var listeningSocket: ListeningSocket?
        /// Receives libmicrohttpd's own error lines (one per call, no trailing newline),
        /// at most one per cause a minute: the others are counted, and the count is
        /// written once at the end of the minute (`RateLimitedLog`).
        public var libraryLog: @Sendable (String) -> Void = { line in
            FileHandle.standardError.write(Data(("libmicrohttpd: " + line + "\n").utf8))
        }

        public init(listenAddress: ListenAddress) {
            self.listenAddress = listenAddress
        }
    }

    /// Bound (listening, connections wait in the kernel's queue), then serving, then stopped.
    private enum State {
        case bound(listener: Int32)
        case serving(daemon: OpaquePointer, sweeper: Task<Void, Never>)
        /// `start()` failed: the socket is closed; `stop()` frees the rest.
        case failed
        case stopped
    }
    private let state: Mutex<State>
    private let configuration: Configuration
    private let context: ServerContext
    private nonisolated(unsafe) let contextPointer: UnsafeMutableRawPointer
    /// The C logger's closure argument; libmicrohttpd may log until it is stopped.
    private nonisolated(unsafe) let logTarget: UnsafeMutablePointer<acs_log_target>
    /// The TLS priorities the daemon starts with; a reload cannot change them.
    private let startedTLSPriorities: String?
    /// The port actually bound (useful with port 0).
    public let port: Int
    public let address: ListenAddress

    /// Listens on the configured address (or the inherited socket), so that the port is
    /// known; with `start`, serves at once, else from `start()` (a service's `run()`).
    public init(configuration: Configuration, router: Router, start: Bool = true) throws(HTTPServerError) {
        if let tls = configuration.security.tls {
            do { try tls.validate() } catch { throw .tls(error) }
        }
        // The one place a listening socket is obtained: bound here, or inherited from
        // systemd (socket activation); everything below only needs a descriptor this
        // server may close.
        let inherited = configuration.listeningSocket
        let listener = if let inherited { (fd: inherited.fd, port: inherited.address.port) }
                       else { try configuration.listenAddress.openSocket() }
        self.port = listener.port
        self.address = ListenAddress(host: (inherited?.address ?? configuration.listenAddress).host, port: listener.port)
        self.configuration = configuration
        let context = ServerContext(router: router, limits: configuration.limits, settings: configuration.security,
                                    unauthenticatedRoutes: configuration.unauthenticatedRoutes,
                                    libraryLog: configuration.libraryLog)
        self.context = context
        contextPointer = Unmanaged.passRetained(context).toOpaque()
        logTarget = UnsafeMutablePointer<acs_log_target>.allocate(capacity: 1)
        logTarget.initialize(to: acs_log_target(log: libraryLogLine, context: contextPointer))
        startedTLSPriorities = configuration.security.tls?.priorities
        state = Mutex(.bound(listener: listener.fd))
        if start {
            do { try self.start() } catch {
                state.withLock { $0 = .stopped }
                releaseResources()
                throw error
            }
        }
    }

    /// Starts libmicrohttpd's threads on the listening socket; nothing when already
    /// serving. A server that failed to start, or was stopped, cannot start again.
    public func start() throws(HTTPServerError) {
        try state.withLock { (state: inout State) throws(HTTPServerError) in
            guard case .bound(let listener) = state else {
                if case .serving = state { return }
                throw .daemonFailed("\(configuration.listenAddress.description) (stopped, or failed to start before)")
            }
            // libmicrohttpd gets its own descriptor for the socket: on several of its
            // start-up failures it closes the one it was given, on others it does not,
            // and closing it again could close a descriptor another thread just got.
            let handedOff = fcntl(listener, F_DUPFD_CLOEXEC, 0)
            guard handedOff >= 0 else {
                let code = errno
                close(listener)
                state = .failed
                throw .socket(configuration.listenAddress.description, "dup", code)
            }
            let started = Self.startDaemon(listeningOn: handedOff, configuration: configuration,
                                           tlsPriorities: startedTLSPriorities, contextPointer: contextPointer,
                                           logTarget: logTarget)
            guard let started else {
                closeDuplicate(handedOff, ifStillOf: listener)
                close(listener)
                state = .failed
                throw .daemonFailed(configuration.listenAddress.description)
            }
            close(listener)  // libmicrohttpd owns `handedOff` now
            let sweeper = Task.detached { [context] in
                let interval = context.limits.deadlineSweepInterval
                while !Task.isCancelled {
                    try? await Task.sleep(for: interval)
                    let closed = context.connections.shutDownOverdue(now: .now)
                    if closed > 0 { context.countRefusal(.requestHeadTimeout, by: UInt64(closed)) }
                    context.libraryLog.flush()
                }
            }
            state = .serving(daemon: started, sweeper: sweeper)
        }
    }

    private static func startDaemon(listeningOn fd: Int32, configuration: Configuration, tlsPriorities: String?,
                                    contextPointer: UnsafeMutableRawPointer,
                                    logTarget: UnsafeMutablePointer<acs_log_target>) -> OpaquePointer? {
        let limits = configuration.limits
        var flags = MHD_USE_INTERNAL_POLLING_THREAD.rawValue | MHD_USE_EPOLL.rawValue
            | MHD_ALLOW_SUSPEND_RESUME.rawValue | MHD_USE_ERROR_LOG.rawValue
        if configuration.threads > 1 { flags |= MHD_USE_TURBO.rawValue }
        if tlsPriorities != nil { flags |= MHD_USE_TLS.rawValue }
        // Kept alive until MHD_start_daemon returns: libmicrohttpd copies the priorities into its cache.
        let priorities = tlsPriorities.map { strdup($0)! }
        defer { priorities.map { free($0) } }

        var options: [MHD_OptionItem] = [
            // First, so libmicrohttpd's start-up errors go there too.
            MHD_OptionItem(option: .EXTERNAL_LOGGER, value: Int(bitPattern: acs_mhd_log_adapter_pointer()),
                           ptr_value: UnsafeMutableRawPointer(logTarget)),
            MHD_OptionItem(option: .LISTEN_SOCKET, value: Int(fd), ptr_value: nil),
            // A backstop above our own caps: the accept policy counts, evicts and refuses first.
            MHD_OptionItem(option: .CONNECTION_LIMIT, value: limits.maxOpenConnections, ptr_value: nil),
            MHD_OptionItem(option: .CONNECTION_TIMEOUT,
                           value: max(1, Int(limits.idleTimeout.components.seconds)), ptr_value: nil),
            MHD_OptionItem(option: .CONNECTION_MEMORY_LIMIT, value: limits.connectionMemoryLimit, ptr_value: nil),
            MHD_OptionItem(option: .NOTIFY_COMPLETED, value: unsafeBitCast(requestCompleted, to: Int.self),
                           ptr_value: contextPointer),
            MHD_OptionItem(option: .NOTIFY_CONNECTION, value: unsafeBitCast(connectionNotice, to: Int.self),
                           ptr_value: contextPointer),
            MHD_OptionItem(option: .URI_LOG_CALLBACK, value: unsafeBitCast(requestLineReceived, to: Int.self),
                           ptr_value: contextPointer),
            MHD_OptionItem(option: .UNESCAPE_CALLBACK, value: unsafeBitCast(keepEscaped, to: Int.self),
                           ptr_value: nil),
        ]
        if configuration.threads > 1 {
            options.append(MHD_OptionItem(option: .THREAD_POOL_SIZE, value: configuration.threads, ptr_value: nil))
        }
        if let priorities {
            options.append(MHD_OptionItem(option: .HTTPS_PRIORITIES, value: 0, ptr_value: UnsafeMutableRawPointer(priorities)))
            options.append(MHD_OptionItem(option: .HTTPS_CERT_CALLBACK, value: 0,
                                          ptr_value: unsafeBitCast(certificateRetriever, to: UnsafeMutableRawPointer.self)))
        }
        options.append(MHD_OptionItem(option: .END, value: 0, ptr_value: nil))

        return options.withUnsafeMutableBufferPointer { buffer in
            withVaList([MHD_OPTION.ARRAY.rawValue, buffer.baseAddress!, MHD_OPTION.END.rawValue]) { arguments in
                MHD_start_daemon_va(flags, 0, acceptPolicy, contextPointer, accessHandler, contextPointer, arguments)
            }
        }
    }

    /// Replaces the TLS certificate and client verification, the authenticator
    /// and the response headers; each applies from the next connection or
    /// request. Returns what could not be applied without a restart (turning TLS
    /// on or off, other TLS versions or cipher preference), one line each; the
    /// server keeps its current setting for those.
    @discardableResult
    public func apply(_ settings: SecuritySettings) -> [String] {
        var applied = settings
        var notes: [String] = []
        switch (startedTLSPriorities, settings.tls) {
        case (nil, .some):
            notes.append("TLS cannot be turned on without a restart; still serving plain HTTP")
            applied.tls = nil
        case (.some, nil):
            notes.append("TLS cannot be turned off without a restart; still serving TLS with the previous certificate")
            applied.tls = context.currentTLS
        case (.some(let started), .some(let tls)):
            if let error = Result(catching: { () throws(TLSError) in try tls.validate() }).error {
                notes.append("TLS settings not applied: \(error)")
                applied.tls = context.currentTLS
            } else if tls.priorities != started {
                notes.append("min_version, max_version and prefer_server_cipher_suites apply after a restart")
            }
        case (nil, nil):
            break
        }
        context.securitySettings = applied
        return notes
    }

    /// Requests answered, connections open and refused, requests in flight.
    public func statistics() -> HTTPServerStatistics { context.statistics }

    /// Stops accepting (new connections are refused at once), ends deferred
    /// handlers, closes every connection. Idempotent; a server never started
    /// closes its listening socket.
    public func stop() async {
        let previous = state.withLock { state in
            defer { state = .stopped }
            return state
        }
        switch previous {
        case .stopped:
            return
        case .failed:
            break
        case .bound(let listener):
            close(listener)
        case .serving(let running, let sweeper):
            // No new connection, and no new suspension: deferred routes answer 503 from now on.
            let listening = MHD_quiesce_daemon(running)
            // libmicrohttpd's threads may still hold the descriptor until MHD_stop_daemon,
            // so it is not closed yet; shutting it down makes the kernel refuse new
            // connections meanwhile instead of queueing them unanswered.
            if listening >= 0 { shutdown(listening, Int32(SHUT_RDWR)) }
            // libmicrohttpd must not be stopped while a connection is suspended: every
            // deferred handler (cancelled here) resumes its connection before its task ends.
            for task in context.beginStopping() { await task.value }
            sweeper.cancel()
            await sweeper.value
            MHD_stop_daemon(running)
            context.libraryLog.flush(everything: true)
            if listening >= 0 { close(listening) }
        }
        releaseResources()
    }

    /// What `init` allocated, once nothing can call back into it.
    private func releaseResources() {
        logTarget.deallocate()
        Unmanaged<ServerContext>.fromOpaque(contextPointer).release()
    }
}

/// Closes `duplicate` only if it still refers to the same open socket as
/// `original` (same device and inode): after a failed start libmicrohttpd may
/// already have closed it, and the number may since belong to another file.
/// Returns whether it closed it.
@discardableResult
func closeDuplicate(_ duplicate: Int32, ifStillOf original: Int32) -> Bool {
    var mine = stat()
    var theirs = stat()
    guard fstat(original, &mine) == 0, fstat(duplicate, &theirs) == 0,
          mine.st_dev == theirs.st_dev, mine.st_ino == theirs.st_ino else { return false }
    close(duplicate)
    return true
}

extension Result {
    fileprivate var error: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
