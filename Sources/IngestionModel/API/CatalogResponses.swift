import Foundation

/// One batch as Experience Platform's Catalog Service describes it
/// (`GET {platform_url}/data/foundation/catalog/batches/{id}`, looked up to follow a
/// failed ingestion): its status, its record counts once it has them, and the errors it
/// reports. Codes, counts and Adobe's generic descriptions only: a row's content is
/// never read (row-level errors live elsewhere, and can hold personal data).
public struct CatalogBatch: Sendable, Equatable {
    /// `metrics` of the batch: absent while it is processed.
    public struct Counts: Sendable, Equatable {
        public var input: Int?
        public var output: Int?
        public var failed: Int?

        public init(input: Int? = nil, output: Int? = nil, failed: Int? = nil) {
            (self.input, self.output, self.failed) = (input, output, failed)
        }
    }

    /// One entry of `errors`: `recordCount` only when error diagnostics are on.
    public struct Failure: Sendable, Equatable {
        public var code: String
        public var description: String?
        public var recordCount: Int?

        public init(code: String, description: String? = nil, recordCount: Int? = nil) {
            (self.code, self.description, self.recordCount) = (code, description, recordCount)
        }
    }

    public var id: String
    /// Lower-cased, as Catalog writes it: `loading`, `processing`, `staging`, `retrying`…, then
    /// `success`, `failed`, `aborted`, `deleted` or `inactive`.
    public var status: String
    public var counts: Counts
    public var errors: [Failure]

    public init(id: String, status: String, counts: Counts = Counts(), errors: [Failure] = []) {
        (self.id, self.status, self.counts, self.errors) = (id, status.lowercased(), counts, errors)
    }

    /// The statuses a batch ends with.
    public static let endStatuses: Set<String> = ["success", "failed", "aborted", "deleted", "inactive"]

    /// Whether the batch has ended (a `success` one may still have failed rows).
    public var hasEnded: Bool { Self.endStatuses.contains(status) }

    /// A description is kept to this many characters.
    public static let descriptionLimit = 200
    /// A code is kept to this many characters (it becomes a label value).
    public static let codeLimit = 64
    /// Errors kept per batch.
    public static let errorLimit = 50
}

extension IngestionResponseDecoder {
    /// Reads a Catalog batch lookup: an object keyed by the batch id, whose value holds
    /// `status`, `metrics` and `errors`. Counts may be numbers or strings, every field but
    /// `status` may be missing; descriptions are cut to `CatalogBatch.descriptionLimit`, codes to
    /// `codeLimit`, and at most `errorLimit` errors are kept.
    public static func decodeCatalogBatch(_ bytes: [UInt8], id: String) throws(ResponseDecodingError) -> CatalogBatch {
        guard !bytes.isEmpty else { throw .emptyBody }
        guard let root = (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any] else {
            throw .notJSON(snippet: ResponseDecodingError.snippet(of: bytes))
        }
        guard let batch = root[id] as? [String: Any] else { throw .missingField(id) }
        guard let status = batch["status"] as? String, !status.isEmpty else { throw .missingField("status") }
        let metrics = batch["metrics"] as? [String: Any] ?? [:]
        let counts = CatalogBatch.Counts(input: count(metrics["inputRecordCount"]), output: count(metrics["outputRecordCount"]),
                                         failed: count(metrics["failedRecordCount"]))
        let errors = (batch["errors"] as? [[String: Any]] ?? []).prefix(CatalogBatch.errorLimit).compactMap { entry -> CatalogBatch.Failure? in
            guard let whole = (entry["code"] as? String) ?? count(entry["code"]).map(String.init), !whole.isEmpty else { return nil }
            let code = String(whole.prefix(CatalogBatch.codeLimit))
            let description = (entry["description"] as? String).map { String($0.prefix(CatalogBatch.descriptionLimit)) }
            return CatalogBatch.Failure(code: code, description: description, recordCount: count(entry["recordCount"]))
        }
        return CatalogBatch(id: id, status: status, counts: counts, errors: errors)
    }

    /// A non-negative count given as a number or as a string of digits.
    private static func count(_ value: Any?) -> Int? {
        switch value {
        case let number as NSNumber where !(number is Bool): return number.intValue >= 0 ? number.intValue : nil
        case let text as String: return Int(text).flatMap { $0 >= 0 ? $0 : nil }
        default: return nil
        }
    }
}
