import Foundation
import IngestionModel
import IngestionStore
import Testing

/// Copying a whole history between stores (`migrate`): exact, idempotent, refusing a target that holds another history.
@Suite("Store copy")
struct StoreTransferTests {
    let key = MappingKey(tenant: "acme-mkt-prod1", mapping: "XDM44")
    let other = MappingKey(tenant: "acme-mkt-prod1", mapping: "XDM45")
    let start = Date(timeIntervalSince1970: 1_790_000_000.25)

    /// A history with every kind of row: mappings, triggers, requests followed poll by
    /// poll (several observations, an unknown status), imported ones, pruned ones, open
    /// ones, one answered 404, one untracked, one given up on; plans and a lost intent.
    func seed(_ store: any StoreTransfer) async throws {
        _ = try await store.registerMappings([key, other], at: start.addingTimeInterval(-86_400))
        try await store.importHistory(endedRequests(key, count: 30, from: start) + endedRequests(other, count: 9, from: start))
        #expect(try await store.prune(finishedBefore: start.addingTimeInterval(600), limit: 1000) == 19)
        let sent = try await store.recordTriggerIntent(key, at: start.addingTimeInterval(4999.5))
        let row = try await store.recordTriggerAttempt(TriggerAttempt(
            key: key, at: start.addingTimeInterval(5000), result: .submitted, requestID: "9001",
            plan: TriggerPlan(slot: start.addingTimeInterval(5000), dueAt: start.addingTimeInterval(8600.125)),
            intents: [sent], lostTriggers: 1))!.request.rowID
        for (offset, report) in [StatusReport(requestID: "9001", status: .inProgress),
                                 StatusReport(requestID: "9001", status: .unknown("Queued (AEP)"), info: "waiting"),
                                 StatusReport(requestID: "9001", status: .failed, batchID: "B-1",
                                              info: "Mapping Id: XDM44. ACP-880096 Sync Job failed")].enumerated() {
            _ = try await store.recordObservation(row, report: report, at: start.addingTimeInterval(5000 + Double(offset + 1) * 30.5),
                                                  followBatch: true)
        }
        // Its batch, followed in Experience Platform to its end; another one still followed.
        let partial = CatalogBatch(id: "B-1", status: "success", counts: .init(input: 40, output: 37, failed: 3),
                                   errors: [.init(code: "INGEST-1401-400", description: "a row could not be read", recordCount: 3)])
        _ = try await store.recordBatchLookup(BatchLookup(requestRowID: row, outcome: .answered(partial), at: start.addingTimeInterval(5200.5),
                                                          next: start.addingTimeInterval(5200.5)))
        let followed = try await store.track(other, requestID: "9006", origin: .external, at: start.addingTimeInterval(5000)).request.rowID
        _ = try await store.recordObservation(followed, report: StatusReport(requestID: "9006", status: .failed, batchID: "B-2",
                                                                            info: "Mapping Id: XDM45. ACP-880096 Sync Job failed"),
                                              at: start.addingTimeInterval(5100), followBatch: true)
        _ = try await store.recordBatchLookup(BatchLookup(requestRowID: followed, outcome: .failed(reason: "HTTP 503"),
                                                          at: start.addingTimeInterval(5100), next: start.addingTimeInterval(5160.25)))
        let open = try await store.recordTriggerAttempt(TriggerAttempt(
            key: other, at: start.addingTimeInterval(6000), result: .alreadyInProgress, requestID: "9002", origin: .adopted,
            plan: TriggerPlan(slot: start.addingTimeInterval(6000), dueAt: start.addingTimeInterval(6300.5), attempts: 2,
                              failingSince: start.addingTimeInterval(5400.25))))!.request.rowID
        _ = try await store.recordObservation(open, report: StatusReport(requestID: "9002", status: .inProgress, numRecords: 3),
                                              at: start.addingTimeInterval(6030))
        _ = try await store.recordTriggerAttempt(TriggerAttempt(key: other, at: start.addingTimeInterval(7000), result: .notPublished))
        _ = try await store.recordTriggerIntent(other, at: start.addingTimeInterval(7100.75))
        let missing = try await store.track(key, requestID: "9003", origin: .external, at: start.addingTimeInterval(8000)).request.rowID
        _ = try await store.recordNotFound(missing, at: start.addingTimeInterval(8030.5))
        _ = try await store.track(key, requestID: "9004", origin: .external, at: start.addingTimeInterval(8000))
        _ = try await store.untrack(key, "9004", at: start.addingTimeInterval(8100.25))
        let gone = try await store.track(other, requestID: "9005", origin: .external, at: start.addingTimeInterval(8000)).request.rowID
        _ = try await store.recordNotFound(gone, at: start.addingTimeInterval(8030))
        _ = try await store.abandon(gone, reason: "not found for 1 h", at: start.addingTimeInterval(11_630))
    }

