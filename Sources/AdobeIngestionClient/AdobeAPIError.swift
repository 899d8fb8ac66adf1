import Foundation
import IngestionModel

/// What went wrong with a call, as something a caller can act on.
/// No case ever holds a secret or a token.
public enum AdobeAPIError: Error, Equatable, CustomStringConvertible {
    /// IMS refused the credentials (wrong client id, secret or scope).
    case authenticationFailed(status: Int, code: String?, message: String?)
    /// The API still answered 401 with a freshly issued token.
    case unauthorized(code: String?, message: String?)
    case forbidden(code: String?, message: String?)
    case notFound(message: String?)
    /// 429, after the retries; `retryAfter` is what the last answer asked for.
    case throttled(retryAfter: Duration?)
    case serverError(status: Int, message: String?)
    /// Any other HTTP status the API does not document.
    case unexpectedStatus(Int, message: String?)
    case timeout(Duration)
    case connectionFailed(String)
    case bodyNotJSON(status: Int, snippet: String)
    case bodyTooLarge(limit: Int)
    case missingField(String)
    /// A POST answer of no documented shape; Adobe's own words are kept.
    case unexpectedTriggerResponse(status: String?, info: String?)
    /// The caller was cancelled (the exporter is shutting down): no call was sent,
    /// or its answer was abandoned.
    case cancelled
    /// The tenant's API failed repeatedly: no call is sent until `until` (nil while a probe call is out).
    case circuitOpen(until: Date?)

    /// The `code` label of `acs_ingestion_api_requests_total` for failures that
    /// have no HTTP status of their own.
    public var kind: String {
        switch self {
        case .authenticationFailed(let status, _, _): return String(status)
        case .unauthorized: return "401"
        case .forbidden: return "403"
        case .notFound: return "404"
        case .throttled: return "429"
        case .serverError(let status, _), .unexpectedStatus(let status, _): return String(status)
        case .timeout: return "timeout"
        case .connectionFailed: return "connection_error"
        case .bodyNotJSON, .missingField, .unexpectedTriggerResponse: return "invalid_body"
        case .bodyTooLarge: return "body_too_large"
        case .cancelled: return "cancelled"
        case .circuitOpen: return "circuit_open"
        }
    }

    /// Failures that a later attempt may not repeat (a held call is not retried within
    /// its own call: the guard decides when the tenant's next call goes).
    public var isTransient: Bool {
        switch self {
        case .throttled, .serverError, .timeout, .connectionFailed: return true
        default: return false
        }
    }

    public var description: String {
        func detail(_ code: String?, _ message: String?) -> String {
            [code.map { "code \($0)" }, message].compactMap { $0 }.joined(separator: ": ")
        }
        switch self {
        case .authenticationFailed(let status, let code, let message):
            return "IMS refused the credentials (HTTP \(status)) \(detail(code, message))"
        case .unauthorized(let code, let message):
            return "unauthorized even with a new access token (HTTP 401) \(detail(code, message))"
        case .forbidden(let code, let message):
            return "forbidden (HTTP 403) \(detail(code, message)); check the technical account's product profile and X-Api-Key"
        case .notFound(let message):
            return "not found (HTTP 404)\(message.map { ": \($0)" } ?? ""); check the tenant and mapping id"
        case .throttled(let retryAfter):
            return "throttled (HTTP 429)\(retryAfter.map { "; Retry-After \($0.seconds) s" } ?? "")"
        case .serverError(let status, let message):
            return "server error (HTTP \(status))\(message.map { ": \($0)" } ?? "")"
        case .unexpectedStatus(let status, let message):
            return "unexpected HTTP \(status)\(message.map { ": \($0)" } ?? "")"
        case .timeout(let limit):
            return "no answer within \(limit.seconds) s"
        case .connectionFailed(let why):
            return "connection failed: \(why)"
        case .bodyNotJSON(let status, let snippet):
            return "HTTP \(status) body is not JSON: \(snippet)"
        case .bodyTooLarge(let limit):
            return "response body over \(limit) bytes, refused"
        case .missingField(let name):
            return "response has no \"\(name)\" field"
        case .unexpectedTriggerResponse(let status, let info):
            return "unexpected trigger answer: status \(status ?? "absent"), info \(info ?? "absent")"
        case .cancelled:
            return "cancelled: the exporter is stopping"
        case .circuitOpen(let until?):
            return "not sent: the API failed repeatedly; the next call goes at \(Timestamp.rfc3339(until))"
        case .circuitOpen(nil):
            return "not sent: the API failed repeatedly; a probe call is out"
        }
    }
}
