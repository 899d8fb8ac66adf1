/// What went wrong with the database: a kind a caller can act on, and a line
/// that names the database and the operation (never a password).
public struct StoreError: Error, CustomStringConvertible, Equatable, Sendable {
    public enum Kind: String, Sendable, Equatable {
        /// The database cannot be reached or opened (yet): retry later.
        case unavailable
        /// No space left for a write.
        case full
        /// The file or its schema is damaged.
        case corrupt
        /// Another exporter writes to this database (its lock is held).
        case inUse
        /// This replica no longer holds the tenant's lease: another one runs it now.
        case fenced
        /// Written by a newer exporter: this one must not touch it.
        case schemaTooNew
        /// The request was already counted (removed by retention): tracking it again is refused.
        case alreadyCounted
        /// Any other failure of a statement.
        case failed
    }

    public let kind: Kind
    public let description: String

    /// The description without the "database X: " it starts with, when it does.
    public var reason: String {
        guard description.hasPrefix("database "), let colon = description.range(of: ": ") else { return description }
        return String(description[colon.upperBound...])
    }

    public init(_ kind: Kind, _ description: String) {
        self.kind = kind
        self.description = description
    }
}

extension StoreError {
    /// The store cannot do its work now (unreachable, full, damaged, taken): a
    /// client may retry later, and what a poll saw is seen again by the next poll.
    public var isOutage: Bool {
        switch kind {
        case .unavailable, .full, .corrupt, .inUse, .failed: return true
        case .alreadyCounted, .schemaTooNew, .fenced: return false
        }
    }
}
