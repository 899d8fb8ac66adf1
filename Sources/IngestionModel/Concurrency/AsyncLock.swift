/// A lock for async code: a waiter suspends (never blocks a thread) until the holder
/// calls `unlock()`, which hands the lock to the next waiter in turn. For short
/// sections that await a store call. Every holder unlocks on every path.
public final class AsyncLock: Sendable {
    /// Whether the lock is held; parked waiters in arrival order.
    private let room = WaitingRoom<Bool, Void>(false)

    public init() {}

    /// Waits its turn, whether or not the task is cancelled meanwhile: for sections that
    /// must run once they were asked for (a hand-over, a reload of the workers).
    public func lock() async {
        // An unstructured task is not cancelled with its caller.
        await Task { try? await self.lockUnlessCancelled() }.value
    }

    /// Waits its turn; a task cancelled first leaves without the lock and throws.
    public func lockUnlessCancelled() async throws(CancellationError) {
        try await room.enter { held in
            guard !held else { return .park(()) }
            held = true
            return .proceed
        }
    }

    /// Hands the lock to the next waiter (it stays held), or frees it.
    public func unlock() {
        room.update { held, waiting in
            if waiting.isEmpty { held = false }
            return waiting.isEmpty ? [] : [0]
        }
    }

    /// Tasks waiting for the lock.
    public var waiting: Int { room.parkedCount }
}
