/// An ingestion request id. Adobe shows it as a JSON number in its examples and
/// as `<value>` elsewhere, so it is accepted as number or string and kept as text.
public struct RequestID: Hashable, Sendable, Comparable, CustomStringConvertible, ExpressibleByStringLiteral {
    public let rawValue: String

    public init(_ rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { self.rawValue = value }
    public init(_ number: Int) { self.rawValue = String(number) }

    /// Numeric ids order numerically (9 before 10); others lexically.
    public static func < (lhs: RequestID, rhs: RequestID) -> Bool {
        if let l = Int(lhs.rawValue), let r = Int(rhs.rawValue) { return l < r }
        return lhs.rawValue < rhs.rawValue
    }

    public var description: String { rawValue }

    /// An id as Adobe issues them: a positive whole number, written in digits
    /// (leading zeros dropped). Anything else (`-5`, `0`, `3520\0`, text) is no
    /// request upstream can have, and polling it would last forever.
    public init?(validating text: String) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty, trimmed.utf8.count <= 19, trimmed.utf8.allSatisfy({ (48...57).contains($0) }),
              let number = Int64(trimmed), number > 0 else { return nil }
        self.rawValue = String(number)
    }

    /// What `init(validating:)` accepts, for error messages.
    public static let validForm = "must be a positive whole number (Adobe's request ids are), as a JSON number or digits"
}

/// Where a tracked request came from.
public enum RequestOrigin: String, Sendable, Hashable {
    /// This exporter POSTed it on a mapping's schedule or on an operator's command.
    case triggered
    /// A POST answered "already in progress": the running request was adopted.
    case adopted
    /// An operator or another scheduler asked the exporter to follow it.
    case external
}

/// A mapping within a tenant: the unit every metric is labelled by.
public struct MappingKey: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let tenant: String
    public let mapping: String

    public init(tenant: String, mapping: String) {
        self.tenant = tenant
        self.mapping = mapping
    }

    public static func < (lhs: MappingKey, rhs: MappingKey) -> Bool {
        (lhs.tenant, lhs.mapping) < (rhs.tenant, rhs.mapping)
    }

    public var description: String { "\(tenant)/\(mapping)" }
}

import Foundation
