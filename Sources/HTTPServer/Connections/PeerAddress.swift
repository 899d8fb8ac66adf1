#if canImport(Glibc)
import Glibc
#endif

/// A client's address, in text for requests, and as the per-address cap counts
/// it: an IPv4 address on its own, an IPv6 address by its /64 (the smallest
/// network a site is given: one host can use every address in it).
/// IPv4-mapped IPv6 addresses read as IPv4, so one client counts once whichever
/// way it connected.
struct PeerAddress: Sendable, Equatable {
    /// `192.0.2.7`, `2001:db8::1`.
    let text: String
    /// `192.0.2.7`, `2001:db8::/64`.
    let capKey: String

    /// For a socket address of neither family (or none): one shared key.
    static let unknown = PeerAddress(text: "unknown", capKey: "unknown")

    init(text: String, capKey: String) {
        self.text = text
        self.capKey = capKey
    }

    init(_ address: UnsafePointer<sockaddr>?) {
        guard let address else {
            self = .unknown
            return
        }
        switch Int32(address.pointee.sa_family) {
        case AF_INET:
            let raw = address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr }
            let text = withUnsafeBytes(of: raw) { Self.text(ofIPv4: Array($0)) }
            self.init(text: text, capKey: text)
        case AF_INET6:
            let raw = address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { $0.pointee.sin6_addr }
            self.init(ipv6: withUnsafeBytes(of: raw) { Array($0) })
        default:
            self = .unknown
        }
    }

    /// From the 16 bytes of an IPv6 address.
    init(ipv6 bytes: [UInt8]) {
        precondition(bytes.count == 16)
        if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xFF && bytes[11] == 0xFF {
            let text = Self.text(ofIPv4: Array(bytes[12...]))
            self.init(text: text, capKey: text)
            return
        }
        let network = Array(bytes[..<8]) + [UInt8](repeating: 0, count: 8)
        self.init(text: Self.text(ofIPv6: bytes), capKey: Self.text(ofIPv6: network) + "/64")
    }

    private static func text(ofIPv4 bytes: [UInt8]) -> String {
        bytes.map(String.init).joined(separator: ".")
    }

    /// RFC 5952 text, as `inet_ntop` writes it.
    private static func text(ofIPv6 bytes: [UInt8]) -> String {
        var raw = in6_addr()
        withUnsafeMutableBytes(of: &raw) { $0.copyBytes(from: bytes) }
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        guard inet_ntop(AF_INET6, &raw, &text, socklen_t(text.count)) != nil else { return "unknown" }
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
