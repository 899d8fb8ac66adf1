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

    public init(rowID: Int64 = 0, key: MappingKey, requestID: RequestID, origin: RequestOrigin, firstSeen: Date,
                lastPolled: Date? = nil, status: IngestionStatus, numRecords: Int = 0, batchID: String? = nil,
                info: String? = nil, acpCode: ACPCode? = nil, finishedAt: Date? = nil) {
        (self.rowID, self.key, self.requestID, self.origin) = (rowID, key, requestID, origin)
        (self.firstSeen, self.lastPolled, self.status, self.numRecords) = (firstSeen, lastPolled, status, numRecords)
        (self.batchID, self.info, self.acpCode, self.finishedAt) = (batchID, info, acpCode, finishedAt)
    }

    /// Submission to the poll that saw the end (poll-interval resolution).
    public var duration: TimeInterval? { finishedAt.map { $0.timeIntervalSince(firstSeen) } }
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
