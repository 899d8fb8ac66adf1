import ArgumentParser
import Foundation
import IngestionStore
import PostgresStore
import SQLiteStore

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Copy a whole history from one store to another (SQLite to PostgreSQL, or back).",
        discussion: """
        Copies the registered mappings, every request (under its row id) with its observations, the keys of \
        requests removed by retention, each schedule's trigger plan and the POSTs whose answer was never \
        recorded, and the running totals the counters and histograms continue from, exactly; then compares \
        the two stores row by row. Rows the target already holds with the same \
        values are left alone, so the command can be run again: a second run writes nothing. Stop the exporter \
        that writes the source first.

        A store is sqlite:PATH or postgres://user@host:5432/dbname?sslmode=verify-full (disable, prefer, \
        require, verify-ca, verify-full; sslrootcert=/path for a CA file). The PostgreSQL password is read \
        from --password-file, else from the PGPASSWORD environment variable; it is never printed. The source \
        is only read; a PostgreSQL target is created (migrated) when empty.
        """)

    @Option(help: "The store to copy from: sqlite:PATH or postgres://user@host:5432/dbname?sslmode=….")
    var from: String

    @Option(help: "The store to copy to: sqlite:PATH or postgres://user@host:5432/dbname?sslmode=….")
    var to: String

    @Option(name: .customLong("password-file"), help: "File holding the PostgreSQL password (default: $PGPASSWORD).")
    var passwordFile: String?

    @Option(name: .customLong("batch-size"), help: "Rows read and written per transaction.")
    var batchSize = 5_000

    func run() async throws {
        guard batchSize > 0 else { fail("--batch-size must be at least 1, got \(batchSize)") }
        let password = readPassword()
        let source = await open(from, password: password, asSource: true)
        let target = await open(to, password: password, asSource: false)
        say("copying \(source.location) to \(target.location)")
        do throws(StoreError) {
            let report = try await StoreCopy.copy(from: source, to: target, batchSize: batchSize)
            say(report.description)
            let copied = try await StoreDigest.of(source, batchSize: batchSize)
            let held = try await StoreDigest.of(target, batchSize: batchSize)
            guard copied == held else {
                fail("the target differs from the source after the copy (source: \(copied); target: \(held)); "
                     + "was an exporter writing the source? Stop it and run migrate again")
            }
            say(report.wroteNothing ? "nothing to copy: the target already holds this history (\(held))"
                                    : "the target holds the same history as the source: \(held)")
        } catch {
            fail(error.description)
        }
        await source.close()
        await target.close()
    }

    /// The password of a PostgreSQL store: the file's first line, or $PGPASSWORD (libpq's variable).
    private func readPassword() -> String? {
        guard let passwordFile else { return ProcessInfo.processInfo.environment["PGPASSWORD"] }
        do {
            let text = try String(contentsOfFile: passwordFile, encoding: .utf8)
            return String(text.prefix { $0 != "\n" && $0 != "\r" })
        } catch {
            fail("cannot read --password-file \(passwordFile): \(error.localizedDescription)")
        }
    }

    /// Opens `sqlite:PATH` or a `postgres://` URL. A source is opened read-only (an
    /// SQLite source must exist); a target is created and migrated as the exporter would.
    private func open(_ spec: String, password: String?, asSource: Bool) async -> any StoreTransfer {
        let flag = asSource ? "--from" : "--to"
        // A copy counts nothing, so the stores need no histogram bounds.
        do throws(StoreError) {
            if spec.hasPrefix("sqlite:") {
                let path = String(spec.dropFirst("sqlite:".count))
                guard !path.isEmpty else { fail("\(flag) sqlite: needs a path (sqlite:/var/lib/acs-ingestion.sqlite)") }
                return asSource ? try SQLiteIngestionStore(readOnlyPath: path) : try SQLiteIngestionStore(path: path, durationBounds: [])
            }
            guard spec.hasPrefix("postgres://") || spec.hasPrefix("postgresql://") else {
                fail("\(flag) must be sqlite:PATH or postgres://user@host:5432/dbname")
            }
            var configuration: PostgresConfiguration
            do {
                configuration = try PostgresConfiguration(url: spec, password: password, poolSize: 2)
            } catch {
                fail("\(flag): \(error.description)")
            }
            configuration.readOnly = asSource
            return try await PostgresIngestionStore.connect(configuration, durationBounds: [])
        } catch {
            fail(error.description)
        }
    }
}
