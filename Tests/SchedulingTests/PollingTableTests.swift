import Foundation
import IngestionModel
import Scheduling
import Testing

/// What polling costs and how late it sees an end, for a request whose end falls anywhere
/// in a range of ages: computed exactly from the schedule's polls, with the end uniformly
/// distributed over the range.
struct DetectionFigures: Equatable {
    /// The mean number of status calls up to the one that sees the end.
    let calls: Double
    /// The median time from the end to the poll that sees it.
    let medianDelay: Duration
    /// The longest such time (a supremum: an end just after a poll waits for the next one).
    let worstDelay: Duration

    init(_ schedule: PollSchedule, expecting window: ExpectedEnd?, endsBetween low: Duration, and high: Duration) {
        let (low, high) = (low.seconds, high.seconds)
        // Each poll sees the ends after the poll before it: the part of the range each one covers.
        var covered: [(from: Double, through: Double, poll: Double, calls: Int)] = []
        var previous = 0.0
        for (index, poll) in pollRun(schedule, until: .seconds(high), expecting: window).pollAges.map(\.seconds).enumerated() {
            let (from, through) = (max(previous, low), min(poll, high))
            if through > from { covered.append((from, through, poll, index + 1)) }
            previous = poll
        }
        let width = high - low
        calls = covered.reduce(0) { $0 + ($1.through - $1.from) * Double($1.calls) } / width
        let worst = covered.map { $0.poll - $0.from }.max()!
        worstDelay = .seconds(worst)
        // The share of ends seen within `delay`, and the least delay within which half are.
        func share(seenWithin delay: Double) -> Double {
            covered.reduce(0) { $0 + max(0, $1.through - max($1.from, $1.poll - delay)) } / width
        }
        var (fast, slow) = (0.0, worst)
        for _ in 0..<60 {
            let middle = (fast + slow) / 2
            if share(seenWithin: middle) >= 0.5 { slow = middle } else { fast = middle }
        }
        medianDelay = .seconds(slow)
    }
}

/// docs/polling.md's table of calls and detection delays is generated here, so that it
/// cannot drift from the code: the test fails, printing the fresh table, when they differ.
@Suite("The polling table in docs/polling.md")
struct PollingTableTests {
    static let document = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("docs/polling.md")
    static let begin = "<!-- polling-table: begin -->"
    static let end = "<!-- polling-table: end -->"

    static let durations: [(label: String, duration: Duration)] = [
        ("1 min", .seconds(60)), ("10 min", .seconds(600)), ("1 h", .seconds(3600)), ("6 h", .seconds(21_600)),
    ]

    /// The ends of a request of `duration`: ±10 % of it, and at least ±poll_interval.
    static func endRange(of duration: Duration, _ schedule: PollSchedule) -> (low: Duration, high: Duration) {
        let spread = max(duration / 10, schedule.interval)
        return (duration - spread, duration + spread)
    }

    static func freshTable() -> String {
        let schedule = PollSchedule()
        var lines = [
            "| ingestion | polling | status calls | detection delay, median | detection delay, worst |",
            "| --- | --- | ---: | ---: | ---: |",
        ]
        for (label, duration) in durations {
            let (low, high) = endRange(of: duration, schedule)
            let window = schedule.expectedEnd(from: tenRuns(from: low, to: high))
            let policies: [(name: String, schedule: PollSchedule, window: ExpectedEnd?)] = [
                ("every 30 s (fixed)", .fixed(every: schedule.interval), nil),
                ("by age", schedule, nil),
                ("by age and history, window \(window.map(\.description) ?? "none")", schedule, window),
            ]
            for policy in policies {
                let figures = DetectionFigures(policy.schedule, expecting: policy.window, endsBetween: low, and: high)
                let calls = (figures.calls * 10).rounded() / 10
                lines.append("| \(label) | \(policy.name) | \(calls) | \(figures.medianDelay.roundedText) | \(figures.worstDelay.roundedText) |")
            }
        }
        return lines.joined(separator: "\n")
    }

    /// The README and docs/polling.md show the table.
    static let documents = ["README.md", "docs/polling.md"].map {
        document.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent($0)
    }

    @Test("the table in the docs is the one the code gives", arguments: documents)
    func theTableInTheDocsIsTheOneTheCodeGives(_ document: URL) throws {
        let fresh = Self.freshTable()
        let name = document.lastPathComponent
        let text = (try? String(contentsOf: document, encoding: .utf8)) ?? ""
        guard let begin = text.range(of: Self.begin), let end = text.range(of: Self.end, range: begin.upperBound..<text.endIndex) else {
            Issue.record("\(name) has no \(Self.begin) … \(Self.end) section; put this table in it:\n\(fresh)")
            return
        }
        let documented = text[begin.upperBound..<end.lowerBound].trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(documented == fresh, "\(name)'s table is out of date; replace it with:\n\(fresh)")
    }

    @Test func fixedPollingSeesAnEndHalfAnIntervalLateOnTheMedianAndAWholeOneAtWorst() {
        let figures = DetectionFigures(.fixed(every: .seconds(30)), expecting: nil, endsBetween: .seconds(3240), and: .seconds(3960))
        #expect(abs(figures.medianDelay.seconds - 15) < 1e-6)
        #expect(abs(figures.worstDelay.seconds - 30) < 1e-6)
        #expect(abs(figures.calls - 121.5) < 1e-6, "ends from 108 to 132 polls in (and the first at the start), 121.5 on average")
    }
}
