import AdobeIngestionClient
import AdobeSimulator
import ExporterConfiguration
import ExporterCore
import Foundation
import HTTPServer
import IngestionModel
import SQLiteStore

/// `--demo`: the simulator in-process with a few tenants and mappings, and a
/// configuration that triggers each mapping every few seconds.
public enum Demo {
    static let clientID = "demo-client"
    static let clientSecret = "demo-secret-not-for-production"

    public static func scenario(seed: UInt64 = 7) -> Scenario {
        func mapping(_ id: String, _ duration: ClosedRange<Duration>, _ outcomes: [Scenario.Outcome: Double]) -> Scenario.Mapping {
            var m = Scenario.Mapping(id: id)
            m.duration = duration
            m.records = 50...2_000
            m.outcomes = outcomes
            return m
        }
        var prod = Scenario.Tenant(name: "demo-mkt-prod1", mappings: [
            mapping("XDM44", .seconds(1) ... .seconds(2), [.success: 85, .failedToFetch: 15]),
            mapping("XDM45", .seconds(1) ... .seconds(2), [.success: 60, .failedToUpload: 25, .aborted: 15]),
        ])
        prod.firstRequestID = 3520
        // The ACP-880096 failures' batches stay `processing` for a few seconds in the Catalog.
        prod.mappings[1].batchProcessing = .seconds(2) ... .seconds(8)
        var stage = Scenario.Tenant(name: "demo-mkt-stage1", mappings: [
            mapping("XDM10", .seconds(3600) ... .seconds(7200), [.success: 1]),
        ])
        stage.firstRequestID = 100
        var scenario = Scenario(tenants: [prod, stage])
        scenario.seed = seed
        scenario.credentials = [.init(clientID: clientID, clientSecret: clientSecret)]
        scenario.faults.throttle = 0.03
        scenario.faults.retryAfter = .seconds(1)
        scenario.faults.serverError = 0.02
        return scenario
    }

    /// Makes the first requests end in each documented way, so every panel has data within seconds.
    public static func prime(_ simulator: AdobeSimulator) {
        simulator.setNextOutcomes(tenant: "demo-mkt-prod1", mapping: "XDM44", [.success, .failedToFetch, .success])
        simulator.setNextOutcomes(tenant: "demo-mkt-prod1", mapping: "XDM45", [.failedToUpload, .aborted, .success, .failedToUpload])
        simulator.setNextBatchFates(tenant: "demo-mkt-prod1", mapping: "XDM45", [.partial, .failedWithoutCounts])
    }

    public static let defaultStoragePath = "./data/demo.sqlite"

    /// The simulator starts empty each run, so the demo needs an empty database:
    /// its own default file is reset; a file named with --storage.path must not exist yet.
    public static func prepareStorage(_ requested: String?) throws(StartupError) -> String {
        let manager = FileManager.default
        guard let requested else {
            // With its lock file: left by the last run, it would say a database was kept here.
            do { try SQLiteIngestionStore.remove(at: defaultStoragePath) } catch {
                throw StartupError(description: error.kind == .inUse ? "\(error.description) (another --demo?)" : error.description)
            }
            return defaultStoragePath
        }
        if let size = (try? manager.attributesOfItem(atPath: requested))?[.size] as? Int, size > 0 {
            throw StartupError(description: "--demo needs a new database, but \(requested) already has data; remove it or choose another --storage.path")
        }
        return requested
    }

    /// Writes a fresh random API token beside the demo database, so the write
    /// endpoints and the `track`/`trigger` commands can be tried.
    public static func writeAPIToken(beside storagePath: String) throws(StartupError) -> String {
        let path = ((storagePath as NSString).deletingLastPathComponent as NSString).appendingPathComponent("demo-api-token")
        var generator = SystemRandomNumberGenerator()
        let token = (0..<4).map { _ in String(generator.next() as UInt64, radix: 16) }.joined()
        do {
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent,
                                                    withIntermediateDirectories: true)
            try (token + "\n").write(toFile: path, atomically: true, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
        } catch {
            throw StartupError(description: "cannot write the demo API token to \(path): \(error.localizedDescription)")
        }
        return path
    }

    /// Starts the simulator on a free loopback port and returns it with the
    /// configuration that points the exporter at it.
    public static func start(storagePath requested: String?) throws -> (AdobeSimulator, ExporterConfig) {
        let simulator = try AdobeSimulator(scenario: scenario(), listenAddress: ListenAddress(host: "127.0.0.1", port: 0))
        prime(simulator)
        var config = config(simulatorURL: simulator.baseURL, storagePath: try prepareStorage(requested))
        config.api.tokenFile = try writeAPIToken(beside: config.storage.path)
        return (simulator, config)
    }

    public static func config(simulatorURL: String, storagePath: String) -> ExporterConfig {
        func tenant(_ name: String, _ mappings: [ExporterConfig.Mapping]) -> ExporterConfig.Tenant {
            var tenant = ExporterConfig.Tenant(name: name, clientID: clientID, clientSecret: Secret(clientSecret), mappings: mappings)
            tenant.apiURL = simulatorURL
            tenant.imsTokenURL = simulatorURL + "/ims/token/v3"
            return tenant
        }
        var config = ExporterConfig(tenants: [
            tenant("demo-mkt-prod1", [
                .init(id: "XDM44", name: "Profiles to AEP", triggerEvery: .seconds(3)),
                .init(id: "XDM45", name: "Subscriptions to AEP", triggerEvery: .seconds(3)),
            ]),
            tenant("demo-mkt-stage1", [.init(id: "XDM10", name: "Stage profiles", triggerEvery: .seconds(3))]),
        ])
        // One tenant on a call budget, so that its figures show (a trigger every 3 s and its polls need about it).
        config.tenants[1].maxCallsPerHour = 3600
        // The production tenant follows its failures' batches in the simulated Experience Platform.
        var platform = PlatformSettings()
        platform.orgID = Scenario.Tenant(name: "", mappings: []).orgID
        platform.url = simulatorURL
        platform.lookupInterval = .seconds(2)
        platform.lookupIntervalMax = .seconds(10)
        config.tenants[0].client.platform = platform
        config.collector.pollInterval = .seconds(1)
        config.collector.requestTimeout = .seconds(5)
        config.storage.path = storagePath
        return config
    }
}
