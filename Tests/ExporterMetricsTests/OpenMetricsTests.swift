import Foundation
import IngestionModel
import Testing
@testable import ExporterMetrics

@Suite("OpenMetrics exposition")
struct OpenMetricsTests {
    let key = MappingKey(tenant: "acme", mapping: "XDM44")
    let start = Date(timeIntervalSince1970: 1_700_000_000)
    let configured = Date(timeIntervalSince1970: 1_690_000_000.5)

    func model() -> IngestionMetrics {
        let metrics = IngestionMetrics(mappings: [MappingDescriptor(key: key, name: "Profiles", scheduled: true)],
                                       version: "1.0", revision: "abc", now: start)
        metrics.restore(IngestionTotals(), created: [key: configured], now: start)
        return metrics
    }

    func lines(_ metrics: IngestionMetrics, _ format: ExpositionFormat) -> [Substring] {
        String(decoding: metrics.render(format), as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
    }

    let labels = #"tenant="acme",mapping="XDM44""#

    @Test func countersAreNamedWithoutTotalInMetadataAndWithItInSamples() {
        let om = lines(model(), .openMetrics)
        #expect(om.contains("# TYPE acs_ingestion_requests counter"))
        #expect(om.contains { $0.hasPrefix("# HELP acs_ingestion_requests Ingestion requests") })
        #expect(om.contains("acs_ingestion_requests_total{\(labels),status=\"success\"} 0"))
        #expect(!om.contains { $0.hasPrefix("# TYPE acs_ingestion_requests_total") || $0.hasPrefix("# HELP acs_ingestion_requests_total") })
        // Text 0.0.4 keeps the sample name in its metadata.
        #expect(lines(model(), .text).contains("# TYPE acs_ingestion_requests_total counter"))
    }

    @Test func unitsOnlyWhereTheNameEndsWithThem() {
        let units = lines(model(), .openMetrics).filter { $0.hasPrefix("# UNIT ") }
        #expect(units.contains("# UNIT acs_ingestion_request_duration_seconds seconds"))
        #expect(units.contains("# UNIT acs_ingestion_last_success_timestamp_seconds seconds"))
        #expect(!units.contains { $0.contains("last_success_records") || $0.contains("requests_in_progress") })
        for line in units {
            let parts = line.split(separator: " ")
            #expect(parts[2].hasSuffix("_" + parts[3]), "\(line)")
        }
        #expect(!lines(model(), .text).contains { $0.hasPrefix("# UNIT") })
    }

    @Test func endsWithEOF() {
        let om = lines(model(), .openMetrics)
        #expect(om.suffix(2) == ["# EOF", ""])
        #expect(!lines(model(), .text).contains("# EOF"))
    }

    @Test func createdIsWhenTheMappingWasFirstConfigured() {
        let om = lines(model(), .openMetrics)
        let created = om.filter { $0.hasPrefix("acs_ingestion_") && $0.contains("_created{\(labels)") }
        // requests and duration by final status, records, failures ×6 (failed and aborted without a
        // code, four known codes), triggers by result.
        #expect(created.count == 2 * FinalStatus.allCases.count + 1 + 6 + TriggerResult.allCases.count)
        #expect(created.allSatisfy { $0.hasSuffix(" 1690000000.5") })
        #expect(om.contains("acs_ingestion_request_duration_seconds_created{\(labels),status=\"failed\"} 1690000000.5"))
    }

    @Test func perProcessCountersAreCreatedWhenTheModelStarted() {
        let om = lines(model(), .openMetrics)
        #expect(om.contains(#"acs_ingestion_api_requests_created{tenant="acme",operation="status",code="200"} 1700000000"#))
        #expect(om.contains(#"acs_ingestion_api_request_duration_seconds_created{tenant="acme",operation="token"} 1700000000"#))
    }

    @Test func createdFollowsEachSeriesSamplesDirectly() {
        // OpenMetrics forbids interleaving the samples of two label sets.
        let om = lines(model(), .openMetrics)
        let total = om.firstIndex(of: "acs_ingestion_triggers_total{\(labels),result=\"error\"} 0")!
        #expect(om[total + 1] == "acs_ingestion_triggers_created{\(labels),result=\"error\"} 1690000000.5")
        let count = om.firstIndex(of: "acs_ingestion_request_duration_seconds_count{\(labels),status=\"success\"} 0")!
        #expect(om[count + 1].hasPrefix("acs_ingestion_request_duration_seconds_created{\(labels),status=\"success\"}"))
    }

    @Test func theLatestRequestIsTheExemplarOfItsBucketAndFailure() {
        let metrics = model()
        let ended = start.addingTimeInterval(100)
        metrics.requestFinished(key, status: .success, acpCode: nil, records: 5, duration: 45, requestID: "3520",
                                finishedAt: ended)
        metrics.requestFinished(key, status: .failed, acpCode: ACPCode.find(in: "ACP-880096"), records: 0, duration: 700,
                                requestID: "3521", finishedAt: ended.addingTimeInterval(1), batchID: "01SIMBATCH0042")
        metrics.requestFinished(key, status: .success, acpCode: nil, records: 5, duration: 50, requestID: "3522",
                                finishedAt: ended.addingTimeInterval(2))
        let om = lines(metrics, .openMetrics)
        #expect(om.contains(
            "acs_ingestion_request_duration_seconds_bucket{\(labels),status=\"success\",le=\"60\"} 2 # {request_id=\"3522\"} 50 1700000102"))
        #expect(om.contains(
            "acs_ingestion_request_duration_seconds_bucket{\(labels),status=\"failed\",le=\"1800\"} 1 # {request_id=\"3521\",batch_id=\"01SIMBATCH0042\"} 700 1700000101"))
        #expect(om.contains(
            "acs_ingestion_failures_total{\(labels),status=\"failed\",acp_code=\"ACP-880096\"} 1 # {request_id=\"3521\",batch_id=\"01SIMBATCH0042\"} 1 1700000101"))
        // Buckets no request fell in carry none.
        #expect(om.contains("acs_ingestion_request_duration_seconds_bucket{\(labels),status=\"success\",le=\"30\"} 0"))
    }

    @Test func textNeverCarriesExemplars() {
        let metrics = model()
        metrics.requestFinished(key, status: .failed, acpCode: nil, records: 0, duration: 45, requestID: "1",
                                finishedAt: start, batchID: "B")
        let text = lines(metrics, .text)
        #expect(!text.contains { $0.contains("#") && !$0.hasPrefix("#") })
        #expect(text.contains("acs_ingestion_request_duration_seconds_bucket{\(labels),status=\"failed\",le=\"60\"} 1"))
    }

    @Test func exemplarLabelsStayWithin128Characters() {
        let long = String(repeating: "b", count: 120)
        #expect(Exemplar(requestID: "3520", batchID: long, value: 1, timestamp: 0)?.labels == #"request_id="3520""#)
        #expect(Exemplar(requestID: "3520", batchID: "B1", value: 1, timestamp: 0)?.labels == #"request_id="3520",batch_id="B1""#)
        #expect(Exemplar(requestID: String(repeating: "9", count: 119), batchID: nil, value: 1, timestamp: 0) == nil)
    }

    @Test func gaugesAreTheSameBytesInBothFormats() {
        let text = Set(lines(model(), .text).filter { $0.hasPrefix("acs_ingestion_requests_in_progress") || $0.hasPrefix("acs_ingestion_mapping_info") })
        let om = Set(lines(model(), .openMetrics).filter { $0.hasPrefix("acs_ingestion_requests_in_progress") || $0.hasPrefix("acs_ingestion_mapping_info") })
        #expect(text.count == 2 && text == om)
    }
}
