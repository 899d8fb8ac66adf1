import Foundation
import Synchronization

/// The exposition kept as immutable segments, ready to be sent without copies
/// in either format, plain or gzip-encoded.
///
/// Each slot of the layout (a family × a block of 64 mappings or 4 tenants,
/// build info, the process metrics) has a segment per format; a model change
/// marks the slots it touched, `refresh` re-renders only those, and every other
/// segment is shared, by reference, between the previous snapshot (which
/// scrapes in flight may still be sending) and the new one. At 100k series a
/// request that ends re-renders ~8 blocks of 40-300 KB instead of the whole body,
/// and the old and new snapshots together hold one body plus those blocks.
///
/// Both formats are always kept gzip-encoded (what Prometheus asks for). The text
/// body is also kept uncompressed, and the OpenMetrics one from its first
/// uncompressed scrape on while both fit in `plainBudget` together (checked at
/// every refresh: a reload that grows the model past it lets it go); beyond it
/// (~65k series) an uncompressed OpenMetrics scrape is inflated from the gzip
/// segments as it is sent. At 100k series the text body is 14 MB and the
/// OpenMetrics one 18 MB: both would not fit the exporter in 64 MiB.
public final class SegmentedExposition: Sendable {
    public static let defaultPlainBudget = 16 << 20

    public let metrics: IngestionMetrics
    private let includeProcessMetrics: Bool
    private let plainBudget: Int

    private struct Table {
        /// By slot; the OpenMetrics entry is the text one when the bytes are the same.
        var text: [Segment?]
        var openMetrics: [Segment?]
        var process: (text: Segment, openMetrics: Segment)?
        /// Formats whose uncompressed bytes are kept.
        var plain: Set<ExpositionFormat> = [.text]
        /// Each format's uncompressed size at the last refresh.
        var plainSizes: [ExpositionFormat: Int] = [:]
        /// How many times each slot was rendered (both formats count once): tests
        /// check with it that a change re-renders only what it touched.
        var renders: [Int]
        var processRenders = 0
        /// The model's layout these slots follow (`IngestionMetrics.generation`).
        var generation: Int

        mutating func follow(_ layout: (number: Int, slots: Int)) {
            guard layout.number != generation else { return }
            text = Array(repeating: nil, count: layout.slots)
            openMetrics = text
            renders = Array(repeating: 0, count: layout.slots)
            generation = layout.number
        }
    }
    private let table: Mutex<Table>
    private let endOfFile = Segment(copying: Array("# EOF\n".utf8))
    /// Reads the HTTP server's traffic, rendered with the process metrics (set once the server exists).
    private let traffic = Mutex<(@Sendable () -> HTTPTraffic)?>(nil)

    /// Renders `read()` with the process metrics from now on.
    public func observeTraffic(_ read: @escaping @Sendable () -> HTTPTraffic) { traffic.withLock { $0 = read } }

    public init(metrics: IngestionMetrics, includeProcessMetrics: Bool = true, plainBudget: Int = defaultPlainBudget) {
        self.metrics = metrics
        self.includeProcessMetrics = includeProcessMetrics
        self.plainBudget = plainBudget
        let layout = metrics.generation
        table = Mutex(Table(text: Array(repeating: nil, count: layout.slots), openMetrics: Array(repeating: nil, count: layout.slots),
                            renders: Array(repeating: 0, count: layout.slots), generation: layout.number))
    }

