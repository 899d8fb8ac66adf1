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
    if !line.isEmpty { context.libraryLog(line) }
}
