import AdobeIngestionClient
import AdobeSimulator
import AsyncHTTPClient
import Foundation
import TestSupport
import NIOHTTP1
import IngestionModel
import Logging
import NIOCore
import Synchronization

/// A simulator on a free loopback port and a client pointed at it.
struct Harness: AsyncStoppable {
    let simulator: AdobeSimulator
    let clientTime: any TimeSource
    let simulatorTime: ManualTimeSource
    let logs: LogCapture

    init(scenario: Scenario = Harness.scenario(), clientTime: any TimeSource = ImmediateTimeSource(),
         simulatorTime: ManualTimeSource = ManualTimeSource()) throws {
        simulator = try AdobeSimulator(scenario: scenario, time: simulatorTime)
        self.clientTime = clientTime
        self.simulatorTime = simulatorTime
        logs = LogCapture()
    }

    func stop() async { await simulator.stop() }

    static func scenario(firstRequestID: Int = 3520, mapping: String = "XDM44",
                         configure: (inout Scenario.Mapping) -> Void = { _ in }) -> Scenario {
        var m = Scenario.Mapping(id: mapping)
        m.duration = .seconds(10) ... .seconds(10)
        m.records = 15...15
        configure(&m)
        var tenant = Scenario.Tenant(name: "acme-mkt-prod1", mappings: [m])
        tenant.firstRequestID = firstRequestID
        var scenario = Scenario(tenants: [tenant])
        scenario.credentials = [.init(clientID: "test-client", clientSecret: "s3cr3t-value-42")]
        return scenario
    }

    func client(secret: String = "s3cr3t-value-42", placement: AdobeClientConfiguration.RequestIDPlacement = .query,
                timeout: Duration = .seconds(60), maxAttempts: Int = 4, apiBaseURL: String? = nil,
                observe: @escaping @Sendable (APICallRecord) -> Void = { _ in }) -> AdobeIngestionClient {
        var configuration = AdobeClientConfiguration(tenant: "acme-mkt-prod1", clientID: "test-client",
                                                     clientSecret: Secret(secret))
        configuration.apiBaseURL = apiBaseURL ?? simulator.baseURL
        configuration.imsTokenURL = simulator.tokenURL
        configuration.requestIDPlacement = placement
        configuration.timeout = timeout
        configuration.retry.maxAttempts = maxAttempts
        var logger = Logger(label: "test") { _ in logs }
        logger.logLevel = .trace
        return AdobeIngestionClient(configuration: configuration, time: clientTime, logger: logger,
                                    jitter: { 0.5 }, observe: observe)
    }

    /// Sends a raw request to the simulator, for byte-for-byte checks.
    func raw(_ method: HTTPMethod, _ path: String, token: String? = nil) async throws -> (Int, [UInt8]) {
        var request = HTTPClientRequest(url: simulator.baseURL + path)
        request.method = method
        if let token {
            request.headers.add(name: "Authorization", value: "Bearer \(token)")
            request.headers.add(name: "X-Api-Key", value: "test-client")
        }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 4 << 20)
        return (Int(response.status.code), Array(body.readableBytesView))
    }

    func rawToken() async throws -> String {
        var request = HTTPClientRequest(url: simulator.tokenURL)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        request.body = .bytes(ByteBuffer(string: "grant_type=client_credentials&client_id=test-client&client_secret=s3cr3t-value-42&scope=openid"))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 1 << 20)
        return try TokenGrant.decode(Array(body.readableBytesView)).accessToken
    }
}

/// Records every API call the client reports.
final class CallLog: Sendable {
    private let records = Mutex<[APICallRecord]>([])
    func observe(_ record: APICallRecord) { records.withLock { $0.append(record) } }
    var codes: [String] { records.withLock { $0.map { "\($0.operation.rawValue):\($0.code)" } } }
}
