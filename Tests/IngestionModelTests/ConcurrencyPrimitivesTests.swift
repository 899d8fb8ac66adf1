import Foundation
import IngestionModel
import Synchronization
import Testing

/// The project's named waits: `Latch` (one-way), `AsyncLock` (one holder at a time),
/// never a blocked thread.
@Suite("Concurrency primitives")
struct ConcurrencyPrimitivesTests {
    /// What the tasks of a test saw, under a lock.
    final class Seen: Sendable {
        private let state = Mutex<(passed: Int, inside: Int, most: Int)>((0, 0, 0))
        func pass() { state.withLock { $0.passed += 1 } }
        func enter() { state.withLock { $0.inside += 1; $0.most = max($0.most, $0.inside) } }
        func leave() { state.withLock { $0.inside -= 1 } }
        var passed: Int { state.withLock { $0.passed } }
        var most: Int { state.withLock { $0.most } }
    }

    @Test func aLatchLetsEveryWaiterInOnceOpenAndForGood() async throws {
        let latch = Latch()
        let seen = Seen()
        let waiters = (0..<5).map { _ in Task { try await latch.wait(); seen.pass() } }
        for _ in 0..<100 { await Task.yield() }
        #expect(seen.passed == 0, "a waiter passed a closed latch")
        #expect(!latch.isOpen)
        latch.open()
        for waiter in waiters { try await waiter.value }
        #expect(seen.passed == 5)
        try await latch.wait()  // open for good: at once
        #expect(latch.isOpen)
    }

    @Test func aCancelledLatchWaiterLeaves() async throws {
        let latch = Latch()
        let waiter = Task { try await latch.wait() }
        waiter.cancel()
        await #expect(throws: CancellationError.self) { try await waiter.value }
        #expect(!latch.isOpen)
    }

    @Test func anAsyncLockHasOneHolderAtATime() async throws {
        let lock = AsyncLock()
        let seen = Seen()
        await lock.lock()
        let holders = (0..<8).map { _ in
            Task {
                await lock.lock()
                seen.enter()
                seen.pass()
                for _ in 0..<10 { await Task.yield() }
                seen.leave()
                lock.unlock()
            }
        }
        for _ in 0..<100 { await Task.yield() }
        #expect(seen.passed == 0, "a task went in while the lock was held")
        lock.unlock()
        for holder in holders { await holder.value }
        #expect(seen.most == 1, "two holders at once")
        #expect(seen.passed == 8)
        await lock.lock()  // free again
        lock.unlock()
    }
}
