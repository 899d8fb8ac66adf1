import Foundation
import IngestionModel
import Testing
import TestSupport
@testable import ExporterMetrics

@Suite("Metric model and exposition")
struct ExporterMetricsTests {
    let key = MappingKey(tenant: "acme", mapping: "XDM\"44\\\n")
    let start = Date(timeIntervalSince1970: 1_700_000_000)

    func model() -> IngestionMetrics {
        IngestionMetrics(mappings: [MappingDescriptor(key: key, name: "Profiles", scheduled: true)],
                         version: "1.0", revision: "abc", branch: "main", swiftVersion: "6.3.1", now: start)
    }

    func text(_ metrics: IngestionMetrics) -> String { String(decoding: metrics.render(), as: UTF8.self) }

    @Test func labelValuesAreEscaped() {
        #expect(text(model()).contains(#"acs_ingestion_records_ingested_total{tenant="acme",mapping="XDM\"44\\\n"} 0"#))
    }

    @Test func histogramsAreCumulativeWithSumAndCount() {
        let metrics = model()
        for seconds in [10.0, 45, 4000] {
            metrics.requestFinished(key, status: .success, acpCode: nil, records: 1, duration: seconds, requestID: "1",
                                    finishedAt: start)
        }
        let lines = text(metrics).split(separator: "\n").filter { $0.hasPrefix("acs_ingestion_request_duration_seconds") && $0.contains("success") }
        #expect(lines.contains { $0.hasSuffix(#"le="30"} 1"#) })
        #expect(lines.contains { $0.hasSuffix(#"le="60"} 2"#) })
        #expect(lines.contains { $0.hasSuffix(#"le="7200"} 3"#) })
        #expect(lines.contains { $0.hasSuffix(#"le="+Inf"} 3"#) })
        #expect(lines.contains { $0.contains("_sum") && $0.hasSuffix(" 4055") })
        #expect(lines.contains { $0.contains("_count") && $0.hasSuffix(" 3") })
    }

    @Test func restoringGivesTheSameExpositionAsLiveUpdates() {
        let live = model()
        live.requestFinished(key, status: .failed, acpCode: ACPCode.find(in: "ACP-880056"), records: 0, duration: 70,
                             requestID: "1", finishedAt: start)
        live.requestFinished(key, status: .success, acpCode: nil, records: 12, duration: 20, requestID: "2", finishedAt: start)
        live.requestOpened(key, requestID: "3", startedAt: start, now: start)
        live.triggerCounted(key, result: .submitted, now: start)

        var totals = IngestionTotals()
        totals.outcomes = [.init(key: key, status: .failed, acpCode: "ACP-880056", requests: 1, records: 0, durationSum: 70),
                           .init(key: key, status: .success, acpCode: "none", requests: 1, records: 12, durationSum: 20)]
        totals.buckets = [.init(key: key, status: .failed, upperBound: 120, count: 1),
                          .init(key: key, status: .success, upperBound: 30, count: 1)]
        totals.triggers = [key: [.submitted: 1]]
        totals.latest = [key: .init(lastSuccessAt: start, lastSuccessRecords: 12, lastFailureAt: start)]
        totals.open = [TrackedRequest(key: key, requestID: "3", origin: .triggered, firstSeen: start, status: .inProgress)]
        let restored = model()
        restored.restore(totals, now: start)
        #expect(text(restored) == text(live))
    }

    @Test func inProgressAgeIsAsOfTheLastChange() {
        let metrics = model()
        metrics.requestOpened(key, requestID: "1", startedAt: start, now: start)
        metrics.pollCompleted(tenant: "acme", at: start.addingTimeInterval(90))
        let output = text(metrics)
        #expect(output.contains("acs_ingestion_in_progress_duration_seconds{tenant=\"acme\",mapping=\"XDM\\\"44\\\\\\n\"} 90"))
        #expect(output.contains("acs_ingestion_requests_in_progress{tenant=\"acme\",mapping=\"XDM\\\"44\\\\\\n\"} 1"))
    }

    @Test func everyFamilyHasHelpAndType() {
        let lines = text(model()).split(separator: "\n")
        let names = Set(lines.filter { !$0.hasPrefix("#") }.map { line in
            var name = String(line.prefix { $0 != "{" && $0 != " " })
            for suffix in ["_bucket", "_sum", "_count"] where name.hasSuffix(suffix) && name.contains("duration") {
                name.removeLast(suffix.count)
            }
            return name
        })
        for name in names {
            #expect(lines.contains { $0.hasPrefix("# HELP \(name) ") }, "\(name)")
            #expect(lines.contains { $0.hasPrefix("# TYPE \(name) ") }, "\(name)")
        }
    }
}