    @Test(arguments: zip([StoreDriver.sqlite, .postgres], [StoreDriver.postgres, .sqlite]))
    func aCopyIsExactAndASecondRunWritesNothing(from sourceDriver: StoreDriver, to targetDriver: StoreDriver) async throws {
        try await withStore(sourceDriver) { source, _ in
            try await seed(source)
            try await withStore(targetDriver) { target, _ in
                let first = try await StoreCopy.copy(from: source, to: target, batchSize: 7)
                // 39 imported, 19 pruned, 6 tracked; one observation per import, per change seen and per end given up.
                #expect(first.requests == .init(read: 26, written: 26))
                #expect(first.observations == .init(read: 25, written: 25))
                #expect(first.batches == .init(read: 2, written: 2))
                #expect(try await target.openBatches(tenant: nil) == source.openBatches(tenant: nil))
                #expect(first.prunedKeys == .init(read: 19, written: 19))
                #expect(first.mappings == .init(read: 2, written: 2))
                #expect(first.triggerPlans == .init(read: 2, written: 2))
                #expect(first.triggerIntents == .init(read: 1, written: 1))
                #expect(first.totals.read == first.totals.written && first.totals.read > 0)
                let digest = try await StoreDigest.of(source)
                #expect(try await StoreDigest.of(target) == digest)
                #expect(try await target.totals() == source.totals())
                #expect(try await target.triggerPlans() == source.triggerPlans())
                #expect(try await target.pendingTriggerIntents() == source.pendingTriggerIntents())
                #expect(try await target.mappingRows() == source.mappingRows())
                #expect(try await target.request(key, "9003")?.notFoundSince == start.addingTimeInterval(8030.5))
                #expect(try await target.request(key, "9004")?.untrackedAt == start.addingTimeInterval(8100.25))
                #expect(try await target.openRequests().map(\.requestID) == ["9002", "9003"])
                for period in ReportPeriod.allCases {
                    #expect(try await target.report(period: period, from: nil, to: nil) == source.report(period: period, from: nil, to: nil))
                }

                let second = try await StoreCopy.copy(from: source, to: target)
                #expect(second.wroteNothing && second.requests.read == 26 && second.triggerIntents.read == 1 && second.batches.read == 2)
                #expect(try await StoreDigest.of(target) == digest)

                // The copy goes on as a store: new rows get new ids, pruned keys stay refused.
                let next = try await target.track(key, requestID: "9100", origin: .external, at: start.addingTimeInterval(9000))
                #expect(next.request.rowID > (try await source.requestRows(after: 0, limit: 100).last?.rowID ?? .max))
                let intent = try await target.recordTriggerIntent(key, at: start.addingTimeInterval(9000))
                #expect(intent > (try await source.pendingTriggerIntents().last?.id ?? .max))
                await #expect(throws: StoreError.self) { try await target.track(key, requestID: "0", origin: .external, at: start) }
            }
        }
    }

    @Test(arguments: StoreDriver.allCases)
    func aTargetHoldingAnotherHistoryIsRefused(_ targetDriver: StoreDriver) async throws {
        try await withStore(.sqlite) { source, _ in
            _ = try await source.track(key, requestID: "1", origin: .triggered, at: start)
            try await withStore(targetDriver) { target, _ in
                _ = try await target.track(other, requestID: "77", origin: .triggered, at: start)
                do throws(StoreError) {
                    _ = try await StoreCopy.copy(from: source, to: target)
                    Issue.record("copied over another history")
                } catch {
                    #expect(error.kind == .failed)
                    #expect(error.description.contains("different history"))
                }
                #expect(try await target.request(key, "1") == nil)
            }
        }
    }

