import ArgumentParser
import ExporterConfiguration
import ExporterCore
import Foundation
import ExporterMetrics
import IngestionModel
import IngestionStore
import PostgresStore
import SQLiteStore

/// Which database a command works on: the config file's `storage` section, or `--storage.path`.
struct StorageOptions: ParsableArguments {
    @Option(name: .customLong("config.file"), help: "The exporter's configuration file; its storage section is read.")
    var configFile: String?

    @Option(name: .customLong("storage.path"), help: "An SQLite database file, instead of the config file's storage.")
    var storagePath: String?

    func storage() -> ExporterConfig.Storage {
        if let storagePath {
            var storage = ExporterConfig.Storage()
            storage.path = storagePath
            return storage
        }
        guard let configFile else { fail("--config.file or --storage.path is required") }
        do { return try ExporterConfig.load(file: configFile).storage } catch { fail("invalid configuration: \(error.summary)") }
    }

    /// The SQLite file, for the commands that work on one (a PostgreSQL database has its own tools).
    func sqlitePath(for command: String) -> String {
        let storage = storage()
        guard storage.driver == .sqlite else {
            fail("\(command) works on an SQLite store; for PostgreSQL use pg_dump and pg_restore on the database of storage.url")
        }
        return storage.path
    }

    /// The store, read-only: it may be in use by a running exporter.
    func openReadOnly() async -> any IngestionStore {
        let storage = storage()
        return await failOnError {
            switch storage.driver {
            case .sqlite:
                return try SQLiteIngestionStore(readOnlyPath: storage.path)
            case .postgres:
                let configuration: PostgresConfiguration
                do throws(PostgresURLError) { configuration = try storage.postgres(url: storage.url ?? "", readOnly: true) } catch {
                    fail("storage.url: \(error.description)")
                }
                return try await PostgresIngestionStore.connect(configuration, durationBounds: IngestionMetrics.durationBounds)
            }
        }
    }
}

struct Backup: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Write a consistent copy of the database to a new file (works while the exporter runs).",
        discussion: """
        Uses SQLite's online backup API: every page is copied in one read transaction, so the copy is the
        database as it was at one moment even while the exporter writes. The copy is then checked
        (PRAGMA quick_check) and summarized. The output file must not exist.
        """)

    @OptionGroup var storage: StorageOptions

    @Option(help: "The file to write (must not exist).")
    var output: String

    func run() async throws {
        let started = ContinuousClock.now
        await failOnError {
            let summary = try SQLiteBackup.backup(database: storage.sqlitePath(for: "backup"), to: output)
            say("backup written to \(summary.path): \(summary.requests) requests, schema version \(summary.schemaVersion), "
                + "\(summary.sizeBytes) bytes, quick_check ok, in \(DurationText.format(ContinuousClock.now - started))")
        }
    }
}

struct Restore: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Put a backup in place of the database (refused while an exporter uses it).",
        discussion: """
        Checks the backup (PRAGMA quick_check, a schema this exporter reads), copies it beside the
        database, moves the database it replaces (and its WAL) aside to <database>.before-restore-<time>,
        then renames the copy into place. Stop the exporter first; start it again afterwards.
        """)

    @OptionGroup var storage: StorageOptions

    @Option(help: "The backup file to restore.")
    var input: String

    func run() async throws {
        await failOnError {
            let (summary, aside) = try SQLiteBackup.restore(input, into: storage.sqlitePath(for: "restore"), now: Date())
            say("restored \(input) to \(summary.path): \(summary.requests) requests, schema version \(summary.schemaVersion)"
                + (aside.map { "; the database it replaced was moved to \($0)" } ?? ""))
        }
    }
}
