import ArgumentParser
import ExporterCore
import Foundation
import IngestionModel
import IngestionStore
import SQLiteStore

struct Report: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Capacity report read straight from the database (works while the exporter runs).",
        discussion: """
        Records ingested, requests by outcome and failures by ACP code, per tenant and mapping and per
        day, week (starting Monday) or month of when requests ended (UTC), then totals per mapping.
        """)

    @OptionGroup var storage: StorageOptions

    @Option(help: "\(ReportPeriod.choices).", transform: choice("--period"))
    var period = ReportPeriod.day

    @Option(help: "Requests that ended at or after this time (2026-11-01 or RFC 3339).")
    var since: String?

    @Option(help: "Requests that ended before this time (2026-12-01 or RFC 3339).")
    var until: String?

    @Option(help: "\(CapacityReport.Format.choices).", transform: choice("--output"))
    var output = CapacityReport.Format.table

    func run() async throws {
        let from = since.map { time($0, "--since") }
        let to = until.map { time($0, "--until") }
        let store = await storage.openReadOnly()
        await failOnError {
            let report = try await CapacityReport.make(store: store, period: period, from: from, to: to)
            await store.close()
            say(try report.render(output), newline: false)
        }
    }

    private func time(_ text: String, _ flag: String) -> Date {
        guard let date = Timestamp.parse(text) else { fail("\(flag) must be a date (2026-11-01) or an RFC 3339 time; got \"\(text)\"") }
        return date
    }
}
