import AdobeIngestionClient
import Foundation
import IngestionModel
import Scheduling
import YAMLSupport

/// The exporter's configuration file (`--config.file`), validated. Each section's
/// defaults are its properties' initial values; `ExporterConfig+Keys.swift` says
/// how each key of the file sets them.
public struct ExporterConfig: Sendable {
    public struct Mapping: Sendable, Equatable {
        public var id = ""
        /// The display name; the id when the file gives none.
        public var name = ""
        /// When set, this exporter POSTs an ingestion on that schedule.
        public var schedule: Schedule?
        // The keys the schedule is read from (`trigger_every`, or `trigger_cron` in `trigger_timezone`).
        var triggerEvery: Duration?
        var triggerCron: String?
        var triggerTimezone = "UTC"

        public init(id: String, name: String, schedule: Schedule?) {
            (self.id, self.name, self.schedule) = (id, name, schedule)
        }

        public init(id: String, name: String, triggerEvery: Duration?) {
            self.init(id: id, name: name, schedule: triggerEvery.map(Schedule.every))
        }

        init() {}
    }

    /// One Campaign instance: how to reach it (the client's own configuration,
    /// whose defaults are written there) and its mappings.
    public struct Tenant: Sendable {
        public var client = AdobeClientConfiguration()
        public var mappings: [Mapping] = []
        /// The credential's budget: calls to Adobe (tokens, triggers, polls) per hour at most (nil: none).
        public var maxCallsPerHour: Int?
        /// Where the client secret comes from, as the file says it.
        var secretSource: SecretSource?

        public init(name: String, clientID: String, clientSecret: Secret, mappings: [Mapping]) {
            client = AdobeClientConfiguration(tenant: name, clientID: clientID, clientSecret: clientSecret)
            self.mappings = mappings
        }

        init() {}

        /// Whether two tenants are set up alike (the secret's source aside: its value counts).
        public func sameSettings(as other: Tenant) -> Bool {
            client == other.client && mappings == other.mappings && maxCallsPerHour == other.maxCallsPerHour
        }

        /// `{tenant}` in the API URL; the `tenant` label.
        public var name: String {
            get { client.tenant }
            set { client.tenant = newValue }
        }
        public var apiURL: String {
            get { client.apiBaseURL }
            set { client.apiBaseURL = newValue }
        }
        public var imsTokenURL: String {
            get { client.imsTokenURL }
            set { client.imsTokenURL = newValue }
        }
    }

    enum SecretSource: Sendable {
        case inline(Secret)
        case file(String)
    }

    public struct Collector: Sendable, Equatable {
        /// The first poll of a request comes this long after it started; the shortest gap between polls.
        public var pollInterval: Duration = .seconds(30)
        /// The longest gap between two polls of a request (the gap grows with its age: see `PollSchedule`).
        public var pollIntervalMax: Duration = .seconds(300)
        /// A request Adobe answers 404 for this long ends as `abandoned`.
        public var giveUpAfter: Duration = .seconds(24 * 3600)
        /// A request In Progress this long ends as `abandoned`.
        public var maxInProgress: Duration = .seconds(7 * 24 * 3600)
        /// The largest offset of a mapping's triggers from its slots (a tenth of its
        /// period at most), so that mappings due at the same time do not POST together.
        public var triggerJitter: Duration = .seconds(60)
        /// All tenants together.
        public var maxConcurrentRequests = 4
        /// Per tenant, all calls together.
        public var maxRequestsPerSecond = 5.0
        public var requestTimeout = AdobeClientConfiguration.defaultTimeout
    }

    public struct Storage: Sendable {
        public enum Driver: String, Sendable, CaseIterable {
            /// One file on this machine; one exporter writes to it.
            case sqlite
            /// A server several exporters share (replicas, see `Cluster`).
            case postgres
        }
        public var driver = Driver.sqlite
        /// SQLite: the database file.
        public var path = "./data/acs-ingestion.sqlite"
        /// PostgreSQL: `postgres://user@host:5432/dbname?sslmode=verify-full&sslrootcert=/path`, without password.
        public var url: String?
        var passwordSource: SecretSource?
        /// PostgreSQL: the password (from `password: ${VAR}` or `password_file`).
        public var password: Secret?
        /// PostgreSQL: connections in the pool.
        public var poolSize = 10
        public var retention: Duration = .seconds(400 * 86400)
        /// How long one store call may take: past it the call fails as an outage
        /// (`store_up` 0, not ready) instead of holding what waits on it.
        public var timeout: Duration = .seconds(10)

        public init() {}

        /// Whether both reach the same database the same way (retention aside).
        public func sameConnection(as other: Storage) -> Bool {
            (driver, path, url, password, poolSize, timeout)
                == (other.driver, other.path, other.url, other.password, other.poolSize, other.timeout)
        }
    }

    /// Replicas sharing one PostgreSQL database (storage.driver: postgres).
    public struct Cluster: Sendable, Equatable {
        /// Replicas on one PostgreSQL database share the tenants through leases.
        public var enabled = false
        /// This replica's name in leases and metrics; empty: hostname:port.
        public var replicaName = ""
        /// The cluster's name, the same on every replica: the `instance` label of every tenant's series.
        public var name = "acs-ingestion-exporter"
        public var leaseTTL: Duration = .seconds(15)
    }

    public struct API: Sendable {
        /// A file holding the bearer token the write endpoints require; none turns them off.
        public var tokenFile: String?
        /// With basic auth on (`--web.config.file`), the users who may write; the bearer token is not used then.
        public var writeUsers: [String] = []
    }

    public var tenants: [Tenant] = []
    public var collector = Collector()
    public var storage = Storage()
    public var cluster = Cluster()
    public var api = API()

    public init(tenants: [Tenant]) { self.tenants = tenants }

    public var mappingKeys: [MappingKey] {
        tenants.flatMap { tenant in tenant.mappings.map { MappingKey(tenant: tenant.name, mapping: $0.id) } }
    }

    /// The client configuration of each tenant, with the collector's time-out.
    public func clientConfigurations() -> [AdobeClientConfiguration] {
        tenants.map { tenant in
            var client = tenant.client
            client.timeout = collector.requestTimeout
            return client
        }
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
            throw ConfigError(problems: ["cannot read config file \(file): \(FileErrors.reason(error))"])
        }
        return try parse(yaml: text, file: file, environment: environment)
    }

    public static func parse(yaml text: String, file: String, environment: [String: String] = [:]) throws(ConfigError) -> ExporterConfig {
        let reader = ConfigReader(file: file, environment: environment)
        var config = ExporterConfig(tenants: [])
        guard reader.read(text, into: &config, table: Self.table) else { throw ConfigError(problems: reader.problems) }
        return config
    }
}

/// Why reading a file failed, in a few words (`no such file`, `permission denied`).
enum FileErrors {
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
