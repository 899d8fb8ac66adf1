import Foundation
import IngestionModel
import Synchronization
import Testing
import TestSupport
@testable import ExporterMetrics
@testable import Exposition

@Suite("Segmented exposition")
struct SegmentedExpositionTests {
    let start = Date(timeIntervalSince1970: 1_700_000_000)

    /// 200 mappings (four blocks of 64) in 10 tenants (three blocks of 4).
    func model() -> IngestionMetrics {
        let descriptors = (0..<200).map { index in
            MappingDescriptor(key: MappingKey(tenant: "tenant-\(index % 10)", mapping: String(format: "XDM%03d", index)),
                              name: "Mapping \(index)", scheduled: false)
        }
        return IngestionMetrics(mappings: descriptors, version: "1.0", revision: "abc", now: start)
    }

    @Test func snapshotsAreTheWholeExposition() {
        let metrics = model()
        let exposition = SegmentedExposition(metrics: metrics, includeProcessMetrics: false)
        #expect(exposition.keepPlain(.openMetrics))
        let snapshots = exposition.refresh()
        #expect(snapshots[.text]!.plainBytes == metrics.render(.text))
        #expect(snapshots[.openMetrics]!.plainBytes == metrics.render(.openMetrics))
    }

    @Test func aReconfigurationGivesANewLayoutRenderedWhole() async throws {
        let metrics = model()
        let exposition = SegmentedExposition(metrics: metrics, includeProcessMetrics: false)
        _ = exposition.keepPlain(.openMetrics)
        let kept = MappingKey(tenant: "tenant-0", mapping: "XDM000")
        metrics.requestFinished(kept, status: .success, acpCode: nil, records: 9, duration: 40, requestID: "1", finishedAt: start)
        _ = exposition.refresh()
        // A reload: 65 mappings of 2 tenants, one of them new, with stored totals.
        let added = MappingKey(tenant: "tenant-new", mapping: "XDM900")
        let descriptors = (0..<64).map { index in
            MappingDescriptor(key: MappingKey(tenant: "tenant-0", mapping: String(format: "XDM%03d", index * 10)),
                              name: "Mapping \(index * 10)", scheduled: false)
        } + [MappingDescriptor(key: added, name: "New", scheduled: true)]
        var totals = IngestionTotals()
        totals.outcomes = [.init(key: added, status: .failed, acpCode: "none", requests: 2, records: 0, durationSum: 100)]
        metrics.reconfigure(mappings: descriptors, totals: totals, created: [added: start + 5], now: start + 10)
        let snapshots = exposition.refresh()
        for format in ExpositionFormat.allCases {
            #expect(snapshots[format]!.plainBytes == metrics.render(format))
            #expect(try await gunzip(try #require(snapshots[format]!.gzipBytes)) == metrics.render(format))
        }
        let text = String(decoding: metrics.render(.text), as: UTF8.self)
        #expect(text.contains(#"acs_ingestion_records_ingested_total{tenant="tenant-0",mapping="XDM000"} 9"#))
        #expect(text.contains(#"acs_ingestion_requests_total{tenant="tenant-new",mapping="XDM900",status="failed"} 2"#))
        #expect(!text.contains("XDM001") && !text.contains("tenant-1\""))
        let om = String(decoding: metrics.render(.openMetrics), as: UTF8.self)
        #expect(om.contains(#"acs_ingestion_records_ingested_created{tenant="tenant-new",mapping="XDM900"} 1700000005"#))
        // A global change after it re-renders the one global slot.
        let before = exposition.renderCounts
        metrics.storeWritable(false)
        _ = exposition.refresh(processMetrics: false)
        let after = exposition.renderCounts
        #expect(after.indices.filter { after[$0] != before[$0] } == [metrics.layout.count - 1])
        #expect(String(decoding: metrics.render(.text), as: UTF8.self).contains("acs_ingestion_store_up 0\n"))
    }

