import Foundation
import TestSupport
import Testing
@testable import IngestionModel

@Suite("Decoding the seed's GET bodies and their odd variants")
struct StatusDecodingTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let name: String
        let body: String
        let expected: StatusReport
        var testDescription: String { name }
    }

    static let recorded: [(String, StatusReport)] = [
        ("get-success", StatusReport(requestID: "3520", status: .success, numRecords: 15, info: "Mapping Id: XDM44. ")),
        ("get-failed-880056", StatusReport(requestID: "3520", status: .failed,
            info: "Mapping Id: XDM44. ACP-880056 Failed to fetch the record from the database.")),
        ("get-failed-880096", StatusReport(requestID: "3521", status: .failed, batchID: "01EXAMPLEBATCH",
            info: "Mapping Id: XDM44. ACP-880096 Sync Job failed to upload. Please check the error in the Platform UI.")),
        ("get-aborted", StatusReport(requestID: "3522", status: .aborted,
            info: "Mapping Id: XDM44. Ingestion request aborted due to some issue with data ingestion service. Please submit a new request")),
        ("get-in-progress", StatusReport(requestID: "3523", status: .inProgress, info: "Mapping Id: XDM44.")),
    ]

    @Test("every GET body of the seed", arguments: recorded.map(\.0))
    func seedBody(name: String) throws {
        let expected = Self.recorded.first { $0.0 == name }!.1
        #expect(try IngestionResponseDecoder.decodeStatus(Fixtures.seedBody(name)) == expected)
    }

    @Test func acpCodesOfTheSeedsFailures() throws {
        #expect(try IngestionResponseDecoder.decodeStatus(Fixtures.seedBody("get-failed-880056")).acpCode?.rawValue == "ACP-880056")
        #expect(try IngestionResponseDecoder.decodeStatus(Fixtures.seedBody("get-failed-880096")).acpCode?.rawValue == "ACP-880096")
        #expect(try IngestionResponseDecoder.decodeStatus(Fixtures.seedBody("get-aborted")).acpCode == nil)
    }

    static let variants: [Case] = [
        Case(name: "numbers as strings", body: #"{"requestId":"3520","numRecords":"15","status":"Success"}"#,
             expected: StatusReport(requestID: "3520", status: .success, numRecords: 15)),
        Case(name: "numRecords as a float", body: #"{"requestId":3520.0,"numRecords":15.0,"status":"Success"}"#,
             expected: StatusReport(requestID: "3520", status: .success, numRecords: 15)),
        Case(name: "lower-case status", body: #"{"status":"success","numRecords":3}"#,
             expected: StatusReport(requestID: nil, status: .success, numRecords: 3)),
        Case(name: "lower-case in progress", body: #"{"status":"in progress"}"#,
             expected: StatusReport(requestID: nil, status: .inProgress)),
        Case(name: "upper-case with underscore", body: #"{"status":"IN_PROGRESS"}"#,
             expected: StatusReport(requestID: nil, status: .inProgress)),
        Case(name: "unknown status", body: #"{"status":"Queued","requestId":7}"#,
             expected: StatusReport(requestID: "7", status: .unknown("Queued"))),
        Case(name: "missing batchId and info", body: #"{"status":"Failed","requestId":9}"#,
             expected: StatusReport(requestID: "9", status: .failed)),
        Case(name: "null fields", body: #"{"status":"Aborted","batchId":null,"info":null,"numRecords":null}"#,
             expected: StatusReport(requestID: nil, status: .aborted)),
        Case(name: "extra nested fields", body: #"{"status":"Success","numRecords":2,"extra":{"a":[1,2]}}"#,
             expected: StatusReport(requestID: nil, status: .success, numRecords: 2)),
        Case(name: "ACP code in the middle of info", body: #"{"status":"Failed","info":"x ACP-880185 mapping validation failed"}"#,
             expected: StatusReport(requestID: nil, status: .failed, info: "x ACP-880185 mapping validation failed")),
    ]

    @Test("odd variants", arguments: variants)
    func variant(_ c: Case) throws {
        #expect(try IngestionResponseDecoder.decodeStatus(Array(c.body.utf8)) == c.expected)
    }

    @Test func emptyBodyIsAnError() {
        #expect(throws: ResponseDecodingError.emptyBody) { try IngestionResponseDecoder.decodeStatus([]) }
    }

    @Test func htmlErrorPageIsNotJSON() {
        let page = "<html>\n<body><h1>502 Bad Gateway</h1></body>\n</html>"
        #expect(throws: ResponseDecodingError.notJSON(snippet: "<html> <body><h1>502 Bad Gateway</h1></body> </html>")) {
            try IngestionResponseDecoder.decodeStatus(Array(page.utf8))
        }
    }

    @Test func aBodyWithoutStatusIsAnError() {
        #expect(throws: ResponseDecodingError.missingField("status")) {
            try IngestionResponseDecoder.decodeStatus(Array(#"{"requestId":1}"#.utf8))
        }
    }
}

