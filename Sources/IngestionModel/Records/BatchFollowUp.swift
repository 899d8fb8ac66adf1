import Foundation

/// One batch followed in Experience Platform's Catalog after the request that named
/// it ended (a Campaign failure such as ACP-880096 carries the batch id): a stored,
/// resumable job, looked up with back-off until the batch ends or the follow-up gives
/// up. Codes, counts and Adobe's generic descriptions only, never a row's content.
public struct BatchFollowUp: Sendable, Equatable {
    /// The row id of the request the batch belongs to: one batch per request.
    public var requestRowID: Int64
    public var key: MappingKey
    public var requestID: RequestID
    public var batchID: String
    /// `pending` until the Catalog first answers, then its status (`processing`…);
    /// once ended, the batch's final status or `unknown` (given up on).
    public var status: String
    public var createdAt: Date
    /// Lookups sent for it (answered or not).
    public var lookups: Int
    /// When it is looked up next; nil once it ended.
    public var nextLookupAt: Date?
    /// Why the last lookup failed (an HTTP code and the gateway's words), until one is answered.
    public var lastError: String?
    public var finishedAt: Date?
    public var counts: CatalogBatch.Counts
    public var errors: [CatalogBatch.Failure]

    public init(requestRowID: Int64, key: MappingKey, requestID: RequestID, batchID: String, status: String = Self.pending,
                createdAt: Date, lookups: Int = 0, nextLookupAt: Date?, lastError: String? = nil, finishedAt: Date? = nil,
                counts: CatalogBatch.Counts = CatalogBatch.Counts(), errors: [CatalogBatch.Failure] = []) {
        (self.requestRowID, self.key, self.requestID, self.batchID) = (requestRowID, key, requestID, batchID)
        (self.status, self.createdAt, self.lookups, self.nextLookupAt) = (status, createdAt, lookups, nextLookupAt)
        (self.lastError, self.finishedAt, self.counts, self.errors) = (lastError, finishedAt, counts, errors)
    }

    /// The status before the Catalog's first answer.
    public static let pending = "pending"
    /// The final status of a batch given up on.
    public static let unknown = "unknown"

    /// Still looked up.
    public var isOpen: Bool { finishedAt == nil }

    /// Takes in what one lookup at `time` came to; `next` is when to look again if it did not end.
    public mutating func apply(_ outcome: BatchLookup.Outcome, at time: Date, next: Date) {
        switch outcome {
        case .answered(let batch):
            lookups += 1
            (status, lastError) = (batch.status, nil)
            if batch.counts != CatalogBatch.Counts() { counts = batch.counts }
            if !batch.errors.isEmpty { errors = batch.errors }
            if batch.hasEnded { finishedAt = time }
        case .failed(let reason):
            lookups += 1
            lastError = String(reason.prefix(CatalogBatch.descriptionLimit))
        case .gaveUp:
            (status, finishedAt) = (Self.unknown, time)
        }
        nextLookupAt = isOpen ? next : nil
    }

