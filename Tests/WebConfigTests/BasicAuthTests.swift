import Foundation
import HTTPServer
import Testing
@testable import WebConfig
import TestSupport

/// basic_auth_users in front of a real server, driven with curl.
@Suite("Basic authentication")
struct BasicAuthTests {
    static let users = ["alice": WebConfigurationParsingTests.aliceHash]

    private func routes(_ router: inout Router) {
        router.get("/metrics") { _ in HTTPResponse.text("up 1\n").reply }
        router.get("/-/healthy") { _ in HTTPResponse.text("ok").reply }
        router.get("/-/ready") { _ in HTTPResponse.text("ready").reply }
        // The write API's HTTP-layer half: the handler sees who authenticated and
        // allows writes only to `api.write_users` (here: alice).
        router.add("POST", "/api/v1/requests", .immediate { request in
            request.authenticatedUser == "alice" ? HTTPResponse.json(Array("{}".utf8), status: 201).reply
                : HTTPResponse.json(Array(#"{"error":"not a write user"}"#.utf8), status: 403).reply
        })
    }

    private func withBasicAuth(_ authenticator: BasicAuthenticator, _ body: (HTTPServer) async throws -> Void) async throws {
        try await withServer({
            $0.security.authenticator = authenticator
            $0.unauthenticatedRoutes = ["/-/healthy", "/-/ready"]  // as the exporter names its probes
        }, routes: routes, body)
    }

    @Test func theRightPasswordIs200AndAWrongOrMissingOneIs401WithAChallenge() async throws {
        try await withBasicAuth(BasicAuthenticator(users: Self.users)) { server throws in
            let url = "http://127.0.0.1:\(server.port)/metrics"
            #expect(try await curl(["-u", "alice:correct horse", url]).status == 200)
            for arguments in [["-u", "alice:wrong"], ["-u", "mallory:correct horse"], []] {
                let refused = try await curl(arguments + [url])
                #expect(refused.status == 401)
                #expect(refused.header("WWW-Authenticate") == #"Basic realm="acs-ingestion-exporter", charset="UTF-8""#)
            }
            #expect(server.statistics().requests(handler: "/metrics", code: 401) == 3)
        }
    }

    @Test func healthEndpointsAnswerWithoutCredentials() async throws {
        try await withBasicAuth(BasicAuthenticator(users: Self.users)) { server throws in
            #expect(try await curl(["http://127.0.0.1:\(server.port)/-/healthy"]).status == 200)
            #expect(try await curl(["http://127.0.0.1:\(server.port)/-/ready"]).status == 200)
        }
    }

    @Test func successfulChecksAreCachedAndFailuresNever() async throws {
        let authenticator = BasicAuthenticator(users: Self.users)
        try await withBasicAuth(authenticator) { server throws in
            let url = "http://127.0.0.1:\(server.port)/metrics"
            for _ in 0..<5 { #expect(try await curl(["-u", "alice:correct horse", url]).status == 200) }
            #expect(authenticator.uncachedChecks.load(ordering: .relaxed) == 1)
            for _ in 0..<3 { #expect(try await curl(["-u", "alice:wrong", url]).status == 401) }
            #expect(authenticator.uncachedChecks.load(ordering: .relaxed) == 4)
            // A cached password does not stand in for another one.
            #expect(try await curl(["-u", "alice:correct horsE", url]).status == 401)
        }
    }

    @Test func theWriteAPISeesWhoAuthenticated() async throws {
        let users = Self.users.merging(["reader": try #require(Bcrypt.hash("read-only", cost: 4))]) { $1 }
        try await withBasicAuth(BasicAuthenticator(users: users)) { server throws in
            let url = "http://127.0.0.1:\(server.port)/api/v1/requests"
            #expect(try await curl(["-u", "alice:correct horse", "-d", "{}", url]).status == 201)
            #expect(try await curl(["-u", "reader:read-only", "-d", "{}", url]).status == 403)
            #expect(try await curl(["-d", "{}", url]).status == 401)
            // The bearer token alone does not pass basic auth (docs/web-security.md).
            #expect(try await curl(["-H", "Authorization: Bearer token", "-d", "{}", url]).status == 401)
        }
    }

    @Test func tooManyWaitingChecksAre503RatherThanAQueue() async {
        let authenticator = BasicAuthenticator(users: Self.users, maxWaiting: 0)
        let request = HTTPRequest(method: "GET", rawPath: "/metrics",
                                  headers: ["Authorization": "Basic " + Data("alice:guess".utf8).base64EncodedString()])
        guard case .pending(let check) = authenticator.authenticate(request),
              case .refused(.response(let response)) = await check() else {
            Issue.record("expected a refusal")
            return
        }
        #expect(response.status == 503)
        #expect(response.headers.contains { $0.name == "Retry-After" })
    }

    /// Checks decided but never run (the request refused by a limit, or its client gone
    /// before the body came) hold no place: a later check still runs.
    @Test func checksThatNeverRunHoldNoPlace() async {
        let authenticator = BasicAuthenticator(users: Self.users, maxWaiting: 2)
        let guess = HTTPRequest(method: "GET", rawPath: "/metrics",
                                headers: ["Authorization": "Basic " + Data("alice:guess".utf8).base64EncodedString()])
        for _ in 0..<40 { _ = authenticator.authenticate(guess) }
        let right = HTTPRequest(method: "GET", rawPath: "/metrics",
                                headers: ["Authorization": "Basic " + Data("alice:correct horse".utf8).base64EncodedString()])
        guard case .pending(let check) = authenticator.authenticate(right), case .allowed(user: "alice") = await check() else {
            Issue.record("a check was refused after 40 that never ran")
            return
        }
    }

    @Test func cachedChecksAreFarCheaperThanBcrypt() async throws {
        let authenticator = BasicAuthenticator(users: Self.users)
        let request = HTTPRequest(method: "GET", rawPath: "/metrics",
                                  headers: ["Authorization": "Basic " + Data("alice:correct horse".utf8).base64EncodedString()])
        let clock = ContinuousClock()
        let first = clock.now
        guard case .pending(let check) = authenticator.authenticate(request) else { Issue.record("expected a bcrypt check"); return }
        guard case .allowed(user: "alice") = await check() else { Issue.record("expected alice"); return }
        let uncached = clock.now - first
        let second = clock.now
        for _ in 0..<100 {
            guard case .allowed = authenticator.authenticate(request) else { Issue.record("expected the cache"); return }
        }
        let cached = (clock.now - second) / 100
        print("bcrypt cost 10: uncached \(uncached), cached \(cached) per check")
        #expect(cached * 50 < uncached)
    }
}
