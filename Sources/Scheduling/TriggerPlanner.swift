import Foundation
import IngestionModel

/// Decides, for one mapping, which slot to serve and when to attempt it: at start-up,
/// after each attempt, and after downtime. A pure state machine over `TriggerPlan`s:
/// the caller supplies `now`, makes the attempts and persists the plans.
///
/// Rules, in short:
/// - every attempt is due at its slot plus the mapping's fixed jitter, except retries;
/// - a failed attempt is retried with exponential back-off, but never past the next
///   slot: once the back-off would reach it, the plan moves on to that slot;
/// - slots missed while the process was down run once, as soon as it is back, and the
///   slot after that is counted from then: missed periods are not replayed;
/// - `every` counts the next slot one period after the attempt (less the jitter, so
///   on-time attempts stay exactly one period apart); `cron` takes its next fire.
public struct TriggerPlanner: Sendable {
    public let schedule: Schedule
    /// This mapping's fixed offset from each slot; see `jitter(for:schedule:maximum:)`.
    public let jitter: Duration
    /// The first retry's delay; each further failure doubles it.
    public var retryInitial: Duration = .seconds(60)
    /// The longest delay between retries.
    public var retryMaximum: Duration = .seconds(3600)

    public init(schedule: Schedule, jitter: Duration) {
        self.schedule = schedule
        self.jitter = jitter
    }

    /// The plan at start-up, from the last attempt the store remembers (nil: never
    /// triggered). To carry on from a persisted plan instead, use `resumed(_:now:)`.
    ///
    /// Never triggered: `every` starts now (it triggers at start), `cron` waits for its
    /// next fire. Triggered before: the slot after that attempt, so a restart never
    /// triggers earlier than one period after it; if that slot was missed while down,
    /// it runs once now (plus jitter). A last attempt recorded after `now` (the clock
    /// was set back) counts as made now, rather than holding the mapping back.
    public func initialPlan(lastAttempt: Date?, now: Date) -> TriggerPlan {
        let lastAttempt = lastAttempt.map { min($0, now) }
        let slot: Date
        switch (schedule, lastAttempt) {
        case (.every, nil): slot = now
        case (.cron, nil): slot = nextSlot(after: now)
        case (.every, let attempt?): slot = nextSlot(after: slotServed(byAttemptAt: attempt))
        case (.cron, let attempt?): slot = nextSlot(after: attempt)
        }
        return resumed(TriggerPlan(slot: slot, dueAt: slot + jitter), now: now)
    }

    /// The plan after an attempt made at `now`.
    public func plan(after plan: TriggerPlan, result: TriggerAttemptResult, now: Date) -> TriggerPlan {
        let next = slot(following: plan, attemptedAt: now)
        switch result {
        case .started:
            return TriggerPlan(slot: next, dueAt: max(next + jitter, now))
        case .needsPerson:
            return TriggerPlan(slot: next, dueAt: max(next + jitter, now), failingSince: plan.failingSince ?? now)
        case .retryable:
            let attempts = plan.attempts + 1
            let failingSince = plan.failingSince ?? now
            let retryAt = now + backOff(afterFailedAttempts: attempts)
            guard retryAt < next else {
                // Retrying this slot would collide with the next one: serve that instead.
                return TriggerPlan(slot: next, dueAt: max(next + jitter, now), failingSince: failingSince)
            }
            return TriggerPlan(slot: plan.slot, dueAt: max(retryAt, now), attempts: attempts, failingSince: failingSince)
        }
    }

    /// A persisted plan after downtime: if its due time passed while the process was
    /// down, it runs once now (plus jitter, so mappings that all missed their slot do
    /// not POST in the same second), not once per missed period. Its slot, attempts and
    /// failure history are kept; the attempt's outcome then moves it past the missed
    /// periods, since the next slot is counted from the attempt.
    public func resumed(_ plan: TriggerPlan, now: Date) -> TriggerPlan {
        guard plan.dueAt < now else { return plan }
        var resumed = plan
        resumed.dueAt = now + jitter
        return resumed
    }

    /// Whether the plan's next attempt should be made at `now`.
    public func isDue(_ plan: TriggerPlan, now: Date) -> Bool {
        plan.dueAt <= now
    }

    /// The delay before retry number `failedAttempts` (1 → `retryInitial`), doubling
    /// each time and capped at `retryMaximum`: 1 min, 2 min, 4 min … 1 h by default.
    func backOff(afterFailedAttempts failedAttempts: Int) -> Duration {
        var delay = retryInitial
        var doublings = failedAttempts - 1
        // Stop doubling at the cap, so a long outage cannot overflow the delay (nor a
        // nonsensical non-positive initial delay run away).
        while doublings > 0, delay > .zero, delay < retryMaximum {
            delay *= 2
            doublings -= 1
        }
        return min(delay, retryMaximum)
    }

    /// The slot after the one `plan` serves, for an attempt made at `now`: counted from
    /// the attempt, so a late attempt (after downtime or retries) skips the slots it
    /// covered. For cron it is also after the served slot, in case an attempt is made
    /// before its slot.
    private func slot(following plan: TriggerPlan, attemptedAt now: Date) -> Date {
        switch schedule {
        case .every: nextSlot(after: slotServed(byAttemptAt: now))
        case .cron: nextSlot(after: max(now, plan.slot))
        }
    }

    /// For `every`, the slot time an attempt made at `attempt` stands for: the attempt
    /// less the jitter. Counting the next slot from it rather than from the attempt
    /// itself keeps attempts exactly one period apart; otherwise each period would
    /// stretch by the jitter and the mapping would drift later and later.
    private func slotServed(byAttemptAt attempt: Date) -> Date {
        attempt - jitter
    }

    /// The schedule's next slot; a cron expression that never fires (which the config
    /// checker rejects) is planned for the distant future rather than trapping.
    private func nextSlot(after date: Date) -> Date {
        schedule.nextSlot(after: date) ?? .distantFuture
    }
}
