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
    public let status: Int
    public let byteCount: Int

    public init(_ response: HTTPResponse) {
        let count = response.body.count
        let buffer = malloc(max(count, 1))!
        response.body.withUnsafeBytes { bytes in
            if count > 0 { buffer.copyMemory(from: bytes.baseAddress!, byteCount: count) }
        }
        handle = MHD_create_response_from_buffer_with_free_callback(count, buffer) { free($0) }!
        for header in response.headers {
            MHD_add_response_header(handle, header.name, header.value)
        }
        status = response.status
        byteCount = count
    }

    /// Takes ownership of a malloc'd buffer: libmicrohttpd frees it when the last
    /// connection sending it is done. No copy is made.
    public init(status: Int, headers: [(name: String, value: String)], takingOwnershipOf buffer: UnsafeMutableRawPointer,
                count: Int) {
        handle = MHD_create_response_from_buffer_with_free_callback(count, buffer) { free($0) }!
        for header in headers { MHD_add_response_header(handle, header.name, header.value) }
        self.status = status
        byteCount = count
    }

    /// Wraps a libmicrohttpd response made elsewhere in this module (see `PreparedResponse+Chunks.swift`).
    init(handle: OpaquePointer, status: Int, headers: [(name: String, value: String)], byteCount: Int) {
        self.handle = handle
        for header in headers { MHD_add_response_header(handle, header.name, header.value) }
        self.status = status
        self.byteCount = byteCount
    }

    deinit { MHD_destroy_response(handle) }
}

/// What a handler answers: a response to copy, or a prepared one to share.
public enum HTTPReply: Sendable {
    case response(HTTPResponse)
    case prepared(PreparedResponse)
}

extension HTTPResponse {
    public var reply: HTTPReply { .response(self) }
}
