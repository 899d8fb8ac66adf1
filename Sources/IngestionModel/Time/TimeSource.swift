import Foundation

/// Wall-clock time and sleeping, injected so that token expiry, Retry-After,
/// back-off and request ages can be tested without real waiting.
public protocol TimeSource: Sendable {
    func now() -> Date
    /// A reading of a clock that never steps, for measuring how long something lasts (a
    /// lease's validity): unlike `now()`, a wall-clock adjustment does not move it.
    func elapsed() -> Duration
    /// Whether this is the system's clock (a test clock is not).
    var isSystemClock: Bool { get }
    func sleep(for duration: Duration) async throws
    /// Returns at `deadline`, at once if it has passed: a wait measured from the
    /// clock's time when the sleep begins, not from an earlier reading of it.
    func sleep(until deadline: Date) async throws
}

extension TimeSource {
    /// A clock that only moves forward, as test clocks do: `now()` itself.
    public func elapsed() -> Duration { .seconds(now().timeIntervalSince1970) }

    public var isSystemClock: Bool { false }

    public func sleep(until deadline: Date) async throws {
        let left = deadline.timeIntervalSince(now())
        guard left > 0 else { return try Task.checkCancellation() }
        try await sleep(for: .milliseconds(Int64((left * 1000).rounded(.up))))
    }
}

/// The real clock.
public struct SystemTimeSource: TimeSource {
    private static let origin = ContinuousClock.now

    public init() {}
    public func now() -> Date { Date() }
    public func elapsed() -> Duration { ContinuousClock.now - Self.origin }
    public var isSystemClock: Bool { true }
    public func sleep(for duration: Duration) async throws {
        try await Task.sleep(for: duration)
    }
}

extension Duration {
    /// The duration in seconds as a Double.
    public var seconds: Double {
        let parts = components
        return Double(parts.seconds) + Double(parts.attoseconds) / 1e18
    }
}

extension Date {
    public func adding(_ duration: Duration) -> Date { addingTimeInterval(duration.seconds) }

    public static func + (date: Date, duration: Duration) -> Date { date.adding(duration) }

    public static func - (date: Date, duration: Duration) -> Date { date.addingTimeInterval(-duration.seconds) }
}
