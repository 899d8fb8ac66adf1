import AsyncHTTPClient
import Foundation
import IngestionModel
import Logging
import NIOHTTP1
import WireFormat

/// One finished HTTP exchange with Adobe, for the exporter's API metrics.
public struct APICallRecord: Sendable {
    public enum Operation: String, Sendable, CaseIterable {
        case token, trigger, status
        /// A Catalog batch lookup in Experience Platform.
        case batch
    }
    public let tenant: String
    public let operation: Operation
    /// The HTTP status as text, or an error kind such as `timeout`.
    public let code: String
    public let duration: Duration
}

/// The client for one tenant: IMS tokens, the ingestion POST (`trigger`) and GET
/// (`status`), with bounded retries. Safe to share between tasks.
public final class AdobeIngestionClient: Sendable {
    public let configuration: AdobeClientConfiguration
    private let transport: Transport
    private let time: any TimeSource
    private let logger: Logger
    private let observe: @Sendable (APICallRecord) -> Void
    private let jitter: @Sendable () -> Double
    private let gate: any RequestGate
    private let tokens: TokenCache

    public init(configuration: AdobeClientConfiguration,
                httpClient: HTTPClient = AdobeIngestionClient.sharedHTTPClient,
                time: any TimeSource = SystemTimeSource(),
                logger: Logger = Logger(label: "acs.client"),
                jitter: @escaping @Sendable () -> Double = { Double.random(in: 0...1) },
                gate: any RequestGate = OpenGate(),
                observe: @escaping @Sendable (APICallRecord) -> Void = { _ in },
                tokenObtained: @escaping @Sendable (_ expiresAt: Date) -> Void = { _ in }) {
        self.configuration = configuration
        self.transport = Transport(client: httpClient, timeout: configuration.timeout,
                                   maxBodyBytes: configuration.maxBodyBytes)
        self.time = time
        var logger = logger
        logger[metadataKey: "tenant"] = .string(configuration.tenant)
        self.logger = logger
        self.observe = observe
        self.jitter = jitter
        self.gate = gate
        let fetcher = TokenFetcher(configuration: configuration, transport: transport, time: time,
                                   observe: observe, logger: logger, jitter: jitter, gate: gate, tokenObtained: tokenObtained)
        self.tokens = TokenCache(time: time) { () async throws(AdobeAPIError) -> AccessToken in
            try await fetcher.fetch()
        }
    }

