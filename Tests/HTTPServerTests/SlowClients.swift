import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Synchronization
import TestSupport

/// Connections that never complete a request, spread over several loopback
/// source addresses, each opened again from its address once the server has
/// closed it: what a slowloris client does. They run on a thread of their own
/// (one `poll` loop over every socket, connects not blocking), never on Swift's
/// cooperative pool, which the server under test needs.
///
/// Closed connections are opened again every `reopenInterval` (200 ms, as
/// bench/abuse.sh's client does), not the instant they close: reconnecting at
/// full speed makes the kernel itself lose connection attempts on loopback (tens
/// of thousands a second on two cores: a plain listener that only accepts and
/// closes then sees connects delayed by 1 to 4 s, SYNs retransmitted), whatever
/// the server, and that is not what these tests measure.
final class SlowClients: Sendable {
    enum Behaviour: Sendable {
        /// Sends a request line and a header, then one more header byte every 10 to 20 s.
        case trickling
        /// Sends nothing.
        case idle
    }

    private let count: Int
    private let sources: [String]
    private let port: Int
    private let behaviour: Behaviour
    private let stopping = Atomic<Bool>(false)
    private let ended = DispatchSemaphore(value: 0)
    private let connected = Atomic<Int>(0)
    private let reopened = Atomic<Int>(0)

    private let reopenInterval: Duration

    /// `count` connections, the i-th from `sources[i % sources.count]`.
    init(count: Int, sources: [String], port: Int, behaviour: Behaviour, reopenInterval: Duration = .milliseconds(200)) {
        self.count = count
        self.sources = sources
        self.port = port
        self.behaviour = behaviour
        self.reopenInterval = reopenInterval
    }

    /// Connections established now.
    var established: Int { connected.load(ordering: .relaxed) }
    /// How many times a connection closed by the server was opened again.
    var reopenings: Int { reopened.load(ordering: .relaxed) }

    func start() {
        Thread.detachNewThread { [self] in
            run()
            ended.signal()
        }
    }

    /// Stops the loop and returns once every socket is closed.
    func stop() {
        guard !stopping.exchange(true, ordering: .relaxed) else { return }
        ended.wait()
    }

    private struct Slot {
        var fd: Int32 = -1
        var isConnecting = false
        var nextByte: ContinuousClock.Instant = .now
    }

    private func run() {
        var slots = [Slot](repeating: Slot(), count: count)
        let clock = ContinuousClock()
        func open(_ index: Int) {
            slots[index] = Slot()
            let fd = nonBlockingConnection(from: sources[index % sources.count], to: port)
            guard fd >= 0 else { return }  // out of ports or descriptors for a moment: tried again next turn
            slots[index].fd = fd
            slots[index].isConnecting = true
        }
        func closeSlot(_ index: Int) {
            if slots[index].fd >= 0 {
                close(slots[index].fd)
                if !slots[index].isConnecting { connected.subtract(1, ordering: .relaxed) }
            }
            slots[index] = Slot()
        }
        for index in slots.indices { open(index) }
        var polled = [pollfd](repeating: pollfd(), count: count)
        var scratch = [UInt8](repeating: 0, count: 4096)
        var nextReopening = clock.now + reopenInterval
        while !stopping.load(ordering: .relaxed) {
            for index in slots.indices {
                let slot = slots[index]
                let events = slot.isConnecting ? Int16(POLLOUT) : Int16(POLLIN) | 0x2000 /* POLLRDHUP */
                polled[index] = pollfd(fd: slot.fd, events: events, revents: 0)  // a negative fd is skipped
            }
            _ = poll(&polled, nfds_t(polled.count), 20)
            let now = clock.now
            let reopening = now >= nextReopening
            if reopening { nextReopening = now + reopenInterval }
            for index in slots.indices {
                let fd = slots[index].fd
                guard fd >= 0 else {
                    if reopening { open(index) }
                    continue
                }
                let revents = polled[index].revents
                if slots[index].isConnecting {
                    guard revents != 0 else { continue }
                    var error: Int32 = 0
                    var length = socklen_t(MemoryLayout<Int32>.size)
                    getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
                    guard error == 0 else {
                        closeSlot(index)
                        continue
                    }
                    slots[index].isConnecting = false
                    connected.add(1, ordering: .relaxed)
                    if case .trickling = behaviour {
                        sendText("GET /-/healthy HTTP/1.1\r\nHost: x\r\nX-Slow: ", on: fd)
                        slots[index].nextByte = now + .milliseconds(Int.random(in: 10_000...20_000))
                    }
                    continue
                }
                if revents != 0 {
                    let received = recv(fd, &scratch, scratch.count, Int32(MSG_DONTWAIT))
                    if received == 0 || (received < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
                        closeSlot(index)
                        reopened.add(1, ordering: .relaxed)
                        continue
                    }
                }
                if case .trickling = behaviour, now >= slots[index].nextByte {
                    sendText("x", on: fd)
                    slots[index].nextByte = now + .milliseconds(Int.random(in: 10_000...20_000))
                }
            }
        }
        for index in slots.indices { closeSlot(index) }
    }
}

private func sendText(_ text: String, on fd: Int32) {
    var bytes = Array(text.utf8)
    _ = send(fd, &bytes, bytes.count, Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT))
}

/// A non-blocking socket bound to `source`, its connection to 127.0.0.1:`port`
/// under way; -1 when no socket could be had.
private func nonBlockingConnection(from source: String, to port: Int) -> Int32 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { return -1 }
    guard bindAndConnect(fd, from: source, to: port) || errno == EINPROGRESS else {
        close(fd)
        return -1
    }
    return fd
}
