import IngestionModel

/// How a replica of a cluster labels its series (see `MetricsState.instanceLabel`).
public struct MetricsCluster: Sendable, Equatable {
    /// This replica's name (`cluster.replica_name`).
    public var replica: String
    /// The cluster's name (`cluster.name`): the `instance` label of every tenant's series.
    public var instance: String
    public init(replica: String, instance: String) { (self.replica, self.instance) = (replica, instance) }
}

extension IngestionMetrics {
    /// Cluster mode: which of the configured `tenants` this replica runs (`acs_ingestion_tenant_owner`).
    public func ownership(tenants: [String], owned: Set<String>) {
        update { state in
            guard var cluster = state.cluster else { return }
            let sorted = tenants.sorted()
            guard cluster.tenants != sorted || cluster.owned != owned else { return }
            (cluster.tenants, cluster.owned) = (sorted, owned)
            state.cluster = cluster
            state.markGlobal()
            state.version &+= 1
        }
    }
}

extension MetricsState {
    /// What a replica says of itself (cluster mode).
    struct ClusterState {
        /// `replica_name="…"` (not `replica`, the label Prometheus HA pairs are often told apart by).
        let replicaLabels: String
        /// Every configured tenant, sorted.
        var tenants: [String] = []
        var owned: Set<String> = []
    }

    /// A replica's name and which tenants it runs, after the other global families (cluster mode only).
    func renderCluster(_ format: ExpositionFormat, into w: inout ExpositionWriter) {
        guard let cluster else { return }
        w.header(.replicaInfo, format)
        w.sample(MetricFamily.replicaInfo.name, cluster.replicaLabels, value: 1)
        w.header(.tenantOwner, format)
        for tenant in cluster.tenants {
            w.sample(MetricFamily.tenantOwner.name, ExpositionWriter.labels([("tenant", tenant)]), value: cluster.owned.contains(tenant) ? 1 : 0)
        }
    }
}
