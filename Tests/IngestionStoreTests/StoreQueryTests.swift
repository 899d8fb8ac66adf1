import Foundation
import IngestionModel
import IngestionStore
import Testing

/// The reads behind the API, the status page and the report, run against each implementation.
@Suite("Store queries")
struct StoreQueryTests {
    let xdm44 = MappingKey(tenant: "t1", mapping: "XDM44")
    // Sorts before XDM44 bytewise ("1" < "4"), as both engines must order it.
    let xdm100 = MappingKey(tenant: "t1", mapping: "XDM100")
    let other = MappingKey(tenant: "t2", mapping: "XDM44")
    let start = Date(timeIntervalSince1970: 1_700_000_000)

    /// 30 ended requests an hour apart over three mappings (every fifth aborted, the
    /// other odd ones failed, the rest successes of 10 records), then one open request of each.
    func seed(_ store: any StoreTransfer) async throws {
        let history = (0..<30).map { index in
            let first = start.addingTimeInterval(Double(index) * 3600)
            let status: IngestionStatus = index % 5 == 4 ? .aborted : index % 2 == 1 ? .failed : .success
            let info = status == .failed ? "Mapping Id: X. ACP-880056 Failed to fetch the record." : nil
            return TrackedRequest(key: [xdm44, xdm100, other][index % 3], requestID: RequestID(index), origin: .triggered,
                                  firstSeen: first, lastPolled: first.addingTimeInterval(40), status: status,
                                  numRecords: status == .success ? 10 : 0, info: info, acpCode: ACPCode.find(in: info),
                                  finishedAt: first.addingTimeInterval(40))
        }
        try await store.importHistory(history)
        for (offset, key) in [xdm44, xdm100, other].enumerated() {
            _ = try await store.track(key, requestID: RequestID(100 + offset), origin: .external, at: start.addingTimeInterval(200_000))
        }
    }

    /// Runs `body` with a store of `driver` holding `seed`'s history.
    func withSeededStore(_ driver: StoreDriver, _ body: (any StoreTransfer) async throws -> Void) async throws {
        try await withStore(driver) { store, _ in
            try await seed(store)
            try await body(store)
        }
    }

    @Test(arguments: StoreDriver.allCases)
    func historyPagesNewestFirstWithoutGapsOrRepeats(_ driver: StoreDriver) async throws {
        try await withSeededStore(driver) { store throws in
            var query = HistoryQuery()
            query.limit = 7
            var pages: [[TrackedRequest]] = []
            while true {
                let page = try await store.history(query)
                if page.isEmpty { break }
                pages.append(page)
                query.before = page.last!.rowID
            }
            #expect(pages.map(\.count) == [7, 7, 7, 7, 5])
            let rows = pages.flatMap { $0 }
            #expect(rows.map(\.rowID) == rows.map(\.rowID).sorted(by: >))
            #expect(Set(rows.map(\.requestID)).count == 33)
            #expect(rows.first?.requestID == "102")
        }
    }

    @Test(arguments: StoreDriver.allCases)
    func historyFiltersCombine(_ driver: StoreDriver) async throws {
        try await withSeededStore(driver) { store throws in
            var query = HistoryQuery()
            query.limit = 100
            query.tenant = "t1"
            #expect(try await store.history(query).count == 22)
            query.mapping = "XDM44"
            #expect(try await store.history(query).map(\.requestID) == ["100", "27", "24", "21", "18", "15", "12", "9", "6", "3", "0"])
            query.status = .failed
            #expect(try await store.history(query).map(\.requestID) == ["27", "21", "15", "3"])
            query.status = .inProgress
            #expect(try await store.history(query).map(\.requestID) == ["100"])
            query = HistoryQuery()
            query.status = .aborted
            query.since = start.addingTimeInterval(9 * 3600)
            #expect(try await store.history(query).map(\.requestID) == ["29", "24", "19", "14", "9"])
            query.since = start.addingTimeInterval(9 * 3600 + 0.5)
            #expect(try await store.history(query).map(\.requestID) == ["29", "24", "19", "14"])
            query.limit = 0 // at least one row, never an error
            #expect(try await store.history(query).count == 1)
        }
    }

