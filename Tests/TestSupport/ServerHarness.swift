import Foundation
import HTTPServer
#if canImport(Glibc)
import Glibc
#endif

/// Starts a server on 127.0.0.1 (a free port), runs `body`, and stops the
/// server whether `body` returns or throws.
public func withServer<R>(_ configure: (inout HTTPServer.Configuration) -> Void = { _ in },
                          routes: (inout Router) -> Void,
                          _ body: (HTTPServer) async throws -> R) async throws -> R {
    var configuration = HTTPServer.Configuration(listenAddress: ListenAddress(host: "127.0.0.1", port: 0))
    configure(&configuration)
    var router = Router()
    routes(&router)
    return try await stopping(try HTTPServer(configuration: configuration, router: router), body)
}

/// A raw TCP client for what curl will not send: trickled heads, half-open
/// connections, a chosen source address.
public final class RawConnection: @unchecked Sendable {
    public let fd: Int32

    /// Connects to 127.0.0.1:`port` from `source` (any 127.x address works on loopback).
    public init(port: Int, source: String = "127.0.0.1") throws {
        // A local until connected: an initialiser that throws once every stored property is
        // set still runs deinit, whose close would then close the number a second time, by
        // then perhaps another thread's descriptor (a server's connection: libmicrohttpd aborts).
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EMFILE) }
        guard bindAndConnect(fd, from: source, to: port) else {
            let code = errno
            close(fd)
            throw POSIXError(POSIXErrorCode(rawValue: code) ?? .ECONNREFUSED)
        }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        self.fd = fd
    }

    deinit { close(fd) }

    public func send(_ text: String) {
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    /// Reads until the peer closes or 10 s pass; nil when the connection was
    /// reset or closed before any byte arrived.
    public func readAll() -> String? {
        let received = receiveToEnd(fd)
        return received.isEmpty ? nil : String(decoding: received, as: UTF8.self)
    }

    /// Reads one answer's head (up to the blank line); nil if the peer closed first.
    public func readHead() -> String? {
        var received: [UInt8] = []
        var byte: UInt8 = 0
        while recv(fd, &byte, 1, 0) == 1 {
            received.append(byte)
            if received.count >= 4 && received.suffix(4) == [13, 10, 13, 10] { break }
        }
        return received.isEmpty ? nil : String(decoding: received, as: UTF8.self)
    }

    /// Whether the server has closed the connection (a read returns end of stream or an error now).
    public var isClosedByPeer: Bool {
        var byte: UInt8 = 0
        let count = recv(fd, &byte, 1, Int32(MSG_DONTWAIT) | Int32(MSG_PEEK))
        return count == 0 || (count < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
    }
}

/// Whether a TCP connection to 127.0.0.1:`port` is refused.
public func connectionRefused(port: Int) -> Bool {
    (try? RawConnection(port: port)) == nil
}

/// The status code of the first answer in `head` (`HTTP/1.1 414 …` gives 414).
public func statusCode(of head: String?) -> Int? {
    guard let head, let line = head.split(separator: "\r\n").first else { return nil }
    let parts = line.split(separator: " ")
    return parts.count > 1 ? Int(parts[1]) : nil
}

/// A listening socket on a free loopback port, to hand that port to another program.
public final class RawListener: @unchecked Sendable {
    public let fd: Int32
    public let port: Int

    public init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.fd = fd
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { Glibc.close(fd); throw POSIXError(.EADDRINUSE) }
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    public func close() { Glibc.close(fd) }
}

/// The bytes `fd` receives until the peer closes, or its receive timeout passes.
public func receiveToEnd(_ fd: Int32) -> [UInt8] {
    var received: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while case let count = recv(fd, &buffer, buffer.count, 0), count > 0 { received += buffer.prefix(count) }
    return received
}

/// Binds `fd` to `source` (port chosen by the kernel) and connects it to
/// 127.0.0.1:`port`; false with `errno` set when either fails.
public func bindAndConnect(_ fd: Int32, from source: String, to port: Int) -> Bool {
    var local = sockaddr_in()
    local.sin_family = sa_family_t(AF_INET)
    local.sin_addr.s_addr = inet_addr(source)
    var remote = sockaddr_in()
    remote.sin_family = sa_family_t(AF_INET)
    remote.sin_port = in_port_t(UInt16(port).bigEndian)
    remote.sin_addr.s_addr = inet_addr("127.0.0.1")
    let size = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafePointer(to: &local) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, size) } }
    guard bound == 0 else { return false }
    return withUnsafePointer(to: &remote) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, size) } } == 0
}
