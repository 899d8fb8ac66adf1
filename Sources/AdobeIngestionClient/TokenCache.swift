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
        if let pending {
            fetch = pending
        } else {
            let request = self.fetch
            fetch = PendingFetch(Task { try await request() })
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

/// One IMS request shared by every caller that found no valid token. It is
/// cancelled when the last of them is (the exporter stopping), so shutdown never
/// waits on a token request nobody wants any more.
final class PendingFetch: Sendable {
    private let task: Task<AccessToken, Error>
    private let waiters = Mutex(0)

    init(_ task: Task<AccessToken, Error>) { self.task = task }

    func wait() async throws -> AccessToken {
        waiters.withLock { $0 += 1 }
        return try await withTaskCancellationHandler {
            try await task.value
        } onCancel: {
            let remaining = waiters.withLock { count -> Int in
                count -= 1
                return count
            }
            if remaining == 0 { task.cancel() }
        }
    }
}
