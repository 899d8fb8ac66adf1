import Foundation
import HTTPServer
import IngestionModel
import Synchronization
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// Slow or idle clients from a few addresses fill the server's connections and
/// open them again whenever they are closed; a scraper from another address must
/// still be answered. `make test` runs this suite on its own (it loads both
/// cores on purpose, and its latency bound would be blurred by other suites);
/// `ACS_FAIRNESS_SECONDS` (default 10) is how long each scenario scrapes.
@Suite("HTTP connection fairness", .serialized)
struct ConnectionFairnessTests {
    struct Scenario: Sendable, CustomTestStringConvertible {
        var connections: Int
        var addresses: Int
        var behaviour: SlowClients.Behaviour
        var testDescription: String {
            "\(connections) \(behaviour == .idle ? "idle" : "trickling") connections from \(addresses) addresses"
        }
    }

    static let scenarios = [
        Scenario(connections: 1000, addresses: 3, behaviour: .trickling),
        Scenario(connections: 1000, addresses: 16, behaviour: .trickling),
        Scenario(connections: 600, addresses: 3, behaviour: .idle),
    ]

    /// The scraper asks once a second, from an address none of the slow clients
    /// uses, on a new connection each time (the harder case: a kept-alive one
    /// would hold its slot). Nearly every scrape is answered (>= 99 %), each
    /// within 100 ms, and the server holds no more connections than its bound.
    @Test(arguments: scenarios)
    func aScraperIsAnsweredWhileSlowClientsHoldEveryConnection(_ scenario: Scenario) async throws {
        let seconds = Int(ProcessInfo.processInfo.environment["ACS_FAIRNESS_SECONDS"] ?? "") ?? 10
        // The slow clients' sockets, the server's side of them, and some to spare.
        try raiseDescriptorLimit(to: scenario.connections + 1024)
        let limits = HTTPServer.Limits()
        try await withServer(routes: { router in
            router.get("/metrics") { _ in HTTPResponse.text("up 1\n").reply }
        }) { server throws in
            let clients = SlowClients(count: scenario.connections,
                                      sources: (0..<scenario.addresses).map { "127.0.0.\($0 + 2)" },
                                      port: server.port, behaviour: scenario.behaviour)
            clients.start()
            defer { clients.stop() }  // every socket closed, even when an expectation throws
            try await eventually("the slow clients holding every connection") {
                server.statistics().openConnections >= limits.maxConnections
            }
            let port = server.port
            let run = try await offPool { try Self.scrapeOncePerSecond(port: port, seconds: seconds, server: server) }
            let answered = run.latencies.filter { $0 != nil }.count
            let slowest = run.latencies.compactMap { $0 }.max() ?? .zero
            print("""
                fairness: \(scenario.testDescription): \(answered) of \(run.latencies.count) scrapes answered, \
                slowest \(slowest.milliseconds) ms, at most \(run.mostConnections) connections open, \
                \(clients.reopenings) reopenings
                """)
            #expect(answered * 100 >= run.latencies.count * 99, "scrapes answered: \(answered) of \(run.latencies.count)")
            #expect(run.latencies.allSatisfy { $0.map { $0 <= .milliseconds(100) } ?? true },
                    "slowest answer \(slowest.milliseconds) ms")
            // Each connection is a descriptor: the bound keeps the exporter under the usual limit of 1,024.
            #expect(run.mostConnections <= limits.maxOpenConnections)
        }
    }

    struct ScrapeRun: Sendable {
        /// Each scrape's time from connect to the end of its answer; nil when not answered with 200.
        var latencies: [Duration?] = []
        var mostConnections = 0
    }

    /// One scrape a second for `seconds`, from 127.0.0.250; between them, the
    /// server's open connections are sampled every 50 ms.
    private static func scrapeOncePerSecond(port: Int, seconds: Int, server: HTTPServer) throws -> ScrapeRun {
        var run = ScrapeRun()
        let clock = ContinuousClock()
        let start = clock.now
        for second in 0..<seconds {
            let began = clock.now
            let answered = scrape(port: port, from: "127.0.0.250")
            run.latencies.append(answered ? clock.now - began : nil)
            let next = start + .seconds(second + 1)
            while clock.now < next {
                run.mostConnections = max(run.mostConnections, server.statistics().openConnections)
                Thread.sleep(forTimeInterval: 0.05)
            }
        }
        return run
    }

    /// Whether a `GET /metrics` on a new connection from `source` was answered 200 within 5 s.
    private static func scrape(port: Int, from source: String) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))  // bounds connect too
        guard bindAndConnect(fd, from: source, to: port) else { return false }
        var request = Array("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".utf8)
        guard send(fd, &request, request.count, Int32(MSG_NOSIGNAL)) == request.count else { return false }
        let received = receiveToEnd(fd)
        return received.starts(with: Array("HTTP/1.1 200".utf8))
    }
}

/// Raises this process's soft limit on open descriptors to at least `needed`
/// (up to the hard limit); throws when the hard limit is lower.
private func raiseDescriptorLimit(to needed: Int) throws {
    var limit = rlimit()
    guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { throw POSIXError(.EPERM) }
    guard limit.rlim_cur < rlim_t(needed) else { return }
    guard limit.rlim_max >= rlim_t(needed) else {
        throw DescriptorLimitTooLow(needed: needed, hardLimit: Int(limit.rlim_max))
    }
    limit.rlim_cur = rlim_t(needed)
    guard setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { throw POSIXError(.EPERM) }
}

struct DescriptorLimitTooLow: Error, CustomStringConvertible {
    let needed: Int
    let hardLimit: Int
    var description: String { "this scenario needs \(needed) open descriptors; the hard limit (ulimit -Hn) is \(hardLimit)" }
}

extension Duration {
    fileprivate var milliseconds: Int64 { components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000 }
}
