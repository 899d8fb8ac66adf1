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
    case unknown(String)

    public init(apiValue: String) {
        let folded = String(apiValue.lowercased().filter { !" _-\t".contains($0) })
        switch folded {
        case "inprogress": self = .inProgress
        case "success": self = .success
        case "failed": self = .failed
        case "aborted": self = .aborted
        default: self = .unknown(apiValue)
        }
    }

    /// Success, Failed and Aborted end a request; nothing follows them.
    public var isTerminal: Bool {
        switch self {
        case .success, .failed, .aborted: return true
        case .inProgress, .unknown: return false
        }
    }

    /// The spelling Adobe uses in its bodies ("In Progress").
    public var apiValue: String {
        switch self {
        case .inProgress: return "In Progress"
        case .success: return "Success"
        case .failed: return "Failed"
        case .aborted: return "Aborted"
        case .unknown(let raw): return raw
        }
    }

    /// The stable lower-case name used in the store and in metric labels.
    public var name: String {
        switch self {
        case .inProgress: return "in_progress"
        case .success: return "success"
        case .failed: return "failed"
        case .aborted: return "aborted"
        case .unknown: return "unknown"
        }
    }

    /// Inverse of `name`, for rows read back from the store.
    public init(storedName: String, raw: String? = nil) {
        switch storedName {
        case "in_progress": self = .inProgress
        case "success": self = .success
        case "failed": self = .failed
        case "aborted": self = .aborted
        default: self = .unknown(raw ?? storedName)
        }
    }

    public var description: String { apiValue }
}
