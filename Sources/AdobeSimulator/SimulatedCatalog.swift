import Foundation
import IngestionModel

/// How the batch of an ACP-880096 failure ends in the simulated Catalog.
public enum CatalogFate: String, Sendable, CaseIterable, Equatable {
    /// `failed`, every record rejected, two error codes with their record counts (error diagnostics on).
    case failed
    /// `success` with some rows rejected (partial ingestion), one code with its record count.
    case partial
    /// `failed` with an error that has no `recordCount` (error diagnostics off), as INGEST-1212-400 comes.
    case failedWithoutCounts = "failed_without_counts"
    /// `success`, every record ingested.
    case success
}

/// One batch the simulated Catalog knows: made with the ACP-880096 failure that names it.
public struct SimulatedBatch: Sendable, Equatable {
    public let id: String
    public let tenant: String
    public let mapping: String
    public let requestID: Int
    public let fate: CatalogFate
    /// inputRecordCount; the failed and ingested counts follow from the fate.
    public let input: Int
    public let created: Date
    /// Until then the batch is `processing`, without metrics or errors.
    public let completesAt: Date

    /// What `…/export/batches/{id}/meta?path=row_errors` would hold: rejected rows, with a
    /// person's data in them (`rowContentMarker`).
    public static let rowContentMarker = "jane.doe.4f7a@example.com"
    static let rowErrors = "{\"rows\":[{\"email\":\"\(rowContentMarker)\",\"firstName\":\"Jane\",\"error\":\"INGEST-1401-400\"}]}"

    /// failedRecordCount once it ended.
    public var failed: Int {
        switch fate {
        case .failed, .failedWithoutCounts: return input
        case .partial: return max(1, input / 10)
        case .success: return 0
        }
    }

    public var ingested: Int { input - failed }

    /// The final status.
    public var finalStatus: String { fate == .partial || fate == .success ? "success" : "failed" }

    /// The errors it reports once ended: codes, counts when diagnostics are on, Adobe's generic words.
    public var errors: [CatalogBatch.Failure] {
        switch fate {
        case .failed:
            let first = input / 2
            return [CatalogBatch.Failure(code: "INGEST-1401-400", description: "A row could not be read: its data is corrupt or does not parse against the schema",
                                         recordCount: first),
                    CatalogBatch.Failure(code: "INGEST-1555-400", description: "A required field is missing", recordCount: input - first)]
        case .partial:
            return [CatalogBatch.Failure(code: "INGEST-1401-400", description: "A row could not be read: its data is corrupt or does not parse against the schema",
                                         recordCount: failed)]
        case .failedWithoutCounts:
            return [CatalogBatch.Failure(code: "INGEST-1212-400",
                                         description: "Encountered \(input) errors in the data. Please check your data and try again.")]
        case .success:
            return []
        }
    }

    /// The Catalog's answer at `now`: an object keyed by the batch id, in the shape of
    /// Experience Platform's "look up a batch" (numbers as numbers, times in epoch ms).
    func body(at now: Date, orgID: String) -> String {
        func ms(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1000).rounded()) }
        let ended = now >= completesAt
        var batch: [String: Any] = [
            "status": ended ? finalStatus : "processing", "imsOrg": orgID, "id": id,
            "relatedObjects": [["type": "dataSet", "id": "5c8c3c555033b814b69f947f"]],
            "created": ms(created), "updated": ms(ended ? completesAt : now), "createdClient": "acp_ingestion", "version": "1.0.0",
        ]
        if ended {
            (batch["started"], batch["completed"]) = (ms(created), ms(completesAt))
            batch["metrics"] = ["inputRecordCount": input, "outputRecordCount": ingested, "failedRecordCount": failed,
                                "inputByteSize": input * 312, "inputFileCount": 1]
            let errors = self.errors.map { error -> [String: Any] in
                var entry: [String: Any] = ["code": error.code, "description": error.description ?? ""]
                if let count = error.recordCount { entry["recordCount"] = count }
                return entry
            }
            if !errors.isEmpty { batch["errors"] = errors }
        }
        let data = (try? JSONSerialization.data(withJSONObject: [id: batch], options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }
}

extension SeedBodies {
    /// Not in Adobe's page: the simulated Catalog's refusals (decisions, in the gateway's error shape).
    public static let batchNotFound = "{\"error_code\":\"404001\",\"message\":\"Batch not found\"}"
    public static let wrongOrganization = "{\"error_code\":\"403027\",\"message\":\"The IMS organization (x-gw-ims-org-id) does not match the credential\"}"
    public static let missingSandbox = "{\"error_code\":\"400003\",\"message\":\"x-sandbox-name header is required\"}"
}
