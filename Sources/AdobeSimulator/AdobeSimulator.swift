import Foundation
import HTTPServer
import IngestionModel
import Synchronization
import WireFormat

/// A stand-in for Adobe: the IMS token endpoint and both ingestion calls, on
/// the project's own HTTP layer, answering with the seed's bodies.
///
/// Time comes from an injected `TimeSource`, so a test decides when requests
/// finish and tokens expire; `slow` faults wait in real time, since they exist
/// to make a real client time out.
public final class AdobeSimulator: Sendable {
    private let handlers: SimulatorHandlers
    private let time: any TimeSource
    private let server: HTTPServer

    /// `http://host:port`, the value for `api_url` and the base of `ims_token_url`.
    public let baseURL: String
    public var tokenURL: String { baseURL + "/ims/token/v3" }

    public init(scenario: Scenario, listenAddress: ListenAddress = ListenAddress(host: "127.0.0.1", port: 0),
                time: any TimeSource = SystemTimeSource()) throws {
        self.time = time
        var router = Router()
        let handlers = SimulatorHandlers(state: SimulatorState(scenario: scenario, now: time.now()), time: time)
        self.handlers = handlers
        router.add("POST", "/ims/token/v3", .deferred { await handlers.token($0) })
        let ingest = "/{tenant}/campaign/dataIngestion/xdmIngestion/{mapping}/ingest"
        router.add("POST", ingest, .deferred { await handlers.ingestion($0, .trigger) })
        router.add("GET", ingest, .deferred { await handlers.ingestion($0, .status) })
        router.add("GET", "/data/foundation/catalog/batches/{batch}", .deferred { await handlers.catalogBatch($0) })
        // Row-level errors hold the rejected rows themselves (personal data): served, so that a
        // test can show the exporter never asks for them.
        router.add("GET", "/data/foundation/export/batches/{batch}/meta", .deferred { request in
            handlers.state.withLock { $0.rowErrorCalls += 1 }
            return HTTPResponse.json(Array(SimulatedBatch.rowErrors.utf8), status: 200).reply
        })
        router.notFound = { _ in HTTPResponse.json(Array(SeedBodies.notFound.utf8), status: 404).reply }
        var configuration = HTTPServer.Configuration(listenAddress: listenAddress)
        configuration.limits.maxBodyBytes = 16 * 1024
        server = try HTTPServer(configuration: configuration, router: router)
        let host = server.address.host.isEmpty ? "127.0.0.1" : server.address.host
        baseURL = "http://\(host.contains(":") ? "[\(host)]" : host):\(server.port)"
    }

    public func stop() async { await server.stop() }

    // MARK: - Test and demo controls

    /// Makes the next call of `operation` meet `fault`, ahead of the scenario's rates.
    public func inject(_ fault: InjectedFault, on operation: SimulatedOperation = .any, times: Int = 1) {
        handlers.state.withLock { state in
            for _ in 0..<times { state.injected.append((operation, fault)) }
        }
    }

    /// Drops the faults injected and not yet met: the service answers again.
    public func clearInjectedFaults() {
        handlers.state.withLock { $0.injected.removeAll() }
    }

    /// Decides how the next requests of a mapping end, ahead of its outcome mix.
    public func setNextOutcomes(tenant: String, mapping: String, _ outcomes: [Scenario.Outcome],
                                batchIDs: [String] = []) {
        handlers.state.withLock { state in
            state.tenants[tenant]?.mappings[mapping]?.nextOutcomes = outcomes
            state.tenants[tenant]?.mappings[mapping]?.nextBatchIDs = batchIDs
        }
    }

    /// Decides how the next ACP-880096 batches of a mapping end in the Catalog, ahead of its fate mix.
    public func setNextBatchFates(tenant: String, mapping: String, _ fates: [CatalogFate]) {
        handlers.state.withLock { $0.tenants[tenant]?.mappings[mapping]?.nextBatchFates = fates }
    }

    /// How long the next ACP-880096 batches of every mapping stay `processing` in the Catalog.
    public func setBatchProcessing(_ duration: ClosedRange<Duration>) {
        handlers.state.withLock { state in
            for tenant in state.tenants.keys {
                for mapping in state.tenants[tenant]!.mappings.keys { state.tenants[tenant]!.mappings[mapping]!.config.batchProcessing = duration }
            }
        }
    }

    /// Every batch the Catalog knows: the ground truth of the AEP figures.
    public func batches() -> [SimulatedBatch] {
        handlers.state.withLock { $0.batches.values.sorted { $0.id < $1.id } }
    }

