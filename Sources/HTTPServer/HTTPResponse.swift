import CMicroHTTPD
import Foundation

/// An answer built for one request; its bytes are copied to libmicrohttpd.
public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public init(status: Int, headers: [(name: String, value: String)] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public static func text(_ text: String, status: Int = 200,
                            contentType: String = "text/plain; charset=utf-8") -> HTTPResponse {
        HTTPResponse(status: status, headers: [("Content-Type", contentType)], body: Array(text.utf8))
    }

    public static func json(_ body: [UInt8], status: Int = 200) -> HTTPResponse {
        HTTPResponse(status: status, headers: [("Content-Type", "application/json")], body: body)
    }

    public static func html(_ text: String, status: Int = 200) -> HTTPResponse {
        .text(text, status: status, contentType: "text/html; charset=utf-8")
    }
}

/// An answer made once and served to many requests without copying: the
/// exposition cache hands these out. libmicrohttpd reference-counts the
/// underlying response, so one that is replaced while still being sent stays
/// valid until its last connection is done with it.
public final class PreparedResponse: @unchecked Sendable {
    // Immutable after init; libmicrohttpd's response is safe to queue from any thread.
    let handle: OpaquePointer
    /// The bytes `handle` sends: one buffer, or chunks owned elsewhere (see `PreparedResponse+Chunks.swift`).
    enum Body {
        case buffer(UnsafeMutableRawPointer)
        case chunks([MHD_IoVec])
    }
    let body: Body
    public let status: Int
    public let byteCount: Int
    public let headers: [(name: String, value: String)]

    public convenience init(_ response: HTTPResponse) {
        let count = response.body.count
        let buffer = malloc(max(count, 1))!
        response.body.withUnsafeBytes { bytes in
            if count > 0 { buffer.copyMemory(from: bytes.baseAddress!, byteCount: count) }
        }
        self.init(status: response.status, headers: response.headers, takingOwnershipOf: buffer, count: count)
    }

    /// Takes ownership of a malloc'd buffer: libmicrohttpd frees it when the last
    /// connection sending it is done. No copy is made.
    public init(status: Int, headers: [(name: String, value: String)], takingOwnershipOf buffer: UnsafeMutableRawPointer,
                count: Int) {
        handle = MHD_create_response_from_buffer_with_free_callback(count, buffer) { free($0) }!
        for header in headers { MHD_add_response_header(handle, header.name, header.value) }
        body = .buffer(buffer)
        self.status = status
        self.headers = headers
        byteCount = count
    }

    /// Wraps a libmicrohttpd response made elsewhere in this module (see `PreparedResponse+Chunks.swift`).
    init(handle: OpaquePointer, chunks: [MHD_IoVec], status: Int, headers: [(name: String, value: String)], byteCount: Int) {
        self.handle = handle
        body = .chunks(chunks)
        for header in headers { MHD_add_response_header(handle, header.name, header.value) }
        self.headers = headers
        self.status = status
        self.byteCount = byteCount
    }

    deinit { MHD_destroy_response(handle) }

    /// A new libmicrohttpd response over the same bytes with more headers, for
    /// one request (headers cannot be added to a response other threads may be
    /// sending). It keeps this one, and so the bytes, alive until it is destroyed.
    /// The caller destroys it after queueing.
    func sharingBody(adding extra: [(name: String, value: String)]) -> OpaquePointer? {
        let owner = Unmanaged.passRetained(self).toOpaque()
        let release: MHD_ContentReaderFreeCallback = { owner in
            if let owner { Unmanaged<PreparedResponse>.fromOpaque(owner).release() }
        }
        let created: OpaquePointer? = switch body {
        case .buffer(let buffer):
            MHD_create_response_from_buffer_with_free_callback_cls(byteCount, buffer, release, owner)
        case .chunks(let vector):
            vector.withUnsafeBufferPointer { MHD_create_response_from_iovec($0.baseAddress, UInt32($0.count), release, owner) }
        }
        guard let shared = created else {
            Unmanaged<PreparedResponse>.fromOpaque(owner).release()
            return nil
        }
        for header in headers + extra { MHD_add_response_header(shared, header.name, header.value) }
        return shared
    }
}

/// What a handler answers: a response to copy, a prepared one to share, one
/// whose body is made while it is sent, or one not ready yet.
public enum HTTPReply: Sendable {
    case response(HTTPResponse)
    case prepared(PreparedResponse)
    case streamed(StreamedResponse)
    /// An answer that waits (for a resource being updated, say): the connection is
    /// suspended meanwhile, holding no server thread, as for a deferred route.
    case later(@Sendable () async -> HTTPReply)
}

extension HTTPResponse {
    public var reply: HTTPReply { .response(self) }
}
