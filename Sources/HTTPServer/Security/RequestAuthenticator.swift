/// Decides whether a request may reach its route. The server consults it
/// before routing, for every route not in `Configuration.unauthenticatedRoutes`
/// (and for paths no route takes, so a 404 does not reveal which paths exist
/// to a client without credentials).
///
/// `authenticate` runs on libmicrohttpd's threads and must not block: answer
/// from a cache or refuse at once, and return `.pending` for work that takes
/// time (a bcrypt check), which then runs with the connection suspended.
public protocol RequestAuthenticator: Sendable {
    func authenticate(_ request: HTTPRequest) -> AuthenticationDecision
}

public enum AuthenticationDecision: Sendable {
    /// Let the request through; `user` is who authenticated (nil when nobody
    /// had to), and reaches the handler as `HTTPRequest.authenticatedUser`.
    case allowed(user: String?)
    /// Answer this instead (401 with `WWW-Authenticate`, or 503 when overloaded).
    case refused(HTTPReply)
    /// Decide later, off libmicrohttpd's threads.
    case pending(@Sendable () async -> AuthenticationDecision)
}
