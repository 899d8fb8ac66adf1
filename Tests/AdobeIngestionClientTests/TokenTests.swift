import AdobeIngestionClient
import AdobeSimulator
import Foundation
import IngestionModel
import TestSupport
import Testing

@Suite("IMS tokens")
struct TokenTests {
    @Test func concurrentCallersShareOneTokenRequest() async throws {
        let h = try Harness()
        try await stopping(h) { h throws in
            let client = h.client()
            let id = try #require(try await h.client().trigger(mapping: "XDM44").requestID)
            let before = h.simulator.callCount(.token)
            try await withThrowingTaskGroup(of: StatusReport.self) { group in
                for _ in 0..<40 { group.addTask { try await client.status(mapping: "XDM44", requestID: id) } }
                for try await report in group { #expect(report.status == .inProgress) }
            }
            #expect(h.simulator.callCount(.token) - before == 1)
        }
    }

    /// A caller cancelled while a token request it shares with another is under way
    /// leaves at once (the request may be waiting out a pause); the other still gets the
    /// token. Before, it waited for the request to end, holding up whoever awaited it
    /// (a replica handing over a tenant).
    @Test func aCancelledCallerLeavesASharedTokenRequestAtOnce() async throws {
        let h = try Harness()
        try await stopping(h) { h throws in
            let client = h.client()
            h.simulator.inject(.slow(.seconds(8)), on: .token)
            let leaving = Task { () -> AdobeAPIError? in
                do throws(AdobeAPIError) { try await client.authenticate(); return nil } catch { return error }
            }
            let stayed = Latch()
            let staying = Task { try await client.authenticate(); stayed.open() }
            try await eventually("the token request reached IMS") { h.simulator.callCount(.token) == 1 }
            leaving.cancel()
            // Before, it waited for the request and then returned its token.
            #expect(await leaving.value == .cancelled)
            #expect(!stayed.isOpen, "the cancelled caller left only once the token request had ended")
            try await staying.value
            #expect(h.simulator.callCount(.token) == 1, "the request went on for the caller that stayed")
        }
    }

    /// One clock for both sides, so the client's view of expiry is the simulator's.
    static func sharedClock(tokenLifetime: Duration) throws -> (Harness, ManualTimeSource) {
        var scenario = Harness.scenario()
        scenario.tokenLifetime = tokenLifetime
        let time = ManualTimeSource()
        return (try Harness(scenario: scenario, clientTime: time, simulatorTime: time), time)
    }

    @Test func tokenIsRenewedBeforeItExpires() async throws {
        let (h, time) = try Self.sharedClock(tokenLifetime: .seconds(100))
        try await stopping(h) { h throws in
            let client = h.client()
            let id = try #require(try await client.trigger(mapping: "XDM44").requestID)
            #expect(h.simulator.callCount(.token) == 1)
            time.advance(by: .seconds(60))
            _ = try await client.status(mapping: "XDM44", requestID: id)
            #expect(h.simulator.callCount(.token) == 1)
            // Within the last third of its lifetime: renewed well before it expires (8 h of a 24 h IMS token).
            time.advance(by: .seconds(8))
            _ = try await client.status(mapping: "XDM44", requestID: id)
            #expect(h.simulator.callCount(.token) == 2)
        }
    }

    @Test func aFailedEarlyRenewalKeepsUsingTheStillValidToken() async throws {
        let (h, time) = try Self.sharedClock(tokenLifetime: .seconds(100))
        try await stopping(h) { h throws in
            let client = h.client(maxAttempts: 1)
            let id = try #require(try await client.trigger(mapping: "XDM44").requestID)
            time.advance(by: .seconds(95))  // due for renewal, not yet expired
            h.simulator.inject(.serverError, on: .token)
            #expect(try await client.status(mapping: "XDM44", requestID: id).status == .success)
            #expect(h.simulator.callCount(.token) == 2)
        }
    }

    @Test func a401RenewsTheTokenOnceAndRetries() async throws {
        let h = try Harness()
        try await stopping(h) { h throws in
            let client = h.client()
            let id = try #require(try await client.trigger(mapping: "XDM44").requestID)
            h.simulator.revokeTokens()
            #expect(try await client.status(mapping: "XDM44", requestID: id).status == .inProgress)
            #expect(h.simulator.callCount(.token) == 2)
        }
    }

    @Test func a401WithAFreshTokenIsUnauthorized() async throws {
        let h = try Harness()
        try await stopping(h) { h throws in
            h.simulator.inject(.unauthorized, on: .trigger, times: 2)
            await #expect(throws: AdobeAPIError.unauthorized(code: "401013", message: "Oauth token is not valid")) {
                try await h.client().trigger(mapping: "XDM44")
            }
            #expect(h.simulator.callCount(.token) == 2)
        }
    }

    @Test func secretsNeverReachLogsOrErrors() async throws {
        let h = try Harness()
        try await stopping(h) { h throws in
            let client = h.client()
            var descriptions: [String] = []
            h.simulator.inject(.throttled(retryAfter: "1"), on: .trigger)
            h.simulator.inject(.serverError, on: .trigger)
            let id = try #require(try await client.trigger(mapping: "XDM44").requestID)
            h.simulator.revokeTokens()
            _ = try await client.status(mapping: "XDM44", requestID: id)
            h.simulator.inject(.unauthorized, on: .status, times: 2)
            do { _ = try await client.status(mapping: "XDM44", requestID: id) } catch { descriptions.append("\(error)") }
            do { _ = try await h.client(secret: "s3cr3t-value-42-wrong").trigger(mapping: "XDM44") } catch {
                descriptions.append("\(error)")
            }
            descriptions.append("\(client.configuration)")
            descriptions.append(String(reflecting: client.configuration))
            descriptions.append("\(Secret("s3cr3t-value-42"))")

            let tokens = h.simulator.issuedTokens()
            #expect(tokens.count >= 3)
            let everything = h.logs.all + descriptions
            #expect(!h.logs.all.isEmpty)
            for text in everything {
                #expect(!text.contains("s3cr3t-value-42"), "client secret in: \(text)")
                for token in tokens { #expect(!text.contains(token), "access token in: \(text)") }
            }
        }
    }
}

@Suite struct RetryPolicyTests {
    @Test func backoffDoublesAndIsCapped() {
        var policy = RetryPolicy()
        policy.maxBackoff = .seconds(4)
        #expect(policy.backoff(afterAttempt: 1, jitter: 1) == .seconds(1))
        #expect(policy.backoff(afterAttempt: 2, jitter: 1) == .seconds(2))
        #expect(policy.backoff(afterAttempt: 5, jitter: 1) == .seconds(4))
        #expect(policy.backoff(afterAttempt: 5, jitter: 0) == .seconds(2))
    }
}
