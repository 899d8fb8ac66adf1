import AdobeIngestionClient
import ExporterMetrics
import Foundation
import IngestionModel
import Logging
import Synchronization

/// Whether one tenant's API can be used, said once: a line when it goes down, a
/// line when the breaker starts holding its calls, a summary every few minutes while
/// it stays down, a line when an ingestion call is answered again, and
/// `acs_ingestion_up` as it changes (not only at the end of a poll cycle). Each
/// failed or held call is logged at debug level only.
final class TenantHealth: Sendable {
    private struct State {
        var down: (since: Date, failures: Int, lastError: String, lastSummary: Date, byIMS: Bool)?
        /// The breaker's hold was said (until the API answers again).
        var holdSaid = false
    }

    static let summaryInterval: TimeInterval = 300

    private let tenant: String
    private let state = Mutex(State())
    private let metrics: IngestionMetrics
    private let logger: Logger
    private let time: any TimeSource

    init(tenant: String, metrics: IngestionMetrics, logger: Logger, time: any TimeSource) {
        (self.tenant, self.metrics, self.logger, self.time) = (tenant, metrics, logger, time)
    }

    /// An ingestion call (trigger or status) answered (a 404 and a 429 included: the
    /// API was reached). A token from IMS says nothing of the ingestion API, nor does a
    /// 401 that asks for a new one: neither is reported here.
    func reached() {
        let now = time.now()
        let recovered = state.withLock { state -> (since: Date, failures: Int)? in
            defer { (state.down, state.holdSaid) = (nil, false) }
            return state.down.map { ($0.since, $0.failures) }
        }
        metrics.tenantReached(tenant: tenant, up: true, at: now)
        if let recovered {
            logger.info("tenant's API answers again", metadata: [
                "tenant": "\(tenant)", "down_for_seconds": "\(Int(now.timeIntervalSince(recovered.since)))",
                "failed_calls": "\(recovered.failures)",
            ])
        }
    }

    /// IMS issued a token. That says nothing of the ingestion API: it ends only a down
    /// state IMS caused (its last failure was IMS refusing), and sets `up` when nothing says otherwise.
    func authenticated() {
        let now = time.now()
        enum Found { case up, downByIMS(since: Date, failures: Int), downByIngestion }
        let found = state.withLock { state -> Found in
            guard let down = state.down else { return .up }
            guard down.byIMS else { return .downByIngestion }
            (state.down, state.holdSaid) = (nil, false)
            return .downByIMS(since: down.since, failures: down.failures)
        }
        switch found {
        case .up:
            metrics.tenantReached(tenant: tenant, up: true, at: now)
        case .downByIMS(let since, let failures):
            metrics.tenantReached(tenant: tenant, up: true, at: now)
            logger.info("tenant's access token issued again", metadata: [
                "tenant": "\(tenant)", "down_for_seconds": "\(Int(now.timeIntervalSince(since)))", "failed_calls": "\(failures)",
            ])
        case .downByIngestion:
            break
        }
    }

    /// The tenant's upstream guard changed what holds its calls: the breaker's opening
    /// is said once, not again at each probe that fails, until the API answers again.
    func held(_ hold: UpstreamGuard.Hold?) {
        guard case .breakerOpen(let until)? = hold, state.withLock({ state in
            defer { state.holdSaid = true }
            return !state.holdSaid
        }) else { return }
        logger.warning("tenant's calls held: the API failed repeatedly; probing it again from time to time", metadata: [
            "tenant": "\(tenant)", "first_probe": "\(Timestamp.rfc3339(until))",
        ])
    }

    /// A call that failed. Failures that mean the API cannot be used (see `meansDown`)
    /// set the tenant down; the others are the request's own business (the API answered).
    /// `ingestionCall` false: a token request, whose other failures say nothing of the ingestion API.
    func failed(_ error: AdobeAPIError, context: Logger.Metadata = [:], ingestionCall: Bool = true) {
        if case .cancelled = error { return }  // nothing was learnt of the API
        logger.debug("call failed", metadata: context.merging(["tenant": "\(tenant)", "error": "\(error)"]) { $1 })
        guard Self.meansDown(error) else {
            if ingestionCall { reached() }  // a 404, a 429 or an odd body: the API itself answered
            return
        }
        let now = time.now()
        enum Say { case wentDown, stillDown(since: Date, failures: Int), nothing }
        let say = state.withLock { state -> Say in
            let byIMS = if case .authenticationFailed = error { true } else { false }
            guard var down = state.down else {
                state.down = (now, 1, "\(error)", now, byIMS)
                return .wentDown
            }
            down.failures += 1
            down.lastError = "\(error)"
            down.byIMS = byIMS
            defer { state.down = down }
            guard now.timeIntervalSince(down.lastSummary) >= Self.summaryInterval else { return .nothing }
            down.lastSummary = now
            return .stillDown(since: down.since, failures: down.failures)
        }
        metrics.tenantReached(tenant: tenant, up: false, at: now)
        switch say {
        case .wentDown:
            logger.warning("tenant's API cannot be used", metadata: ["tenant": "\(tenant)", "error": "\(error)"])
        case .stillDown(let since, let failures):
            logger.warning("tenant's API still cannot be used", metadata: [
                "tenant": "\(tenant)", "down_for_seconds": "\(Int(now.timeIntervalSince(since)))",
                "failed_calls": "\(failures)", "last_error": "\(error)",
            ])
        case .nothing:
            break
        }
    }

    /// Failures that mean the tenant's API could not be used: `acs_ingestion_up` 0.
    /// Throttling is not one: the API answered, and asked to wait.
    static func meansDown(_ error: AdobeAPIError) -> Bool {
        switch error {
        case .authenticationFailed, .unauthorized, .forbidden, .timeout, .connectionFailed, .serverError, .circuitOpen:
            return true
        default:
            return false
        }
    }
}
