import Foundation
import HTTPServer
import TestSupport
import Testing
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `--web.systemd-socket`: what systemd's variables and descriptor must be, and serving on it.
/// The descriptor under test is passed explicitly (in production it is 3).
@Suite("systemd socket activation")
struct SystemdSocketTests {
    let mine = ["LISTEN_PID": "\(getpid())", "LISTEN_FDS": "1"]

    /// A TCP socket on 127.0.0.1, bound to a free port; listening unless told otherwise.
    func tcpSocket(listening: Bool = true, type: Int32 = Int32(SOCK_STREAM.rawValue)) throws -> Int32 {
        let fd = socket(AF_INET, type, 0)
        try #require(fd >= 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        try #require(bound == 0)
        if listening { try #require(listen(fd, 16) == 0) }
        return fd
    }

    func refusal(_ environment: [String: String], descriptor: Int32 = 3) -> String? {
        do {
            _ = try SystemdSocket.inherited(environment: environment, processID: getpid(), descriptor: descriptor)
            return nil
        } catch {
            return error.description
        }
    }

    @Test func servesOnTheListeningSocketSystemdPassed() async throws {
        let fd = try tcpSocket()
        let socket = try SystemdSocket.inherited(environment: mine, processID: getpid(), descriptor: fd)
        #expect(socket.fd == fd && socket.address.host == "127.0.0.1" && socket.address.port > 0)

        var router = Router()
        router.get("/ping") { _ in HTTPResponse.text("pong").reply }
        var configuration = HTTPServer.Configuration(listenAddress: ListenAddress(host: "", port: 1))
        configuration.listeningSocket = socket
        try await stopping(try HTTPServer(configuration: configuration, router: router)) { server throws in
            #expect(server.port == socket.address.port && server.address == socket.address)
            #expect(try await http("http://127.0.0.1:\(server.port)/ping").text == "pong")
        }
    }

    @Test func refusesSocketsPassedToAnotherProcess() {
        let message = refusal(["LISTEN_PID": "\(getpid() + 1)", "LISTEN_FDS": "1"])
        #expect(message == "--web.systemd-socket: LISTEN_PID is \(getpid() + 1) but this process is \(getpid()): "
            + "the sockets were passed to another process")
    }

    @Test func refusesAStartWithoutSystemd() {
        #expect(refusal([:])?.hasPrefix("--web.systemd-socket: LISTEN_PID is not set") == true)
        #expect(refusal(["LISTEN_PID": "\(getpid())"])?.hasPrefix("--web.systemd-socket: LISTEN_FDS is not set") == true)
        #expect(refusal(["LISTEN_PID": "x", "LISTEN_FDS": "1"]) == "--web.systemd-socket: LISTEN_PID \"x\" is not a process id")
    }

    @Test func refusesAnythingButExactlyOneSocket() {
        #expect(refusal(["LISTEN_PID": "\(getpid())", "LISTEN_FDS": "2"])?.contains("systemd passed 2 sockets") == true)
        #expect(refusal(["LISTEN_PID": "\(getpid())", "LISTEN_FDS": "0"])?.contains("systemd passed 0 sockets") == true)
    }

    @Test func refusesADescriptorThatIsNotAListeningTCPSocket() throws {
        var pipeEnds: [Int32] = [0, 0]
        try #require(pipe(&pipeEnds) == 0)
        defer { pipeEnds.forEach { close($0) } }
        #expect(refusal(mine, descriptor: pipeEnds[0]) == "--web.systemd-socket: descriptor \(pipeEnds[0]) is not a socket")

        let idle = try tcpSocket(listening: false)
        defer { close(idle) }
        #expect(refusal(mine, descriptor: idle) == "--web.systemd-socket: descriptor \(idle) is not listening: "
            + "the .socket unit needs Accept=no")

        let datagram = try tcpSocket(listening: false, type: Int32(SOCK_DGRAM.rawValue))
        defer { close(datagram) }
        #expect(refusal(mine, descriptor: datagram)?.contains("is not a stream socket") == true)

        // Far above any descriptor a parallel test could open.
        #expect(refusal(mine, descriptor: 1_000_000) == "--web.systemd-socket: descriptor 1000000 is not open")
    }

    @Test func takingTheSocketUnsetsSystemdsVariables() {
        setenv("LISTEN_PID", "\(getpid() + 1)", 1)
        setenv("LISTEN_FDS", "1", 1)
        setenv("LISTEN_FDNAMES", "acs-ingestion-exporter.socket", 1)
        #expect(throws: SystemdSocketError.self) { try SystemdSocket.take() }
        #expect(getenv("LISTEN_PID") == nil && getenv("LISTEN_FDS") == nil && getenv("LISTEN_FDNAMES") == nil)
    }
}
