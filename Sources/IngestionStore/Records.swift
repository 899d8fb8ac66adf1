import Foundation
import IngestionModel

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
        self.rowID = rowID
        self.key = key
        self.requestID = requestID
        self.origin = origin
        self.firstSeen = firstSeen
        self.lastPolled = lastPolled
        self.status = status
        self.numRecords = numRecords
        self.batchID = batchID
        self.info = info
        self.acpCode = acpCode
        self.finishedAt = finishedAt
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
}

/// What `track` did.
public enum TrackResult: Sendable, Equatable {
    case inserted(TrackedRequest)
    case alreadyTracked(TrackedRequest)

    public var request: TrackedRequest {
        switch self {
        case .inserted(let request), .alreadyTracked(let request): return request
        }
    }
}

/// What `recordObservation` did.
public enum ObservationResult: Sendable, Equatable {
    /// Still running; the row was updated.
    case stillRunning(TrackedRequest)
    /// The request ended with this observation: count it, once.
    case finished(TrackedRequest)
    /// It had already ended: nothing changed (so nothing is counted twice).
    case alreadyFinished(TrackedRequest)
}

/// Everything the metrics are rebuilt from at start-up.
public struct StoreTotals: Sendable, Equatable {
    public struct Outcome: Sendable, Equatable {
        public var key: MappingKey
        public var status: String
        public var acpCode: String
        public var requests: Int
        public var records: Int
        public var durationSum: Double
    }
    public struct Bucket: Sendable, Equatable {
        public var key: MappingKey
        public var status: String
        public var upperBound: Double
        public var count: Int
    }
    public struct Latest: Sendable, Equatable {
        public var lastSuccessAt: Date?
        public var lastSuccessRecords: Int
        public var lastFailureAt: Date?
        public var lastTriggerAt: Date?
    }
    public var outcomes: [Outcome] = []
    public var buckets: [Bucket] = []
    public var triggers: [MappingKey: [String: Int]] = [:]
    public var latest: [MappingKey: Latest] = [:]
    public var open: [TrackedRequest] = []
}
