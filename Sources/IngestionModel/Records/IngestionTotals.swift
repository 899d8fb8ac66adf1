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
