import Foundation
import IngestionModel
import Scheduling
import Testing

/// When a followed batch is looked up, and how many lookups it can cost at most.
@Suite("Batch lookup schedule")
struct BatchLookupScheduleTests {
    static let start = Date(timeIntervalSince1970: 1_700_000_000)

    @Test func gapsDoubleUpToTheMaximum() {
        let schedule = BatchLookupSchedule(interval: .seconds(60), maximum: .seconds(900), giveUpAfter: .seconds(6 * 3600))
        #expect((1...7).map { schedule.gap(afterLookups: $0).seconds } == [60, 120, 240, 480, 900, 900, 900])
        #expect(schedule.next(afterLookups: 3, at: Self.start) == Self.start.addingTimeInterval(240))
        #expect(!schedule.givesUp(createdAt: Self.start, at: Self.start.addingTimeInterval(6 * 3600 - 1)))
        #expect(schedule.givesUp(createdAt: Self.start, at: Self.start.addingTimeInterval(6 * 3600)))
    }

    /// The defaults (1 min doubling to 15 min, 6 h) cost at most 27 lookups a batch, as the docs say:
    /// at 0, 1, 3, 7 and 15 min, then every 15 min until 6 h. The demo's (2 s to 10 s for an hour): 362.
    @Test(arguments: [(60, 900, 21_600, 27), (60, 300, 1200, 6), (2, 10, 3600, 362), (60, 60, 3600, 60)])
    func theMostLookupsABatchCosts(_ row: (interval: Int, maximum: Int, giveUp: Int, lookups: Int)) {
        let schedule = BatchLookupSchedule(interval: .seconds(row.interval), maximum: .seconds(row.maximum), giveUpAfter: .seconds(row.giveUp))
        #expect(schedule.maxLookups == row.lookups)
    }
}
