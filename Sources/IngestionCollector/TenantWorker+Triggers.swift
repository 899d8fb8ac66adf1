import AdobeIngestionClient
import Foundation
import IngestionModel
import IngestionStore
import Logging
import Scheduling

/// Why a trigger did not come to an answer from Adobe.
public enum TriggerFailure: Error, Sendable, Equatable, CustomStringConvertible {
    /// Adobe could not be asked, or did not answer usably.
    case upstream(AdobeAPIError)
    /// Nothing was sent: the store could not record the intent, and a POST whose answer
    /// could not be written would be a side effect nobody follows.
    case storeUnavailable(StoreError)

    public var description: String {
        switch self {
        case .upstream(let error): return error.description
        case .storeUnavailable(let error): return "not sent, the store cannot record it: \(error)"
        }
    }
}

extension TenantWorker {
    /// Scheduled mappings whose plan is due now, in a stable order.
    func dueMappings() -> [String] {
        let now = time.now()
        return plans.withLock { plans in
            plans.filter { mapping, plan in planners[mapping]?.isDue(plan, now: now) ?? false }.keys.sorted()
        }
    }

    /// POSTs a due mapping and moves its plan on, by what the POST came to.
    func triggerOnSchedule(_ mapping: String) async {
        guard let planner = planners[mapping], let plan = plans.withLock({ $0[mapping] }) else { return }
        let result = await trigger(mapping) { outcome, now in
            planner.plan(after: plan, result: Self.attemptResult(outcome), now: now)
        }
        if case .failure(.storeUnavailable) = result {
            // Nothing was sent: try again at the next cycle's retry time, without counting an attempt.
            let retry = planner.plan(after: plan, result: .retryable, now: time.now())
            plans.withLock { $0[mapping] = retry }
            metrics.triggerPlanned(key(mapping), plan: retry)
        }
        if case .success(.notPublished) = result {
            logger.warning("mapping is not published in Campaign: no retry before its next scheduled time; it needs a person",
                           metadata: ["tenant": "\(tenant.name)", "mapping": "\(mapping)"])
        }
    }

    /// Sends the POST of `mapping` and records what it came to. The intent is stored
    /// first, so a crash between Adobe's answer and its record is found again; the
    /// answer, the trigger's count, the request to follow and `nextPlan` (for a
    /// scheduled trigger) are then written in one transaction.
    func trigger(_ mapping: String, resolving lost: TriggerIntent? = nil,
                 nextPlan: ((Result<TriggerOutcome, AdobeAPIError>, Date) -> TriggerPlan)? = nil) async
        -> Result<TriggerOutcome, TriggerFailure> {
        let key = key(mapping)
        let labels: Logger.Metadata = ["tenant": "\(key.tenant)", "mapping": "\(key.mapping)"]
        // Nothing recorded when nothing may be sent: a lease lapsed (the gate would refuse
        // the POST), or the worker stopping or finishing, would leave an intent for the next
        // owner to resolve.
        if Task.isCancelled || isFinishing || !(lease?.isValid ?? true) { return .failure(.upstream(.cancelled)) }
        let intentID: Int64
        do {
            intentID = try await store.recordTriggerIntent(key, at: time.now())
            sending.withLock { _ = $0.insert(intentID) }
            firstOwnIntent.withLock { first in first = min(first ?? intentID, intentID) }
        } catch {
            storeFailed("trigger not sent: the store cannot record it", error, labels)
            return .failure(.storeUnavailable(error))
        }
        defer { sending.withLock { _ = $0.remove(intentID) } }
        let answer: Result<TriggerOutcome, AdobeAPIError>
        do throws(AdobeAPIError) { answer = .success(try await client.trigger(mapping: mapping)) } catch { answer = .failure(error) }
        // Cancelled (shutting down): the intent stays and is resolved at the next start.
        if case .failure(.cancelled) = answer { return .failure(.upstream(.cancelled)) }
        let now = time.now()
        var attempt = TriggerAttempt(key: key, at: now, result: .error, plan: nextPlan?(answer, now), intents: [intentID])
        switch answer {
        case .success(let outcome):
            health.reached()
            attempt.result = outcome.result
            attempt.requestID = outcome.requestID
            attempt.origin = if case .submitted = outcome { .triggered } else { .adopted }
        case .failure(let error):
            health.failed(error, context: labels)
        }
        if let lost, Self.settles(answer) {
            // This answer settles the lost intent in the same transaction: "already in
            // progress" adopts what the lost POST most likely started; any other answer
            // means what it came to cannot be known.
            attempt.intents.append(lost.id)
            if attempt.result != .alreadyInProgress { attempt.lostTriggers = 1 }
        }
        logTrigger(attempt, answer: answer, labels: labels)
        do {
            try await record(attempt)
        } catch {
            // Adobe has answered but the store cannot keep it: the answer is kept here and
            // recorded at the next cycle the store writes (the intent stays meanwhile, so
            // a crash before then still finds it).
            if let plan = attempt.plan { plans.withLock { $0[mapping] = plan } }
            unrecorded.withLock { $0.append(attempt) }
            intentsToResolve.store(true, ordering: .relaxed)
            storeFailed("cannot store a trigger's answer; it is stored once the store writes", error, labels)
        }
        return answer.mapError { .upstream($0) }
    }

