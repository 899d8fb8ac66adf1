import AdobeIngestionClient
import AdobeSimulator
import Foundation
import IngestionModel
import TestSupport
import Testing

/// Every fault the simulator can inject, met by the client.
@Suite("Faults")
struct FaultTests {
    /// 429 and 503 answers with a Retry-After in seconds: the client waits that long, then succeeds.
    static let retryAfterSeconds: [(InjectedFault, Duration)] = [
        (.throttled(retryAfter: "7"), .seconds(7)),
        (.unavailableFor(retryAfter: "9"), .seconds(9)),
    ]

    @Test("Retry-After in seconds is honoured", arguments: retryAfterSeconds)
    func retryAfterInSecondsIsHonoured(_ fault: InjectedFault, _ wait: Duration) async throws {
        let time = ImmediateTimeSource()
        let h = try Harness(clientTime: time)
        try await stopping(h) { h throws in
            h.simulator.inject(fault, on: .trigger)
            #expect(try await h.client().trigger(mapping: "XDM44") == .submitted("3520"))
            #expect(time.sleeps == [wait])
        }
    }

    struct ReportedFault: CustomTestStringConvertible, Sendable {
        let why: String
        let fault: InjectedFault
        var operation: SimulatedOperation = .trigger
        var times = 1
        let error: AdobeAPIError
        var testDescription: String { why }
    }

    /// Faults a trigger meets (`times` in a row), with the error the client reports.
    static let reportedFaults: [ReportedFault] = [
        ReportedFault(why: "throttling that outlasts the retries is an error", fault: .throttled(retryAfter: "1"), times: 4,
                      error: .throttled(retryAfter: .seconds(1))),
        ReportedFault(why: "a cut-off token answer is never quoted", fault: .truncated, operation: .token,
                      error: .bodyNotJSON(status: 200, snippet: "(token response withheld)")),
        ReportedFault(why: "an HTML page is not JSON", fault: .notJSON, error: .bodyNotJSON(
            status: 200, snippet: "<html><head><title>Error</title></head><body><h1>Bad Gateway</h1></body></html>")),
        ReportedFault(why: "an empty body is reported", fault: .rawBody(""), error: .bodyNotJSON(status: 200, snippet: "(empty)")),
        ReportedFault(why: "403 is reported with the gateway's code", fault: .forbidden,
                      error: .forbidden(code: "403023", message: "Profile is not valid")),
    ]

