import Foundation
import IngestionModel
import Synchronization

/// An IMS access token and when it stops being good.
struct AccessToken: Sendable, Equatable {
    let value: Secret
    let expiresAt: Date
    let renewAt: Date
}

/// Holds the current access token and makes sure that however many callers
/// find it missing or due for renewal at once, only one token request is made.
/// When IMS refuses the credentials (a wrong or revoked secret), it is not asked
/// again before a back-off (1 min, doubling to 30 min): callers get the refusal at
/// once, and a still-valid token keeps being used meanwhile.
actor TokenCache {
    private let time: any TimeSource
    private let fetch: @Sendable () async throws(AdobeAPIError) -> AccessToken
    private var current: AccessToken?
    private var pending: PendingFetch?
    private var refusal: (error: AdobeAPIError, until: Date, backoff: Duration)?

    static let refusalBackoff: ClosedRange<Duration> = .seconds(60) ... .seconds(1800)

    init(time: any TimeSource, fetch: @escaping @Sendable () async throws(AdobeAPIError) -> AccessToken) {
        self.time = time
        self.fetch = fetch
    }

    func validToken() async throws(AdobeAPIError) -> AccessToken {
        let now = time.now()
        if let current, now < current.renewAt { return current }
        if let refusal, now < refusal.until {
            if let current, now < current.expiresAt { return current }
            throw refusal.error
        }
        if Task.isCancelled { throw .cancelled }
        let fetch: PendingFetch
        if let pending, !pending.isAbandoned {
            fetch = pending
        } else {
            fetch = PendingFetch(self.fetch)
            pending = fetch
        }
        do {
            let token = try await fetch.wait()
            if pending === fetch {
                pending = nil
                current = token
                refusal = nil
            }
            return token
        } catch {
            // A caller that left (cancelled) says nothing of the fetch, which may go on for the others.
            if Task.isCancelled { throw .cancelled }
            if pending === fetch {
                pending = nil
                if case .authenticationFailed = error as? AdobeAPIError {
                    let backoff = refusal.map { min($0.backoff * 2, Self.refusalBackoff.upperBound) } ?? Self.refusalBackoff.lowerBound
                    refusal = (error as! AdobeAPIError, time.now() + backoff, backoff)
                }
            }
            // Renewal failed early: the current token is still good until it expires.
            if let current, time.now() < current.expiresAt, !Task.isCancelled { return current }
            throw error as? AdobeAPIError ?? .connectionFailed(Transport.describe(error))
        }
    }

    /// Drops `token` after the API refused it, unless a newer one already replaced it.
    func invalidate(_ token: AccessToken) {
        if current == token { current = nil }
    }
}

/// One IMS request shared by every caller that found no valid token. Each caller
/// leaves as soon as it is cancelled, whoever else still waits (the request may wait
/// out a 429's pause); the request itself is cancelled when the last caller leaves
/// (the exporter stopping), so shutdown never waits on a token nobody wants any more.
final class PendingFetch: Sendable {
    private struct State {
        var result: Result<AccessToken, any Error>?
        /// Callers that joined and neither left nor got the result.
        var joined = 0
        var parked: [UInt64: CheckedContinuation<AccessToken, any Error>] = [:]
        var nextID: UInt64 = 0
        var abandoned = false
    }

    /// Shared with the request's task, which delivers its result here.
    private final class Waiters: Sendable {
        let state = Mutex(State())

        func deliver(_ result: Result<AccessToken, any Error>) {
            let parked = state.withLock { state -> [CheckedContinuation<AccessToken, any Error>] in
                state.result = result
                defer { state.parked = [:] }
                return Array(state.parked.values)
            }
            for continuation in parked { continuation.resume(with: result) }
        }
    }

    private let waiters = Waiters()
    private let task: Task<Void, Never>

    init(_ fetch: @escaping @Sendable () async throws(AdobeAPIError) -> AccessToken) {
        let waiters = waiters
        task = Task {
            do throws(AdobeAPIError) {
                waiters.deliver(.success(try await fetch()))
            } catch {
                waiters.deliver(.failure(error))
            }
        }
    }

    /// True once every caller left before the result: the request was cancelled.
    var isAbandoned: Bool { waiters.state.withLock { $0.abandoned } }

    func wait() async throws -> AccessToken {
        let id = waiters.state.withLock { state -> UInt64 in
            state.joined += 1
            state.nextID += 1
            return state.nextID
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<AccessToken, any Error>) in
                let ready = waiters.state.withLock { state -> Result<AccessToken, any Error>? in
                    if let result = state.result { return result }
                    // Cancelled before parking: the cancellation handler found nothing to resume.
                    if Task.isCancelled { return .failure(CancellationError()) }
                    state.parked[id] = continuation
                    return nil
                }
                if let ready { continuation.resume(with: ready) }
            }
        } onCancel: {
            let (left, last) = waiters.state.withLock { state -> (CheckedContinuation<AccessToken, any Error>?, Bool) in
                guard state.result == nil else { return (nil, false) }
                state.joined -= 1
                let left = state.parked.removeValue(forKey: id)
                if state.joined == 0 { state.abandoned = true }
                return (left, state.joined == 0)
            }
            left?.resume(throwing: CancellationError())
            if last { task.cancel() }
        }
    }
}
