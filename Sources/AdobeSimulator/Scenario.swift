import Foundation
import IngestionModel
import Yams

/// What the simulator models: credentials IMS accepts, tenants and their
/// mappings with an outcome mix and timings, and fault rates. Read from YAML.
public struct Scenario: Sendable, Equatable {
    public struct Credentials: Sendable, Equatable {
        public var clientID: String
        public var clientSecret: String
        public init(clientID: String, clientSecret: String) {
            self.clientID = clientID
            self.clientSecret = clientSecret
        }
    }

    /// How a request of a mapping ends.
    public enum Outcome: String, Sendable, CaseIterable, Equatable {
        case success
        /// Failed with ACP-880056 (failed to fetch the record from the database).
        case failedToFetch = "failed_880056"
        /// Failed with ACP-880096 after a batch was uploaded; carries a batchId.
        case failedToUpload = "failed_880096"
        case aborted
    }

    public struct Mapping: Sendable, Equatable {
        public var id: String
        public var published = true
        public var stopped = true
        /// How long a request stays In Progress.
        public var duration: ClosedRange<Duration> = .seconds(2) ... .seconds(5)
        /// Records a successful request ingests.
        public var records: ClosedRange<Int> = 10...500
        /// Relative weights of the outcomes.
        public var outcomes: [Outcome: Double] = [.success: 1]
        public init(id: String) { self.id = id }
    }

    public struct Tenant: Sendable, Equatable {
        public var name: String
        public var firstRequestID = 3520
        public var mappings: [Mapping]
        public init(name: String, mappings: [Mapping]) {
            self.name = name
            self.mappings = mappings
        }
    }

    /// Fractions (0…1) of ingestion calls that meet each fault.
    public struct Faults: Sendable, Equatable {
        public var throttle = 0.0
        public var retryAfter: Duration = .seconds(1)
        public var serverError = 0.0
        public var unavailable = 0.0
        public var slow = 0.0
        public var slowDelay: Duration = .seconds(65)
        public var truncated = 0.0
        public var notJSON = 0.0
        public init() {}
    }

    public var seed: UInt64 = 1
    public var credentials = [Credentials(clientID: "sim-client", clientSecret: "sim-secret")]
    public var tokenLifetime: Duration = .seconds(86399)
    public var tenants: [Tenant]
    public var faults = Faults()

    public init(tenants: [Tenant]) { self.tenants = tenants }

    /// One tenant `acme-mkt-prod1` with mapping `XDM44`, always successful.
    public static var standard: Scenario {
        Scenario(tenants: [Tenant(name: "acme-mkt-prod1", mappings: [Mapping(id: "XDM44")])])
    }
}

/// A scenario file that cannot be used, with where and why.
public struct ScenarioError: Error, CustomStringConvertible {
    public let description: String
}

extension Scenario {
    /// The file format, for `simulate --help`.
    public static let formatHelp = """
    Scenario file (YAML); every key is optional except tenants:
      seed: 42                      # same seed, same run
      credentials:                  # what the IMS endpoint accepts
        - {client_id: sim-client, client_secret: sim-secret}
      token_lifetime: 24h           # expires_in of issued tokens
      tenants:
        - name: acme-mkt-prod1      # {tenant} in the URL
          first_request_id: 3520    # requestIds increase per tenant from here
          mappings:
            - id: XDM44
              published: true       # false: POST answers "is not published"
              stopped: true         # false: POST answers "is not stopped"
              duration: 2s..5s      # time In Progress (or one value: 3s)
              records: 10..500      # numRecords on Success
              outcomes: {success: 90, failed_880056: 5, failed_880096: 3, aborted: 2}
      faults:                       # fractions of ingestion calls, 0..1
        throttle: 0.05              # 429 with Retry-After
        retry_after: 1s
        server_error: 0.01          # 500
        unavailable: 0.01           # 503
        slow: 0.0                   # answer only after slow_delay
        slow_delay: 65s
        truncated: 0.0              # body cut in half
        not_json: 0.0               # an HTML error page
    """

