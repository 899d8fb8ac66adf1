import Foundation
import IngestionModel

/// When a followed batch is looked up in the Catalog: at once when its request ends
/// (Campaign reports the failure after the batch's own end, most of the time), then
/// after `interval`, doubling up to `maximum` while the batch is still processed or the
/// lookup fails, until `giveUpAfter` from the request's end (as the exporter saw it, when the
/// first lookup is due), when it ends as `unknown`. The collector never looks up early, so a
/// batch costs at most `maxLookups` lookups (each with the client's retries).
public struct BatchLookupSchedule: Sendable, Equatable {
    public var interval: Duration
    public var maximum: Duration
    public var giveUpAfter: Duration

    public init(interval: Duration, maximum: Duration, giveUpAfter: Duration) {
        (self.interval, self.maximum, self.giveUpAfter) = (interval, max(interval, maximum), giveUpAfter)
    }

    /// The gap after the `lookups`-th lookup (1 for the first).
    public func gap(afterLookups lookups: Int) -> Duration {
        let doubling = Double(1 << min(max(lookups - 1, 0), 30))
        return .milliseconds(Int64(min(interval.seconds * doubling, maximum.seconds) * 1000))
    }

    /// When to look again after the `lookups`-th lookup, made at `time`.
    public func next(afterLookups lookups: Int, at time: Date) -> Date {
        time.adding(gap(afterLookups: lookups))
    }

    /// Whether a follow-up created at `created` has run out of time at `time`.
    public func givesUp(createdAt created: Date, at time: Date) -> Bool {
        time.timeIntervalSince(created) >= giveUpAfter.seconds
    }

    /// The most lookups one batch can cost: those that fit before `giveUpAfter`.
    public var maxLookups: Int {
        var (elapsed, lookups) = (0.0, 0)
        while elapsed < giveUpAfter.seconds {
            lookups += 1
            elapsed += gap(afterLookups: lookups).seconds
        }
        return lookups
    }
}
