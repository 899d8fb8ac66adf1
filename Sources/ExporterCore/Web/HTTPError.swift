import ExporterAPI
import HTTPServer

/// A failure a route answers with: its HTTP status and the words a client needs
/// to fix the request. Handlers throw it; the route group gives it its shape.
struct HTTPError: Error, Sendable {
    let status: Int
    let message: String
    var headers: [(name: String, value: String)] = []

    init(_ status: Int, _ message: String, headers: [(name: String, value: String)] = []) {
        self.status = status
        self.message = message
        self.headers = headers
    }

    /// `{"error": "…"}`, as every API answer that is not a success.
    var jsonReply: HTTPReply {
        var response = JSONReply.response(ErrorBody(error: message), status: status)
        response.headers += headers
        return .response(response)
    }
}

/// Encodes API bodies; an encoding failure is a 500 that says so, never an empty body.
enum JSONReply {
    static func response<Body: Encodable>(_ body: Body, status: Int) -> HTTPResponse {
        do {
            return HTTPResponse.json(try APIJSON.encode(body), status: status)
        } catch {
            return HTTPResponse.json(Array(#"{"error":"the answer could not be encoded as JSON"}"#.utf8) + [10], status: 500)
        }
    }
}
