/// How a request ended: the `status` label of every ingestion counter, the value
/// the store keeps, and the key of the running totals. Spelled here once.
public enum FinalStatus: String, Sendable, Hashable, CaseIterable, Codable, Comparable, CustomStringConvertible {
    case success
    case failed
    case aborted
    /// Not Adobe's word: the exporter gave up following the request (Adobe answered
    /// 404 for longer than `give_up_after`, or it stayed In Progress longer than
    /// `max_in_progress`). Counted once, like any end.
    case abandoned

    /// Failed and Aborted: Adobe's reported failures, counted in `acs_ingestion_failures_total`.
    public var isFailure: Bool { self == .failed || self == .aborted }

    /// The label value (and stored name).
    public var label: String { rawValue }

    public var description: String { rawValue }

    public static func < (lhs: FinalStatus, rhs: FinalStatus) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// What one POST of this exporter came to: the `result` label of
/// `acs_ingestion_triggers_total` and the value the store counts.
public enum TriggerResult: String, Sendable, Hashable, CaseIterable, Codable, CustomStringConvertible {
    case submitted
    case alreadyInProgress = "already_in_progress"
    case notStopped = "not_stopped"
    case notPublished = "not_published"
    case error
    /// The exporter stopped (kill -9, power loss) between sending the POST and storing
    /// its answer, and at start-up could not tell what it came to.
    case unknown

    public var label: String { rawValue }
    public var description: String { rawValue }
}