    /// Calls for a batch's row-level errors (the exporter must make none).
    public func rowErrorCalls() -> Int {
        handlers.state.withLock { $0.rowErrorCalls }
    }

    /// Catalog lookups answered 200 for each batch.
    public func batchLookups() -> [String: Int] {
        handlers.state.withLock { $0.batchLookups }
    }

    /// The headers of every Catalog lookup that reached the simulator (names lower-cased), oldest first.
    public func batchLookupHeaders() -> [[String: String]] {
        handlers.state.withLock { $0.batchLookupHeaders }
    }

    /// Every access token IMS issued, so tests can prove none leaks.
    public func issuedTokens() -> [String] {
        handlers.state.withLock { $0.everIssued }
    }

    /// Makes every issued token invalid, as if IMS had revoked them.
    public func revokeTokens() {
        handlers.state.withLock { $0.tokens.removeAll() }
    }

    public func setMapping(tenant: String, mapping: String, published: Bool? = nil, stopped: Bool? = nil,
                           duration: ClosedRange<Duration>? = nil) {
        handlers.state.withLock { state in
            guard var mappingState = state.tenants[tenant]?.mappings[mapping] else { return }
            if let published { mappingState.config.published = published }
            if let stopped { mappingState.config.stopped = stopped }
            if let duration { mappingState.config.duration = duration }
            state.tenants[tenant]?.mappings[mapping] = mappingState
        }
    }

    /// Every request created so far: the ground truth tests compare with.
    public func requests() -> [SimulatedRequest] {
        handlers.state.withLock { state in
            state.requests.values.flatMap(\.values).sorted { ($0.tenant, $0.requestID) < ($1.tenant, $1.requestID) }
        }
    }

    /// Makes every ingestion call of `tenant` answer 429 with `retryAfter` for `duration` from now.
    public func throttle(tenant: String, for duration: Duration, retryAfter: Duration) {
        let until = time.now().adding(duration)
        handlers.state.withLock { $0.throttles[tenant] = (until, retryAfter) }
    }

    /// The requests started by a POST whose answer the simulator cut short or delayed (a
    /// `truncated` or `slow` fault): a client may never have learned of them.
    public func requestsStartedUnanswered() -> [SimulatedRequest] {
        handlers.state.withLock { state in
            state.startedUnanswered.compactMap { state.requests[$0.tenant]?[$0.requestID] }
        }
    }

    /// When each ingestion call (trigger or status) of `tenant` arrived, oldest first.
    /// The status GETs answered for each request of `tenant`, by request id.
    public func statusCalls(tenant: String) -> [Int: Int] {
        handlers.state.withLock { $0.statusCalls[tenant] ?? [:] }
    }

    public func calls(tenant: String) -> [Date] {
        handlers.state.withLock { $0.tenantCalls[tenant] ?? [] }
    }

    /// Each authenticated POST of a mapping, oldest first.
    public func posts(tenant: String, mapping: String) -> [SimulatedPost] {
        handlers.state.withLock { $0.posts["\(tenant)/\(mapping)"] ?? [] }
    }

    /// How many calls of each kind reached the simulator.
    public func callCount(_ operation: SimulatedOperation) -> Int {
        handlers.state.withLock { state in
            operation == .any ? state.callCounts.values.reduce(0, +) : state.callCounts[operation, default: 0]
        }
    }

    public var now: Date { time.now() }
}

/// The simulator's request handling, apart from its set-up.
final class SimulatorHandlers: Sendable {
    let state: Mutex<SimulatorState>
    let time: any TimeSource

    init(state: SimulatorState, time: any TimeSource) {
        self.state = Mutex(state)
        self.time = time
    }

    func token(_ request: HTTPRequest) async -> HTTPReply {
        let fault = state.withLock { state -> InjectedFault? in
            state.callCounts[.token, default: 0] += 1
            return state.drawFault(for: .token)
        }
        if let answer = await early(fault) { return answer }
        let form = Self.form(request.body)
        guard form["grant_type"] == "client_credentials" else {
            return json(400, "{\"error\":\"unsupported_grant_type\",\"error_description\":\"grant_type must be client_credentials\"}")
        }
        let now = time.now()
        let issued = state.withLock { state -> (String, Int)? in
            guard let clientID = form["client_id"],
                  state.scenario.credentials.contains(where: { $0.clientID == clientID && $0.clientSecret == form["client_secret"] })
            else { return nil }
            return state.issueToken(clientID: clientID, now: now)
        }
        guard let (token, expiresIn) = issued else {
            return json(401, "{\"error\":\"invalid_client\",\"error_description\":\"invalid client_id or client_secret\"}")
        }
        return await finish(fault, json(200, SeedBodies.token(token, expiresIn: expiresIn)))
    }

