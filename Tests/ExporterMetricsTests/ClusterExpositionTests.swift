import Foundation
import IngestionModel
import Testing
@testable import ExporterMetrics

/// A replica of a cluster: tenants' series labelled with the cluster's name, which
/// tenants it runs, and its own name; nothing of this without a cluster.
@Suite("Cluster mode exposition")
struct ClusterExpositionTests {
    let start = Date(timeIntervalSince1970: 1_700_000_000)
    let key = MappingKey(tenant: "t1", mapping: "XDM44")

    func model(cluster: MetricsCluster?) -> IngestionMetrics {
        IngestionMetrics(mappings: [MappingDescriptor(key: key, name: "Profiles", scheduled: true)], version: "1.0",
                         revision: "abc", cluster: cluster, now: start)
    }

    func text(_ metrics: IngestionMetrics, _ format: ExpositionFormat = .text) -> String {
        String(decoding: metrics.render(format), as: UTF8.self)
    }

    @Test func tenantsSeriesCarryTheClusterNameAsInstance() {
        let metrics = model(cluster: MetricsCluster(replica: "acs-1", instance: "acs-prod"))
        metrics.ownership(tenants: ["t2", "t1"], owned: ["t1"])
        let exposition = text(metrics)
        #expect(exposition.contains(#"acs_ingestion_requests_total{tenant="t1",mapping="XDM44",instance="acs-prod",status="success"} 0"#))
        #expect(exposition.contains(#"acs_ingestion_up{tenant="t1",instance="acs-prod"} 0"#))
        #expect(exposition.contains(#"acs_ingestion_mapping_info{tenant="t1",mapping="XDM44",instance="acs-prod",name="Profiles",scheduled="true"} 1"#))
        // The replica's own series: no instance label (Prometheus gives the target's).
        #expect(exposition.contains("acs_ingestion_cluster_replica_info{replica_name=\"acs-1\"} 1\n"))
        #expect(exposition.contains("acs_ingestion_tenant_owner{tenant=\"t1\"} 1\nacs_ingestion_tenant_owner{tenant=\"t2\"} 0\n"))
        #expect(exposition.contains("# TYPE acs_ingestion_tenant_owner gauge"))
        #expect(!exposition.contains(#"acs_ingestion_store_up{instance"#))
        #expect(text(metrics, .openMetrics).contains(#"acs_ingestion_requests_created{tenant="t1",mapping="XDM44",instance="acs-prod",status="success"}"#))
    }

    @Test func withoutAClusterNothingChanges() {
        let plain = text(model(cluster: nil))
        #expect(!plain.contains("instance=") && !plain.contains("acs_ingestion_tenant_owner") && !plain.contains("replica_info"))
        let metrics = model(cluster: nil)
        metrics.ownership(tenants: ["t1"], owned: ["t1"])
        #expect(text(metrics) == plain)
    }

    @Test func ownershipChangesRenderTheGlobalSlotAgain() {
        let metrics = model(cluster: MetricsCluster(replica: "acs-1", instance: "acs-prod"))
        metrics.ownership(tenants: ["t1"], owned: [])
        let version = metrics.version
        metrics.ownership(tenants: ["t1"], owned: [])
        #expect(metrics.version == version)
        metrics.ownership(tenants: ["t1"], owned: ["t1"])
        #expect(metrics.version != version && text(metrics).contains("acs_ingestion_tenant_owner{tenant=\"t1\"} 1"))
    }
}
