import Foundation
import IngestionModel
import Synchronization
import Testing
import TestSupport

/// The project's named waits: `Latch` (one-way), `Signal` (events counted, none missed),
/// `AsyncLock` (one holder at a time, in turn), never a blocked thread. Waits are for parked tasks, with a deadline.
@Suite("Concurrency primitives", .timeLimit(.minutes(1)))
struct ConcurrencyPrimitivesTests {
    /// What the tasks of a test did, in order, under a lock.
    final class Seen: Sendable {
        private let state = Mutex<(order: [Int], inside: Int, most: Int)>(([], 0, 0))
        func enter(_ index: Int) { state.withLock { $0.order.append(index); $0.inside += 1; $0.most = max($0.most, $0.inside) } }
        func leave() { state.withLock { $0.inside -= 1 } }
        var order: [Int] { state.withLock { $0.order } }
        var most: Int { state.withLock { $0.most } }
    }

    @Test func aLatchLetsEveryWaiterInOnceOpenAndForGood() async throws {
        let latch = Latch()
        let seen = Seen()
        let waiters = (0..<5).map { index in Task { try await latch.wait(); seen.enter(index); seen.leave() } }
        try await eventually("five waiters parked") { latch.waiting == 5 }
        #expect(seen.order.isEmpty, "a waiter passed a closed latch")
        latch.open()
        for waiter in waiters { try await waiter.value }
        #expect(seen.order.count == 5)
        try await latch.wait()  // open for good: at once
        #expect(latch.isOpen && latch.waiting == 0)
    }

    @Test func aParkedLatchWaiterLeavesWhenCancelled() async throws {
        let latch = Latch()
        let waiter = Task { try await latch.wait() }
        try await eventually("the waiter parked") { latch.waiting == 1 }
        waiter.cancel()
        await #expect(throws: CancellationError.self) { try await waiter.value }
        #expect(latch.waiting == 0 && !latch.isOpen)
    }

    @Test func aSignalWakesItsWaitersOnceAndMissesNoEventBetweenReadAndWait() async throws {
        let signal = Signal()
        let seen = Seen()
        let before = signal.count
        let waiters = (0..<3).map { index in Task { try await signal.wait(after: before); seen.enter(index); seen.leave() } }
        try await eventually("three waiters parked") { signal.waiting == 3 }
        #expect(seen.order.isEmpty, "a waiter passed before any event")
        signal.signal()
        signal.signal()  // a burst: each waiter wakes once
        for waiter in waiters { try await waiter.value }
        #expect(seen.order.count == 3 && signal.count == before + 2)

        // An event after the count was read, before the wait: the wait returns at once.
        let read = signal.count
        signal.signal()
        try await signal.wait(after: read)
        // The timed wait returns at its timeout without an event.
        let started = ContinuousClock.now
        await signal.wait(after: signal.count, timeout: .milliseconds(50))
        #expect(ContinuousClock.now - started >= .milliseconds(50))
    }

    @Test func aParkedSignalWaiterLeavesWhenCancelled() async throws {
        let signal = Signal()
        let waiter = Task { try await signal.wait(after: signal.count) }
        try await eventually("the waiter parked") { signal.waiting == 1 }
        waiter.cancel()
        await #expect(throws: CancellationError.self) { try await waiter.value }
        #expect(signal.waiting == 0 && signal.count == 0)
    }

    @Test func anAsyncLockHasOneHolderAtATimeInTurn() async throws {
        let lock = AsyncLock()
        let seen = Seen()
        await lock.lock()
        var holders: [Task<Void, Never>] = []
        for index in 0..<6 {
            holders.append(Task {
                await lock.lock()
                seen.enter(index)
                for _ in 0..<10 { await Task.yield() }
                seen.leave()
                lock.unlock()
            })
            // One at a time, so that their turns are known.
            try await eventually("waiter \(index) parked") { lock.waiting == index + 1 }
        }
        #expect(seen.order.isEmpty, "a task went in while the lock was held")
        lock.unlock()
        for holder in holders { await holder.value }
        #expect(seen.most == 1, "two holders at once")
        #expect(seen.order == Array(0..<6), "not in turn: \(seen.order)")
        await lock.lock()  // free again
        lock.unlock()
    }

    @Test func aWaiterCancelledBeforeItsTurnLeavesWithoutTheLock() async throws {
        let lock = AsyncLock()
        await lock.lock()
        let cancelled = Task { () -> Bool in
            do { try await lock.lockUnlessCancelled(); return true } catch { return false }
        }
        try await eventually("the waiter parked") { lock.waiting == 1 }
        cancelled.cancel()
        #expect(await cancelled.value == false)
        #expect(lock.waiting == 0)
        lock.unlock()
        // The lock is free: the cancelled waiter did not take it.
        try await lock.lockUnlessCancelled()
        lock.unlock()
    }

    @Test func lockWaitsItsTurnEvenWhenItsTaskIsCancelled() async throws {
        let lock = AsyncLock()
        await lock.lock()
        let seen = Seen()
        let waiter = Task {
            await lock.lock()
            seen.enter(0)
            lock.unlock()
        }
        try await eventually("the waiter parked") { lock.waiting == 1 }
        waiter.cancel()
        #expect(seen.order.isEmpty)
        lock.unlock()
        await waiter.value
        #expect(seen.order == [0], "a cancelled lock() gave up its turn")
    }
}
