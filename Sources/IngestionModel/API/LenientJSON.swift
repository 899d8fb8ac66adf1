import Foundation

/// A JSON scalar read without insisting on its type: Adobe's documentation shows
/// the same field as a number in one example and as a string in another.
enum LenientScalar: Decodable {
    case integer(Int64)
    case double(Double)
    case string(String)
    case bool(Bool)
    case null

    init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null; return }
        if let value = try? container.decode(Int64.self) { self = .integer(value); return }
        if let value = try? container.decode(Double.self) { self = .double(value); return }
        if let value = try? container.decode(String.self) { self = .string(value); return }
        if let value = try? container.decode(Bool.self) { self = .bool(value); return }
        throw DecodingError.typeMismatch(
            LenientScalar.self,
            .init(codingPath: decoder.codingPath, debugDescription: "not a scalar"))
    }

    var text: String? {
        switch self {
        case .integer(let value): return String(value)
        case .double(let value):
            if value.rounded() == value, abs(value) < 1e15 { return String(Int64(value)) }
            return String(value)
        case .string(let value): return value
        case .bool, .null: return nil
        }
    }

    var integer: Int? {
        switch self {
        case .integer(let value): return Int(exactly: value)
        case .double(let value): return value.rounded() == value ? Int(exactly: value) : nil
        case .string(let value): return Int(value.trimmingCharacters(in: .whitespaces))
        case .bool, .null: return nil
        }
    }
}

/// Any JSON object, read field by field; fields that are not scalars read as absent.
struct LenientObject: Decodable {
    private let fields: [String: LenientScalar]

    private struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: AnyKey.self)
        var fields: [String: LenientScalar] = [:]
        for key in container.allKeys {
            if let value = try? container.decode(LenientScalar.self, forKey: key) {
                fields[key.stringValue] = value
            }
        }
        self.fields = fields
    }

    subscript(key: String) -> LenientScalar? { fields[key] }

    func text(_ key: String) -> String? { fields[key]?.text }
    func integer(_ key: String) -> Int? { fields[key]?.integer }
    func has(_ key: String) -> Bool { fields[key] != nil }

    /// Parses `bytes` as a JSON object or says why it is not one.
    static func parse(_ bytes: [UInt8]) throws(ResponseDecodingError) -> LenientObject {
        guard !bytes.isEmpty else { throw .emptyBody }
        do {
            return try JSONDecoder().decode(LenientObject.self, from: Data(bytes))
        } catch {
            throw .notJSON(snippet: ResponseDecodingError.snippet(of: bytes))
        }
    }
}

/// Why a response body could not be read as the API documents it.
public enum ResponseDecodingError: Error, Equatable, CustomStringConvertible {
    case emptyBody
    case notJSON(snippet: String)
    case missingField(String)

    public var description: String {
        switch self {
        case .emptyBody: return "empty body"
        case .notJSON(let snippet): return "body is not a JSON object: \(snippet)"
        case .missingField(let name): return "body has no \"\(name)\" field"
        }
    }

    /// The start of a body on one line, for error messages (an HTML error page, say).
    static func snippet(of bytes: [UInt8], limit: Int = 80) -> String {
        let text = String(decoding: bytes.prefix(limit), as: UTF8.self)
        let oneLine = text.split(whereSeparator: \.isNewline).joined(separator: " ")
        return bytes.count > limit ? oneLine + "…" : oneLine
    }
}
