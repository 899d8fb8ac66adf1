import CGnuTLS
import Dispatch
import Foundation
import HTTPServer
import Synchronization
import WireFormat

/// `basic_auth_users` as the server's authenticator. A bcrypt check costs about
/// 70 ms, so a scraper that sends the same password every 15 s pays it once:
/// successful checks are cached by user and an HMAC-SHA-256 of the password
/// under a key drawn at random for this authenticator (the password itself is
/// never kept). Failures are never cached. Uncached checks run one at a time on
/// a queue of their own, never on libmicrohttpd's threads; when too many wait,
/// the request is answered 503 so guessing cannot starve the scrapes.
public final class BasicAuthenticator: RequestAuthenticator, Sendable {
    /// The realm in `WWW-Authenticate`.
    public let realm: String
    private let users: [String: String]
    private let cacheKey: [UInt8]
    private let cache = Mutex<[String: [[UInt8]]]>([:])
    private let waiting = Atomic<Int>(0)
    /// bcrypt computations so far: what the cache saves, for tests and the bench.
    let uncachedChecks = Atomic<Int>(0)
    private let queue = DispatchQueue(label: "bcrypt", qos: .userInitiated)
    /// Digests remembered per user: a few clients per user is the normal case.
    private static let digestsPerUser = 8
    private let maxWaiting: Int
    /// A hash with the default cost, checked for unknown users so that their
    /// refusal takes as long as a wrong password's.
    private static let decoy = "$2y$10$13Q.WKZOqxc3.lDUFjJQl.3g7hzJtU.fglQan6eFqAQru.Qfuhk1G"

    public init(users: [String: String], realm: String = "acs-ingestion-exporter", maxWaiting: Int = 32) {
        self.users = users
        self.realm = realm
        self.maxWaiting = maxWaiting
        var key = [UInt8](repeating: 0, count: 32)
        precondition(gnutls_rnd(GNUTLS_RND_KEY, &key, key.count) == 0, "GnuTLS could not draw a random key")
        cacheKey = key
    }

    public func authenticate(_ request: HTTPRequest) -> AuthenticationDecision {
        guard let credentials = Authorization.basicCredentials(request.header("authorization")) else {
            return .refused(challenge())
        }
        let digest = self.digest(user: credentials.user, password: credentials.password)
        if isCached(user: credentials.user, digest: digest) { return .allowed(user: credentials.user) }
        // Counted while the check runs, not from here: a request refused or dropped before its
        // check starts (a limit, a closed connection) must not hold a place for good.
        return .pending { [self] in
            if waiting.add(1, ordering: .relaxed).newValue > maxWaiting {
                waiting.subtract(1, ordering: .relaxed)
                return .refused(HTTPResponse(status: 503, headers: [("Retry-After", "1")],
                                             body: Array("too many authentication attempts in progress\n".utf8)).reply)
            }
            defer { waiting.subtract(1, ordering: .relaxed) }
            let matched = await withCheckedContinuation { continuation in
                queue.async {
                    self.uncachedChecks.add(1, ordering: .relaxed)
                    let hash = self.users[credentials.user]
                    let matched = Bcrypt.verify(credentials.password, against: hash ?? Self.decoy) && hash != nil
                    continuation.resume(returning: matched)
                }
            }
            guard matched else { return .refused(challenge()) }
            remember(user: credentials.user, digest: digest)
            return .allowed(user: credentials.user)
        }
    }

    /// Checks a password without the cache, on the caller's thread (for tools and tests).
    public func verify(user: String, password: String) -> Bool {
        guard let hash = users[user] else { return false }
        return Bcrypt.verify(Array(password.utf8), against: hash)
    }

    private func challenge() -> HTTPReply {
        HTTPResponse(status: 401, headers: [("WWW-Authenticate", Authorization.basicChallenge(realm: realm)),
                                            ("Content-Type", "text/plain; charset=utf-8")],
                     body: Array("authentication required\n".utf8)).reply
    }

    private func digest(user: String, password: [UInt8]) -> [UInt8] {
        // The user is part of the message, so one password's digest means nothing for another user.
        let message = Array(user.utf8) + [0] + password
        var output = [UInt8](repeating: 0, count: 32)
        _ = gnutls_hmac_fast(GNUTLS_MAC_SHA256, cacheKey, cacheKey.count, message, message.count, &output)
        return output
    }

    private func isCached(user: String, digest: [UInt8]) -> Bool {
        let known = cache.withLock { $0[user] ?? [] }
        // Every remembered digest is compared in full, in constant time.
        return known.reduce(false) { found, candidate in ConstantTime.equals(candidate, digest) || found }
    }

    private func remember(user: String, digest: [UInt8]) {
        cache.withLock { cache in
            var known = cache[user] ?? []
            guard !known.contains(where: { ConstantTime.equals($0, digest) }) else { return }
            if known.count >= Self.digestsPerUser { known.removeFirst() }
            known.append(digest)
            cache[user] = known
        }
    }
}
