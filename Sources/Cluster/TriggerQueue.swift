import Foundation
import IngestionModel
import IngestionStore

/// Trigger-now across replicas: a replica asked to trigger a tenant it does not run
/// queues the call in the shared store; the tenant's owner runs it once and records
/// the answer (a status and the API's JSON body), which the asking replica returns.
extension ClusterCoordinator {
    /// How long a replica waits for the owner to run a queued trigger-now: the calls
    /// of one POST with its retries (`requestTimeout` each), and a lease's lapse for the owner to change.
    public func queuedTriggerWait(requestTimeout: Duration) -> Duration {
        requestTimeout * 4 + settings.leaseTTL * 2
    }

    /// Queues a trigger of `key` for its owner and waits up to `wait` for the answer
    /// (nil: none came in time; the owner may still run it).
    public func forwardTrigger(_ key: MappingKey, at now: Date, wait: Duration) async throws(StoreError) -> (status: Int, body: [UInt8])? {
        let id = try await leases.enqueueTrigger(key, at: now)
        let deadline = time.elapsed() + wait
        while time.elapsed() < deadline {
            if let answer = try await leases.queuedTriggerAnswer(id) { return answer }
            try? await time.sleep(for: .milliseconds(100))
            if Task.isCancelled { break }
        }
        return nil
    }

    /// Runs the trigger-now calls queued for the tenants this replica runs, each once,
    /// every second until cancelled; `run` sends one and gives the answer to record.
    public func serveQueuedTriggers(_ run: @escaping @Sendable (MappingKey) async -> (status: Int, body: [UInt8])) async {
        while !Task.isCancelled {
            for tenant in owned where collector.isRunning(tenant) {
                guard let lease = lease(of: tenant), let queued = try? await leases.takeQueuedTriggers(by: lease) else { continue }
                for request in queued {
                    let (status, body) = await run(request.key)
                    try? await leases.answerQueuedTrigger(request.id, status: status, body: body)
                }
            }
            try? await time.sleep(for: .seconds(1))
        }
    }
}
