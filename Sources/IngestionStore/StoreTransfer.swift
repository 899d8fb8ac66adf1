import Foundation
import IngestionModel

/// A store's raw rows, for copying a whole history from one store to another
/// (`acs-ingestion-exporter migrate`). Apart from `IngestionStore` because only
/// the copy needs it: the daemon never reads rows this way.
///
/// Reads page through a table in a stable order (row ids; pruned keys by
/// tenant, mapping and request id, bytewise). Writes keep the row ids they are
/// given, so that a copy keeps every cursor and observation link, and are
/// idempotent: a row already there with the same values is left alone and not
/// counted. Each write call is one transaction. The trigger plans and pending
/// intents, a row per mapping or per unanswered POST, are read whole with
/// `triggerPlans()` and `pendingTriggerIntents()`.
public protocol StoreTransfer: IngestionStore {
    /// Requests whose row id is greater than `rowID`, by row id.
    func requestRows(after rowID: Int64, limit: Int) async throws(StoreError) -> [TrackedRequest]

    /// Observations whose id is greater than `id`, by id.
    func observationRows(after id: Int64, limit: Int) async throws(StoreError) -> [ObservationRow]

    /// Keys of requests removed by retention that sort after `key`.
    func prunedKeys(after key: PrunedKey?, limit: Int) async throws(StoreError) -> [PrunedKey]

    /// Every registered mapping with when it was first configured.
    func mappingRows() async throws(StoreError) -> [MappingKey: Date]

    /// Writes requests under their row ids; returns how many were added or changed.
    /// A request whose key is stored under another row id is an error (`.failed`):
    /// the target holds a different history.
    func writeRequestRows(_ rows: [TrackedRequest]) async throws(StoreError) -> Int

    /// Writes observations under their ids; their requests must be there. Returns how many were added or changed.
    func writeObservationRows(_ rows: [ObservationRow]) async throws(StoreError) -> Int

    /// Adds keys to the pruned set; returns how many were new.
    func writePrunedKeys(_ keys: [PrunedKey]) async throws(StoreError) -> Int

    /// Sets when mappings were first configured; returns how many were added or changed.
    func writeMappingRows(_ rows: [MappingKey: Date]) async throws(StoreError) -> Int

    /// Sets mappings' trigger plans; returns how many were added or changed.
    func writeTriggerPlans(_ plans: [MappingKey: TriggerPlan]) async throws(StoreError) -> Int

    /// Writes pending trigger intents under their ids; returns how many were added or changed.
    func writeTriggerIntents(_ intents: [TriggerIntent]) async throws(StoreError) -> Int

    /// Sets the running totals named in `totals` (outcomes, buckets, triggers,
    /// latest events, the AEP totals; `open` and in-progress counts are ignored) to its values;
    /// returns how many rows were added or changed.
    func writeTotals(_ totals: IngestionTotals) async throws(StoreError) -> Int

    /// Followed batches whose request's row id is greater than `rowID`, by that row id.
    func batchRows(after rowID: Int64, limit: Int) async throws(StoreError) -> [BatchFollowUp]

    /// Writes followed batches (their requests must be there); returns how many were added or changed.
    func writeBatchRows(_ rows: [BatchFollowUp]) async throws(StoreError) -> Int
}

/// One stored observation with its ids.
public struct ObservationRow: Sendable, Equatable {
    public var id: Int64
    /// The row id of its request.
    public var requestRowID: Int64
    public var observation: Observation

    public init(id: Int64, requestRowID: Int64, observation: Observation) {
        self.id = id
        self.requestRowID = requestRowID
        self.observation = observation
    }
}

/// The key of a request that retention removed.
public struct PrunedKey: Sendable, Hashable {
    public var key: MappingKey
    public var requestID: RequestID

    public init(key: MappingKey, requestID: RequestID) {
        self.key = key
        self.requestID = requestID
    }
}

/// SQL both stores' transfers share, word for word.
public enum TransferSQL {
    /// The `SET` list of the upsert of a copied request: every column but its row id
    /// and key takes the copied row's value (`excluded`, in SQLite as in PostgreSQL).
    public static let requestUpdates = """
        origin = excluded.origin, first_seen = excluded.first_seen, last_polled = excluded.last_polled, \
        status = excluded.status, raw_status = excluded.raw_status, num_records = excluded.num_records, \
        batch_id = excluded.batch_id, info = excluded.info, acp_code = excluded.acp_code, \
        finished_at = excluded.finished_at, not_found_since = excluded.not_found_since, untracked_at = excluded.untracked_at
        """
}
