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
    @Nullable public var rawStatus: String?
    public var numRecords: Int
    @Nullable public var batchID: String?
    @Nullable public var info: String?
    @Nullable public var acpCode: String?
    public var firstSeen: String
    @Nullable public var lastPolled: String?
    @Nullable public var finishedAt: String?
    /// When an operator stopped tracking it.
    @Nullable public var untrackedAt: String?
    @Nullable public var durationSeconds: Double?
    /// Only in the answer about one request.
    public var observations: [ObservationBody]?
    /// Its batch as followed in Experience Platform's Catalog (a tenant with an `aep` block).
    @Nullable public var aepBatch: AEPBatchBody?

    enum CodingKeys: String, CodingKey {
        case tenant, mapping, origin, status, info, observations
        case aepBatch = "aep_batch"
        case requestID = "request_id", rawStatus = "raw_status", numRecords = "num_records", batchID = "batch_id"
        case acpCode = "acp_code", firstSeen = "first_seen", lastPolled = "last_polled", finishedAt = "finished_at"
        case untrackedAt = "untracked_at"
        case durationSeconds = "duration_seconds"
    }

    public init(_ request: TrackedRequest, observations: [Observation]? = nil, batch: BatchFollowUp? = nil) {
        (tenant, mapping, requestID, origin, status, rawStatus, numRecords, batchID, info, acpCode) = request.textFields
        firstSeen = Timestamp.rfc3339(request.firstSeen)
        lastPolled = request.lastPolled.map(Timestamp.rfc3339)
        finishedAt = request.finishedAt.map(Timestamp.rfc3339)
        untrackedAt = request.untrackedAt.map(Timestamp.rfc3339)
        durationSeconds = request.duration
        self.observations = observations.map { $0.map(ObservationBody.init) }
        aepBatch = batch.map(AEPBatchBody.init)
    }

}

/// A request's batch in Experience Platform: its Catalog status, record counts and error
/// codes with Adobe's generic descriptions (never a row's content).
public struct AEPBatchBody: Codable, Sendable, Equatable {
    public struct ErrorBody: Codable, Sendable, Equatable {
        public var code: String
        @Nullable public var recordCount: Int?
        @Nullable public var description: String?

        enum CodingKeys: String, CodingKey {
            case code, description
            case recordCount = "record_count"
        }
    }

    public var batchID: String
    /// `pending` before the first answer, then the Catalog's status; `unknown` when given up on.
    public var status: String
    public var ended: Bool
    public var lookups: Int
    public var errors: [ErrorBody]
    @Nullable public var inputRecords: Int?
    @Nullable public var ingestedRecords: Int?
    @Nullable public var failedRecords: Int?
    /// Why the last lookup failed, until one is answered.
    @Nullable public var lastError: String?
    @Nullable public var nextLookupAt: String?
    @Nullable public var finishedAt: String?

    enum CodingKeys: String, CodingKey {
        case status, ended, lookups, errors
        case batchID = "batch_id", inputRecords = "input_records", ingestedRecords = "ingested_records"
        case failedRecords = "failed_records", lastError = "last_error", nextLookupAt = "next_lookup_at", finishedAt = "finished_at"
    }

    public init(_ batch: BatchFollowUp) {
        (batchID, status, ended, lookups) = (batch.batchID, batch.status, !batch.isOpen, batch.lookups)
        (inputRecords, ingestedRecords, failedRecords) = (batch.counts.input, batch.counts.output, batch.counts.failed)
        errors = batch.errors.map { ErrorBody(code: $0.code, recordCount: $0.recordCount, description: $0.description) }
        lastError = batch.lastError
        nextLookupAt = batch.nextLookupAt.map(Timestamp.rfc3339)
        finishedAt = batch.finishedAt.map(Timestamp.rfc3339)
    }
}

/// One status change of a request.
public struct ObservationBody: Codable, Sendable, Equatable {
    public var status: String
    @Nullable public var info: String?
    public var numRecords: Int
    @Nullable public var batchID: String?
    public var observedAt: String

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

}

/// `GET /api/v1/requests`: a page, newest first, and the cursor of the next one.
public struct RequestPage: Codable, Sendable, Equatable {
    public var requests: [RequestBody]
    @Nullable public var nextCursor: String?

    enum CodingKeys: String, CodingKey {
        case requests
        case nextCursor = "next_cursor"
    }

    public init(requests: [RequestBody], nextCursor: String?) {
        self.requests = requests
        self.nextCursor = nextCursor
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
        (self.tenant, self.mapping, self.result, self.requestID) = (tenant, mapping, result, requestID)
        (self.info, self.error) = (info, error)
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
            (self.requests, self.recordsIngested, self.failuresByACPCode, self.inProgress) = (requests, recordsIngested, failuresByACPCode, inProgress)
            self.triggers = triggers
        }
    }

    public struct Entry: Codable, Sendable, Equatable {
        public var tenant: String
        public var mapping: String
        public var name: String
        @Nullable public var triggerEvery: String?
        @Nullable public var triggerCron: String?
        @Nullable public var triggerTimezone: String?
        @Nullable public var latestRequest: RequestBody?
        public var counters: Counters

        enum CodingKeys: String, CodingKey {
            case tenant, mapping, name, counters
            case triggerEvery = "trigger_every", triggerCron = "trigger_cron", triggerTimezone = "trigger_timezone"
            case latestRequest = "latest_request"
        }

        public init(tenant: String, mapping: String, name: String, triggerEvery: String?, triggerCron: String? = nil,
                    triggerTimezone: String? = nil, latestRequest: RequestBody?, counters: Counters) {
            (self.tenant, self.mapping, self.name, self.triggerEvery) = (tenant, mapping, name, triggerEvery)
            (self.triggerCron, self.triggerTimezone) = (triggerCron, triggerTimezone)
            (self.latestRequest, self.counters) = (latestRequest, counters)
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
