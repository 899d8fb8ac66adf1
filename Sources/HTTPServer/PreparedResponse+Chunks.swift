import CMicroHTTPD
import Foundation

extension PreparedResponse {
    /// Bodies up to this size are copied into one buffer: libmicrohttpd sends an
    /// iovec body apart from its headers and noticeably slower (a 430 KB gzip body
    /// in 330 chunks: ~6k scrapes/s against ~9k from one buffer, measured here; a
    /// 14 MB body: ~9 % more CPU per scrape with two chunks or more, while one chunk
    /// is sent as a buffer), and below this size that costs more than the copy and
    /// its memory. Larger bodies are sent as they are, without a copy: an
    /// uncompressed exposition is one chunk (`PlainBody`); a gzip one over 4 MiB
    /// (millions of series) stays chunks.
    public static let chunkCopyLimit = 4 * 1024 * 1024
    /// libmicrohttpd copies a response's iovec (16 bytes a chunk) into each
    /// connection's memory pool (`Limits.connectionMemoryLimit`, 32 KiB), which also
    /// holds the request's head (up to 16 KiB) and the answer's headers: 4 KiB of
    /// iovec at most. More chunks than this are copied into one buffer instead.
    public static let maxChunks = 256

    /// A response whose body is `chunks`, in order, sent without copying them
    /// (`MHD_create_response_from_iovec`): `owner` keeps the chunks alive and is
    /// released when libmicrohttpd destroys the response, after its last
    /// connection is done sending it. Nil when libmicrohttpd cannot create it.
    public convenience init?(status: Int, headers: [(name: String, value: String)], chunks: [UnsafeRawBufferPointer],
                             owner: AnyObject & Sendable) {
        let total = chunks.reduce(0) { $0 + $1.count }
        if total <= Self.chunkCopyLimit || chunks.count > Self.maxChunks {
            let buffer = malloc(max(total, 1))!
            var offset = 0
            for chunk in chunks where chunk.count > 0 {
                (buffer + offset).copyMemory(from: chunk.baseAddress!, byteCount: chunk.count)
                offset += chunk.count
            }
            self.init(status: status, headers: headers, takingOwnershipOf: buffer, count: total)
            return
        }
        let vector = chunks.map { MHD_IoVec(iov_base: $0.baseAddress, iov_len: $0.count) }
        let retained = Unmanaged.passRetained(owner as AnyObject).toOpaque()
        let created = vector.withUnsafeBufferPointer { vector in
            MHD_create_response_from_iovec(vector.baseAddress, UInt32(vector.count), { owner in
                if let owner { Unmanaged<AnyObject>.fromOpaque(owner).release() }
            }, retained)
        }
        guard let created else {
            Unmanaged<AnyObject>.fromOpaque(retained).release()
            return nil
        }
        self.init(handle: created, chunks: vector, status: status, headers: headers, byteCount: total)
    }
}
