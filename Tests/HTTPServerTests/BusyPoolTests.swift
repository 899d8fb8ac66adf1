import Foundation
import HTTPServer
import IngestionModel
import Synchronization
import Testing
import TestSupport

/// A server beside a pool that other work keeps busy. `make test` runs this suite
/// on its own: it fills the pool on purpose, and other suites running beside it
/// would blur what it measures (and be held up by it).
@Suite("HTTP server beside a busy pool")
struct BusyPoolTests {
    /// Deferred handlers run at high priority, on Dispatch's threads for it: one is
    /// answered while every thread of the default priority is busy (here spinning
    /// tasks; in the daemon, polls and store writes). The exchange runs on a thread
    /// of its own, outside the pool it fills.
    @Test func aDeferredHandlerIsAnsweredWhileDefaultPriorityWorkFillsThePool() async throws {
        try await withServer(routes: { router in
            router.add("GET", "/deferred", .deferred { _ in HTTPResponse.text("answered").reply })
        }) { server throws in
            let port = server.port
            let (answer, whileFull) = try await offPool { () throws -> (RawHTTPAnswer, Bool) in
                let spinners = Spinners()
                defer { spinners.release() }
                // As many spinners as the pool has threads: one more while a task of the same
                // priority still gets a thread (the pool's width is Dispatch's, not ours to know).
                for _ in 0..<ProcessInfo.processInfo.activeProcessorCount { try spinners.add() }
                while spinners.aTaskStillStarts() {
                    guard spinners.count < 64 else { throw TimedOut(what: "a full default-priority pool") }
                    try spinners.add()
                }
                // The spinners give up 8 s from now: a starved handler would be answered then, too late.
                spinners.giveUp(after: .seconds(8))
                let answer = try rawHTTP(port: port, path: "/deferred")
                return (answer, spinners.areAllSpinning)
            }
            #expect(answer.statusLine.hasPrefix("HTTP/1.1 200") && answer.body == Array("answered".utf8))
            #expect(whileFull, "answered only once the default-priority threads were free")
        }
    }
}

/// Default-priority tasks that keep their threads busy until released or given up.
private final class Spinners: Sendable {
    private let spinning = Atomic<Int>(0)
    private let started = Atomic<Int>(0)
    /// `DispatchTime` nanoseconds after which the spinners stop by themselves.
    private let giveUpAt = Atomic<UInt64>(DispatchTime.now().uptimeNanoseconds + 60_000_000_000)
    private let released = Atomic<Bool>(false)
    private let ended = DispatchSemaphore(value: 0)

    var count: Int { started.load(ordering: .relaxed) }
    var areAllSpinning: Bool { spinning.load(ordering: .relaxed) == count }

    /// Starts one more and returns once it spins.
    func add() throws {
        let running = DispatchSemaphore(value: 0)
        started.add(1, ordering: .relaxed)
        Task(priority: .medium) {
            spinning.add(1, ordering: .relaxed)
            running.signal()
            while !released.load(ordering: .relaxed)
                    && DispatchTime.now().uptimeNanoseconds < giveUpAt.load(ordering: .relaxed) {}
            spinning.subtract(1, ordering: .relaxed)
            ended.signal()
        }
        guard running.wait(timeout: .now() + 30) == .success else { throw TimedOut(what: "a spinner to start") }
    }

    /// Whether a task of the spinners' priority still starts within 200 ms.
    func aTaskStillStarts() -> Bool {
        let probe = DispatchSemaphore(value: 0)
        Task(priority: .medium) { probe.signal() }
        return probe.wait(timeout: .now() + .milliseconds(200)) == .success
    }

    func giveUp(after duration: Duration) {
        giveUpAt.store(DispatchTime.now().uptimeNanoseconds + UInt64(duration.components.seconds) * 1_000_000_000, ordering: .relaxed)
    }

    /// Stops them and waits until every one has.
    func release() {
        released.store(true, ordering: .relaxed)
        for _ in 0..<count { ended.wait() }
    }
}
