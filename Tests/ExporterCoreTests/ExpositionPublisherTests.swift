import ExporterMetrics
import Foundation
import HTTPServer
import IngestionModel
import Testing
import TestSupport
@testable import ExporterCore

@Suite("Exposition publisher")
struct ExpositionPublisherTests {
    /// 200 mappings in 10 tenants: text and OpenMetrics together are over 100 kB.
    func model() -> IngestionMetrics {
        let descriptors = (0..<200).map { index in
            MappingDescriptor(key: MappingKey(tenant: "tenant-\(index % 10)", mapping: String(format: "XDM%03d", index)),
                              name: "Mapping \(index)", scheduled: false)
        }
        return IngestionMetrics(mappings: descriptors, version: "1.0", revision: "abc", now: Date(timeIntervalSince1970: 1_700_000_000))
    }

    @Test func overTheBudgetAPlainOpenMetricsScrapeIsStreamedAndTextStaysPrepared() throws {
        let metrics = model()
        let publisher = ExpositionPublisher(metrics: metrics, plainBudget: 100_000)
        publisher.refresh()
        guard case .prepared = try #require(publisher.reply(format: .text, gzip: false)) else {
            Issue.record("text is kept uncompressed")
            return
        }
        guard case .streamed(let streamed) = try #require(publisher.reply(format: .openMetrics, gzip: false)) else {
            Issue.record("OpenMetrics over the budget is streamed")
            return
        }
        #expect(streamed.status == 200 && streamed.headers.contains { $0.name == "Content-Type" && $0.value == ExpositionFormat.openMetrics.contentType })
        let body = try #require(readAll(streamed.read))
        #expect(body.count == streamed.byteCount)
        let text = String(decoding: body, as: UTF8.self)
        // The model's families, then the process metrics, then the end marker.
        #expect(text.hasPrefix(String(decoding: metrics.render(.openMetrics).prefix(2000), as: UTF8.self)))
        #expect(text.contains("# TYPE process_cpu_seconds counter") && text.hasSuffix("# EOF\n"))
        // Within the budget, the same scrape gets the prepared bytes.
        let roomy = ExpositionPublisher(metrics: model())  // a model has one exposition
        roomy.refresh()
        guard case .prepared = try #require(roomy.reply(format: .openMetrics, gzip: false)) else {
            Issue.record("OpenMetrics within the budget is prepared")
            return
        }
    }
}
