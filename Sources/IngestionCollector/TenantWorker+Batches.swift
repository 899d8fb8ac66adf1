import AdobeIngestionClient
import ExporterMetrics
import Foundation
import IngestionModel
import IngestionStore
import Logging
import Scheduling
import Synchronization

/// Following the batches of ended requests in Experience Platform's Catalog (a tenant
/// with an `aep` block): each poll cycle looks up the batches that are due, within the
/// tenant's limits, budget, 429 pause and breaker like every other call, and records each
/// answer in the store; a batch that ended is counted once, from what the store counted.
extension TenantWorker {
    /// The tenant's batch lookup schedule, when it follows batches.
    var batchSchedule: BatchLookupSchedule? {
        tenant.client.platform.map {
            BatchLookupSchedule(interval: $0.lookupInterval, maximum: $0.lookupIntervalMax, giveUpAfter: $0.giveUpAfter)
        }
    }

    /// Looks up the followed batches that are due (the soonest first, as many as the budget
    /// lets go); those past `give_up_after` end as `unknown` without a call. Shows how many
    /// each mapping has in progress.
    func followBatches() async {
        guard let schedule = batchSchedule else { return await endFollowUpsWithoutBlock() }
        liveness.stage("the followed batches from the store")
        guard let open = await read("the followed batches", { () throws(StoreError) in try await store.openBatches(tenant: tenant.name) })
        else { return }
        // Never early (unlike polls): every gap is at least the schedule's, so a batch costs
        // at most `BatchLookupSchedule.maxLookups` lookups.
        let now = time.now()
        let due = open.filter { ($0.nextLookupAt ?? now) <= now }
        var lookups: [BatchFollowUp] = []
        var ended = Set<Int64>()
        for batch in due {
            if Task.isCancelled || isFinishing { return }
            if schedule.givesUp(createdAt: batch.createdAt, at: now) {
                if await record(batch, .gaveUp, next: now) { ended.insert(batch.requestRowID) }
            } else {
                lookups.append(batch)
            }
        }
        // While the Catalog's pause or breaker holds, no lookup goes (they stay due): none waits in the cycle.
        if let hold = platformUpstream?.hold, hold.until > now { lookups = [] }
        if let budget, lookups.count > budget.pollsAvailable {
            for _ in lookups.dropFirst(budget.pollsAvailable) { metrics.budgetWaited(tenant: tenant.name, operation: "batch") }
            lookups = Array(lookups.prefix(budget.pollsAvailable))
        }
        liveness.stage("the Catalog lookups of \(lookups.count) of \(open.count) followed batches")
        await withTaskGroup(of: Int64?.self) { group in
            for batch in lookups { group.addTask { await self.lookUp(batch, schedule) ? batch.requestRowID : nil } }
            for await row in group { if let row { ended.insert(row) } }
        }
        let counts = Dictionary(grouping: open.filter { !ended.contains($0.requestRowID) }, by: \.key.mapping).mapValues(\.count)
        for mapping in tenant.mappings {
            metrics.batchesInProgress(key(mapping.id), count: counts[mapping.id] ?? 0, at: time.now())
        }
    }

    /// A tenant without an `aep` block (removed, or never there) ends the follow-ups it still
    /// has as `unknown`, once per run of its worker (a reload that removes the block restarts it),
    /// through its own store (fenced in cluster mode), so that none stays in progress.
    private func endFollowUpsWithoutBlock() async {
        // Read until the store answers once; then never again in this run.
        guard !followUpsWithoutBlockEnded.load(ordering: .relaxed),
              let open = await read("the followed batches", { () throws(StoreError) in try await store.openBatches(tenant: tenant.name) })
        else { return }
        followUpsWithoutBlockEnded.store(true, ordering: .relaxed)
        guard !open.isEmpty else { return }
        for batch in open { _ = await record(batch, .gaveUp, next: time.now()) }
        for mapping in tenant.mappings { metrics.batchesInProgress(key(mapping.id), count: 0, at: time.now()) }
        logger.warning("batches no longer followed in Experience Platform ended as unknown: the tenant has no aep block",
                       metadata: ["tenant": "\(tenant.name)", "batches": "\(open.count)"])
    }

    /// One Catalog lookup of `batch`, and its record; true when the batch ended with it.
    private func lookUp(_ batch: BatchFollowUp, _ schedule: BatchLookupSchedule) async -> Bool {
        let outcome: BatchLookup.Outcome
        do throws(AdobeAPIError) {
            outcome = .answered(try await client.catalogBatch(batch.batchID))
            platformHealth.answered()
        } catch {
            switch error {
            case .cancelled, .circuitOpen: return false  // nothing was sent (one attempt): not a lookup, the batch stays due
            default: break
            }
            platformHealth.failed(error, batch: batch)
            outcome = .failed(reason: PlatformHealth.reason(error, sandbox: tenant.client.platform?.sandbox ?? ""))
        }
        return await record(batch, outcome, next: schedule.next(afterLookups: batch.lookups + 1, at: time.now()))
    }

