#if canImport(Glibc)
import Glibc
#endif
@testable import HTTPServer
import Testing

/// How the per-address cap counts a client: an IPv4 address alone, an IPv6 one by its /64.
@Suite("Peer addresses")
struct PeerAddressTests {
    private func ipv6(_ text: String) -> PeerAddress {
        var raw = in6_addr()
        precondition(inet_pton(AF_INET6, text, &raw) == 1)
        return PeerAddress(ipv6: withUnsafeBytes(of: raw) { Array($0) })
    }

    @Test func addressesOfOneIPv6Slash64CountAsOne() {
        let first = ipv6("2001:db8:1:2:aaaa::1")
        let second = ipv6("2001:db8:1:2:ffff:ffff:ffff:ffff")
        #expect(first.capKey == "2001:db8:1:2::/64" && second.capKey == first.capKey)
        #expect(first.text == "2001:db8:1:2:aaaa::1")
        #expect(ipv6("2001:db8:1:3::1").capKey == "2001:db8:1:3::/64")
        #expect(ipv6("::1").capKey == "::/64")
    }

    @Test func anIPv4MappedAddressCountsAsItsIPv4Address() {
        let mapped = ipv6("::ffff:192.0.2.7")
        #expect(mapped.text == "192.0.2.7" && mapped.capKey == "192.0.2.7")
    }

    @Test func anIPv4AddressCountsAlone() {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("192.0.2.7")
        let peer = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { PeerAddress($0) }
        }
        #expect(peer.text == "192.0.2.7" && peer.capKey == "192.0.2.7")
        #expect(PeerAddress(nil) == .unknown)
    }
}