    /// Re-renders what changed (and the process metrics when `processMetrics`, or
    /// when they were never rendered), then returns the current body in each format.
    public func refresh(processMetrics: Bool = true) -> [ExpositionFormat: ExpositionSnapshot] {
        table.withLock { table in
            // Rendering holds the model's lock; compressing, which takes longer, does not.
            let compressor = Gzip.SegmentCompressor()
            let keepText = table.plain.contains(.text), keepOpenMetrics = table.plain.contains(.openMetrics)
            var plainMissing = false
            repeat {
                // A reload (or a lease taken or given up) changes the layout: every slot is rendered anew.
                table.follow(metrics.generation)
                let generation = table.generation
                guard metrics.renderChanged(generation: generation, { slot in
                    if let openMetrics = slot.openMetrics {
                        table.text[slot.slot] = Segment(taking: slot.text, keepingPlain: keepText, compressor: compressor)
                        table.openMetrics[slot.slot] = Segment(taking: openMetrics, keepingPlain: keepOpenMetrics,
                                                               compressor: compressor)
                    } else {
                        let shared = Segment(taking: slot.text, keepingPlain: keepText || keepOpenMetrics, compressor: compressor)
                        (table.text[slot.slot], table.openMetrics[slot.slot]) = (shared, shared)
                    }
                    table.renders[slot.slot] += 1
                }) else {
                    plainMissing = true
                    continue
                }
                // A format newly kept uncompressed (`keepPlain`): its unchanged slots get their
                // plain bytes back without being compressed again; changed ones go round once more.
                plainMissing = false
                for slot in table.text.indices {
                    for format in table.plain {
                        let segment = format == .text ? table.text[slot]! : table.openMetrics[slot]!
                        guard segment.plain == nil else { continue }
                        guard let bytes = metrics.renderIfUnchanged(slot, generation: generation, format) else {
                            plainMissing = true
                            continue
                        }
                        let plain = Bytes(taking: bytes.pointer, count: bytes.count)
                        guard let filled = segment.with(plain: plain) else {
                            // Not the bytes compressed earlier (a model change that marked no slot
                            // would do that): render the slot again, both formats.
                            metrics.markChanged(slot: slot, generation: generation)
                            plainMissing = true
                            continue
                        }
                        if table.text[slot] === table.openMetrics[slot] {
                            (table.text[slot], table.openMetrics[slot]) = (filled, filled)
                        } else if format == .text {
                            table.text[slot] = filled
                        } else {
                            table.openMetrics[slot] = filled
                        }
                    }
                }
            } while plainMissing
            if includeProcessMetrics && (processMetrics || table.process == nil) {
                let reading = ProcessMetrics.read()
                let trafficReading = traffic.withLock { $0 }?()
                func render(_ format: ExpositionFormat) -> Segment {
                    var writer = ExpositionWriter(capacity: 1024)
                    ProcessMetrics.write(reading, format, into: &writer)
                    trafficReading?.write(format, into: &writer)
                    return Segment(taking: writer.takeBuffer(), keepingPlain: true, compressor: compressor)
                }
                table.process = (render(.text), render(.openMetrics))
                table.processRenders += 1
            }
            var result = Self.snapshots(&table, endOfFile: endOfFile)
            if table.plain.contains(.openMetrics), table.plainSizes.values.reduce(0, +) > plainBudget {
                // The model grew past the budget (a reload): OpenMetrics stops being kept
                // uncompressed and its bytes are let go; text stays.
                table.plain.remove(.openMetrics)
                for slot in table.openMetrics.indices where table.openMetrics[slot] !== table.text[slot] {
                    table.openMetrics[slot] = table.openMetrics[slot]?.withoutPlain()
                }
                result = Self.snapshots(&table, endOfFile: endOfFile)
            }
            return result
        }
    }

    /// Whether `format`'s uncompressed body is kept.
    public func keepsPlain(_ format: ExpositionFormat) -> Bool { table.withLock { $0.plain.contains(format) } }

    /// Starts keeping `format`'s uncompressed body, from the next `refresh` on, when
    /// it fits the budget with those already kept; returns whether it is kept. One
    /// that does not fit is read from its gzip segments by each scrape that asks for
    /// it uncompressed (`ExpositionSnapshot.plainStream`).
    public func keepPlain(_ format: ExpositionFormat) -> Bool {
        table.withLock { table in
            guard !table.plain.contains(format) else { return true }
            let needed = (table.plain.union([format])).reduce(0) { $0 + (table.plainSizes[$1] ?? 0) }
            guard needed <= plainBudget else { return false }
            table.plain.insert(format)
            return true
        }
    }

