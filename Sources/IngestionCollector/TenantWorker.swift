import AdobeIngestionClient
import AsyncHTTPClient
import ExporterConfiguration
import ExporterMetrics
import Foundation
import IngestionModel
import IngestionStore
import Logging
import Scheduling
import Synchronization

/// Everything one tenant's collection needs, and its loop: each poll interval, the
/// intents left by a crash (once), the mappings whose trigger is due, then one GET
/// per open request. Records what it sees first in the store, then, once
/// committed, in the metrics. Made and stopped by the `Collector`.
final class TenantWorker: Sendable {
    let tenant: ExporterConfig.Tenant
    let client: AdobeIngestionClient
    let upstream: UpstreamGuard
    let health: TenantHealth
    /// Whether the tenant's Catalog lookups work (a tenant that follows batches).
    let platformHealth: PlatformHealth
    /// The Catalog's own 429 pause and breaker (a tenant that follows batches).
    let platformUpstream: UpstreamGuard?
    /// Set once the follow-ups left by an `aep` block since removed are ended (a tenant without one).
    let followUpsWithoutBlockEnded = Atomic<Bool>(false)
    /// Whether the worker still makes progress (judged by the collector's `Watchdog`).
    let liveness: WorkerLiveness
    let store: any IngestionStore
    let metrics: IngestionMetrics
    let time: any TimeSource
    let logger: Logger
    let settings: LiveConfiguration
    let planners: [String: TriggerPlanner]
    let plans = Mutex<[String: TriggerPlan]>([:])
    /// Set at start-up; cleared once the intents a crash left are resolved.
    let intentsToResolve = Atomic<Bool>(true)
    /// Intents of POSTs in flight: not left over, whatever the store says.
    let sending = Mutex<Set<Int64>>([])
    /// The first intent this worker recorded: those from then on are its own (in flight,
    /// stored or kept), never left over by a crash or a previous owner.
    let firstOwnIntent = Mutex<Int64?>(nil)
    /// Trigger answers Adobe gave while the store could not write: recorded, as they
    /// are, once it writes again (asking Adobe again would lose a request that ended meanwhile).
    let unrecorded = Mutex<[TriggerAttempt]>([])
    /// `run` returns once this is true.
    private let stopped = Latch()
    /// `run` returns once this is true and the cycle in progress (if any) has ended; no
    /// call starts meanwhile (the gate refuses it), those in flight are answered.
    private let finishing: Latch
    /// True once `run` has returned (or when it never started).
    private let ended = Latch()
    private let running = Atomic<Bool>(false)
    /// Cluster mode: the tenant's lease; no POST is sent once it lapsed.
    let lease: LeaseHandle?
    /// The tenant's `max_calls_per_hour`, if it has one.
    let budget: TenantCallBudget?
    /// Each mapping's recent durations (loaded at the first cycle), for the poll schedule's window.
    private let histories = Mutex<[String: DurationHistory]?>(nil)
    /// Status calls made for each open request by this worker (by row id).
    private let statusCalls = Mutex<[Int64: Int]>([:])
    /// Requests whose end was written without an answer from the store (a timeout, a lost
    /// connection): the commit may have landed all the same. The metrics count an end once
    /// its write is known to have landed, so these are settled against the store: in the
    /// next cycle, or by the next write's `.alreadyFinished` (by row id).
    private let endsInDoubt = Mutex<[Int64: TrackedRequest]>([:])