    /// Stores what a lookup came to; true when the batch ended (and was counted) with it.
    private func record(_ batch: BatchFollowUp, _ outcome: BatchLookup.Outcome, next: Date) async -> Bool {
        let now = time.now()
        let labels: Logger.Metadata = ["tenant": "\(batch.key.tenant)", "mapping": "\(batch.key.mapping)",
                                       "request_id": "\(batch.requestID)", "batch_id": "\(batch.batchID)"]
        let result: BatchLookupResult
        do {
            result = try await store.recordBatchLookup(BatchLookup(requestRowID: batch.requestRowID, outcome: outcome, at: now, next: next))
        } catch {
            storeFailed("cannot store a batch lookup; the batch is looked up again", error, labels)
            return false
        }
        guard case .ended(let ended, let addition) = result else { return false }
        metrics.batchEnded(addition, requestID: ended.requestID, batchID: ended.batchID, at: now)
        let level: Logger.Level = ended.status == BatchFollowUp.unknown ? .warning : .info
        logger.log(level: level, "batch followed in Experience Platform ended", metadata: labels.merging([
            "aep_status": "\(ended.status)", "lookups": "\(ended.lookups)",
            "input_records": "\(addition.records[0])", "ingested_records": "\(addition.records[1])",
            "failed_records": "\(addition.records[2])", "error_codes": "\(addition.codes.joined(separator: ","))",
        ]) { $1 })
        return true
    }
}

/// Whether one tenant's Catalog lookups work, said once: a line when they start failing
/// (with what to check), a line when they are answered again. Each failed lookup is
/// logged at debug level and counted in `acs_ingestion_api_requests_total{operation="batch"}`;
/// Campaign's `acs_ingestion_up` is not touched (the Catalog is another API).
final class PlatformHealth: Sendable {
    private let tenant: String
    private let logger: Logger
    /// Since when the lookups fail, and how many did.
    private let failing = Mutex<(since: Date, failures: Int)?>(nil)
    private let time: any TimeSource

    init(tenant: String, logger: Logger, time: any TimeSource) {
        (self.tenant, self.logger, self.time) = (tenant, logger, time)
    }

    func answered() {
        guard let failed = failing.withLock({ state in defer { state = nil }; return state }) else { return }
        logger.info("Experience Platform answers batch lookups again", metadata: [
            "tenant": "\(tenant)", "failing_for_seconds": "\(Int(time.now().timeIntervalSince(failed.since)))",
            "failed_lookups": "\(failed.failures)",
        ])
    }

    func failed(_ error: AdobeAPIError, batch: BatchFollowUp) {
        logger.debug("batch lookup failed", metadata: ["tenant": "\(tenant)", "batch_id": "\(batch.batchID)", "error": "\(error)"])
        let first = failing.withLock { state -> Bool in
            guard state == nil else { state!.failures += 1; return false }
            state = (time.now(), 1)
            return true
        }
        guard first else { return }
        logger.warning("Experience Platform batch lookups fail; batches are looked up again with back-off until aep.give_up_after",
                       metadata: ["tenant": "\(tenant)", "error": "\(Self.reason(error, sandbox: nil))", "check": "\(Self.hint(error))"])
    }

    /// What a failed lookup is stored and shown as.
    static func reason(_ error: AdobeAPIError, sandbox: String?) -> String {
        switch error {
        case .notFound(let message):
            return "HTTP 404: the Catalog does not know this batch" + (sandbox.map { " in sandbox \($0)" } ?? "")
                + (message.map { " (\($0))" } ?? "")
        case .unauthorized(let code, let message), .forbidden(let code, let message):
            return "HTTP \(error.kind)" + (code.map { " code \($0)" } ?? "") + (message.map { ": \($0)" } ?? "")
        default:
            return error.description
        }
    }

    /// What to check for a failure that will not go away by itself.
    static func hint(_ error: AdobeAPIError) -> String {
        switch error {
        case .unauthorized, .forbidden:
            return "tenants[].aep.org_id and aep.sandbox, that the credential's project has the Experience Platform API, "
                + "and that tenants[].scopes holds its scopes"
        case .notFound:
            return "tenants[].aep.sandbox: the batch lives in the sandbox Campaign ingests into"
        default:
            return "nothing: a transient failure is retried with back-off"
        }
    }
}
