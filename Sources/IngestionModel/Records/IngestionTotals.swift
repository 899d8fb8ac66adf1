import Foundation

/// The running totals every ingestion counter is rebuilt from: what the store
/// keeps and what the metrics model restores, as one type.
public struct IngestionTotals: Sendable, Equatable {
    /// Requests that ended with one status (and ACP code) for one mapping.
    public struct Outcome: Sendable, Equatable {
        public var key: MappingKey
        public var status: FinalStatus
        /// `ACP-880056`…, or `none`.
        public var acpCode: String
        public var requests: Int
        public var records: Int
        public var durationSum: Double

        public init(key: MappingKey, status: FinalStatus, acpCode: String, requests: Int, records: Int, durationSum: Double) {
            (self.key, self.status, self.acpCode, self.requests) = (key, status, acpCode, requests)
            (self.records, self.durationSum) = (records, durationSum)
        }
    }

    /// Requests whose duration fell in one histogram bucket (not cumulative).
    public struct Bucket: Sendable, Equatable {
        public var key: MappingKey
        public var status: FinalStatus
        public var upperBound: Double
        public var count: Int

        public init(key: MappingKey, status: FinalStatus, upperBound: Double, count: Int) {
            (self.key, self.status, self.upperBound, self.count) = (key, status, upperBound, count)
        }
    }

    /// The latest events of one mapping.
    public struct Latest: Sendable, Equatable {
        public var lastSuccessAt: Date?
        public var lastSuccessRecords: Int
        public var lastFailureAt: Date?
        public var lastTriggerAt: Date?

        public init(lastSuccessAt: Date? = nil, lastSuccessRecords: Int = 0, lastFailureAt: Date? = nil, lastTriggerAt: Date? = nil) {
            (self.lastSuccessAt, self.lastSuccessRecords, self.lastFailureAt, self.lastTriggerAt) = (lastSuccessAt, lastSuccessRecords, lastFailureAt, lastTriggerAt)
        }
    }

    public var outcomes: [Outcome] = []
    public var buckets: [Bucket] = []
    public var triggers: [MappingKey: [TriggerResult: Int]] = [:]
    public var latest: [MappingKey: Latest] = [:]
    /// Requests not yet ended.
    public var open: [TrackedRequest] = []
    /// The followed batches' totals, per mapping that has any.
    public var aep: [MappingKey: AEPTotals] = [:]

    public init() {}

    /// Ended requests of one mapping by final status.
    public func requests(of key: MappingKey) -> [FinalStatus: Int] {
        outcomes.filter { $0.key == key }.reduce(into: [:]) { $0[$1.status, default: 0] += $1.requests }
    }

    /// Failed and Aborted requests of one mapping by ACP code (`none` without one).
    public func failuresByACPCode(of key: MappingKey) -> [String: Int] {
        outcomes.filter { $0.key == key && $0.status.isFailure }.reduce(into: [:]) { $0[$1.acpCode, default: 0] += $1.requests }
    }

    public func recordsIngested(of key: MappingKey) -> Int {
        outcomes.filter { $0.key == key }.map(\.records).reduce(0, +)
    }
}

extension IngestionTotals {
    /// What one ended request adds to the totals: the rule both stores and the metric
    /// model count by, written once. A request adds one to its status (and, failed or
    /// aborted, its ACP code: `none` without one; a success always `none`), its records
    /// when it succeeded, its duration (never negative) to the sum and to one histogram
    /// bucket (the first bound it does not exceed, else +Inf), and sets the mapping's
    /// latest success or failure (an abandoned request sets neither).
    public struct Addition: Sendable, Equatable {
        public enum Latest: Sendable, Equatable {
            case success(at: Date?, records: Int)
            case failure(at: Date?)
        }

        public let key: MappingKey
        public let status: FinalStatus
        public let acpCode: String
        public let records: Int
        public let duration: Double
        /// The bucket's upper bound: one of the bounds, or +Inf.
        public let upperBound: Double
        public let latest: Latest?

        public init(key: MappingKey, status: FinalStatus, acpCode: ACPCode?, numRecords: Int, duration: Double,
                    finishedAt: Date?, bounds: [Double]) {
            self.key = key
            self.status = status
            self.acpCode = status == .success ? ACPCode.noneLabel : acpCode.labelValue
            records = status == .success ? numRecords : 0
            self.duration = max(0, duration)
            upperBound = bounds.first { max(0, duration) <= $0 } ?? .infinity
            latest = status == .success ? .success(at: finishedAt, records: numRecords)
                : status.isFailure ? .failure(at: finishedAt) : nil
        }

        /// Nil for a request that has not ended.
        public init?(_ request: TrackedRequest, bounds: [Double]) {
            guard let status = request.status.finalStatus else { return nil }
            self.init(key: request.key, status: status, acpCode: request.acpCode, numRecords: request.numRecords,
                      duration: request.duration ?? 0, finishedAt: request.finishedAt, bounds: bounds)
        }
    }
}
