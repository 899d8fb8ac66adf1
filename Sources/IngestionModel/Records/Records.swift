import Foundation

/// One ingestion request as the store keeps it.
public struct TrackedRequest: Sendable, Equatable {
    public var rowID: Int64
    public var key: MappingKey
    public var requestID: RequestID
    public var origin: RequestOrigin
    public var firstSeen: Date
    public var lastPolled: Date?
    public var status: IngestionStatus
    public var numRecords: Int
    public var batchID: String?
    public var info: String?
    public var acpCode: ACPCode?
    public var finishedAt: Date?
    /// Since when Adobe has answered 404 for it (reset by any other answer).
    public var notFoundSince: Date?
    /// When an operator stopped tracking it (a mistaken id): no longer polled nor counted.
    public var untrackedAt: Date?

    public init(rowID: Int64 = 0, key: MappingKey, requestID: RequestID, origin: RequestOrigin, firstSeen: Date,
                lastPolled: Date? = nil, status: IngestionStatus, numRecords: Int = 0, batchID: String? = nil,
                info: String? = nil, acpCode: ACPCode? = nil, finishedAt: Date? = nil, notFoundSince: Date? = nil,
                untrackedAt: Date? = nil) {
        (self.rowID, self.key, self.requestID, self.origin) = (rowID, key, requestID, origin)
        (self.firstSeen, self.lastPolled, self.status, self.numRecords) = (firstSeen, lastPolled, status, numRecords)
        (self.batchID, self.info, self.acpCode, self.finishedAt) = (batchID, info, acpCode, finishedAt)
        (self.notFoundSince, self.untrackedAt) = (notFoundSince, untrackedAt)
    }

    /// Polled until it ends or is untracked.
    public var isOpen: Bool { finishedAt == nil && untrackedAt == nil }

    /// Submission to the poll that saw the end (poll-interval resolution).
    public var duration: TimeInterval? { finishedAt.map { $0.timeIntervalSince(firstSeen) } }

    /// Takes in what a poll at `time` answered: its status and figures, polled then,
    /// found again (no longer 404), and finished then when the status is terminal.
    public mutating func record(_ report: StatusReport, polledAt time: Date) {
        lastPolled = time
        status = report.status
        numRecords = report.numRecords
        batchID = report.batchID
        info = report.info
        acpCode = report.acpCode
        notFoundSince = nil
        if report.status.isTerminal { finishedAt = time }
    }
}

extension TrackedRequest {
    /// Its identity and outcome as text and numbers, times apart (each writer has
    /// its own form of time): the one spelling the API's bodies and PostgreSQL's
    /// JSON rows share.
    public typealias TextFields = (tenant: String, mapping: String, requestID: String, origin: String, status: String,
                                   rawStatus: String?, numRecords: Int, batchID: String?, info: String?, acpCode: String?)

    public var textFields: TextFields {
        (key.tenant, key.mapping, requestID.rawValue, origin.rawValue, status.name, status.rawUnknown, numRecords, batchID, info,
         acpCode?.rawValue)
    }
}

/// One status observation of a request.
public struct Observation: Sendable, Equatable {
    public var observedAt: Date
    public var status: IngestionStatus
    public var numRecords: Int
    public var batchID: String?
    public var info: String?

    public init(observedAt: Date, status: IngestionStatus, numRecords: Int, batchID: String? = nil, info: String? = nil) {
        (self.observedAt, self.status, self.numRecords, self.batchID) = (observedAt, status, numRecords, batchID)
        self.info = info
    }
}

/// What tracking a request did.
public enum TrackResult: Sendable, Equatable {
    case inserted(TrackedRequest)
    case alreadyTracked(TrackedRequest)

    public var request: TrackedRequest {
        switch self {
        case .inserted(let request), .alreadyTracked(let request): return request
        }
    }
}

/// What recording a poll's answer did.
public enum ObservationResult: Sendable, Equatable {
    /// Still running; the row was updated.
    case stillRunning(TrackedRequest)
    /// The request ended with this observation: count it, once.
    case finished(TrackedRequest)
    /// It had already ended: nothing changed (so nothing is counted twice).
    case alreadyFinished(TrackedRequest)
}

/// One POST of this exporter, as the store records it: the trigger is counted, the
/// request it answered with is tracked, the mapping's next plan is saved and the
/// intent recorded before the POST is cleared — in one transaction.
public struct TriggerAttempt: Sendable, Equatable {
    public var key: MappingKey
    public var at: Date
    public var result: TriggerResult
    /// The request to follow (submitted, or adopted when already in progress).
    public var requestID: RequestID?
    public var origin: RequestOrigin
    /// The mapping's schedule after this attempt (nil for an unscheduled trigger).
    public var plan: TriggerPlan?
    /// Intents this answer settles: the one `recordTriggerIntent` returned before the
    /// POST, and a lost one this POST was sent to resolve.
    public var intents: [Int64]
    /// Lost POSTs (intents without an answer) to count as `unknown` with this one.
    public var lostTriggers: Int

    public init(key: MappingKey, at: Date, result: TriggerResult, requestID: RequestID? = nil,
                origin: RequestOrigin = .triggered, plan: TriggerPlan? = nil, intents: [Int64] = [], lostTriggers: Int = 0) {
        (self.key, self.at, self.result, self.requestID) = (key, at, result, requestID)
        (self.origin, self.plan, self.intents, self.lostTriggers) = (origin, plan, intents, lostTriggers)
    }
}

/// A POST about to be sent, recorded first, so that a crash between Adobe accepting
/// it and the exporter storing its answer is found again at start-up.
public struct TriggerIntent: Sendable, Equatable {
    public var id: Int64
    public var key: MappingKey
    public var at: Date

    public init(id: Int64, key: MappingKey, at: Date) { (self.id, self.key, self.at) = (id, key, at) }
}
