import ExporterMetrics
import Foundation
import Synchronization

/// The exposition kept as immutable gzip segments and, per format kept
/// uncompressed, one buffer: ready to be sent without copies in either encoding.
///
/// Each slot of the layout (a family × a block of 64 mappings or 4 tenants,
/// build info, the process metrics) has a segment per format; a model change
/// marks the slots it touched, `refresh` re-renders only those, and every other
/// segment is shared, by reference, between the previous snapshot (which
/// scrapes in flight may still be sending) and the new one. At 100k series a
/// request that ends re-renders ~8 blocks of 40-300 KB instead of the whole body.
/// A segment keeps its deflate bytes; the plain bytes of a format kept
/// uncompressed are spliced into its `PlainBody`, in place, when no scrape is
/// sending it, so that memory holds that body once.
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
        /// Formats whose uncompressed bytes are kept, each in one buffer.
        var plain: Set<ExpositionFormat> = [.text]
        var bodies: [ExpositionFormat: PlainBody] = [:]
        /// Each format's uncompressed size at the last refresh.
        var plainSizes: [ExpositionFormat: Int] = [:]
        /// How many times each slot was rendered (both formats count once): tests
        /// check with it that a change re-renders only what it touched.
        var renders: [Int]
        var processRenders = 0
        /// The model's layout these slots follow (`IngestionMetrics.generation`).
        var generation: Int

        /// Whether the layout changed.
        mutating func follow(_ layout: (number: Int, slots: Int)) -> Bool {
            guard layout.number != generation else { return false }
            text = Array(repeating: nil, count: layout.slots)
            openMetrics = text
            renders = Array(repeating: 0, count: layout.slots)
            generation = layout.number
            return true
        }

        /// A format's segments in the order of its body.
        func segments(_ format: ExpositionFormat, endOfFile: Segment) -> [Segment] {
            var segments = (format == .text ? text : openMetrics).map { $0! }
            if let process { segments.append(format == .text ? process.text : process.openMetrics) }
            if format == .openMetrics { segments.append(endOfFile) }
            return segments
        }
    }
    private let table: Mutex<Table>
    private let endOfFile = Segment(copying: Array("# EOF\n".utf8))
    /// Reads the HTTP server's traffic, rendered with the process metrics (set once the server exists).
    private let traffic = Mutex<(@Sendable () -> HTTPTraffic)?>(nil)
    /// Told when an uncompressed body that a refresh could not write (see `PlainBody`) is free.
    private let bodyDrained = Mutex<(@Sendable () -> Void)?>(nil)

    /// Renders `read()` with the process metrics from now on.
    public func observeTraffic(_ read: @escaping @Sendable () -> HTTPTraffic) { traffic.withLock { $0 = read } }

    /// Calls `drained` when an uncompressed body that is behind its segments (a
    /// refresh could not write it, or did not try) is no longer leased by any
    /// response: a refresh with `updatingPlain` can update it now.
    public func onBodyDrained(_ drained: @escaping @Sendable () -> Void) { bodyDrained.withLock { $0 = drained } }

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
    /// With `updatingPlain`, each uncompressed body behind its segments is brought up
    /// to date, in place, when no response leases it: `beforeWriting` is called
    /// first, once, to let go of the responses that do (scrapes still sending one
    /// keep it as it is). Without, a changed body over `eagerPlainLimit` bytes falls
    /// behind and costs nothing until an uncompressed scrape asks for it; smaller
    /// ones are updated all the same.
    public func refresh(processMetrics: Bool = true, updatingPlain: Bool = true, eagerPlainLimit: Int = 0,
                        beforeWriting: () -> Void = {}) -> [ExpositionFormat: ExpositionSnapshot] {
        table.withLock { table in
            // Rendering holds the model's lock; compressing, which takes longer, does not.
            let compressor = Gzip.SegmentCompressor()
            for format in table.plain where table.bodies[format] == nil {
                table.bodies[format] = PlainBody { [weak self] in self?.bodyDrained.withLock { $0 }?() }
            }
            // A changed slot's plain bytes are kept until its bodies take them, up to a
            // quarter of the body; beyond (many slots at once, or a new layout, where the
            // body is written whole) they are rendered again when the body is written,
            // one slot at a time.
            var stashRoom = table.plain.map { format in
                let pieces = table.text.count + (table.process == nil ? 0 : 1) + (format == .openMetrics ? 1 : 0)
                let body = table.bodies[format]!
                guard updatingPlain || body.count <= eagerPlainLimit else { return 0 }
                return body.held.count == pieces ? body.count / 4 : 0
            }.max() ?? 0
            var stash: [ObjectIdentifier: (segment: Segment, bytes: Bytes)] = [:]
            func segment(_ rendered: (pointer: UnsafeMutableRawPointer, count: Int)) -> Segment {
                let segment = Segment(compressing: UnsafeRawBufferPointer(start: rendered.pointer, count: rendered.count),
                                      compressor: compressor)
                let bytes = Bytes(taking: rendered.pointer, count: rendered.count)
                if rendered.count <= stashRoom {
                    stash[ObjectIdentifier(segment)] = (segment, bytes)
                    stashRoom -= rendered.count
                }
                return segment
            }
            var letGo = false
            var processRendered = false
            var again: Bool
            repeat {
                again = false
                // A reload (or a lease taken or given up) changes the layout: every slot is rendered anew.
                if table.follow(metrics.generation) {
                    stashRoom = 0
                    stash = [:]
                }
                let generation = table.generation
                guard metrics.renderChanged(generation: generation, { slot in
                    if let openMetrics = slot.openMetrics {
                        table.text[slot.slot] = segment(slot.text)
                        table.openMetrics[slot.slot] = segment(openMetrics)
                    } else {
                        let shared = segment(slot.text)
                        (table.text[slot.slot], table.openMetrics[slot.slot]) = (shared, shared)
                    }
                    table.renders[slot.slot] += 1
                }) else {
                    again = true
                    continue
                }
                if includeProcessMetrics && !processRendered && (processMetrics || table.process == nil) {
                    processRendered = true
                    let reading = ProcessMetrics.read()
                    let trafficReading = traffic.withLock { $0 }?()
                    func render(_ format: ExpositionFormat) -> Segment {
                        Segment(taking: ProcessMetrics.render(reading, traffic: trafficReading, format), compressor: compressor)
                    }
                    table.process = (render(.text), render(.openMetrics))
                    table.processRenders += 1
                }
                let sizes = ExpositionFormat.allCases.map { table.segments($0, endOfFile: endOfFile).reduce(0) { $0 + $1.plainCount } }
                if table.plain.contains(.openMetrics), sizes.reduce(0, +) > plainBudget {
                    // The model grew past the budget (a reload): OpenMetrics stops being kept
                    // uncompressed and its body is let go (when its last scrape ends); text stays.
                    table.plain.remove(.openMetrics)
                    table.bodies[.openMetrics] = nil
                }
                for format in table.plain where updatingPlain || sizes[format.rawValue] <= eagerPlainLimit {
                    let segments = table.segments(format, endOfFile: endOfFile)
                    let body = table.bodies[format]!
                    guard !body.holds(segments) else { continue }
                    if !letGo {
                        beforeWriting()
                        letGo = true
                    }
                    guard body.beginWrite() else { continue }
                    let slots = table.text.count
                    _ = body.update(to: segments) { index in
                        let segment = segments[index]
                        if let kept = segment.plain { return kept }
                        if let stashed = stash[ObjectIdentifier(segment)], stashed.segment === segment { return stashed.bytes }
                        guard index < slots, let bytes = metrics.renderIfUnchanged(index, generation: generation, format) else {
                            return nil  // changed meanwhile: the change's own refresh comes next
                        }
                        let plain = Bytes(taking: bytes.pointer, count: bytes.count)
                        guard segment.compressed(plain) else {
                            // Not the bytes compressed earlier (a model change that marked no slot
                            // would do that): render the slot again, both formats.
                            metrics.markChanged(slot: index, generation: generation)
                            again = true
                            return nil
                        }
                        return plain
                    }
                }
            } while again
            stash = [:]
            return Self.snapshots(&table, endOfFile: endOfFile)
        }
    }

    /// Whether `format`'s uncompressed body is kept.
    public func keepsPlain(_ format: ExpositionFormat) -> Bool { table.withLock { $0.plain.contains(format) } }

    /// Whether a refresh could write `format`'s uncompressed body now (no response leases it).
    public func plainIsFree(_ format: ExpositionFormat) -> Bool { table.withLock { $0.bodies[format]?.isFree ?? true } }

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
        var result: [ExpositionFormat: ExpositionSnapshot] = [:]
        for format in ExpositionFormat.allCases {
            let segments = table.segments(format, endOfFile: endOfFile)
            let body = table.plain.contains(format) ? table.bodies[format] : nil
            let version = body?.version(holding: segments)
            if let body, version == nil { body.fallBehind() }
            let snapshot = ExpositionSnapshot(format, segments, body: version.map { (body!, $0) })
            table.plainSizes[format] = snapshot.plainCount
            result[format] = snapshot
        }
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
    /// The uncompressed bytes of the small segments that keep them (the process
    /// metrics, `# EOF`); nil for a slot's, which live in its formats' `PlainBody`.
    let plain: Bytes?
    /// Raw deflate ended by a sync flush; nil when zlib failed.
    let deflated: Bytes?
    let crc: UInt32
    let plainCount: Int

    /// A small segment that keeps its plain bytes too (the process metrics, `# EOF`).
    init(taking buffer: (pointer: UnsafeMutableRawPointer, count: Int), compressor: Gzip.SegmentCompressor) {
        let bytes = UnsafeRawBufferPointer(start: buffer.pointer, count: buffer.count)
        deflated = compressor.compress(bytes).map { Bytes(taking: $0.0, count: $0.1) }
        crc = Gzip.crc32(bytes)
        plainCount = buffer.count
        plain = Bytes(taking: buffer.pointer, count: buffer.count)
    }

    /// A segment of `bytes`' deflate stream only; the caller keeps the bytes.
    init(compressing bytes: UnsafeRawBufferPointer, compressor: Gzip.SegmentCompressor) {
        deflated = compressor.compress(bytes).map { Bytes(taking: $0.0, count: $0.1) }
        crc = Gzip.crc32(bytes)
        plainCount = bytes.count
        plain = nil
    }

    convenience init(copying bytes: [UInt8]) {
        let pointer = malloc(max(bytes.count, 1))!
        bytes.withUnsafeBytes { pointer.copyMemory(from: $0.baseAddress!, byteCount: bytes.count) }
        self.init(taking: (pointer, bytes.count), compressor: Gzip.SegmentCompressor())
    }

    /// Whether `plain` are the bytes this segment holds compressed (same length and CRC-32).
    func compressed(_ plain: Bytes) -> Bool {
        plain.buffer.count == plainCount && Gzip.crc32(plain.buffer) == crc
    }
}

