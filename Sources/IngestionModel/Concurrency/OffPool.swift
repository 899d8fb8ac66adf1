import Foundation

/// Runs blocking work (a file check, a child process, a program's own waiting) on a
/// thread of its own, never on one of Swift's cooperative pool, which has one thread
/// per core and stalls every task while one of them blocks.
public func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread { continuation.resume(with: Result { try body() }) }
    }
}