    private static func snapshots(_ table: inout Table, endOfFile: Segment) -> [ExpositionFormat: ExpositionSnapshot] {
        var text = table.text.map { $0! }
        var openMetrics = table.openMetrics.map { $0! }
        if let process = table.process {
            text.append(process.text)
            openMetrics.append(process.openMetrics)
        }
        openMetrics.append(endOfFile)
        let result = [ExpositionFormat.text: ExpositionSnapshot(.text, text, plain: table.plain.contains(.text)),
                      .openMetrics: ExpositionSnapshot(.openMetrics, openMetrics, plain: table.plain.contains(.openMetrics))]
        for (format, snapshot) in result { table.plainSizes[format] = snapshot.plainCount }
        return result
    }

    /// Renders per slot so far, by slot (for tests).
    var renderCounts: [Int] { table.withLock { $0.renders } }
    var processRenderCount: Int { table.withLock { $0.processRenders } }
}

/// A malloc'd buffer, freed with its last reference.
final class Bytes: @unchecked Sendable {
    // @unchecked: written before init returns, only read after.
    let buffer: UnsafeRawBufferPointer

    init(taking pointer: UnsafeMutableRawPointer, count: Int) {
        buffer = UnsafeRawBufferPointer(start: pointer, count: count)
    }

    deinit { free(UnsafeMutableRawPointer(mutating: buffer.baseAddress)) }
}

/// One slot's rendered bytes in one format (or both, when they are the same)
/// and their deflate stream; immutable, freed when the last snapshot holding it goes.
final class Segment: Sendable {
    /// Nil when no format this segment serves keeps its uncompressed body.
    let plain: Bytes?
    /// Raw deflate ended by a sync flush; nil when zlib failed.
    let deflated: Bytes?
    let crc: UInt32
    let plainCount: Int

    init(taking buffer: (pointer: UnsafeMutableRawPointer, count: Int), keepingPlain: Bool, compressor: Gzip.SegmentCompressor) {
        let bytes = UnsafeRawBufferPointer(start: buffer.pointer, count: buffer.count)
        deflated = compressor.compress(bytes).map { Bytes(taking: $0.0, count: $0.1) }
        crc = Gzip.crc32(bytes)
        plainCount = buffer.count
        if keepingPlain {
            plain = Bytes(taking: buffer.pointer, count: buffer.count)
        } else {
            free(buffer.pointer)
            plain = nil
        }
    }

    /// The same segment with its deflate bytes only.
    func withoutPlain() -> Segment { Segment(plain: nil, deflated: deflated, crc: crc, plainCount: plainCount) }

    private init(plain: Bytes?, deflated: Bytes?, crc: UInt32, plainCount: Int) {
        (self.plain, self.deflated, self.crc, self.plainCount) = (plain, deflated, crc, plainCount)
    }

    convenience init(copying bytes: [UInt8]) {
        let pointer = malloc(max(bytes.count, 1))!
        bytes.withUnsafeBytes { pointer.copyMemory(from: $0.baseAddress!, byteCount: bytes.count) }
        self.init(taking: (pointer, bytes.count), keepingPlain: true, compressor: Gzip.SegmentCompressor())
    }

    /// The same segment with `plain`, rendered again from an unchanged model; nil
    /// unless those are the bytes it holds compressed (same length and CRC-32).
    func with(plain: Bytes) -> Segment? {
        guard plain.buffer.count == plainCount, Gzip.crc32(plain.buffer) == crc else { return nil }
        return Segment(plain: plain, deflated: deflated, crc: crc, plainCount: plainCount)
    }
}