    init(tenant: ExporterConfig.Tenant, settings: LiveConfiguration, store: any IngestionStore, metrics: IngestionMetrics,
         concurrency: ConcurrencyLimit, time: any TimeSource, logger: Logger, httpClient: HTTPClient, lease: LeaseHandle? = nil) {
        let collector = settings.value.collector
        var client = tenant.client
        client.timeout = collector.requestTimeout
        let name = tenant.name
        let health = TenantHealth(tenant: name, metrics: metrics, logger: logger, time: time)
        let liveness = WorkerLiveness(time: time)
        let upstream = UpstreamGuard(time: time) { [metrics] hold in
            if let hold { liveness.quiet(until: hold.until) }
            metrics.upstreamHeld(tenant: name, until: hold?.until)
            health.held(hold)
        }
        // The Catalog's own pause and breaker: said in the log by `PlatformHealth`, not in Campaign's gauges.
        let platformUpstream = tenant.client.platform.map { _ in
            UpstreamGuard(time: time) { hold in if let hold { liveness.quiet(until: hold.until) } }
        }
        let finishing = Latch()
        let budget = TenantCallBudget(callsPerHour: tenant.maxCallsPerHour, time: time) { [metrics] available in
            metrics.budget(tenant: name, callsPerHour: tenant.maxCallsPerHour, available: available)
        }
        let gate = TenantGate(concurrency: concurrency,
                              rate: RateLimiter(ratePerSecond: collector.maxRequestsPerSecond, time: time),
                              upstream: upstream, platformUpstream: platformUpstream, budget: budget,
                              budgetWaited: { [metrics] operation in metrics.budgetWaited(tenant: name, operation: operation.rawValue) },
                              liveness: liveness,
                              attemptTimeout: collector.requestTimeout,
                              mayAttempt: { !finishing.isOpen },
                              maySendTrigger: { lease?.isValid ?? true })
        self.finishing = finishing
        self.client = AdobeIngestionClient(
            configuration: client, httpClient: httpClient, time: time, logger: logger, gate: gate,
            observe: { [metrics] record in
                metrics.apiCall(tenant: record.tenant, operation: record.operation.rawValue, code: record.code,
                                seconds: record.duration.seconds)
            },
            tokenObtained: { [metrics] expiresAt in metrics.tokenObtained(tenant: name, expiresAt: expiresAt) })
        var planners: [String: TriggerPlanner] = [:]
        for mapping in tenant.mappings {
            guard let schedule = mapping.schedule else { continue }
            let key = "\(name)/\(mapping.id)"
            let jitter = TriggerPlanner.jitter(for: key, schedule: schedule, maximum: collector.triggerJitter)
            planners[mapping.id] = TriggerPlanner(schedule: schedule, jitter: jitter)
        }
        (self.tenant, self.upstream, self.health, self.liveness) = (tenant, upstream, health, liveness)
        platformHealth = PlatformHealth(tenant: name, logger: logger, time: time)
        self.platformUpstream = platformUpstream
        (self.store, self.metrics) = (store, metrics)
        (self.time, self.logger, self.settings, self.planners, self.lease) = (time, logger, settings, planners, lease)
        self.budget = budget
    }

    func key(_ mapping: String) -> MappingKey { MappingKey(tenant: tenant.name, mapping: mapping) }

    /// Plans from the store (or, for a mapping without one, from its last trigger):
    /// a slot missed while the exporter was down runs once now.
    func loadPlans(stored: [MappingKey: TriggerPlan], lastTriggers: [MappingKey: Date]) {
        let now = time.now()
        let loaded = planners.reduce(into: [String: TriggerPlan]()) { plans, entry in
            let (mapping, planner) = entry
            plans[mapping] = stored[key(mapping)].map { planner.resumed($0, now: now) }
                ?? planner.initialPlan(lastAttempt: lastTriggers[key(mapping)], now: now)
        }
        plans.withLock { $0 = loaded }
        for (mapping, plan) in loaded { metrics.triggerPlanned(key(mapping), plan: plan) }
    }

    /// Cycles every poll interval until `stop()` or cancellation.
    func run() async {
        running.store(true, ordering: .relaxed)
        defer { ended.open() }
        guard !stopped.isOpen else { return }
        liveness.progressed()  // the deadline counts from here, not from when the worker was made
        await WorkerLiveness.$ofCurrentCycle.withValue(liveness) { await cycles() }
    }

