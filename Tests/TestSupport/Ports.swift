import Foundation
import Synchronization

/// A loopback port for a server a test starts (a child exporter, PostgreSQL) that nothing
/// is bound to now, and that no other caller in this process was given before (until the
/// range wraps).
///
/// The ports come from 10000–19999, below the kernel's ephemeral range (32768 and up):
/// a port the kernel gave to a socket bound to port 0 (the in-process servers, every
/// outgoing connection) is never one of them, so the port stays free between this call
/// and the server's own bind. (A port picked by binding to port 0 and closing did not:
/// in the parallel suite, another server bound to port 0 could be given it first.) The
/// end-to-end tests take theirs from 20000–32767 (tests/e2e/conftest.py).
public func freeLoopbackPort() throws -> Int {
    for _ in 0..<LoopbackPorts.range.count {
        let port = LoopbackPorts.next()
        if port != LoopbackPorts.exporterDefault, (try? BoundSocket(port: port)) != nil { return port }
    }
    throw HarnessError("no free loopback port in \(LoopbackPorts.range)")
}

/// `freeLoopbackPort()`, for the callers that await it.
public func freePort() async throws -> Int { try freeLoopbackPort() }

private enum LoopbackPorts {
    static let range = 10000..<20000
    /// The exporter's default port (a demo may be running on it).
    static let exporterDefault = 10193
    /// Where this process starts in the range: apart from another test process's start.
    private static let cursor = Mutex(Int(getpid()) &* 97 % range.count)

    static func next() -> Int {
        cursor.withLock { cursor in
            defer { cursor = (cursor + 1) % range.count }
            return range.lowerBound + cursor
        }
    }
}

/// A loopback port bound but never listened on, for as long as this lives: connecting
/// to it is refused at once, and nothing else can take it meanwhile. `port` 0: one the
/// kernel picks.
public final class BoundSocket: Sendable {
    public let port: Int
    private let fd: Int32

    public init(port: Int = 0) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw HarnessError("socket() failed: errno \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else {
            close(fd)
            throw HarnessError("cannot bind loopback port \(port): errno \(errno)")
        }
        self.fd = fd
        self.port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit { close(fd) }
}
