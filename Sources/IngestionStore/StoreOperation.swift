/// What a store call was doing, for `acs_ingestion_store_errors_total{operation}`.
public enum StoreOperation: String, CaseIterable, Sendable {
    case probe, track, untrack, abandon, prune
    case registerMappings = "register_mappings"
    case triggerIntent = "trigger_intent"
    case triggerAttempt = "trigger_attempt"
    case observation
    case batchLookup = "batch_lookup"
    case notFound = "not_found"
    case importHistory = "import"
    case read

    /// Whether the operation writes (a failed read does not say writes fail).
    public var writes: Bool { self != .read }
}
