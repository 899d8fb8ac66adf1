import Foundation
import PostgresNIO
import IngestionStore

/// Where the PostgreSQL store lives and how to reach it: what
/// `storage.url: postgres://user@host:5432/dbname?sslmode=verify-full` says, the
/// password (given apart from the URL, from a file or the environment) and the
/// size of the connection pool.
///
/// The password never appears in `location`, `description`, a mirror or an error.
public struct PostgresConfiguration: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// libpq's `sslmode` values this client implements.
    public enum SSLMode: String, Sendable, CaseIterable {
        /// No TLS.
        case disable
        /// TLS when the server offers it, without verifying its certificate (libpq's default).
        case prefer
        /// TLS or no connection; the certificate is not verified.
        case require
        /// TLS, and a certificate signed by a trusted CA.
        case verifyCA = "verify-ca"
        /// TLS, a certificate signed by a trusted CA, for the host named in the URL.
        case verifyFull = "verify-full"
    }

    public var host: String
    public var port: Int
    public var username: String
    public var database: String
    public var sslMode: SSLMode
    /// PEM file of the CA(s) to trust (`sslrootcert=`); the system's roots when nil.
    public var sslRootCert: String?
    /// Connections the pool may open.
    public var poolSize: Int
    /// How long a statement waits for a connection before the store reports `.unavailable`.
    public var connectTimeout: Duration
    /// How long one call may take once it has a connection (`storage.timeout`): past it
    /// the connection is closed and the call fails `.unavailable`. The server enforces it
    /// too (`statement_timeout`; `lock_timeout` half of it), and drops a client gone quiet
    /// inside a transaction after twice it (`idle_in_transaction_session_timeout`).
    public var callTimeout: Duration = .seconds(10)
    /// Sets the session read-only (the `report` command): every write fails.
    public var readOnly = false
    let password: Password?

    /// Parses `postgres://user@host:5432/dbname?sslmode=…&sslrootcert=/path`
    /// (`postgresql://` too). A password in the URL is refused: it would end up in
    /// configuration files, process lists and logs; pass it as `password`.
    public init(url: String, password: String?, poolSize: Int = 10,
                connectTimeout: Duration = .seconds(10)) throws(PostgresURLError) {
        guard let components = URLComponents(string: url),
              let scheme = components.scheme, ["postgres", "postgresql"].contains(scheme) else {
            throw PostgresURLError("not a postgres:// URL (postgres://user@host:5432/dbname?sslmode=verify-full)")
        }
        // Checked before anything is echoed, so that no message can quote it.
        guard components.percentEncodedPassword == nil else {
            throw PostgresURLError("a password in the URL is not accepted: give it with storage.password_file or ${VAR}")
        }
        guard let user = components.user, !user.isEmpty else {
            throw PostgresURLError("the URL names no user (postgres://USER@host:5432/dbname)")
        }
        guard var host = components.host, !host.isEmpty else {
            throw PostgresURLError("the URL names no host (postgres://user@HOST:5432/dbname)")
        }
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        let database = String(components.path.drop { $0 == "/" })
        guard !database.isEmpty, !database.contains("/") else {
            throw PostgresURLError("the URL names no database (postgres://user@host:5432/DBNAME)")
        }
        let port = components.port ?? 5432
        guard (1...65535).contains(port) else { throw PostgresURLError("port \(port) is not between 1 and 65535") }
        guard poolSize >= 1 else { throw PostgresURLError("the pool size must be at least 1, got \(poolSize)") }

        var sslMode = SSLMode.prefer
        var sslRootCert: String?
        for item in components.queryItems ?? [] {
            switch item.name {
            case "sslmode":
                guard let mode = item.value.flatMap(SSLMode.init(rawValue:)) else {
                    throw PostgresURLError("sslmode must be one of \(SSLMode.allCases.map(\.rawValue).joined(separator: ", ")); got \"\(item.value ?? "")\"")
                }
                sslMode = mode
            case "sslrootcert":
                guard let path = item.value, !path.isEmpty else { throw PostgresURLError("sslrootcert needs a file path") }
                sslRootCert = path
            default:
                throw PostgresURLError("unknown URL parameter \"\(item.name)\" (known: sslmode, sslrootcert)")
            }
        }
        if sslRootCert != nil && [.disable, .prefer, .require].contains(sslMode) {
            throw PostgresURLError("sslrootcert is only used with sslmode=verify-ca or verify-full")
        }

        self.host = host
        self.port = port
        self.username = user
        self.database = database
        self.sslMode = sslMode
        self.sslRootCert = sslRootCert
        self.poolSize = poolSize
        self.connectTimeout = connectTimeout
        self.password = password.map(Password.init)
    }

    /// `postgres://host:5432/dbname`: names the database in log lines and errors.
    public var location: String {
        "postgres://\(host.contains(":") ? "[\(host)]" : host):\(port)/\(database)"
    }

    public var description: String { "\(location) (user \(username), sslmode \(sslMode.rawValue))" }
    public var debugDescription: String { description }
    public var customMirror: Mirror {
        Mirror(self, children: ["location": location, "username": username, "sslMode": sslMode.rawValue,
                                "poolSize": poolSize], displayStyle: .struct)
    }
}