    /// The issue's acceptance test: 100,000 generated requests from SQLite to PostgreSQL,
    /// with the mappings, plans and lost intents of a running schedule, requests answered
    /// 404, untracked and given up on.
    @Test func aHundredThousandRequestsMigrateExactlyAndOnlyOnce() async throws {
        try await withStore(.sqlite) { source, _ in
            let history = generatedHistory(count: 100_000)
            let keys = Array(Set(history.map(\.key))).sorted()
            _ = try await source.registerMappings(keys, at: start.addingTimeInterval(-3600.5))
            try await source.importHistory(history)
            #expect(try await source.prune(finishedBefore: start.addingTimeInterval(2 * 86_400), limit: 10_000) > 0)
            let end = start.addingTimeInterval(100_000 * 90.125)
            for (index, key) in keys.enumerated() {
                _ = try await source.recordTriggerAttempt(TriggerAttempt(
                    key: key, at: end, result: index == 0 ? .error : .notStopped,
                    plan: TriggerPlan(slot: end, dueAt: end.addingTimeInterval(60.5 * Double(index + 1)), attempts: index,
                                      failingSince: index == 0 ? end.addingTimeInterval(-0.25) : nil), lostTriggers: index))
                _ = try await source.recordTriggerIntent(key, at: end.addingTimeInterval(Double(index)))
            }
            let open = try await source.openRequests()
            for request in open[0..<5] { _ = try await source.recordNotFound(request.rowID, at: end) }
            for request in open[3..<8] { _ = try await source.untrack(request.key, request.requestID, at: end.addingTimeInterval(1)) }
            for request in open[8..<11] { _ = try await source.abandon(request.rowID, reason: "in progress too long", at: end) }
            try await withStore(.postgres) { target, _ in
                let report = try await StoreCopy.copy(from: source, to: target)
                let digest = try await StoreDigest.of(source)
                #expect(report.requests.written == digest.requests && report.observations.written == digest.observations)
                #expect(report.mappings.written == 4 && report.triggerPlans.written == 4 && report.triggerIntents.written == 4)
                #expect(try await StoreDigest.of(target) == digest)
                #expect(try await target.totals() == source.totals())
                #expect(try await target.openRequests() == source.openRequests())
                #expect(try await target.triggerPlans() == source.triggerPlans())
                #expect(try await target.pendingTriggerIntents() == source.pendingTriggerIntents())
                for period in ReportPeriod.allCases {
                    let expected = try await source.report(period: period, from: nil, to: nil)
                    #expect(try await target.report(period: period, from: nil, to: nil) == expected)
                    #expect(expected.count > 3)
                }

                let again = try await StoreCopy.copy(from: source, to: target)
                #expect(again.wroteNothing)
                #expect(again.requests.read == digest.requests)
                #expect(try await StoreDigest.of(target) == digest)
            }
        }
    }

    /// Four mappings over two tenants, a request every ~90 s over 104 days, durations
    /// with fractions, a mix of outcomes and ACP codes, and the last few still open.
    func generatedHistory(count: Int) -> [TrackedRequest] {
        let keys = [key, other, MappingKey(tenant: "acme-mkt-stage", mapping: "XDM44"), MappingKey(tenant: "acme-mkt-stage", mapping: "XDM7")]
        let failures = ["Mapping Id: X. ACP-880056 Failed to fetch the record from the database.",
                        "Mapping Id: X. ACP-880096 Sync Job failed to upload.", "Mapping Id: X. Unexpected error."]
        return (0..<count).map { index in
            let first = start.addingTimeInterval(Double(index) * 90.125)
            let open = index >= count - 20
            let kind = index % 11
            let status: IngestionStatus = open ? .inProgress : kind < 7 ? .success : kind < 10 ? .failed : .aborted
            let info = status == .failed ? failures[index % 3] : nil
            let end = first.addingTimeInterval(30 + Double(index % 5000) * 1.7)
            return TrackedRequest(key: keys[index % keys.count], requestID: RequestID(index), origin: index % 9 == 0 ? .external : .triggered,
                                  firstSeen: first, lastPolled: open ? first : end, status: status,
                                  numRecords: status == .success ? 100 + index % 900 : 0, batchID: status == .failed ? "B\(index)" : nil,
                                  info: info, acpCode: ACPCode.find(in: info), finishedAt: open ? nil : end)
        }
    }
}
