import Synchronization

/// A lock for async code: `lock()` suspends (never blocks a thread) until the holder
/// calls `unlock()`; waiters go in turn. For short sections that await a store call.
/// A waiter does not leave when cancelled: every holder unlocks on every path.
public final class AsyncLock: Sendable {
    private struct State {
        var locked = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }
    private let state = Mutex(State())

    public init() {}

    public func lock() async {
        await withCheckedContinuation { (waiter: CheckedContinuation<Void, Never>) in
            let acquired = state.withLock { state in
                if state.locked {
                    state.waiters.append(waiter)
                    return false
                }
                state.locked = true
                return true
            }
            if acquired { waiter.resume() }
        }
    }

    /// Hands the lock to the next waiter, or frees it.
    public func unlock() {
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard !state.waiters.isEmpty else {
                state.locked = false
                return nil
            }
            return state.waiters.removeFirst()
        }
        next?.resume()
    }
}
