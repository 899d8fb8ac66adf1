import Foundation
import IngestionModel
import IngestionStore
import PostgresStore
import SQLiteStore
import Testing
import TestSupport

/// What every store promises, run against each implementation.
@Suite("Store semantics")
struct StoreSemanticsTests {
    let key = MappingKey(tenant: "t1", mapping: "XDM44")
    let start = Date(timeIntervalSince1970: 1_700_000_000)

    @Test(arguments: StoreDriver.allCases)
    func migrationsRunOnceAndAreRecorded(_ driver: StoreDriver) async throws {
        let fixture = try await StoreFixture(driver)
        defer { fixture.remove() }
        for _ in 0..<2 {
            let store = try await fixture.open()
            #expect(try await store.schemaVersion() == newestSchemaVersion(driver))
            await store.close()
        }
        #expect(try await fixture.column("SELECT version FROM schema_migrations ORDER BY version") == ["1", "2", "3", "4", "5", "6", "7"])
        #expect(try await fixture.column("SELECT name FROM schema_migrations WHERE version = 2") == ["keys of requests removed by retention"])
        // A version means one schema on both engines: the same steps under the same names.
        #expect(try await fixture.column("SELECT version || ' ' || name FROM schema_migrations ORDER BY version") == migrationSteps(driver))
        #expect(migrationSteps(driver) == migrationSteps(.sqlite))
    }

    /// A database of the version before trigger plans (3) gets steps 4 and later at the next
    /// start, its requests kept, and what the new columns and tables hold starts empty.
    @Test(arguments: StoreDriver.allCases)
    func aVersion3DatabaseIsUpgradedKeepingItsRows(_ driver: StoreDriver) async throws {
        let fixture = try await StoreFixture(driver)
        defer { fixture.remove() }
        let store = try await fixture.open()
        let row = try await store.track(key, requestID: "1", origin: .external, at: start).request
        _ = try await store.registerMappings([key], at: start)
        await store.close()
        // What version 3 had: no store_probe, trigger_plans, trigger_intents, the two request columns
        // nor the cluster's and the followed batches' tables.
        for statement in ["DROP TABLE aep_totals", "DROP TABLE aep_batches", "DROP TABLE trigger_queue", "DROP TABLE tenant_leases", "DROP TABLE replicas",
                          "DROP TABLE store_probe", "DROP TABLE trigger_intents", "DROP TABLE trigger_plans",
                          "ALTER TABLE requests DROP COLUMN not_found_since", "ALTER TABLE requests DROP COLUMN untracked_at",
                          "DELETE FROM schema_migrations WHERE version > 3"] {
            try await fixture.execute(statement)
        }
        let upgraded = try await fixture.open()
        #expect(try await upgraded.schemaVersion() == newestSchemaVersion(driver))
        #expect(try await upgraded.request(key, "1") == row)
        #expect(try await upgraded.openRequests() == [row])
        #expect(try await upgraded.pendingTriggerIntents().isEmpty)
        #expect(try await upgraded.triggerPlans().isEmpty)
        #expect(try await upgraded.openBatches(tenant: nil).isEmpty)
        #expect(try await upgraded.registerMappings([key], at: start.addingTimeInterval(60)) == [key: start])
        _ = try await upgraded.probe(write: true, at: start)
        await upgraded.close()
    }

    @Test(arguments: StoreDriver.allCases)
    func aNewerSchemaIsRefused(_ driver: StoreDriver) async throws {
        let fixture = try await StoreFixture(driver)
        defer { fixture.remove() }
        let store = try await fixture.open()
        await store.close()
        try await fixture.execute("INSERT INTO schema_migrations VALUES (999, 'future', 0)")
        await #expect(throws: StoreError.self) { try await fixture.open() }
        do {
            _ = try await fixture.open()
        } catch let error as StoreError {
            #expect(error.kind == .schemaTooNew)
            #expect(error.description.contains("999"))
        }
    }

    @Test(arguments: StoreDriver.allCases)
    func theSameRequestIsTrackedOnce(_ driver: StoreDriver) async throws {
        try await withStore(driver) { store, _ in
            let first = try await store.track(key, requestID: "3520", origin: .triggered, at: start)
            let second = try await store.track(key, requestID: "3520", origin: .external, at: start.addingTimeInterval(5))
            guard case .inserted = first, case .alreadyTracked(let row) = second else {
                Issue.record("expected inserted then alreadyTracked")
                return
            }
            #expect(row.origin == .triggered && row.firstSeen == start)
            #expect(try await store.openRequests().count == 1)
        }
    }

