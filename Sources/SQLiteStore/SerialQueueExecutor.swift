#if os(Linux)
@preconcurrency import Dispatch
#else
import Dispatch
#endif

/// Runs an actor's jobs on one serial dispatch queue (a thread of its own, not
/// one of Swift's cooperative pool), so an actor that owns a blocking C handle
/// can call it without stalling other tasks. GRDB does the same.
final class SerialQueueExecutor: SerialExecutor, @unchecked Sendable {
    // @unchecked: DispatchQueue is thread-safe but not marked Sendable on Linux.
    private let queue: DispatchQueue

    init(label: String) {
        queue = DispatchQueue(label: label, qos: .utility)
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        queue.async { job.runSynchronously(on: self.asUnownedSerialExecutor()) }
    }

    func asUnownedSerialExecutor() -> UnownedSerialExecutor {
        UnownedSerialExecutor(ordinary: self)
    }

    func checkIsolated() {
        dispatchPrecondition(condition: .onQueue(queue))
    }
}
