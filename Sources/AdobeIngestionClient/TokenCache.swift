import Foundation
import IngestionModel

/// An IMS access token and when it stops being good.
struct AccessToken: Sendable, Equatable {
    let value: Secret
    let expiresAt: Date
    let renewAt: Date
}

/// Holds the current access token and makes sure that however many callers
/// find it missing or due for renewal at once, only one token request is made.
actor TokenCache {
    private let time: any TimeSource
    private let fetch: @Sendable () async throws(AdobeAPIError) -> AccessToken
    private var current: AccessToken?
    private var pending: Task<AccessToken, Error>?

    init(time: any TimeSource, fetch: @escaping @Sendable () async throws(AdobeAPIError) -> AccessToken) {
        self.time = time
        self.fetch = fetch
    }

    func validToken() async throws(AdobeAPIError) -> AccessToken {
        if let current, time.now() < current.renewAt { return current }
        let task: Task<AccessToken, Error>
        if let pending {
            task = pending
        } else {
            let fetch = self.fetch
            task = Task { try await fetch() }
            pending = task
        }
        do {
            let token = try await task.value
            if pending == task {
                pending = nil
                current = token
            }
            return token
        } catch {
            if pending == task { pending = nil }
            // Renewal failed early: the current token is still good until it expires.
            if let current, time.now() < current.expiresAt { return current }
            throw error as? AdobeAPIError ?? .connectionFailed(Transport.describe(error))
        }
    }

    /// Drops `token` after the API refused it, unless a newer one already replaced it.
    func invalidate(_ token: AccessToken) {
        if current == token { current = nil }
    }
}
