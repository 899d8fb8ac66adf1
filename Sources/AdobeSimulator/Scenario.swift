import Foundation
import IngestionModel
import YAMLSupport

/// What the simulator models: credentials IMS accepts, tenants and their
/// mappings with an outcome mix and timings, and fault rates. Read from YAML.
public struct Scenario: Sendable, Equatable {
    public struct Credentials: Sendable, Equatable {
        public var clientID: String
        public var clientSecret: String
        public init(clientID: String, clientSecret: String) { (self.clientID, self.clientSecret) = (clientID, clientSecret) }
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
        /// How long an ACP-880096 failure's batch stays `processing` in the Catalog, from the failure.
        public var batchProcessing: ClosedRange<Duration> = .zero ... .seconds(20)
        /// Relative weights of how those batches end.
        public var batchFates: [CatalogFate: Double] = [.failed: 1, .partial: 1, .failedWithoutCounts: 1]
        public init(id: String) { self.id = id }
    }

    /// A stretch of time during which every ingestion call of a tenant answers 429.
    public struct Throttle: Sendable, Equatable {
        /// From the simulator's start.
        public var after: Duration = .zero
        public var lasting: Duration = .seconds(60)
        public var retryAfter: Duration = .seconds(30)
        public init() {}
    }

    public struct Tenant: Sendable, Equatable {
        public var name: String
        public var firstRequestID = 3520
        public var mappings: [Mapping]
        public var throttle: Throttle?
        /// The IMS organization (`x-gw-ims-org-id`) and sandbox (`x-sandbox-name`) its Catalog lookups must name.
        public var orgID = "1234ABCD5678EF90@AdobeOrg"
        public var sandbox = "prod"
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
          throttle: {after: 0s, lasting: 60s, retry_after: 30s}   # every call of the tenant answers 429 meanwhile
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

    public static func load(yaml text: String, file: String) throws(ScenarioError) -> Scenario {
        let reader = ConfigReader(file: file)
        var scenario = Scenario(tenants: [])
        guard reader.read(text, into: &scenario, table: table) else {
            throw ScenarioError(description: reader.problems.joined(separator: "\n"))
        }
        return scenario
    }
}

/// Each key of the scenario file, once (see `ConfigTable`).
extension Scenario {
    static var table: ConfigTable<Scenario> {
        ConfigTable([
            .value("seed", \.seed) { node, key, reader in reader.int(node, key, range: 0...Int.max).map(UInt64.init) },
            .list("credentials", \.credentials, Credentials.table, element: { Credentials(clientID: "", clientSecret: "") }),
            .duration("token_lifetime", \.tokenLifetime, minimum: .seconds(1)),
            .list("tenants", \.tenants, Tenant.table, element: { Tenant(name: "", mappings: []) },
                  required: "at least one tenant is required"),
            .section("faults", \.faults, Faults.table),
        ])
    }
}

extension Scenario.Credentials {
    static var table: ConfigTable<Self> {
        ConfigTable([.string("client_id", \.clientID, required: true), .string("client_secret", \.clientSecret, required: true)])
    }
}

extension Scenario.Tenant {
    static var table: ConfigTable<Self> {
        ConfigTable([
            .string("name", \.name, required: true),
            .int("first_request_id", \.firstRequestID, range: 1...Int(Int32.max)),
            .string("org_id", \.orgID),
            .string("sandbox", \.sandbox),
            .list("mappings", \.mappings, Scenario.Mapping.table, element: { Scenario.Mapping(id: "") }),
            .value("throttle", \.throttle) { node, key, reader in
                var throttle = Scenario.Throttle()
                ConfigTable<Scenario.Throttle>([
                    .duration("after", \.after), .duration("lasting", \.lasting), .duration("retry_after", \.retryAfter),
                ]).read(node, into: &throttle, path: key, reader: reader)
                return throttle
            },
        ])
    }
}

extension Scenario.Mapping {
    static var table: ConfigTable<Self> {
        ConfigTable([
            .string("id", \.id, required: true),
            .bool("published", \.published),
            .bool("stopped", \.stopped),
            .value("duration", \.duration, parse: durationRange),
            .value("batch_processing", \.batchProcessing, parse: durationRange),
            .value("batch_fates", \.batchFates) { node, key, reader in weights(CatalogFate.self, "fate", node, key, reader) },
            .value("records", \.records) { node, key, reader in
                let parts = (node.scalar ?? "").components(separatedBy: "..")
                guard let low = Int(parts[0]), let high = Int(parts.last!), 0 <= low, low <= high else {
                    reader.problem(node, key, "must be a number or a range like 10..500")
                    return nil
                }
                return low...high
            },
            .value("outcomes", \.outcomes) { node, key, reader in weights(Scenario.Outcome.self, "outcome", node, key, reader) },
        ])
    }

    /// `2s..5s`, or one duration.
    private static func durationRange(_ node: YAMLValue, _ key: String, _ reader: ConfigReader) -> ClosedRange<Duration>? {
        let parts = (node.scalar ?? "").components(separatedBy: "..")
        guard let low = DurationText.parse(parts[0]), let high = DurationText.parse(parts.last!), low <= high else {
            reader.problem(node, key, "must be a duration or a range like 2s..5s")
            return nil
        }
        return low...high
    }

    /// Relative weights of named cases: `{success: 3, failed_880096: 1}`.
    private static func weights<Case: RawRepresentable & CaseIterable & Hashable>(
        _ type: Case.Type, _ what: String, _ node: YAMLValue, _ key: String, _ reader: ConfigReader) -> [Case: Double]? where Case.RawValue == String {
        guard let entries = node.entries else {
            reader.problem(node, key, "must map \(what)s to weights")
            return nil
        }
        var weights: [Case: Double] = [:]
        for (name, weight) in entries {
            guard let value = Case(rawValue: name.scalar ?? "") else {
                reader.problem(name, key, "unknown \(what); use \(Case.allCases.map(\.rawValue).joined(separator: ", "))")
                continue
            }
            weights[value] = reader.double(weight, "\(key).\(value.rawValue)", minimum: 0)
        }
        return weights
    }
}

extension Scenario.Faults {
    static var table: ConfigTable<Self> {
        ConfigTable([
            .double("throttle", \.throttle, minimum: 0, maximum: 1),
            .duration("retry_after", \.retryAfter),
            .double("server_error", \.serverError, minimum: 0, maximum: 1),
            .double("unavailable", \.unavailable, minimum: 0, maximum: 1),
            .double("slow", \.slow, minimum: 0, maximum: 1),
            .duration("slow_delay", \.slowDelay),
            .double("truncated", \.truncated, minimum: 0, maximum: 1),
            .double("not_json", \.notJSON, minimum: 0, maximum: 1),
        ])
    }
}
