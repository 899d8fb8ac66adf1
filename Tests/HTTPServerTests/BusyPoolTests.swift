import Foundation
import HTTPServer
import Synchronization
import Testing
import TestSupport

/// A server beside a pool that other work keeps busy. `make test` runs this suite
/// apart from the others (as it does the cluster's failover): it fills the pool
/// on purpose, and the other suites' own work would blur what it measures.
@Suite("HTTP server beside a busy pool")
struct BusyPoolTests {
    /// Deferred handlers run at high priority, on Dispatch's threads for it: one is
    /// answered while every thread of the default priority is busy (here spinning
    /// tasks; in the daemon, polls and store writes; in this test process, CPU-bound
    /// suites). The exchange runs on a thread of its own, outside the pool it fills.
    @Test func aDeferredHandlerIsAnsweredWhileDefaultPriorityWorkFillsThePool() async throws {
        try await withServer(routes: { router in
            router.add("GET", "/deferred", .deferred { _ in HTTPResponse.text("answered").reply })
        }) { server throws in
            let port = server.port
            let (answer, whileFull) = try await offPool { () throws -> (RawHTTPAnswer, Bool) in
                let width = ProcessInfo.processInfo.activeProcessorCount
                let spinners = Spinners()
                let started = DispatchSemaphore(value: 0)
                let ended = DispatchSemaphore(value: 0)
                for _ in 0..<width {
                    Task(priority: .medium) {
                        spinners.spinning.add(1, ordering: .relaxed)
                        started.signal()
                        // Busy until released, or 8 s: then a starved handler would run, too late.
                        let deadline = ContinuousClock.now + .seconds(8)
                        while !spinners.released.load(ordering: .relaxed) && ContinuousClock.now < deadline {}
                        spinners.spinning.subtract(1, ordering: .relaxed)
                        ended.signal()
                    }
                }
                defer {
                    spinners.released.store(true, ordering: .relaxed)
                    for _ in 0..<width { ended.wait() }
                }
                let deadline = DispatchTime.now() + .seconds(30)
                for _ in 0..<width where started.wait(timeout: deadline) == .timedOut {
                    throw TimedOut(what: "every default-priority thread busy")
                }
                let answer = try rawHTTP(port: port, path: "/deferred")
                return (answer, spinners.spinning.load(ordering: .relaxed) == width)
            }
            #expect(answer.statusLine.hasPrefix("HTTP/1.1 200") && answer.body == Array("answered".utf8))
            #expect(whileFull, "answered only once the default-priority threads were free")
        }
    }
}

/// Tasks that keep threads busy, and their release.
private final class Spinners: Sendable {
    let spinning = Atomic<Int>(0)
    let released = Atomic<Bool>(false)
}
