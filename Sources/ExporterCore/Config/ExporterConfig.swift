import AdobeIngestionClient
import Foundation
import IngestionModel
import YAMLSupport

/// The exporter's configuration file (`--config.file`), validated.
public struct ExporterConfig: Sendable {
    public struct Mapping: Sendable, Equatable {
        public var id: String
        public var name: String
        /// When set, this exporter POSTs an ingestion on that schedule.
        public var triggerEvery: Duration?

        public init(id: String, name: String, triggerEvery: Duration?) {
            self.id = id
            self.name = name
            self.triggerEvery = triggerEvery
        }
    }

    public struct Tenant: Sendable {
        public var name: String
        public var apiURL = "https://mc.adobe.io"
        public var imsTokenURL = "https://ims-na1.adobelogin.com/ims/token/v3"
        public var clientID: String
        public var clientSecret: Secret
        public var scopes = ["openid", "AdobeID", "campaign_sdk"]
        public var requestIDPlacement: AdobeClientConfiguration.RequestIDPlacement = .query
        public var mappings: [Mapping]

        public init(name: String, clientID: String, clientSecret: Secret, mappings: [Mapping]) {
            self.name = name
            self.clientID = clientID
            self.clientSecret = clientSecret
            self.mappings = mappings
        }
    }

    public struct Collector: Sendable {
        public var pollInterval: Duration = .seconds(30)
        public var maxConcurrentRequests = 4
        /// Per tenant, all calls together.
        public var maxRequestsPerSecond = 5.0
        public var requestTimeout: Duration = .seconds(60)
    }

    public struct Storage: Sendable {
        public var path = "./data/acs-ingestion.sqlite"
        public var retention: Duration = .seconds(400 * 86400)
    }

    public struct API: Sendable {
        /// A file holding the bearer token the write endpoints require; none turns them off.
        public var tokenFile: String?
    }

    public var tenants: [Tenant]
    public var collector = Collector()
    public var storage = Storage()
    public var api = API()

    public init(tenants: [Tenant]) { self.tenants = tenants }

    public var mappingKeys: [MappingKey] {
        tenants.flatMap { tenant in tenant.mappings.map { MappingKey(tenant: tenant.name, mapping: $0.id) } }
    }
}

/// Every problem a configuration file has, each naming file, line and key.
public struct ConfigError: Error, CustomStringConvertible {
    public let problems: [String]
    public var description: String { problems.joined(separator: "\n") }

    /// One line for the daemon's exit message.
    public var summary: String {
        problems.count == 1 ? problems[0]
            : "\(problems[0]) (and \(problems.count - 1) more problem\(problems.count == 2 ? "" : "s"); run check-config)"
    }
}

