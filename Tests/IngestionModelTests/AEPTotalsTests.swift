import Foundation
import IngestionModel
import Testing

/// What one ended batch adds to the AEP totals (`AEPTotals.Addition`), row by row.
@Suite("AEP totals rule")
struct AEPTotalsTests {
    static let key = MappingKey(tenant: "t1", mapping: "XDM45")

    static func batch(_ status: String, _ counts: CatalogBatch.Counts, _ codes: [String]) -> BatchFollowUp {
        BatchFollowUp(requestRowID: 1, key: key, requestID: "1", batchID: "B", status: status, createdAt: Date(), nextLookupAt: nil,
                      finishedAt: Date(), counts: counts, errors: codes.map { CatalogBatch.Failure(code: $0) })
    }

    struct Row: Sendable, CustomTestStringConvertible {
        let name: String
        let batch: BatchFollowUp
        let known: Set<String>
        let records: [Int]
        let codes: [String]
        var testDescription: String { name }
    }

    static let twenty = Set((0..<20).map { "C\($0)" })

    static let rows: [Row] = [
        Row(name: "a partial success counts its three figures", batch: batch("success", .init(input: 100, output: 90, failed: 10), ["E1"]),
            known: [], records: [100, 90, 10], codes: ["E1"]),
        Row(name: "missing counts are 0", batch: batch("failed", .init(), ["E1"]), known: [], records: [0, 0, 0], codes: ["E1"]),
        Row(name: "a code reported twice counts once", batch: batch("failed", .init(input: 5, failed: 5), ["E1", "E1"]),
            known: [], records: [5, 0, 5], codes: ["E1"]),
        Row(name: "past twenty codes a new one is other", batch: batch("failed", .init(), ["C3", "NEW"]), known: twenty,
            records: [0, 0, 0], codes: ["C3", "other"]),
        Row(name: "two new codes past twenty are one other", batch: batch("failed", .init(), ["N1", "N2"]), known: twenty.union(["other"]),
            records: [0, 0, 0], codes: ["other"]),
        Row(name: "the twentieth code is kept, the twenty-first is other", batch: batch("failed", .init(), ["N1", "N2"]),
            known: Set((0..<19).map { "C\($0)" }), records: [0, 0, 0], codes: ["N1", "other"]),
        Row(name: "a batch given up on", batch: batch(BatchFollowUp.unknown, .init(), []), known: [], records: [0, 0, 0], codes: []),
    ]

    @Test(arguments: rows)
    func anEndedBatchAdds(_ row: Row) {
        let addition = AEPTotals.Addition(row.batch, knownCodes: row.known)
        #expect(addition.status == row.batch.status && addition.records == row.records && addition.codes == row.codes)
        var totals = AEPTotals()
        for stored in addition.rows { totals.add(kind: stored.kind, name: stored.name, value: stored.value) }
        #expect(totals.batches == [row.batch.status: 1])
        #expect(totals.records == Dictionary(uniqueKeysWithValues: zip(AEPTotals.outcomes, row.records)))
        #expect(totals.errors == Dictionary(uniqueKeysWithValues: row.codes.map { ($0, 1) }))
    }

    @Test func errorsRoundTripThroughTheirStoredJSON() {
        var batch = Self.batch("failed", .init(), [])
        batch.errors = [CatalogBatch.Failure(code: "INGEST-1401-400", description: "d \"q\" / é", recordCount: 3),
                        CatalogBatch.Failure(code: "INGEST-1212-400")]
        #expect(BatchFollowUp.errors(fromJSON: batch.errorsJSON) == batch.errors)
        #expect(BatchFollowUp.errors(fromJSON: "not json").isEmpty)
    }
}
