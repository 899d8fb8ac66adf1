import Foundation
import HTTPServer
import Synchronization
import Testing
import TestSupport

/// TLS with real clients: curl and `openssl s_client` against certificates the
/// test makes with openssl.
@Suite("HTTPS", .serialized)
struct TLSTests {
    /// Made once: openssl takes a moment per certificate.
    static let certificates = Task { () throws -> TestCertificates in
        let certificates = try await TestCertificates.withTwoServers()
        try await certificates.makeClient("client", san: "DNS:prometheus.example")
        try await certificates.makeClient("other-san", san: "DNS:intruder.example")
        try await certificates.makeClient("foreign", san: "DNS:prometheus.example", ca: "other-ca")
        try await certificates.makeClient("expired", san: "DNS:prometheus.example", expired: true)
        return certificates
    }

    private func tls(_ certificates: TestCertificates, server: String = "server",
                     policy: ClientCertificatePolicy = .none, allowedSANs: [String] = []) throws -> TLSConfiguration {
        var tls = TLSConfiguration(certificate: try TLSCertificate(certificatePEM: certificates.contents("\(server).crt"),
                                                                   privateKeyPEM: certificates.contents("\(server).key")))
        tls.clientCertificates = policy
        if policy != .none { tls.clientCAs = try TLSTrustAnchors(pem: certificates.contents("ca.crt")) }
        tls.allowedSANs = allowedSANs
        return tls
    }

    private func routes(_ router: inout Router) {
        router.get("/-/healthy") { _ in HTTPResponse.text("ok").reply }
        router.get("/metrics") { _ in HTTPResponse.text("up 1\n").reply }
    }

    private func withTLSServer(_ tls: TLSConfiguration, log: (@Sendable (String) -> Void)? = nil,
                               _ body: (HTTPServer) async throws -> Void) async throws {
        try await withServer({ configuration in
            configuration.security.tls = tls
            if let log { configuration.libraryLog = log }
        }, routes: routes, body)
    }

    private func curlTLS(_ certificates: TestCertificates, port: Int, client: String? = nil) async throws -> CurlResponse {
        var arguments = ["--cacert", certificates.path("ca.crt")]
        if let client { arguments += ["--cert", certificates.path("\(client).crt"), "--key", certificates.path("\(client).key")] }
        return try await curl(arguments + ["https://127.0.0.1:\(port)/metrics"])
    }

    @Test func theServerIsVerifiedAgainstTheTestCA() async throws {
        let certificates = try await Self.certificates.value
        try await withTLSServer(try tls(certificates)) { server throws in
            let response = try await curlTLS(certificates, port: server.port)
            #expect(response.status == 200 && response.body == "up 1\n")
            // Without the CA, curl cannot verify the server.
            let unverified = try await curl(["https://127.0.0.1:\(server.port)/metrics"])
            #expect(unverified.exitCode == 60)
        }
    }