extension ExporterConfig {
    public static func load(file: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws(ConfigError) -> ExporterConfig {
        let text: String
        do {
            text = try String(contentsOfFile: file, encoding: .utf8)
        } catch {
            throw ConfigError(problems: ["cannot read config file \(file): \(Self.reason(error))"])
        }
        return try parse(yaml: text, file: file, environment: environment)
    }

    public static func parse(yaml text: String, file: String, environment: [String: String] = [:]) throws(ConfigError) -> ExporterConfig {
        let yaml = YAMLFields(file: file, environment: environment)
        var config = ExporterConfig(tenants: [])
        guard let root = yaml.root(of: text) else { throw ConfigError(problems: yaml.problems) }
        yaml.allowOnly(["tenants", "collector", "storage", "api"], in: root, path: "")

        let tenantNodes = root["tenants"]?.sequence ?? []
        if tenantNodes.isEmpty { yaml.problem(root["tenants"], "tenants", "at least one tenant is required") }
        var names = Set<String>()
        for (index, node) in tenantNodes.enumerated() {
            let path = "tenants[\(index)]"
            guard let map = node.mapping else { yaml.problem(node, path, "must be a mapping"); continue }
            yaml.allowOnly(["name", "api_url", "ims_token_url", "client_id", "client_secret", "client_secret_file",
                            "scopes", "request_id_in", "mappings"], in: map, path: path)
            let name = yaml.string(map, "name", path: path, required: true, parent: node) ?? ""
            if !name.isEmpty && !names.insert(name).inserted { yaml.problem(map["name"], "\(path).name", "duplicate tenant \"\(name)\"") }
            let clientID = yaml.string(map, "client_id", path: path, required: true, parent: node) ?? ""
            let secret = Self.secret(map, path: path, node: node, yaml: yaml)
            var tenant = Tenant(name: name, clientID: clientID, clientSecret: secret ?? Secret(""), mappings: [])
            for (key, keyPath) in [("api_url", \Tenant.apiURL), ("ims_token_url", \Tenant.imsTokenURL)] {
                guard let url = yaml.string(map, key, path: path) else { continue }
                if let parsed = URL(string: url), ["http", "https"].contains(parsed.scheme ?? ""), parsed.host != nil {
                    tenant[keyPath: keyPath] = url
                } else {
                    yaml.problem(map[key], "\(path).\(key)", "must be an http:// or https:// URL, got \"\(url)\"")
                }
            }
            if let scopes = yaml.stringList(map, "scopes", path: path) {
                if scopes.isEmpty { yaml.problem(map["scopes"], "\(path).scopes", "must list at least one scope") }
                tenant.scopes = scopes
            }
            if let placement = yaml.string(map, "request_id_in", path: path) {
                if let value = AdobeClientConfiguration.RequestIDPlacement(rawValue: placement) {
                    tenant.requestIDPlacement = value
                } else {
                    yaml.problem(map["request_id_in"], "\(path).request_id_in", "must be query or body, got \"\(placement)\"")
                }
            }
            let mappingNodes = map["mappings"]?.sequence ?? []
            if mappingNodes.isEmpty { yaml.problem(map["mappings"] ?? node, "\(path).mappings", "at least one mapping is required") }
            var ids = Set<String>()
            for (mappingIndex, mappingNode) in mappingNodes.enumerated() {
                let mappingPath = "\(path).mappings[\(mappingIndex)]"
                guard let m = mappingNode.mapping else { yaml.problem(mappingNode, mappingPath, "must be a mapping"); continue }
                yaml.allowOnly(["id", "name", "trigger_every"], in: m, path: mappingPath)
                guard let id = yaml.string(m, "id", path: mappingPath, required: true, parent: mappingNode) else { continue }
                if !ids.insert(id).inserted { yaml.problem(m["id"], "\(mappingPath).id", "duplicate mapping \"\(id)\" in tenant \"\(name)\"") }
                let every = yaml.duration(m, "trigger_every", path: mappingPath, minimum: .seconds(1))
                tenant.mappings.append(Mapping(id: id, name: yaml.string(m, "name", path: mappingPath) ?? id, triggerEvery: every))
            }
            config.tenants.append(tenant)
        }

        if let node = root["collector"] {
            if let map = node.mapping {
                yaml.allowOnly(["poll_interval", "max_concurrent_requests", "max_requests_per_second", "request_timeout"],
                               in: map, path: "collector")
                if let value = yaml.duration(map, "poll_interval", path: "collector", minimum: .milliseconds(100)) {
                    config.collector.pollInterval = value
                }
                if let value = yaml.int(map, "max_concurrent_requests", path: "collector", range: 1...256) {
                    config.collector.maxConcurrentRequests = value
                }
                if let value = yaml.double(map, "max_requests_per_second", path: "collector", minimum: 0.01) {
                    config.collector.maxRequestsPerSecond = value
                }
                if let value = yaml.duration(map, "request_timeout", path: "collector", minimum: .milliseconds(100)) {
                    config.collector.requestTimeout = value
                }
            } else { yaml.problem(node, "collector", "must be a mapping") }
        }
        if let node = root["storage"] {
            if let map = node.mapping {
                yaml.allowOnly(["path", "retention"], in: map, path: "storage")
                if let value = yaml.string(map, "path", path: "storage") {
                    if value.isEmpty { yaml.problem(map["path"], "storage.path", "must not be empty") } else { config.storage.path = value }
                }
                if let value = yaml.duration(map, "retention", path: "storage", minimum: .seconds(3600)) { config.storage.retention = value }
            } else { yaml.problem(node, "storage", "must be a mapping") }
        }
        if let node = root["api"] {
            if let map = node.mapping {
                yaml.allowOnly(["token_file"], in: map, path: "api")
                if let path = yaml.string(map, "token_file", path: "api") {
                    if FileManager.default.isReadableFile(atPath: path) {
                        config.api.tokenFile = path
                    } else {
                        yaml.problem(map["token_file"], "api.token_file", "cannot read \(path)")
                    }
                }
            } else { yaml.problem(node, "api", "must be a mapping") }
        }
        guard yaml.problems.isEmpty else { throw ConfigError(problems: yaml.problems) }
        return config
    }

    private static func secret(_ map: Node.Mapping, path: String, node: Node, yaml: YAMLFields) -> Secret? {
        let inline = yaml.string(map, "client_secret", path: path)
        let file = yaml.string(map, "client_secret_file", path: path)
        switch (inline, file) {
        case (let value?, nil):
            if value.isEmpty { yaml.problem(map["client_secret"], "\(path).client_secret", "must not be empty") }
            return Secret(value)
        case (nil, let file?):
            do {
                let contents = try String(contentsOfFile: file, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
                guard !contents.isEmpty else {
                    yaml.problem(map["client_secret_file"], "\(path).client_secret_file", "\(file) is empty")
                    return nil
                }
                return Secret(contents)
            } catch {
                yaml.problem(map["client_secret_file"], "\(path).client_secret_file", "cannot read \(file): \(reason(error))")
                return nil
            }
        case (.some, .some):
            yaml.problem(map["client_secret_file"], path, "set client_secret or client_secret_file, not both")
            return nil
        case (nil, nil):
            yaml.problem(node, "\(path).client_secret", "is required (or client_secret_file)")
            return nil
        }
    }

    static func reason(_ error: Error) -> String {
        let nsError = error as NSError
        if let underlying = nsError.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(underlying.code)))
        }
        if nsError.domain == NSCocoaErrorDomain {
            switch nsError.code {
            case NSFileReadNoSuchFileError: return "no such file"
            case NSFileReadNoPermissionError: return "permission denied"
            default: break
            }
        }
        return nsError.localizedDescription
    }
}

import Yams
