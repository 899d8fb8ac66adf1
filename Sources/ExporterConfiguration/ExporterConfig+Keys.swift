import AdobeIngestionClient
import Foundation
import IngestionModel
import PostgresStore
import Scheduling
import YAMLSupport

/// Each key of the configuration file, once: its name, its type, its limits and
/// the property it sets. The unknown-key check and `check-config` derive from these
/// tables; the defaults are the properties' initial values.
extension ExporterConfig {
    static var table: ConfigTable<ExporterConfig> {
        ConfigTable([
            .list("tenants", \.tenants, Tenant.table, element: Tenant.init, required: "at least one tenant is required",
                  unique: ("name", \.name, "tenant")),
            .section("collector", \.collector, Collector.table),
            .section("storage", \.storage, Storage.table),
            .section("cluster", \.cluster, Cluster.table),
            .section("api", \.api, API.table),
        ], check: { config, node, _, reader in
            if config.cluster.enabled && config.storage.driver != .postgres {
                reader.problem(node["cluster"]?["enabled"], "cluster.enabled",
                               "needs storage.driver: postgres (replicas share one PostgreSQL database)")
            }
        })
    }
}

extension ExporterConfig.Tenant {
    static var table: ConfigTable<Self> {
        ConfigTable([
            .identifier("name", \.client.tenant),
            .url("api_url", \.client.apiBaseURL),
            .url("ims_token_url", \.client.imsTokenURL),
            .string("client_id", \.client.clientID, required: true),
            .secret("client_secret", \.secretSource),
            .secretFile("client_secret_file", \.secretSource),
            .stringList("scopes", \.client.scopes),
            .choice("request_id_in", \.client.requestIDPlacement),
            .int("max_calls_per_hour", \.maxCallsPerHour, range: CallBudget.minimumCallsPerHour...10_000_000),
            .optionalSection("aep", \.client.platform, PlatformSettings.table, element: PlatformSettings.init),
            .list("mappings", \.mappings, ExporterConfig.Mapping.table, element: ExporterConfig.Mapping.init,
                  required: "at least one mapping is required", unique: ("id", \.id, "mapping")),
        ], check: { tenant, node, path, reader in
            guard let secret = ExporterConfig.SecretSource.resolve(tenant.secretSource, "client_secret", node, path, reader) else {
                if node["client_secret"] == nil && node["client_secret_file"] == nil {
                    reader.problem(node, path + ".client_secret", "is required (or client_secret_file)")
                }
                return
            }
            tenant.client.clientSecret = secret
        })
    }
}

extension PlatformSettings {
    /// `tenants[].aep`: following failed requests' batches in Experience Platform's Catalog.
    static var table: ConfigTable<Self> {
        ConfigTable([
            .string("org_id", \.orgID, required: true),
            .string("sandbox", \.sandbox),
            .url("platform_url", \.url),
            .duration("lookup_interval", \.lookupInterval, minimum: .seconds(1)),
            .duration("lookup_interval_max", \.lookupIntervalMax, minimum: .seconds(1)),
            .duration("give_up_after", \.giveUpAfter, minimum: .seconds(60)),
        ], check: { platform, node, path, reader in
            // An IMS organization id: hex digits, then @AdobeOrg.
            let hex = Set("0123456789ABCDEFabcdef")
            let parts = platform.orgID.split(separator: "@", omittingEmptySubsequences: false)
            if node["org_id"] != nil, parts.count != 2 || parts[1] != "AdobeOrg" || parts[0].isEmpty || !parts[0].allSatisfy(hex.contains) {
                reader.problem(node["org_id"], path + ".org_id", "must be an IMS organization id such as 1234ABCD5678EF90@AdobeOrg")
            }
            let sandboxCharacters = Set("abcdefghijklmnopqrstuvwxyz0123456789-")
            if platform.sandbox.isEmpty || !platform.sandbox.allSatisfy(sandboxCharacters.contains) {
                reader.problem(node["sandbox"], path + ".sandbox", "must be a sandbox name: lower-case letters, digits and '-'")
            }
            if platform.lookupIntervalMax < platform.lookupInterval {
                reader.problem(node["lookup_interval_max"], path + ".lookup_interval_max",
                               "must be at least lookup_interval (\(DurationText.format(platform.lookupInterval)))")
            }
        })
    }
}

