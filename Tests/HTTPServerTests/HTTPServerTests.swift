import Foundation
@testable import HTTPServer
import Synchronization
import Testing
import TestSupport
import WireFormat

/// The libmicrohttpd layer on its own: routing, decoding, deferral, stop.
@Suite("HTTP server")
struct HTTPServerTests {
    @Test func routesCaptureDecodedSegmentsAndQuery() async throws {
        try await withServer(routes: { router in
            router.get("/items/{id}/detail") { request in
                HTTPResponse.text("\(request.pathParameters["id"]!)|\(request.query["q"] ?? "-")").reply
            }
        }) { server throws in
            let response = try await curl(["http://127.0.0.1:\(server.port)/items/a%2Fb%20c/detail?q=x+y%26z"])
            #expect(response.status == 200)
            #expect(response.body == "a/b c|x y&z")
        }
    }

    @Test func unknownPathIs404AndWrongMethodIs405() async throws {
        try await withServer(routes: { $0.get("/only") { _ in HTTPResponse.text("ok").reply } }) { server throws in
            #expect(try await curl(["http://127.0.0.1:\(server.port)/nope"]).status == 404)
            let response = try await curl(["-d", "x", "http://127.0.0.1:\(server.port)/only"])
            #expect(response.status == 405)
            #expect(response.header("Allow") == "GET")
        }
    }

    @Test func deferredHandlersDoNotBlockOthers() async throws {
        let entered = Gate()
        let release = Gate()
        try await withServer(routes: { router in
            router.add("GET", "/slow", .deferred { _ in
                entered.open()
                await release.wait()
                return HTTPResponse.text("slow").reply
            })
            router.get("/fast") { _ in HTTPResponse.text("fast").reply }
        }) { server throws in
            async let slow = curl(["http://127.0.0.1:\(server.port)/slow"])
            defer { release.open() }  // after the requests: it runs before they are awaited, so a throw holds nothing
            // The slow request is inside its handler (so it reached the server) before the fast one is sent.
            try await eventually("the slow request inside its handler") { entered.isOpen }
            #expect(try await curl(["http://127.0.0.1:\(server.port)/fast"]).body == "fast")
            #expect(!release.isOpen)
            release.open()
            #expect(try await slow.body == "slow")
        }
    }

    @Test func preparedResponsesAreSharedAndHeadersKept() async throws {
        let prepared = PreparedResponse(HTTPResponse(status: 200, headers: [("X-Test", "1")], body: Array("same".utf8)))
        try await withServer(routes: { $0.get("/p") { _ in .prepared(prepared) } }) { server throws in
            for _ in 0..<3 {
                let response = try await curl(["http://127.0.0.1:\(server.port)/p"])
                #expect(response.status == 200 && response.body == "same")
                #expect(response.header("X-Test") == "1")
            }
        }
    }

    @Test func streamedBodiesAreReadBlockByBlockWithTheirLength() async throws {
        // 200 KB of numbered lines: more than one of libmicrohttpd's blocks.
        let body = Array((0..<20_000).map { String(format: "%09d\n", $0) }.joined().utf8)
        let reads = Atomic<Int>(0)
        let largestAsked = Atomic<Int>(0)
        @Sendable func stream(failingAfter limit: Int) -> StreamedResponse {
            let offset = Mutex(0)
            return StreamedResponse(status: 200, headers: [("X-Test", "1")], byteCount: body.count) { buffer in
                offset.withLock { offset in
                    reads.add(1, ordering: .relaxed)
                    _ = largestAsked.max(buffer.count, ordering: .relaxed)
                    guard offset < limit else { return nil }
                    let count = min(buffer.count, body.count - offset)
                    body.withUnsafeBytes { buffer.baseAddress!.copyMemory(from: $0.baseAddress! + offset, byteCount: count) }
                    offset += count
                    return count
                }
            }
        }
        try await withServer(routes: { router in
            router.get("/whole") { _ in .streamed(stream(failingAfter: .max)) }
            router.get("/broken") { _ in .streamed(stream(failingAfter: 64 * 1024)) }
        }) { server throws in
            let whole = try await curl(["http://127.0.0.1:\(server.port)/whole"])
            #expect(whole.status == 200 && Array(whole.body.utf8) == body)
            #expect(whole.header("Content-Length") == String(body.count) && whole.header("X-Test") == "1")
            // Asked for a block at a time, never the whole body at once.
            #expect(largestAsked.load(ordering: .relaxed) <= StreamedResponse.blockSize)
            #expect(reads.load(ordering: .relaxed) >= body.count / StreamedResponse.blockSize)
            // A body that cannot be made further ends the connection short of its length: curl says so.
            let broken = try await curl(["http://127.0.0.1:\(server.port)/broken"])
            #expect(broken.exitCode != 0 && broken.body.utf8.count < body.count)
        }
    }

    @Test func stopWaitsForSuspendedConnectionsAndRefusesNewOnes() async throws {
        let entered = Gate()
        let release = Gate()
        let sawCancellation = Atomic<Bool>(false)
        var router = Router()
        router.add("GET", "/wait", .deferred { _ in
            entered.open()
            await withTaskCancellationHandler {
                await release.wait()
            } onCancel: {
                sawCancellation.store(true, ordering: .relaxed)
            }
            return HTTPResponse.text(Task.isCancelled ? "cancelled" : "finished").reply
        })
        let server = try HTTPServer(configuration: .init(listenAddress: ListenAddress(host: "127.0.0.1", port: 0)),
                                    router: router)
        let port = server.port
        async let waiting = curl(["http://127.0.0.1:\(port)/wait"])
        defer { release.open() }  // after the requests: it runs before they are awaited, so a throw holds nothing
        try await eventually("the request inside its handler") { entered.isOpen }
        let stopping = Task { await server.stop() }
        // While stop() waits for the suspended handler, a new connection is refused…
        try await eventually("new connections refused during stop") { connectionRefused(port: port) }
        // …and the handler is told to finish.
        try await eventually("the handler cancelled") { sawCancellation.load(ordering: .relaxed) }
        #expect(!release.isOpen)
        release.open()
        await stopping.value
        // The suspended connection got its handler's answer before the daemon stopped.
        #expect(try await waiting.body == "cancelled")
        #expect(connectionRefused(port: port))
    }

