import Foundation
import IngestionModel

/// The bodies of `/api/v1`, written once for both sides: the exporter's routes
/// encode them and the command line decodes them, so a field renamed on one
/// side is a compile error on the other. Field names are the API's (snake_case,
/// `requestId` where Adobe's own spelling is used).

/// One tracked request (`GET /api/v1/requests/{tenant}/{mapping}/{id}` adds its observations).
public struct RequestBody: Codable, Sendable, Equatable {
    public var tenant: String
    public var mapping: String
    public var requestID: String
    public var origin: String
    /// `in_progress`, `success`, `failed`, `aborted` or `unknown`.
    public var status: String
    /// Adobe's own text when the status is `unknown`.
    public var rawStatus: String?
    public var numRecords: Int
    public var batchID: String?
    public var info: String?
    public var acpCode: String?
    public var firstSeen: String
    public var lastPolled: String?
    public var finishedAt: String?
    public var durationSeconds: Double?
    public var observations: [ObservationBody]?

    enum CodingKeys: String, CodingKey {
        case tenant, mapping, origin, status, info, observations
        case requestID = "request_id", rawStatus = "raw_status", numRecords = "num_records", batchID = "batch_id"
        case acpCode = "acp_code", firstSeen = "first_seen", lastPolled = "last_polled", finishedAt = "finished_at"
        case durationSeconds = "duration_seconds"
    }

    public init(_ request: TrackedRequest, observations: [Observation]? = nil) {
        tenant = request.key.tenant
        mapping = request.key.mapping
        requestID = request.requestID.rawValue
        origin = request.origin.rawValue
        status = request.status.name
        rawStatus = request.status.rawUnknown
        numRecords = request.numRecords
        batchID = request.batchID
        info = request.info
        acpCode = request.acpCode?.rawValue
        firstSeen = Timestamp.rfc3339(request.firstSeen)
        lastPolled = request.lastPolled.map(Timestamp.rfc3339)
        finishedAt = request.finishedAt.map(Timestamp.rfc3339)
        durationSeconds = request.duration
        self.observations = observations.map { $0.map(ObservationBody.init) }
    }

    /// Absent values are written as `null`, so every request has the same keys.
    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(tenant, forKey: .tenant)
        try container.encode(mapping, forKey: .mapping)
        try container.encode(requestID, forKey: .requestID)
        try container.encode(origin, forKey: .origin)
        try container.encode(status, forKey: .status)
        try container.encode(rawStatus, forKey: .rawStatus)
        try container.encode(numRecords, forKey: .numRecords)
        try container.encode(batchID, forKey: .batchID)
        try container.encode(info, forKey: .info)
        try container.encode(acpCode, forKey: .acpCode)
        try container.encode(firstSeen, forKey: .firstSeen)
        try container.encode(lastPolled, forKey: .lastPolled)
        try container.encode(finishedAt, forKey: .finishedAt)
        try container.encode(durationSeconds, forKey: .durationSeconds)
        try container.encodeIfPresent(observations, forKey: .observations)
    }
}

/// One status change of a request.
public struct ObservationBody: Codable, Sendable, Equatable {
    public var observedAt: String
    public var status: String
    public var numRecords: Int
    public var batchID: String?
    public var info: String?

    enum CodingKeys: String, CodingKey {
        case status, info
        case observedAt = "observed_at", numRecords = "num_records", batchID = "batch_id"
    }

    public init(_ observation: Observation) {
        observedAt = Timestamp.rfc3339(observation.observedAt)
        status = observation.status.name
        numRecords = observation.numRecords
        batchID = observation.batchID
        info = observation.info
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(observedAt, forKey: .observedAt)
        try container.encode(status, forKey: .status)
        try container.encode(numRecords, forKey: .numRecords)
        try container.encode(batchID, forKey: .batchID)
        try container.encode(info, forKey: .info)
    }
}

/// `GET /api/v1/requests`: a page, newest first, and the cursor of the next one.
public struct RequestPage: Codable, Sendable, Equatable {
    public var requests: [RequestBody]
    public var nextCursor: String?

    enum CodingKeys: String, CodingKey {
        case requests
        case nextCursor = "next_cursor"
    }

    public init(requests: [RequestBody], nextCursor: String?) {
        self.requests = requests
        self.nextCursor = nextCursor
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(requests, forKey: .requests)
        try container.encode(nextCursor, forKey: .nextCursor)
    }
}

/// `POST /api/v1/tenants/{tenant}/mappings/{mapping}/ingest`: what the trigger came to.
public struct TriggerResponse: Codable, Sendable, Equatable {
    public var tenant: String
    public var mapping: String
    /// A `TriggerResult` label.
    public var result: String
    public var requestID: String?
    /// Adobe's words when it refused.
    public var info: String?
    /// Why the call failed, when it did.
    public var error: String?

    enum CodingKeys: String, CodingKey {
        case tenant, mapping, result, info, error
        case requestID = "requestId"
    }

    public init(tenant: String, mapping: String, result: String, requestID: String? = nil, info: String? = nil,
                error: String? = nil) {
        self.tenant = tenant
        self.mapping = mapping
        self.result = result
        self.requestID = requestID
        self.info = info
        self.error = error
    }
}

/// `GET /api/v1/mappings`: each configured mapping with its latest request and counters.
public struct MappingList: Codable, Sendable, Equatable {
    public struct Counters: Codable, Sendable, Equatable {
        /// Ended requests by final status.
        public var requests: [String: Int]
        public var recordsIngested: Int
        public var failuresByACPCode: [String: Int]
        public var inProgress: Int
        /// Triggers by result.
        public var triggers: [String: Int]

        enum CodingKeys: String, CodingKey {
            case requests, triggers
            case recordsIngested = "records_ingested", failuresByACPCode = "failures_by_acp_code", inProgress = "in_progress"
        }

        public init(requests: [String: Int], recordsIngested: Int, failuresByACPCode: [String: Int], inProgress: Int,
                    triggers: [String: Int]) {
            self.requests = requests
            self.recordsIngested = recordsIngested
            self.failuresByACPCode = failuresByACPCode
            self.inProgress = inProgress
            self.triggers = triggers
        }
    }

    public struct Entry: Codable, Sendable, Equatable {
        public var tenant: String
        public var mapping: String
        public var name: String
        public var triggerEvery: String?
        public var latestRequest: RequestBody?
        public var counters: Counters

        enum CodingKeys: String, CodingKey {
            case tenant, mapping, name, counters
            case triggerEvery = "trigger_every", latestRequest = "latest_request"
        }

        public init(tenant: String, mapping: String, name: String, triggerEvery: String?, latestRequest: RequestBody?,
                    counters: Counters) {
            self.tenant = tenant
            self.mapping = mapping
            self.name = name
            self.triggerEvery = triggerEvery
            self.latestRequest = latestRequest
            self.counters = counters
        }

        public func encode(to encoder: Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(tenant, forKey: .tenant)
            try container.encode(mapping, forKey: .mapping)
            try container.encode(name, forKey: .name)
            try container.encode(triggerEvery, forKey: .triggerEvery)
            try container.encode(latestRequest, forKey: .latestRequest)
            try container.encode(counters, forKey: .counters)
        }
    }

    public var mappings: [Entry]

    public init(mappings: [Entry]) { self.mappings = mappings }
}

/// Every error the API answers: `{"error": "…"}`.
public struct ErrorBody: Codable, Sendable, Equatable {
    public var error: String
    public init(error: String) { self.error = error }
}