    func ingestion(_ request: HTTPRequest, _ operation: SimulatedOperation) async -> HTTPReply {
        let now = time.now()
        let tenant = request.pathParameters["tenant"] ?? ""
        let mapping = request.pathParameters["mapping"] ?? ""
        // The caller's client id, or the answer that refuses it.
        let caller = state.withLock { state -> (clientID: String?, refusal: HTTPReply?) in
            guard let bearer = request.bearerToken, let issued = state.tokens[bearer], now < issued.expiresAt else {
                return (nil, json(401, SeedBodies.invalidToken))
            }
            guard request.header("x-api-key") == issued.clientID else { return (nil, json(403, SeedBodies.invalidProfile)) }
            return (issued.clientID, nil)
        }
        guard let clientID = caller.clientID else { return caller.refusal! }

        let fault = state.withLock { state -> InjectedFault? in
            state.callCounts[operation, default: 0] += 1
            state.tenantCalls[tenant, default: []].append(now)
            if operation == .trigger { state.posts["\(tenant)/\(mapping)", default: []].append(SimulatedPost(at: now, clientID: clientID)) }
            if let retryAfter = state.throttleRetryAfter(tenant: tenant, now: now) {
                return .throttled(retryAfter: String(Int(retryAfter.seconds.rounded(.up))))
            }
            return state.drawFault(for: operation)
        }
        if let answer = await early(fault) { return answer }

        let reply: HTTPReply = state.withLock { state in
            guard state.tenants[tenant]?.mappings[mapping] != nil else {
                return json(404, SeedBodies.notFound)
            }
            if operation == .trigger {
                let (body, created) = Self.trigger(&state, tenant: tenant, mapping: mapping, now: time.now())
                if let created, fault?.losesAnswer == true {
                    state.startedUnanswered.append((tenant, created.requestID))
                }
                return json(200, body)
            }
            guard let id = Self.requestID(of: request) else {
                return json(400, "{\"code\":400,\"message\":\"requestId is required\"}")
            }
            guard let found = state.requests[tenant]?[id], found.mapping == mapping else {
                return json(404, SeedBodies.notFound)
            }
            state.statusCalls[tenant, default: [:]][id, default: 0] += 1
            return json(200, found.statusBody(at: time.now()))
        }
        return await finish(fault, reply)
    }

    /// Experience Platform's Catalog: `GET /data/foundation/catalog/batches/{id}`. The
    /// token and client as for the ingestion calls; the batch's tenant's organization
    /// (`x-gw-ims-org-id`, else 403) and sandbox (`x-sandbox-name`: missing 400, another one 404,
    /// as a batch of another sandbox is not found there).
    func catalogBatch(_ request: HTTPRequest) async -> HTTPReply {
        let now = time.now()
        let id = request.pathParameters["batch"] ?? ""
        let headers = ["authorization", "x-api-key", "x-gw-ims-org-id", "x-sandbox-name"].reduce(into: [String: String]()) { found, name in
            found[name] = request.header(name)
        }
        let refusal = state.withLock { state -> HTTPReply? in
            state.batchLookupHeaders.append(headers)
            state.callCounts[.batch, default: 0] += 1
            guard let bearer = request.bearerToken, let issued = state.tokens[bearer], now < issued.expiresAt else {
                return json(401, SeedBodies.invalidToken)
            }
            guard request.header("x-api-key") == issued.clientID else { return json(403, SeedBodies.invalidProfile) }
            return nil
        }
        if let refusal { return refusal }
        let fault = state.withLock { state -> InjectedFault? in
            if let tenant = state.batches[id]?.tenant, let retryAfter = state.throttleRetryAfter(tenant: tenant, now: now) {
                return .throttled(retryAfter: String(Int(retryAfter.seconds.rounded(.up))))
            }
            return state.drawFault(for: .batch)
        }
        if let answer = await early(fault) { return answer }
        let reply = state.withLock { state -> HTTPReply in
            guard let sandbox = request.header("x-sandbox-name"), !sandbox.isEmpty else { return json(400, SeedBodies.missingSandbox) }
            guard let batch = state.batches[id], let tenant = state.scenario.tenants.first(where: { $0.name == batch.tenant }) else {
                return json(404, SeedBodies.batchNotFound)
            }
            guard request.header("x-gw-ims-org-id") == tenant.orgID else { return json(403, SeedBodies.wrongOrganization) }
            guard sandbox == tenant.sandbox else { return json(404, SeedBodies.batchNotFound) }
            state.batchLookups[id, default: 0] += 1
            return json(200, batch.body(at: now, orgID: tenant.orgID))
        }
        return await finish(fault, reply)
    }