    @Test func stopClosesTheListeningSocket() async throws {
        var router = Router()
        router.get("/") { _ in HTTPResponse.text("up").reply }
        let server = try HTTPServer(configuration: .init(listenAddress: ListenAddress(host: "127.0.0.1", port: 0)),
                                    router: router)
        #expect(try await curl(["http://127.0.0.1:\(server.port)/"]).body == "up")
        await server.stop()
        #expect(connectionRefused(port: server.port))
    }

    /// Bound at init, serving from `start()` (a service's `run()`): a request made in between
    /// waits in the kernel's queue and is answered once the server starts.
    @Test func aServerBoundButNotStartedAnswersOnceStarted() async throws {
        var router = Router()
        router.get("/") { _ in HTTPResponse.text("up").reply }
        let server = try HTTPServer(configuration: .init(listenAddress: ListenAddress(host: "127.0.0.1", port: 0)),
                                    router: router, start: false)
        #expect(!connectionRefused(port: server.port))
        async let early = curl(["http://127.0.0.1:\(server.port)/"])
        try server.start()
        try server.start()  // once only
        #expect(try await early.body == "up")
        await server.stop()
        #expect(connectionRefused(port: server.port))
        #expect(throws: HTTPServerError.self) { try server.start() }

        // Never started: stop closes the socket.
        let idle = try HTTPServer(configuration: .init(listenAddress: ListenAddress(host: "127.0.0.1", port: 0)),
                                  router: router, start: false)
        await idle.stop()
        #expect(connectionRefused(port: idle.port))
    }

    @Test(arguments: [
        ("127.0.0.1:9", "127.0.0.1", 9), ("[::1]:80", "::1", 80), (":10193", "", 10193), ("localhost:0", "localhost", 0),
    ])
    func listenAddressesParse(text: String, host: String, port: Int) throws {
        let address = try ListenAddress(parsing: text)
        #expect(address.host == host)
        #expect(address.port == port)
    }

    @Test(arguments: ["9100", "host:", "host:99999", "a:b", "a:b:80", "::1:80", "[127.0.0.1]:80", "host:+80", "[::1:80"])
    func badListenAddressesAreNamed(text: String) {
        #expect(throws: HTTPServerError.self) { try ListenAddress(parsing: text) }
    }

    /// Found by fuzz-listen-address: an unbracketed host holding a colon was
    /// accepted, and printed back as an address that parsed differently.
    @Test func fuzzFindingUnbracketedColonsAreRefused() {
        let input = String(decoding: [0xDB, 0x98, 0x3A, 0x30, 0x98, 0x3A, 0x30] as [UInt8], as: UTF8.self)
        #expect(throws: HTTPServerError.self) { try ListenAddress(parsing: input) }
    }

    @Test func percentEncodingRoundTrips() {
        let encoded = PercentEncoding.encode("XDM/44 é?&")
        #expect(encoded == "XDM%2F44%20%C3%A9%3F%26")
        #expect(PercentEncoding.decode(encoded) == "XDM/44 é?&")
    }

    @Test(arguments: [
        ("gzip", true), ("GZip", true), ("x-gzip", true), (" deflate , gzip ", true), ("deflate, br", false),
        ("", false), ("gzip;q=0", false), ("gzip ; q = 0.000", false), ("gzip;Q=0.5", true), ("gzip;q=junk", true),
        ("*", true), ("*;q=0", false), ("*, gzip;q=0", false), ("gzip;q=0, *", false), ("identity, *;q=0.1", true),
        ("\tgzip\t;\tq=1", true), ("gzipx", false), ("gzip;level=1", true), (",,gzip", true),
    ])
    func acceptEncodingDecidesGzip(header: String, accepted: Bool) {
        #expect(AcceptEncoding.acceptsGzip(header) == accepted)
    }

    /// Regression: a failed start used to close the listening descriptor again
    /// after libmicrohttpd had closed it, which could close a file another
    /// thread had just opened under the same number.
    @Test func aFailedStartNeverClosesADescriptorItDoesNotOwn() throws {
        let original = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(original) }
        // Tests running beside this one open descriptors too: try until the number is ours again.
        var (duplicate, reused) = (Int32(-1), Int32(-2))
        for _ in 0..<100 where reused != duplicate {
            if reused >= 0 { close(reused) }
            duplicate = dup(original)
            close(duplicate)  // what libmicrohttpd does on some failure paths
            reused = open("/dev/null", O_RDONLY)  // another thread gets the number
        }
        defer { close(reused) }
        try #require(reused == duplicate)
        #expect(!closeDuplicate(duplicate, ifStillOf: original))
        #expect(fcntl(reused, F_GETFD) >= 0)

        let kept = dup(original)  // a failure path that left the descriptor open
        #expect(closeDuplicate(kept, ifStillOf: original))
        #expect(fcntl(kept, F_GETFD) == -1)
    }
}
