import CMicroHTTPD

/// An answer whose body is made while it is sent, for one request
/// (`MHD_create_response_from_callback`): libmicrohttpd asks `read` for the next
/// bytes, up to `blockSize` at a time, on the connection's thread, in order. For
/// bodies too large to keep ready (see `ExpositionPublisher`): only a block is in
/// memory at a time.
public struct StreamedResponse: Sendable {
    /// Fills the buffer with the next bytes and returns how many; 0 at the end of
    /// the body, nil when the body cannot be made (the connection is then closed).
    public typealias Read = @Sendable (UnsafeMutableRawBufferPointer) -> Int?

    public var status: Int
    public var headers: [(name: String, value: String)]
    /// The body's size, sent as Content-Length.
    public var byteCount: Int
    public let read: Read

    static let blockSize = 64 * 1024

    /// `read` serves this one request; it is released when libmicrohttpd is done with it.
    public init(status: Int, headers: [(name: String, value: String)], byteCount: Int, read: @escaping Read) {
        (self.status, self.headers, self.byteCount, self.read) = (status, headers, byteCount, read)
    }

    private final class Reader {
        let read: Read
        init(_ read: @escaping Read) { self.read = read }
    }

    /// A libmicrohttpd response reading from `read`, with `headers` and `extra`; nil
    /// when libmicrohttpd cannot make one. The caller destroys it after queueing.
    func makeHandle(adding extra: [(name: String, value: String)]) -> OpaquePointer? {
        let reader = Unmanaged.passRetained(Reader(read)).toOpaque()
        let handle = MHD_create_response_from_callback(UInt64(byteCount), Self.blockSize, { context, _, buffer, max in
            let reader = Unmanaged<Reader>.fromOpaque(context!).takeUnretainedValue()
            guard let buffer, let count = reader.read(UnsafeMutableRawBufferPointer(start: buffer, count: max)) else {
                return -2  // MHD_CONTENT_READER_END_WITH_ERROR: the connection is closed
            }
            return count > 0 ? count : -1  // MHD_CONTENT_READER_END_OF_STREAM
        }, reader, { context in
            if let context { Unmanaged<Reader>.fromOpaque(context).release() }
        })
        guard let handle else {
            Unmanaged<Reader>.fromOpaque(reader).release()
            return nil
        }
        for header in headers + extra { MHD_add_response_header(handle, header.name, header.value) }
        return handle
    }
}
