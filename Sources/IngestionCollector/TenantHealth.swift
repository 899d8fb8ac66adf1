import AdobeIngestionClient
import ExporterMetrics
import Foundation
import IngestionModel
import Logging
import Synchronization

/// Whether one tenant's API can be used, said once: a line when it goes down, a
/// summary every few minutes while it stays down, a line when it recovers, and
/// `acs_ingestion_up` as it changes (not only at the end of a poll cycle). Each
/// failed call is logged at debug level only.
final class TenantHealth: Sendable {
    private struct State {
        var down: (since: Date, failures: Int, lastError: String, lastSummary: Date)?
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

    /// An answer from Adobe (a 404 and a 429 included: the API was reached).
    func reached() {
        let now = time.now()
        let recovered = state.withLock { state -> (since: Date, failures: Int)? in
            defer { state.down = nil }
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

    /// A call that failed. Failures that mean the API cannot be used (see `meansDown`)
    /// set the tenant down; the others are the request's own business (the API answered).
    func failed(_ error: AdobeAPIError, context: Logger.Metadata = [:]) {
        logger.debug("call failed", metadata: context.merging(["tenant": "\(tenant)", "error": "\(error)"]) { $1 })
        guard Self.meansDown(error) else {
            reached()  // a 404, a 429 or an odd body: the API itself answered
            return
        }
        let now = time.now()
        enum Say { case wentDown, stillDown(since: Date, failures: Int), nothing }
        let say = state.withLock { state -> Say in
            guard var down = state.down else {
                state.down = (now, 1, "\(error)", now)
                return .wentDown
            }
            down.failures += 1
            down.lastError = "\(error)"
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
