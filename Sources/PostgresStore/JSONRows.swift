import Foundation
import IngestionModel
import IngestionStore

/// Many rows at once travel as one JSON document, bound as one parameter:
/// `json_to_recordset($1::json)` on the way in, `json_agg` on the way out.
///
/// Binding every value of a 5,000-row batch (70,000 parameters) costs far more
/// in PostgresNIO's encoding and decoding than in PostgreSQL; one document costs
/// Foundation's JSON coder a fraction of that. Doubles survive exactly: Swift
/// writes the shortest text that reads back to the same bits, and PostgreSQL reads
/// it with correct rounding and writes float8 the same way. The keys are the
/// column names, so a statement names each column once, in its record definition.
enum JSONRows {
    static func encode<Row: Encodable>(_ rows: [Row]) throws -> String {
        let encoder = JSONEncoder()
        // The +Inf duration bucket: PostgreSQL's float8 input reads "Infinity".
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity",
                                                                      nan: "NaN")
        return String(decoding: try encoder.encode(rows), as: UTF8.self)
    }

    static func decode<Row: Decodable>(_ json: String, as type: Row.Type) throws -> [Row] {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity",
                                                                        nan: "NaN")
        return try decoder.decode([Row].self, from: Data(json.utf8))
    }
}

/// A row of `requests`.
struct RequestRecord: Codable {
    static let definition = """
        id bigint, tenant text, mapping text, request_id text, origin text, first_seen double precision, \
        last_polled double precision, status text, raw_status text, num_records bigint, batch_id text, info text, \
        acp_code text, finished_at double precision, not_found_since double precision, untracked_at double precision
        """

    var id: Int64
    var tenant, mapping, request_id, origin: String
    var first_seen: Double
    var last_polled: Double?
    var status: String
    var raw_status: String?
    var num_records: Int
    var batch_id, info, acp_code: String?
    var finished_at, not_found_since, untracked_at: Double?

    init(_ request: TrackedRequest) {
        id = request.rowID
        (tenant, mapping, request_id, origin, status, raw_status, num_records, batch_id, info, acp_code) = request.textFields
        first_seen = request.firstSeen.timeIntervalSince1970
        last_polled = request.lastPolled?.timeIntervalSince1970
        finished_at = request.finishedAt?.timeIntervalSince1970
        not_found_since = request.notFoundSince?.timeIntervalSince1970
        untracked_at = request.untrackedAt?.timeIntervalSince1970
    }

    /// The columns of a row as a query selects them, in `definition`'s order.
    typealias Columns = (Int64, String, String, String, String, Double, Double?, String, String?, Int, String?, String?,
                         String?, Double?, Double?, Double?)

    init(_ columns: Columns) {
        (id, tenant, mapping, request_id, origin, first_seen, last_polled, status, raw_status, num_records, batch_id, info,
         acp_code, finished_at, not_found_since, untracked_at) = columns
    }

    var request: TrackedRequest {
        TrackedRequest(rowID: id, key: MappingKey(tenant: tenant, mapping: mapping), requestID: RequestID(request_id),
                       origin: RequestOrigin(rawValue: origin) ?? .external, firstSeen: Date(timeIntervalSince1970: first_seen),
                       lastPolled: last_polled.map(Date.init(timeIntervalSince1970:)),
                       status: IngestionStatus(storedName: status, raw: raw_status), numRecords: num_records,
                       batchID: batch_id, info: info, acpCode: acp_code.flatMap(ACPCode.init(rawValue:)),
                       finishedAt: finished_at.map(Date.init(timeIntervalSince1970:)),
                       notFoundSince: not_found_since.map(Date.init(timeIntervalSince1970:)),
                       untrackedAt: untracked_at.map(Date.init(timeIntervalSince1970:)))
    }
}

/// A row of `observations`.
struct ObservationRecord: Codable {
    static let definition = """
        id bigint, request bigint, observed_at double precision, status text, raw_status text, num_records bigint, \
        batch_id text, info text
        """

    var id, request: Int64
    var observed_at: Double
    var status: String
    var raw_status: String?
    var num_records: Int
    var batch_id, info: String?

    init(_ row: ObservationRow) {
        id = row.id
        request = row.requestRowID
        observed_at = row.observation.observedAt.timeIntervalSince1970
        status = row.observation.status.name
        raw_status = row.observation.status.rawUnknown
        num_records = row.observation.numRecords
        batch_id = row.observation.batchID
        info = row.observation.info
    }

    /// The columns of a row as a query selects them, in `definition`'s order.
    typealias Columns = (Int64, Int64, Double, String, String?, Int, String?, String?)