    @Test(arguments: StoreDriver.allCases)
    func anEndIsCountedOnceAndObservationsAppendOnChange(_ driver: StoreDriver) async throws {
        try await withStore(driver) { store, _ in
            let row = try await store.track(key, requestID: "1", origin: .triggered, at: start).request.rowID
            let running = StatusReport(requestID: "1", status: .inProgress, info: "Mapping Id: XDM44.")
            _ = try await store.recordObservation(row, report: running, at: start.addingTimeInterval(10))
            _ = try await store.recordObservation(row, report: running, at: start.addingTimeInterval(20))
            let done = StatusReport(requestID: "1", status: .failed, batchID: "B1", info: "Mapping Id: XDM44. ACP-880096 x")
            guard case .finished(let finished) = try await store.recordObservation(row, report: done, at: start.addingTimeInterval(45)) else {
                Issue.record("expected finished")
                return
            }
            #expect(finished.acpCode?.rawValue == "ACP-880096" && finished.duration == 45)
            guard case .alreadyFinished = try await store.recordObservation(row, report: done, at: start.addingTimeInterval(50)) else {
                Issue.record("expected alreadyFinished")
                return
            }
            #expect(try await store.observations(of: row).map(\.status) == [.inProgress, .failed])
            let totals = try await store.totals()
            #expect(totals.outcomes == [.init(key: key, status: .failed, acpCode: "ACP-880096", requests: 1, records: 0, durationSum: 45)])
            #expect(totals.buckets == [.init(key: key, status: .failed, upperBound: 60, count: 1)])
            #expect(totals.latest[key]?.lastFailureAt == start.addingTimeInterval(45))
            #expect(totals.open.isEmpty)
        }
    }

    @Test(arguments: StoreDriver.allCases)
    func observationsKeepTheirOrderAndEveryField(_ driver: StoreDriver) async throws {
        try await withStore(driver) { store, _ in
            let row = try await store.track(key, requestID: "7", origin: .adopted, at: start).request.rowID
            let reports = [StatusReport(requestID: "7", status: .inProgress, info: "queued"),
                           StatusReport(requestID: "7", status: .unknown("Waiting for AEP"), info: "queued"),
                           StatusReport(requestID: "7", status: .inProgress, numRecords: 5, info: "half"),
                           StatusReport(requestID: "7", status: .success, numRecords: 12, batchID: "B7", info: "done")]
            for (index, report) in reports.enumerated() {
                _ = try await store.recordObservation(row, report: report, at: start.addingTimeInterval(Double(index + 1) * 30.25))
            }
            let expected = reports.enumerated().map { index, report in
                Observation(observedAt: start.addingTimeInterval(Double(index + 1) * 30.25), status: report.status,
                            numRecords: report.numRecords, batchID: report.batchID, info: report.info)
            }
            #expect(try await store.observations(of: row) == expected)
            #expect(try await store.totals().latest[key] == .init(lastSuccessAt: start.addingTimeInterval(121), lastSuccessRecords: 12))
        }
    }

    @Test(arguments: StoreDriver.allCases)
    func unknownStatusesAreKeptRawAndStayOpen(_ driver: StoreDriver) async throws {
        try await withStore(driver) { store, _ in
            let row = try await store.track(key, requestID: "9", origin: .external, at: start).request.rowID
            _ = try await store.recordObservation(row, report: StatusReport(requestID: "9", status: .unknown("Queued")), at: start)
            #expect(try await store.openRequests().first?.status == .unknown("Queued"))
            #expect(try await store.request(key, "9")?.status == .unknown("Queued"))
            #expect(try await store.observations(of: row).map(\.status) == [.unknown("Queued")])
            #expect(try await store.totals().outcomes.isEmpty)
        }
    }