    @Test func theProcessMetricsComeLastAndBeforeEOF() throws {
        let exposition = SegmentedExposition(metrics: model())
        _ = exposition.keepPlain(.openMetrics)
        let snapshot = exposition.refresh()[.openMetrics]!
        let lines = String(decoding: try #require(snapshot.plainBytes), as: UTF8.self).split(separator: "\n")
        #expect(lines.last == "# EOF")
        #expect(lines.dropLast().last?.hasPrefix("process_") == true)
        #expect(lines.contains("# TYPE process_cpu_seconds counter"))
        #expect(lines.contains("# UNIT process_resident_memory_bytes bytes"))
    }

    @Test(arguments: ExpositionFormat.allCases)
    func gzipIsOneMemberThatSystemGzipDecodes(_ format: ExpositionFormat) async throws {
        let metrics = model()
        let exposition = SegmentedExposition(metrics: metrics, includeProcessMetrics: false)
        _ = exposition.refresh()
        // A second snapshot mixes segments rendered at different times.
        metrics.requestFinished(MappingKey(tenant: "tenant-3", mapping: "XDM133"), status: .failed, acpCode: nil, records: 0,
                                duration: 90, requestID: "7", finishedAt: start, batchID: "B7")
        let snapshot = exposition.refresh(processMetrics: false)[format]!
        let gzip = try #require(snapshot.gzipBytes)
        #expect(gzip.count == snapshot.gzipCount)
        #expect(gzip.count < snapshot.plainCount / 5)
        #expect(try await gunzip(gzip) == metrics.render(format))
    }

    @Test func bothUncompressedBodiesAreKeptWithinTheBudget() {
        let exposition = SegmentedExposition(metrics: model())
        // Text is kept from the start; OpenMetrics from the first time it is asked for.
        #expect(exposition.refresh()[.openMetrics]!.plainLease() == nil)
        #expect(exposition.keepPlain(.openMetrics))
        let snapshots = exposition.refresh()
        #expect(snapshots[.text]!.plainLease() != nil && snapshots[.openMetrics]!.plainLease() != nil)
    }

    @Test func overTheBudgetAPlainScrapeIsInflatedFromTheGzipSegments() throws {
        let metrics = model()
        let exposition = SegmentedExposition(metrics: metrics, includeProcessMetrics: false, plainBudget: 100_000)
        _ = exposition.refresh()
        let renders = exposition.renderCounts
        // Text and OpenMetrics together are over 100 kB: OpenMetrics is not kept uncompressed.
        #expect(!exposition.keepPlain(.openMetrics))
        metrics.requestFinished(MappingKey(tenant: "tenant-3", mapping: "XDM133"), status: .failed, acpCode: nil, records: 0,
                                duration: 90, requestID: "7", finishedAt: start, batchID: "B7")
        let snapshots = exposition.refresh()
        #expect(snapshots[.text]!.plainBytes == metrics.render(.text))
        #expect(snapshots[.openMetrics]!.plainLease() == nil)
        // Read in blocks smaller than a segment and than a line: the same bytes as rendered whole.
        for blockSize in [7, 4096, 1 << 20] {
            let read = try #require(snapshots[.openMetrics]!.plainStream())
            let body = try #require(readAll(read, blockSize: blockSize))
            #expect(body == metrics.render(.openMetrics))
            #expect(body.count == snapshots[.openMetrics]!.plainCount)
        }
        // Nothing but the changed slots was rendered again for it.
        #expect(exposition.renderCounts.indices.filter { exposition.renderCounts[$0] != renders[$0] }.count <= 8)
    }

    @Test func aModelThatGrowsPastTheBudgetLetsTheOpenMetricsBytesGo() throws {
        let metrics = model()
        let both = metrics.render(.text).count + metrics.render(.openMetrics).count
        let exposition = SegmentedExposition(metrics: metrics, includeProcessMetrics: false, plainBudget: both + 10_000)
        _ = exposition.refresh()
        #expect(exposition.keepPlain(.openMetrics))
        #expect(exposition.refresh()[.openMetrics]!.plainBytes == metrics.render(.openMetrics))
        // A reload doubles the mappings: both bodies no longer fit together.
        let descriptors = (0..<400).map { index in
            MappingDescriptor(key: MappingKey(tenant: "tenant-\(index % 10)", mapping: String(format: "XDM%03d", index)),
                              name: "Mapping \(index)", scheduled: false)
        }
        metrics.reconfigure(mappings: descriptors, totals: IngestionTotals(), created: [:], now: start + 10)
        let snapshots = exposition.refresh()
        #expect(exposition.keepsPlain(.text) && !exposition.keepsPlain(.openMetrics))
        #expect(snapshots[.text]!.plainBytes == metrics.render(.text))
        #expect(snapshots[.openMetrics]!.plainLease() == nil)
        #expect(readAll(try #require(snapshots[.openMetrics]!.plainStream())) == metrics.render(.openMetrics))
    }

    @Test func aSlotThatChangedMeanwhileIsRenderedWholeWhenItsPlainBytesComeBack() async throws {
        let metrics = model()
        let exposition = SegmentedExposition(metrics: metrics, includeProcessMetrics: false)
        _ = exposition.refresh()
        #expect(exposition.keepPlain(.openMetrics))
        metrics.triggerCounted(MappingKey(tenant: "tenant-6", mapping: "XDM106"), result: .error, now: start)
        let after = exposition.refresh()
        #expect(after[.openMetrics]!.plainBytes == metrics.render(.openMetrics))
        #expect(try await gunzip(try #require(after[.openMetrics]!.gzipBytes)) == metrics.render(.openMetrics))
        let triggers = MetricFamily.perMapping.firstIndex { $0.name == MetricFamily.triggers.name }!
        #expect(exposition.renderCounts.indices.filter { exposition.renderCounts[$0] == 2 }
            == [metrics.layout.mappingSlot(triggers, block: 2)])
    }

