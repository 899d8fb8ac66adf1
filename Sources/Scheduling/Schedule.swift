import Foundation
import IngestionModel

/// When a mapping's ingestions are due: at a fixed spacing (`trigger_every`) or on a
/// cron expression read in a time zone (`trigger_cron` + `trigger_timezone`, UTC by
/// default).
///
/// Owns "the next scheduled time after this one" and "how far apart scheduled times
/// typically are"; what happens on failure is `TriggerPlanner`'s business.
public enum Schedule: Sendable, Equatable {
    /// Every `Duration` after the previous slot. The config checker rejects a duration
    /// that is not positive; given one anyway, the next slot is simply not later.
    case every(Duration)
    case cron(CronExpression, TimeZone)

    /// The first scheduled time strictly after `date`: `date + duration` for `every`,
    /// the expression's next fire in its zone for `cron`; nil when a cron expression
    /// never fires.
    public func nextSlot(after date: Date) -> Date? {
        switch self {
        case .every(let interval): date + interval
        case .cron(let expression, let timeZone): expression.nextFire(after: date, in: timeZone)
        }
    }

    /// A typical spacing between slots, to bound the jitter: the duration for `every`;
    /// for `cron`, the smallest gap between consecutive fires among the first few after
    /// a fixed reference date, or nil when it never fires.
    ///
    /// The reference is fixed (2001-01-01 UTC) rather than "now" so that the value, and
    /// the jitter derived from it, is the same on every start of the process.
    public var period: Duration? {
        switch self {
        case .every(let interval):
            return interval
        case .cron(let expression, let timeZone):
            var fires: [Date] = []
            var cursor = Date(timeIntervalSinceReferenceDate: 0)
            while fires.count < Self.firesSampledForPeriod, let next = expression.nextFire(after: cursor, in: timeZone) {
                fires.append(next)
                cursor = next
            }
            let gaps = zip(fires, fires.dropFirst()).map { $1.timeIntervalSince($0) }
            return gaps.min().map { .seconds($0) }
        }
    }

    /// Enough fires to see the short gap of lists such as `0 9,17 * * *` or `0 9 * * 1-5`.
    private static let firesSampledForPeriod = 8

    /// Time zones compare by identifier: two `TimeZone` values for the same zone can
    /// otherwise differ in ways that do not change any fire time.
    public static func == (lhs: Schedule, rhs: Schedule) -> Bool {
        switch (lhs, rhs) {
        case (.every(let left), .every(let right)):
            left == right
        case (.cron(let left, let leftZone), .cron(let right, let rightZone)):
            left == right && leftZone.identifier == rightZone.identifier
        default:
            false
        }
    }
}