    @Test(arguments: StoreDriver.allCases)
    func retentionPrunesRowsButNotTotals(_ driver: StoreDriver) async throws {
        try await withStore(driver) { store, _ in
            var history: [TrackedRequest] = []
            for index in 0..<200 {
                let first = start.addingTimeInterval(Double(index) * 100)
                history.append(TrackedRequest(rowID: 0, key: key, requestID: RequestID(index), origin: .triggered, firstSeen: first,
                                              lastPolled: first.addingTimeInterval(40), status: index % 4 == 0 ? .aborted : .success,
                                              numRecords: index % 4 == 0 ? 0 : 10, finishedAt: first.addingTimeInterval(40)))
            }
            // Newest first, so that row ids run against end times.
            try await store.importHistory(history.reversed())
            let before = try await store.totals()
            #expect(before.outcomes.first { $0.status == .success }?.records == 1500)
            // In batches, the oldest ends first: the first 60 go, then the other 40, then none.
            #expect(try await store.prune(finishedBefore: start.addingTimeInterval(10_000), limit: 60) == 60)
            #expect(try await store.request(key, "59") == nil)
            #expect(try await store.request(key, "60") != nil)
            #expect(try await store.prune(finishedBefore: start.addingTimeInterval(10_000), limit: 60) == 40)
            #expect(try await store.prune(finishedBefore: start.addingTimeInterval(10_000), limit: 60) == 0)
            #expect(try await store.totals() == before)
            // A pruned request cannot be tracked (and so counted) again.
            await #expect(throws: StoreError.self) { try await store.track(key, requestID: "0", origin: .external, at: start) }
            #expect(try await store.isPruned(key, "0"))
            #expect(try await store.request(key, "0") == nil)
            #expect(try await store.request(key, "100") != nil)
        }
    }

    @Test(arguments: StoreDriver.allCases)
    func aPrunedRequestIsRefusedAsAlreadyCountedWithNothingWritten(_ driver: StoreDriver) async throws {
        try await withStore(driver) { store, _ in
            try await store.importHistory(endedRequests(key, count: 1, from: start))
            #expect(try await store.prune(finishedBefore: start.addingTimeInterval(3600), limit: 1000) == 1)
            let before = try await store.totals()
            let intent = try await store.recordTriggerIntent(key, at: start.addingTimeInterval(7199))
            let plan = TriggerPlan(slot: start.addingTimeInterval(7200), dueAt: start.addingTimeInterval(10_800))
            do throws(StoreError) {
                _ = try await store.recordTriggerAttempt(TriggerAttempt(
                    key: key, at: start.addingTimeInterval(7200), result: .alreadyInProgress, requestID: "0", origin: .adopted,
                    plan: plan, intents: [intent], lostTriggers: 2))
                Issue.record("tracking a pruned request succeeded")
            } catch {
                #expect(error.kind == .alreadyCounted)
            }
            // The trigger counts, the plan and the intent's removal of the same transaction were rolled back with it.
            #expect(try await store.totals() == before)
            #expect(try await store.openRequests().isEmpty)
            #expect(try await store.pendingTriggerIntents().map(\.id) == [intent])
            #expect(try await store.triggerPlans().isEmpty)
            await #expect(throws: StoreError.self) { try await store.track(key, requestID: "0", origin: .external, at: start) }
        }
    }


    @Test(arguments: StoreDriver.allCases)
    func mappingsKeepTheTimeTheyWereFirstRegistered(_ driver: StoreDriver) async throws {
        try await withStore(driver) { store, _ in
            let other = MappingKey(tenant: "t2", mapping: "XDM45")
            let first = try await store.registerMappings([key], at: start)
            #expect(first == [key: start])
            let later = start.addingTimeInterval(86_400.5)
            let second = try await store.registerMappings([key, other], at: later)
            #expect(second == [key: start, other: later])
            let none = try await store.registerMappings([], at: later)
            #expect(none.isEmpty)
        }
    }

    @Test(arguments: StoreDriver.allCases)
    func openRequestsCanBeReadPerTenant(_ driver: StoreDriver) async throws {
        try await withStore(driver) { store, _ in
            let other = MappingKey(tenant: "t2", mapping: "XDM44")
            _ = try await store.track(key, requestID: "1", origin: .triggered, at: start)
            _ = try await store.track(other, requestID: "2", origin: .triggered, at: start)
            _ = try await store.track(key, requestID: "3", origin: .triggered, at: start)
            #expect(try await store.openRequests(tenant: "t1").map(\.requestID) == ["1", "3"])
            #expect(try await store.openRequests(tenant: "t2").map(\.requestID) == ["2"])
            #expect(try await store.openRequests().map(\.requestID) == ["1", "2", "3"])
        }
    }