    /// One connection pool for the process (never shut down, like `HTTPClient.shared`).
    /// A refused connection fails at once; our own retries, with back-off, decide what next.
    public static let sharedHTTPClient: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.timeout.connect = .seconds(10)
        configuration.decompression = .disabled
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }()

    /// Makes sure a valid access token is at hand (asking IMS only when needed).
    public func authenticate() async throws(AdobeAPIError) {
        _ = try await tokens.validToken()
    }

    /// POSTs an ingestion of `mapping`: a side effect in Campaign.
    public func trigger(mapping: String) async throws(AdobeAPIError) -> TriggerOutcome {
        let response = try await authorizedCall(.trigger) { token in
            OutgoingRequest(method: .POST, url: self.ingestURL(mapping: mapping),
                            headers: self.headers(token), body: nil)
        }
        do {
            return try IngestionResponseDecoder.decodeTrigger(response.body)
        } catch let error as UnrecognizedTriggerResponse {
            throw .unexpectedTriggerResponse(status: error.status, info: error.info)
        } catch {
            throw Self.bodyError(error, status: response.status)
        }
    }

    /// GETs the status of one request.
    public func status(mapping: String, requestID: RequestID) async throws(AdobeAPIError) -> StatusReport {
        let response = try await authorizedCall(.status) { token in
            var url = self.ingestURL(mapping: mapping)
            var body: [UInt8]?
            switch self.configuration.requestIDPlacement {
            case .query:
                url += "?requestId=" + PercentEncoding.encode(requestID.rawValue)
            case .body:
                // Adobe shows the id as a number in its examples: send digits as one.
                let value = Int(requestID.rawValue).map(String.init) ?? Self.jsonString(requestID.rawValue)
                body = Array("{\"requestId\":\(value)}".utf8)
            }
            return OutgoingRequest(method: .GET, url: url, headers: self.headers(token), body: body)
        }
        do {
            return try IngestionResponseDecoder.decodeStatus(response.body)
        } catch {
            throw Self.bodyError(error, status: response.status)
        }
    }

    /// Looks a batch up in Experience Platform's Catalog (`GET {platform_url}/data/foundation/catalog/batches/{id}`),
    /// with the tenant's token and the `aep` settings' organization and sandbox: one attempt (the caller's
    /// schedule retries), 401 renewing the token when the gateway says it is invalid.
    public func catalogBatch(_ batchID: String) async throws(AdobeAPIError) -> CatalogBatch {
        guard let platform = configuration.platform else { throw .missingField("aep") }
        // One attempt: the followed batch's back-off is its retry, and a lookup never waits (a
        // Retry-After, a pause) inside the poll cycle Campaign's calls share. A 401 for anything but
        // the token itself (an entitlement) is not worth the token Campaign's calls use.
        let response = try await authorizedCall(.batch, retry: .once, renewsToken: { gateway in
            gateway?.code == nil || gateway?.code == GatewayError.invalidTokenCode
        }) { token in
            let base = platform.url.hasSuffix("/") ? String(platform.url.dropLast()) : platform.url
            return OutgoingRequest(method: .GET, url: "\(base)/data/foundation/catalog/batches/\(PercentEncoding.encode(batchID))",
                                   headers: [("Authorization", Authorization.bearer(token.value.revealed)),
                                             ("x-api-key", self.configuration.clientID),
                                             ("x-gw-ims-org-id", platform.orgID),
                                             ("x-sandbox-name", platform.sandbox),
                                             ("Accept", "application/json")],
                                   body: nil)
        }
        do {
            return try IngestionResponseDecoder.decodeCatalogBatch(response.body, id: batchID)
        } catch {
            throw Self.bodyError(error, status: response.status)
        }
    }

    // MARK: - Calls

    /// Sends with a valid token, retrying as `retry` says (the tenant's policy by default); on a
    /// 401 that `renewsToken` accepts, renews the token once and sends again.
    private func authorizedCall(_ operation: APICallRecord.Operation, retry: RetryPolicy? = nil,
                                renewsToken: (GatewayError?) -> Bool = { _ in true },
                                build: @Sendable (AccessToken) -> OutgoingRequest) async throws(AdobeAPIError) -> RawResponse {
        var renewed = false
        let context = context(retry: retry ?? configuration.retry)
        while true {
            let token = try await tokens.validToken()
            let response = try await callWithRetries(operation, context: context, build: { build(token) })
            if response.status == 401 && !IngestionResponseDecoder.carriesIngestionStatus(response.body) {
                let gateway = GatewayError.decode(response.body)
                guard !renewed && renewsToken(gateway) else { throw .unauthorized(code: gateway?.code, message: gateway?.message) }
                logger.info("access token refused, renewing it", metadata: ["operation": "\(operation.rawValue)"])
                await tokens.invalidate(token)
                renewed = true
                continue
            }
            return response
        }
    }

    private func context(retry: RetryPolicy) -> CallContext {
        CallContext(tenant: configuration.tenant, transport: transport, time: time, retry: retry,
                    logger: logger, observe: observe, jitter: jitter, gate: gate)
    }

    private func callWithRetries(_ operation: APICallRecord.Operation, context: CallContext,
                                 build: @Sendable () -> OutgoingRequest) async throws(AdobeAPIError) -> RawResponse {
        try await context.send(operation, build: build) { response throws(AdobeAPIError) in
            if IngestionResponseDecoder.carriesIngestionStatus(response.body) { return }
            let gateway = GatewayError.decode(response.body)
            switch response.status {
            case 200..<300, 401: return
            case 403: throw .forbidden(code: gateway?.code, message: gateway?.message)
            case 404: throw .notFound(message: gateway?.message)
            default: try CallContext.checkTransient(response, gateway: gateway, now: context.time.now())
            }
        }
    }

    private func ingestURL(mapping: String) -> String {
        let base = configuration.apiBaseURL.hasSuffix("/")
            ? String(configuration.apiBaseURL.dropLast()) : configuration.apiBaseURL
        return "\(base)/\(PercentEncoding.encode(configuration.tenant))/campaign/dataIngestion/xdmIngestion/\(PercentEncoding.encode(mapping))/ingest"
    }

    private func headers(_ token: AccessToken) -> [(String, String)] {
        [("Authorization", Authorization.bearer(token.value.revealed)),
         ("X-Api-Key", configuration.clientID),
         ("Content-Type", "application/json"),
         ("Cache-Control", "no-cache")]
    }

    private static func jsonString(_ text: String) -> String {
        let data = try? JSONEncoder().encode(text)
        return data.map { String(decoding: $0, as: UTF8.self) } ?? "\"\""
    }

    static func bodyError(_ error: Error, status: Int) -> AdobeAPIError {
        switch error as? ResponseDecodingError {
        case .emptyBody?: return .bodyNotJSON(status: status, snippet: "(empty)")
        case .notJSON(let snippet)?: return .bodyNotJSON(status: status, snippet: snippet)
        case .missingField(let name)?: return .missingField(name)
        case nil: return .bodyNotJSON(status: status, snippet: String(describing: error))
        }
    }
}