/// A storage URL that cannot be used; the message never quotes a password.
public struct PostgresURLError: Error, CustomStringConvertible, Equatable, Sendable {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// The password, kept out of every description and mirror.
struct Password: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    let value: String
    var description: String { "<redacted>" }
    var debugDescription: String { description }
    var customMirror: Mirror { Mirror(self, children: []) }
}

extension PostgresConfiguration {
    /// The TLS settings `sslmode` and `sslrootcert` ask for. Reads the CA file now,
    /// so that a missing or unreadable file is an error at start-up, not a failed
    /// handshake later.
    func tlsConfiguration() throws(StoreError) -> TLSConfiguration? {
        guard sslMode != .disable else { return nil }
        var tls = TLSConfiguration.makeClientConfiguration()
        switch sslMode {
        case .disable, .prefer, .require: tls.certificateVerification = .none
        case .verifyCA: tls.certificateVerification = .noHostnameVerification
        case .verifyFull: tls.certificateVerification = .fullVerification
        }
        if let sslRootCert {
            guard FileManager.default.isReadableFile(atPath: sslRootCert) else {
                throw StoreError(.failed, "database \(location): cannot read sslrootcert \(sslRootCert): no such readable file")
            }
            do {
                tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(sslRootCert))
            } catch {
                throw StoreError(.failed, "database \(location): cannot read sslrootcert \(sslRootCert): not a PEM certificate file")
            }
        }
        return tls
    }

    func clientConfiguration() throws(StoreError) -> PostgresClient.Configuration {
        let tls: PostgresClient.Configuration.TLS
        switch (sslMode, try tlsConfiguration()) {
        case (.disable, _), (_, nil): tls = .disable
        case (.prefer, let config?): tls = .prefer(config)
        case (_, let config?): tls = .require(config)
        }
        var configuration = PostgresClient.Configuration(host: host, port: port, username: username,
                                                         password: password?.value, database: database, tls: tls)
        configuration.options.maximumConnections = poolSize
        configuration.options.additionalStartupParameters = startupParameters + sessionTimeouts
        return configuration
    }

    /// The same server and settings for one connection outside the pool: with `bounded`, the
    /// pool's session time-outs too (a store call before the pool runs); without, none (the
    /// migrations, the probe of an unreachable server, an import).
    func connectionConfiguration(bounded: Bool) throws(StoreError) -> PostgresConnection.Configuration {
        let tls: PostgresConnection.Configuration.TLS
        do {
            switch (sslMode, try tlsConfiguration()) {
            case (.disable, _), (_, nil): tls = .disable
            case (.prefer, let config?): tls = .prefer(try NIOSSLContext(configuration: config))
            case (_, let config?): tls = .require(try NIOSSLContext(configuration: config))
            }
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(.failed, "database \(location): cannot set up TLS: \(oneLine(error))")
        }
        var configuration = PostgresConnection.Configuration(host: host, port: port, username: username,
                                                             password: password?.value, database: database, tls: tls)
        configuration.options.additionalStartupParameters = startupParameters + (bounded ? sessionTimeouts : [])
        return configuration
    }

    /// The pool's sessions: the server ends what the client stopped waiting for, and
    /// notices a peer gone from the network (TCP keepalives every 10 s after 30 s idle).
    private var sessionTimeouts: [(String, String)] {
        let milliseconds = callTimeout.components.seconds * 1000 + callTimeout.components.attoseconds / 1_000_000_000_000_000
        return [("statement_timeout", "\(milliseconds)"), ("lock_timeout", "\(max(1, milliseconds / 2))"),
                ("idle_in_transaction_session_timeout", "\(milliseconds * 2)"),
                ("tcp_keepalives_idle", "30"), ("tcp_keepalives_interval", "10"), ("tcp_keepalives_count", "3")]
    }

    private var startupParameters: [(String, String)] {
        var parameters = [("application_name", "acs-ingestion-exporter")]
        if readOnly { parameters.append(("default_transaction_read_only", "on")) }
        return parameters
    }
}