    /// For each exporter-toolkit policy: which client certificates get an answer.
    @Test(arguments: [
        (ClientCertificatePolicy.none, [nil, "client", "foreign"], [String]()),
        (.request, [nil, "client", "foreign", "expired"], []),
        (.requireAny, ["client", "foreign", "expired"], [nil]),
        (.verifyIfGiven, [nil, "client"], ["foreign", "expired"]),
        (.requireAndVerify, ["client"], [nil, "foreign", "expired"]),
    ] as [(ClientCertificatePolicy, [String?], [String?])])
    func clientCertificatePolicies(policy: ClientCertificatePolicy, accepted: [String?], refused: [String?]) async throws {
        let certificates = try await Self.certificates.value
        try await withTLSServer(try tls(certificates, policy: policy)) { server throws in
            for client in accepted {
                let response = try await curlTLS(certificates, port: server.port, client: client)
                #expect(response.status == 200, "\(policy.rawValue) with \(client ?? "no certificate"): \(response.errorOutput)")
            }
            for client in refused {
                let response = try await curlTLS(certificates, port: server.port, client: client)
                #expect(response.status == 0 && response.exitCode != 0,
                        "\(policy.rawValue) with \(client ?? "no certificate") got \(response.status)")
            }
            #expect(server.statistics().refusedConnections[.clientCertificate, default: 0] == UInt64(refused.count))
        }
    }

    @Test func aClientWhoseSANIsNotAllowedIsRefused() async throws {
        let certificates = try await Self.certificates.value
        let configuration = try tls(certificates, policy: .requireAndVerify, allowedSANs: ["prometheus.example"])
        try await withTLSServer(configuration) { server throws in
            #expect(try await curlTLS(certificates, port: server.port, client: "client").status == 200)
            let refused = try await curlTLS(certificates, port: server.port, client: "other-san")
            #expect(refused.status == 0 && refused.exitCode != 0)
        }
    }

    @Test func tls11IsRefusedAndTls13Accepted() async throws {
        let certificates = try await Self.certificates.value
        try await withTLSServer(try tls(certificates)) { server throws in
            // SECLEVEL=0 lets the client offer TLS 1.1 at all; the refusal is then the server's.
            let old = try await opensslHandshake(port: server.port, arguments: ["-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"])
            #expect(!old.completed)
            let modern = try await opensslHandshake(port: server.port, arguments: ["-tls1_3", "-CAfile", certificates.path("ca.crt")])
            #expect(modern.completed, "\(modern.transcript)")
            #expect(modern.protocolVersion == "TLSv1.3")
            let twelve = try await opensslHandshake(port: server.port, arguments: ["-tls1_2"])
            #expect(twelve.protocolVersion == "TLSv1.2")
        }
    }

    @Test func maxVersionTLS12RefusesTls13() async throws {
        let certificates = try await Self.certificates.value
        var configuration = try tls(certificates)
        configuration.maximumVersion = .tls12
        try await withTLSServer(configuration) { server throws in
            #expect(!(try await opensslHandshake(port: server.port, arguments: ["-tls1_3"])).completed)
            #expect(try await opensslHandshake(port: server.port, arguments: ["-tls1_2"]).protocolVersion == "TLSv1.2")
        }
    }

    @Test func plainHTTPToTheTLSPortFailsCleanlyAndThePortKeepsServing() async throws {
        let certificates = try await Self.certificates.value
        let lines = Mutex<[String]>([])
        try await withTLSServer(try tls(certificates), log: { line in lines.withLock { $0.append(line) } }) { server throws in
            let plain = try await curl(["http://127.0.0.1:\(server.port)/metrics"])
            #expect(plain.status == 0 && plain.exitCode != 0)
            #expect(try await curlTLS(certificates, port: server.port).status == 200)
        }
        // libmicrohttpd's complaint went to the configured logger, not to stderr.
        #expect(!lines.withLock { $0 }.isEmpty)
    }

    @Test func aHandshakeThatNeverStartsIsCutAtTheHeadDeadline() async throws {
        let certificates = try await Self.certificates.value
        try await withServer({ configuration in
            configuration.security.tls = try? tls(certificates)
            configuration.limits.requestHeadTimeout = .seconds(1)
            configuration.limits.deadlineSweepInterval = .milliseconds(100)
        }, routes: routes) { server throws in
            let silent = try RawConnection(port: server.port)
            try await eventually("the silent connection is closed", timeout: .seconds(5)) { silent.isClosedByPeer }
            #expect(server.statistics().refusedConnections[.requestHeadTimeout] == 1)
            #expect(try await curlTLS(certificates, port: server.port).status == 200)
        }
    }

    @Test func aNewCertificateAppliesToTheNextHandshake() async throws {
        let certificates = try await Self.certificates.value
        try await withTLSServer(try tls(certificates)) { server throws in
            #expect(try await opensslHandshake(port: server.port).serverSerial == "1001")
            // A connection kept open across the rotation goes on with the old certificate.
            let notes = server.apply(SecuritySettings(tls: try tls(certificates, server: "server2")))
            #expect(notes.isEmpty)
            #expect(try await opensslHandshake(port: server.port).serverSerial == "2002")
            #expect(try await curlTLS(certificates, port: server.port).status == 200)
        }
    }

    @Test func tlsCannotBeSwitchedOffByAReload() async throws {
        let certificates = try await Self.certificates.value
        try await withTLSServer(try tls(certificates)) { server throws in
            let notes = server.apply(SecuritySettings())
            #expect(notes.count == 1)
            #expect(try await curlTLS(certificates, port: server.port).status == 200)
        }
    }

    @Test func aKeyThatDoesNotMatchTheCertificateIsRefused() async throws {
        let certificates = try await Self.certificates.value
        #expect(throws: TLSError.privateKey("does not match the certificate")) {
            try TLSCertificate(certificatePEM: certificates.contents("server.crt"),
                               privateKeyPEM: certificates.contents("server2.key"))
        }
        #expect(throws: TLSError.self) {
            try TLSCertificate(certificatePEM: Array("not a certificate".utf8), privateKeyPEM: certificates.contents("server.key"))
        }
    }
}
