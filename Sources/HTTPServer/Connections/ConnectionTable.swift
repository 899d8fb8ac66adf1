#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// One TCP connection, from libmicrohttpd's "started" notice to its "closed"
/// one: its peer, its socket, when it owes a request, and the TLS settings and
/// certificate its handshake used (kept alive as long as the session).
final class ConnectionRecord: Sendable {
    let address: PeerAddress
    let fd: Int32
    /// The server's shared state, for the TLS callbacks that reach only the session.
    let context: ServerContext

    private struct State {
        /// Set while the connection owes a request (head and body); nil while one is processed.
        var awaitingSince: ContinuousClock.Instant?
        var allowance: Duration
        /// Whether a request of this connection was answered: it is then a kept-alive one.
        var answeredOnce = false
        /// Shut down by the deadline sweep or evicted: it no longer counts, and gets no new request.
        var closing = false
        var tls: TLSConfiguration?
    }
    private let state: Mutex<State>

    init(address: PeerAddress, fd: Int32, context: ServerContext, now: ContinuousClock.Instant, headAllowance: Duration) {
        self.address = address
        self.fd = fd
        self.context = context
        state = Mutex(State(awaitingSince: now, allowance: headAllowance))
    }

    /// A request (head and body) arrived: no deadline while it is processed and
    /// answered, and no eviction. False when the connection is already being shut
    /// down (the request is then not run: its answer could not be sent).
    func beginRequest() -> Bool {
        state.withLock { state in
            guard !state.closing else { return false }
            state.awaitingSince = nil
            return true
        }
    }

    /// A request ended (`answered`: its answer was sent): the next one is owed within `allowance`.
    func finishRequest(now: ContinuousClock.Instant, allowance: Duration, answered: Bool) {
        state.withLock { state in
            state.awaitingSince = now
            state.allowance = allowance
            state.answeredOnce = state.answeredOnce || answered
        }
    }

    /// The TLS settings this connection's handshake uses, fixed at its first callback.
    func tlsSettings(_ current: () -> TLSConfiguration?) -> TLSConfiguration? {
        state.withLock { state in
            if state.tls == nil { state.tls = current() }
            return state.tls
        }
    }

    fileprivate var isClosing: Bool { state.withLock { $0.closing } }

    /// Whether the connection is past its deadline; marks it closing so it is shut down once.
    fileprivate func takeOverdue(at now: ContinuousClock.Instant) -> Bool {
        state.withLock { state in
            guard !state.closing, let since = state.awaitingSince, now - since > state.allowance else { return false }
            state.closing = true
            return true
        }
    }

    /// Where the connection stands in the order of eviction (lower goes first);
    /// nil when it may not be evicted (a request processed or answered, or closing).
    fileprivate var evictionRank: EvictionRank? {
        state.withLock { state in
            guard !state.closing, let since = state.awaitingSince else { return nil }
            return EvictionRank(keptAlive: state.answeredOnce, since: since)
        }
    }

    /// Marks the connection closing if it may still be evicted (its request may
    /// have arrived since its rank was read).
    fileprivate func takeForEviction() -> Bool {
        state.withLock { state in
            guard !state.closing, state.awaitingSince != nil else { return false }
            state.closing = true
            return true
        }
    }
}

/// The order of eviction: first the connections that never completed a request,
/// the one waited for longest first; then the kept-alive ones idle longest.
private struct EvictionRank: Comparable {
    var keptAlive: Bool
    var since: ContinuousClock.Instant

    static func < (lhs: Self, rhs: Self) -> Bool {
        lhs.keptAlive != rhs.keptAlive ? !lhs.keptAlive : lhs.since < rhs.since
    }
}

/// Every open connection, so the accept policy can hold the caps and the sweep
/// can end overdue requests. Connections being shut down (by the sweep or an
/// eviction) stay listed until libmicrohttpd closes them, but no longer count
/// toward the caps.
final class ConnectionTable: Sendable {
    private struct State {
        var records: [ObjectIdentifier: ConnectionRecord] = [:]
        /// Connections not closing, in all and by `PeerAddress.capKey`.
        var counted = 0
        var perAddress: [String: Int] = [:]
        /// Every connection in the order it arrived, the oldest from `oldest` on:
        /// the order of eviction of those that never completed a request, so the
        /// next one is found without looking at all. Closed ones are dropped lazily.
        var arrivals: [ConnectionRecord] = []
        var oldest = 0