extension ExporterConfig.Mapping {
    static var table: ConfigTable<Self> {
        ConfigTable([
            .identifier("id", \.id),
            .string("name", \.name),
            .duration("trigger_every", \.triggerEvery, minimum: .seconds(1)),
            .string("trigger_cron", \.triggerCron),
            .string("trigger_timezone", \.triggerTimezone),
        ], check: { mapping, node, path, reader in
            if mapping.name.isEmpty { mapping.name = mapping.id }
            mapping.schedule = schedule(of: mapping, node, path, reader)
        })
    }

    /// `trigger_every`, or `trigger_cron` read in `trigger_timezone` (an IANA zone, UTC by default).
    private static func schedule(of mapping: Self, _ node: YAMLValue, _ path: String, _ reader: ConfigReader) -> Schedule? {
        if node["trigger_every"] != nil && node["trigger_cron"] != nil {
            reader.problem(node["trigger_cron"], path, "set trigger_every or trigger_cron, not both")
            return nil
        }
        guard let zone = TimeZone(identifier: mapping.triggerTimezone) else {
            reader.problem(node["trigger_timezone"], path + ".trigger_timezone",
                           "must be an IANA time zone such as Europe/Paris or America/New_York")
            return nil
        }
        if node["trigger_timezone"] != nil && node["trigger_cron"] == nil {
            reader.problem(node["trigger_timezone"], path + ".trigger_timezone", "applies to trigger_cron only")
        }
        if let every = mapping.triggerEvery { return .every(every) }
        guard let text = mapping.triggerCron else { return nil }
        // Cron's own messages quote the field they are about; text that is no cron at all
        // (a value pasted into the wrong key, perhaps a secret) is not quoted.
        let cronCharacters = Set("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ*/,-@ \t")
        guard text.allSatisfy(cronCharacters.contains) else {
            reader.problem(node["trigger_cron"], path + ".trigger_cron",
                           "must be a cron expression (minute hour day-of-month month day-of-week) or a macro such as @daily")
            return nil
        }
        do {
            let expression = try CronExpression(parsing: text)
            try expression.validate()
            return .cron(expression, zone)
        } catch {
            reader.problem(node["trigger_cron"], path + ".trigger_cron", error.description)
            return nil
        }
    }
}

extension ExporterConfig.Collector {
    static var table: ConfigTable<Self> {
        ConfigTable([
            .duration("poll_interval", \.pollInterval, minimum: .milliseconds(100)),
            .duration("poll_interval_max", \.pollIntervalMax, minimum: .milliseconds(100)),
            .duration("give_up_after", \.giveUpAfter, minimum: .seconds(60)),
            .duration("max_in_progress", \.maxInProgress, minimum: .seconds(60)),
            .duration("trigger_jitter", \.triggerJitter),
            .int("max_concurrent_requests", \.maxConcurrentRequests, range: 1...256),
            .double("max_requests_per_second", \.maxRequestsPerSecond, minimum: 0.01),
            .duration("request_timeout", \.requestTimeout, minimum: .milliseconds(100)),
        ], check: { collector, node, path, reader in
            if let max = node["poll_interval_max"], collector.pollIntervalMax < collector.pollInterval {
                reader.problem(max, path + ".poll_interval_max", "must be at least poll_interval (\(DurationText.format(collector.pollInterval)))")
            }
        })
    }
}

extension ExporterConfig.Storage {
    static var table: ConfigTable<Self> {
        ConfigTable([
            .choice("driver", \.driver),
            .string("path", \.path),
            .string("url", \.url),
            .secret("password", \.passwordSource),
            .secretFile("password_file", \.passwordSource),
            .int("pool_size", \.poolSize, range: 1...100),
            .duration("retention", \.retention, minimum: .seconds(3600)),
            .duration("timeout", \.timeout, minimum: .seconds(1)),
        ], check: { storage, node, path, reader in
            storage.password = ExporterConfig.SecretSource.resolve(storage.passwordSource, "password", node, path, reader)
            switch storage.driver {
            case .sqlite:
                for key in ["url", "password", "password_file", "pool_size"] where node[key] != nil {
                    reader.problem(node[key], path + "." + key, "applies to driver postgres only")
                }
            case .postgres:
                if node["path"] != nil { reader.problem(node["path"], path + ".path", "applies to driver sqlite only; set url") }
                guard let url = storage.url else {
                    reader.problem(node, path + ".url", "is required with driver postgres (postgres://user@host:5432/dbname)")
                    return
                }
                // The URL's own checks; their messages never quote a password.
                do throws(PostgresURLError) { _ = try storage.postgres(url: url) } catch {
                    reader.problem(node["url"], path + ".url", error.description)
                }
            }
        })
    }
}