@Suite("Decoding the seed's POST bodies")
struct TriggerDecodingTests {
    @Test func submitted() throws {
        #expect(try IngestionResponseDecoder.decodeTrigger(Fixtures.seedBody("post-submitted")) == .submitted("3520"))
    }

    @Test func alreadyInProgress() throws {
        #expect(try IngestionResponseDecoder.decodeTrigger(Fixtures.seedBody("post-already-in-progress")) == .alreadyInProgress("3520"))
    }

    @Test func notStopped() throws {
        #expect(try IngestionResponseDecoder.decodeTrigger(Fixtures.seedBody("post-not-stopped"))
            == .notStopped(info: "Unable to submit data ingestion request, XDM Mapping ID: XDM44 is not stopped"))
    }

    @Test func notPublished() throws {
        #expect(try IngestionResponseDecoder.decodeTrigger(Fixtures.seedBody("post-not-published"))
            == .notPublished(info: "Unable to submit data ingestion request, XDM Mapping ID: XDM44 is not published"))
    }

    @Test func requestIdAsString() throws {
        #expect(try IngestionResponseDecoder.decodeTrigger(Array(#"{"requestId":"42","status":"success"}"#.utf8)) == .submitted("42"))
    }

    @Test func anyOtherShapeKeepsAdobesWords() {
        #expect(throws: UnrecognizedTriggerResponse(status: "Failed", info: "Quota exceeded for XDM44")) {
            try IngestionResponseDecoder.decodeTrigger(Array(#"{"info":"Quota exceeded for XDM44","status":"Failed"}"#.utf8))
        }
    }
}

@Suite struct StatusNameTests {
    @Test(arguments: [("Success", IngestionStatus.success), ("FAILED", .failed), ("In Progress", .inProgress),
                      ("in_progress", .inProgress), ("inprogress", .inProgress), (" aborted ", .aborted),
                      ("Done", .unknown("Done"))])
    func folding(raw: String, expected: IngestionStatus) {
        #expect(IngestionStatus(apiValue: raw) == expected)
    }

    @Test func terminalStatuses() {
        let terminal: [IngestionStatus] = [.success, .failed, .aborted]
        #expect(terminal.filter { !$0.isTerminal }.isEmpty)
        #expect(!IngestionStatus.inProgress.isTerminal && !IngestionStatus.unknown("x").isTerminal)
    }
}

@Suite struct ACPCodeTests {
    @Test func findsTheFirstCode() {
        #expect(ACPCode.find(in: "a ACP-1 b ACP-2")?.rawValue == "ACP-1")
        #expect(ACPCode.find(in: "ACP-") == nil)
        #expect(ACPCode.find(in: nil) == nil)
        #expect(ACPCode.find(in: "no code").labelValue == "none")
    }
}

@Suite struct DurationTextTests {
    @Test(arguments: [("30s", 30.0), ("500ms", 0.5), ("1h30m", 5400), ("400d", 34_560_000), ("2w", 1_209_600)])
    func parses(text: String, seconds: Double) {
        #expect(DurationText.parse(text)?.seconds == seconds)
    }

    @Test(arguments: ["", "30", "s", "1x", "-1s"])
    func rejects(text: String) {
        #expect(DurationText.parse(text) == nil)
    }

    @Test func formats() {
        #expect(DurationText.format(.seconds(90)) == "1m30s")
        #expect(DurationText.format(.milliseconds(500)) == "500ms")
    }
}

