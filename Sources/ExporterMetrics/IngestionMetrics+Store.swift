import IngestionStore

/// The store's health: whether writes land, failures by operation, the space it takes.
extension IngestionMetrics {
    /// Whether the store's writes land (they start failing, or work again).
    public func storeWritable(_ up: Bool) {
        update { state in
            guard state.store.up != up else { return }
            state.store.up = up
            state.markGlobal()
            state.version &+= 1
        }
    }

    /// A store call failed while doing `operation`.
    public func storeFailed(_ operation: StoreOperation) {
        update { state in
            state.store.errors[operation, default: 0] += 1
            state.markGlobal()
            state.version &+= 1
        }
    }

    /// The space the store takes, as its last health check measured it.
    public func storeMeasured(sizeBytes: Int64) {
        update { state in
            guard state.store.sizeBytes != sizeBytes else { return }
            state.store.sizeBytes = sizeBytes
            state.markGlobal()
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

    /// The families with one series each: reloads, the store's health, build info.
    func renderGlobal(_ format: ExpositionFormat, into w: inout ExpositionWriter) {
        w.header(.configReloadSuccessful, format)
        w.sample(MetricFamily.configReloadSuccessful.name, value: reload.successful ? 1 : 0)
        w.header(.webConfigReloadSuccessful, format)
        w.sample(MetricFamily.webConfigReloadSuccessful.name, value: webConfigReloadSuccessful ? 1 : 0)
        w.header(.configReloadSuccessTime, format)
        w.sample(MetricFamily.configReloadSuccessTime.name, value: reload.lastSuccess.timeIntervalSince1970)
        w.header(.storeUp, format)
        w.sample(MetricFamily.storeUp.name, value: store.up ? 1 : 0)
        w.header(.storeErrors, format)
        for operation in StoreOperation.allCases.sorted(by: { $0.rawValue < $1.rawValue }) {
            let labels = "operation=\"\(operation.rawValue)\""
            w.sample(MetricFamily.storeErrors.name, labels, value: store.errors[operation] ?? 0)
            if format == .openMetrics {
                w.sample(MetricFamily.storeErrors.openMetricsName, suffix: "_created", labels, value: started)
            }
        }
        if let size = store.sizeBytes {
            w.header(.storeSize, format)
            w.sample(MetricFamily.storeSize.name, value: Double(size))
        }
        w.header(.buildInfo, format)
        w.sample(MetricFamily.buildInfo.name, buildLabels, value: 1)
        renderCluster(format, into: &w)
    }
}
