import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// One HTTP exchange with a server under test, through URLSession (which inflates gzip bodies).
public struct HTTPAnswer: Sendable {
    public let status: Int
    public let body: Data
    public let response: HTTPURLResponse

    public var text: String { String(decoding: body, as: UTF8.self) }
    public func header(_ name: String) -> String? { response.value(forHTTPHeaderField: name) }
}

public func http(_ url: String, method: String = "GET", body: Data? = nil,
                 headers: [String: String] = [:], timeout: TimeInterval = 10) async throws -> HTTPAnswer {
    var request = URLRequest(url: URL(string: url)!)
    request.httpMethod = method
    request.httpBody = body
    request.timeoutInterval = timeout
    for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
    let (data, response) = try await URLSession.shared.data(for: request)
    let http = response as! HTTPURLResponse
    return HTTPAnswer(status: http.statusCode, body: data, response: http)
}

/// Polls `condition` every 20 ms until it holds or `timeout` passes: the way a test
/// waits for something to happen (never a fixed sleep).
public func eventually(timeout: Duration = .seconds(30), _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return try await condition()
}

/// Whether `sample` holds every `period` throughout `duration` (false at the first sample
/// that does not): an invariant over a window (a hang that must last, a soak), where
/// `eventually` waits for something to happen.
public func throughout(_ duration: Duration, every period: Duration = .milliseconds(250),
                       _ sample: () async throws -> Bool) async rethrows -> Bool {
    let end = ContinuousClock.now + duration
    while ContinuousClock.now < end {
        guard try await sample() else { return false }
        try? await Task.sleep(until: min(ContinuousClock.now + period, end), clock: .continuous)
    }
    return try await sample()
}

/// One HTTP/1.1 exchange on a plain socket, the body as sent (no decoding): for
/// checking what a server really puts on the wire.
public struct RawHTTPAnswer: Sendable {
    public let statusLine: String
    /// Header names lower-cased.
    public let headers: [String: String]
    public let body: [UInt8]
}

public func rawHTTP(port: Int, path: String, headers: [String: String] = [:]) throws -> RawHTTPAnswer {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw POSIXError(.EIO) }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var timeout = timeval(tv_sec: 10, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard connected == 0 else { throw POSIXError(.ECONNREFUSED) }
    var request = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n"
    for (name, value) in headers { request += "\(name): \(value)\r\n" }
    request += "\r\n"
    _ = request.withCString { send(fd, $0, strlen($0), 0) }
    let received = receiveToEnd(fd)
    guard let end = received.indices.first(where: { received[$0...].starts(with: Array("\r\n\r\n".utf8)) }) else {
        throw POSIXError(.EBADMSG)
    }
    let lines = String(decoding: received[..<end], as: UTF8.self).components(separatedBy: "\r\n")
    var fields: [String: String] = [:]
    for line in lines.dropFirst() {
        guard let colon = line.firstIndex(of: ":") else { continue }
        fields[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
    }
    return RawHTTPAnswer(statusLine: lines.first ?? "", headers: fields, body: Array(received[(end + 4)...]))
}
