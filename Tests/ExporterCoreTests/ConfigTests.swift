import ExporterConfiguration
import ExporterCore
import Foundation
import TestSupport
import Testing

/// Reading the configuration file: every problem named with line and key, and no
/// error quoting a value that may be a secret.
@Suite("Configuration")
struct ConfigTests {
    static let secret = "s3cr3t-Pasted-Here-9f2"

    struct Leak: Sendable, CustomTestStringConvertible {
        let testDescription: String
        let yaml: String
        let expected: String
    }

    /// One tenant whose line 4 is `line` (a key the cases put a secret into).
    static func tenant(with line: String) -> String {
        "tenants:\n  - name: t1\n    client_id: c\n    \(line)\n    client_secret: s\n    mappings: [{id: XDM44}]\n"
    }

    static let leaks: [Leak] = [
        Leak(testDescription: "an unterminated ${ in client_secret",
             yaml: tenant(with: "request_id_in: query").replacingOccurrences(of: "client_secret: s", with: "client_secret: \"${\(secret)\""),
             expected: "config.yml:5: tenants[0].client_secret: unterminated ${"),
        Leak(testDescription: "the secret pasted into request_id_in", yaml: tenant(with: "request_id_in: \(secret)"),
             expected: "config.yml:4: tenants[0].request_id_in: must be query or body"),
        Leak(testDescription: "credentials inside a non-http ims_token_url",
             yaml: tenant(with: "ims_token_url: ftp://user:\(secret)@ims.example.com/token"),
             expected: "config.yml:4: tenants[0].ims_token_url: must be an http:// or https:// URL"),
        Leak(testDescription: "credentials inside an https api_url", yaml: tenant(with: "api_url: https://user:\(secret)@mc.example.com"),
             expected: "config.yml:4: tenants[0].api_url: must be an http:// or https:// URL without user information"),
    ]

