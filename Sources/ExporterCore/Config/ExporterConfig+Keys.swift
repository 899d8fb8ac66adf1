import AdobeIngestionClient
import Foundation
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
            .section("api", \.api, API.table),
        ])
    }
}

extension ExporterConfig.Tenant {
    static var table: ConfigTable<Self> {
        ConfigTable([
            .string("name", \.client.tenant, required: true),
            .url("api_url", \.client.apiBaseURL),
            .url("ims_token_url", \.client.imsTokenURL),
            .string("client_id", \.client.clientID, required: true),
            .value("client_secret", \.secretSource) { node, key, reader in
                guard let text = reader.string(node, key) else { return nil }
                guard !text.isEmpty else {
                    reader.problem(node, key, "must not be empty")
                    return nil
                }
                return .inline(Secret(text))
            },
            .value("client_secret_file", \.secretSource) { node, key, reader in reader.string(node, key).map { .file($0) } },
            .stringList("scopes", \.client.scopes),
            .choice("request_id_in", \.client.requestIDPlacement),
            .list("mappings", \.mappings, ExporterConfig.Mapping.table, element: ExporterConfig.Mapping.init,
                  required: "at least one mapping is required", unique: ("id", \.id, "mapping")),
        ], check: { tenant, node, path, reader in
            let both = node["client_secret"] != nil && node["client_secret_file"] != nil
            if both {
                reader.problem(node["client_secret_file"], path, "set client_secret or client_secret_file, not both")
                return
            }
            switch tenant.secretSource {
            case .inline(let secret)?:
                tenant.client.clientSecret = secret
            case .file(let file)?:
                let key = path + ".client_secret_file"
                do {
                    let contents = try String(contentsOfFile: file, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
                    if contents.isEmpty { reader.problem(node["client_secret_file"], key, "\(file) is empty") }
                    tenant.client.clientSecret = Secret(contents)
                } catch {
                    reader.problem(node["client_secret_file"], key, "cannot read \(file): \(FileErrors.reason(error))")
                }
            case nil:
                if node["client_secret"] == nil && node["client_secret_file"] == nil {
                    reader.problem(node, path + ".client_secret", "is required (or client_secret_file)")
                }
            }
        })
    }
}

extension ExporterConfig.Mapping {
    static var table: ConfigTable<Self> {
        ConfigTable([
            .string("id", \.id, required: true),
            .string("name", \.name),
            .duration("trigger_every", \.triggerEvery, minimum: .seconds(1)),
        ], check: { mapping, _, _, _ in
            if mapping.name.isEmpty { mapping.name = mapping.id }
        })
    }
}

extension ExporterConfig.Collector {
    static var table: ConfigTable<Self> {
        ConfigTable([
            .duration("poll_interval", \.pollInterval, minimum: .milliseconds(100)),
            .int("max_concurrent_requests", \.maxConcurrentRequests, range: 1...256),
            .double("max_requests_per_second", \.maxRequestsPerSecond, minimum: 0.01),
            .duration("request_timeout", \.requestTimeout, minimum: .milliseconds(100)),
        ])
    }
}

extension ExporterConfig.Storage {
    static var table: ConfigTable<Self> {
        ConfigTable([
            .string("path", \.path),
            .duration("retention", \.retention, minimum: .seconds(3600)),
        ])
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
