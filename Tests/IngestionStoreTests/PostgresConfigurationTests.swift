import Foundation
import PostgresStore
import Testing

/// `storage.url` as the PostgreSQL store reads it; no server needed.
@Suite("PostgreSQL URL")
struct PostgresConfigurationTests {
    @Test func aFullURLIsRead() throws {
        let configuration = try PostgresConfiguration(
            url: "postgres://acs@db.example.com:6543/ingestion?sslmode=verify-full&sslrootcert=/etc/ssl/ca.pem", password: "pw", poolSize: 7)
        #expect(configuration.host == "db.example.com" && configuration.port == 6543)
        #expect(configuration.username == "acs" && configuration.database == "ingestion")
        #expect(configuration.sslMode == .verifyFull && configuration.sslRootCert == "/etc/ssl/ca.pem")
        #expect(configuration.poolSize == 7)
        #expect(configuration.location == "postgres://db.example.com:6543/ingestion")
    }

    @Test func defaultsAreLibpqs() throws {
        let configuration = try PostgresConfiguration(url: "postgresql://acs@db/ingestion", password: nil)
        #expect(configuration.port == 5432 && configuration.sslMode == .prefer && configuration.sslRootCert == nil)
        #expect(configuration.poolSize == 10)
    }

    @Test func escapedNamesAndIPv6HostsAreRead() throws {
        let configuration = try PostgresConfiguration(url: "postgres://acs%40corp@[::1]:5433/my%20db?sslmode=disable", password: nil)
        #expect(configuration.username == "acs@corp" && configuration.host == "::1" && configuration.database == "my db")
        #expect(configuration.location == "postgres://[::1]:5433/my db")
    }

    @Test func thePasswordAppearsNowhere() throws {
        let configuration = try PostgresConfiguration(url: "postgres://acs@db:5432/ingestion", password: "hunter2-secret")
        var dumped = ""
        dump(configuration, to: &dumped)
        for text in [configuration.location, configuration.description, String(reflecting: configuration), dumped] {
            #expect(!text.contains("hunter2-secret"))
        }
    }

    @Test(arguments: [
        ("mysql://acs@db/x", "not a postgres:// URL"),
        ("postgres://acs:hunter2@db/x", "a password in the URL is not accepted"),
        ("postgres://db/x", "names no user"),
        ("postgres://acs@db", "names no database"),
        ("postgres://acs@db/x?sslmode=allow", "sslmode must be one of disable, prefer, require, verify-ca, verify-full"),
        ("postgres://acs@db/x?sslmode=require&sslrootcert=/ca.pem", "sslrootcert is only used with"),
        ("postgres://acs@db/x?connect_timeout=3", "unknown URL parameter \"connect_timeout\""),
    ])
    func aBadURLIsRefusedWithTheReason(url: String, reason: String) {
        #expect {
            try PostgresConfiguration(url: url, password: nil)
        } throws: { error in
            let message = "\(error)"
            return message.contains(reason) && !message.contains("hunter2")
        }
    }

    @Test func aPoolNeedsAConnection() {
        #expect(throws: PostgresURLError.self) { try PostgresConfiguration(url: "postgres://acs@db/x", password: nil, poolSize: 0) }
    }
}