    @Test(arguments: StoreDriver.allCases)
    func latestRequestsAreTheNewestOfEachMapping(_ driver: StoreDriver) async throws {
        try await withStore(driver) { store, _ in
            #expect(try await store.latestRequests().isEmpty)
            try await seed(store)
            let latest = try await store.latestRequests()
            #expect(latest.mapValues(\.requestID) == [xdm44: "100", xdm100: "101", other: "102"])
            #expect(latest[xdm100]?.status == .inProgress)
        }
    }

    @Test(arguments: StoreDriver.allCases)
    func dailyRecordsSumSuccessesPerMappingAndUTCDay(_ driver: StoreDriver) async throws {
        try await withSeededStore(driver) { store throws in
            // start is 2023-11-14T22:13:20Z: requests 0-1 end on the 14th, 2-25 on the 15th, 26-29 on the 16th.
            let days = try await store.dailyRecords(since: start.addingTimeInterval(3600))
            #expect(days == [
                xdm100: ["2023-11-15": 30, "2023-11-16": 10],
                xdm44: ["2023-11-15": 30],
                other: ["2023-11-15": 30, "2023-11-16": 10],
            ])
            #expect(try await store.dailyRecords(since: start.addingTimeInterval(400_000)).isEmpty)
        }
    }

    /// Ends at: Sunday noon, the next Monday's midnight, half a second before a new
    /// year, New Year's Day (a Friday, in the ISO week of the Monday before), and 0.4 ms
    /// before a Monday, which SQLite's millisecond rounding puts on that Monday.
    @Test(arguments: StoreDriver.allCases)
    func reportPeriodsAreUTCDaysISOWeeksAndMonths(_ driver: StoreDriver) async throws {
        let ends: [(Double, FinalStatus)] = [(1_795_953_600, .success), (1_795_996_800, .failed), (1_798_761_599.5, .success),
                                             (1_798_761_600, .aborted), (1_799_020_799.9996, .success)]
        try await withStore(driver) { store, _ in
            try await store.importHistory(ends.enumerated().map { index, end in
                TrackedRequest(key: xdm44, requestID: RequestID(index), origin: .triggered,
                               firstSeen: Date(timeIntervalSince1970: end.0 - 60), status: IngestionStatus(end.1),
                               numRecords: end.1 == .success ? index + 1 : 0,
                               info: end.1 == .failed ? "ACP-880096 Sync Job failed" : nil,
                               acpCode: end.1 == .failed ? ACPCode(rawValue: "ACP-880096") : nil,
                               finishedAt: Date(timeIntervalSince1970: end.0))
            })
            _ = try await store.track(xdm44, requestID: "open", origin: .external, at: start)

            func row(_ period: String, _ records: Int, _ requests: [FinalStatus: Int], _ failures: [String: Int] = [:]) -> ReportRow {
                ReportRow(key: xdm44, period: period, recordsIngested: records, requests: requests, failuresByACPCode: failures)
            }
            #expect(try await store.report(period: .day, from: nil, to: nil) == [
                row("2026-11-29", 1, [.success: 1]), row("2026-11-30", 0, [.failed: 1], ["ACP-880096": 1]),
                row("2026-12-31", 3, [.success: 1]), row("2027-01-01", 0, [.aborted: 1], ["none": 1]),
                row("2027-01-04", 5, [.success: 1]),
            ])
            #expect(try await store.report(period: .week, from: nil, to: nil) == [
                row("2026-11-23", 1, [.success: 1]), row("2026-11-30", 0, [.failed: 1], ["ACP-880096": 1]),
                row("2026-12-28", 3, [.success: 1, .aborted: 1], ["none": 1]), row("2027-01-04", 5, [.success: 1]),
            ])
            #expect(try await store.report(period: .month, from: nil, to: nil) == [
                row("2026-11", 1, [.success: 1, .failed: 1], ["ACP-880096": 1]), row("2026-12", 3, [.success: 1]),
                row("2027-01", 5, [.success: 1, .aborted: 1], ["none": 1]),
            ])
            // [from, to): the request ending exactly at `to` is left out, the one at `from` kept.
            #expect(try await store.report(period: .month, from: Date(timeIntervalSince1970: 1_795_996_800),
                                           to: Date(timeIntervalSince1970: 1_798_761_600)) == [
                row("2026-11", 0, [.failed: 1], ["ACP-880096": 1]), row("2026-12", 3, [.success: 1]),
            ])
        }
    }
}