@Suite struct SeedFixtureTests {
    /// Each fixture is the seed's code block with `<value>` filled in.
    @Test(.enabled(if: FileManager.default.fileExists(atPath: Fixtures.seedPage.path)))
    func fixturesMatchTheSeed() throws {
        let page = try String(contentsOf: Fixtures.seedPage, encoding: .utf8)
        var blocks: [String] = []
        var current: [String]?
        var indent = 0
        for line in page.components(separatedBy: "\n") {
            if line.trimmingCharacters(in: .whitespaces).hasPrefix("```") {
                if let open = current { blocks.append(open.joined(separator: "\n")); current = nil } else {
                    current = []
                    indent = line.prefix { $0 == " " }.count
                }
            } else if current != nil {
                current!.append(String(line.dropFirst(min(indent, line.prefix { $0 == " " }.count))))
            }
        }
        let bodies = blocks.filter { $0.hasPrefix("{") }.flatMap { block in
            // One block holds both refusals, one after the other.
            block.components(separatedBy: "}\n{").enumerated().map { index, part in
                (index > 0 ? "{" : "") + part + (part.hasSuffix("}") ? "" : "}")
            }
        }
        let names = ["post-submitted", "post-already-in-progress", "post-not-stopped", "post-not-published",
                     "get-success", "get-failed-880056", "get-failed-880096", "get-aborted", "get-in-progress"]
        #expect(bodies.count == names.count)
        for (name, seed) in zip(names, bodies) {
            let fixture = String(decoding: try Fixtures.seedBody(name), as: UTF8.self)
            let pattern = "^" + NSRegularExpression.escapedPattern(for: seed)
                .replacingOccurrences(of: "<value>", with: "[A-Za-z0-9]+") + "$"
            let matches = fixture.range(of: pattern, options: String.CompareOptions.regularExpression) != nil
            #expect(matches, "\(name) differs from the seed")
        }
    }
}

@Suite("Decoding Experience Platform's Catalog batch lookups")
struct CatalogDecodingTests {
    static let id = "01H8BATCHEXAMPLE"

    func decode(_ body: String) throws -> CatalogBatch {
        try IngestionResponseDecoder.decodeCatalogBatch(Array(body.utf8), id: Self.id)
    }

    @Test func aBatchStillProcessedHasNoCountsAndHasNotEnded() throws {
        let batch = try decode(#"{"\#(Self.id)": {"status": "processing", "created": 1764400000000}}"#)
        #expect(batch == CatalogBatch(id: Self.id, status: "processing"))
        #expect(!batch.hasEnded)
    }

    @Test func aSuccessfulBatchCanStillHaveFailedRows() throws {
        let batch = try decode(#"""
            {"\#(Self.id)": {"status": "success", "metrics": {"inputRecordCount": 1000, "outputRecordCount": 997,
             "failedRecordCount": 3, "inputByteSize": 52000, "inputFileCount": 1},
             "errors": [{"code": "INGEST-1401-400", "description": "The row has a field of the wrong type.", "recordCount": 3}],
             "relatedObjects": [{"type": "dataSet", "id": "5e0a"}]}}
            """#)
        #expect(batch.hasEnded && batch.status == "success")
        #expect(batch.counts == .init(input: 1000, output: 997, failed: 3))
        #expect(batch.errors == [.init(code: "INGEST-1401-400", description: "The row has a field of the wrong type.", recordCount: 3)])
    }

    @Test func errorsWithoutRecordCountAndCountsAsStringsAreRead() throws {
        let long = String(repeating: "x", count: 500)
        let batch = try decode(#"""
            {"\#(Self.id)": {"status": "FAILED", "metrics": {"inputRecordCount": "20", "outputRecordCount": "0"},
             "errors": [{"code": "INGEST-1212-400", "description": "Encountered 5 errors in the data."},
                        {"code": "INGEST-1401-400", "description": "\#(long)", "recordCount": "5"}, {"description": "no code"}]}}
            """#)
        #expect(batch.status == "failed" && batch.hasEnded)
        #expect(batch.counts == .init(input: 20, output: 0, failed: nil))
        #expect(batch.errors.map(\.code) == ["INGEST-1212-400", "INGEST-1401-400"])
        #expect(batch.errors[0].recordCount == nil && batch.errors[1].recordCount == 5)
        #expect(batch.errors[1].description?.count == CatalogBatch.descriptionLimit)
    }

    @Test func bodiesThatAreNotABatchOfThatIdAreErrors() {
        #expect(throws: ResponseDecodingError.emptyBody) { try decode("") }
        #expect(throws: ResponseDecodingError.notJSON(snippet: "<html>Gateway</html>")) { try decode("<html>Gateway</html>") }
        #expect(throws: ResponseDecodingError.missingField(Self.id)) { try decode(#"{"OTHERBATCH": {"status": "success"}}"#) }
        #expect(throws: ResponseDecodingError.missingField("status")) { try decode(#"{"\#(Self.id)": {"metrics": {}}}"#) }
    }
}
