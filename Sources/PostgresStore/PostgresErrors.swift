import Foundation
import IngestionModel
import IngestionStore
import PostgresNIO

/// Waiting for a pooled connection took longer than `connectTimeout`.
struct ConnectionWaitTimedOut: Error {}

/// A call had a connection and took longer than `callTimeout`: the server did not answer.
struct CallTimedOut: Error {
    let limit: Duration
}

extension StoreError {
    /// What a PostgresNIO failure means to a caller, as one line naming the
    /// database (`postgres://host:port/db`, never the password) and the operation.
    ///
    /// `.unavailable` for everything that a working server later cures: refused or
    /// dropped connections, a server shutting down or starting, authentication, a
    /// TLS handshake, too many connections. The daemon reports `store_up 0` then
    /// and retries.
    static func postgres(_ error: any Error, location: String, _ operation: String) -> StoreError {
        // The store's own errors (thrown inside a transaction) already say everything.
        if let error = error as? StoreError { return error }
        if let error = error as? PostgresTransactionError, let inner = error.closureError as? StoreError { return inner }
        let (kind, message) = classify(error)
        return StoreError(kind, "database \(location): \(operation): \(message)")
    }

    private static func classify(_ error: any Error) -> (Kind, String) {
        switch error {
        case let error as PostgresTransactionError:
            // The first failure is the one that matters; a failed rollback follows it.
            if let inner = error.closureError ?? error.beginError ?? error.commitError { return classify(inner) }
            return (.failed, oneLine(error.rollbackError.map { "\($0)" } ?? "transaction failed"))
        case let error as PSQLError:
            return classify(error)
        case is ConnectionWaitTimedOut:
            return (.unavailable, "cannot connect")
        case let error as CallTimedOut:
            return (.unavailable, "no answer within \(DurationText.format(error.limit)) (storage.timeout): the server hangs")
        case is CancellationError:
            return (.unavailable, "cancelled")
        case let error as PostgresDecodingError:
            return (.failed, "unexpected value in column \(error.columnName): \(error.code)")
        default:
            return (.failed, oneLine(error))
        }
    }

    private static func classify(_ error: PSQLError) -> (Kind, String) {
        if error.code == .server, let info = error.serverInfo {
            let state = info[.sqlState] ?? ""
            let message = oneLine(info[.message] ?? "server error") + (state.isEmpty ? "" : " (SQLSTATE \(state))")
            return (kind(ofSQLState: state), message)
        }
        let reason = error.underlying.map(oneLine) ?? "\(error.code)"
        switch error.code {
        case .messageDecodingFailure, .unexpectedBackendMessage, .invalidCommandTag, .tooManyParameters:
            return (.failed, "\(error.code): \(reason)")
        case .sslUnsupported:
            return (.unavailable, "the server does not support TLS (sslmode asks for it)")
        case .authMechanismRequiresPassword:
            return (.unavailable, "the server asks for a password and none was given")
        default:
            // Connection refused, closed, TLS handshake, pool shut down, query cancelled.
            guard let underlying = error.underlying else { return (.unavailable, "\(error.code)") }
            return (.unavailable, connectionFailure(underlying) ?? "\(error.code): \(reason)")
        }
    }

    /// NIO's errors in a person's words: which address refused, which TLS check failed.
    private static func connectionFailure(_ error: any Error) -> String? {
        switch error {
        case let error as NIOConnectionError:
            guard !error.connectionErrors.isEmpty else { return "cannot resolve \(error.host)" }
            return error.connectionErrors.map { failure in
                let address = failure.target.ipAddress.map { $0.contains(":") ? "[\($0)]" : $0 } ?? "\(failure.target)"
                return "cannot connect to \(address):\(failure.target.port ?? 0): \(connectionFailure(failure.error) ?? oneLine(failure.error))"
            }.joined(separator: "; ")
        case let error as IOError:
            return String(cString: strerror(error.errnoCode)).lowercased()
        case ChannelError.connectTimeout(let timeout):
            return "no answer within \(timeout.nanoseconds / 1_000_000) ms"
        case let error as NIOSSLError:
            // BoringSSL's reasons (CERTIFICATE_VERIFY_FAILED…), without its source paths.
            let text = "\(error)"
            let reasons = text.split(separator: ":").compactMap { $0.split(separator: " ").first.map(String.init) }
                .filter { $0.count > 3 && $0.allSatisfy { $0.isUppercase || $0 == "_" } }
            let verify = reasons.contains("CERTIFICATE_VERIFY_FAILED")
                ? " (the server's certificate is not signed by a trusted CA, sslrootcert's or the system's, or does not name the host)" : ""
            return "TLS handshake failed: " + (reasons.isEmpty ? oneLine(text) : reasons.joined(separator: ", ")) + verify
        default:
            return nil
        }
    }

    /// SQLSTATE classes (https://www.postgresql.org/docs/15/errcodes-appendix.html).
    static func kind(ofSQLState state: String) -> Kind {
        switch state {
        case "53100": return .full                        // disk_full
        case "XX001", "XX002": return .corrupt            // data_corrupted, index_corrupted
        case "53300", "57P01", "57P02", "57P03", "3D000", // too many connections, shutdown, starting, no such database
             "25006":                                     // read-only transaction: a standby after fail-over
            return .unavailable
        default:
            if state.hasPrefix("08") || state.hasPrefix("28") { return .unavailable } // connection, authorization
            return .failed
        }
    }
}

/// An error's text on one line (NIO's connection errors list every attempt on its own line).
func oneLine(_ error: any Error) -> String { oneLine("\(error)") }

func oneLine(_ text: String) -> String {
    text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: "; ")
}
