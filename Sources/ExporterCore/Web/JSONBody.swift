import Foundation
import HTTPServer
import IngestionModel
import IngestionStore

/// JSON in and out of the HTTP API.
enum JSONBody {
    static func reply(_ object: Any, status: Int = 200) -> HTTPReply {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        return HTTPResponse.json(Array(data) + [UInt8(ascii: "\n")], status: status).reply
    }

    static func error(_ message: String, status: Int, headers: [(String, String)] = []) -> HTTPReply {
        guard case .response(var response) = reply(["error": message], status: status) else { fatalError() }
        response.headers += headers.map { (name: $0.0, value: $0.1) }
        return .response(response)
    }

    /// The body as a JSON object, or an error naming what is wrong.
    static func object(_ body: [UInt8]) -> Result<[String: Any], APIError> {
        guard !body.isEmpty else { return .failure(APIError(400, "request body is empty; expected a JSON object")) }
        guard let value = try? JSONSerialization.jsonObject(with: Data(body)) else {
            return .failure(APIError(400, "request body is not valid JSON"))
        }
        guard let object = value as? [String: Any] else { return .failure(APIError(400, "request body must be a JSON object")) }
        return .success(object)
    }

    // ISO8601DateFormatter is thread-safe for formatting once configured.
    nonisolated(unsafe) static let timestamp: ISO8601DateFormatter = {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter
    }()

    static func date(_ date: Date?) -> Any { date.map { timestamp.string(from: $0) } ?? NSNull() }

    static func request(_ request: TrackedRequest) -> [String: Any] {
        [
            "tenant": request.key.tenant, "mapping": request.key.mapping, "request_id": request.requestID.rawValue,
            "origin": request.origin.rawValue, "status": request.status.name,
            "raw_status": { if case .unknown(let raw) = request.status { return raw as Any } else { return NSNull() } }(),
            "num_records": request.numRecords, "batch_id": request.batchID ?? NSNull(), "info": request.info ?? NSNull(),
            "acp_code": request.acpCode?.rawValue ?? NSNull(), "first_seen": date(request.firstSeen),
            "last_polled": date(request.lastPolled), "finished_at": date(request.finishedAt),
            "duration_seconds": request.duration ?? NSNull(),
        ]
    }

    static func observation(_ observation: Observation) -> [String: Any] {
        ["observed_at": date(observation.observedAt), "status": observation.status.name,
         "num_records": observation.numRecords, "batch_id": observation.batchID ?? NSNull(), "info": observation.info ?? NSNull()]
    }
}

/// An HTTP API failure: status and a message naming what is wrong.
struct APIError: Error {
    let status: Int
    let message: String
    init(_ status: Int, _ message: String) {
        self.status = status
        self.message = message
    }
    var reply: HTTPReply { JSONBody.error(message, status: status) }
}