    @Test(arguments: StoreDriver.allCases)
    func importingEqualsTrackingAndPollingEachRequest(_ driver: StoreDriver) async throws {
        // Given up on: some for a mapping with Adobe's ends too, some for one with no other end.
        let abandoned = (0..<5).map { index in
            let first = start.addingTimeInterval(Double(index) * 600 + 0.5)
            return TrackedRequest(key: index < 3 ? key : MappingKey(tenant: "t2", mapping: "XDM7"), requestID: RequestID("gone-\(index)"),
                                  origin: .external, firstSeen: first, lastPolled: first, status: .abandoned, info: "not found for 1 h",
                                  finishedAt: first.addingTimeInterval(3600.25 * Double(index + 1)))
        }
        let history = endedRequests(key, count: 40, from: start) + abandoned
            + endedRequests(MappingKey(tenant: "t1", mapping: "XDM45"), count: 7, from: start.addingTimeInterval(0.125))
        try await withStore(driver) { imported, _ in
            try await imported.importHistory(Array(history[..<20]))
            try await imported.importHistory(Array(history[20...]))
            try await withStore(driver) { polled, _ in
                for request in history {
                    let row = try await polled.track(request.key, requestID: request.requestID, origin: request.origin,
                                                     at: request.firstSeen).request.rowID
                    if request.status == .abandoned {
                        _ = try await polled.abandon(row, reason: request.info!, at: request.finishedAt!)
                        continue
                    }
                    _ = try await polled.recordObservation(row, report: StatusReport(
                        requestID: request.requestID, status: request.status, numRecords: request.numRecords,
                        batchID: request.batchID, info: request.info), at: request.finishedAt!)
                }
                let totals = try await polled.totals()
                #expect(try await imported.totals() == totals)
                #expect(totals.requests(of: MappingKey(tenant: "t2", mapping: "XDM7")) == [.abandoned: 2])
                #expect(totals.latest[MappingKey(tenant: "t2", mapping: "XDM7")] == nil)
            }
        }
    }

    @Test(arguments: StoreDriver.allCases)
    func writesSurviveReopening(_ driver: StoreDriver) async throws {
        let plan = TriggerPlan(slot: start.addingTimeInterval(3600), dueAt: start.addingTimeInterval(3612.5))
        let fixture = try await StoreFixture(driver)
        defer { fixture.remove() }
        do {
            let store = try await fixture.open()
            _ = try await store.recordTriggerAttempt(TriggerAttempt(key: key, at: start, result: .submitted, requestID: "5",
                                                                    origin: .external, plan: plan))
            _ = try await store.recordTriggerIntent(key, at: start.addingTimeInterval(30))
            await store.close()
        }
        let reopened = try await fixture.open()
        #expect(try await reopened.request(key, "5")?.origin == .external)
        #expect(try await reopened.totals().triggers[key] == [.submitted: 1])
        #expect(try await reopened.triggerPlans() == [key: plan])
        #expect(try await reopened.pendingTriggerIntents().map(\.at) == [start.addingTimeInterval(30)])
        await reopened.close()
    }

    @Test func aSQLiteDatabaseThatCannotBeOpenedIsNamed() {
        #expect {
            try SQLiteIngestionStore(path: "/proc/acs-nope/store.sqlite", durationBounds: [])
        } throws: { error in
            (error as? StoreError)?.description.contains("/proc/acs-nope") == true
        }
    }

    @Test func aPostgresServerThatCannotBeReachedIsNamedOnOneLineWithoutThePassword() async throws {
        let closed = try BoundSocket()
        let url = "postgres://acs_test@127.0.0.1:\(closed.port)/acs_nowhere?sslmode=disable"
        let configuration = try PostgresConfiguration(url: url, password: "s3cret-pw", connectTimeout: .seconds(2))
        let error = try #require(await connectionError(configuration), "connected to a port nothing listens on")
        #expect(error.kind == .unavailable)
        #expect(error.description.hasPrefix("database postgres://127.0.0.1:\(closed.port)/acs_nowhere: "))
        #expect(error.description.contains("connection refused"))
        #expect(!error.description.contains("s3cret-pw") && !error.description.contains("\n"))
    }

    @Test func aWrongPasswordIsUnavailableAndNeverQuoted() async throws {
        let server = try await PostgresServer.shared()
        let database = try await server.createDatabase()
        let configuration = try PostgresConfiguration(url: server.url(database: database), password: "wrong-pw-123",
                                                      connectTimeout: .seconds(2))
        let error = try #require(await connectionError(configuration), "connected with a wrong password")
        #expect(error.kind == .unavailable)
        #expect(error.description.contains("password authentication failed"))
        #expect(error.description.contains(database))
        #expect(!error.description.contains("wrong-pw-123") && !error.description.contains(server.password))
    }
}
