import IngestionStore

/// The store's health: whether writes land, failures by operation, the space it takes.
extension IngestionMetrics {
    /// Whether the store's writes land (they start failing, or work again).
    public func storeWritable(_ up: Bool) {
        update { state in
            guard state.store.up != up else { return }
            state.store.up = up
            state.version &+= 1
        }
    }

    /// A store call failed while doing `operation`.
    public func storeFailed(_ operation: StoreOperation) {
        update { state in
            state.store.errors[operation, default: 0] += 1
            state.version &+= 1
        }
    }

    /// The space the store takes, as its last health check measured it.
    public func storeMeasured(sizeBytes: Int64) {
        update { state in
            guard state.store.sizeBytes != sizeBytes else { return }
            state.store.sizeBytes = sizeBytes
            state.version &+= 1
        }
    }
}

extension MetricsState {
    struct StoreHealth {
        var up = true
        /// Failed calls by operation; every operation is exposed from the start, at 0.
        var errors: [StoreOperation: Int] = [:]
        var sizeBytes: Int64?
    }

    func renderStore(into w: inout ExpositionWriter) {
        w.family("acs_ingestion_store_up", "gauge",
                 "1 when the store's writes land, 0 while they fail (disk full, file deleted, database unreachable).")
        w.sample("acs_ingestion_store_up", "", store.up ? 1 : 0)
        w.family("acs_ingestion_store_errors_total", "counter", "Store calls that failed, by operation.")
        for operation in StoreOperation.allCases.sorted(by: { $0.rawValue < $1.rawValue }) {
            w.sample("acs_ingestion_store_errors_total", "operation=\"\(operation.rawValue)\"", store.errors[operation] ?? 0)
        }
        if let size = store.sizeBytes {
            w.family("acs_ingestion_store_size_bytes", "gauge", "Space the store takes: the SQLite file and its WAL, or the PostgreSQL database.")
            w.sample("acs_ingestion_store_size_bytes", "", Double(size))
        }
    }
}
