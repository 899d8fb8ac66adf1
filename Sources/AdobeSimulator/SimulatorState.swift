import Foundation
import IngestionModel

/// One request the simulator created, and how it will end.
public struct SimulatedRequest: Sendable, Equatable {
    public let tenant: String
    public let mapping: String
    public let requestID: Int
    public let outcome: Scenario.Outcome
    /// numRecords once it succeeds (0 otherwise).
    public let records: Int
    public let batchID: String
    public let submittedAt: Date
    public let finishesAt: Date

    public func status(at now: Date) -> IngestionStatus {
        guard now >= finishesAt else { return .inProgress }
        switch outcome {
        case .success: return .success
        case .failedToFetch, .failedToUpload: return .failed
        case .aborted: return .aborted
        }
    }

    /// The GET body for this request at `now`, as the seed shows it.
    func statusBody(at now: Date) -> String {
        let id = String(requestID)
        guard now >= finishesAt else { return SeedBodies.inProgress(mapping: mapping, requestID: id) }
        switch outcome {
        case .success: return SeedBodies.success(mapping: mapping, records: records, requestID: id)
        case .failedToFetch: return SeedBodies.failedToFetch(mapping: mapping, requestID: id)
        case .failedToUpload: return SeedBodies.failedToUpload(mapping: mapping, batchID: batchID, requestID: id)
        case .aborted: return SeedBodies.aborted(mapping: mapping, requestID: id)
        }
    }
}

/// A POST as it reached the simulator: when, and from which client (its token's client id).
public struct SimulatedPost: Sendable, Equatable {
    public let at: Date
    public let clientID: String
}

/// A fault a test asks for on the next matching call, ahead of the scenario's rates.
public enum InjectedFault: Sendable, Equatable {
    /// 429 with this Retry-After header value (seconds or an HTTP-date), or none.
    case throttled(retryAfter: String?)
    /// 401 with the gateway's `401013` body, whatever the token.
    case unauthorized
    /// 403 with the gateway's `403023` body.
    case forbidden
    case serverError
    case unavailable
    /// 503 with this Retry-After header value.
    case unavailableFor(retryAfter: String)
    /// Answers normally, after this delay (real time).
    case slow(Duration)
    case truncated
    case notJSON
    /// A body made of this many bytes of JSON padding (to test size limits).
    case oversized(bytes: Int)
    /// A status body with these exact bytes (to test lenient decoding).
    case rawBody(String)
}

extension InjectedFault {
    /// Whether the call has its effect but its answer is cut short or delayed (a client
    /// may time out): the faults `finish` applies after the answer is made.
    var losesAnswer: Bool {
        switch self {
        case .truncated, .slow: return true
        default: return false
        }
    }
}

/// Which calls an injected fault applies to.
public enum SimulatedOperation: String, Sendable {
    case token, trigger, status, any
    /// A Catalog batch lookup.
    case batch
}

/// All mutable simulator state, kept behind one lock.
struct SimulatorState {
    struct MappingState {
        var config: Scenario.Mapping
        var nextOutcomes: [Scenario.Outcome] = []
        var nextBatchIDs: [String] = []
        var nextBatchFates: [CatalogFate] = []
        var requestIDs: [Int] = []
    }
    struct TenantState {
        var nextRequestID: Int
        var mappings: [String: MappingState]
    }
    struct IssuedToken {
        let clientID: String
        let expiresAt: Date
    }

    var scenario: Scenario
    var random: SeededRandom
    var tenants: [String: TenantState]
    var requests: [String: [Int: SimulatedRequest]] = [:]
    var tokens: [String: IssuedToken] = [:]
    var everIssued: [String] = []
    var injected: [(SimulatedOperation, InjectedFault)] = []
    /// Status GETs answered 200, by tenant and request id.
    var statusCalls: [String: [Int: Int]] = [:]
    var callCounts: [SimulatedOperation: Int] = [:]
    /// When each ingestion call (trigger or status) of each tenant arrived.
    var tenantCalls: [String: [Date]] = [:]
    /// Each POST of a mapping (`tenant/mapping`), whatever it was answered.
    var posts: [String: [SimulatedPost]] = [:]
    /// Requests started by a POST whose answer was cut short or delayed (tenant, request id).
    var startedUnanswered: [(tenant: String, requestID: Int)] = []
    /// Tenants answering 429 to every ingestion call until a time, with this Retry-After.
    var throttles: [String: (until: Date, retryAfter: Duration)] = [:]
    /// When the simulator started (scenario throttles are relative to it).
    var started: Date
    /// The Catalog's batches, by id.
    var batches: [String: SimulatedBatch] = [:]
    var rowErrorCalls = 0
    /// Catalog lookups answered 200, by batch id.
    var batchLookups: [String: Int] = [:]
    /// The headers of each Catalog lookup that reached the simulator, oldest first.
    var batchLookupHeaders: [[String: String]] = []

    init(scenario: Scenario, now: Date) {
        self.scenario = scenario
        started = now
        random = SeededRandom(seed: scenario.seed)
        tenants = Dictionary(uniqueKeysWithValues: scenario.tenants.map { tenant in
            (tenant.name, TenantState(
                nextRequestID: tenant.firstRequestID,
                mappings: Dictionary(uniqueKeysWithValues: tenant.mappings.map { ($0.id, MappingState(config: $0)) })))
        })
    }

