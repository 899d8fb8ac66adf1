import Foundation
import Synchronization

public struct TimedOut: Error, CustomStringConvertible {
    public let what: String
    public init(what: String) { self.what = what }
    public var description: String { "timed out waiting for \(what)" }
}

/// `eventually(timeout:_:)` for a test that cannot go on without it: throws, naming `what`.
/// The default bound is a guard against a hang, not a figure under test: the test
/// process runs many suites at once on two cores, and a moment's wait can take seconds.
public func eventually(_ what: String, timeout: Duration = .seconds(30),
                       _ condition: () async throws -> Bool) async throws {
    guard try await eventually(timeout: timeout, condition) else { throw TimedOut(what: what) }
}

/// A one-shot signal that any number of tasks can await; `open` releases them all.
public final class Gate: Sendable {
    private struct State {
        var isOpen = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }
    private let state = Mutex(State())

    public init() {}

    public var isOpen: Bool { state.withLock { $0.isOpen } }

    public func open() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.isOpen = true
            defer { state.waiters = [] }
            return state.waiters
        }
        waiters.forEach { $0.resume() }
    }

    /// Returns once the gate is open (at once if it already is). Ignores cancellation on purpose:
    /// tests use it to hold a handler while they observe the server.
    public func wait() async {
        await withCheckedContinuation { continuation in
            let resumeNow = state.withLock { state -> Bool in
                if state.isOpen { return true }
                state.waiters.append(continuation)
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }
}
