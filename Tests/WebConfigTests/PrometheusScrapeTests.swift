import Foundation
import HTTPServer
import Testing
@testable import WebConfig
import TestSupport

/// Debian's Prometheus scraping the server over HTTPS with basic auth and a
/// client certificate, as an operator would configure it.
@Suite("Prometheus over HTTPS", .serialized)
struct PrometheusScrapeTests {
    static let prometheus = "/usr/bin/prometheus"

    /// Starts Prometheus with two jobs on the same target, one with the right
    /// password and one with a wrong one, and returns `up` for each once the good
    /// one has succeeded (a first scrape may time out on a loaded machine: the
    /// bcrypt check and the TLS handshake take their time) and the bad one was tried.
    private func scrape(port: Int, certificates: TestCertificates, work: TemporaryDirectory) async throws -> [String: String] {
        let config = """
            global:
              scrape_interval: 1s
              scrape_timeout: 1s  # Prometheus' limit: at most the interval
            scrape_configs:
            \(["good": "correct horse", "bad": "wrong"].map { job, password in """
              - job_name: \(job)
                scheme: https
                basic_auth: {username: alice, password: "\(password)"}
                tls_config:
                  ca_file: \(certificates.path("ca.crt"))
                  cert_file: \(certificates.path("client.crt"))
                  key_file: \(certificates.path("client.key"))
                static_configs: [{targets: ["127.0.0.1:\(port)"]}]
            """ }.joined(separator: "\n"))
            """
        try Data(config.utf8).write(to: work.url.appendingPathComponent("prometheus.yml"))
        let listener = try RawListener()  // a free port for Prometheus' own web server
        let prometheusPort = listener.port
        listener.close()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.prometheus)
        process.arguments = ["--config.file=\(work.path("prometheus.yml"))", "--storage.tsdb.path=\(work.path("data"))",
                             "--web.listen-address=127.0.0.1:\(prometheusPort)"]
        process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
        defer {
            process.terminate()
            process.waitUntilExit()
        }
        var up: [String: String] = [:]
        try await eventually("both jobs scraped", timeout: .seconds(60)) {
            let answer = try await curl(["--data-urlencode", "query=up", "http://127.0.0.1:\(prometheusPort)/api/v1/query"])
            guard answer.status == 200, let json = try? JSONSerialization.jsonObject(with: Data(answer.body.utf8)) as? [String: Any],
                  let data = json["data"] as? [String: Any], let result = data["result"] as? [[String: Any]] else { return false }
            for series in result {
                if let labels = series["metric"] as? [String: String], let job = labels["job"],
                   let value = series["value"] as? [Any], let text = value.last as? String { up[job] = text }
            }
            return up["good"] == "1" && up["bad"] != nil
        }
        return up
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: prometheus)))
    func upIsOneWithTheRightPasswordAndZeroWithAWrongOne() async throws {
        let certificates = try await TestCertificates()
        try await certificates.makeServer("server", serial: "3003")
        try await certificates.makeClient("client", san: "DNS:prometheus.example")
        let work = try TemporaryDirectory()
        let web = """
            tls_server_config:
              cert_file: \(certificates.path("server.crt"))
              key_file: \(certificates.path("server.key"))
              client_auth_type: RequireAndVerifyClientCert
              client_ca_file: \(certificates.path("ca.crt"))
              client_allowed_sans: [prometheus.example]
            basic_auth_users:
              alice: \(WebConfigurationParsingTests.aliceHash)
            """
        try Data(web.utf8).write(to: work.url.appendingPathComponent("web.yml"))
        let loaded = try WebConfiguration.load(file: work.path("web.yml"))
        try await withServer({ $0.security = loaded.settings }, routes: { router in
            router.get("/metrics") { _ in HTTPResponse.text("acs_ingestion_test 1\n").reply }
        }) { server throws in
            let up = try await scrape(port: server.port, certificates: certificates, work: work)
            #expect(up == ["good": "1", "bad": "0"])
            let statistics = server.statistics()
            #expect(statistics.requests(handler: "/metrics", code: 200) >= 1)
            #expect(statistics.requests(handler: "/metrics", code: 401) >= 1)
        }
    }
}