    /// `errors` as the stores keep them: a JSON array of `{code, description, recordCount}`.
    public var errorsJSON: String {
        let entries = errors.map { StoredFailure(code: $0.code, description: $0.description, recordCount: $0.recordCount) }
        let data = (try? JSONEncoder.sortedKeys.encode(entries)) ?? Data("[]".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    /// Reads `errorsJSON` back (an unreadable text gives no errors).
    public static func errors(fromJSON text: String) -> [CatalogBatch.Failure] {
        let entries = (try? JSONDecoder().decode([StoredFailure].self, from: Data(text.utf8))) ?? []
        return entries.map { CatalogBatch.Failure(code: $0.code, description: $0.description, recordCount: $0.recordCount) }
    }

    private struct StoredFailure: Codable {
        var code: String
        var description: String?
        var recordCount: Int?
    }
}

private extension JSONEncoder {
    static var sortedKeys: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}

/// What one Catalog lookup of a followed batch came to, for the store to record.
public struct BatchLookup: Sendable, Equatable {
    public enum Outcome: Sendable, Equatable {
        /// The Catalog described the batch (ended or not).
        case answered(CatalogBatch)
        /// The lookup failed (an HTTP error, a time-out, an unreadable body).
        case failed(reason: String)
        /// The follow-up ran out of time (`aep.give_up_after`): it ends as `unknown`.
        case gaveUp
    }

    public init(requestRowID: Int64, outcome: Outcome, at: Date, next: Date) {
        (self.requestRowID, self.outcome, self.at, self.next) = (requestRowID, outcome, at, next)
    }

    public var requestRowID: Int64
    public var outcome: Outcome
    public var at: Date
    /// When to look again if the batch did not end.
    public var next: Date
}

/// What recording a lookup did.
public enum BatchLookupResult: Sendable, Equatable {
    /// Not ended; the row was updated.
    case stillOpen(BatchFollowUp)
    /// It ended with this lookup: counted, once, as `addition` says.
    case ended(BatchFollowUp, AEPTotals.Addition)
    /// It had already ended (another replica, a lookup before a crash): nothing counted.
    case alreadyEnded(BatchFollowUp)
}

/// The running totals of the followed batches of one mapping: what the store keeps
/// (a row per kind and name) and the `acs_ingestion_aep_*` counters restore.
public struct AEPTotals: Sendable, Equatable {
    /// The kinds of running total, as the stores name their rows.
    public enum Kind: String, Sendable, CaseIterable {
        case batches = "status"
        case records = "records"
        case errors = "error"
    }

    /// Ended batches by final status.
    public var batches: [String: Int] = [:]
    /// Records of ended batches by outcome (`input`, `ingested`, `failed`).
    public var records: [String: Int] = [:]
    /// Ended batches that reported each error code (at most `maxCodes` codes, then `other`).
    public var errors: [String: Int] = [:]
    /// Batches still followed.
    public var inProgress = 0

    public init() {}

    /// The final statuses whose series exist from the start.
    public static let presetStatuses = ["aborted", "failed", "success", BatchFollowUp.unknown]
    /// `outcome` label values, in exposition order.
    public static let outcomes = ["input", "ingested", "failed"]
    /// Distinct error codes kept per mapping; the others count as `other`.
    public static let maxCodes = 20
    /// Codes whose series exist (at 0) from the first scrape, so that a code's first batch is an
    /// increase, not a new series (as for the known ACP codes). Not counted in `maxCodes`.
    public static let presetCodes = ["INGEST-1211-400", "INGEST-1212-400", "INGEST-1401-400", "INGEST-1555-400"]
    public static let otherCode = "other"

    /// Its stored rows: (kind, name, value), sorted (the in-progress count is not one: it is the open follow-ups).
    public var rows: [(kind: Kind, name: String, value: Int)] {
        [(Kind.batches, batches), (.records, records), (.errors, errors)].flatMap { kind, values in
            values.sorted { $0.key < $1.key }.map { (kind, $0.key, $0.value) }
        }
    }

    /// Adds a stored row (`kind`, `name`, `value`).
    public mutating func add(kind: Kind, name: String, value: Int) {
        switch kind {
        case .batches: batches[name, default: 0] += value
        case .records: records[name, default: 0] += value
        case .errors: errors[name, default: 0] += value
        }
    }

    /// What one ended batch adds: the rule both stores and the metric model count by.
    /// One to its final status; its input, ingested (output) and failed record counts
    /// (0 when the Catalog gave none); one to each distinct error code it reported,
    /// whether or not the error has a record count, where a code beyond the mapping's
    /// first `maxCodes` (`knownCodes`, as counted so far) counts as `other`, once.
    public struct Addition: Sendable, Equatable {
        public let key: MappingKey
        public let status: String
        /// By `AEPTotals.outcomes` order.
        public let records: [Int]
        /// Distinct labels, in the order reported.
        public let codes: [String]

        public init(_ batch: BatchFollowUp, knownCodes: Set<String>) {
            key = batch.key
            status = batch.status
            records = [batch.counts.input ?? 0, batch.counts.output ?? 0, batch.counts.failed ?? 0]
            var known = knownCodes.subtracting([AEPTotals.otherCode])
            var codes: [String] = []
            for error in batch.errors {
                let label: String
                if known.contains(error.code) || known.count < AEPTotals.maxCodes, error.code != AEPTotals.otherCode {
                    known.insert(error.code)
                    label = error.code
                } else {
                    label = AEPTotals.otherCode
                }
                if !codes.contains(label) { codes.append(label) }
            }
            self.codes = codes
        }

        /// The stored rows it adds to: (kind, name, value).
        public var rows: [(kind: Kind, name: String, value: Int)] {
            [(.batches, status, 1)] + zip(AEPTotals.outcomes, records).map { (.records, $0, $1) } + codes.map { (.errors, $0, 1) }
        }
    }
}
