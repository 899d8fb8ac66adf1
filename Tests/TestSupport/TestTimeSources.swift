import Foundation
import IngestionModel
import Synchronization

/// A clock whose sleeps return at once while moving its time forward by the
/// amount slept, recording every sleep: back-off and Retry-After can then be
/// asserted exactly.
public final class ImmediateTimeSource: TimeSource {
    private let clock: ManualTimeSource
    private let recorded = Mutex<[Duration]>([])

    public init(now: Date = ManualTimeSource.start) { clock = ManualTimeSource(now: now) }

    public func now() -> Date { clock.now() }

    public func sleep(for duration: Duration) async throws {
        try Task.checkCancellation()
        recorded.withLock { $0.append(duration) }
        clock.advance(by: duration)
    }

    public func advance(by duration: Duration) { clock.advance(by: duration) }

    /// Every sleep requested so far, in order.
    public var sleeps: [Duration] { recorded.withLock { $0 } }
}

/// A clock that only moves when a test says so; sleepers wake when `advance`
/// passes their deadline.
public final class ManualTimeSource: TimeSource {
    /// The time, and the sleepers parked with their deadlines.
    private let clock: WaitingRoom<Date, Date>

    /// Where test clocks start: 2023-11-14T22:13:20Z.
    public static let start = Date(timeIntervalSince1970: 1_700_000_000)

    public init(now: Date = ManualTimeSource.start) { clock = WaitingRoom(now) }

    public func now() -> Date { clock.read { $0 } }

    public func sleep(for duration: Duration) async throws {
        try await clock.enter { now in
            let deadline = now.adding(duration)
            return deadline <= now ? .proceed : .park(deadline)
        }
    }

    public func sleep(until deadline: Date) async throws {
        try await clock.enter { now in deadline <= now ? .proceed : .park(deadline) }
    }

    /// Moves time forward and wakes every sleeper whose deadline has passed; returns how many it woke.
    @discardableResult
    public func advance(by duration: Duration) -> Int {
        var woken = 0
        clock.update { now, deadlines in
            now = now.adding(duration)
            let due = deadlines.indices.filter { deadlines[$0] <= now }
            woken = due.count
            return due
        }
        return woken
    }

    /// How many tasks sleep on this clock now.
    public var sleepers: Int { clock.parkedCount }
}

extension ManualTimeSource {
    /// Moves the clock on in `step`s for `duration`, or until `until` holds (checked
    /// before each step). The code under test runs on real threads (HTTP, the store):
    /// each step gives it a millisecond of real time to react, which paces the injected
    /// clock rather than waiting for anything.
    public func run(for duration: Duration, step: Duration = .milliseconds(100),
                    until: () async throws -> Bool = { false }) async throws {
        for _ in 0..<Int(duration / step) {
            if try await until() { return }
            advance(by: step)
            try await Task.sleep(for: .milliseconds(1))
        }
    }

    /// Moves the clock on for `duration`, from one sleeper's deadline to the next (by
    /// `step` while nobody sleeps on it), each move once the code under test has settled: as many tasks
    /// sleep on the clock as before the move, and still do a millisecond later (or a
    /// second of real time has passed, for a task that ended). The clock never moves
    /// while a woken task works (an HTTP call, a store write), and lands on each deadline
    /// exactly, so what is measured on it is what the code decided, however slow the machine.
    public func runSettled(for duration: Duration, step: Duration = .seconds(1)) async throws {
        let end = now().adding(duration)
        while now() < end {
            let parked = sleepers
            let target = min(nextDeadline ?? now().adding(step), end)
            advance(by: .seconds(max(0, target.timeIntervalSince(now()))))
            let deadline = ContinuousClock.now + .seconds(1)
            var stable = 0
            while stable < 2 && ContinuousClock.now < deadline {
                let before = sleepers
                try await Task.sleep(for: .milliseconds(1))
                stable = sleepers >= parked && sleepers == before ? stable + 1 : 0
            }
        }
    }

    /// The earliest deadline a sleeper waits for (nil: none sleeps).
    public var nextDeadline: Date? {
        var earliest: Date?
        clock.update { _, deadlines in
            earliest = deadlines.min()
            return []
        }
        return earliest
    }
}