    @Test func aChangeReRendersOnlyTheBlocksItTouched() throws {
        let metrics = model()
        let exposition = SegmentedExposition(metrics: metrics)
        let first = exposition.refresh()
        let layout = metrics.layout
        #expect(layout.mappingBlocks == 4 && layout.tenantBlocks == 3)
        #expect(exposition.renderCounts.allSatisfy { $0 == 1 })

        // tenant-6's XDM106 is the 131st mapping in key order (20 per tenant): block 2.
        let key = MappingKey(tenant: "tenant-6", mapping: "XDM106")
        metrics.triggerCounted(key, result: .submitted, now: start)
        let second = exposition.refresh(processMetrics: false)
        let triggers = MetricFamily.perMapping.firstIndex { $0.name == MetricFamily.triggers.name }!
        let rendered = exposition.renderCounts.indices.filter { exposition.renderCounts[$0] == 2 }
        #expect(rendered == [layout.mappingSlot(triggers, block: 2)])
        #expect(exposition.processRenderCount == 1)

        // Every other segment is the same object in both snapshots.
        let before = first[.text]!.segmentIdentities, after = second[.text]!.segmentIdentities
        #expect(zip(before, after).filter { $0 != $1 }.count == 1)
    }

    @Test func anEndedRequestReRendersItsBlockOfEachFamilyItChanged() {
        let metrics = model()
        let exposition = SegmentedExposition(metrics: metrics)
        _ = exposition.refresh()
        metrics.requestFinished(MappingKey(tenant: "tenant-0", mapping: "XDM000"), status: .success, acpCode: nil,
                                records: 10, duration: 30, requestID: "1", finishedAt: start)
        _ = exposition.refresh(processMetrics: false)
        let layout = metrics.layout
        let touched = Set(exposition.renderCounts.indices.filter { exposition.renderCounts[$0] == 2 })
        let expected = Set(["acs_ingestion_requests_total", "acs_ingestion_records_ingested_total", "acs_ingestion_requests_in_progress",
                            "acs_ingestion_oldest_in_progress_start_timestamp_seconds", "acs_ingestion_in_progress_duration_seconds",
                            "acs_ingestion_request_duration_seconds", "acs_ingestion_last_success_timestamp_seconds",
                            "acs_ingestion_last_success_records"].map { name in
            layout.mappingSlot(MetricFamily.perMapping.firstIndex { $0.name == name }!, block: 0)
        })
        #expect(touched == expected)
    }

    @Test func apiCallsReRenderTheirTenantBlockOnly() {
        let metrics = model()
        let exposition = SegmentedExposition(metrics: metrics)
        _ = exposition.refresh()
        metrics.apiCall(tenant: "tenant-9", operation: "status", code: "200", seconds: 0.2)
        _ = exposition.refresh(processMetrics: false)
        let layout = metrics.layout
        let touched = exposition.renderCounts.indices.filter { exposition.renderCounts[$0] == 2 }
        // tenant-9 is the tenth tenant: block 2.
        let families = [MetricFamily.apiRequests, .apiDuration].map { family in
            MetricFamily.perTenant.firstIndex { $0.name == family.name }!
        }
        #expect(touched == families.map { layout.tenantSlot($0, block: 2) })
    }

