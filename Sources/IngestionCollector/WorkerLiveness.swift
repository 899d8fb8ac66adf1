import AdobeIngestionClient
import ExporterConfiguration
import ExporterMetrics
import Foundation
import IngestionModel
import Logging
import Synchronization

/// Whether one tenant's worker still makes progress: a cycle that ended, or an HTTP
/// attempt of the tenant that ended (however it ended). A worker that waits for
/// something that does not come makes none; one that waits for a known time (a 429's
/// pause, an open breaker, a retry's back-off) says until when, and is given that
/// long. The `Watchdog` judges it.
final class WorkerLiveness: Sendable {
    struct State: Sendable {
        var lastProgress: Date
        /// The end of the longest wait announced (held calls, a back-off), if later.
        var quietUntil: Date?
        /// The stage of the cycle in progress, or the pause between cycles.
        var waitingFor = "the first poll cycle"
        /// Consecutive watchdog checks that found no progress since the one before.
        var idleChecks = 0
        /// Progress seen since the watchdog's last check.
        var progressSinceCheck = true
        var stalledSince: Date?
    }

    private let state: Mutex<State>
    private let time: any TimeSource

    /// The liveness of the worker whose cycle this task runs in (its polls and triggers,
    /// and their token requests), nil elsewhere: an API trigger or a peer's queued trigger
    /// that goes through the tenant's gate says nothing of the worker's own progress.
    @TaskLocal static var ofCurrentCycle: WorkerLiveness?

    init(time: any TimeSource) {
        self.time = time
        state = Mutex(State(lastProgress: time.now()))
    }

    func progressed() {
        let now = time.now()
        state.withLock { state in
            state.lastProgress = now
            state.progressSinceCheck = true
        }
    }

    /// The worker waits (or its calls are held) until `until`: no progress is due before.
    func quiet(until: Date) {
        state.withLock { state in state.quietUntil = max(state.quietUntil ?? until, until) }
    }

    /// The worker waits at most `duration` from now.
    func quiet(for duration: Duration) { quiet(until: time.now().adding(duration)) }

    /// What the worker does now, for the log line a stall writes.
    func stage(_ what: String) {
        state.withLock { $0.waitingFor = what }
    }

    /// What a check found.
    enum Verdict: Equatable {
        case live
        /// Stalled from `since` (the first check past the deadline), waiting for `waitingFor`.
        case stalled(since: Date, waitingFor: String, lastProgress: Date)
    }

    /// Judges the worker at `now`: stalled once no progress came for `allowance` past
    /// the last progress and past every announced wait, over at least `checks`
    /// consecutive checks (so that a clock that jumps ahead, as after a suspended host,
    /// is not taken for a stall before the worker had its turn to run).
    func check(now: Date, allowance: Duration, checks: Int = 3) -> Verdict {
        state.withLock { state in
            if state.progressSinceCheck {
                state.progressSinceCheck = false
                state.idleChecks = 0
                state.stalledSince = nil
                return .live
            }
            state.idleChecks += 1
            let deadline = max(state.lastProgress, state.quietUntil ?? state.lastProgress).adding(allowance)
            guard now > deadline, state.idleChecks >= checks else {
                state.stalledSince = nil
                return .live
            }
            let since = state.stalledSince ?? now
            state.stalledSince = since
            return .stalled(since: since, waitingFor: state.waitingFor, lastProgress: state.lastProgress)
        }
    }
}

/// Judges every tenant worker's liveness at each check: a worker past its deadline
/// is stalled. A stall is said once in the log (with what the worker waits for), in
/// `acs_ingestion_collector_stalled` (and `acs_ingestion_up` 0) and in `/-/ready`'s
/// reason; and once more when the worker makes progress again.
final class Watchdog: Sendable {
    private let metrics: IngestionMetrics
    private let readiness: Readiness?
    private let logger: Logger
    /// The tenants found stalled at the last check.
    private let stalled = Mutex<Set<String>>([])

    init(metrics: IngestionMetrics, readiness: Readiness?, logger: Logger) {
        (self.metrics, self.readiness, self.logger) = (metrics, readiness, logger)
    }

    /// How long a worker may go without progress: three poll intervals and one
    /// request's time-out, past the end of any wait it announced.
    static func allowance(_ collector: ExporterConfig.Collector) -> Duration {
        collector.pollInterval * 3 + collector.requestTimeout
    }

    /// Judges `workers` (those running now) at `now`.
    func check(_ workers: [TenantWorker], now: Date, allowance: Duration) {
        let verdicts = workers.map { ($0, $0.liveness.check(now: now, allowance: allowance)) }
        let running = Set(workers.map(\.tenant.name))
        let (began, ended) = stalled.withLock { stalled -> ([(TenantWorker, WorkerLiveness.Verdict)], [String]) in
            let stalledNow = Set(verdicts.compactMap { $0.1 == .live ? nil : $0.0.tenant.name })
            let began = verdicts.filter { $0.1 != .live && !stalled.contains($0.0.tenant.name) }
            // A tenant no longer run (a reload, a hand-over) is no longer stalled either.
            let ended = stalled.subtracting(stalledNow).sorted()
            stalled = stalledNow
            return (began, ended)
        }
        for (worker, verdict) in began {
            guard case .stalled(let since, let waitingFor, let lastProgress) = verdict else { continue }
            let name = worker.tenant.name
            metrics.collectorStalled(tenant: name, true, at: now)
            readiness?.set(Self.condition(name),
                           "tenant \(name) stalled: waiting for \(waitingFor) (no progress since \(Timestamp.rfc3339(lastProgress)))")
            logger.warning("tenant's collector stalled", metadata: [
                "tenant": "\(name)", "waiting_for": "\(waitingFor)", "upstream": "\(worker.upstream.state.description)",
                "no_progress_since": "\(Timestamp.rfc3339(lastProgress))", "stalled_at": "\(Timestamp.rfc3339(since))",
            ])
        }
        for name in ended {
            metrics.collectorStalled(tenant: name, false, at: now)
            readiness?.set(Self.condition(name), nil)
            if running.contains(name) {
                logger.info("tenant's collector completes cycles again", metadata: ["tenant": "\(name)"])
            }
        }
    }

    private static func condition(_ tenant: String) -> String { "stalled:" + tenant }
}
