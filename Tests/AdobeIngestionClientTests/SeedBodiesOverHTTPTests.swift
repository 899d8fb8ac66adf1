import AdobeIngestionClient
import AdobeSimulator
import Foundation
import IngestionModel
import TestSupport
import Testing

/// The simulator answers with the seed's bodies byte for byte, and the client
/// reads each of them into the right value, over real HTTP on loopback.
@Suite("Seed bodies over HTTP")
struct SeedBodiesOverHTTPTests {
    let path = "/acme-mkt-prod1/campaign/dataIngestion/xdmIngestion/XDM44/ingest"

    @Test func postSubmittedThenAlreadyInProgress() async throws {
        let h = try Harness()
        try await stopping(h) { h throws in
            let token = try await h.rawToken()
            let first = try await h.raw(.POST, path, token: token)
            #expect(first.0 == 200)
            #expect(first.1 == (try Fixtures.seedBody("post-submitted")))
            let second = try await h.raw(.POST, path, token: token)
            #expect(second.1 == (try Fixtures.seedBody("post-already-in-progress")))

            let client = h.client()
            #expect(try await client.trigger(mapping: "XDM44") == .alreadyInProgress("3520"))
        }
    }

    @Test func clientReadsSubmitted() async throws {
        let h = try Harness()
        try await stopping(h) { h throws in
            #expect(try await h.client().trigger(mapping: "XDM44") == .submitted("3520"))
        }
    }

    /// A mapping that is not stopped, or not published: the POST is refused with the
    /// seed's body (`post-not-<state>`), and the client reads Adobe's words.
    enum UnreadyMapping: String, Sendable, CaseIterable {
        case stopped, published

        var scenario: Scenario {
            Harness.scenario { mapping in
                switch self {
                case .stopped: mapping.stopped = false
                case .published: mapping.published = false
                }
            }
        }

        var outcome: TriggerOutcome {
            switch self {
            case .stopped: .notStopped(info: "Unable to submit data ingestion request, XDM Mapping ID: XDM44 is not stopped")
            case .published: .notPublished(info: "Unable to submit data ingestion request, XDM Mapping ID: XDM44 is not published")
            }
        }
    }

    @Test("a POST is refused when the mapping is not stopped or not published", arguments: UnreadyMapping.allCases)
    func postRefusedWhenNot(_ state: UnreadyMapping) async throws {
        let h = try Harness(scenario: state.scenario)
        try await stopping(h) { h throws in
            let raw = try await h.raw(.POST, path, token: try await h.rawToken())
            #expect(raw.1 == (try Fixtures.seedBody("post-not-\(state.rawValue)")))
            let outcome = try await h.client().trigger(mapping: "XDM44")
            #expect(outcome == state.outcome)
        }
    }

    struct GetCase: Sendable, CustomTestStringConvertible {
        let fixture: String
        let firstRequestID: Int
        let outcome: Scenario.Outcome
        let finished: Bool
        let expected: StatusReport
        var testDescription: String { fixture }
    }

    static let getCases: [GetCase] = [
        GetCase(fixture: "get-success", firstRequestID: 3520, outcome: .success, finished: true,
                expected: StatusReport(requestID: "3520", status: .success, numRecords: 15, info: "Mapping Id: XDM44. ")),
        GetCase(fixture: "get-failed-880056", firstRequestID: 3520, outcome: .failedToFetch, finished: true,
                expected: StatusReport(requestID: "3520", status: .failed,
                                       info: "Mapping Id: XDM44. ACP-880056 Failed to fetch the record from the database.")),
        GetCase(fixture: "get-failed-880096", firstRequestID: 3521, outcome: .failedToUpload, finished: true,
                expected: StatusReport(requestID: "3521", status: .failed, batchID: "01EXAMPLEBATCH",
                                       info: "Mapping Id: XDM44. ACP-880096 Sync Job failed to upload. Please check the error in the Platform UI.")),
        GetCase(fixture: "get-aborted", firstRequestID: 3522, outcome: .aborted, finished: true,
                expected: StatusReport(requestID: "3522", status: .aborted,
                                       info: "Mapping Id: XDM44. Ingestion request aborted due to some issue with data ingestion service. Please submit a new request")),
        GetCase(fixture: "get-in-progress", firstRequestID: 3523, outcome: .success, finished: false,
                expected: StatusReport(requestID: "3523", status: .inProgress, info: "Mapping Id: XDM44.")),
    ]

    @Test("every GET body of the seed, byte for byte and decoded", arguments: getCases)
    func getBody(_ c: GetCase) async throws {
        let h = try Harness(scenario: Harness.scenario(firstRequestID: c.firstRequestID))
        try await stopping(h) { h throws in
            h.simulator.setNextOutcomes(tenant: "acme-mkt-prod1", mapping: "XDM44", [c.outcome], batchIDs: ["01EXAMPLEBATCH"])
            let client = h.client()
            let id = try #require(try await client.trigger(mapping: "XDM44").requestID)
            if c.finished { h.simulatorTime.advance(by: .seconds(10)) }

            let raw = try await h.raw(.GET, path + "?requestId=\(id)", token: try await h.rawToken())
            #expect(raw.1 == (try Fixtures.seedBody(c.fixture)))
            #expect(try await client.status(mapping: "XDM44", requestID: id) == c.expected)
        }
    }

    @Test func requestIdCanTravelInTheBody() async throws {
        let h = try Harness()
        try await stopping(h) { h throws in
            let client = h.client(placement: .body)
            let id = try #require(try await client.trigger(mapping: "XDM44").requestID)
            #expect(try await client.status(mapping: "XDM44", requestID: id).status == .inProgress)
        }
    }

    @Test func mappingIdsArePercentEncoded() async throws {
        let h = try Harness(scenario: Harness.scenario(mapping: "XDM/44 é?&"))
        try await stopping(h) { h throws in
            let client = h.client()
            let id = try #require(try await client.trigger(mapping: "XDM/44 é?&").requestID)
            #expect(try await client.status(mapping: "XDM/44 é?&", requestID: id).requestID == id)
        }
    }
}
