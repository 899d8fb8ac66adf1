import Foundation
import HTTPServer
import Testing
@testable import WebConfig
import TestSupport

@Suite("Web configuration loading")
struct WebConfigurationLoadingTests {
    /// Writes `yaml` beside the certificates under a name of its own (tests run in parallel) and loads it.
    private func load(_ yaml: String, in directory: TemporaryDirectory) throws(WebConfigError) -> LoadedWebConfiguration {
        let name = "web-\(UUID().uuidString).yml"
        try? Data(yaml.utf8).write(to: directory.url.appendingPathComponent(name))
        return try WebConfiguration.load(file: directory.path(name))
    }

    @Test func relativeFilesAreReadFromTheConfigurationsDirectory() async throws {
        let certificates = try await WebConfigWatcherTests.certificates.value
        let loaded = try load("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
                              + "  client_ca_file: ca.crt\n  client_auth_type: RequireAndVerifyClientCert\n",
                              in: certificates.directory)
        #expect(loaded.settings.tls?.certificate.serialNumber == "1001")
        #expect(loaded.settings.tls?.clientCAs?.count == 1)
        #expect(loaded.watchedFiles.dropFirst().map { URL(fileURLWithPath: $0).lastPathComponent } == ["server.crt", "server.key", "ca.crt"])
    }

    @Test func inlineCertificatesWork() async throws {
        let certificates = try await WebConfigWatcherTests.certificates.value
        let indent = { (text: String) in text.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n") }
        let yaml = "tls_server_config:\n  cert: |\n\(indent(try String(contentsOfFile: certificates.path("server.crt"), encoding: .utf8)))\n"
            + "  key: |\n\(indent(try String(contentsOfFile: certificates.path("server.key"), encoding: .utf8)))\n"
        let directory = try TemporaryDirectory()
        #expect(try load(yaml, in: directory).settings.tls?.certificate.serialNumber == "1001")
    }

    @Test(arguments: [
        ("tls_server_config:\n  cert_file: missing.crt\n  key_file: server.key\n", "tls_server_config.cert_file: cannot read"),
        ("tls_server_config:\n  cert_file: server.crt\n", "tls_server_config: key or key_file is required"),
        ("tls_server_config:\n  cert_file: server.crt\n  key_file: server2.key\n", "tls_server_config.key_file: private key: does not match"),
        ("tls_server_config:\n  cert_file: server.crt\n  cert: x\n  key_file: server.key\n", "set either cert or cert_file"),
        ("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_auth_type: RequireAndVerifyClientCert\n",
         "needs client_ca_file or client_ca"),
        ("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_allowed_sans: [a]\n",
         "client_allowed_sans needs client_auth_type"),
        ("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  min_version: TLS13\n  max_version: TLS12\n",
         "min_version TLS13 is above max_version TLS12"),
        ("tls_server_config:\n  cert_file: server.key\n  key_file: server.key\n", "tls_server_config.cert_file: certificate:"),
    ])
    func problemsNameTheKey(yaml: String, expected: String) async throws {
        let certificates = try await WebConfigWatcherTests.certificates.value
        let error = #expect(throws: WebConfigError.self) { try load(yaml, in: certificates.directory) }
        #expect(error?.description.contains(expected) == true, "\(error?.description ?? "")")
        #expect(error?.description.contains("PRIVATE KEY") == false)
    }

    @Test func aMissingFileIsOneLine() {
        let error = #expect(throws: WebConfigError.self) { try WebConfiguration.load(file: "/nonexistent/web.yml") }
        #expect(error?.description == "/nonexistent/web.yml: cannot read the web configuration: no such file")
    }
}
