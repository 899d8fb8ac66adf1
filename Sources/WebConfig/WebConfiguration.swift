import HTTPServer

/// exporter-toolkit's web configuration file (`--web.config.file`), as read:
/// file names not yet opened, hashes not yet checked against a password. Keys
/// and meanings follow exporter-toolkit's docs/web-configuration.md so an
/// operator can reuse the file written for node_exporter.
public struct WebConfiguration: Sendable, Equatable {
    public var tlsServerConfig: TLSServerConfig?
    public var httpServerConfig = HTTPServerConfig()
    /// User name → bcrypt hash. The hashes are secrets: never logged.
    public var basicAuthUsers: [String: String] = [:]

    public init() {}

    public struct TLSServerConfig: Sendable, Equatable {
        /// Exactly one of `cert` (inline PEM) and `certFile`, and one of `key` and `keyFile`.
        public var cert: String?
        public var certFile: String?
        public var key: String?
        public var keyFile: String?
        public var clientCA: String?
        public var clientCAFile: String?
        public var clientAuthType: ClientCertificatePolicy = .none
        public var clientAllowedSANs: [String] = []
        public var minVersion: TLSVersion = .tls12
        public var maxVersion: TLSVersion = .tls13
        public var preferServerCipherSuites = true

        public init() {}
    }

    public struct HTTPServerConfig: Sendable, Equatable {
        /// Accepted for compatibility; this server speaks HTTP/1.1 only, which every
        /// Prometheus falls back to.
        public var http2 = true
        /// The headers exporter-toolkit allows, in file order.
        public var headers: [Header] = []

        public init() {}
    }

    public struct Header: Sendable, Equatable {
        public var name: String
        public var value: String
    }

    /// The response headers exporter-toolkit lets a web configuration set, and
    /// the values it accepts for each (nil: any value).
    public static let allowedHeaders: [String: Set<String>?] = [
        "Content-Security-Policy": nil,
        "X-Frame-Options": ["deny", "sameorigin"],
        "X-Content-Type-Options": ["nosniff"],
        "X-XSS-Protection": nil,
        "Strict-Transport-Security": nil,
    ]
}

/// Problems in a web configuration file, each with its file, line (when known)
/// and key. The description is one line: the first problem, and how many more.
public struct WebConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    public var problems: [String]

    public init(problems: [String]) { self.problems = problems }

    public init(_ file: String, line: Int? = nil, key: String, _ why: String) {
        problems = ["\(file)\(line.map { ":\($0)" } ?? ""): \(key): \(why)"]
    }

    public var description: String {
        guard let first = problems.first else { return "invalid web configuration" }
        return problems.count == 1 ? first : "\(first) (and \(problems.count - 1) more; run check-config)"
    }
}
