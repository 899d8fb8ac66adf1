import AdobeSimulator
import ExporterCore
import Foundation
import IngestionModel
import IngestionStore
import TestSupport
import Testing
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// /api/v1: every endpoint and every error case.
@Suite("HTTP API", .serialized)
struct APITests {
    static let token = "api-token-0b7e"
    let tenant = EndToEndTests.tenant

    func call(_ daemon: ExporterDaemon, _ method: String, _ path: String, body: String? = nil,
              token: String? = APITests.token) async throws -> (Int, [String: Any], HTTPURLResponse) {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(daemon.port)\(path)")!)
        request.httpMethod = method
        if let body { request.httpBody = Data(body.utf8) }
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        let (data, response) = try await URLSession.shared.data(for: request)
        let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
        return ((response as! HTTPURLResponse).statusCode, object, response as! HTTPURLResponse)
    }

    @Test func writesAreOffWithoutAConfiguredToken() async throws {
        try await EndToEndTests.Setup.run { setup, daemon in
            let (status, body, _) = try await call(daemon, "POST", "/api/v1/requests",
                                                   body: #"{"tenant":"acme-mkt-prod1","mapping":"XDM44","requestId":1}"#)
            #expect(status == 403)
            #expect((body["error"] as? String)?.contains("api.token_file") == true)
            let trigger = try await call(daemon, "POST", "/api/v1/tenants/\(tenant)/mappings/XDM44/ingest")
            #expect(trigger.0 == 403)
            #expect(try await call(daemon, "GET", "/api/v1/requests", token: nil).0 == 200)
        }
    }

    @Test func writesNeedTheBearerToken() async throws {
        try await EndToEndTests.Setup.run(apiToken: Self.token) { setup, daemon in
            let body = #"{"tenant":"acme-mkt-prod1","mapping":"XDM44","requestId":1}"#
            let (missing, _, response) = try await call(daemon, "POST", "/api/v1/requests", body: body, token: nil)
            #expect(missing == 401 && response.value(forHTTPHeaderField: "WWW-Authenticate") == "Bearer")
            #expect(try await call(daemon, "POST", "/api/v1/requests", body: body, token: "wrong").0 == 401)
        }
    }

    @Test func trackingIsIdempotent() async throws {
        try await EndToEndTests.Setup.run(apiToken: Self.token) { setup, daemon in
            let first = try await call(daemon, "POST", "/api/v1/requests", body: #"{"tenant":"acme-mkt-prod1","mapping":"XDM44","requestId":3520}"#)
            #expect(first.0 == 201)
            #expect(first.1["request_id"] as? String == "3520" && first.1["origin"] as? String == "external")
            let again = try await call(daemon, "POST", "/api/v1/requests", body: #"{"tenant":"acme-mkt-prod1","mapping":"XDM44","requestId":"3520"}"#)
            #expect(again.0 == 200)
            #expect(try await daemon.collector.store.openRequests().count == 1)
            let metrics = try await setup.metrics(daemon)
            #expect(metrics[series("acs_ingestion_requests_in_progress", tenant, "XDM44")] == 1)
        }
    }

    struct BadBody: Sendable, CustomTestStringConvertible {
        let body: String
        let status: Int
        let message: String
        var testDescription: String { message }
    }

    static let badBodies: [BadBody] = [
        BadBody(body: "{not json", status: 400, message: "request body is not valid JSON"),
        BadBody(body: "[1,2]", status: 400, message: "request body must be a JSON object"),
        BadBody(body: "", status: 400, message: "request body is empty; expected a JSON object"),
        BadBody(body: #"{"mapping":"XDM44","requestId":1}"#, status: 400, message: "field \"tenant\" is required"),
        BadBody(body: #"{"tenant":7,"mapping":"XDM44","requestId":1}"#, status: 400, message: "field \"tenant\" must be a non-empty string"),
        BadBody(body: #"{"tenant":"acme-mkt-prod1","mapping":"XDM44"}"#, status: 400, message: "field \"requestId\" is required"),
        BadBody(body: #"{"tenant":"acme-mkt-prod1","mapping":"XDM44","requestId":true}"#, status: 400,
                message: "field \"requestId\" must be a number or a string"),
        BadBody(body: #"{"tenant":"acme-mkt-prod1","mapping":"XDM44","requestId":[1]}"#, status: 400,
                message: "field \"requestId\" must be a number or a string"),
        BadBody(body: #"{"tenant":"nobody","mapping":"XDM44","requestId":1}"#, status: 404, message: "unknown tenant \"nobody\""),
        BadBody(body: #"{"tenant":"acme-mkt-prod1","mapping":"XDM99","requestId":1}"#, status: 404,
                message: "unknown mapping \"XDM99\" in tenant \"acme-mkt-prod1\""),
        BadBody(body: #"{"tenant":"acme-mkt-prod1","mapping":"XDM44","requestId":1,"pad":""# + String(repeating: "x", count: 70_000) + "\"}",
                status: 413, message: "request body over 65536 bytes"),
    ]

    @Test("bad bodies are refused with a message naming the problem", arguments: badBodies)
    func badBody(_ bad: BadBody) async throws {
        try await EndToEndTests.Setup.run(apiToken: Self.token) { setup, daemon in
            let (status, body, response) = try await call(daemon, "POST", "/api/v1/requests", body: bad.body)
            #expect(status == bad.status)
            #expect(body["error"] as? String == bad.message)
            #expect(response.value(forHTTPHeaderField: "Content-Type") == "application/json")
            #expect(try await daemon.collector.store.openRequests().isEmpty)
        }
    }

    @Test func triggerAnswersWithTheUpstreamResult() async throws {
        try await EndToEndTests.Setup.run(apiToken: Self.token) { setup, daemon in
            let path = "/api/v1/tenants/\(tenant)/mappings/XDM44/ingest"
            let submitted = try await call(daemon, "POST", path)
            #expect(submitted.0 == 201 && submitted.1["result"] as? String == "submitted" && submitted.1["requestId"] as? String == "3520")
            let again = try await call(daemon, "POST", path)
            #expect(again.0 == 200 && again.1["result"] as? String == "already_in_progress" && again.1["requestId"] as? String == "3520")
            setup.simulator.setMapping(tenant: tenant, mapping: "XDM45", stopped: false)
            let notStopped = try await call(daemon, "POST", "/api/v1/tenants/\(tenant)/mappings/XDM45/ingest")
            #expect(notStopped.0 == 409 && notStopped.1["result"] as? String == "not_stopped")
            setup.simulator.setMapping(tenant: tenant, mapping: "XDM45", published: false, stopped: true)
            let notPublished = try await call(daemon, "POST", "/api/v1/tenants/\(tenant)/mappings/XDM45/ingest")
            #expect(notPublished.0 == 409 && notPublished.1["result"] as? String == "not_published")
            #expect((notPublished.1["info"] as? String)?.hasSuffix("is not published") == true)
            #expect(try await call(daemon, "POST", "/api/v1/tenants/\(tenant)/mappings/XDM99/ingest").0 == 404)
            #expect(try await call(daemon, "POST", "/api/v1/tenants/nobody/mappings/XDM44/ingest").0 == 404)
        }
    }

    @Test func historyIsNewestFirstFilteredAndPaginated() async throws {
        try await EndToEndTests.Setup.run(apiToken: Self.token) { setup, daemon in
            let start = setup.time.now()
            var history: [TrackedRequest] = []
            for index in 0..<25 {
                let first = start.addingTimeInterval(Double(index) * 60)
                let mapping = index % 2 == 0 ? "XDM44" : "XDM45"
                history.append(TrackedRequest(key: MappingKey(tenant: tenant, mapping: mapping), requestID: RequestID(1000 + index),
                                              origin: .external, firstSeen: first, lastPolled: first, status: index % 5 == 0 ? .failed : .success,
                                              numRecords: 3, finishedAt: first.addingTimeInterval(30)))
            }
            try await daemon.collector.store.importHistory(history)

            var seen: [String] = []
            var cursor: String?
            repeat {
                let (status, body, _) = try await call(daemon, "GET", "/api/v1/requests?limit=10" + (cursor.map { "&cursor=\($0)" } ?? ""))
                #expect(status == 200)
                seen += (body["requests"] as? [[String: Any]] ?? []).compactMap { $0["request_id"] as? String }
                cursor = body["next_cursor"] as? String
            } while cursor != nil
            #expect(seen == (1000..<1025).reversed().map(String.init))

            let filtered = try await call(daemon, "GET", "/api/v1/requests?mapping=XDM44&status=failed")
            let ids = (filtered.1["requests"] as? [[String: Any]] ?? []).compactMap { $0["request_id"] as? String }
            #expect(ids == ["1020", "1010", "1000"])
            let since = ISO8601DateFormatter().string(from: start.addingTimeInterval(20 * 60))
            let recent = try await call(daemon, "GET", "/api/v1/requests?since=\(since)")
            #expect((recent.1["requests"] as? [Any])?.count == 5)

            let unknown = try await call(daemon, "GET", "/api/v1/requests?tenant=nobody")
            #expect(unknown.0 == 404 && unknown.1["error"] as? String == "unknown tenant \"nobody\"")
            let wrongMethod = try await call(daemon, "DELETE", "/api/v1/requests")
            #expect(wrongMethod.0 == 405 && (wrongMethod.1["error"] as? String)?.hasPrefix("method DELETE not allowed") == true)

            try await daemon.collector.store.importHistory([TrackedRequest(key: MappingKey(tenant: tenant, mapping: "XDM44"), requestID: "1",
                                                           origin: .external, firstSeen: start.addingTimeInterval(-90 * 86400),
                                                           status: .success, numRecords: 1,
                                                           finishedAt: start.addingTimeInterval(-90 * 86400))])
            _ = try await daemon.collector.store.prune(finishedBefore: start.addingTimeInterval(-30 * 86400), limit: 1000)
            let pruned = try await call(daemon, "POST", "/api/v1/requests", body: #"{"tenant":"acme-mkt-prod1","mapping":"XDM44","requestId":1}"#)
            #expect(pruned.0 == 409)

            for (query, message) in [("limit=0", "parameter \"limit\" must be a whole number from 1 to 1000"),
                                     ("limit=x", "parameter \"limit\" must be a whole number from 1 to 1000"),
                                     ("status=done", "parameter \"status\" must be one of in_progress, success, failed, aborted, abandoned"),
                                     ("since=yesterday", "parameter \"since\" must be an RFC 3339 time (2026-11-29T08:00:00Z) or Unix seconds"),
                                     ("cursor=abc", "parameter \"cursor\" is not a cursor this API returned")] {
                let (status, body, _) = try await call(daemon, "GET", "/api/v1/requests?\(query)")
                #expect(status == 400 && body["error"] as? String == message, "\(query)")
            }
        }
    }

    @Test func oneRequestWithItsObservations() async throws {
        try await EndToEndTests.Setup.run(apiToken: Self.token) { setup, daemon in
            setup.simulator.setNextOutcomes(tenant: tenant, mapping: "XDM44", [.failedToUpload], batchIDs: ["01BATCH"])
            await daemon.collector.cycle(tenant: tenant)
            await daemon.collector.cycle(tenant: tenant)
            setup.time.advance(by: .seconds(10))
            await daemon.collector.cycle(tenant: tenant)
            let (status, body, _) = try await call(daemon, "GET", "/api/v1/requests/\(tenant)/XDM44/3520")
            #expect(status == 200)
            #expect(body["status"] as? String == "failed" && body["acp_code"] as? String == "ACP-880096" && body["batch_id"] as? String == "01BATCH")
            let observations = body["observations"] as? [[String: Any]] ?? []
            #expect(observations.map { $0["status"] as? String } == ["in_progress", "failed"])
            #expect(try await call(daemon, "GET", "/api/v1/requests/\(tenant)/XDM44/999").0 == 404)
            #expect(try await call(daemon, "GET", "/api/v1/requests/nobody/XDM44/3520").0 == 404)
            #expect(try await call(daemon, "GET", "/api/v1/nothing-here").0 == 404)
        }
    }

    @Test func mappingsCarryTheirLatestRequestAndTheMetricsCounters() async throws {
        try await EndToEndTests.Setup.run(apiToken: Self.token) { setup, daemon in
            setup.simulator.setNextOutcomes(tenant: tenant, mapping: "XDM44", [.success, .failedToFetch])
            for _ in 0..<2 {
                await daemon.collector.cycle(tenant: tenant)
                setup.time.advance(by: .seconds(10))
                await daemon.collector.cycle(tenant: tenant)
                setup.time.advance(by: .seconds(60))
            }
            let (status, body, _) = try await call(daemon, "GET", "/api/v1/mappings", token: nil)
            #expect(status == 200)
            let mappings = body["mappings"] as? [[String: Any]] ?? []
            let xdm44 = try #require(mappings.first { $0["mapping"] as? String == "XDM44" })
            let counters = xdm44["counters"] as? [String: Any] ?? [:]
            let requests = counters["requests"] as? [String: Int] ?? [:]
            let metrics = try await setup.metrics(daemon)
            #expect(Double(requests["success"] ?? -1) == metrics[series("acs_ingestion_requests_total", tenant, "XDM44", "status=\"success\"")])
            #expect(Double(requests["failed"] ?? -1) == metrics[series("acs_ingestion_requests_total", tenant, "XDM44", "status=\"failed\"")])
            #expect(Double(counters["records_ingested"] as? Int ?? -1) == metrics[series("acs_ingestion_records_ingested_total", tenant, "XDM44")])
            #expect((xdm44["latest_request"] as? [String: Any])?["request_id"] as? String == "3522")
        }
    }

    @Test func theStatusPageShowsEveryMapping() async throws {
        try await EndToEndTests.Setup.run(apiToken: Self.token) { setup, daemon in
            await daemon.collector.cycle(tenant: tenant)
            let answer = try await http("http://127.0.0.1:\(daemon.port)/")
            let page = answer.text
            #expect(answer.status == 200 && answer.header("Content-Type") == "text/html; charset=utf-8")
            #expect(page.contains("data-mapping=\"XDM44\"") && page.contains("data-mapping=\"XDM45\""))
            #expect(page.contains("<svg class=\"chart\""))
            #expect(page.range(of: "href=\"/metrics\"")!.lowerBound < page.range(of: "href=\"/api/v1/mappings\"")!.lowerBound)
            #expect(!page.contains("<script"))
        }
    }
}
