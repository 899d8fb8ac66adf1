import IngestionStore

/// What the cluster's coordinator asks of the collector: the tenants configured now,
/// and to run, or stop running, some of them. The coordinator holds the collector
/// through this protocol; the collector never holds the coordinator.
public protocol TenantOwnership: Sendable {
    /// The tenants of the configuration in force, by name.
    var configuredTenants: [String] { get }
    /// `collector.poll_interval` in force: the coordinator steps at least this often.
    var pollInterval: Duration { get }
    /// Whether the tenant's worker runs here now.
    func isRunning(_ tenant: String) -> Bool
    /// Runs the tenants taken, each under its lease; returns those started (none when
    /// the store cannot be read).
    func own(_ taken: [TakenTenant]) async -> Set<String>
    /// Stops running `tenant`; with `grace`, its cycle in progress may end first, for that long at most.
    func disown(_ tenant: String, grace: Duration?) async
}

extension TenantOwnership {
    public func disown(_ tenant: String) async { await disown(tenant, grace: nil) }
}

/// A tenant this replica took: its lease, and the store as the lease's holder writes to it.
public struct TakenTenant: Sendable {
    public let tenant: String
    public let lease: LeaseHandle
    public let fencedStore: any IngestionStore

    public init(tenant: String, lease: LeaseHandle, fencedStore: any IngestionStore) {
        (self.tenant, self.lease, self.fencedStore) = (tenant, lease, fencedStore)
    }
}

extension Collector: TenantOwnership {
    public var configuredTenants: [String] { config.tenants.map(\.name) }
    public var pollInterval: Duration { config.collector.pollInterval }
}
