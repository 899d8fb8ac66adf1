import ExporterAPI
import HTTPServer
import IngestionStore

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

    /// A store call failed while `doing` something: an outage is 503 with Retry-After
    /// (the client may try again; nothing it sent was half-stored), a request retention
    /// already counted is 409, anything else 500.
    init(_ error: StoreError, doing: String) {
        switch error.kind {
        case .alreadyCounted: self.init(409, error.description)
        case _ where error.isOutage:
            self.init(503, "\(doing): the store is unavailable (\(error)); try again later", headers: [("Retry-After", "30")])
        default: self.init(500, "\(doing): \(error)")
        }
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