    @Test func inProgressAgesFollowTheLatestChangeOnlyWhereRequestsAreOpen() {
        let metrics = model()
        let exposition = SegmentedExposition(metrics: metrics)
        metrics.requestOpened(MappingKey(tenant: "tenant-0", mapping: "XDM000"), requestID: "1", startedAt: start, now: start)
        _ = exposition.refresh()
        metrics.pollCompleted(tenant: "tenant-5", at: start.addingTimeInterval(60))
        let snapshot = exposition.refresh(processMetrics: false)[.text]!
        let layout = metrics.layout
        let age = MetricFamily.perMapping.firstIndex { $0.name == MetricFamily.inProgressAge.name }!
        #expect(exposition.renderCounts[layout.mappingSlot(age, block: 0)] == 2)
        #expect(exposition.renderCounts[layout.mappingSlot(age, block: 1)] == 1)
        #expect(String(decoding: snapshot.plainBytes ?? [], as: UTF8.self)
            .contains(#"acs_ingestion_in_progress_duration_seconds{tenant="tenant-0",mapping="XDM000"} 60"#))
    }

    @Test func largeConfigurationsGetLargerBlocksNotMoreChunks() {
        let most = 64 * ExpositionLayout.maxBlocksPerFamily
        #expect(ExpositionLayout(mappings: most, tenants: 20).mappingBlock == 64)
        #expect(ExpositionLayout(mappings: most + 1, tenants: 20).mappingBlocks == ExpositionLayout.maxBlocksPerFamily)
        let huge = ExpositionLayout(mappings: 20_000, tenants: 1_000)
        // Plus process metrics, EOF, gzip header and trailer: within the 256 chunks libmicrohttpd is given
        // (`PreparedResponse.maxChunks`).
        #expect(huge.count + 4 <= 256)
        #expect(huge.mappingBlocks * huge.mappingBlock >= 20_000 && huge.tenantBlocks * huge.tenantBlock >= 1_000)
    }

    @Test func theProcessSegmentIsRenderedOnlyWhenAsked() {
        let exposition = SegmentedExposition(metrics: model())
        _ = exposition.refresh(processMetrics: false)  // never rendered yet: rendered anyway
        _ = exposition.refresh(processMetrics: false)
        #expect(exposition.processRenderCount == 1)
        _ = exposition.refresh(processMetrics: true)
        #expect(exposition.processRenderCount == 2)
    }

    @Test func aBodyBeingSentStaysAsItWasAndIsUpdatedInPlaceWhenItsScrapesEnd() async throws {
        let metrics = model()
        let exposition = SegmentedExposition(metrics: metrics, includeProcessMetrics: false)
        let drained = Atomic<Int>(0)
        exposition.onBodyDrained { drained.add(1, ordering: .relaxed) }
        let before = metrics.render(.text)
        var scrape: PlainBody.Lease? = try #require(exposition.refresh()[.text]!.plainLease())
        let buffer = try #require(scrape?.bytes.baseAddress)

        // A change while a scrape sends the body: the scrape's bytes stay as they were,
        // the new snapshot offers no uncompressed body, its gzip one is current.
        metrics.triggerCounted(MappingKey(tenant: "tenant-6", mapping: "XDM106"), result: .error, now: start)
        let during = exposition.refresh()[.text]!
        #expect(during.plainLease() == nil)
        #expect(scrape.map { Array($0.bytes) } == before)
        #expect(try await gunzip(try #require(during.gzipBytes)) == metrics.render(.text))
        #expect(drained.load(ordering: .relaxed) == 0)

        // The scrape ends, which is told; the next refresh brings the same buffer up to
        // date, with the slot's bytes rendered again (the change was rendered once while held).
        scrape = nil
        #expect(drained.load(ordering: .relaxed) == 1)
        var after: PlainBody.Lease? = try #require(exposition.refresh()[.text]!.plainLease())
        #expect(after.map { Array($0.bytes) } == metrics.render(.text))
        #expect(after?.bytes.baseAddress == buffer)
        #expect(after.map { Array($0.bytes) } != before)
        // A body up to date asks for nothing when its last scrape ends.
        after = nil
        #expect(drained.load(ordering: .relaxed) == 1)
    }

    @Test func changesWhileNoScrapeSendsTheBodyAreSplicedIntoIt() async throws {
        let metrics = model()
        let exposition = SegmentedExposition(metrics: metrics)
        _ = exposition.keepPlain(.openMetrics)
        _ = exposition.refresh()
        var random = SeededRandom(seed: 7)
        for round in 0..<40 {
            // Values that lengthen and shorten lines in several blocks at once.
            for _ in 0..<Int(random.next() % 5) {
                let index = Int(random.next() % 200)
                let key = MappingKey(tenant: "tenant-\(index % 10)", mapping: String(format: "XDM%03d", index))
                metrics.requestFinished(key, status: round % 3 == 0 ? .failed : .success, acpCode: nil,
                                        records: Int(random.next() % 1_000_000_000), duration: Double(random.next() % 100_000) / 7,
                                        requestID: RequestID(round), finishedAt: start.addingTimeInterval(Double(round)))
            }
            let snapshots = exposition.refresh(processMetrics: round % 4 == 0)
            for format in ExpositionFormat.allCases {
                let lease = try #require(snapshots[format]!.plainLease())
                // The body is the whole exposition (the process metrics included) and its gzip form
                // (compared as Data: a byte array's == is slow in a debug build).
                #expect(Data(try await gunzip(try #require(snapshots[format]!.gzipBytes))) == Data(lease.bytes))
                let modelPart = metrics.render(format)
                let withoutEOF = format == .openMetrics ? modelPart.dropLast(6) : modelPart[...]
                #expect(Data(lease.bytes.prefix(withoutEOF.count)) == Data(withoutEOF))
            }
        }
    }

    @Test func aSpliceMovesEveryPieceToItsPlaceWhetherItGrowsOrShrinks() {
        var random = SeededRandom(seed: 11)
        func piece(_ tag: Int) -> Segment {
            let length = Int(random.next() % 300)
            return Segment(copying: (0..<length).map { UInt8(truncatingIfNeeded: tag &* 31 &+ $0) })
        }
        let body = PlainBody {}
        var segments = (0..<24).map(piece)
        #expect(body.beginWrite())
        #expect(body.update(to: segments) { segments[$0].plain })
        for round in 0..<300 {
            // Any pieces, the first and last included, grow, shrink or empty; every
            // 25th round all of them (a new layout with as many slots).
            for _ in 0..<(round % 25 == 24 ? segments.count : Int(random.next() % 6) + 1) {
                let index = Int(random.next() % UInt64(segments.count))
                segments[index] = piece(round &* 100 &+ index)
            }
            // Now and then a piece's bytes cannot be had (its slot changed meanwhile): the
            // body is not offered until a later write fills it.
            let missing = round % 7 == 3 ? segments.indices.filter { body.held[$0] !== segments[$0] }.first : nil
            #expect(body.beginWrite())
            #expect(body.update(to: segments) { $0 == missing ? nil : segments[$0].plain } == (missing == nil))
            if missing != nil {
                #expect(body.version(holding: segments) == nil)
                #expect(body.beginWrite())
                #expect(body.update(to: segments) { segments[$0].plain })
            }
            let lease = body.lease(version: body.version(holding: segments)!)!
            #expect(Array(lease.bytes) == segments.flatMap { Array($0.plain!.buffer) })
        }
        // With the pieces' count changed, and one missing, the body is written whole, then filled.
        segments = (0..<30).map(piece)
        #expect(body.beginWrite())
        #expect(!body.update(to: segments) { $0 == 12 ? nil : segments[$0].plain })
        #expect(body.beginWrite())
        #expect(body.update(to: segments) { segments[$0].plain })
        let lease = body.lease(version: body.version(holding: segments)!)!
        #expect(Array(lease.bytes) == segments.flatMap { Array($0.plain!.buffer) })
    }

    @Test func gzipRoundTrips() async throws {
        let body = model().render()
        let compressed = Gzip.compress(body)
        #expect(compressed.starts(with: [0x1f, 0x8b]))
        #expect(compressed.count < body.count / 3)
        #expect(try await gunzip(compressed) == body)
    }
}