    /// The cycles of `run()`, until `stop()`, `finish()` or cancellation.
    private func cycles() async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                while !Task.isCancelled && !self.finishing.isOpen {
                    await self.cycle()
                    self.liveness.progressed()
                    self.liveness.stage("the poll interval")
                    // The poll interval, cut short by `finish()`.
                    await withTaskGroup(of: Void.self) { pause in
                        pause.addTask { try? await self.time.sleep(for: self.settings.value.collector.pollInterval) }
                        pause.addTask { try? await self.finishing.wait() }
                        await pause.next()
                        pause.cancelAll()
                    }
                }
                // Handed over: answers kept while the store could not write are stored now,
                // under the lease still held, rather than asked again by the next owner.
                if !Task.isCancelled { _ = await self.recordKeptAnswers() }
            }
            group.addTask { try? await self.stopped.wait() }
            await group.next()
            group.cancelAll()
        }
    }

    /// Returns once `run()` has returned (at once when it never started).
    func finished() async {
        guard running.load(ordering: .relaxed) else { return }
        try? await ended.wait()
    }

    /// Ends `run()` once the cycle in progress has ended (at once between cycles): no call
    /// starts from now on, and a POST in flight is answered and its answer recorded, so the
    /// next owner has nothing to resolve.
    func finish() {
        finishing.open()
    }

    /// Whether `finish()` was called: no new trigger starts.
    var isFinishing: Bool { finishing.isOpen }

    /// `finished()`, waiting at most `limit`; false when `run()` was still running then.
    func finished(within limit: Duration) async -> Bool {
        await withTaskGroup(of: Bool.self) { group in
            group.addTask { await self.finished(); return !Task.isCancelled }
            group.addTask { try? await Task.sleep(for: limit); return false }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
    }

    /// Ends `run()`: its calls are cancelled.
    func stop() {
        stopped.open()
    }

    /// One poll cycle: left-over intents (the first time), due triggers, then one GET per open request.
    func cycle() async {
        if intentsToResolve.load(ordering: .relaxed) {
            liveness.stage("the trigger intents a crash left")
            await resolveIntents()
        }
        for mapping in dueMappings() {
            if Task.isCancelled { return }
            liveness.stage("the scheduled trigger of mapping \(mapping)")
            await triggerOnSchedule(mapping)
        }
        liveness.stage("the open requests from the store")
        guard let open = await read("open requests", { () throws(StoreError) in try await store.openRequests(tenant: tenant.name) })
        else { return }
        // Cluster mode: requests tracked or untracked through another replica's API.
        if lease != nil { metrics.openRequests(tenant.mappings.map { key($0.id) }, open, now: time.now()) }
        await settleEndsInDoubt(open)
        if open.isEmpty && !isFinishing {
            liveness.stage("an access token")
            do { try await client.authenticate(); health.authenticated() } catch { health.failed(error, ingestionCall: false) }
        }
        let due = await duePolls(open)
        liveness.stage("the status of \(due.count) of \(open.count) open requests")
        await withTaskGroup(of: Void.self) { group in
            for request in due { group.addTask { await self.poll(request) } }
        }
        if Task.isCancelled { return }
        await followBatches()
        if Task.isCancelled { return }
        metrics.pollCompleted(tenant: tenant.name, at: time.now())
    }

    /// The open requests to poll in this cycle: those whose next poll (`PollSchedule`:
    /// the first as soon as the request is known, then gaps that grow with age from
    /// `poll_interval` up to `poll_interval_max`, `poll_interval` again around the
    /// mapping's usual end) comes before the middle of the next cycle; with a budget, as
    /// many as it lets go now, the longest unpolled first (the others wait for a later
    /// cycle, in the same order). Shows when each mapping's oldest open request is polled
    /// next, and the budget's level.
    private func duePolls(_ open: [TrackedRequest]) async -> [TrackedRequest] {
        let collector = settings.value.collector
        // Requests no longer open here (ended elsewhere, untracked, handed over) leave the count.
        let openRows = Set(open.map(\.rowID))
        statusCalls.withLock { counts in counts = counts.filter { openRows.contains($0.key) } }
        metrics.budget(tenant: tenant.name, callsPerHour: budget?.callsPerHour, available: budget?.available ?? 0)
        let schedule = PollSchedule(interval: collector.pollInterval, maximum: collector.pollIntervalMax)
        let windows = await expectedEnds(schedule)
        let now = time.now()
        func next(_ request: TrackedRequest) -> Date {
            schedule.nextPoll(startedAt: request.firstSeen, lastPolledAt: request.lastPolled, expecting: windows[request.key.mapping])
        }
        let horizon = now.adding(collector.pollInterval / 2)
        var due = CallBudget.inFairPollOrder(open.filter { next($0) <= horizon }, startedAt: \.firstSeen, lastPolledAt: \.lastPolled)
        if let budget, due.count > budget.pollsAvailable {
            for _ in due.dropFirst(budget.pollsAvailable) { metrics.budgetWaited(tenant: tenant.name, operation: "status") }
            due = Array(due.prefix(budget.pollsAvailable))
        }
        let polledNow = Set(due.map(\.rowID))
        let oldest = Dictionary(grouping: open, by: \.key.mapping).compactMapValues { $0.min { $0.firstSeen < $1.firstSeen } }
        for mapping in tenant.mappings {
            let next = oldest[mapping.id].map { request in
                polledNow.contains(request.rowID)
                    ? schedule.nextPoll(startedAt: request.firstSeen, lastPolledAt: now, expecting: windows[mapping.id])
                    : next(request)
            }
            metrics.nextPoll(key(mapping.id), at: next)
        }
        return due
    }

    /// Each mapping's window of usual ends, from its recent ended requests (read from the store at the first cycle).
    private func expectedEnds(_ schedule: PollSchedule) async -> [String: ExpectedEnd] {
        if histories.withLock({ $0 }) == nil {
            var loaded: [String: DurationHistory] = [:]
            for mapping in tenant.mappings {
                var query = HistoryQuery()
                (query.tenant, query.mapping, query.limit) = (tenant.name, mapping.id, DurationHistory.sampleLimit * 2)
                guard let recent = try? await store.history(query) else { return [:] }  // the store answers later
                loaded[mapping.id] = DurationHistory(endedRequests: recent)
            }
            histories.withLock { $0 = $0 ?? loaded }
        }
        return histories.withLock { $0 ?? [:] }.compactMapValues { schedule.expectedEnd(from: $0) }
    }

    /// GETs one request's status and records it; gives up on it after too long a 404
    /// or too long In Progress.
    private func poll(_ request: TrackedRequest) async {
        let key = request.key
        let labels: Logger.Metadata = ["tenant": "\(key.tenant)", "mapping": "\(key.mapping)", "request_id": "\(request.requestID)"]
        let limits = settings.value.collector
        if time.now().timeIntervalSince(request.firstSeen) >= limits.maxInProgress.seconds {
            await abandon(request, because: "In Progress longer than collector.max_in_progress (\(DurationText.format(limits.maxInProgress)))")
            return
        }
        let report: StatusReport
        statusCalls.withLock { $0[request.rowID, default: 0] += 1 }
        do throws(AdobeAPIError) {
            report = try await client.status(mapping: key.mapping, requestID: request.requestID)
        } catch {
            if case .cancelled = error {
                statusCalls.withLock { $0[request.rowID, default: 1] -= 1 }  // nothing was sent, or its answer is unknown
                return
            }
            health.failed(error, context: labels)
            if case .notFound = error { await notFound(request, labels: labels) }
            return
        }
        health.reached()
        if let raw = report.status.rawUnknown {
            logger.warning("unknown ingestion status", metadata: labels.merging(["status": "\(raw)"]) { $1 })
        }
        do {
            let result = try await store.recordObservation(request.rowID, report: report, at: time.now(),
                                                           followBatch: tenant.client.platform != nil)
            settled(result, of: request)
        } catch {
            if report.status.isTerminal { endsInDoubt.withLock { $0[request.rowID] = request } }
            storeFailed("cannot store an observation; the request is polled again", error, labels)
        }
    }

    /// What a write that can end `request` answered: an end it made is counted, and so is one an
    /// earlier write made whose answer was lost (in doubt until now).
    private func settled(_ result: ObservationResult, of request: TrackedRequest) {
        let doubted = endsInDoubt.withLock { $0.removeValue(forKey: request.rowID) } != nil
        switch result {
        case .finished(let finished): ended(finished)
        case .alreadyFinished(let finished) where doubted && finished.finishedAt != nil: ended(finished)   // not untracked
        default: break
        }
    }

    /// The ends in doubt that the store no longer has open: their write landed, so they are
    /// counted now, once (an untracked or pruned one is dropped). Those still open are polled
    /// again, and settled by that poll's write.
    private func settleEndsInDoubt(_ open: [TrackedRequest]) async {
        let openRows = Set(open.map(\.rowID))
        for request in endsInDoubt.withLock({ Array($0.values) }) where !openRows.contains(request.rowID) {
            let stored = await read("a request whose end was written without an answer") { () throws(StoreError) in
                try await store.request(request.key, request.requestID)
            }
            guard let stored else { return }   // the store cannot be read: the next cycle tries again
            guard endsInDoubt.withLock({ $0.removeValue(forKey: request.rowID) }) != nil else { continue }
            if let finished = stored, finished.rowID == request.rowID, finished.finishedAt != nil { ended(finished) }
        }
    }

    /// Adobe answered 404: the first time is noted (and logged); past `give_up_after`, it is abandoned.
    private func notFound(_ request: TrackedRequest, labels: Logger.Metadata) async {
        let limit = settings.value.collector.giveUpAfter
        do {
            let row = try await store.recordNotFound(request.rowID, at: time.now())
            guard let since = row.notFoundSince else { return }
            if request.notFoundSince == nil {
                logger.warning("Adobe does not know this request (404); it is given up on if that lasts",
                               metadata: labels.merging(["give_up_after": "\(DurationText.format(limit))"]) { $1 })
            }
            if time.now().timeIntervalSince(since) >= limit.seconds {
                await abandon(row, because: "Adobe answered 404 for longer than collector.give_up_after (\(DurationText.format(limit)))")
            }
        } catch {
            storeFailed("cannot store a 404", error, labels)
        }
    }

    private func abandon(_ request: TrackedRequest, because reason: String) async {
        do {
            settled(try await store.abandon(request.rowID, reason: reason, at: time.now()), of: request)
        } catch {
            endsInDoubt.withLock { $0[request.rowID] = request }
            storeFailed("cannot store an abandoned request", error, ["tenant": "\(request.key.tenant)"])
        }
    }

    /// What the cycle reads of the store (`what`), or nil when the read failed (said by `storeFailed`).
    func read<T: Sendable>(_ what: String, _ body: () async throws(StoreError) -> T) async -> T? {
        do throws(StoreError) {
            return try await body()
        } catch {
            storeFailed("cannot read \(what)", error, ["tenant": "\(tenant.name)"])
            return nil
        }
    }

    /// A store call failed. An outage is the store monitor's to say (when it starts,
    /// while it lasts, when it ends), not once per call; anything else is said here.
    func storeFailed(_ message: String, _ error: StoreError, _ labels: Logger.Metadata) {
        logger.log(level: error.isOutage ? .debug : .error, "\(message)", metadata: labels.merging(["error": "\(error)"]) { $1 })
    }

    /// A request ended (and is stored so): count it, once.
    func ended(_ finished: TrackedRequest) {
        if let calls = statusCalls.withLock({ $0.removeValue(forKey: finished.rowID) }) {
            metrics.statusCallsSpent(finished.key, calls: calls)
        }
        if let duration = finished.duration, finished.status != .abandoned {
            histories.withLock { histories in histories?[finished.key.mapping]?.record(.seconds(duration)) }
        }
        metrics.requestFinished(finished.key, status: finished.status, acpCode: finished.acpCode, records: finished.numRecords,
                                duration: finished.duration ?? 0, requestID: finished.requestID,
                                finishedAt: finished.finishedAt ?? time.now(), batchID: finished.batchID)
        let level: Logger.Level = finished.status == .abandoned ? .warning : .info
        logger.log(level: level, "ingestion request ended", metadata: [
            "tenant": "\(finished.key.tenant)", "mapping": "\(finished.key.mapping)", "request_id": "\(finished.requestID)",
            "status": "\(finished.status.name)", "records": "\(finished.numRecords)",
            "acp_code": "\(finished.acpCode.labelValue)",
        ].merging(finished.status == .abandoned ? ["reason": "\(finished.info ?? "")"] : [:]) { $1 })
    }
}
