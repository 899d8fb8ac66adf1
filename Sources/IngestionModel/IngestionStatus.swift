/// The status of one ingestion request, as Adobe's GET reports it.
///
/// Adobe's prose writes statuses in several casings ("Success", "in progress"), so
/// decoding compares case-insensitively and ignores spaces, underscores and hyphens.
/// Anything else is kept as `unknown(raw)`: a value to log and count, never a crash.
public enum IngestionStatus: Hashable, Sendable, CustomStringConvertible {
    case inProgress
    case success
    case failed
    case aborted
    /// Ended by the exporter, not by Adobe (see `FinalStatus.abandoned`).
    case abandoned
    case unknown(String)

    public init(apiValue: String) {
        let folded = String(apiValue.lowercased().filter { !" _-\t".contains($0) })
        if folded == "inprogress" {
            self = .inProgress
        } else if let final = FinalStatus(rawValue: folded), final != .abandoned {
            self = IngestionStatus(final)
        } else {
            // "abandoned" included: Adobe never sends it, only the exporter decides it.
            self = .unknown(apiValue)
        }
    }

    public init(_ final: FinalStatus) {
        switch final {
        case .success: self = .success
        case .failed: self = .failed
        case .aborted: self = .aborted
        case .abandoned: self = .abandoned
        }
    }

    /// How the request ended, when it has.
    public var finalStatus: FinalStatus? {
        switch self {
        case .success: return .success
        case .failed: return .failed
        case .aborted: return .aborted
        case .abandoned: return .abandoned
        case .inProgress, .unknown: return nil
        }
    }

    /// Success, Failed and Aborted end a request; nothing follows them.
    public var isTerminal: Bool { finalStatus != nil }

    /// The spelling Adobe uses in its bodies ("In Progress").
    public var apiValue: String {
        switch self {
        case .inProgress: return "In Progress"
        case .success: return "Success"
        case .failed: return "Failed"
        case .aborted: return "Aborted"
        case .abandoned: return "Abandoned"
        case .unknown(let raw): return raw
        }
    }

    /// The stable lower-case name used in the store and in metric labels.
    public var name: String {
        switch self {
        case .inProgress: return Self.inProgressName
        case .unknown: return "unknown"
        case .success, .failed, .aborted, .abandoned: return finalStatus!.label
        }
    }

    static let inProgressName = "in_progress"

    /// Every `name` a request can be filtered by (the API's `status` parameter).
    public static let filterNames = [inProgressName] + FinalStatus.allCases.map(\.label)

    /// Inverse of `name`, for rows read back from the store.
    public init(storedName: String, raw: String? = nil) {
        if storedName == Self.inProgressName {
            self = .inProgress
        } else if let final = FinalStatus(rawValue: storedName) {
            self = IngestionStatus(final)
        } else {
            self = .unknown(raw ?? storedName)
        }
    }

    /// The raw text of an `unknown` status, which the store keeps beside its name.
    public var rawUnknown: String? {
        if case .unknown(let raw) = self { return raw }
        return nil
    }

    public var description: String { apiValue }
}
