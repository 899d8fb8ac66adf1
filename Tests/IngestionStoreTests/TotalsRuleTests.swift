import Foundation
import IngestionModel
import IngestionStore
import Testing
import TestSupport

/// What an ended request adds to the running totals (`IngestionTotals.Addition`), row
/// by row, then counted by each store, along both of its paths (a poll that sees the end,
/// and a history imported whole): the totals read back are the table's, on every store.
@Suite("Totals rule")
struct TotalsRuleTests {
    static let key = MappingKey(tenant: "t1", mapping: "XDM44")
    static let start = Date(timeIntervalSince1970: 1_700_000_000)
    static let bounds = StoreFixture.durationBounds  // 30, 60, 120

    /// An ended request, and what it must add (written out, not computed).
    struct Row: Sendable, CustomTestStringConvertible {
        let name: String
        let status: IngestionStatus
        let numRecords: Int
        let info: String?
        /// Seconds from first sight to the end (negative: a clock that stepped back).
        let seconds: Double
        let acpCode: String
        let records: Int
        let duration: Double
        let upperBound: Double
        let latest: IngestionTotals.Addition.Latest?
        var testDescription: String { name }

        var finishedAt: Date { TotalsRuleTests.start.addingTimeInterval(1000) }
        var firstSeen: Date { finishedAt.addingTimeInterval(-seconds) }
    }

    static let failedToFetch = "Mapping Id: XDM44. ACP-880056 Failed to fetch the record."
    static let end = start.addingTimeInterval(1000)

    static let rows: [Row] = [
        Row(name: "a success counts its records", status: .success, numRecords: 15, info: nil, seconds: 40.25,
            acpCode: "none", records: 15, duration: 40.25, upperBound: 60, latest: .success(at: end, records: 15)),
        Row(name: "a failure counts its ACP code, never its records; a duration on a bound falls in it", status: .failed,
            numRecords: 7, info: failedToFetch, seconds: 30, acpCode: "ACP-880056", records: 0, duration: 30, upperBound: 30,
            latest: .failure(at: end)),
        Row(name: "a failure without a code is none; past the last bound is +Inf", status: .failed, numRecords: 0,
            info: "something else", seconds: 121, acpCode: "none", records: 0, duration: 121, upperBound: .infinity,
            latest: .failure(at: end)),
        Row(name: "an abort is a failure event", status: .aborted, numRecords: 0, info: nil, seconds: 0.5,
            acpCode: "none", records: 0, duration: 0.5, upperBound: 30, latest: .failure(at: end)),
        Row(name: "an abandoned request sets no latest event; a negative duration counts 0", status: .abandoned,
            numRecords: 0, info: nil, seconds: -5, acpCode: "none", records: 0, duration: 0, upperBound: 30, latest: nil),
        Row(name: "a success of no records, very long", status: .success, numRecords: 0, info: nil, seconds: 1e6,
            acpCode: "none", records: 0, duration: 1e6, upperBound: .infinity, latest: .success(at: end, records: 0)),
    ]

    static func request(_ row: Row, id: Int) -> TrackedRequest {
        TrackedRequest(key: key, requestID: RequestID(id), origin: .triggered, firstSeen: row.firstSeen, lastPolled: row.finishedAt,
                       status: row.status, numRecords: row.numRecords, info: row.info, acpCode: ACPCode.find(in: row.info),
                       finishedAt: row.finishedAt)
    }

    @Test(arguments: rows)
    func whatAnEndedRequestAdds(_ row: Row) throws {
        let added = try #require(IngestionTotals.Addition(Self.request(row, id: 1), bounds: Self.bounds))
        #expect(added.status == row.status.finalStatus)
        #expect(added.acpCode == row.acpCode)
        #expect(added.records == row.records)
        #expect(added.duration == row.duration)
        #expect(added.upperBound == row.upperBound)
        #expect(added.latest == row.latest)
    }

    @Test func aRequestInProgressAddsNothing() {
        var running = Self.request(Self.rows[0], id: 1)
        running.status = .inProgress
        #expect(IngestionTotals.Addition(running, bounds: Self.bounds) == nil)
    }

