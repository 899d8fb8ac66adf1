import Foundation
import IngestionModel
import Scheduling
import Testing

// Helpers shared by the polling tests: durations written as Prometheus writes them, and one
// request polled from start to end on injected instants.

/// A duration from Prometheus text (`30s`, `5m10s`, `2d`).
func duration(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) -> Duration {
    guard let parsed = DurationText.parse(text) else {
        Issue.record("not a duration: \(text)", sourceLocation: sourceLocation)
        return .zero
    }
    return parsed
}

/// The instant every simulated request starts at, unless a test says otherwise.
let requestStart = instant("2026-01-10T00:00Z")

/// One request polled by `schedule` from its start until the poll that sees its end.
struct PolledRun {
    /// Each poll's age (time since the start), the last one the poll that saw the end.
    let pollAges: [Duration]
    let end: Duration

    var calls: Int { pollAges.count }
    /// From the end to the poll that saw it.
    var detectionDelay: Duration { pollAges.last! - end }
}

/// Polls a request that started at `start` and ended `end` later, following `schedule`
/// through its public `nextPoll`, until a poll at or after the end sees it.
func pollRun(_ schedule: PollSchedule, until end: Duration, expecting window: ExpectedEnd? = nil,
             start: Date = requestStart) -> PolledRun {
    var lastPoll: Date?
    var ages: [Duration] = []
    repeat {
        let next = schedule.nextPoll(startedAt: start, lastPolledAt: lastPoll, expecting: window)
        ages.append(.seconds(next.timeIntervalSince(start)))
        lastPoll = next
    } while ages.last! < end
    return PolledRun(pollAges: ages, end: end)
}

/// Ten durations evenly spread from `low` to `high`, both included: "the last ten runs took
/// between `low` and `high`".
func tenRuns(from low: Duration, to high: Duration) -> DurationHistory {
    DurationHistory(durations: (0..<10).map { low + (high - low) * $0 / 9 })
}

extension Duration {
    /// Whole seconds, rounded, as the docs write a duration.
    var roundedText: String { DurationText.format(.seconds(seconds.rounded())) }
}