        mutating func uncount(_ record: ConnectionRecord) {
            counted -= 1
            let remaining = perAddress[record.address.capKey, default: 1] - 1
            perAddress[record.address.capKey] = remaining > 0 ? remaining : nil
        }

        func isListed(_ record: ConnectionRecord) -> Bool { records[ObjectIdentifier(record)] != nil }

        /// The connection first in the eviction order, marked closing; nil when none may be evicted.
        mutating func takeNextToEvict() -> ConnectionRecord? {
            var index = oldest
            while index < arrivals.count {
                let record = arrivals[index]
                let rank = isListed(record) ? record.evictionRank : nil
                // Gone or closing at the front: dropped from the order for good.
                if index == oldest && rank == nil && (!isListed(record) || record.isClosing) { oldest += 1 }
                if let rank, !rank.keptAlive, record.takeForEviction() { return record }
                index += 1
            }
            // None that never completed a request: the kept-alive one idle longest.
            var candidates = records.values.compactMap { record in record.evictionRank.map { (rank: $0, record: record) } }
            // Usually the first one; another only when its request arrived in the meantime.
            while let first = candidates.indices.min(by: { candidates[$0].rank < candidates[$1].rank }) {
                if candidates[first].record.takeForEviction() { return candidates[first].record }
                candidates.remove(at: first)
            }
            return nil
        }

        /// Drops closed connections from `arrivals` once they are most of it, and all
        /// of it once none is open (a record holds the server's context: none may
        /// outlive the server in this list).
        mutating func compactArrivals() {
            guard records.isEmpty || (arrivals.count > 64 && arrivals.count > 2 * records.count) else { return }
            arrivals = arrivals[oldest...].filter(isListed)
            oldest = 0
        }
    }
    private let state = Mutex(State())

    /// Connections open, closing ones included (each holds a descriptor).
    var count: Int { state.withLock { $0.records.count } }

    /// What the accept policy decided for one new connection.
    enum Admission: Equatable {
        /// Let in; `evicted` connections were shut down to make room for it.
        case admitted(evicted: Int)
        case refused(HTTPServerStatistics.ConnectionRefusal)
    }

    /// Whether one more connection from `address` fits under the caps. Past the
    /// per-address cap it is refused; past the total cap, the connections first
    /// in the eviction order are shut down to make room (so slow clients cannot
    /// keep out a scraper, whose request arrives at once), and only when none may
    /// be evicted is it refused.
    ///
    /// `shutdown` (not `close`) leaves the descriptor to libmicrohttpd, which sees
    /// the end of the stream and closes the connection on its own thread; the
    /// table's lock is held throughout, so no descriptor can be closed and reused
    /// under our feet (see `unregister`).
    func admission(for address: PeerAddress, limits: HTTPServer.Limits) -> Admission {
        state.withLock { state in
            if state.perAddress[address.capKey, default: 0] >= limits.maxConnectionsPerAddress {
                return .refused(.perAddressLimit)
            }
            var evicted = 0
            while state.counted >= limits.maxConnections {
                guard let victim = state.takeNextToEvict() else {
                    return evicted == 0 ? .refused(.connectionLimit) : .admitted(evicted: evicted)
                }
                state.uncount(victim)
                shutdown(victim.fd, Int32(SHUT_RDWR))
                evicted += 1
            }
            return .admitted(evicted: evicted)
        }
    }

    func register(_ record: ConnectionRecord) {
        state.withLock { state in
            state.records[ObjectIdentifier(record)] = record
            state.counted += 1
            state.perAddress[record.address.capKey, default: 0] += 1
            state.arrivals.append(record)
        }
    }

    /// Called from libmicrohttpd's "closed" notice, which comes before it closes
    /// the socket: once this returns, neither the sweep nor an eviction touches
    /// the descriptor.
    func unregister(_ record: ConnectionRecord) {
        state.withLock { state in
            guard state.records.removeValue(forKey: ObjectIdentifier(record)) != nil else { return }
            if !record.isClosing { state.uncount(record) }
            state.compactArrivals()
        }
    }

    /// Shuts down the sockets of connections past their deadline (see
    /// `admission` for why `shutdown` under the lock); returns how many.
    func shutDownOverdue(now: ContinuousClock.Instant) -> Int {
        state.withLock { state in
            var count = 0
            for record in state.records.values where record.takeOverdue(at: now) {
                state.uncount(record)
                shutdown(record.fd, Int32(SHUT_RDWR))
                count += 1
            }
            return count
        }
    }
}