/// What one call with retries needs; shared by the API calls and the token request.
struct CallContext: Sendable {
    let tenant: String
    let transport: Transport
    let time: any TimeSource
    let retry: RetryPolicy
    let logger: Logger
    let observe: @Sendable (APICallRecord) -> Void
    let jitter: @Sendable () -> Double
    let gate: any RequestGate

    /// Sends until `classify` accepts the answer, retrying transient failures
    /// with back-off (or the server's Retry-After), at most `retry.maxAttempts` times.
    func send(_ operation: APICallRecord.Operation, build: @Sendable () -> OutgoingRequest,
              classify: (RawResponse) throws(AdobeAPIError) -> Void) async throws(AdobeAPIError) -> RawResponse {
        var attempt = 0
        while true {
            attempt += 1
            if Task.isCancelled { throw .cancelled }
            let clock = ContinuousClock()
            let started = clock.now
            let failure: AdobeAPIError
            var retryAfter: Duration?
            do {
                let response = try await gate.withPermit(for: operation, judge: { [time] in AttemptOutcome($0, now: time.now()) }) {
                    () async throws(AdobeAPIError) -> RawResponse in
                    try await transport.send(build())
                }
                observe(APICallRecord(tenant: tenant, operation: operation, code: String(response.status),
                                      duration: clock.now - started))
                // 503s (and 429s) may say when to come back.
                retryAfter = RetryAfter.parse(response.headers.first(name: "retry-after"), now: time.now())
                try classify(response)
                return response
            } catch {
                switch error {
                case .cancelled: throw error
                case .timeout, .connectionFailed, .bodyTooLarge: observe(record(operation, error, since: started, clock))
                default: break
                }
                failure = error
            }
            guard failure.isTransient, attempt < retry.maxAttempts else { throw failure }
            var delay = retry.backoff(afterAttempt: attempt, jitter: jitter())
            if case .throttled = failure, gate.holdsThrottledCalls {
                delay = .zero  // the gate holds this call, and every other of the tenant, until the pause ends
            } else if let retryAfter {
                guard retryAfter <= retry.maxRetryAfter else { throw failure }
                delay = retryAfter
            }
            logger.debug("retrying after a transient failure", metadata: [
                "operation": "\(operation.rawValue)", "attempt": "\(attempt)",
                "error": "\(failure)", "delay_seconds": "\(delay.seconds)",
            ])
            gate.backingOff(until: time.now().adding(delay))
            do {
                try await time.sleep(for: delay)
            } catch {
                throw .cancelled
            }
        }
    }

    private func record(_ operation: APICallRecord.Operation, _ error: AdobeAPIError,
                        since started: ContinuousClock.Instant, _ clock: ContinuousClock) -> APICallRecord {
        APICallRecord(tenant: tenant, operation: operation, code: error.kind, duration: clock.now - started)
    }

    /// Throws for 429 and 5xx (transient) and for other unexpected statuses.
    static func checkTransient(_ response: RawResponse, gateway: GatewayError?, now: Date) throws(AdobeAPIError) {
        switch response.status {
        case 200..<300: return
        case 429:
            throw .throttled(retryAfter: RetryAfter.parse(response.headers.first(name: "retry-after"), now: now))
        case 500..<600:
            throw .serverError(status: response.status, message: gateway?.message)
        default:
            throw .unexpectedStatus(response.status, message: gateway?.message)
        }
    }
}

