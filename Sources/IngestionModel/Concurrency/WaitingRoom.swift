import Synchronization

/// Tasks parked until their owner lets them in, beside the owner's state under
/// one lock, so that "proceed or park" and "change and let in" are each atomic.
/// A cancelled task leaves at once with `CancellationError` and is never let in.
/// A concurrency limit and a test clock are both built on it.
public final class WaitingRoom<State: Sendable, Ticket: Sendable>: Sendable {
    public enum Admission: Sendable {
        case proceed
        case park(Ticket)
    }

    private struct Parked {
        let id: UInt64
        let ticket: Ticket
        let continuation: CheckedContinuation<Void, Error>
    }

    private struct Room {
        var state: State
        var nextID: UInt64 = 0
        var parked: [Parked] = []
    }

    private let room: Mutex<Room>

    public init(_ state: State) { room = Mutex(Room(state: state)) }

    /// The owner's state, read under the lock.
    public func read<T>(_ body: (State) -> T) -> T { room.withLock { body($0.state) } }

    /// How many tasks are parked now.
    public var parkedCount: Int { room.withLock { $0.parked.count } }

    /// Proceeds at once when `admit` says so (it may change the state), else waits,
    /// holding the ticket it gave, until `update` lets this task in.
    public func enter(_ admit: (inout State) -> Admission) async throws(CancellationError) {
        let id = room.withLock { room -> UInt64 in
            room.nextID += 1
            return room.nextID
        }
        do {
            try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, Error>) in
                    // Under the lock: a task cancelled before this point had its
                    // cancellation handler run already, with nothing parked to remove.
                    let outcome = room.withLock { room -> Result<Void, Error>? in
                        if Task.isCancelled { return .failure(CancellationError()) }
                        switch admit(&room.state) {
                        case .proceed:
                            return .success(())
                        case .park(let ticket):
                            room.parked.append(Parked(id: id, ticket: ticket, continuation: continuation))
                            return nil
                        }
                    }
                    if let outcome { continuation.resume(with: outcome) }
                }
            } onCancel: {
                let left = room.withLock { room -> Parked? in
                    guard let index = room.parked.firstIndex(where: { $0.id == id }) else { return nil }
                    return room.parked.remove(at: index)
                }
                left?.continuation.resume(throwing: CancellationError())
            }
        } catch {
            throw CancellationError()
        }
    }

    /// Changes the state, given the parked tasks' tickets in arrival order, and lets
    /// in those whose positions `change` returns.
    public func update(_ change: (inout State, [Ticket]) -> [Int]) {
        let admitted = room.withLock { room -> [Parked] in
            let positions = Set(change(&room.state, room.parked.map(\.ticket)))
            let admitted = room.parked.enumerated().filter { positions.contains($0.offset) }.map(\.element)
            room.parked = room.parked.enumerated().filter { !positions.contains($0.offset) }.map(\.element)
            return admitted
        }
        for parked in admitted { parked.continuation.resume() }
    }
}
