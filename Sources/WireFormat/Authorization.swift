/// The `Authorization` header's schemes, read and written in one place.
public enum Authorization {
    /// `Bearer <token>` (the scheme is case-insensitive), or nil.
    public static func bearerToken(_ header: String?) -> String? {
        guard let (scheme, value) = split(header), scheme == "bearer", !value.isEmpty else { return nil }
        return value
    }

    /// The value of an `Authorization` header carrying `token`.
    public static func bearer(_ token: String) -> String { "Bearer " + token }

    /// The scheme (lower-cased) and its credentials.
    static func split(_ header: String?) -> (String, String)? {
        guard let header else { return nil }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2 else { return nil }
        return (parts[0].lowercased(), parts[1].trimmingCharacters(in: .whitespaces))
    }
}

import Foundation
