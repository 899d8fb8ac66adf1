import AdobeIngestionClient
import AdobeSimulator
import Cluster
import ExporterConfiguration
import ExporterCore
import Foundation
import IngestionModel
import IngestionStore
import TestSupport
import Testing

/// The cluster scenario on a test clock: three replicas in one process share one
/// PostgreSQL database and one injected clock, and the test steps their coordinators.
/// The leases lapse on the test's time (the database's clock is moved with it), so a
/// takeover after the lease TTL costs no real waiting. `ClusterProcessTests` runs the
/// same split and failover with the binary in real time.
@Suite("Cluster on a test clock")
struct ClusterClockTests {
    static let tenants = (1...6).map { "t\($0)" }
    static let ttl = Duration.seconds(15)

    /// The simulator, the replicas' configuration (on PostgreSQL: no folder) and the one clock.
    struct Setup: AsyncStoppable {
        let simulator: AdobeSimulator
        let config: ExporterConfig
        let time = ManualTimeSource()
        let replicas = Registry<ExporterDaemon>()

        init(postgres server: PostgresServer, database: String) throws {
            var scenario = Scenario(tenants: ClusterClockTests.tenants.map { name in
                var mapping = Scenario.Mapping(id: "XDM44")
                mapping.duration = .seconds(5) ... .seconds(5)
                return Scenario.Tenant(name: name, mappings: [mapping])
            })
            scenario.credentials = [.init(clientID: "cluster-client", clientSecret: "cluster-secret")]
            let simulator = try AdobeSimulator(scenario: scenario, time: time)
            self.simulator = simulator
            var config = ExporterConfig(tenants: ClusterClockTests.tenants.map { name in
                var tenant = ExporterConfig.Tenant(name: name, clientID: "cluster-client", clientSecret: Secret("cluster-secret"),
                                                   mappings: [.init(id: "XDM44", name: "Profiles", triggerEvery: .seconds(3600))])
                tenant.apiURL = simulator.baseURL
                tenant.imsTokenURL = simulator.tokenURL
                return tenant
            })
            config.collector.triggerJitter = .zero
            config.storage.driver = .postgres
            config.storage.url = server.url(database: database)
            config.storage.password = Secret(server.password)
            config.cluster.enabled = true
            config.cluster.leaseTTL = ClusterClockTests.ttl
            self.config = config
        }

        /// A replica named `name`, serving, on the shared clock.
        func replica(_ name: String) async throws -> (ExporterDaemon, ClusterCoordinator) {
            var config = config
            config.cluster.replicaName = name
            let daemon = try await ExporterDaemon.serving(config: config, options: .init(listenAddress: .init(host: "127.0.0.1", port: 0)),
                                                          logger: silentLogger, time: time)
            replicas.add(daemon)
            return (daemon, try #require(daemon.coordinator))
        }

        func stop() async {
            for daemon in replicas.all { await daemon.stop() }
            await simulator.stop()
        }

        /// Every mapping of the tenants `daemon` runs, through one cycle each.
        func cycleOwned(_ daemon: ExporterDaemon, _ coordinator: ClusterCoordinator) async {
            for tenant in coordinator.owned.sorted() { await daemon.collector.cycle(tenant: tenant) }
        }

        var posts: Int { ClusterClockTests.tenants.map { simulator.posts(tenant: $0, mapping: "XDM44").count }.reduce(0, +) }
    }

    @Test func replicasSplitTheTenantsAndTakeOverALapsedOwnersOnTheTestClock() async throws {
        let server = try await PostgresServer.shared()
        let database = try await server.createDatabase()
        try await stopping(try Setup(postgres: server, database: database)) { setup throws in
            let started = ContinuousClock.now
            let (a, coordinatorA) = try await setup.replica("a")
            let (b, coordinatorB) = try await setup.replica("b")
            let (c, coordinatorC) = try await setup.replica("c")

            // Alone, the first replica takes every tenant.
            await coordinatorA.step()
            #expect(coordinatorA.owned == Set(Self.tenants))

            // Three live replicas: two tenants each. The first hands four over (its workers end
            // their cycle, then the leases are released) and the others take them as they come free.
            await coordinatorB.step()
            await coordinatorC.step()
            await coordinatorA.step()
            #expect(coordinatorA.owned.count == 2)
            try await eventually("the four tenants handed over are taken") {
                await coordinatorB.step()
                await coordinatorC.step()
                return coordinatorB.owned.count == 2 && coordinatorC.owned.count == 2
            }
            #expect(coordinatorA.owned.union(coordinatorB.owned).union(coordinatorC.owned) == Set(Self.tenants))

            // Each owner triggers its tenants: one POST each, none twice.
            for (daemon, coordinator) in [(a, coordinatorA), (b, coordinatorB), (c, coordinatorC)] {
                await setup.cycleOwned(daemon, coordinator)
            }
            #expect(setup.posts == Self.tenants.count)

            // The first replica stops as a kill -9 would leave it: no release, no leave. The others
            // keep stepping every third of the TTL on the test clock; its leases lapse after the TTL.
            let lost = coordinatorA.owned
            await a.stop()
            var steps = 0
            while !(coordinatorB.owned.union(coordinatorC.owned) == Set(Self.tenants)) && steps < 6 {
                _ = setup.time.advance(by: Self.ttl / 3)
                await coordinatorB.step()
                await coordinatorC.step()
                steps += 1
            }
            #expect(coordinatorB.owned.union(coordinatorC.owned) == Set(Self.tenants), "after \(steps) steps of 5 s")
            // Not before the TTL passed, and at the step that reaches it (three steps of a third of it):
            // a lease whose expiry has come is lapsed.
            #expect(steps == 3, "taken over after \(steps) steps of 5 s")
            #expect(coordinatorB.owned.count == 3 && coordinatorC.owned.count == 3)

            // The new owners adopt the running requests: polled to their end, no second POST.
            _ = setup.time.advance(by: .seconds(1))
            for (daemon, coordinator) in [(b, coordinatorB), (c, coordinatorC)] {
                await setup.cycleOwned(daemon, coordinator)
            }
            #expect(setup.posts == Self.tenants.count)
            for tenant in lost {
                let owner = coordinatorB.owned.contains(tenant) ? b : c
                let latest = try await owner.collector.store.latestRequests()[MappingKey(tenant: tenant, mapping: "XDM44")]
                #expect(latest?.status == .success, "\(tenant): \(String(describing: latest))")
            }
            // Twenty seconds of cluster time, and a failover, in a few seconds of real time.
            #expect(ContinuousClock.now - started < .seconds(30), "took \(ContinuousClock.now - started)")
        }
    }
}
