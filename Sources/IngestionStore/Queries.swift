import Foundation
import IngestionModel

/// A filter over the request history, newest first.
public struct HistoryQuery: Sendable, Equatable {
    public var tenant: String?
    public var mapping: String?
    public var status: IngestionStatus?
    /// Requests first seen at or after this moment.
    public var since: Date?
    public var limit = 50
    /// The row id of the last request of the previous page.
    public var before: Int64?

    public init() {}
}

/// Capacity figures of one mapping over one period.
public struct ReportRow: Sendable, Equatable {
    public var key: MappingKey
    /// `2026-11-29`, `2026-11-23` (the Monday of a week) or `2026-11`, by when requests ended (UTC).
    public var period: String
    public var recordsIngested: Int
    /// Ended requests by final status.
    public var requests: [FinalStatus: Int]
    /// Failed and Aborted requests by ACP code (`none` without one).
    public var failuresByACPCode: [String: Int]

    public init(key: MappingKey, period: String, recordsIngested: Int = 0, requests: [FinalStatus: Int] = [:],
                failuresByACPCode: [String: Int] = [:]) {
        (self.key, self.period, self.recordsIngested, self.requests) = (key, period, recordsIngested, requests)
        self.failuresByACPCode = failuresByACPCode
    }

    /// Adds one group of ended requests.
    public mutating func add(status: FinalStatus, acpCode: String, count: Int, records: Int) {
        requests[status, default: 0] += count
        if status == .success { recordsIngested += records }
        if status.isFailure { failuresByACPCode[acpCode, default: 0] += count }
    }

    /// Adds another row's figures (a total over periods).
    public mutating func add(_ other: ReportRow) {
        recordsIngested += other.recordsIngested
        for (status, count) in other.requests { requests[status, default: 0] += count }
        for (code, count) in other.failuresByACPCode { failuresByACPCode[code, default: 0] += count }
    }
}

/// The periods of the capacity report, by when requests ended (UTC).
public enum ReportPeriod: String, Sendable, CaseIterable {
    case day, week, month
}
