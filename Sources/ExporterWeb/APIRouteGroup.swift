import ExporterAPI
import HTTPServer

/// The routes under `/api/v1`: handlers are async, return a status and a Codable
/// body, and throw `HTTPError`, which the group answers as `{"error": …}`.
/// Write routes pass the group's authorization first.
struct APIRouteGroup {
    private(set) var router: Router
    let authorizeWrite: @Sendable (HTTPRequest) throws(HTTPError) -> Void
    /// Added to every answer of the group (the API's security headers).
    let headers: [(name: String, value: String)]

    typealias Handler<Body> = @Sendable (HTTPRequest) async throws(HTTPError) -> (status: Int, body: Body)

    mutating func read<Body: Encodable & Sendable>(_ method: String, _ pattern: String, _ handler: @escaping Handler<Body>) {
        add(method, pattern, write: false, handler)
    }

    mutating func write<Body: Encodable & Sendable>(_ method: String, _ pattern: String, _ handler: @escaping Handler<Body>) {
        add(method, pattern, write: true, handler)
    }

    private mutating func add<Body: Encodable & Sendable>(_ method: String, _ pattern: String, write: Bool,
                                                          _ handler: @escaping Handler<Body>) {
        let authorize = authorizeWrite
        router.add(method, pattern, .deferred { request in
            do throws(HTTPError) {
                if write { try authorize(request) }
                let (status, body) = try await handler(request)
                return .response(JSONReply.response(body, status: status))
            } catch {
                return error.jsonReply
            }
        }, headers: headers)
    }
}
