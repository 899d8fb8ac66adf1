import Foundation
import IngestionModel
import Testing

/// The one date format: RFC 3339, UTC, milliseconds, `Z`.
@Suite struct TimestampTests {
    @Test func formatsWithMillisecondsAndZ() {
        #expect(Timestamp.rfc3339(Date(timeIntervalSince1970: 1_780_000_000.25)) == "2026-05-28T20:26:40.250Z")
        #expect(Timestamp.day(Date(timeIntervalSince1970: 1_780_000_000)) == "2026-05-28")
    }

    @Test(arguments: [("2026-11-29T08:00:00Z", 1_795_939_200.0), ("2026-11-29T08:00:00.500Z", 1_795_939_200.5),
                      ("2026-11-29", 1_795_910_400), ("1795939200", 1_795_939_200)])
    func parsesWhatAPersonTypes(text: String, seconds: Double) {
        #expect(Timestamp.parse(text) == Date(timeIntervalSince1970: seconds))
    }

    @Test(arguments: ["yesterday", "2026-13-01", "", "29/11/2026"])
    func refusesTheRest(text: String) {
        #expect(Timestamp.parse(text) == nil)
    }

    /// Formatting is used from libmicrohttpd's threads and every task at once: it
    /// must need no shared mutable formatter.
    @Test func formattingFromManyThreadsAtOnceAgrees() async {
        let dates = (0..<2000).map { Date(timeIntervalSince1970: 1_700_000_000 + Double($0) * 3601.5) }
        let expected = dates.map(Timestamp.rfc3339)
        let results = await withTaskGroup(of: (Int, String).self) { group in
            for (index, date) in dates.enumerated() { group.addTask { (index, Timestamp.rfc3339(date)) } }
            var results = [String](repeating: "", count: dates.count)
            for await (index, text) in group { results[index] = text }
            return results
        }
        #expect(results == expected)
    }
}