    /// Stores a trigger's answer (its count, the request to follow, the next plan) and shows it.
    private func record(_ attempt: TriggerAttempt) async throws(StoreError) {
        let tracked = try await store.recordTriggerAttempt(attempt)
        if case .inserted(let request)? = tracked {
            metrics.requestOpened(attempt.key, requestID: request.requestID, startedAt: request.firstSeen, now: time.now())
        }
        counted(attempt)
    }

    /// The metrics of a stored trigger answer: its result (and the lost POSTs it counts as
    /// unknown) and the mapping's plan. (`record` shows the request it opened in progress.)
    private func counted(_ attempt: TriggerAttempt) {
        let now = time.now()
        metrics.triggerCounted(attempt.key, result: attempt.result, now: now)
        if attempt.lostTriggers > 0 { metrics.triggerCounted(attempt.key, result: .unknown, now: now) }
        if let plan = attempt.plan {
            plans.withLock { $0[attempt.key.mapping] = plan }
            metrics.triggerPlanned(attempt.key, plan: plan)
        }
    }

    /// Stores the answers kept while the store could not write. One whose intents are no
    /// longer pending was stored after all (the commit landed, its reply was lost): counted,
    /// not stored again. False while the store still cannot write.
    func recordKeptAnswers() async -> Bool {
        let kept = unrecorded.withLock { $0 }
        guard !kept.isEmpty else { return true }
        do {
            let pending = Set(try await store.pendingTriggerIntents().map(\.id))
            for attempt in kept {
                // The plan decided since (a retry, the next slot) wins over the one kept with it.
                var current = attempt
                current.plan = plans.withLock { $0[attempt.key.mapping] } ?? attempt.plan
                if attempt.intents.contains(where: pending.contains) {
                    try await record(current)
                } else {
                    // Stored after all: the request it answered with is shown in progress as the store has it.
                    if let requestID = attempt.requestID, let request = try await store.request(attempt.key, requestID), request.isOpen {
                        metrics.requestOpened(attempt.key, requestID: requestID, startedAt: request.firstSeen, now: time.now())
                    }
                    counted(current)
                }
                unrecorded.withLock { $0.removeAll { $0 == attempt } }
            }
            logger.info("trigger answers kept while the store could not write are stored", metadata: ["tenant": "\(tenant.name)"])
            return true
        } catch {
            storeFailed("cannot store the trigger answers kept meanwhile", error, ["tenant": "\(tenant.name)"])
            return false
        }
    }