    @Test("a fault is reported as its error", arguments: reportedFaults)
    func faultIsReported(_ example: ReportedFault) async throws {
        let h = try Harness()
        try await stopping(h) { h throws in
            h.simulator.inject(example.fault, on: example.operation, times: example.times)
            await #expect(throws: example.error) {
                try await h.client().trigger(mapping: "XDM44")
            }
        }
    }

    @Test func throttlingHonoursRetryAfterAsHTTPDate() async throws {
        let time = ImmediateTimeSource(now: Date(timeIntervalSince1970: 1_700_000_000))
        let h = try Harness(clientTime: time)
        try await stopping(h) { h throws in
            // 1_700_000_000 is Tue, 14 Nov 2023 22:13:20 GMT; ask for 12 s later.
            h.simulator.inject(.throttled(retryAfter: "Tue, 14 Nov 2023 22:13:32 GMT"), on: .status)
            let client = h.client()
            let id = try #require(try await client.trigger(mapping: "XDM44").requestID)
            _ = try await client.status(mapping: "XDM44", requestID: id)
            #expect(time.sleeps == [.seconds(12)])
        }
    }

    @Test func throttlingWithoutRetryAfterBacksOffExponentially() async throws {
        let time = ImmediateTimeSource()
        let h = try Harness(clientTime: time)
        try await stopping(h) { h throws in
            h.simulator.inject(.throttled(retryAfter: nil), on: .trigger, times: 3)
            #expect(try await h.client().trigger(mapping: "XDM44") == .submitted("3520"))
            // Jitter is fixed at 0.5 in tests: ¾ of 1 s, 2 s, 4 s.
            #expect(time.sleeps == [.milliseconds(750), .milliseconds(1500), .milliseconds(3000)])
        }
    }

    @Test func serverErrorsAreRetriedThenReported() async throws {
        let calls = CallLog()
        let h = try Harness()
        try await stopping(h) { h throws in
            h.simulator.inject(.serverError, on: .trigger, times: 2)
            #expect(try await h.client(observe: calls.observe).trigger(mapping: "XDM44") == .submitted("3520"))
            #expect(calls.codes == ["token:200", "trigger:500", "trigger:500", "trigger:200"])

            h.simulator.inject(.serverError, on: .trigger, times: 4)
            await #expect(throws: AdobeAPIError.serverError(status: 500, message: "Oops. Something went wrong. Check your URI and try again.")) {
                try await h.client().trigger(mapping: "XDM44")
            }
        }
    }

    @Test func unavailableIsRetried() async throws {
        let h = try Harness()
        try await stopping(h) { h throws in
            h.simulator.inject(.unavailable, on: .trigger)
            #expect(try await h.client().trigger(mapping: "XDM44") == .submitted("3520"))
        }
    }

    @Test func answersSlowerThanTheTimeoutAreTimeouts() async throws {
        let calls = CallLog()
        let h = try Harness()
        try await stopping(h) { h throws in
            // Two seconds: ample for the token request on a loaded machine, far below the slow answer.
            h.simulator.inject(.slow(.seconds(30)), on: .trigger)
            let client = h.client(timeout: .seconds(2), maxAttempts: 1, observe: calls.observe)
            await #expect(throws: AdobeAPIError.timeout(.seconds(2))) {
                try await client.trigger(mapping: "XDM44")
            }
            #expect(calls.codes.last == "trigger:timeout")
        }
    }

    @Test func aSlowAnswerIsRetriedAfterItsTimeout() async throws {
        let h = try Harness()
        try await stopping(h) { h throws in
            // Two seconds: ample for the token request on a loaded machine, far below the slow answer.
            h.simulator.inject(.slow(.seconds(10)), on: .trigger)
            let client = h.client(timeout: .seconds(2), maxAttempts: 2)
            // The slow POST created the request: the retry adopts it.
            #expect(try await client.trigger(mapping: "XDM44") == .alreadyInProgress("3520"))
        }
    }

    @Test func truncatedBodyIsNotJSON() async throws {
        let h = try Harness()
        try await stopping(h) { h throws in
            h.simulator.inject(.truncated, on: .trigger)
            let body = try Fixtures.seedBody("post-submitted")
            let half = body.prefix(body.count / 2)
            let snippet = String(decoding: half, as: UTF8.self).replacingOccurrences(of: "\n", with: " ")
            await #expect(throws: AdobeAPIError.bodyNotJSON(status: 200, snippet: snippet)) {
                try await h.client().trigger(mapping: "XDM44")
            }
        }
    }

    @Test func bodyOverOneMebibyteIsRefused() async throws {
        let calls = CallLog()
        let h = try Harness()
        try await stopping(h) { h throws in
            h.simulator.inject(.oversized(bytes: 2 << 20), on: .trigger)
            await #expect(throws: AdobeAPIError.bodyTooLarge(limit: 1 << 20)) {
                try await h.client(observe: calls.observe).trigger(mapping: "XDM44")
            }
            #expect(calls.codes.last == "trigger:body_too_large")
        }
    }

    @Test func unknownMappingIsNotFound() async throws {
        let h = try Harness()
        try await stopping(h) { h throws in
            await #expect(throws: AdobeAPIError.notFound(message: "Resource not found")) {
                try await h.client().trigger(mapping: "XDM99")
            }
        }
    }

    @Test func refusedConnectionIsAConnectionFailure() async throws {
        let h = try Harness()
        let client = h.client(maxAttempts: 1)
        _ = try await client.trigger(mapping: "XDM44")  // token cached while the server is up
        await h.simulator.stop()
        await #expect {
            try await client.trigger(mapping: "XDM44")
        } throws: { error in
            if case AdobeAPIError.connectionFailed = error { return true }
            return false
        }
    }

    @Test func wrongClientSecretIsAnAuthenticationFailure() async throws {
        let h = try Harness()
        try await stopping(h) { h throws in
            await #expect(throws: AdobeAPIError.authenticationFailed(
                status: 401, code: "invalid_client", message: "invalid client_id or client_secret")) {
                try await h.client(secret: "wrong").trigger(mapping: "XDM44")
            }
        }
    }
}