/// The body of one format at one moment: its segments in order, sent as one gzip
/// member, and the format's uncompressed body when it holds these segments.
/// Holding a snapshot keeps its segments alive (not the body: see `plainLease`).
public final class ExpositionSnapshot: Sendable {
    public let format: ExpositionFormat
    private let segments: [Segment]
    /// Gzip's final block and trailer for exactly these segments.
    private let trailer: Bytes
    public let plainCount: Int
    /// Nil when a segment could not be compressed.
    public let gzipCount: Int?
    /// The format's uncompressed body, at the version that holds these segments.
    private let body: (body: PlainBody, version: Int)?

    init(_ format: ExpositionFormat, _ segments: [Segment], body: (PlainBody, Int)?) {
        self.format = format
        self.segments = segments
        self.body = body
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
    }

    /// The plain body in one buffer, held unchanged until the lease goes; nil when
    /// this format's is not kept, or has changed since (see `SegmentedExposition`).
    public func plainLease() -> PlainBody.Lease? { body.flatMap { $0.body.lease(version: $0.version) } }

    /// One gzip member: header, each segment's deflate bytes, final block and trailer; nil when unavailable.
    public var gzipChunks: [UnsafeRawBufferPointer]? {
        guard gzipCount != nil else { return nil }
        return [Self.gzipHeader] + segments.map { $0.deflated!.buffer } + [trailer.buffer]
    }

    /// Reads the plain body by inflating the gzip segments as it goes, for a format
    /// whose plain bytes are not kept (or whose body stayed behind past the wait):
    /// a buffer in memory at a time instead of the body. Nil when a segment could
    /// not be compressed. One reader serves one request.
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
    public var plainBytes: [UInt8]? { plainLease().map { Array($0.bytes) } }

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