    mutating func issueToken(clientID: String, now: Date) -> (String, Int) {
        let value = "sim-" + String(random.next(), radix: 16) + String(random.next(), radix: 16)
        tokens[value] = IssuedToken(clientID: clientID, expiresAt: now.adding(scenario.tokenLifetime))
        everIssued.append(value)
        return (value, Int(scenario.tokenLifetime.seconds))
    }

    /// A 429's Retry-After when `tenant` is throttled at `now` (by the scenario or a test).
    func throttleRetryAfter(tenant: String, now: Date) -> Duration? {
        if let window = throttles[tenant], now < window.until { return window.retryAfter }
        guard let throttle = scenario.tenants.first(where: { $0.name == tenant })?.throttle else { return nil }
        let from = started.adding(throttle.after)
        return from <= now && now < from.adding(throttle.lasting) ? throttle.retryAfter : nil
    }

    /// The fault for this call: an injected one first, else one drawn from the rates.
    mutating func drawFault(for operation: SimulatedOperation) -> InjectedFault? {
        if let index = injected.firstIndex(where: { $0.0 == operation || $0.0 == .any }) {
            return injected.remove(at: index).1
        }
        guard operation != .token else { return nil }
        let faults = scenario.faults
        let draw = random.unit()
        var threshold = 0.0
        for (rate, fault) in [(faults.throttle, InjectedFault.throttled(retryAfter: String(Int(faults.retryAfter.seconds)))),
                              (faults.serverError, .serverError), (faults.unavailable, .unavailable),
                              (faults.slow, .slow(faults.slowDelay)), (faults.truncated, .truncated),
                              (faults.notJSON, .notJSON)] {
            threshold += rate
            if rate > 0 && draw < threshold { return fault }
        }
        return nil
    }

    /// The running request of a mapping, if any.
    func running(tenant: String, mapping: String, now: Date) -> SimulatedRequest? {
        guard let ids = tenants[tenant]?.mappings[mapping]?.requestIDs, let last = ids.last,
              let request = requests[tenant]?[last], now < request.finishesAt else { return nil }
        return request
    }

    mutating func submit(tenant: String, mapping: String, now: Date) -> SimulatedRequest {
        var tenantState = tenants[tenant]!
        var mappingState = tenantState.mappings[mapping]!
        let config = mappingState.config
        let outcome = mappingState.nextOutcomes.isEmpty ? drawOutcome(config.outcomes) : mappingState.nextOutcomes.removeFirst()
        let low = config.duration.lowerBound.seconds, high = config.duration.upperBound.seconds
        let duration = low + (high - low) * random.unit()
        let records = outcome == .success
            ? config.records.lowerBound + Int(random.next() % UInt64(config.records.count)) : 0
        let id = tenantState.nextRequestID
        tenantState.nextRequestID += 1
        var batch = ""
        if outcome == .failedToUpload {
            batch = mappingState.nextBatchIDs.isEmpty
                ? "01SIMBATCH" + String(format: "%08X", UInt32(truncatingIfNeeded: random.next()))
                : mappingState.nextBatchIDs.removeFirst()
        }
        let request = SimulatedRequest(tenant: tenant, mapping: mapping, requestID: id, outcome: outcome,
                                       records: records, batchID: batch, submittedAt: now,
                                       finishesAt: now.addingTimeInterval(duration))
        if outcome == .failedToUpload {
            let fate = mappingState.nextBatchFates.isEmpty ? drawWeighted(config.batchFates) ?? .failed
                : mappingState.nextBatchFates.removeFirst()
            let input = config.records.lowerBound + Int(random.next() % UInt64(config.records.count))
            let low = config.batchProcessing.lowerBound.seconds, high = config.batchProcessing.upperBound.seconds
            let processing = low + (high - low) * random.unit()
            batches[batch] = SimulatedBatch(id: batch, tenant: tenant, mapping: mapping, requestID: id, fate: fate,
                                            input: max(1, input), created: now.addingTimeInterval(duration / 2),
                                            completesAt: now.addingTimeInterval(duration + processing))
        }
        mappingState.requestIDs.append(id)
        tenantState.mappings[mapping] = mappingState
        tenants[tenant] = tenantState
        requests[tenant, default: [:]][id] = request
        return request
    }

    private mutating func drawOutcome(_ weights: [Scenario.Outcome: Double]) -> Scenario.Outcome {
        drawWeighted(weights) ?? .success
    }

    /// One case drawn by weight, in declaration order; nil when no weight is positive.
    private mutating func drawWeighted<Case: CaseIterable & Hashable>(_ weights: [Case: Double]) -> Case? {
        let ordered = Case.allCases.compactMap { value in weights[value].map { (value, $0) } }
        let total = ordered.reduce(0) { $0 + $1.1 }
        guard total > 0 else { return nil }
        var draw = random.unit() * total
        for (value, weight) in ordered {
            if draw < weight { return value }
            draw -= weight
        }
        return ordered.last!.0
    }
}
