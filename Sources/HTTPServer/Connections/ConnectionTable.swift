#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// One TCP connection, from libmicrohttpd's "started" notice to its "closed"
/// one: its peer, its socket, when it owes a request head, and the TLS settings
/// and certificate its handshake used (kept alive as long as the session).
final class ConnectionRecord: Sendable {
    let address: String
    let fd: Int32
    /// The server's shared state, for the TLS callbacks that reach only the session.
    let context: ServerContext

    private struct State {
        /// Set while the connection owes a request (head and body); nil while one is processed.
        var awaitingSince: ContinuousClock.Instant?
        var allowance: Duration
        var shutDown = false
        var tls: TLSConfiguration?
    }
    private let state: Mutex<State>

    init(address: String, fd: Int32, context: ServerContext, now: ContinuousClock.Instant, headAllowance: Duration) {
        self.address = address
        self.fd = fd
        self.context = context
        state = Mutex(State(awaitingSince: now, allowance: headAllowance))
    }

    /// A request (head and body) arrived: no deadline while it is processed and answered.
    func beginRequest() { state.withLock { $0.awaitingSince = nil } }

    /// An answer was sent: the next head is owed within `allowance`.
    func finishRequest(now: ContinuousClock.Instant, allowance: Duration) {
        state.withLock { state in
            state.awaitingSince = now
            state.allowance = allowance
        }
    }

    /// The TLS settings this connection's handshake uses, fixed at its first callback.
    func tlsSettings(_ current: () -> TLSConfiguration?) -> TLSConfiguration? {
        state.withLock { state in
            if state.tls == nil { state.tls = current() }
            return state.tls
        }
    }

    /// Whether the connection is past its deadline; marks it so it is shut down once.
    fileprivate func takeOverdue(at now: ContinuousClock.Instant) -> Bool {
        state.withLock { state in
            guard !state.shutDown, let since = state.awaitingSince, now - since > state.allowance else { return false }
            state.shutDown = true
            return true
        }
    }
}

/// Every open connection, counted in total and per address, so the accept
/// policy can refuse past the caps and the sweep can end overdue heads.
final class ConnectionTable: Sendable {
    private struct State {
        var records: [ObjectIdentifier: ConnectionRecord] = [:]
        var perAddress: [String: Int] = [:]
    }
    private let state = Mutex(State())

    var count: Int { state.withLock { $0.records.count } }

    /// Whether one more connection from `address` fits under the caps.
    func admission(for address: String, limits: HTTPServer.Limits) -> HTTPServerStatistics.ConnectionRefusal? {
        state.withLock { state in
            if state.records.count >= limits.maxConnections { return .connectionLimit }
            if state.perAddress[address, default: 0] >= limits.maxConnectionsPerAddress { return .perAddressLimit }
            return nil
        }
    }

    func register(_ record: ConnectionRecord) {
        state.withLock { state in
            state.records[ObjectIdentifier(record)] = record
            state.perAddress[record.address, default: 0] += 1
        }
    }

    /// Called from libmicrohttpd's "closed" notice, which comes before it closes
    /// the socket: once this returns, the sweep no longer touches the descriptor.
    func unregister(_ record: ConnectionRecord) {
        state.withLock { state in
            guard state.records.removeValue(forKey: ObjectIdentifier(record)) != nil else { return }
            let remaining = state.perAddress[record.address, default: 1] - 1
            state.perAddress[record.address] = remaining > 0 ? remaining : nil
        }
    }

    /// Shuts down the sockets of connections past their head deadline; returns
    /// how many. `shutdown` (not `close`) leaves the descriptor to libmicrohttpd,
    /// which sees the end of the stream and closes the connection itself; the
    /// table's lock is held throughout, so no descriptor can be closed and reused
    /// under our feet (see `unregister`).
    func shutDownOverdue(now: ContinuousClock.Instant) -> Int {
        state.withLock { state in
            var count = 0
            for record in state.records.values where record.takeOverdue(at: now) {
                shutdown(record.fd, Int32(SHUT_RDWR))
                count += 1
            }
            return count
        }
    }
}