    init(_ columns: Columns) {
        (id, request, observed_at, status, raw_status, num_records, batch_id, info) = columns
    }

    var row: ObservationRow {
        ObservationRow(id: id, requestRowID: request, observation: Observation(
            observedAt: Date(timeIntervalSince1970: observed_at), status: IngestionStatus(storedName: status, raw: raw_status),
            numRecords: num_records, batchID: batch_id, info: info))
    }
}

/// A key of `pruned_requests`.
struct PrunedKeyRecord: Codable {
    static let definition = "tenant text, mapping text, request_id text"

    var tenant, mapping, request_id: String

    init(_ key: PrunedKey) {
        tenant = key.key.tenant
        mapping = key.key.mapping
        request_id = key.requestID.rawValue
    }

    var key: PrunedKey { PrunedKey(key: MappingKey(tenant: tenant, mapping: mapping), requestID: RequestID(request_id)) }
}

/// A row of `mappings`.
struct MappingRecord: Codable {
    static let definition = "tenant text, mapping text, created_at double precision"

    var tenant, mapping: String
    var created_at: Double
}

/// A row of `trigger_plans`.
struct PlanRecord: Codable {
    static let definition = """
        tenant text, mapping text, slot double precision, due_at double precision, attempts bigint, failing_since double precision
        """

    var tenant, mapping: String
    var slot, due_at: Double
    var attempts: Int
    var failing_since: Double?

    init(_ key: MappingKey, _ plan: TriggerPlan) {
        (tenant, mapping) = (key.tenant, key.mapping)
        (slot, due_at) = (plan.slot.timeIntervalSince1970, plan.dueAt.timeIntervalSince1970)
        (attempts, failing_since) = (plan.attempts, plan.failingSince?.timeIntervalSince1970)
    }
}

/// A row of `trigger_intents`.
struct IntentRecord: Codable {
    static let definition = "id bigint, tenant text, mapping text, at double precision"

    var id: Int64
    var tenant, mapping: String
    var at: Double

    init(_ intent: TriggerIntent) {
        (id, tenant, mapping, at) = (intent.id, intent.key.tenant, intent.key.mapping, intent.at.timeIntervalSince1970)
    }
}

/// A row of `outcome_totals`.
struct OutcomeRecord: Codable {
    static let definition = """
        tenant text, mapping text, status text, acp_code text, requests bigint, records bigint, duration_sum double precision
        """

    var tenant, mapping, status, acp_code: String
    var requests, records: Int
    var duration_sum: Double
}

/// A row of `duration_buckets`.
struct BucketRecord: Codable {
    static let definition = "tenant text, mapping text, status text, upper_bound double precision, count bigint"

    var tenant, mapping, status: String
    var upper_bound: Double
    var count: Int
}

/// A row of `trigger_totals`.
struct TriggerRecord: Codable {
    static let definition = "tenant text, mapping text, result text, count bigint"

    var tenant, mapping, result: String
    var count: Int
}

/// A row of `mapping_latest`.
struct LatestRecord: Codable {
    static let definition = """
        tenant text, mapping text, last_success_at double precision, last_success_records bigint, \
        last_failure_at double precision, last_trigger_at double precision
        """

    var tenant, mapping: String
    var last_success_at: Double?
    var last_success_records: Int?
    var last_failure_at, last_trigger_at: Double?
}

extension IngestionTotals {
    /// The rows of the four totals tables.
    var records: (outcomes: [OutcomeRecord], buckets: [BucketRecord], triggers: [TriggerRecord], latest: [LatestRecord]) {
        (outcomes.map { OutcomeRecord(tenant: $0.key.tenant, mapping: $0.key.mapping, status: $0.status.label, acp_code: $0.acpCode,
                                      requests: $0.requests, records: $0.records, duration_sum: $0.durationSum) },
         buckets.map { BucketRecord(tenant: $0.key.tenant, mapping: $0.key.mapping, status: $0.status.label,
                                    upper_bound: $0.upperBound, count: $0.count) },
         triggers.flatMap { key, counts in
             counts.map { TriggerRecord(tenant: key.tenant, mapping: key.mapping, result: $0.key.label, count: $0.value) }
         },
         latest.map { key, latest in
             // NULL records without a success, as the counting statements leave them.
             LatestRecord(tenant: key.tenant, mapping: key.mapping, last_success_at: latest.lastSuccessAt?.timeIntervalSince1970,
                          last_success_records: latest.lastSuccessAt == nil ? nil : latest.lastSuccessRecords,
                          last_failure_at: latest.lastFailureAt?.timeIntervalSince1970,
                          last_trigger_at: latest.lastTriggerAt?.timeIntervalSince1970)
         })
    }
}
