import CMicroHTTPD
import Foundation
#if canImport(Glibc)
import Glibc
#endif

// libmicrohttpd's per-connection and per-daemon callbacks. They run on its
// threads, reach only the `Sendable` ServerContext passed as their closure
// argument, and mutate no globals.

private func context(_ pointer: UnsafeMutableRawPointer?) -> ServerContext? {
    pointer.map { Unmanaged<ServerContext>.fromOpaque($0).takeUnretainedValue() }
}

/// The record libmicrohttpd keeps as the connection's socket context.
func connectionRecord(_ connection: OpaquePointer?) -> ConnectionRecord? {
    guard let connection, let pointer = acs_mhd_socket_context(connection) else { return nil }
    return Unmanaged<ConnectionRecord>.fromOpaque(pointer).takeUnretainedValue()
}

/// Leaves the path and query escaped: a mapping id may contain an encoded "/";
/// HTTPRequest decodes segments itself.
let keepEscaped: @convention(c) (UnsafeMutableRawPointer?, OpaquePointer?, UnsafeMutablePointer<CChar>?) -> Int = {
    _, _, text in
    text.map { strlen($0) } ?? 0
}

/// Starts a request's state when its request line has arrived, before
/// libmicrohttpd reads the headers, and reads the query here: libmicrohttpd would
/// keep every parameter in the connection's memory (32 KiB) and, on 0.9.75, leave
/// the request unanswered once it runs out. The query is then cut from the target
/// libmicrohttpd parses next (it is given an empty one), so it stores none. What
/// this returns is the request's context (the access handler's `slot`), released
/// when the request ends (`requestCompleted`).
let requestLineReceived: @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<CChar>?, OpaquePointer?)
    -> UnsafeMutableRawPointer? = { pointer, target, _ in
    guard let context = context(pointer) else { return nil }
    var targetBytes = 0
    var query: [String: String]? = [:]
    if let target {
        targetBytes = strlen(target)
        if let mark = strchr(target, Int32(UInt8(ascii: "?"))) {
            query = QueryString.parameters(of: String(cString: mark + 1), maxParameters: context.limits.maxQueryParameters)
            // libmicrohttpd's own buffer, writable: it ends the path at the `?` itself right after this call.
            UnsafeMutablePointer(mutating: mark + 1).pointee = 0
        }
    }
    return Unmanaged.passRetained(RequestState(targetBytes: targetBytes, query: query)).toOpaque()
}

/// Refuses a connection past the per-address cap, or past the total cap when no
/// connection may be evicted for it (libmicrohttpd then closes it unanswered).
/// Refusals and evictions are counted here; admitted connections when started.
let acceptPolicy: MHD_AcceptPolicyCallback = { pointer, address, _ in
    guard let context = context(pointer) else { return MHD_Result.NO }
    switch context.connections.admission(for: PeerAddress(address), limits: context.limits) {
    case .admitted(let evicted):
        if evicted > 0 { context.countRefusal(.evicted, by: UInt64(evicted)) }
        return MHD_Result.YES
    case .refused(let refusal):
        context.countRefusal(refusal)
        return MHD_Result.NO
    }
}

/// Opens and closes a connection's record. "Started" comes before any byte is
/// read (so before a TLS handshake), "closed" before libmicrohttpd closes the socket.
let connectionNotice: MHD_NotifyConnectionCallback = { pointer, connection, socketContext, code in
    guard let context = context(pointer), let connection, let socketContext else { return }
    // Compared by value: Swift imports this enum without case names.
    switch code.rawValue {
    case 0:  // MHD_CONNECTION_NOTIFY_STARTED
        let record = ConnectionRecord(address: PeerAddress(acs_mhd_client_address(connection)),
                                      fd: acs_mhd_connection_fd(connection), context: context,
                                      now: .now, headAllowance: context.limits.requestHeadTimeout)
        context.connections.register(record)
        socketContext.pointee = Unmanaged.passRetained(record).toOpaque()
    case 1:  // MHD_CONNECTION_NOTIFY_CLOSED
        guard let stored = socketContext.pointee else { return }
        let record = Unmanaged<ConnectionRecord>.fromOpaque(stored)
        context.connections.unregister(record.takeUnretainedValue())
        record.release()
        socketContext.pointee = nil
    default:
        return
    }
}

/// Ends a request: releases its state, its in-flight slot, and starts the
/// connection's deadline for the next head.
let requestCompleted: @convention(c) (
    UnsafeMutableRawPointer?, OpaquePointer?, UnsafeMutablePointer<UnsafeMutableRawPointer?>?, MHD_RequestTerminationCode
) -> Void = { pointer, connection, slot, termination in
    guard let context = context(pointer) else { return }
    // Compared by value: Swift imports this enum without case names (0: MHD_REQUEST_TERMINATED_COMPLETED_OK).
    connectionRecord(connection)?.finishRequest(now: .now, allowance: context.limits.idleTimeout,
                                                answered: termination.rawValue == 0)
    guard let slot, let statePointer = slot.pointee else { return }
    let state = Unmanaged<RequestState>.fromOpaque(statePointer)
    if state.takeUnretainedValue().countedInFlight { context.inFlight.subtract(1, ordering: .relaxed) }
    state.release()
    slot.pointee = nil
}

/// libmicrohttpd's own error lines (formatted by the C adapter in the shim), to
/// the configuration's logger instead of stderr.
let libraryLogLine: @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<CChar>?) -> Void = { pointer, text in
    guard let context = context(pointer), let text else { return }
    let line = String(cString: text).trimmingCharacters(in: .whitespacesAndNewlines)
    if !line.isEmpty { context.libraryLog.log(line) }
}
