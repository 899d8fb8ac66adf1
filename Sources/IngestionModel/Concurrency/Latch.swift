/// A one-way gate: closed until `open()`, then open for good. Tasks wait for it to
/// open, and can leave when cancelled.
public final class Latch: Sendable {
    private let room = WaitingRoom<Bool, Void>(false)

    public init() {}

    public var isOpen: Bool { room.read { $0 } }

    /// Tasks waiting for it to open.
    public var waiting: Int { room.parkedCount }

    /// Opens the latch and lets every waiter in (again: nothing).
    public func open() {
        room.update { open, waiting in
            open = true
            return Array(waiting.indices)
        }
    }

    /// Returns once the latch is open (at once if it is); throws when the task is cancelled first.
    public func wait() async throws(CancellationError) {
        try await room.enter { $0 ? .proceed : .park(()) }
    }
}
