/// What a POST (trigger) answered, in the four shapes Adobe documents.
public enum TriggerOutcome: Sendable, Equatable {
    /// A new request was created.
    case submitted(RequestID)
    /// Another request of this mapping is running; this is its id.
    case alreadyInProgress(RequestID)
    /// The mapping must be stopped in Campaign before the API can trigger it.
    case notStopped(info: String)
    /// The mapping must be published in Campaign first.
    case notPublished(info: String)

    /// What the store and `acs_ingestion_triggers_total` count it as.
    public var result: TriggerResult {
        switch self {
        case .submitted: return .submitted
        case .alreadyInProgress: return .alreadyInProgress
        case .notStopped: return .notStopped
        case .notPublished: return .notPublished
        }
    }

    /// The request to follow, when there is one.
    public var requestID: RequestID? {
        switch self {
        case .submitted(let id), .alreadyInProgress(let id): return id
        case .notStopped, .notPublished: return nil
        }
    }
}

/// A POST body that parsed but is none of the documented shapes. Keeps Adobe's words.
public struct UnrecognizedTriggerResponse: Error, Equatable, Sendable {
    public let status: String?
    public let info: String?
}

/// What a GET (status) answered for one request.
public struct StatusReport: Sendable, Equatable {
    public var requestID: RequestID?
    public var status: IngestionStatus
    /// Records ingested; Adobe documents it as meaningful on Success only.
    public var numRecords: Int
    /// Set only when a failure happened after a batch was uploaded; empty reads as nil.
    public var batchID: String?
    public var info: String?
    public var acpCode: ACPCode?

    public init(requestID: RequestID?, status: IngestionStatus, numRecords: Int = 0,
                batchID: String? = nil, info: String? = nil) {
        self.requestID = requestID
        self.status = status
        self.numRecords = numRecords
        self.batchID = batchID
        self.info = info
        self.acpCode = ACPCode.find(in: info)
    }
}

/// The one place that reads the ingestion API's bodies.
public enum IngestionResponseDecoder {
    /// Reads a POST answer. Throws `ResponseDecodingError` when the body is not a
    /// JSON object, `UnrecognizedTriggerResponse` when it is one of no known shape.
    public static func decodeTrigger(_ bytes: [UInt8]) throws -> TriggerOutcome {
        let object = try LenientObject.parse(bytes)
        let info = object.text("info")
        let rawStatus = object.text("status")
        let status = rawStatus.map(IngestionStatus.init(apiValue:))
        let requestID = object.text("requestId").map { RequestID($0) }

        switch (status, requestID) {
        case (.success?, let id?): return .submitted(id)
        case (.inProgress?, let id?): return .alreadyInProgress(id)
        default: break
        }
        if status == .failed, let info {
            let lowered = info.lowercased()
            if lowered.contains("not stopped") { return .notStopped(info: info) }
            if lowered.contains("not published") { return .notPublished(info: info) }
        }
        throw UnrecognizedTriggerResponse(status: rawStatus, info: info)
    }

    /// Reads a GET answer. Only `status` is required; every other field may be
    /// missing, and `requestId`/`numRecords` may be numbers or strings.
    public static func decodeStatus(_ bytes: [UInt8]) throws(ResponseDecodingError) -> StatusReport {
        let object = try LenientObject.parse(bytes)
        guard let rawStatus = object.text("status") else { throw .missingField("status") }
        let batch = object.text("batchId").flatMap { $0.isEmpty ? nil : $0 }
        return StatusReport(
            requestID: object.text("requestId").map { RequestID($0) },
            status: IngestionStatus(apiValue: rawStatus),
            numRecords: max(0, object.integer("numRecords") ?? 0),
            batchID: batch,
            info: object.text("info"))
    }

    /// Whether a body is an ingestion answer (it has `status`) rather than a
    /// gateway error: Adobe's decision table judges by the body when it parses.
    public static func carriesIngestionStatus(_ bytes: [UInt8]) -> Bool {
        (try? LenientObject.parse(bytes))?.has("status") ?? false
    }
}

/// A gateway error body: `{"error_code":"401013","message":"…"}` or
/// `{"code":500,"message":"…"}`.
public struct GatewayError: Sendable, Equatable {
    public let code: String?
    public let message: String?

    /// adobe.io's code for a token it does not accept ("Oauth token is not valid").
    public static let invalidTokenCode = "401013"

    public static func decode(_ bytes: [UInt8]) -> GatewayError? {
        guard let object = try? LenientObject.parse(bytes) else { return nil }
        let code = object.text("error_code") ?? object.text("code") ?? object.text("error")
        let message = object.text("message") ?? object.text("error_description")
        guard code != nil || message != nil else { return nil }
        return GatewayError(code: code, message: message)
    }
}

/// The IMS token answer: `{"access_token": "…", "token_type": "bearer", "expires_in": 86399}`.
public struct TokenGrant: Sendable {
    public let accessToken: String
    public let expiresIn: Int

    public static func decode(_ bytes: [UInt8]) throws(ResponseDecodingError) -> TokenGrant {
        let object = try LenientObject.parse(bytes)
        guard let token = object.text("access_token"), !token.isEmpty else {
            throw .missingField("access_token")
        }
        guard let expiresIn = object.integer("expires_in") else { throw .missingField("expires_in") }
        return TokenGrant(accessToken: token, expiresIn: expiresIn)
    }
}
