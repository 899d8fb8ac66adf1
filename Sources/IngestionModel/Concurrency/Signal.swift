/// Counts events: a waiter returns at the first event after the count it read, so an
/// event between reading the count and waiting is not missed, and a burst of events
/// wakes a waiter once. Tasks wait for it, and can leave when cancelled.
public final class Signal: Sendable {
    private let room = WaitingRoom<Int, Void>(0)

    public init() {}

    /// Events so far.
    public var count: Int { room.read { $0 } }

    /// Tasks waiting for an event.
    public var waiting: Int { room.parkedCount }

    /// One event: every waiter is let in.
    public func signal() {
        room.update { count, waiting in
            count += 1
            return Array(waiting.indices)
        }
    }

    /// Returns once an event followed count `seen` (at once if one has); throws when the task is cancelled first.
    public func wait(after seen: Int) async throws(CancellationError) {
        try await room.enter { $0 != seen ? .proceed : .park(()) }
    }

    /// Returns once an event followed count `seen`, after `timeout`, or when the task is cancelled.
    public func wait(after seen: Int, timeout: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await self.wait(after: seen) }
            group.addTask { try? await Task.sleep(for: timeout) }
            await group.next()
            group.cancelAll()
        }
    }
}
