import Foundation
import IngestionModel

/// How long a mapping's recent requests took: the durations of its last
/// `sampleLimit` ended runs, and their percentiles. Owns which runs count; what the
/// schedule makes of them is `PollSchedule.expectedEnd(from:)`.
///
/// A duration is the request's age at the poll that saw it end, as the store records it
/// (`TrackedRequest.duration`), so it is late by up to one poll gap.
public struct DurationHistory: Sendable, Equatable {
    /// The most recent runs kept: enough for a tenth and a ninetieth percentile that one
    /// odd run does not move, few enough to follow a mapping whose runs grow longer.
    public static let sampleLimit = 20
    /// Fewer ended runs than this give no percentiles: the age rule alone applies.
    public static let minimumSamples = 5

    /// The kept durations, oldest first.
    public private(set) var durations: [Duration]

    /// The last `sampleLimit` of `durations` (oldest first); negative ones (a clock set
    /// back) are dropped.
    public init(durations: some Sequence<Duration>) {
        self.durations = Array(durations.filter { $0 >= .zero }.suffix(Self.sampleLimit))
    }

    /// The durations of the requests among `requests` that ended on their own (success,
    /// failed or aborted), in the order they ended. Requests still open, untracked, or
    /// abandoned by the exporter (their duration is the give-up time, not Adobe's) do not count.
    public init(endedRequests requests: some Sequence<TrackedRequest>) {
        let ended = requests.compactMap { request -> (finishedAt: Date, duration: Duration)? in
            guard request.untrackedAt == nil, let final = request.status.finalStatus, final != .abandoned,
                  let finishedAt = request.finishedAt, let duration = request.duration else { return nil }
            return (finishedAt, .seconds(duration))
        }
        self.init(durations: ended.sorted { $0.finishedAt < $1.finishedAt }.map(\.duration))
    }

    /// Adds the duration of a run that just ended, dropping the oldest beyond `sampleLimit`.
    public mutating func record(_ duration: Duration) {
        guard duration >= .zero else { return }
        durations.append(duration)
        if durations.count > Self.sampleLimit { durations.removeFirst(durations.count - Self.sampleLimit) }
    }

    /// Whether there are enough runs to speak of a usual duration.
    public var isEnough: Bool { durations.count >= Self.minimumSamples }

    /// The nearest-rank `percent`-th percentile (the smallest kept duration that at least
    /// `percent` % of them do not exceed: for ten runs, the 10th is the shortest and the
    /// 90th the second longest); nil without enough runs.
    public func percentile(_ percent: Int) -> Duration? {
        guard isEnough else { return nil }
        let sorted = durations.sorted()
        let rank = (min(max(percent, 0), 100) * sorted.count + 99) / 100
        return sorted[max(rank, 1) - 1]
    }
}