/// Asks IMS for an access token (OAuth Server-to-Server, client credentials).
struct TokenFetcher: Sendable {
    let configuration: AdobeClientConfiguration
    let transport: Transport
    let time: any TimeSource
    let observe: @Sendable (APICallRecord) -> Void
    let logger: Logger
    let jitter: @Sendable () -> Double
    let gate: any RequestGate
    let tokenObtained: @Sendable (Date) -> Void

    func fetch() async throws(AdobeAPIError) -> AccessToken {
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", configuration.clientID),
            ("client_secret", configuration.clientSecret.revealed),
            ("scope", configuration.scopes.joined(separator: ",")),
        ].map { "\($0.0)=\(PercentEncoding.encode($0.1))" }.joined(separator: "&")
        let url = configuration.imsTokenURL
        let context = CallContext(tenant: configuration.tenant, transport: transport, time: time,
                                  retry: configuration.retry, logger: logger, observe: observe, jitter: jitter, gate: gate)
        let response = try await context.send(.token, build: {
            OutgoingRequest(method: .POST, url: url,
                            headers: [("Content-Type", "application/x-www-form-urlencoded"),
                                      ("Cache-Control", "no-cache")],
                            body: Array(form.utf8))
        }) { response throws(AdobeAPIError) in
            switch response.status {
            case 200..<300: return
            case 400, 401, 403:
                let gateway = GatewayError.decode(response.body)
                throw .authenticationFailed(status: response.status, code: gateway?.code, message: gateway?.message)
            default:
                try CallContext.checkTransient(response, gateway: GatewayError.decode(response.body), now: time.now())
            }
        }
        let grant: TokenGrant
        do {
            grant = try TokenGrant.decode(response.body)
        } catch {
            // Never quote a token answer: a cut-off body starts with the access token.
            if case .missingField(let name) = error { throw .missingField(name) }
            throw .bodyNotJSON(status: response.status, snippet: "(token response withheld)")
        }
        let lifetime = Duration.seconds(max(grant.expiresIn, 0))
        let now = time.now()
        logger.debug("obtained an access token", metadata: ["expires_in": "\(grant.expiresIn)"])
        let token = AccessToken(value: Secret(grant.accessToken), expiresAt: now.adding(lifetime),
                                renewAt: now.adding(lifetime * (1 - configuration.tokenRenewalShare)))
        tokenObtained(token.expiresAt)
        return token
    }
}

/// Wraps every HTTP attempt (retries and token requests included), so that a
/// caller can bound concurrency and rate per attempt and hold a tenant's calls
/// (see `UpstreamGuard`); back-off waits outside it.
public protocol RequestGate: Sendable {
    /// Runs `body` (one HTTP attempt of `operation`) once the gate lets it through, and
    /// learns from `judge` what the attempt came to (nil: nothing that speaks of the
    /// API), however it ended: an answer, an error, or no attempt at all.
    func withPermit<T: Sendable>(for operation: APICallRecord.Operation,
                                 judge: (Result<T, AdobeAPIError>) -> AttemptOutcome?,
                                 _ body: () async throws(AdobeAPIError) -> T) async throws(AdobeAPIError) -> T
    /// Whether the gate holds every call of the tenant for a 429's Retry-After, so the
    /// retrying call need not wait on its own.
    var holdsThrottledCalls: Bool { get }
    /// A call waits until `until` before its next attempt (back-off or Retry-After).
    func backingOff(until: Date)
}

extension RequestGate {
    public var holdsThrottledCalls: Bool { false }
    public func backingOff(until: Date) {}
}

/// No limit.
public struct OpenGate: RequestGate {
    public init() {}
    public func withPermit<T: Sendable>(for operation: APICallRecord.Operation,
                                        judge: (Result<T, AdobeAPIError>) -> AttemptOutcome?,
                                        _ body: () async throws(AdobeAPIError) -> T) async throws(AdobeAPIError) -> T {
        try await body()
    }
}
