import ExporterMetrics
import Foundation
import HTTPServer
import IngestionModel
import Synchronization
import Testing
import TestSupport
@testable import Exposition

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

    /// `reply` once an answer that waits is ready.
    func settled(_ reply: HTTPReply?) async throws -> HTTPReply {
        var reply = try #require(reply)
        while case .later(let answer) = reply { reply = await answer() }
        return reply
    }

    /// Runs `body` with the publisher's renderer running, and stops it after.
    func running<T>(_ publisher: ExpositionPublisher, _ body: () async throws -> T) async rethrows -> T {
        let renderer = Task { await publisher.run() }
        defer { renderer.cancel() }
        let result = try await body()
        renderer.cancel()
        await renderer.value
        return result
    }

    @Test func overTheBudgetAPlainOpenMetricsScrapeIsStreamedAndTextStaysPrepared() async throws {
        let metrics = model()
        let publisher = ExpositionPublisher(metrics: metrics, plainBudget: 100_000, plainWait: .seconds(60))
        publisher.refresh()
        // The text body is built at its first uncompressed scrape, which waits for it.
        guard case .prepared = try await running(publisher, { try await settled(publisher.reply(format: .text, gzip: false)) }) else {
            Issue.record("text is kept uncompressed")
            return
        }
        guard case .prepared = try #require(publisher.reply(format: .text, gzip: false)) else {
            Issue.record("and ready for the next scrape")
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
        let roomy = ExpositionPublisher(metrics: model(), plainWait: .seconds(60))  // a model has one exposition
        roomy.refresh()
        guard case .prepared = try await running(roomy, { try await settled(roomy.reply(format: .openMetrics, gzip: false)) }) else {
            Issue.record("OpenMetrics within the budget is prepared")
            return
        }
    }

    /// A scrape that is sending the uncompressed body holds it; a change meanwhile
    /// leaves it as it is, and a new uncompressed scrape waits (suspended) until the
    /// first ends and the renderer has updated the body, or is inflated after
    /// `plainWait`. The body is over `PreparedResponse.chunkCopyLimit` (600 mappings,
    /// ~5 MB), so that responses send it where it lies instead of a copy.
    @Test(arguments: [false, true])
    func aScrapeWaitsForTheBodyAnotherScrapeIsSending(pastTheWait: Bool) async throws {
        let descriptors = (0..<600).map { index in
            MappingDescriptor(key: MappingKey(tenant: "tenant-\(index % 10)", mapping: String(format: "XDM%03d", index)),
                              name: "Mapping \(index)", scheduled: false)
        }
        let metrics = IngestionMetrics(mappings: descriptors, version: "1.0", revision: "abc", now: Date(timeIntervalSince1970: 1_700_000_000))
        let publisher = ExpositionPublisher(metrics: metrics, processRefresh: .seconds(3600),
                                            plainWait: pastTheWait ? .milliseconds(50) : .seconds(30))
        publisher.refresh()
        try await running(publisher) {
            // The first uncompressed scrape asks for the body; once built, a scrape gets it at once.
            func prepared() -> PreparedResponse? {
                guard case .prepared(let response) = publisher.reply(format: .text, gzip: false) else { return nil }
                return response
            }
            guard case .prepared = try await settled(publisher.reply(format: .text, gzip: false)) else {
                Issue.record("the first scrape waits for the body to be built, then gets it")
                return
            }
            // What libmicrohttpd holds while it sends a scrape's answer (the only reference).
            var sending = prepared()
            let firstBytes = try #require(sending?.byteCount)
            let firstIdentity = ObjectIdentifier(try #require(sending))
            #expect(firstBytes > PreparedResponse.chunkCopyLimit)
            let published = publisher.publications.count
            metrics.requestFinished(MappingKey(tenant: "tenant-3", mapping: "XDM003"), status: .success, acpCode: nil,
                                    records: 123_456, duration: 42, requestID: RequestID(1), finishedAt: Date(timeIntervalSince1970: 1_700_000_100))
            try await eventually("the change published") { publisher.publications.count > published }
            guard case .later(let answer) = try #require(publisher.reply(format: .text, gzip: false)) else {
                Issue.record("a body being sent is not updated: the scrape waits")
                return
            }
            let answered = Atomic<Bool>(false)
            let waiting = Task {
                let reply = await answer()
                answered.store(true, ordering: .relaxed)
                return reply
            }
            if pastTheWait {
                guard case .streamed(let streamed) = await waiting.value else {
                    Issue.record("past the wait, the body is inflated")
                    return
                }
                #expect(streamed.byteCount > firstBytes)
            } else {
                // The scrape waits: the body is being sent.
                try await eventually("the scrape waiting") { publisher.plainWaiters.load(ordering: .relaxed) > 0 }
                let answeredEarly = answered.load(ordering: .relaxed)
                #expect(!answeredEarly)
                sending = nil  // the first scrape ends
                guard case .prepared(let updated) = await waiting.value else {
                    Issue.record("the updated body is sent")
                    return
                }
                #expect(ObjectIdentifier(updated) != firstIdentity && updated.byteCount > firstBytes)
            }
            withExtendedLifetime(sending) {}
        }
    }
}