/// The body of one format at one moment: its segments in order, as chunks to
/// send plain or as one gzip member. Holding a snapshot keeps its segments alive.
public final class ExpositionSnapshot: Sendable {
    public let format: ExpositionFormat
    private let segments: [Segment]
    /// Gzip's final block and trailer for exactly these segments.
    private let trailer: Bytes
    public let plainCount: Int
    /// Nil when a segment could not be compressed.
    public let gzipCount: Int?
    private let hasPlain: Bool

    init(_ format: ExpositionFormat, _ segments: [Segment], plain: Bool) {
        self.format = format
        self.segments = segments
        var crc: UInt32 = 0
        var length = 0
        var deflated = 0
        var complete = true
        for segment in segments {
            crc = Gzip.combine(crc, segment.crc, lengthB: segment.plainCount)
            length += segment.plainCount
            if let bytes = segment.deflated { deflated += bytes.buffer.count } else { complete = false }
        }
        let trailerBytes = Gzip.trailer(crc: crc, length: length)
        let pointer = malloc(trailerBytes.count)!
        trailerBytes.withUnsafeBytes { pointer.copyMemory(from: $0.baseAddress!, byteCount: trailerBytes.count) }
        trailer = Bytes(taking: pointer, count: trailerBytes.count)
        plainCount = length
        gzipCount = complete ? Gzip.header.count + deflated + trailerBytes.count : nil
        hasPlain = plain && segments.allSatisfy { $0.plain != nil }
    }

    /// The plain body, segment by segment; nil when this format's is not kept (see `SegmentedExposition`).
    public var plainChunks: [UnsafeRawBufferPointer]? { hasPlain ? segments.map { $0.plain!.buffer } : nil }

    /// One gzip member: header, each segment's deflate bytes, final block and trailer; nil when unavailable.
    public var gzipChunks: [UnsafeRawBufferPointer]? {
        guard gzipCount != nil else { return nil }
        return [Self.gzipHeader] + segments.map { $0.deflated!.buffer } + [trailer.buffer]
    }

    /// Reads the plain body by inflating the gzip segments as it goes, for a format
    /// whose plain bytes are not kept: a buffer in memory at a time instead of the
    /// body. Nil when a segment could not be compressed. One reader serves one request.
    public func plainStream() -> (@Sendable (UnsafeMutableRawBufferPointer) -> Int?)? {
        guard gzipCount != nil else { return nil }
        let reader = PlainReader(self)
        guard reader.inflater.isReady else { return nil }
        return { reader.read(into: $0) }
    }

    private final class PlainReader: @unchecked Sendable {
        // @unchecked: libmicrohttpd calls one response's reader from one thread at a time.
        let snapshot: ExpositionSnapshot
        let inflater: Gzip.SegmentInflater
        init(_ snapshot: ExpositionSnapshot) {
            self.snapshot = snapshot  // keeps the segments alive
            inflater = Gzip.SegmentInflater(snapshot.segments.map { $0.deflated!.buffer })
        }
        func read(into buffer: UnsafeMutableRawBufferPointer) -> Int? { inflater.read(into: buffer) }
    }

    /// The whole plain body in one array (for tests and tools).
    public var plainBytes: [UInt8]? { plainChunks.map { $0.flatMap { Array($0) } } }

    /// The whole gzip body in one array (for tests and tools).
    public var gzipBytes: [UInt8]? { gzipChunks.map { $0.flatMap { Array($0) } } }

    /// Segments in this snapshot (for tests).
    var segmentIdentities: [ObjectIdentifier] { segments.map(ObjectIdentifier.init) }

    // nonisolated(unsafe): written once, at first use, and never again.
    nonisolated(unsafe) private static let gzipHeader: UnsafeRawBufferPointer = {
        let pointer = malloc(Gzip.header.count)!  // lives as long as the process
        Gzip.header.withUnsafeBytes { pointer.copyMemory(from: $0.baseAddress!, byteCount: Gzip.header.count) }
        return UnsafeRawBufferPointer(start: pointer, count: Gzip.header.count)
    }()
}
