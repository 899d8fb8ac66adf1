import CZlib
import Foundation

/// gzip (RFC 1952) and the pieces to build one gzip member out of separately
/// compressed segments: each segment is a raw deflate stream ended by a sync
/// flush (byte-aligned, not final), so any sequence of them is one valid deflate
/// stream once a final empty block follows; the trailer's CRC-32 is combined
/// from the segments' own (`crc32_combine`), never recomputed over the body.
public enum Gzip {
    /// A gzip header: deflate, no name or time, Unix.
    static let header: [UInt8] = [0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0x03]

    /// A final, empty, fixed-Huffman deflate block: ends the stream.
    static let finalBlock: [UInt8] = [0x03, 0x00]

    public static func compress(_ input: [UInt8], level: Int32 = 6) -> [UInt8] {
        input.withUnsafeBytes { source in
            guard let (pointer, count) = compress(source, level: level) else { return [] }
            defer { free(pointer) }
            return Array(UnsafeRawBufferPointer(start: pointer, count: count))
        }
    }

    /// Compresses into a malloc'd buffer the caller frees; only the pages written are touched.
    public static func compress(_ input: UnsafeRawBufferPointer, level: Int32 = 6) -> (UnsafeMutableRawPointer, Int)? {
        var stream = z_stream()
        // windowBits 15 + 16 asks zlib for a gzip header and trailer.
        guard deflateInit2_(&stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY,
                            ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else { return nil }
        defer { deflateEnd(&stream) }
        return run(&stream, input, flush: Z_FINISH, expecting: Z_STREAM_END)
    }

    /// The CRC-32 of `bytes`, as gzip's trailer has it.
    static func crc32(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        UInt32(CZlib.crc32(0, bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt32(bytes.count)))
    }

    /// The CRC-32 of A followed by B, from A's and B's own.
    static func combine(_ crcA: UInt32, _ crcB: UInt32, lengthB: Int) -> UInt32 {
        UInt32(crc32_combine(UInt(crcA), UInt(crcB), off_t(lengthB)))
    }

    /// The size of `trailer(crc:length:)`.
    static let trailerCount = 10

    /// What follows the segments: the final block, then CRC-32 and length (mod 2³²), little-endian.
    static func trailer(crc: UInt32, length: Int) -> [UInt8] {
        let size = UInt32(truncatingIfNeeded: length)
        return finalBlock + [0, 8, 16, 24].map { UInt8(truncatingIfNeeded: crc >> $0) }
            + [0, 8, 16, 24].map { UInt8(truncatingIfNeeded: size >> $0) }
    }

    /// Compresses segments one at a time into raw deflate streams ended by a sync
    /// flush, reusing one zlib state (~260 KB at level 6) for all of a refresh's segments.
    final class SegmentCompressor {
        private var stream = z_stream()
        private var ready = false

        init(level: Int32 = 6) {
            // Negative windowBits: raw deflate, no zlib or gzip wrapper.
            ready = deflateInit2_(&stream, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY,
                                  ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK
        }

        deinit { if ready { deflateEnd(&stream) } }

        /// The deflate bytes of `input` (a malloc'd buffer the caller frees), or nil when zlib fails.
        func compress(_ input: UnsafeRawBufferPointer) -> (UnsafeMutableRawPointer, Int)? {
            guard ready, deflateReset(&stream) == Z_OK else { return nil }
            return Gzip.run(&stream, input, flush: Z_SYNC_FLUSH, expecting: Z_OK)
        }
    }

    /// Inflates a sequence of raw deflate segments (as `SegmentCompressor` makes
    /// them) back into the bytes they hold, a buffer at a time: one zlib state
    /// (~40 KB) and no copy of the whole. Used by one reader at a time.
    final class SegmentInflater {
        private var stream = z_stream()
        private var ready = false
        /// False when zlib could not start (no memory).
        var isReady: Bool { ready }
        private let segments: [UnsafeRawBufferPointer]
        private var next = 0
        private var fed = false

        init(_ segments: [UnsafeRawBufferPointer]) {
            self.segments = segments
            ready = inflateInit2_(&stream, -15, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK
        }

        deinit { if ready { inflateEnd(&stream) } }

        /// Fills `output` with the next bytes; 0 at the end, nil when the bytes are not valid deflate.
        func read(into output: UnsafeMutableRawBufferPointer) -> Int? {
            guard ready, let base = output.baseAddress else { return nil }
            stream.next_out = base.assumingMemoryBound(to: UInt8.self)
            stream.avail_out = UInt32(clamping: output.count)
            while stream.avail_out > 0 && next < segments.count {
                if !fed {
                    stream.next_in = UnsafeMutablePointer(mutating: segments[next].baseAddress?.assumingMemoryBound(to: UInt8.self))
                    stream.avail_in = UInt32(segments[next].count)
                    fed = true
                }
                let result = inflate(&stream, Z_SYNC_FLUSH)
                guard result == Z_OK || result == Z_BUF_ERROR else { return nil }
                // A segment is done when its input is used up and zlib holds no output back.
                if stream.avail_in == 0 && stream.avail_out > 0 {
                    next += 1
                    fed = false
                }
            }
            return output.count - Int(stream.avail_out)
        }
    }

    /// Feeds all of `input` to `stream` with `flush`, into one malloc'd buffer trimmed to size.
    private static func run(_ stream: inout z_stream, _ input: UnsafeRawBufferPointer, flush: Int32,
                            expecting done: Int32) -> (UnsafeMutableRawPointer, Int)? {
        // deflateBound covers Z_FINISH; a sync flush adds an empty stored block (5 bytes) at most.
        let bound = Int(deflateBound(&stream, UInt(input.count))) + 64
        guard let output = malloc(bound) else { return nil }
        stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: UInt8.self))
        stream.avail_in = UInt32(input.count)
        stream.next_out = output.assumingMemoryBound(to: UInt8.self)
        stream.avail_out = UInt32(bound)
        let result = deflate(&stream, flush)
        guard result == done, stream.avail_in == 0, stream.avail_out > 0 else {
            free(output)
            return nil
        }
        let written = bound - Int(stream.avail_out)
        return (realloc(output, max(written, 1)) ?? output, written)
    }
}
