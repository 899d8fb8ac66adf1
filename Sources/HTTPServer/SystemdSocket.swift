#if canImport(Glibc)
import Glibc
#endif

/// A TCP socket this process inherited already bound and listening: systemd's socket
/// activation. `HTTPServer.Configuration.listeningSocket` serves on it instead of binding.
public struct ListeningSocket: Sendable, Equatable {
    public let fd: Int32
    /// Where it is bound, as getsockname(2) reports it.
    public let address: ListenAddress
}

/// Why the socket systemd passed cannot be served on: one line, naming what to fix.
public struct SystemdSocketError: Error, CustomStringConvertible, Equatable {
    public let description: String
    init(_ why: String) { description = "--web.systemd-socket: \(why)" }
}

/// Socket activation as sd_listen_fds(3) defines it, without libsystemd: systemd passes
/// its sockets from descriptor 3 on, with LISTEN_FDS (how many) and LISTEN_PID (for whom).
/// The exporter serves exactly one socket, as the `.socket` unit it ships declares.
public enum SystemdSocket {
    /// SD_LISTEN_FDS_START.
    public static let firstDescriptor: Int32 = 3
    static let variables = ["LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"]

    /// Takes the socket systemd passed to this process, then unsets systemd's variables,
    /// as `sd_listen_fds(1)` does, so no child process believes the socket is its own.
    public static func take() throws(SystemdSocketError) -> ListeningSocket {
        var environment: [String: String] = [:]
        for name in variables {
            if let value = getenv(name) { environment[name] = String(cString: value) }
        }
        defer { for name in variables { unsetenv(name) } }
        return try inherited(environment: environment, processID: getpid())
    }

    /// Checks systemd's variables against `processID`, then that `descriptor` is a listening TCP socket.
    public static func inherited(environment: [String: String], processID: pid_t,
                                 descriptor: Int32 = firstDescriptor) throws(SystemdSocketError) -> ListeningSocket {
        let hint = "start the exporter from its .socket unit or systemd-socket-activate, or use --web.listen-address"
        guard let pid = environment["LISTEN_PID"] else { throw SystemdSocketError("LISTEN_PID is not set: \(hint)") }
        guard let owner = pid_t(pid) else { throw SystemdSocketError("LISTEN_PID \"\(pid)\" is not a process id") }
        guard owner == processID else {
            throw SystemdSocketError("LISTEN_PID is \(owner) but this process is \(processID): the sockets were passed to another process")
        }
        guard let text = environment["LISTEN_FDS"] else { throw SystemdSocketError("LISTEN_FDS is not set: \(hint)") }
        guard let count = Int(text), count >= 0 else { throw SystemdSocketError("LISTEN_FDS \"\(text)\" is not a number") }
        guard count == 1 else {
            throw SystemdSocketError("systemd passed \(count) sockets (LISTEN_FDS=\(count)); the exporter serves exactly one: "
                                     + "give its .socket unit a single ListenStream=")
        }

        let name = "descriptor \(descriptor)"
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw SystemdSocketError("\(name) is not open") }
        guard status.st_mode & S_IFMT == S_IFSOCK else { throw SystemdSocketError("\(name) is not a socket") }
        guard option(descriptor, SO_TYPE) == Int32(SOCK_STREAM.rawValue) else {
            throw SystemdSocketError("\(name) is not a stream socket: the .socket unit needs ListenStream=")
        }
        let family = option(descriptor, SO_DOMAIN)
        guard family == AF_INET || family == AF_INET6 else {
            throw SystemdSocketError("\(name) is not a TCP socket: ListenStream= needs a port or address:port")
        }
        guard option(descriptor, SO_ACCEPTCONN) == 1 else {
            throw SystemdSocketError("\(name) is not listening: the .socket unit needs Accept=no")
        }
        guard let address = boundAddress(descriptor) else {
            throw SystemdSocketError("getsockname on \(name) failed: \(String(cString: strerror(errno)))")
        }
        // As sd_listen_fds does: not inherited by children; and non-blocking, like the
        // sockets ListenAddress opens, for libmicrohttpd's epoll loop.
        _ = fcntl(descriptor, F_SETFD, fcntl(descriptor, F_GETFD) | FD_CLOEXEC)
        _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK)
        return ListeningSocket(fd: descriptor, address: address)
    }

    private static func option(_ descriptor: Int32, _ name: Int32) -> Int32? {
        var value: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        return getsockopt(descriptor, SOL_SOCKET, name, &value, &length) == 0 ? value : nil
    }

    private static func boundAddress(_ descriptor: Int32) -> ListenAddress? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let named = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        guard named == 0 else { return nil }
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let family = Int32(storage.ss_family)
        return withUnsafeBytes(of: &storage) { raw -> ListenAddress? in
            if family == AF_INET6 {
                var address = raw.load(as: sockaddr_in6.self)
                guard inet_ntop(AF_INET6, &address.sin6_addr, &text, socklen_t(text.count)) != nil else { return nil }
                return ListenAddress(host: String(cString: text), port: Int(UInt16(bigEndian: address.sin6_port)))
            }
            var address = raw.load(as: sockaddr_in.self)
            guard inet_ntop(AF_INET, &address.sin_addr, &text, socklen_t(text.count)) != nil else { return nil }
            return ListenAddress(host: String(cString: text), port: Int(UInt16(bigEndian: address.sin_port)))
        }
    }
}
