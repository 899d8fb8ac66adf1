import Foundation

/// The `Authorization` header's schemes, read and written in one place.
public enum Authorization {
    /// A user and password from `Authorization: Basic …`. The password is a secret:
    /// never log it, never put it in an error.
    public struct BasicCredentials: Sendable, Equatable {
        public let user: String
        public let password: [UInt8]

        public init(user: String, password: [UInt8]) {
            self.user = user
            self.password = password
        }
    }

    /// `Bearer <token>` (the scheme is case-insensitive), or nil.
    public static func bearerToken(_ header: String?) -> String? {
        guard let (scheme, value) = split(header), scheme == "bearer", !value.isEmpty else { return nil }
        return value
    }

    /// The value of an `Authorization` header carrying `token`.
    public static func bearer(_ token: String) -> String { "Bearer " + token }

    /// `Basic base64(user:password)` (RFC 7617), or nil when malformed. A user
    /// name holds no colon; neither part may hold a NUL or another control
    /// character (crypt(3) would stop at a NUL, so "pass\0x" could pass as "pass").
    public static func basicCredentials(_ header: String?) -> BasicCredentials? {
        guard let (scheme, value) = split(header), scheme == "basic",
              let decoded = Data(base64Encoded: value) else { return nil }
        let bytes = Array(decoded)
        guard let colon = bytes.firstIndex(of: UInt8(ascii: ":")),
              !bytes.contains(where: { $0 < 0x20 || $0 == 0x7F }),
              let user = String(validating: bytes[..<colon], as: UTF8.self), !user.isEmpty
        else { return nil }
        return BasicCredentials(user: user, password: Array(bytes[(colon + 1)...]))
    }

    /// The value of an `Authorization` header carrying a user and password.
    public static func basic(user: String, password: String) -> String {
        "Basic " + Data((user + ":" + password).utf8).base64EncodedString()
    }

    /// The `WWW-Authenticate` value that asks for basic credentials. The realm is
    /// quoted; quotes and backslashes in it are escaped.
    public static func basicChallenge(realm: String) -> String {
        let escaped = realm.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
        return "Basic realm=\"\(escaped)\", charset=\"UTF-8\""
    }

    /// The scheme (lower-cased) and its credentials.
    static func split(_ header: String?) -> (String, String)? {
        guard let header else { return nil }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2 else { return nil }
        return (parts[0].lowercased(), parts[1].trimmingCharacters(in: .whitespaces))
    }
}
