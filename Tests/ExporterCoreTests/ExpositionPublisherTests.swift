import ExporterMetrics
import Foundation
import HTTPServer
import IngestionModel
import Testing
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

    /// Everything a streamed reply yields, read in 64 KiB blocks as libmicrohttpd does.
    func drain(_ streamed: StreamedResponse) throws -> [UInt8] {
        var body: [UInt8] = []
        var block = [UInt8](repeating: 0, count: 64 * 1024)
        while let count = block.withUnsafeMutableBytes({ streamed.read($0) }), count > 0 { body += block[..<count] }
        return body
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
        let body = try drain(streamed)
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
