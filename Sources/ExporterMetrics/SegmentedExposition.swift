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
/// request that ends re-renders ~8 blocks of ~40-270 KB instead of 11 MB, and the
/// old and new snapshots together hold one body plus those blocks, not two bodies.
public final class SegmentedExposition: Sendable {
    public let metrics: IngestionMetrics
    private let includeProcessMetrics: Bool

    private struct Table {
        /// By slot; the OpenMetrics entry is the text one when the bytes are the same.
        var text: [Segment?]
        var openMetrics: [Segment?]
        var process: (text: Segment, openMetrics: Segment)?
        /// How many times each slot was rendered (both formats count once): tests
        /// check with it that a change re-renders only what it touched.
        var renders: [Int]
        var processRenders = 0
    }
    private let table: Mutex<Table>
    private let endOfFile = Segment(copying: Array("# EOF\n".utf8))

    public init(metrics: IngestionMetrics, includeProcessMetrics: Bool = true) {
        self.metrics = metrics
        self.includeProcessMetrics = includeProcessMetrics
        let count = metrics.layout.count
        table = Mutex(Table(text: Array(repeating: nil, count: count), openMetrics: Array(repeating: nil, count: count),
                            renders: Array(repeating: 0, count: count)))
    }

    /// Re-renders what changed (and the process metrics when `processMetrics`, or
    /// when they were never rendered), then returns the current body in each format.
    public func refresh(processMetrics: Bool = true) -> [ExpositionFormat: ExpositionSnapshot] {
        table.withLock { table in
            // Rendering holds the model's lock; compressing, which takes longer, does not.
            let rendered = metrics.renderChanged()
            let compressor = Gzip.SegmentCompressor()
            for slot in rendered {
                let text = Segment(taking: slot.text, compressor: compressor)
                table.text[slot.slot] = text
                table.openMetrics[slot.slot] = slot.openMetrics.map { Segment(taking: $0, compressor: compressor) } ?? text
                table.renders[slot.slot] += 1
            }
            if includeProcessMetrics && (processMetrics || table.process == nil) {
                let reading = ProcessMetrics.read()
                func render(_ format: ExpositionFormat) -> Segment {
                    var writer = ExpositionWriter(capacity: 1024)
                    ProcessMetrics.write(reading, format, into: &writer)
                    return Segment(taking: writer.takeBuffer(), compressor: compressor)
                }
                table.process = (render(.text), render(.openMetrics))
                table.processRenders += 1
            }
            var text = table.text.map { $0! }
            var openMetrics = table.openMetrics.map { $0! }
            if let process = table.process {
                text.append(process.text)
                openMetrics.append(process.openMetrics)
            }
            openMetrics.append(endOfFile)
            return [.text: ExpositionSnapshot(.text, text), .openMetrics: ExpositionSnapshot(.openMetrics, openMetrics)]
        }
    }

    /// Renders per slot so far, by slot (for tests).
    var renderCounts: [Int] { table.withLock { $0.renders } }
    var processRenderCount: Int { table.withLock { $0.processRenders } }
}

/// One slot's rendered bytes in one format and their deflate stream; immutable,
/// freed when the last snapshot holding it goes.
final class Segment: @unchecked Sendable {
    // @unchecked: the buffers are written before init returns and only read after.
    let plain: UnsafeRawBufferPointer
    /// Raw deflate ended by a sync flush; nil when zlib failed.
    let deflated: UnsafeRawBufferPointer?
    let crc: UInt32

    init(taking buffer: (pointer: UnsafeMutableRawPointer, count: Int), compressor: Gzip.SegmentCompressor) {
        plain = UnsafeRawBufferPointer(start: buffer.pointer, count: buffer.count)
        deflated = compressor.compress(plain).map { UnsafeRawBufferPointer(start: $0.0, count: $0.1) }
        crc = Gzip.crc32(plain)
    }

    convenience init(copying bytes: [UInt8]) {
        let pointer = malloc(max(bytes.count, 1))!
        bytes.withUnsafeBytes { pointer.copyMemory(from: $0.baseAddress!, byteCount: bytes.count) }
        let compressor = Gzip.SegmentCompressor()
        self.init(taking: (pointer, bytes.count), compressor: compressor)
    }

    deinit {
        free(UnsafeMutableRawPointer(mutating: plain.baseAddress))
        if let deflated { free(UnsafeMutableRawPointer(mutating: deflated.baseAddress)) }
    }
}

/// The body of one format at one moment: its segments in order, as chunks to
/// send plain or as one gzip member. Holding a snapshot keeps its segments alive.
public final class ExpositionSnapshot: @unchecked Sendable {
    // @unchecked: immutable after init.
    public let format: ExpositionFormat
    private let segments: [Segment]
    /// Gzip's final block and trailer for exactly these segments.
    private let trailer: UnsafeMutableRawPointer
    public let plainCount: Int
    /// Nil when a segment could not be compressed.
    public let gzipCount: Int?

    init(_ format: ExpositionFormat, _ segments: [Segment]) {
        self.format = format
        self.segments = segments
        var crc: UInt32 = 0
        var length = 0
        var deflated = 0
        var complete = true
        for segment in segments {
            crc = Gzip.combine(crc, segment.crc, lengthB: segment.plain.count)
            length += segment.plain.count
            if let bytes = segment.deflated { deflated += bytes.count } else { complete = false }
        }
        let trailerBytes = Gzip.trailer(crc: crc, length: length)
        let trailer = malloc(trailerBytes.count)!
        trailerBytes.withUnsafeBytes { trailer.copyMemory(from: $0.baseAddress!, byteCount: trailerBytes.count) }
        self.trailer = trailer
        plainCount = length
        gzipCount = complete ? Gzip.header.count + deflated + trailerBytes.count : nil
    }

    deinit { free(trailer) }

    /// The plain body, segment by segment.
    public var plainChunks: [UnsafeRawBufferPointer] { segments.map(\.plain) }

    /// One gzip member: header, each segment's deflate bytes, final block and trailer; nil when unavailable.
    public var gzipChunks: [UnsafeRawBufferPointer]? {
        guard gzipCount != nil else { return nil }
        return [Self.gzipHeader] + segments.map { $0.deflated! } + [UnsafeRawBufferPointer(start: trailer, count: Gzip.trailerCount)]
    }

    /// The whole plain body in one array (for tests and tools).
    public var plainBytes: [UInt8] { plainChunks.flatMap { Array($0) } }

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
