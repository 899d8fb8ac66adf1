import Foundation
import IngestionModel
import IngestionStore
import Testing
import TestSupport

/// A followed batch as every store keeps it: started in the transaction that ends its
/// request, looked up until it ends, counted once by `AEPTotals.Addition`, kept through
/// retention while it is followed.
@Suite("Batches followed in Experience Platform (stores)")
struct BatchFollowUpStoreTests {
    static let key = MappingKey(tenant: "t1", mapping: "XDM44")
    static let start = Date(timeIntervalSince1970: 1_700_000_000)

    static func failed(_ batchID: String?) -> StatusReport {
        StatusReport(requestID: nil, status: .failed, batchID: batchID,
                     info: "Mapping Id: XDM44. ACP-880096 Sync Job failed to upload. Please check the error in the Platform UI.")
    }

    /// A request of `key` tracked and ended now with `batchID`, its batch followed when `follow`.
    static func ended(_ store: any IngestionStore, _ id: Int, batchID: String?, follow: Bool = true,
                      at time: Date = start) async throws -> TrackedRequest {
        let row = try await store.track(key, requestID: RequestID(id), origin: .triggered, at: time.addingTimeInterval(-60)).request
        let result = try await store.recordObservation(row.rowID, report: failed(batchID), at: time, followBatch: follow)
        guard case .finished(let request) = result else { throw StoreError(.failed, "not ended: \(result)") }
        return request
    }

    static let partial = CatalogBatch(id: "B1", status: "success", counts: .init(input: 100, output: 90, failed: 10),
                                      errors: [.init(code: "INGEST-1401-400", description: "d", recordCount: 10)])

    @Test(arguments: StoreDriver.allCases)
    func aBatchIsFollowedFromTheEndOfItsRequestAndCountedOnce(_ driver: StoreDriver) async throws {
        try await withStore(driver) { store, _ in
            let request = try await Self.ended(store, 1, batchID: "B1")
            _ = try await Self.ended(store, 2, batchID: "B2", follow: false)
            _ = try await Self.ended(store, 3, batchID: nil)
            let open = try await store.openBatches(tenant: "t1")
            #expect(open.map(\.batchID) == ["B1"])
            #expect(open.first?.status == BatchFollowUp.pending && open.first?.nextLookupAt == Self.start)
            #expect(open.first?.requestID == RequestID(1) && open.first?.requestRowID == request.rowID)
            #expect(try await store.openBatches(tenant: "t2").isEmpty)

            // Still processing: looked up again later; a failed lookup keeps its reason.
            let later = Self.start.addingTimeInterval(60)
            var result = try await store.recordBatchLookup(
                BatchLookup(requestRowID: request.rowID, outcome: .answered(CatalogBatch(id: "B1", status: "processing")),
                            at: Self.start, next: later))
            guard case .stillOpen(let processing) = result else { Issue.record("\(result)"); return }
            #expect(processing.status == "processing" && processing.lookups == 1 && processing.nextLookupAt == later)
            result = try await store.recordBatchLookup(
                BatchLookup(requestRowID: request.rowID, outcome: .failed(reason: "HTTP 503"), at: later, next: later.addingTimeInterval(120)))
            guard case .stillOpen(let failedOnce) = result else { Issue.record("\(result)"); return }
            #expect(failedOnce.lastError == "HTTP 503" && failedOnce.lookups == 2 && failedOnce.status == "processing")
            #expect(try await store.totals().aep[Self.key]?.inProgress == 1)

            // Ended: counted once, as the rule says; a second answer counts nothing.
            let end = later.addingTimeInterval(120)
            result = try await store.recordBatchLookup(BatchLookup(requestRowID: request.rowID, outcome: .answered(Self.partial),
                                                                   at: end, next: end))
            guard case .ended(let ended, let addition) = result else { Issue.record("\(result)"); return }
            #expect(ended.finishedAt == end && ended.nextLookupAt == nil && ended.lastError == nil && ended.lookups == 3)
            #expect(ended.counts == Self.partial.counts && ended.errors == Self.partial.errors)
            #expect(addition == AEPTotals.Addition(ended, knownCodes: []))
            result = try await store.recordBatchLookup(BatchLookup(requestRowID: request.rowID, outcome: .answered(Self.partial),
                                                                   at: end, next: end))
            guard case .alreadyEnded = result else { Issue.record("\(result)"); return }
            var expected = AEPTotals()
            (expected.batches, expected.records, expected.errors) = (["success": 1], ["input": 100, "ingested": 90, "failed": 10],
                                                                     ["INGEST-1401-400": 1])
            #expect(try await store.totals().aep[Self.key] == expected)
            #expect(try await store.openBatches(tenant: nil).isEmpty)
            #expect(try await store.batches(ofRequests: [request.rowID])[request.rowID] == ended)
        }
    }

    @Test(arguments: StoreDriver.allCases)
    func aMappingKeepsTwentyCodesAndCountsTheRestAsOther(_ driver: StoreDriver) async throws {
        try await withStore(driver) { store, _ in
            for index in 0..<22 {
                let request = try await Self.ended(store, 10 + index, batchID: "B\(index)")
                let codes = index == 21 ? ["INGEST-\(index)", "INGEST-\(index + 100)", "INGEST-0"] : ["INGEST-\(index)"]
                let batch = CatalogBatch(id: "B\(index)", status: "failed", errors: codes.map { CatalogBatch.Failure(code: $0) })
                _ = try await store.recordBatchLookup(BatchLookup(requestRowID: request.rowID, outcome: .answered(batch),
                                                                  at: Self.start, next: Self.start))
            }
            let errors = try #require(try await store.totals().aep[Self.key]?.errors)
            #expect(errors.count == 21 && errors[AEPTotals.otherCode] == 2, "\(errors)")
            #expect(errors["INGEST-0"] == 2 && errors["INGEST-19"] == 1 && errors["INGEST-20"] == nil)
        }
    }

    @Test(arguments: StoreDriver.allCases)
    func aGivenUpBatchEndsUnknownAndRetentionKeepsAFollowedOne(_ driver: StoreDriver) async throws {
        try await withStore(driver) { store, _ in
            let gone = try await Self.ended(store, 1, batchID: "B1")
            let kept = try await Self.ended(store, 2, batchID: "B2")
            let result = try await store.recordBatchLookup(BatchLookup(requestRowID: gone.rowID, outcome: .gaveUp, at: Self.start,
                                                                       next: Self.start))
            guard case .ended(let ended, let addition) = result else { Issue.record("\(result)"); return }
            #expect(ended.status == BatchFollowUp.unknown && addition.records == [0, 0, 0] && addition.codes.isEmpty)
            #expect(try await store.prune(finishedBefore: Self.start.addingTimeInterval(1), limit: 10) == 1)
            #expect(try await store.request(Self.key, RequestID(2)) == kept)
            #expect(try await store.openBatches(tenant: nil).map(\.batchID) == ["B2"])
            #expect(try await store.totals().aep[Self.key]?.batches == [BatchFollowUp.unknown: 1])
        }
    }
}