    private func logTrigger(_ attempt: TriggerAttempt, answer: Result<TriggerOutcome, AdobeAPIError>, labels: Logger.Metadata) {
        var metadata = labels.merging(["result": "\(attempt.result)"]) { $1 }
        if let id = attempt.requestID { metadata["request_id"] = "\(id)" }
        if let plan = attempt.plan { metadata["next_attempt"] = "\(Timestamp.rfc3339(plan.dueAt))" }
        switch answer {
        case .success(let outcome) where outcome.requestID != nil:
            logger.info("ingestion triggered", metadata: metadata)
        case .success:
            logger.warning("ingestion refused", metadata: metadata)
        case .failure(.circuitOpen):
            // Held by the breaker: its opening and its end are logged once each (`TenantHealth`), not each slot.
            logger.debug("ingestion trigger held", metadata: metadata)
        case .failure(let error):
            logger.warning("ingestion trigger failed", metadata: metadata.merging(["error": "\(error)"]) { $1 })
        }
    }

    /// Intents a crash left (a POST sent, its answer never stored): each is resolved
    /// by POSTing again (see `trigger(_:resolving:nextPlan:)`). A transient upstream
    /// failure leaves the intent for the next cycle.
    func resolveIntents() async {
        guard await recordKeptAnswers() else { return }
        let intents: [TriggerIntent]
        do {
            // Only those left before this worker's first intent: its own are in flight
            // (a trigger-now may run beside this), stored, or kept to be stored.
            let pending = try await store.pendingTriggerIntents()
            let ownFrom = firstOwnIntent.withLock { $0 }, inFlight = sending.withLock { $0 }
            intents = pending.filter { intent in
                intent.key.tenant == tenant.name && !inFlight.contains(intent.id) && ownFrom.map { intent.id < $0 } ?? true
            }
        } catch {
            storeFailed("cannot read pending trigger intents", error, ["tenant": "\(tenant.name)"])
            return
        }
        var unresolved = false
        for intent in intents {
            let labels: Logger.Metadata = ["tenant": "\(tenant.name)", "mapping": "\(intent.key.mapping)",
                                           "sent_at": "\(Timestamp.rfc3339(intent.at))"]
            logger.warning("a trigger's answer was never stored (the exporter stopped); asking Adobe again", metadata: labels)
            // For a scheduled mapping this POST also serves its schedule: no second POST follows.
            let mapping = intent.key.mapping
            let planned = planners[mapping].flatMap { planner in plans.withLock { $0[mapping] }.map { (planner, $0) } }
            let answer = await trigger(mapping, resolving: intent, nextPlan: planned.map { planner, plan in
                { outcome, now in planner.plan(after: plan, result: Self.attemptResult(outcome), now: now) }
            })
            switch answer {
            case .success(.alreadyInProgress(let id)):
                logger.info("lost trigger resolved: its running request is followed", metadata: labels.merging(["request_id": "\(id)"]) { $1 })
            case .failure(.upstream(let error)) where !Self.settles(.failure(error)):
                unresolved = true
            case .failure(.storeUnavailable):
                unresolved = true
            default:
                logger.warning("lost trigger counted as unknown: what it came to cannot be known", metadata: labels)
            }
        }
        if !unresolved && unrecorded.withLock({ $0.isEmpty }) { intentsToResolve.store(false, ordering: .relaxed) }
    }

    /// Whether an answer to a resolving POST is final: any answer, or a failure a retry would not change.
    static func settles(_ answer: Result<TriggerOutcome, AdobeAPIError>) -> Bool {
        switch answer {
        case .success: return true
        case .failure(.cancelled), .failure(.circuitOpen): return false
        case .failure(let error): return !error.isTransient
        }
    }

    /// How a POST's answer moves a schedule.
    static func attemptResult(_ answer: Result<TriggerOutcome, AdobeAPIError>) -> TriggerAttemptResult {
        switch answer {
        case .success(.submitted), .success(.alreadyInProgress): return .started
        case .success(.notPublished): return .needsPerson
        case .success(.notStopped), .failure: return .retryable
        }
    }
}
