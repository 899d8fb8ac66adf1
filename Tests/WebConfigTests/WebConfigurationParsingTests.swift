import HTTPServer
import Testing
@testable import WebConfig

/// Reading exporter-toolkit's format: every key it documents, and a one-line
/// error naming file, line and key for everything else.
@Suite("Web configuration file")
struct WebConfigurationParsingTests {
    static let aliceHash = "$2y$10$6RbrUj59QxEt3ZU8/rNC6emfoMzyMyvEYhbwSRRdQpObcVSPRxExC"  // htpasswd -nBC 10, "correct horse"

    private func problems(_ yaml: String) -> [String] {
        do {
            _ = try WebConfiguration.parse(yaml: yaml, file: "web.yml")
            return []
        } catch {
            return error.problems
        }
    }

    @Test func exporterToolkitsExampleReads() throws {
        let configuration = try WebConfiguration.parse(yaml: """
            tls_server_config:
              cert_file: server.crt
              key_file: server.key
              client_auth_type: RequireAndVerifyClientCert
              client_ca_file: ca.crt
              client_allowed_sans: [prometheus.example]
              min_version: TLS13
              prefer_server_cipher_suites: false
            http_server_config:
              http2: false
              headers:
                X-Frame-Options: deny
                Strict-Transport-Security: max-age=31536000
                X-XSS-Protection: ""
            basic_auth_users:
              alice: \(Self.aliceHash)
            """, file: "web.yml")
        let tls = try #require(configuration.tlsServerConfig)
        #expect(tls.certFile == "server.crt" && tls.keyFile == "server.key" && tls.clientCAFile == "ca.crt")
        #expect(tls.clientAuthType == .requireAndVerify)
        #expect(tls.clientAllowedSANs == ["prometheus.example"])
        #expect(tls.minVersion == .tls13 && tls.maxVersion == .tls13)
        #expect(!tls.preferServerCipherSuites)
        #expect(configuration.httpServerConfig.headers == [.init(name: "X-Frame-Options", value: "deny"),
                                                           .init(name: "Strict-Transport-Security", value: "max-age=31536000")])
        #expect(configuration.basicAuthUsers == ["alice": Self.aliceHash])
    }

    @Test func anEmptyFileTurnsNothingOn() throws {
        let configuration = try WebConfiguration.parse(yaml: "", file: "web.yml")
        #expect(configuration == WebConfiguration())
    }

    @Test(arguments: [
        ("tls_server_config:\n  cert_fil: a\n", "web.yml:2: tls_server_config.cert_fil: unknown key"),
        ("basic_auth_user:\n  a: b\n", "web.yml:1: basic_auth_user: unknown key"),
        ("tls_server_config:\n  client_auth_type: Sometimes\n", "web.yml:2: tls_server_config.client_auth_type: unknown value"),
        ("tls_server_config:\n  min_version: TLS14\n", "web.yml:2: tls_server_config.min_version: unknown version"),
        ("tls_server_config:\n  cipher_suites: [TLS_AES_128_GCM_SHA256]\n", "web.yml:2: tls_server_config.cipher_suites: not supported"),
        ("tls_server_config:\n  curve_preferences: [X25519]\n", "web.yml:2: tls_server_config.curve_preferences: not supported"),
        ("rate_limit:\n  interval: 1s\n  burst: 20\n", "web.yml:2: rate_limit: not supported"),
        ("http_server_config:\n  headers:\n    X-Powered-By: me\n", "web.yml:3: http_server_config.headers.X-Powered-By: not an allowed header"),
        ("http_server_config:\n  headers:\n    X-Frame-Options: allowall\n", "web.yml:3: http_server_config.headers.X-Frame-Options: must be one of"),
        ("http_server_config:\n  http2: maybe\n", "web.yml:2: http_server_config.http2: must be true or false"),
        ("basic_auth_users:\n  alice: hunter2\n", "web.yml:2: basic_auth_users.alice: not a bcrypt hash"),
        ("basic_auth_users: [alice]\n", "web.yml:1: basic_auth_users: expected a mapping"),
        ("tls_server_config: [\n", "web.yml: not valid YAML"),
    ])
    func eachProblemNamesFileLineAndKey(yaml: String, expected: String) {
        let found = problems(yaml)
        #expect(found.count == 1, "\(found)")
        #expect(found.first?.hasPrefix(expected) == true, "\(found)")
        #expect(found.allSatisfy { !$0.contains("\n") })
    }

    @Test func aBadHashIsNeverQuoted() {
        let found = problems("basic_auth_users:\n  alice: $2y$10$short-and-secret\n")
        #expect(found.count == 1)
        #expect(!found[0].contains("short-and-secret"))
    }

    @Test func everyProblemIsReportedAtOnceAndTheDescriptionIsOneLine() throws {
        let error = #expect(throws: WebConfigError.self) {
            try WebConfiguration.parse(yaml: "tls_server_config:\n  cert_fil: a\n  min_version: TLS9\nfoo: 1\n", file: "web.yml")
        }
        #expect(error?.problems.count == 3)
        #expect(error?.description.contains("and 2 more") == true)
        #expect(error?.description.contains("\n") == false)
    }
}
