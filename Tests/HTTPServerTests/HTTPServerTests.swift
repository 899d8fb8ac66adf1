import Foundation
import HTTPServer
import TestSupport
import Testing
import WireFormat
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The libmicrohttpd layer on its own: routing, decoding, limits, deferral, stop.
@Suite("HTTP server")
struct HTTPServerTests {
    func start(_ configure: (inout Router) -> Void, maxBody: Int = 1024) throws -> HTTPServer {
        var router = Router()
        configure(&router)
        var configuration = HTTPServer.Configuration(listenAddress: ListenAddress(host: "127.0.0.1", port: 0))
        configuration.maxBodyBytes = maxBody
        return try HTTPServer(configuration: configuration, router: router)
    }

    func fetch(_ server: HTTPServer, _ path: String, method: String = "GET", body: Data? = nil,
               headers: [String: String] = [:]) async throws -> (Int, String, HTTPURLResponse) {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(server.port)\(path)")!)
        request.httpMethod = method
        request.httpBody = body
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = response as! HTTPURLResponse
        return (http.statusCode, String(decoding: data, as: UTF8.self), http)
    }

    @Test func routesCaptureDecodedSegmentsAndQuery() async throws {
        let server = try start { router in
            router.get("/items/{id}/detail") { request in
                HTTPResponse.text("\(request.pathParameters["id"]!)|\(request.query["q"] ?? "-")").reply
            }
        }
        try await stopping(server) { server throws in
            let (status, body, _) = try await fetch(server, "/items/a%2Fb%20c/detail?q=x+y%26z")
            #expect(status == 200)
            #expect(body == "a/b c|x y&z")
        }
    }

    @Test func unknownPathIs404AndWrongMethodIs405() async throws {
        let server = try start { $0.get("/only") { _ in HTTPResponse.text("ok").reply } }
        try await stopping(server) { server throws in
            #expect(try await fetch(server, "/nope").0 == 404)
            let (status, _, response) = try await fetch(server, "/only", method: "POST", body: Data("x".utf8))
            #expect(status == 405)
            #expect(response.value(forHTTPHeaderField: "Allow") == "GET")
        }
    }

    @Test func bodiesOverTheLimitAre413() async throws {
        let server = try start({ router in
            router.add("POST", "/echo", .immediate { HTTPResponse(status: 200, body: $0.body).reply })
        }, maxBody: 100)
        try await stopping(server) { server throws in
            #expect(try await fetch(server, "/echo", method: "POST", body: Data(repeating: 65, count: 100)).1.count == 100)
            #expect(try await fetch(server, "/echo", method: "POST", body: Data(repeating: 65, count: 5000)).0 == 413)
        }
    }

    @Test func deferredHandlersDoNotBlockOthers() async throws {
        let server = try start { router in
            router.add("GET", "/slow", .deferred { _ in
                try? await Task.sleep(for: .milliseconds(400))
                return HTTPResponse.text("slow").reply
            })
            router.get("/fast") { _ in HTTPResponse.text("fast").reply }
        }
        try await stopping(server) { server throws in
            async let slow = fetch(server, "/slow")
            try await Task.sleep(for: .milliseconds(50))
            let clock = ContinuousClock()
            let started = clock.now
            #expect(try await fetch(server, "/fast").1 == "fast")
            #expect(clock.now - started < .milliseconds(300))
            #expect(try await slow.1 == "slow")
        }
    }

    @Test func preparedResponsesAreSharedAndHeadersKept() async throws {
        let prepared = PreparedResponse(HTTPResponse(status: 200, headers: [("X-Test", "1")], body: Array("same".utf8)))
        let server = try start { $0.get("/p") { _ in .prepared(prepared) } }
        try await stopping(server) { server throws in
            for _ in 0..<3 {
                let (status, body, response) = try await fetch(server, "/p")
                #expect(status == 200 && body == "same")
                #expect(response.value(forHTTPHeaderField: "X-Test") == "1")
            }
        }
    }

    @Test func stopWaitsForSuspendedConnectionsAndRefusesNewOnes() async throws {
        let server = try start { router in
            router.add("GET", "/wait", .deferred { _ in
                let cancelled = (try? await Task.sleep(for: .seconds(30))) == nil
                return HTTPResponse.text(cancelled ? "cancelled" : "slept").reply
            })
        }
        async let waiting = fetch(server, "/wait")
        try await Task.sleep(for: .milliseconds(200))
        let clock = ContinuousClock()
        let started = clock.now
        await server.stop()
        #expect(clock.now - started < .seconds(5))
        // The suspended connection was resumed with its handler's answer before the daemon stopped.
        #expect(try await waiting.1 == "cancelled")
    }

    @Test func stopClosesTheListeningSocket() async throws {
        let server = try start { $0.get("/") { _ in HTTPResponse.text("up").reply } }
        let port = server.port
        #expect(try await fetch(server, "/").1 == "up")
        await server.stop()
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        #expect(result != 0)
    }

    @Test(arguments: ["127.0.0.1:9", "[::1]:80", ":10193", "localhost:0"])
    func listenAddressesParse(text: String) throws {
        _ = try ListenAddress(parsing: text)
    }

    @Test(arguments: ["9100", "host:", "host:99999", "a:b"])
    func badListenAddressesAreNamed(text: String) {
        #expect(throws: HTTPServerError.self) { try ListenAddress(parsing: text) }
    }

    @Test func percentEncodingRoundTrips() {
        let encoded = PercentEncoding.encode("XDM/44 é?&")
        #expect(encoded == "XDM%2F44%20%C3%A9%3F%26")
        #expect(PercentEncoding.decode(encoded) == "XDM/44 é?&")
    }

    @Test func gzipNegotiation() {
        #expect(HTTPRequest(method: "GET", rawPath: "/", headers: ["Accept-Encoding": "gzip, deflate"]).acceptsGzip)
        #expect(!HTTPRequest(method: "GET", rawPath: "/", headers: ["Accept-Encoding": "gzip;q=0"]).acceptsGzip)
        #expect(!HTTPRequest(method: "GET", rawPath: "/", headers: ["Accept-Encoding": "gzip; q=0.0"]).acceptsGzip)
        #expect(HTTPRequest(method: "GET", rawPath: "/", headers: ["Accept-Encoding": "gzip;q=0.5"]).acceptsGzip)
        #expect(!HTTPRequest(method: "GET", rawPath: "/").acceptsGzip)
    }
}

extension HTTPServer: AsyncStoppable {}
