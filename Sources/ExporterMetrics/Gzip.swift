import CZlib
import Foundation

/// gzip (RFC 1952) of a whole buffer, for the cached compressed exposition.
public enum Gzip {
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
        let bound = Int(deflateBound(&stream, UInt(input.count))) + 32
        guard let output = malloc(bound) else { return nil }
        stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: UInt8.self))
        stream.avail_in = UInt32(input.count)
        stream.next_out = output.assumingMemoryBound(to: UInt8.self)
        stream.avail_out = UInt32(bound)
        guard deflate(&stream, Z_FINISH) == Z_STREAM_END else {
            free(output)
            return nil
        }
        let written = Int(stream.total_out)
        return (realloc(output, max(written, 1)) ?? output, written)
    }
}
