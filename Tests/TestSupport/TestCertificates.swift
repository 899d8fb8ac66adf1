import Foundation

/// Certificates made by the test with Debian's `openssl`, in a temporary
/// directory: two CAs, server certificates for 127.0.0.1, and client
/// certificates (good, from the other CA, expired, with another SAN).
public final class TestCertificates: Sendable {
    public let directory: TemporaryDirectory

    public init() async throws {
        directory = try TemporaryDirectory()
        try await makeCA("ca", name: "ACS Test CA")
        try await makeCA("other-ca", name: "Other CA")
    }

    public func path(_ name: String) -> String { directory.path(name) }
    public func contents(_ name: String) throws -> [UInt8] { Array(try Data(contentsOf: directory.url.appendingPathComponent(name))) }

    /// A server certificate for 127.0.0.1 and localhost, signed by `ca`, with the given serial (hex).
    public func makeServer(_ name: String, serial: String, ca: String = "ca") async throws {
        try await makeLeaf(name, subject: "/CN=127.0.0.1", serial: serial, ca: ca,
                           extensions: "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n")
    }

    /// The CAs and two server certificates to rotate between: `server` (serial 1001)
    /// and `server2` (serial 2002).
    public static func withTwoServers() async throws -> TestCertificates {
        let certificates = try await TestCertificates()
        try await certificates.makeServer("server", serial: "1001")
        try await certificates.makeServer("server2", serial: "2002")
        return certificates
    }

    /// A client certificate with `san` (an openssl SAN list such as `DNS:prometheus.example`).
    public func makeClient(_ name: String, san: String, ca: String = "ca", expired: Bool = false) async throws {
        // Sixteen hex digits: `openssl ca` refuses a serial of odd length.
        let serial = String(format: "%016llx", UInt64.random(in: 1...UInt64(Int64.max)))
        try await makeLeaf(name, subject: "/CN=\(name)", serial: serial,
                           ca: ca, extensions: "subjectAltName=\(san)\nextendedKeyUsage=clientAuth\n", expired: expired)
    }

    private func makeCA(_ name: String, name subject: String) async throws {
        try await openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                           "-keyout", path("\(name).key"), "-out", path("\(name).crt"), "-subj", "/CN=\(subject)",
                           "-days", "2", "-addext", "basicConstraints=critical,CA:TRUE",
                           "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
    }

    private func makeLeaf(_ name: String, subject: String, serial: String, ca: String, extensions: String,
                          expired: Bool = false) async throws {
        try await openssl(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                           "-keyout", path("\(name).key"), "-out", path("\(name).csr"), "-subj", subject])
        try Data(extensions.utf8).write(to: directory.url.appendingPathComponent("\(name).ext"))
        if expired {
            // `openssl x509` cannot back-date; `openssl ca` can, with a throw-away database.
            let database = directory.url.appendingPathComponent("\(name)-db")
            try FileManager.default.createDirectory(at: database, withIntermediateDirectories: true)
            try Data().write(to: database.appendingPathComponent("index.txt"))
            try Data((serial + "\n").utf8).write(to: database.appendingPathComponent("serial"))
            let config = """
                [ ca ]
                default_ca = test
                [ test ]
                database = \(database.path)/index.txt
                new_certs_dir = \(database.path)
                serial = \(database.path)/serial
                default_md = sha256
                policy = any
                unique_subject = no
                [ any ]
                commonName = supplied
                """
            try Data(config.utf8).write(to: database.appendingPathComponent("ca.cnf"))
            try await openssl(["ca", "-batch", "-notext", "-config", database.appendingPathComponent("ca.cnf").path,
                               "-cert", path("\(ca).crt"), "-keyfile", path("\(ca).key"), "-in", path("\(name).csr"),
                               "-out", path("\(name).crt"), "-startdate", "20200101000000Z",
                               "-enddate", "20200201000000Z", "-extfile", path("\(name).ext")])
        } else {
            try await openssl(["x509", "-req", "-in", path("\(name).csr"), "-CA", path("\(ca).crt"),
                               "-CAkey", path("\(ca).key"), "-set_serial", "0x" + serial, "-days", "1",
                               "-out", path("\(name).crt"), "-extfile", path("\(name).ext")])
        }
    }

    private func openssl(_ arguments: [String]) async throws {
        let result = try await runCommand("openssl", arguments)
        guard result.exitCode == 0 else {
            throw CertificateGenerationFailed(command: arguments.prefix(2).joined(separator: " "), output: result.errorOutput)
        }
    }
}

public struct CertificateGenerationFailed: Error, CustomStringConvertible {
    public let command: String
    public let output: String
    public var description: String { "openssl \(command) failed: \(output)" }
}

/// What `openssl s_client` saw: whether a handshake completed, with which
/// protocol, and the server certificate's serial.
public struct HandshakeResult: Sendable {
    public var completed: Bool
    public var protocolVersion: String?
    public var serverSerial: String?
    public var transcript: String
}

/// One TLS handshake with `openssl s_client` (and an HTTP request over it when it completes).
public func opensslHandshake(port: Int, arguments: [String] = []) async throws -> HandshakeResult {
    let request = Data("GET /-/healthy HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".utf8)
    let result = try await runCommand("openssl", ["s_client", "-connect", "127.0.0.1:\(port)", "-servername", "localhost",
                                                  "-ign_eof"] + arguments, input: request)
    let transcript = result.output + result.errorOutput
    // "New, TLSv1.3, Cipher is …": printed for every completed handshake (the
    // session block with "Protocol :" only when the server sends a ticket).
    let version = transcript.components(separatedBy: "\n")
        .first { $0.hasPrefix("New, ") }?
        .components(separatedBy: ", ").dropFirst().first
    var serial: String?
    if let range = transcript.range(of: "-----BEGIN CERTIFICATE-----"),
       let end = transcript.range(of: "-----END CERTIFICATE-----", range: range.upperBound..<transcript.endIndex) {
        let pem = String(transcript[range.lowerBound..<end.upperBound])
        let parsed = try await runCommand("openssl", ["x509", "-noout", "-serial"], input: Data(pem.utf8))
        serial = parsed.output.trimmingCharacters(in: .whitespacesAndNewlines)
            .replacingOccurrences(of: "serial=", with: "").lowercased()
    }
    let completed = transcript.contains("HTTP/1.1 200")
    return HandshakeResult(completed: completed, protocolVersion: completed ? version : nil, serverSerial: serial,
                           transcript: transcript)
}
