#if canImport(Glibc)
import Glibc
#endif

/// A `--web.listen-address` value: `host:port`, `[v6-address]:port`, or `:port`
/// for every interface, as Prometheus exporters spell it.
public struct ListenAddress: Sendable, Equatable, CustomStringConvertible {
    public let host: String
    public let port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    public init(parsing text: String) throws(HTTPServerError) {
        guard let colon = text.lastIndex(of: ":") else {
            throw .badListenAddress(text, "expected host:port, [v6]:port or :port")
        }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") && host.count >= 2 {
            host = String(host.dropFirst().dropLast())
            guard host.contains(":") else { throw .badListenAddress(text, "brackets are for IPv6 addresses only") }
        } else if host.contains(":") || host.contains("[") || host.contains("]") {
            // As Go's net.SplitHostPort: "a:b:80" is ambiguous.
            throw .badListenAddress(text, "an IPv6 address needs brackets: [address]:port")
        }
        let portText = text[text.index(after: colon)...]
        guard !portText.isEmpty, portText.allSatisfy({ $0.isASCII && $0.isNumber }), portText.count <= 5,
              let port = Int(portText), (0...65535).contains(port) else {
            throw .badListenAddress(text, "the port must be a number from 0 to 65535")
        }
        self.init(host: host, port: port)
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// Creates, binds and listens on a non-blocking TCP socket; port 0 picks a free one.
    /// The backlog is the system's largest (`net.core.somaxconn` caps SOMAXCONN), as
    /// Go's listeners and systemd's sockets have: a burst of connections (clients
    /// that reconnect as soon as they are closed or evicted) must not fill the queue,
    /// or the kernel drops the scraper's connection attempt and it retries a second later.
    func openSocket(backlog: Int32 = SOMAXCONN) throws(HTTPServerError) -> (fd: Int32, port: Int) {
        let family: Int32
        var storage = sockaddr_storage()
        var length: socklen_t
        let bindHost = host.isEmpty ? "::" : host
        if bindHost.contains(":") {
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            address.sin6_port = in_port_t(UInt16(port).bigEndian)
            guard inet_pton(AF_INET6, bindHost, &address.sin6_addr) == 1 else {
                throw .badListenAddress(description, "\"\(host)\" is not an IPv6 address")
            }
            family = AF_INET6
            length = socklen_t(MemoryLayout<sockaddr_in6>.size)
            withUnsafeMutableBytes(of: &storage) { $0.storeBytes(of: address, as: sockaddr_in6.self) }
        } else {
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            let numeric = bindHost == "localhost" ? "127.0.0.1" : bindHost
            guard inet_pton(AF_INET, numeric, &address.sin_addr) == 1 else {
                throw .badListenAddress(description, "\"\(host)\" is not an IPv4 address")
            }
            family = AF_INET
            length = socklen_t(MemoryLayout<sockaddr_in>.size)
            withUnsafeMutableBytes(of: &storage) { $0.storeBytes(of: address, as: sockaddr_in.self) }
        }

        let fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .socket(description, "socket", errno) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        if family == AF_INET6 && host.isEmpty {
            var zero: Int32 = 0  // ":port" listens on IPv4 too
            setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &zero, socklen_t(MemoryLayout<Int32>.size))
        }
        let bound = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard bound == 0 else {
            let code = errno
            close(fd)
            throw .socket(description, "bind", code)
        }
        guard listen(fd, backlog) == 0 else {
            let code = errno
            close(fd)
            throw .socket(description, "listen", code)
        }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)

        var actual = sockaddr_storage()
        var actualLength = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &actualLength) }
        }
        let boundPort: UInt16 = withUnsafeBytes(of: &actual) { raw in
            family == AF_INET6
                ? UInt16(bigEndian: raw.load(as: sockaddr_in6.self).sin6_port)
                : UInt16(bigEndian: raw.load(as: sockaddr_in.self).sin_port)
        }
        return (fd, Int(boundPort))
    }
}

public enum HTTPServerError: Error, CustomStringConvertible, Equatable {
    case badListenAddress(String, String)
    case socket(String, String, Int32)
    case daemonFailed(String)
    case tls(TLSError)

    public var description: String {
        switch self {
        case .badListenAddress(let text, let why):
            return "invalid --web.listen-address \"\(text)\": \(why)"
        case .socket(let address, let call, let code):
            return "cannot listen on \(address): \(call) failed: \(String(cString: strerror(code)))"
        case .daemonFailed(let address):
            return "libmicrohttpd could not start on \(address)"
        case .tls(let error):
            return "TLS: \(error)"
        }
    }
}