    /// The POST's answer, and the request it started, if it started one.
    private static func trigger(_ state: inout SimulatorState, tenant: String, mapping: String, now: Date)
        -> (body: String, created: SimulatedRequest?) {
        let config = state.tenants[tenant]!.mappings[mapping]!.config
        guard config.published else { return (SeedBodies.notPublished(mapping: mapping), nil) }
        guard config.stopped else { return (SeedBodies.notStopped(mapping: mapping), nil) }
        if let running = state.running(tenant: tenant, mapping: mapping, now: now) {
            return (SeedBodies.alreadyInProgress(requestID: String(running.requestID), mapping: mapping), nil)
        }
        let created = state.submit(tenant: tenant, mapping: mapping, now: now)
        return (SeedBodies.submitted(requestID: String(created.requestID), mapping: mapping), created)
    }

    /// `?requestId=` or, for tenants set up so, `{"requestId": …}` in the body.
    private static func requestID(of request: HTTPRequest) -> Int? {
        if let value = request.query["requestId"] { return Int(value) }
        guard !request.body.isEmpty,
              let object = try? JSONSerialization.jsonObject(with: Data(request.body)) as? [String: Any] else { return nil }
        if let number = object["requestId"] as? Int { return number }
        return (object["requestId"] as? String).flatMap { Int($0) }
    }

    /// Faults that replace the answer, or delay it.
    private func early(_ fault: InjectedFault?) async -> HTTPReply? {
        switch fault {
        case .throttled(let retryAfter)?:
            var response = HTTPResponse.json(Array(SeedBodies.tooManyRequests.utf8), status: 429)
            if let retryAfter { response.headers.append(("Retry-After", retryAfter)) }
            return response.reply
        case .unauthorized?:
            return json(401, SeedBodies.invalidToken)
        case .forbidden?:
            return json(403, SeedBodies.invalidProfile)
        case .serverError?:
            return json(500, SeedBodies.serverError)
        case .unavailable?:
            return json(503, "{\"code\":503,\"message\":\"Service Unavailable\"}")
        case .unavailableFor(let retryAfter)?:
            var response = HTTPResponse.json(Array("{\"code\":503,\"message\":\"Service Unavailable\"}".utf8), status: 503)
            response.headers.append(("Retry-After", retryAfter))
            return response.reply
        case .notJSON?:
            return HTTPResponse.html("<html><head><title>Error</title></head><body><h1>Bad Gateway</h1></body></html>").reply
        case .oversized(let bytes)?:
            return json(200, "{\"pad\":\"" + String(repeating: "x", count: max(0, bytes - 10)) + "\"}")
        case .rawBody(let body)?:
            return json(200, body)
        case .truncated?, .slow?, nil:
            return nil
        }
    }

    /// Applies faults that alter or delay a normal answer. A slow answer has
    /// already had its effect (a POST created its request), as when a gateway
    /// is slow to pass Adobe's answer on.
    private func finish(_ fault: InjectedFault?, _ reply: HTTPReply) async -> HTTPReply {
        switch fault {
        case .slow(let delay)?:
            do { try await Task.sleep(for: delay) } catch { return json(503, SeedBodies.serverError) }
            return reply
        case .truncated?:
            guard case .response(var response) = reply else { return reply }
            response.body = Array(response.body.prefix(response.body.count / 2))
            return response.reply
        default:
            return reply
        }
    }

    private func json(_ status: Int, _ body: String) -> HTTPReply {
        HTTPResponse.json(Array(body.utf8), status: status).reply
    }

    static func form(_ body: [UInt8]) -> [String: String] {
        var fields: [String: String] = [:]
        for pair in String(decoding: body, as: UTF8.self).split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
            let key = PercentEncoding.decode(parts[0], plusIsSpace: true)
            fields[key] = parts.count > 1 ? PercentEncoding.decode(parts[1], plusIsSpace: true) : ""
        }
        return fields
    }
}

extension SeedBodies {
    /// Not in Adobe's page: what the simulator answers for an unknown tenant,
    /// mapping or request (a decision, in the gateway's error shape).
    public static let notFound = "{\"error_code\":\"404050\",\"message\":\"Resource not found\"}"
}
