import Synchronization

/// Whether the exporter can do its work, and if not, why: `/-/ready` answers the
/// reason. Read from libmicrohttpd's threads.
public final class Readiness: Sendable {
    private let reasons = Mutex<[String: String]>([:])

    public init() {}

    /// Nil when ready; else every current reason, sorted, on one line.
    public var notReadyReason: String? {
        reasons.withLock { reasons in
            reasons.isEmpty ? nil : reasons.keys.sorted().map { reasons[$0]! }.joined(separator: "; ")
        }
    }

    /// Sets (or with nil clears) the reason named `condition`.
    public func set(_ condition: String, _ reason: String?) {
        reasons.withLock { $0[condition] = reason }
    }
}