    @Test("a config error never quotes a secret", arguments: leaks)
    func errorsNeverQuoteASecret(_ leak: Leak) {
        #expect {
            try ExporterConfig.parse(yaml: leak.yaml, file: "config.yml")
        } throws: { error in
            let text = "\(error)"
            return text.contains(leak.expected) && !text.contains(Self.secret) && !text.contains("Pasted")
        }
    }

    /// `tenants[].aep`: absent is off; each bad value one line naming its key; the defaults.
    @Test(arguments: [("aep: {sandbox: prod}", "config.yml:4: tenants[0].aep.org_id: is required"),
                      ("aep: {org_id: 1234ABCD}", "config.yml:4: tenants[0].aep.org_id: must be an IMS organization id"),
                      ("aep: {org_id: 12AB@AdobeOrg, sandbox: Prod_1}", "config.yml:4: tenants[0].aep.sandbox: must be a sandbox name"),
                      ("aep: {org_id: 12AB@AdobeOrg, platform_url: 'ftp://x'}", "config.yml:4: tenants[0].aep.platform_url: must be an http"),
                      ("aep: {org_id: 12AB@AdobeOrg, lookup_interval: 10m, lookup_interval_max: 1m}",
                       "config.yml:4: tenants[0].aep.lookup_interval_max: must be at least lookup_interval (10m)"),
                      ("aep: {org_id: 12AB@AdobeOrg, region: emea}", "tenants[0].aep.region")])
    func theAEPBlockIsChecked(line: String, expected: String) {
        #expect {
            try ExporterConfig.parse(yaml: Self.tenant(with: line), file: "config.yml")
        } throws: { error in "\(error)".contains(expected) }
    }

    @Test func theAEPBlockIsOptionalWithDefaults() throws {
        #expect(try ExporterConfig.parse(yaml: Self.tenant(with: "scopes: [openid]"), file: "c.yml").tenants[0].client.platform == nil)
        let platform = try #require(try ExporterConfig.parse(yaml: Self.tenant(with: "aep: {org_id: 12AB@AdobeOrg}"), file: "c.yml")
            .tenants[0].client.platform)
        #expect(platform.orgID == "12AB@AdobeOrg" && platform.sandbox == "prod" && platform.url == "https://platform.adobe.io")
        #expect(platform.lookupInterval == .seconds(60) && platform.lookupIntervalMax == .seconds(900) && platform.giveUpAfter == .seconds(21_600))
    }

    /// Tenant names and mapping ids go into Adobe's URL path and into labels: only the
    /// characters Adobe uses, with one line naming the key (and not quoting the value).
    @Test(arguments: [("tenants:\n  - name: acme/prod\n    client_id: c\n    client_secret: s\n    mappings: [{id: XDM44}]\n",
                       "config.yml:2: tenants[0].name: may hold only letters, digits, '-', '_' and '.'"),
                      ("tenants:\n  - name: t1\n    client_id: c\n    client_secret: s\n    mappings: [{id: '<script>'}]\n",
                       "config.yml:5: tenants[0].mappings[0].id: may hold only letters, digits, '-', '_' and '.'"),
                      ("tenants:\n  - name: 't 1?x'\n    client_id: c\n    client_secret: s\n    mappings: [{id: XDM44}]\n",
                       "config.yml:2: tenants[0].name: may hold only")])
    func tenantNamesAndMappingIdsHoldOnlyWhatAdobeUses(yaml: String, expected: String) {
        #expect {
            try ExporterConfig.parse(yaml: yaml, file: "config.yml")
        } throws: { error in
            let text = "\(error)"
            return text.contains(expected) && !text.contains("script") && !text.contains("acme/prod")
        }
        // What Adobe's own names look like passes.
        #expect(throws: Never.self) {
            try ExporterConfig.parse(yaml: "tenants:\n  - name: acme-mkt.prod_1\n    client_id: c\n    client_secret: s\n"
                                     + "    mappings: [{id: XDM_44.a-b}]\n", file: "config.yml")
        }
    }

    @Test func defaultsComeFromTheTypesAndTheClient() throws {
        let config = try ExporterConfig.parse(yaml: """
            tenants:
              - {name: t1, client_id: c, client_secret: s, mappings: [{id: XDM44}]}
            """, file: "c.yml")
        let tenant = try #require(config.tenants.first)
        #expect(tenant.apiURL == "https://mc.adobe.io" && tenant.client.scopes == ["openid", "AdobeID", "campaign_sdk"])
        #expect(tenant.mappings.first?.name == "XDM44")
        #expect(config.collector.requestTimeout == .seconds(60) && config.collector.pollInterval == .seconds(30))
        #expect(config.clientConfigurations().first?.timeout == .seconds(60))
    }

    @Test func everyUnknownKeyIsNamedWithTheKeysOfItsSection() {
        #expect {
            try ExporterConfig.parse(yaml: """
                tenants:
                  - {name: t1, client_id: c, client_secret: s, mappings: [{id: XDM44, trigger_evry: 1h}]}
                colector: {}
                """, file: "c.yml")
        } throws: { error in
            let problems = (error as? ConfigError)?.problems ?? []
            return problems.count == 2
                && problems.contains("c.yml:2: tenants[0].mappings[0].trigger_evry: unknown key; expected one of id, name, trigger_cron, trigger_every, trigger_timezone")
                && problems.contains { $0.hasPrefix("c.yml:3: colector: unknown key; expected one of api, cluster, collector, storage, tenants") }
        }
    }

    @Test func theClusterSectionNeedsPostgresAndNamesTheCluster() throws {
        let postgres = "storage:\n  driver: postgres\n  url: postgres://acs@db:5432/acs\n  password: p\n"
        let cluster = "cluster:\n  enabled: true\n  name: acs-prod\n  replica_name: acs-1\n  lease_ttl: 5s\n"
        let config = try ExporterConfig.parse(yaml: Self.tenant(with: "request_id_in: query") + postgres + cluster, file: "c.yml")
        #expect(config.cluster.enabled && config.cluster.name == "acs-prod" && config.cluster.replicaName == "acs-1")
        #expect(config.cluster.leaseTTL == .seconds(5))
        #expect(try ExporterConfig.parse(yaml: Self.tenant(with: "request_id_in: query"), file: "c.yml").cluster.name
                == "acs-ingestion-exporter")
        #expect {
            try ExporterConfig.parse(yaml: Self.tenant(with: "request_id_in: query") + cluster, file: "c.yml")
        } throws: { error in
            (error as? ConfigError)?.problems.contains { $0.contains("cluster.enabled: needs storage.driver: postgres") } ?? false
        }
        #expect {
            try ExporterConfig.parse(yaml: Self.tenant(with: "request_id_in: query") + postgres
                                     + cluster.replacingOccurrences(of: "name: acs-prod", with: "name: \"\""), file: "c.yml")
        } throws: { error in
            (error as? ConfigError)?.problems.contains { $0.contains("cluster.name: must not be empty") } ?? false
        }
    }
}

