import Foundation
import HTTPServer
import Testing
import TestSupport
import WireFormat

/// A stand-in for the web configuration's authenticator: "alice:fast" passes at
/// once, "bob:slow" only after a suspended check, anything else is refused.
private struct StubAuthenticator: RequestAuthenticator {
    func authenticate(_ request: HTTPRequest) -> AuthenticationDecision {
        let challenge = HTTPResponse(status: 401, headers: [("WWW-Authenticate", Authorization.basicChallenge(realm: "test"))],
                                     body: Array("unauthorized\n".utf8)).reply
        switch Authorization.basicCredentials(request.header("authorization")) {
        case let credentials? where credentials.user == "alice" && credentials.password == Array("fast".utf8):
            return .allowed(user: "alice")
        case let credentials? where credentials.user == "bob" && credentials.password == Array("slow".utf8):
            return .pending { .allowed(user: "bob") }
        default:
            return .refused(challenge)
        }
    }
}

@Suite("HTTP authentication and response headers")
struct AuthenticationAndHeadersTests {
    private func routes(_ router: inout Router) {
        router.get("/-/healthy") { _ in HTTPResponse.text("ok").reply }
        router.get("/-/ready") { _ in HTTPResponse.text("ready").reply }
        router.get("/whoami") { HTTPResponse.text($0.authenticatedUser ?? "nobody").reply }
        router.add("POST", "/write", .deferred { HTTPResponse.text("wrote as \($0.authenticatedUser ?? "nobody")").reply })
        router.get("/page", headers: SecurityHeaders.page) { _ in HTTPResponse.html("<p>hi</p>").reply }
    }

    private func withAuthenticatedServer(_ body: (HTTPServer) async throws -> Void) async throws {
        try await withServer({
            $0.security.authenticator = StubAuthenticator()
            $0.unauthenticatedRoutes = ["/-/healthy", "/-/ready"]
        }, routes: routes, body)
    }

    @Test func theAuthenticatedUserReachesTheHandler() async throws {
        try await withAuthenticatedServer { server throws in
            let response = try await curl(["-u", "alice:fast", "http://127.0.0.1:\(server.port)/whoami"])
            #expect(response.status == 200 && response.body == "alice")
        }
    }

    @Test func aPendingCheckRunsSuspendedAndThenTheRoute() async throws {
        try await withAuthenticatedServer { server throws in
            #expect(try await curl(["-u", "bob:slow", "http://127.0.0.1:\(server.port)/whoami"]).body == "bob")
            #expect(try await curl(["-u", "bob:slow", "-d", "x", "http://127.0.0.1:\(server.port)/write"]).body == "wrote as bob")
        }
    }

    @Test(arguments: [[], ["-u", "alice:wrong"], ["-H", "Authorization: Basic !!!"]])
    func missingOrWrongCredentialsAre401WithAChallenge(arguments: [String]) async throws {
        try await withAuthenticatedServer { server throws in
            let response = try await curl(arguments + ["http://127.0.0.1:\(server.port)/whoami"])
            #expect(response.status == 401)
            #expect(response.header("WWW-Authenticate")?.hasPrefix("Basic realm=") == true)
        }
    }

    @Test func healthEndpointsNeedNoCredentials() async throws {
        try await withAuthenticatedServer { server throws in
            #expect(try await curl(["http://127.0.0.1:\(server.port)/-/healthy"]).status == 200)
            #expect(try await curl(["http://127.0.0.1:\(server.port)/-/ready"]).status == 200)
            // The exemption is by route, not by spelling: a path that routes elsewhere is not exempt.
            #expect(try await curl(["http://127.0.0.1:\(server.port)/-/healthy/x"]).status == 401)
        }
    }

    /// The HTTP layer exempts no route of its own accord: the application names its probes.
    @Test func noRouteIsExemptUnlessNamed() async throws {
        try await withServer({ $0.security.authenticator = StubAuthenticator() }, routes: routes) { server throws in
            #expect(try await curl(["http://127.0.0.1:\(server.port)/-/healthy"]).status == 401)
            #expect(try await curl(["http://127.0.0.1:\(server.port)/-/ready"]).status == 401)
        }
    }

    @Test func unknownPathsNeedCredentialsBeforeTheyAre404() async throws {
        try await withAuthenticatedServer { server throws in
            #expect(try await curl(["http://127.0.0.1:\(server.port)/secret-path"]).status == 401)
            #expect(try await curl(["-u", "alice:fast", "http://127.0.0.1:\(server.port)/secret-path"]).status == 404)
        }
    }

    @Test func aRefusedRequestsBodyIsNotRead() async throws {
        try await withAuthenticatedServer { server throws in
            let connection = try RawConnection(port: server.port)
            connection.send("POST /write HTTP/1.1\r\nHost: x\r\nContent-Length: 60000\r\n\r\n")
            #expect(statusCode(of: connection.readHead()) == 401)
        }
    }

    @Test func routeHeadersAreAddedToThatRouteOnly() async throws {
        try await withServer(routes: routes) { server throws in
            let page = try await curl(["http://127.0.0.1:\(server.port)/page"])
            #expect(page.header("Content-Security-Policy")?.contains("frame-ancestors 'none'") == true)
            #expect(page.header("X-Content-Type-Options") == "nosniff")
            #expect(page.header("Referrer-Policy") == "no-referrer")
            let health = try await curl(["http://127.0.0.1:\(server.port)/-/healthy"])
            #expect(health.header("Content-Security-Policy") == nil)
        }
    }

    @Test func configuredHeadersGoOnEveryAnswerIncludingPreparedOnes() async throws {
        let prepared = PreparedResponse(HTTPResponse(status: 200, headers: [("Content-Type", "text/plain")],
                                                     body: Array("shared".utf8)))
        try await withServer({ $0.security.responseHeaders = [("Strict-Transport-Security", "max-age=60")] }, routes: { router in
            router.get("/prepared") { _ in .prepared(prepared) }
            router.get("/page", headers: SecurityHeaders.page) { _ in HTTPResponse.html("<p>hi</p>").reply }
        }) { server throws in
            for path in ["/prepared", "/prepared", "/page", "/missing"] {
                let response = try await curl(["http://127.0.0.1:\(server.port)\(path)"])
                #expect(response.header("Strict-Transport-Security") == "max-age=60", "\(path)")
            }
            #expect(try await curl(["http://127.0.0.1:\(server.port)/prepared"]).body == "shared")
        }
    }

    @Test func anAnswersOwnHeaderWinsOverTheRoutes() async throws {
        try await withServer(routes: { router in
            router.get("/custom", headers: SecurityHeaders.api) { _ in
                HTTPResponse(status: 200, headers: [("Content-Security-Policy", "default-src 'self'")], body: []).reply
            }
        }) { server throws in
            let response = try await curl(["http://127.0.0.1:\(server.port)/custom"])
            #expect(response.header("Content-Security-Policy") == "default-src 'self'")
        }
    }

    @Test func applyingNewSettingsTakesEffectOnTheNextRequest() async throws {
        try await withServer(routes: routes) { server throws in
            #expect(try await curl(["http://127.0.0.1:\(server.port)/whoami"]).status == 200)
            let notes = server.apply(SecuritySettings(authenticator: StubAuthenticator()))
            #expect(notes.isEmpty)
            #expect(try await curl(["http://127.0.0.1:\(server.port)/whoami"]).status == 401)
        }
    }
}
