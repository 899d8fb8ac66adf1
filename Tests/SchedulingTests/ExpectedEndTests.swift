import Foundation
import IngestionModel
import Scheduling
import Testing

private let schedule = PollSchedule(interval: .seconds(30), maximum: .seconds(300))

private func runs(_ texts: [String]) -> DurationHistory {
    DurationHistory(durations: texts.map { duration($0) })
}

@Suite("The window of a mapping's usual end")
struct ExpectedEndTests {
    /// One row: a mapping whose recent runs took `runs` is polled at poll_interval between
    /// the ages of `window` (nil: the age rule alone).
    struct Row: CustomTestStringConvertible, Sendable {
        let rule: String
        let runs: [String]
        let window: (earliest: String, latest: String)?

        var testDescription: String { rule }
    }

    static let rows: [Row] = [
        Row(rule: "no history: no window", runs: [], window: nil),
        Row(rule: "four runs are too few: no window", runs: ["1h", "1h", "1h", "1h"], window: nil),
        Row(rule: "ten runs of 55 to 64 min: from p10 (the shortest) to p90 (the second longest)",
            runs: (55...64).map { "\($0)m" }, window: ("55m", "63m")),
        Row(rule: "five runs of 61 min: opens half an age-rule gap before the median",
            runs: Array(repeating: "61m", count: 5), window: ("58m30s", "61m")),
        Row(rule: "runs of 40 to 49 s: half a poll_interval before the median, before p10",
            runs: (40...49).map { "\($0)s" }, window: ("29s", "48s")),
        Row(rule: "scattered runs: cut to 20 polls centred on the median",
            runs: ["10m", "30m", "1h", "1h30m", "2h", "2h30m", "3h", "4h", "4h30m", "5h"],
            window: ("1h55m", "2h5m")),
        Row(rule: "cut to 20 polls, kept inside p10...p90 when the median is near p90",
            runs: ["10m"] + Array(repeating: "1h", count: 9), window: ("50m", "1h")),
        Row(rule: "only the last 20 runs count",
            runs: Array(repeating: "3h", count: 5) + Array(repeating: "1h", count: 20), window: ("57m30s", "1h")),
        Row(rule: "runs of two days: 20 polls at most",
            runs: ["46h", "47h", "47h30m", "48h", "48h", "48h10m", "48h30m", "49h", "50h", "52h"],
            window: ("47h55m", "48h5m")),
    ]

    @Test("the window from the last runs' durations", arguments: rows)
    func window(_ row: Row) {
        let expected = row.window.map { ExpectedEnd(earliestAge: duration($0.earliest), latestAge: duration($0.latest)) }
        #expect(schedule.expectedEnd(from: runs(row.runs)) == expected)
    }

    @Test func aWindowSpansAtMostTwentyPolls() {
        var wider = schedule
        wider.maximumWindowPolls = 40
        let scattered = runs(["10m", "30m", "1h", "1h30m", "2h", "2h30m", "3h", "4h", "4h30m", "5h"])
        #expect(wider.expectedEnd(from: scattered) == ExpectedEnd(earliestAge: duration("1h50m"), latestAge: duration("2h10m")))
    }

    static let percentiles: [(percent: Int, expected: String)] = [(0, "1m"), (10, "1m"), (11, "2m"), (50, "5m"), (90, "9m"), (100, "10m")]

    @Test("nearest-rank percentiles", arguments: percentiles)
    func percentile(percent: Int, expected: String) {
        let history = runs((1...10).reversed().map { "\($0)m" })
        #expect(history.percentile(percent) == duration(expected))
    }

    @Test func recordingKeepsTheLastTwentyRuns() {
        var history = DurationHistory(durations: [])
        for minutes in 1...25 { history.record(.seconds(minutes * 60)) }
        history.record(.seconds(-5))
        #expect(history.durations == (6...25).map { .seconds($0 * 60) })
    }

    @Test func onlyRequestsThatEndedOnTheirOwnCount() {
        let key = MappingKey(tenant: "acme", mapping: "XDM44")
        func request(_ id: Int, minutes: Double, status: IngestionStatus, endedAt hour: Double?, untracked: Bool = false) -> TrackedRequest {
            let finishedAt = hour.map { requestStart.addingTimeInterval($0 * 3600) }
            return TrackedRequest(key: key, requestID: RequestID(id), origin: .triggered,
                                  firstSeen: (finishedAt ?? requestStart).addingTimeInterval(-minutes * 60),
                                  status: status, finishedAt: finishedAt,
                                  untrackedAt: untracked ? requestStart : nil)
        }
        let requests = [
            request(1, minutes: 30, status: .success, endedAt: 5),
            request(2, minutes: 10, status: .failed, endedAt: 2),
            request(3, minutes: 1440, status: .abandoned, endedAt: 3),
            request(4, minutes: 20, status: .aborted, endedAt: 4),
            request(5, minutes: 40, status: .inProgress, endedAt: nil),
            request(6, minutes: 50, status: .success, endedAt: 1, untracked: true),
        ]
        #expect(DurationHistory(endedRequests: requests).durations == [duration("10m"), duration("20m"), duration("30m")])
    }
}
