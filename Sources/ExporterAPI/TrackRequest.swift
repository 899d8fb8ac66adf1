import Foundation
import IngestionModel

/// `POST /api/v1/requests`: follow a request triggered elsewhere.
/// `{"tenant": "acme-mkt-prod1", "mapping": "XDM44", "requestId": 3520}`.
public struct TrackRequest: Codable, Sendable, Equatable {
    public var tenant: String
    public var mapping: String
    public var requestID: RequestID

    enum CodingKeys: String, CodingKey {
        case tenant, mapping
        case requestID = "requestId"
    }

    public init(tenant: String, mapping: String, requestID: RequestID) {
        self.tenant = tenant
        self.mapping = mapping
        self.requestID = requestID
    }

    /// Reads the body, naming the first field that is wrong.
    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        tenant = try Self.name(container, .tenant)
        mapping = try Self.name(container, .mapping)
        guard container.contains(.requestID) else { throw BodyError(field: "requestId", "is required") }
        requestID = try Self.requestID(container)
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(tenant, forKey: .tenant)
        try container.encode(mapping, forKey: .mapping)
        // Adobe writes ids as numbers; a valid id is always one.
        if let number = Int64(requestID.rawValue) {
            try container.encode(number, forKey: .requestID)
        } else {
            try container.encode(requestID.rawValue, forKey: .requestID)
        }
    }

    private static func name(_ container: KeyedDecodingContainer<CodingKeys>, _ key: CodingKeys) throws -> String {
        guard container.contains(key) else { throw BodyError(field: key.stringValue, "is required") }
        guard let text = try? container.decode(String.self, forKey: key), !text.isEmpty else {
            throw BodyError(field: key.stringValue, "must be a non-empty string")
        }
        guard !text.contains("\u{0}") else { throw BodyError(field: key.stringValue, "must not contain NUL") }
        return text
    }

    private static func requestID(_ container: KeyedDecodingContainer<CodingKeys>) throws -> RequestID {
        let text: String
        if let number = try? container.decode(Int64.self, forKey: .requestID) {
            text = String(number)
        } else if let string = try? container.decode(String.self, forKey: .requestID) {
            text = string
        } else if (try? container.decode(Double.self, forKey: .requestID)) != nil {
            throw BodyError(field: "requestId", RequestID.validForm)
        } else {
            throw BodyError(field: "requestId", "must be a number or a string")
        }
        guard let id = RequestID(validating: text) else { throw BodyError(field: "requestId", RequestID.validForm) }
        return id
    }
}

/// A request body the API refuses, with the words a client needs to fix it.
public struct BodyError: Error, Sendable, Equatable, CustomStringConvertible {
    public let description: String

    public init(_ description: String) { self.description = description }

    init(field: String, _ problem: String) { self.init("field \"\(field)\" \(problem)") }
}

/// JSON as the API writes and reads it: keys sorted, slashes unescaped.
public enum APIJSON {
    /// The body's bytes and a newline.
    public static func encode<Body: Encodable>(_ body: Body, pretty: Bool = false) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.sortedKeys, .withoutEscapingSlashes, .prettyPrinted]
                                          : [.sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(body)) + [UInt8(ascii: "\n")]
    }

    /// Reads a request body, or says what is wrong with it in one line.
    public static func decodeBody<Body: Decodable>(_ type: Body.Type, from bytes: [UInt8]) throws(BodyError) -> Body {
        guard !bytes.isEmpty else { throw BodyError("request body is empty; expected a JSON object") }
        do {
            return try JSONDecoder().decode(Body.self, from: Data(bytes))
        } catch let error as BodyError {
            throw error
        } catch DecodingError.typeMismatch(_, let context) where context.codingPath.isEmpty {
            throw BodyError("request body must be a JSON object")
        } catch {
            throw BodyError("request body is not valid JSON")
        }
    }

    /// Reads a response body (the command line's side).
    public static func decode<Body: Decodable>(_ type: Body.Type, from data: Data) throws -> Body {
        try JSONDecoder().decode(Body.self, from: data)
    }
}