extension ExporterConfig.Cluster {
    static var table: ConfigTable<Self> {
        ConfigTable([
            .bool("enabled", \.enabled),
            .string("replica_name", \.replicaName),
            .string("name", \.name),
            .duration("lease_ttl", \.leaseTTL, minimum: .seconds(3)),
        ])
    }
}

extension ExporterConfig.SecretSource {
    /// The secret `name` (inline, `${VAR}` included) or `<name>_file` gave, read now;
    /// nil (after saying why, if anything is wrong) when neither is set.
    static func resolve(_ source: Self?, _ name: String, _ node: YAMLValue, _ path: String, _ reader: ConfigReader) -> Secret? {
        let fileKey = name + "_file"
        if node[name] != nil && node[fileKey] != nil {
            reader.problem(node[fileKey], path, "set \(name) or \(fileKey), not both")
            return nil
        }
        switch source {
        case .inline(let secret)?:
            return secret
        case .file(let file)?:
            do {
                let contents = try String(contentsOfFile: file, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
                if contents.isEmpty { reader.problem(node[fileKey], path + "." + fileKey, "\(file) is empty") }
                return Secret(contents)
            } catch {
                reader.problem(node[fileKey], path + "." + fileKey, "cannot read \(file): \(FileErrors.reason(error))")
                return nil
            }
        case nil:
            return nil
        }
    }
}

extension ConfigKey {
    /// A secret given inline (or as `${VAR}`); never quoted in a problem.
    static func secret(_ name: String, _ field: WritableKeyPath<Value, ExporterConfig.SecretSource?>) -> ConfigKey {
        value(name, field) { node, key, reader in
            guard let text = reader.string(node, key) else { return nil }
            guard !text.isEmpty else {
                reader.problem(node, key, "must not be empty")
                return nil
            }
            return .inline(Secret(text))
        }
    }

    /// A file holding a secret, read by `SecretSource.resolve`.
    static func secretFile(_ name: String, _ field: WritableKeyPath<Value, ExporterConfig.SecretSource?>) -> ConfigKey {
        value(name, field) { node, key, reader in reader.string(node, key).map { .file($0) } }
    }
}

extension ExporterConfig.API {
    static var table: ConfigTable<Self> {
        ConfigTable([
            .value("token_file", \.tokenFile) { node, key, reader in
                guard let path = reader.string(node, key) else { return nil }
                guard FileManager.default.isReadableFile(atPath: path) else {
                    reader.problem(node, key, "cannot read \(path)")
                    return nil
                }
                return path
            },
            .stringList("write_users", \.writeUsers),
        ])
    }
}

extension ConfigKey {
    /// An http:// or https:// URL. A wrong one is never quoted: it may carry credentials.
    static func url(_ name: String, _ field: WritableKeyPath<Value, String>) -> ConfigKey {
        value(name, field) { node, key, reader in
            guard let text = reader.string(node, key) else { return nil }
            guard let url = URL(string: text), ["http", "https"].contains(url.scheme?.lowercased() ?? ""), url.host != nil,
                  url.user == nil, url.password == nil else {
                reader.problem(node, key, "must be an http:// or https:// URL without user information")
                return nil
            }
            return text
        }
    }
}

extension ExporterConfig.Storage {
    /// The PostgreSQL connection settings of `url` with this section's password and pool.
    public func postgres(url: String, readOnly: Bool = false) throws(PostgresURLError) -> PostgresConfiguration {
        var configuration = try PostgresConfiguration(url: url, password: password?.revealed, poolSize: poolSize)
        configuration.readOnly = readOnly
        configuration.callTimeout = timeout
        return configuration
    }
}

extension ConfigKey {
    /// Characters of a tenant name or a mapping id, as Adobe names them: they go into the
    /// API's URL path and into label values.
    static var identifierCharacters: Set<Character> {
        Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")
    }

    /// A required tenant name or mapping id: letters, digits, `-`, `_` and `.` only.
    static func identifier(_ name: String, _ field: WritableKeyPath<Value, String>) -> ConfigKey {
        value(name, field, required: true) { node, key, reader in
            guard let text = reader.string(node, key) else { return nil }
            guard !text.isEmpty, text.allSatisfy(identifierCharacters.contains) else {
                reader.problem(node, key, text.isEmpty ? "must not be empty"
                               : "may hold only letters, digits, '-', '_' and '.' (as Adobe names tenants and mappings)")
                return nil
            }
            return text
        }
    }
}