    /// The totals every row together makes, written out.
    static var expected: (outcomes: [String], buckets: [String], latest: IngestionTotals.Latest) {
        let outcomes = [
            "success none 2 15 \(40.25 + 1e6)", "failed ACP-880056 1 0 30.0", "failed none 1 0 121.0",
            "aborted none 1 0 0.5", "abandoned none 1 0 0.0",
        ]
        let buckets = ["success 60.0 1", "success inf 1", "failed 30.0 1", "failed inf 1", "aborted 30.0 1", "abandoned 30.0 1"]
        return (outcomes.sorted(), buckets.sorted(), IngestionTotals.Latest(lastSuccessAt: end, lastSuccessRecords: 0, lastFailureAt: end))
    }

    static func summary(_ totals: IngestionTotals) -> (outcomes: [String], buckets: [String], latest: IngestionTotals.Latest?) {
        let outcomes = totals.outcomes.filter { $0.key == key }
            .map { "\($0.status.label) \($0.acpCode) \($0.requests) \($0.records) \($0.durationSum)" }
        let buckets = totals.buckets.filter { $0.key == key }.map { "\($0.status.label) \($0.upperBound) \($0.count)" }
        return (outcomes.sorted(), buckets.sorted(), totals.latest[key])
    }

    /// Each row ended through a poll (its observation, or its abandonment), one after another.
    @Test(arguments: StoreDriver.allCases)
    func eachStoreCountsTheTableAsItIsWritten(_ driver: StoreDriver) async throws {
        try await withStore(driver) { store, _ in
            for (index, row) in Self.rows.enumerated() {
                let tracked = try await store.track(Self.key, requestID: RequestID(index + 1), origin: .triggered, at: row.firstSeen)
                let rowID = try #require(tracked.request).rowID
                if row.status == .abandoned {
                    _ = try await store.abandon(rowID, reason: "test", at: row.finishedAt)
                } else {
                    let report = StatusReport(requestID: RequestID(index + 1), status: row.status, numRecords: row.numRecords,
                                              info: row.info)
                    _ = try await store.recordObservation(rowID, report: report, at: row.finishedAt)
                }
            }
            let got = Self.summary(try await store.totals())
            #expect(got.outcomes == Self.expected.outcomes)
            #expect(got.buckets == Self.expected.buckets)
            #expect(got.latest?.lastSuccessAt == Self.expected.latest.lastSuccessAt)
            #expect(got.latest?.lastSuccessRecords == Self.expected.latest.lastSuccessRecords)
            #expect(got.latest?.lastFailureAt == Self.expected.latest.lastFailureAt)
        }
    }

    /// The same rows imported whole (PostgreSQL counts them in memory, SQLite row by row):
    /// the same totals; and both stores read the +Inf bucket back as +Inf, whatever each
    /// writes in its column (SQLite 1e308, PostgreSQL Infinity).
    @Test(arguments: StoreDriver.allCases)
    func anImportedHistoryCountsAlikeAndTheInfiniteBucketReadsBackAsInfinity(_ driver: StoreDriver) async throws {
        try await withStore(driver) { store, fixture in
            try await store.importHistory(Self.rows.enumerated().map { Self.request($1, id: $0 + 1) })
            let totals = try await store.totals()
            let got = Self.summary(totals)
            #expect(got.outcomes == Self.expected.outcomes)
            #expect(got.buckets == Self.expected.buckets)
            #expect(got.latest?.lastSuccessAt == Self.expected.latest.lastSuccessAt)
            #expect(got.latest?.lastSuccessRecords == Self.expected.latest.lastSuccessRecords)
            #expect(got.latest?.lastFailureAt == Self.expected.latest.lastFailureAt)
            #expect(totals.buckets.filter { $0.upperBound == .infinity }.count == 2)
            let stored = try await fixture.column("SELECT count(*) FROM duration_buckets WHERE upper_bound > 1e300")
            #expect(stored == ["2"], "the +Inf bucket is the largest bound the column holds")
        }
    }
}
