import AdobeSimulator
import ExporterCore
import Foundation
import Logging
import TestSupport
import Testing

/// Samples of a text exposition by `name{labels}`.
struct Exposition {
    let samples: [String: Double]
    let text: String

    init(_ text: String) {
        self.text = text
        var samples: [String: Double] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " ") else { continue }
            samples[String(line[..<space])] = Double(line[line.index(after: space)...])
        }
        self.samples = samples
    }

    subscript(_ series: String) -> Double? { samples[series] }

    /// The samples of the ingestion families that must survive a restart unchanged.
    var persistent: [String: Double] {
        let kept = ["acs_ingestion_requests_total", "acs_ingestion_records_ingested_total", "acs_ingestion_failures_total",
                    "acs_ingestion_request_duration_seconds", "acs_ingestion_last_success", "acs_ingestion_last_failure",
                    "acs_ingestion_triggers_total", "acs_ingestion_requests_in_progress",
                    "acs_ingestion_oldest_in_progress_start_timestamp_seconds", "acs_ingestion_mapping_info"]
        return samples.filter { key, _ in kept.contains { key.hasPrefix($0) } }
    }
}

func scrape(_ port: Int, headers: [String: String] = [:]) async throws -> Exposition {
    let answer = try await http("http://127.0.0.1:\(port)/metrics", headers: headers)
    #expect(answer.status == 200)
    return Exposition(answer.text)
}

/// Labels as the exposition writes them, for lookups.
func series(_ name: String, _ tenant: String, _ mapping: String, _ extra: String = "") -> String {
    "\(name){tenant=\"\(tenant)\",mapping=\"\(mapping)\"\(extra.isEmpty ? "" : "," + extra)}"
}

let silentLogger: Logger = {
    var logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
    logger.logLevel = .critical
    return logger
}()

extension ExporterDaemon: AsyncStoppable {}
extension AdobeSimulator: AsyncStoppable {}
