import Foundation
import IngestionModel
import Testing
@testable import IngestionStore

@Suite("SQLite store")
struct IngestionStoreTests {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("acs-store-\(UUID().uuidString)")
    var path: String { directory.appendingPathComponent("nested/store.sqlite").path }
    let key = MappingKey(tenant: "t1", mapping: "XDM44")
    let start = Date(timeIntervalSince1970: 1_700_000_000)

    func open() throws -> IngestionStore { try IngestionStore(path: path, durationBounds: [30, 60, 120]) }

    @Test func migrationsRunOnceAndAreRecorded() throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        #expect(try open().schemaVersion == Migrations.steps.last!.version)
        #expect(try open().schemaVersion == Migrations.steps.last!.version)
    }

    @Test func aNewerSchemaIsRefused() throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        _ = try open()
        let db = try SQLiteConnection(path: path)
        try db.execute("INSERT INTO schema_migrations VALUES (999, 'future', 0)")
        #expect(throws: StoreError.self) { try open() }
    }

    @Test func theSameRequestIsTrackedOnce() throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try open()
        let first = try store.track(key, requestID: "3520", origin: .triggered, at: start)
        let second = try store.track(key, requestID: "3520", origin: .external, at: start.addingTimeInterval(5))
        guard case .inserted = first, case .alreadyTracked(let row) = second else {
            Issue.record("expected inserted then alreadyTracked")
            return
        }
        #expect(row.origin == .triggered && row.firstSeen == start)
        #expect(try store.openRequests().count == 1)
    }

    @Test func anEndIsCountedOnceAndObservationsAppendOnChange() throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try open()
        let row = try store.track(key, requestID: "1", origin: .triggered, at: start).request.rowID
        let running = StatusReport(requestID: "1", status: .inProgress, info: "Mapping Id: XDM44.")
        _ = try store.recordObservation(row, report: running, at: start.addingTimeInterval(10))
        _ = try store.recordObservation(row, report: running, at: start.addingTimeInterval(20))
        let done = StatusReport(requestID: "1", status: .failed, batchID: "B1", info: "Mapping Id: XDM44. ACP-880096 x")
        guard case .finished(let finished) = try store.recordObservation(row, report: done, at: start.addingTimeInterval(45)) else {
            Issue.record("expected finished")
            return
        }
        #expect(finished.acpCode?.rawValue == "ACP-880096" && finished.duration == 45)
        guard case .alreadyFinished = try store.recordObservation(row, report: done, at: start.addingTimeInterval(50)) else {
            Issue.record("expected alreadyFinished")
            return
        }
        #expect(try store.observations(of: row).map(\.status) == [.inProgress, .failed])
        let totals = try store.totals()
        #expect(totals.outcomes == [.init(key: key, status: "failed", acpCode: "ACP-880096", requests: 1, records: 0, durationSum: 45)])
        #expect(totals.buckets == [.init(key: key, status: "failed", upperBound: 60, count: 1)])
        #expect(totals.latest[key]?.lastFailureAt == start.addingTimeInterval(45))
        #expect(totals.open.isEmpty)
    }

    @Test func unknownStatusesAreKeptRawAndStayOpen() throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try open()
        let row = try store.track(key, requestID: "9", origin: .external, at: start).request.rowID
        _ = try store.recordObservation(row, report: StatusReport(requestID: "9", status: .unknown("Queued")), at: start)
        #expect(try store.openRequests().first?.status == .unknown("Queued"))
    }

    @Test func retentionPrunesRowsButNotTotals() throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try open()
        var history: [TrackedRequest] = []
        for index in 0..<200 {
            let first = start.addingTimeInterval(Double(index) * 100)
            history.append(TrackedRequest(rowID: 0, key: key, requestID: RequestID(index), origin: .triggered, firstSeen: first,
                                          lastPolled: first.addingTimeInterval(40), status: index % 4 == 0 ? .aborted : .success,
                                          numRecords: index % 4 == 0 ? 0 : 10, finishedAt: first.addingTimeInterval(40)))
        }
        try store.importHistory(history)
        let before = try store.totals()
        #expect(before.outcomes.first { $0.status == "success" }?.records == 1500)
        #expect(try store.prune(finishedBefore: start.addingTimeInterval(10_000)) == 100)
        #expect(try store.totals() == before)
        // A pruned request cannot be tracked (and so counted) again.
        #expect(throws: StoreError.self) { try store.track(key, requestID: "0", origin: .external, at: start) }
        #expect(try store.isPruned(key, "0"))
    }

    @Test func aDatabaseThatCannotBeOpenedIsNamed() {
        #expect {
            try IngestionStore(path: "/proc/acs-nope/store.sqlite", durationBounds: [])
        } throws: { error in
            (error as? StoreError)?.description.contains("/proc/acs-nope") == true
        }
    }

    @Test func writesSurviveReopening() throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        do {
            let store = try open()
            try store.track(key, requestID: "5", origin: .external, at: start, triggerResult: "submitted")
        }
        let reopened = try open()
        #expect(try reopened.request(key, "5")?.origin == .external)
        #expect(try reopened.totals().triggers[key] == ["submitted": 1])
    }
}