    public static func load(yaml text: String, file: String) throws -> Scenario {
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch {
            throw ScenarioError(description: "\(file): not valid YAML: \(error)")
        }
        guard let root = node?.mapping else { throw ScenarioError(description: "\(file): expected a mapping at the top") }
        let reader = YAMLReader(file: file)
        guard let tenantNodes = root["tenants"]?.sequence, !tenantNodes.isEmpty else {
            throw reader.error(root["tenants"] ?? node!, "tenants", "at least one tenant is required")
        }
        var scenario = Scenario(tenants: [])
        if let seed = root["seed"] { scenario.seed = UInt64(try reader.int(seed, "seed")) }
        if let lifetime = root["token_lifetime"] { scenario.tokenLifetime = try reader.duration(lifetime, "token_lifetime") }
        if let list = root["credentials"]?.sequence {
            scenario.credentials = try list.map { item in
                Credentials(clientID: try reader.string(item.mapping?["client_id"], "credentials.client_id", parent: item),
                            clientSecret: try reader.string(item.mapping?["client_secret"], "credentials.client_secret", parent: item))
            }
        }
        for tenantNode in tenantNodes {
            let map = tenantNode.mapping
            var tenant = Tenant(name: try reader.string(map?["name"], "tenants.name", parent: tenantNode), mappings: [])
            if let first = map?["first_request_id"] { tenant.firstRequestID = try reader.int(first, "first_request_id") }
            for mappingNode in map?["mappings"]?.sequence ?? [] {
                let m = mappingNode.mapping
                var mapping = Mapping(id: try reader.string(m?["id"], "mappings.id", parent: mappingNode))
                if let value = m?["published"] { mapping.published = try reader.bool(value, "published") }
                if let value = m?["stopped"] { mapping.stopped = try reader.bool(value, "stopped") }
                if let value = m?["duration"] { mapping.duration = try reader.durationRange(value, "duration") }
                if let value = m?["records"] { mapping.records = try reader.intRange(value, "records") }
                if let value = m?["outcomes"]?.mapping {
                    var outcomes: [Outcome: Double] = [:]
                    for (key, weight) in value {
                        guard let outcome = Outcome(rawValue: key.string ?? "") else {
                            throw reader.error(key, "outcomes", "unknown outcome; use \(Outcome.allCases.map(\.rawValue).joined(separator: ", "))")
                        }
                        outcomes[outcome] = try reader.double(weight, "outcomes.\(outcome.rawValue)")
                    }
                    mapping.outcomes = outcomes
                }
                tenant.mappings.append(mapping)
            }
            scenario.tenants.append(tenant)
        }
        if let faults = root["faults"]?.mapping {
            func rate(_ key: String) throws -> Double? {
                guard let value = faults[key] else { return nil }
                let rate = try reader.double(value, "faults.\(key)")
                guard (0...1).contains(rate) else { throw reader.error(value, "faults.\(key)", "must be between 0 and 1") }
                return rate
            }
            scenario.faults.throttle = try rate("throttle") ?? 0
            scenario.faults.serverError = try rate("server_error") ?? 0
            scenario.faults.unavailable = try rate("unavailable") ?? 0
            scenario.faults.slow = try rate("slow") ?? 0
            scenario.faults.truncated = try rate("truncated") ?? 0
            scenario.faults.notJSON = try rate("not_json") ?? 0
            if let value = faults["retry_after"] { scenario.faults.retryAfter = try reader.duration(value, "faults.retry_after") }
            if let value = faults["slow_delay"] { scenario.faults.slowDelay = try reader.duration(value, "faults.slow_delay") }
        }
        return scenario
    }
}

/// Typed reads from a YAML node that name the file, line and key on failure.
struct YAMLReader {
    let file: String

    func error(_ node: Node, _ key: String, _ why: String) -> ScenarioError {
        ScenarioError(description: "\(file):\(node.mark.map { "\($0.line)" } ?? "?"): \(key): \(why)")
    }

    func string(_ node: Node?, _ key: String, parent: Node) throws -> String {
        guard let node else { throw error(parent, key, "is required") }
        guard let text = node.string, !text.isEmpty else { throw error(node, key, "must be a non-empty string") }
        return text
    }

    func int(_ node: Node, _ key: String) throws -> Int {
        guard let value = node.int else { throw error(node, key, "must be a whole number") }
        return value
    }

    func double(_ node: Node, _ key: String) throws -> Double {
        guard let value = node.float, value >= 0 else { throw error(node, key, "must be a number ≥ 0") }
        return value
    }

    func bool(_ node: Node, _ key: String) throws -> Bool {
        guard let value = node.bool else { throw error(node, key, "must be true or false") }
        return value
    }

    func duration(_ node: Node, _ key: String) throws -> Duration {
        guard let text = node.string, let value = DurationText.parse(text) else {
            throw error(node, key, "must be a duration such as 500ms, 30s, 5m or 1h")
        }
        return value
    }

    func durationRange(_ node: Node, _ key: String) throws -> ClosedRange<Duration> {
        guard let text = node.string else { throw error(node, key, "must be a duration or a range like 2s..5s") }
        let parts = text.components(separatedBy: "..")
        guard let low = DurationText.parse(parts[0]), let high = DurationText.parse(parts.last!), low <= high else {
            throw error(node, key, "must be a duration or a range like 2s..5s")
        }
        return low...high
    }

    func intRange(_ node: Node, _ key: String) throws -> ClosedRange<Int> {
        guard let text = node.string else { throw error(node, key, "must be a number or a range like 10..500") }
        let parts = text.components(separatedBy: "..")
        guard let low = Int(parts[0]), let high = Int(parts.last!), 0 <= low, low <= high else {
            throw error(node, key, "must be a number or a range like 10..500")
        }
        return low...high
    }
}
