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

/// Refuses a connection past the total or per-address cap (libmicrohttpd then
/// closes it unanswered). Counted here; admitted ones are counted when started.
let acceptPolicy: MHD_AcceptPolicyCallback = { pointer, address, _ in
    guard let context = context(pointer) else { return MHD_Result.NO }
    let text = address.flatMap(ipAddressText(of:)) ?? "unknown"
    if let refusal = context.connections.admission(for: text, limits: context.limits) {
        context.countRefusal(refusal)
        return MHD_Result.NO
    }
    return MHD_Result.YES
}

/// Opens and closes a connection's record. "Started" comes before any byte is
/// read (so before a TLS handshake), "closed" before libmicrohttpd closes the socket.
let connectionNotice: MHD_NotifyConnectionCallback = { pointer, connection, socketContext, code in
    guard let context = context(pointer), let connection, let socketContext else { return }
    // Compared by value: Swift imports this enum without case names.
    switch code.rawValue {
    case 0:  // MHD_CONNECTION_NOTIFY_STARTED
        let address = acs_mhd_client_address(connection).flatMap(ipAddressText(of:)) ?? "unknown"
        let record = ConnectionRecord(address: address, fd: acs_mhd_connection_fd(connection), context: context,
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
) -> Void = { pointer, connection, slot, _ in
    guard let context = context(pointer) else { return }
    connectionRecord(connection)?.finishRequest(now: .now, allowance: context.limits.idleTimeout)
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

/// An IPv4 or IPv6 address in text form; IPv4-mapped IPv6 addresses read as IPv4,
/// so one client counts once whichever way it connected.
func ipAddressText(of address: UnsafePointer<sockaddr>) -> String? {
    var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
    switch Int32(address.pointee.sa_family) {
    case AF_INET:
        return address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { v4 in
            var raw = v4.pointee.sin_addr
            return inet_ntop(AF_INET, &raw, &text, socklen_t(text.count)) != nil ? String(cString: text) : nil
        }
    case AF_INET6:
        return address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { v6 in
            var raw = v6.pointee.sin6_addr
            let bytes = withUnsafeBytes(of: &raw) { Array($0) }
            if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xFF && bytes[11] == 0xFF {
                return bytes[12...].map(String.init).joined(separator: ".")
            }
            return inet_ntop(AF_INET6, &raw, &text, socklen_t(text.count)) != nil ? String(cString: text) : nil
        }
    default:
        return nil
    }
}
