import Foundation
import IngestionModel
import YAMLSupport

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
        let yaml = YAMLFields(file: file)
        var scenario = Scenario(tenants: [])
        guard let root = yaml.root(of: text) else { throw ScenarioError(description: yaml.problems.joined(separator: "\n")) }
        yaml.allowOnly(["seed", "credentials", "token_lifetime", "tenants", "faults"], in: root, path: "")
        if let seed = yaml.int(root, "seed", path: "", range: 0...Int.max) { scenario.seed = UInt64(seed) }
        if let lifetime = yaml.duration(root, "token_lifetime", path: "", minimum: .seconds(1)) { scenario.tokenLifetime = lifetime }
        if let list = root["credentials"]?.sequence {
            scenario.credentials = list.compactMap { item in
                guard let id = yaml.string(item.mapping, "client_id", path: "credentials", required: true, parent: item),
                      let secret = yaml.string(item.mapping, "client_secret", path: "credentials", required: true, parent: item)
                else { return nil }
                return Credentials(clientID: id, clientSecret: secret)
            }
        }
        let tenantNodes = root["tenants"]?.sequence ?? []
        if tenantNodes.isEmpty { yaml.problem(root["tenants"], "tenants", "at least one tenant is required") }
        for tenantNode in tenantNodes {
            let map = tenantNode.mapping
            guard let name = yaml.string(map, "name", path: "tenants", required: true, parent: tenantNode) else { continue }
            var tenant = Tenant(name: name, mappings: [])
            if let first = yaml.int(map, "first_request_id", path: "tenants", range: 0...Int.max) { tenant.firstRequestID = first }
            for mappingNode in map?["mappings"]?.sequence ?? [] {
                let m = mappingNode.mapping
                let path = "tenants.mappings"
                guard let id = yaml.string(m, "id", path: path, required: true, parent: mappingNode) else { continue }
                var mapping = Mapping(id: id)
                if let value = yaml.bool(m, "published", path: path) { mapping.published = value }
                if let value = yaml.bool(m, "stopped", path: path) { mapping.stopped = value }
                if let node = m?["duration"] {
                    let parts = (node.string ?? "").components(separatedBy: "..")
                    if let low = DurationText.parse(parts[0]), let high = DurationText.parse(parts.last!), low <= high {
                        mapping.duration = low...high
                    } else {
                        yaml.problem(node, "\(path).duration", "must be a duration or a range like 2s..5s")
                    }
                }
                if let node = m?["records"] {
                    let parts = (node.string ?? "").components(separatedBy: "..")
                    if let low = Int(parts[0]), let high = Int(parts.last!), 0 <= low, low <= high {
                        mapping.records = low...high
                    } else {
                        yaml.problem(node, "\(path).records", "must be a number or a range like 10..500")
                    }
                }
                if let weights = m?["outcomes"]?.mapping {
                    var outcomes: [Outcome: Double] = [:]
                    for (key, _) in weights {
                        guard let outcome = Outcome(rawValue: key.string ?? "") else {
                            yaml.problem(key, "\(path).outcomes", "unknown outcome; use \(Outcome.allCases.map(\.rawValue).joined(separator: ", "))")
                            continue
                        }
                        outcomes[outcome] = yaml.double(weights, outcome.rawValue, path: "\(path).outcomes")
                    }
                    mapping.outcomes = outcomes
                }
                tenant.mappings.append(mapping)
            }
            scenario.tenants.append(tenant)
        }
        if let faults = root["faults"]?.mapping {
            func rate(_ key: String) -> Double {
                guard let rate = yaml.double(faults, key, path: "faults") else { return 0 }
                if rate > 1 { yaml.problem(faults[key], "faults.\(key)", "must be between 0 and 1") }
                return rate
            }
            scenario.faults.throttle = rate("throttle")
            scenario.faults.serverError = rate("server_error")
            scenario.faults.unavailable = rate("unavailable")
            scenario.faults.slow = rate("slow")
            scenario.faults.truncated = rate("truncated")
            scenario.faults.notJSON = rate("not_json")
            if let value = yaml.duration(faults, "retry_after", path: "faults") { scenario.faults.retryAfter = value }
            if let value = yaml.duration(faults, "slow_delay", path: "faults") { scenario.faults.slowDelay = value }
        }
        guard yaml.problems.isEmpty else { throw ScenarioError(description: yaml.problems.joined(separator: "\n")) }
        return scenario
    }
}
