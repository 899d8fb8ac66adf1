import ArgumentParser
import ExporterCore
import Foundation
import IngestionStore

struct Report: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Capacity report read straight from the database (works while the exporter runs).",
        discussion: """
        Records ingested, requests by outcome and failures by ACP code, per tenant and mapping and per
        day, week (starting Monday) or month of when requests ended (UTC), then totals per mapping.
        """)

    @Option(name: .customLong("config.file"), help: "The exporter's configuration file; its storage.path is read.")
    var configFile: String?

    @Option(name: .customLong("storage.path"), help: "The database file, instead of the config file's.")
    var storagePath: String?

    @Option(help: "day, week or month.")
    var period = "day"

    @Option(help: "Requests that ended at or after this time (2026-11-01 or RFC 3339).")
    var since: String?

    @Option(help: "Requests that ended before this time (2026-12-01 or RFC 3339).")
    var until: String?

    @Option(help: "table, csv or json.")
    var output = "table"

    func run() async throws {
        guard let period = ReportPeriod(rawValue: period) else { fail("--period must be day, week or month; got \"\(period)\"") }
        guard let format = CapacityReport.Format(rawValue: output) else { fail("--output must be table, csv or json; got \"\(output)\"") }
        let from = try since.map { try time($0, "--since") }
        let to = try until.map { try time($0, "--until") }
        let path: String
        if let storagePath {
            path = storagePath
        } else if let configFile {
            do { path = try ExporterConfig.load(file: configFile).storage.path } catch { fail("invalid configuration: \(error.summary)") }
        } else {
            fail("--config.file or --storage.path is required")
        }
        do {
            let store = try IngestionStore.openReadOnly(path: path)
            say(try CapacityReport.make(store: store, period: period, from: from, to: to).render(format), newline: false)
        } catch {
            fail(error.description)
        }
    }

    private func time(_ text: String, _ flag: String) throws -> Date {
        guard let date = APITime.parse(text) else { fail("\(flag) must be a date (2026-11-01) or an RFC 3339 time; got \"\(text)\"") }
        return date
    }
}
