import BuildInfo
import ArgumentParser
import CGlibcExtras
import ExporterCore
import Foundation
import Logging
import IngestionModel

@main
struct ACSIngestionExporter: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "acs-ingestion-exporter",
        abstract: "Prometheus exporter for Adobe Campaign Standard data ingestion (XDM mappings to Experience Platform).",
        discussion: """
        Triggers and follows ingestion requests, keeps their history in SQLite and serves Prometheus metrics.
        Run with --config.file FILE, or --demo to try it against the built-in Adobe simulator.
        """,
        version: BuildInfo.versionText(program: "acs-ingestion-exporter"),
        subcommands: [Serve.self, CheckConfig.self, Simulate.self, Track.self, Trigger.self, Untrack.self, Requests.self, Report.self, Backup.self, Restore.self,
                      Migrate.self],
        defaultSubcommand: Serve.self)

    /// Process-wide decisions belong to the executable, not to a library, and every
    /// bad command line is one line on standard error and exit status 1.
    static func main() async {
        // Each rendering allocates buffers the size of the exposition. With glibc's
        // adaptive threshold they end up on the heap and resident memory only grows;
        // a fixed threshold keeps them mmapped, so freeing one returns it to the system.
        mallopt(M_MMAP_THRESHOLD, 256 * 1024)
        // `kill -ABRT` must end the process (the runtime's backtracer would catch it
        // and let the process go on serving); SIGHUP must never end it.
        signal(SIGABRT, SIG_DFL)
        signal(SIGHUP, SIG_IGN)
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            if exitCode(for: error) == .validationFailure { fail(oneLine(message(for: error))) }
            exit(withError: error)
        }
    }

    /// The parser's message on one line; for the options read by `choice`, our own words
    /// (the parser prefixes them with "The value 'x' is invalid for '--flag <flag>': ").
    private static func oneLine(_ message: String) -> String {
        let line = message.split(whereSeparator: \.isNewline).first.map(String.init) ?? "invalid arguments"
        guard line.hasPrefix("The value '"), let colon = line.range(of: "': --") else { return line }
        return String(line[line.index(colon.lowerBound, offsetBy: 3)...])
    }
}

/// Flags every command shares.
struct CommonOptions: ParsableArguments {
    @Option(name: .customLong("log.level"), help: "Only log messages with the given severity or above: \(LogLevel.choices).",
            transform: choice("--log.level"))
    var logLevel = LogLevel.info

    @Option(name: .customLong("log.format"), help: "Output format of log messages: \(LogFormat.choices).",
            transform: choice("--log.format"))
    var logFormat = LogFormat.logfmt

    func bootstrapLogging() -> Logger {
        let (level, format) = (logLevel.level, logFormat)
        LoggingSystem.bootstrap { label in StderrLogHandler(label: label, level: level, format: format) }
        return Logger(label: "acs-ingestion-exporter")
    }
}

extension CaseIterable where Self: RawRepresentable, RawValue == String {
    /// `a, b or c`, for help texts.
    static var choices: String { Alternatives.list(allCases.map(\.rawValue)) }
}

/// Reads an option with a fixed set of values: a typo is refused by the parser with
/// one line naming the flag, the value and the choices (`--help` lists them too).
func choice<Choice: CaseIterable & RawRepresentable & Sendable>(_ flag: String) -> @Sendable (String) throws -> Choice
    where Choice.RawValue == String {
    { text in
        guard let value = Choice(rawValue: text) else {
            throw ValidationError("\(flag) must be \(Choice.choices); got \"\(text)\"")
        }
        return value
    }
}

/// Writes to standard output at once (stdout is block-buffered when piped).
func say(_ text: String, newline: Bool = true) {
    FileHandle.standardOutput.write(Data((newline ? text + "\n" : text).utf8))
}

/// Prints one line to standard error and exits 1.
func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("acs-ingestion-exporter: error: \(message)\n".utf8))
    exit(1)
}

/// Runs `body`; an error it throws ends the command, its text as the one line.
func failOnError<T>(_ body: () async throws -> T) async -> T {
    do { return try await body() } catch { fail("\(error)") }
}
