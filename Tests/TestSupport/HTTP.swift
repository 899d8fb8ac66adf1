import Foundation
import HTTPServer
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

/// Finds a free loopback port by binding to port 0.
public func freePort() async throws -> Int {
    let server = try HTTPServer(configuration: .init(listenAddress: ListenAddress(host: "127.0.0.1", port: 0)), router: Router())
    let port = server.port
    await server.stop()
    return port
}

/// Polls `condition` every 20 ms until it holds or `timeout` passes: the way a test
/// waits for something to happen (never a fixed sleep).
public func eventually(timeout: Duration = .seconds(20), _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return try await condition()
}
