import Foundation
import IngestionModel
import IngestionStore
@testable import PostgresStore
import Synchronization
import Testing
import TestSupport

/// Cluster mode's database side (PostgreSQL only: SQLite has one writer per file):
/// replicas are two stores, each with its own pool, on one database; a lease's lapse
/// is awaited by the database's clock with a deadline, never slept for.
@Suite("Lease store (PostgreSQL)")
struct LeaseStoreTests {
    let key = MappingKey(tenant: "t1", mapping: "XDM44")
    let start = Date(timeIntervalSince1970: 1_700_000_000)

    // MARK: - Leases

    @Test func onlyOneReplicaTakesAFreeLeaseAndTheOtherTakesItOnceItLapses() async throws {
        try await withReplicas { a, b, _ in
            let first = try #require(try await a.acquireLease(tenant: "t1", replica: "a", ttl: .seconds(30)))
            #expect(first.tenant == "t1" && first.owner == "a" && first.epoch == 1)
            #expect(try await b.acquireLease(tenant: "t1", replica: "b", ttl: .seconds(30)) == nil)
            // The holder itself cannot take it a second time either.
            #expect(try await a.acquireLease(tenant: "t1", replica: "a", ttl: .seconds(30)) == nil)

            let renewed = try #require(try await a.renewLease(first, ttl: .seconds(30)))
            #expect(renewed.epoch == first.epoch && renewed.owner == "a" && renewed.expiresAt > first.expiresAt)
            // Another tenant's lease is another row.
            #expect(try await b.acquireLease(tenant: "t2", replica: "b", ttl: .seconds(30))?.epoch == 1)

            // The holder stops renewing (its last renewal a short one): the lease lapses, b takes it.
            let last = try #require(try await a.renewLease(renewed, ttl: .seconds(1)))
            let taken = try await eventuallyAcquired(b, "t1", replica: "b")
            #expect(taken.owner == "b" && taken.epoch == first.epoch + 1)
            let view = try await b.heartbeat(replica: "b", ttl: .seconds(30))
            #expect(last.expiresAt <= view.now)
            #expect(view.leases.map(\.tenant) == ["t1", "t2"] && view.leases.first == taken)
            // a's lease is gone for good: its renewals fail, its release changes nothing.
            #expect(try await a.renewLease(last, ttl: .seconds(30)) == nil)
            #expect(try await a.renewLease(first, ttl: .seconds(30)) == nil)
            try await a.releaseLease(last)
            #expect(try await b.renewLease(taken, ttl: .seconds(30))?.epoch == taken.epoch)

            // A release lets the other replica take it at once, with the next epoch.
            try await b.releaseLease(taken)
            #expect(try await b.renewLease(taken, ttl: .seconds(30)) == nil)
            let back = try #require(try await a.acquireLease(tenant: "t1", replica: "a", ttl: .seconds(30)))
            #expect(back.owner == "a" && back.epoch == taken.epoch + 1)
            #expect(try await b.acquireLease(tenant: "t1", replica: "b", ttl: .seconds(30)) == nil)
        }
    }

    @Test func aReplicaThatLeavesIsNoLongerLiveUntilItBeatsAgain() async throws {
        try await withReplicas { a, b, _ in
            _ = try await a.heartbeat(replica: "a", ttl: .seconds(30))
            #expect(try await b.heartbeat(replica: "b", ttl: .seconds(30)).liveReplicas == ["a", "b"])
            try await b.leave(replica: "b")
            #expect(try await a.heartbeat(replica: "a", ttl: .seconds(30)).liveReplicas == ["a"])
            #expect(try await b.heartbeat(replica: "b", ttl: .seconds(30)).liveReplicas == ["a", "b"])
        }
    }

    @Test func heartbeatsListTheLiveReplicasAndDropOneThatStops() async throws {
        try await withReplicas { a, b, _ in
            // Liveness is judged by the TTL of the call: 30 s while both beat, 1 s to see one stop.
            let alone = try await a.heartbeat(replica: "a", ttl: .seconds(30))
            #expect(alone.liveReplicas == ["a"] && alone.leases.isEmpty)
            // The database's clock: the two machines' clocks are one here.
            #expect(abs(alone.now.timeIntervalSinceNow) < 60)
            #expect(try await b.heartbeat(replica: "b", ttl: .seconds(30)).liveReplicas == ["a", "b"])
            let lease = try #require(try await b.acquireLease(tenant: "t1", replica: "b", ttl: .seconds(30)))
            let both = try await a.heartbeat(replica: "a", ttl: .seconds(30))
            #expect(both.liveReplicas == ["a", "b"] && both.leases == [lease] && both.now >= alone.now)

            // b stops: a keeps beating and sees b drop out once its heartbeat is older than the TTL.
            try await eventually("b to drop out of the live replicas") {
                try await a.heartbeat(replica: "a", ttl: .seconds(1)).liveReplicas == ["a"]
            }
            // Its lease outlives it (30 s): the view lists every lease, live or not.
            #expect(try await a.heartbeat(replica: "a", ttl: .seconds(1)).leases == [lease])
            // b comes back: live again.
            #expect(try await b.heartbeat(replica: "b", ttl: .seconds(30)).liveReplicas == ["a", "b"])
        }
    }

    // MARK: - Fencing

    @Test func fencedWritesLandWhileTheLeaseHoldsAndNoneOnceItMoved() async throws {
        try await withReplicas { a, b, fixture in
            let leaseA = try #require(try await a.acquireLease(tenant: "t1", replica: "a", ttl: .seconds(30)))
            let fenced = a.fenced(by: leaseA, margin: .seconds(1))
            #expect(fenced.location == a.location)

            // While a holds the lease, every kind of write lands.
            let intent = try await fenced.recordTriggerIntent(key, at: start)
            let plan = TriggerPlan(slot: start, dueAt: start.addingTimeInterval(3600))
            let first = try #require(try await fenced.recordTriggerAttempt(
                TriggerAttempt(key: key, at: start, result: .submitted, requestID: "1", plan: plan, intents: [intent])))
            let running = StatusReport(requestID: "1", status: .inProgress, numRecords: 3)
            guard case .stillRunning = try await fenced.recordObservation(first.request.rowID, report: running, at: start + 10) else {
                Issue.record("expected the request to still run")
                return
            }
            let second = try await fenced.track(key, requestID: "2", origin: .external, at: start)
            #expect(try await fenced.recordNotFound(second.request.rowID, at: start + 20).notFoundSince == start + 20)
            guard case .finished = try await fenced.abandon(second.request.rowID, reason: "gone", at: start + 30),
                  case .finished = try await fenced.recordObservation(
                      first.request.rowID, report: StatusReport(requestID: "1", status: .success, numRecords: 7), at: start + 40) else {
                Issue.record("expected both requests to end")
                return
            }
            var totals = try await a.totals()
            #expect(totals.requests(of: key) == [.success: 1, .abandoned: 1] && totals.recordsIngested(of: key) == 7)
            #expect(totals.triggers[key] == [.submitted: 1])
            #expect(try await a.pendingTriggerIntents().isEmpty)
            #expect(try await a.triggerPlans() == [key: plan])

            // A batch followed under the lease: its start and a lookup land.
            let followed = try await fenced.track(key, requestID: "7", origin: .external, at: start + 45).request.rowID
            let uploadFailed = StatusReport(requestID: "7", status: .failed, batchID: "B7", info: "ACP-880096 Sync Job failed to upload.")
            guard case .finished = try await fenced.recordObservation(followed, report: uploadFailed, at: start + 46, followBatch: true),
                  case .stillOpen = try await fenced.recordBatchLookup(BatchLookup(
                      requestRowID: followed, outcome: .answered(CatalogBatch(id: "B7", status: "processing")), at: start + 47,
                      next: start + 107)) else {
                Issue.record("expected the follow-up to start and stay open")
                return
            }

            // The lease goes to b (a releases it, b takes it: epoch 2).
            let third = try await fenced.track(key, requestID: "3", origin: .external, at: start + 50).request.rowID
            let fourth = try await fenced.track(key, requestID: "4", origin: .external, at: start + 50).request.rowID
            try await a.releaseLease(leaseA)
            let leaseB = try #require(try await b.acquireLease(tenant: "t1", replica: "b", ttl: .seconds(30)))
            #expect(leaseB.epoch == leaseA.epoch + 1)

            // Now each of a's fenced writes is refused, on one line naming the tenant, the replica
            // and the epoch, and writes nothing.
            let before = try await tablesDigest(fixture)
            let writes: [(String, @Sendable () async throws -> Void)] = [
                ("intent", { _ = try await fenced.recordTriggerIntent(key, at: start + 60) }),
                ("attempt", { _ = try await fenced.recordTriggerAttempt(
                    TriggerAttempt(key: key, at: start + 60, result: .submitted, requestID: "5", plan: plan, lostTriggers: 1)) }),
                ("observation", { _ = try await fenced.recordObservation(third, report: running, at: start + 60) }),
                ("ending observation", { _ = try await fenced.recordObservation(
                    third, report: StatusReport(requestID: "3", status: .failed), at: start + 60) }),
                ("404", { _ = try await fenced.recordNotFound(third, at: start + 60) }),
                ("abandon", { _ = try await fenced.abandon(fourth, reason: "gone", at: start + 60) }),
                ("ending observation that follows its batch", { _ = try await fenced.recordObservation(
                    third, report: StatusReport(requestID: "3", status: .failed, batchID: "B3"), at: start + 60, followBatch: true) }),
                ("batch lookup", { _ = try await fenced.recordBatchLookup(BatchLookup(
                    requestRowID: followed, outcome: .answered(CatalogBatch(id: "B7", status: "failed")), at: start + 60,
                    next: start + 60)) }),
            ]
            for (name, write) in writes {
                try await expectStoreError(from: write, else: "a fenced \(name) landed after the lease moved") { error in
                    #expect(error.kind == .fenced, "\(name): \(error)")
                    #expect(error.description.contains("lease of t1 held by a (epoch \(leaseA.epoch))"), "\(name): \(error)")
                    #expect(!error.description.contains("\n") && !error.description.contains(fixture.server!.password))
                    #expect(!error.isOutage)
                }
            }
            #expect(try await tablesDigest(fixture) == before)

            // Writes that are not fenced still work through the same store.
            #expect(try await fenced.untrack(key, "4", at: start + 70)?.untrackedAt == start + 70)
            #expect(try await fenced.track(key, requestID: "6", origin: .external, at: start + 70).request.requestID == "6")
            let other = MappingKey(tenant: "t1", mapping: "XDM45")
            #expect(try await fenced.registerMappings([other], at: start + 70) == [other: start + 70])

            // The new holder's fenced writes land.
            let fencedB = b.fenced(by: leaseB, margin: .seconds(1))
            guard case .finished = try await fencedB.recordObservation(
                third, report: StatusReport(requestID: "3", status: .success, numRecords: 2), at: start + 80) else {
                Issue.record("expected the new holder's observation to end the request")
                return
            }
            totals = try await b.totals()
            #expect(totals.requests(of: key) == [.success: 2, .abandoned: 1, .failed: 1] && totals.recordsIngested(of: key) == 9)
            #expect(try await b.openBatches(tenant: "t1").map(\.batchID) == ["B7"])
        }
    }

    @Test func aFencedWriteWithLessThanTheMarginLeftIsRefused() async throws {
        try await withReplicas { a, _, fixture in
            let lease = try #require(try await a.acquireLease(tenant: "t1", replica: "a", ttl: .seconds(30)))
            let row = try await a.track(key, requestID: "1", origin: .external, at: start).request.rowID
            let tight = a.fenced(by: lease, margin: .seconds(60))
            let before = try await tablesDigest(fixture)
            await expectFenced { _ = try await tight.recordTriggerIntent(key, at: start) }
            await expectFenced { _ = try await tight.recordObservation(
                row, report: StatusReport(requestID: "1", status: .inProgress, numRecords: 1), at: start + 1) }
            await expectFenced { _ = try await tight.recordNotFound(row, at: start + 1) }
            await expectFenced { _ = try await tight.abandon(row, reason: "gone", at: start + 1) }
            #expect(try await tablesDigest(fixture) == before)
            // With a margin the lease still has, the same writes land.
            let loose = a.fenced(by: lease, margin: .seconds(5))
            _ = try await loose.recordTriggerIntent(key, at: start)
            #expect(try await loose.recordNotFound(row, at: start + 1).notFoundSince == start + 1)
        }
    }

    @Test func aFencedStoreWritesOnlyAboutItsTenant() async throws {
        try await withReplicas { a, _, fixture in
            let lease = try #require(try await a.acquireLease(tenant: "t1", replica: "a", ttl: .seconds(30)))
            let otherKey = MappingKey(tenant: "t2", mapping: "XDM44")
            let otherRow = try await a.track(otherKey, requestID: "1", origin: .external, at: start).request.rowID
            let fenced = a.fenced(by: lease, margin: .seconds(1))
            let before = try await tablesDigest(fixture)
            await expectFenced { _ = try await fenced.recordTriggerIntent(otherKey, at: start) }
            await expectFenced { _ = try await fenced.recordTriggerAttempt(TriggerAttempt(key: otherKey, at: start, result: .submitted)) }
            // A row of another tenant is not one this lease knows.
            for write in [{ _ = try await fenced.recordNotFound(otherRow, at: start + 1) },
                          { _ = try await fenced.abandon(otherRow, reason: "gone", at: start + 1) },
                          { _ = try await fenced.recordObservation(
                              otherRow, report: StatusReport(requestID: "1", status: .success), at: start + 1) }]
                as [@Sendable () async throws -> Void] {
                try await expectStoreError(from: write, else: "a write about another tenant's request landed") { error in
                    #expect(error.kind == .failed && error.description.contains("row id \(otherRow) of tenant t1"))
                }
            }
            #expect(try await tablesDigest(fixture) == before)

            // An attempt of its tenant resolves that tenant's intents only.
            let otherIntent = try await a.recordTriggerIntent(otherKey, at: start + 2)
            let ownIntent = try await fenced.recordTriggerIntent(key, at: start + 2)
            _ = try await fenced.recordTriggerAttempt(
                TriggerAttempt(key: key, at: start + 3, result: .submitted, intents: [ownIntent, otherIntent]))
            #expect(try await a.pendingTriggerIntents().map(\.id) == [otherIntent])
        }
    }

    /// FOR SHARE: a takeover that comes while a fenced write's transaction is still open
    /// waits for it to commit. A psql session plays the fenced write: it runs the store's
    /// own fenced poll statement in a transaction it keeps open; the lease lapses meanwhile,
    /// b's takeover is seen waiting on the lease's row lock, and returns only after the
    /// COMMIT, whose write is kept.
    @Test func aTakeoverWaitsForAFencedTransactionStillOpen() async throws {
        try await withReplicas { a, b, fixture in
            let server = try #require(fixture.server)
            let row = try await a.track(key, requestID: "1", origin: .external, at: start).request.rowID
            let lease = try #require(try await a.acquireLease(tenant: "t1", replica: "a", ttl: .seconds(3)))

            let session = try PSQLSession(server: server, database: fixture.database, applicationName: "acs-fenced-write")
            defer { session.end() }
            let types = "bigint, float8, text, text, bigint, text, text, text, float8, text, text, bigint, timestamptz, float8"
            #expect(FencedRecordPoll.bindingDataTypes.count == 14)
            try session.send("PREPARE poll (\(types)) AS \(FencedRecordPoll.sql);")
            try session.send("""
                BEGIN; EXECUTE poll(\(row), \(start.timeIntervalSince1970 + 5), '\(IngestionStatus.inProgress.name)', NULL, 4, NULL, \
                'seen in the open transaction', NULL, NULL, 't1', 'a', \(lease.epoch), NULL, 0);
                """)
            try await eventually("the psql session to hold its transaction open") {
                try await server.psql("""
                    SELECT state FROM pg_stat_activity WHERE application_name = 'acs-fenced-write' AND query LIKE 'EXECUTE poll%'
                    """) == "idle in transaction"
            }
            // The lease lapses while the fenced transaction is open.
            try await eventually("the lease to lapse by the database's clock", timeout: .seconds(20)) {
                try await server.psql("SELECT expires_at <= clock_timestamp() FROM tenant_leases WHERE tenant = 't1'",
                                database: fixture.database) == "t"
            }
            let done = Flag()
            let takeover = Task {
                defer { done.set() }
                return try await b.acquireLease(tenant: "t1", replica: "b", ttl: .seconds(30))
            }
            try await eventually("b's takeover to wait on the lease's row lock") {
                try await server.psql("""
                    SELECT count(*) FROM pg_stat_activity WHERE datname = '\(fixture.database)' AND wait_event_type = 'Lock'
                        AND query LIKE 'INSERT INTO tenant_leases%'
                    """) == "1"
            }
            #expect(!done.isSet)
            // The fenced write's own rows are not visible yet; after the COMMIT they are, and b has the lease.
            #expect(try await a.observations(of: row).isEmpty)
            try session.send("COMMIT;")
            let taken = try #require(try await takeover.value)
            #expect(taken.owner == "b" && taken.epoch == lease.epoch + 1)
            #expect(try await a.observations(of: row).map(\.info) == ["seen in the open transaction"])
            // From then on, a's fenced writes are refused.
            await expectFenced { _ = try await a.fenced(by: lease, margin: .zero).recordObservation(
                row, report: StatusReport(requestID: "1", status: .inProgress, numRecords: 5), at: start + 10) }
        }
    }

    // MARK: - The trigger-now queue

    @Test func aQueuedTriggerIsTakenOnceByTheOwnerAndAnsweredToTheReplicaThatQueuedIt() async throws {
        try await withReplicas { a, b, fixture in
            let leaseB = try #require(try await b.acquireLease(tenant: "t1", replica: "b", ttl: .seconds(30)))
            let other = MappingKey(tenant: "t2", mapping: "XDM44")
            let first = try await a.enqueueTrigger(key, at: start)
            let elsewhere = try await a.enqueueTrigger(other, at: start + 0.5)
            let second = try await a.enqueueTrigger(MappingKey(tenant: "t1", mapping: "XDM45"), at: start + 1.25)
            #expect(first < elsewhere && elsewhere < second)

            // A replica without the lease takes nothing, and is told so.
            let stale = TenantLease(tenant: "t1", owner: "a", epoch: leaseB.epoch, expiresAt: leaseB.expiresAt)
            await expectFenced { _ = try await a.takeQueuedTriggers(by: stale) }
            await expectFenced { _ = try await a.takeQueuedTriggers(
                by: TenantLease(tenant: "t1", owner: "b", epoch: leaseB.epoch - 1, expiresAt: leaseB.expiresAt)) }

            // The owner takes the tenant's calls, oldest first, once.
            let taken = try await b.takeQueuedTriggers(by: leaseB)
            #expect(taken == [QueuedTrigger(id: first, key: key, requestedAt: start),
                              QueuedTrigger(id: second, key: MappingKey(tenant: "t1", mapping: "XDM45"), requestedAt: start + 1.25)])
            #expect(try await b.takeQueuedTriggers(by: leaseB).isEmpty)
            #expect(try await fixture.column("SELECT taken_by || ' ' || taken_epoch FROM trigger_queue WHERE id = \(first)")
                    == ["b \(leaseB.epoch)"])
            #expect(try await fixture.column("SELECT count(*) FROM trigger_queue WHERE taken_by IS NULL") == ["1"])

            // The answer reaches the replica that queued it, once there is one.
            #expect(try await a.queuedTriggerAnswer(first) == nil)
            let body = Array(#"{"requestId":"4242","status":"In Progress"}"#.utf8) + [0, 255]
            try await b.answerQueuedTrigger(first, status: 202, body: body)
            let answer = try #require(try await a.queuedTriggerAnswer(first))
            #expect(answer.status == 202 && answer.body == body)
            // The first answer stays.
            try await b.answerQueuedTrigger(first, status: 500, body: [])
            #expect(try await a.queuedTriggerAnswer(first)?.status == 202)
            #expect(try await a.queuedTriggerAnswer(second) == nil)
            do throws(StoreError) {
                try await b.answerQueuedTrigger(9_999, status: 200, body: [])
                Issue.record("answered a trigger never queued")
            } catch {
                #expect(error.kind == .failed && error.description.contains("9999"))
            }
        }
    }

    @Test func twoTakersNeverTakeTheSameCall() async throws {
        try await withReplicas { a, b, _ in
            let lease = try #require(try await a.acquireLease(tenant: "t1", replica: "a", ttl: .seconds(30)))
            var queued: [Int64] = []
            for index in 0..<40 { queued.append(try await b.enqueueTrigger(key, at: start + Double(index))) }
            // The same lease from both pools, taking at once, again and again until the queue is empty.
            async let fromA = takeAll(a, lease)
            async let fromB = takeAll(b, lease)
            let (takenA, takenB) = try await (fromA, fromB)
            #expect(Set(takenA).isDisjoint(with: takenB))
            #expect((takenA + takenB).sorted() == queued)
        }
    }

    // MARK: - Errors

    @Test func anUnreachableServerIsUnavailable() async throws {
        let refused = try BoundSocket()
        let configuration = try PostgresConfiguration(url: "postgres://acs@127.0.0.1:\(refused.port)/acs", password: "secret-pw",
                                                      poolSize: 1, connectTimeout: .milliseconds(500))
        let store = try PostgresIngestionStore(configuration: configuration, durationBounds: [])
        let pool = Task { await store.run() }
        defer { pool.cancel() }
        let lease = TenantLease(tenant: "t1", owner: "a", epoch: 1, expiresAt: start)
        let calls: [(String, @Sendable () async throws -> Void)] = [
            ("heartbeat", { _ = try await store.heartbeat(replica: "a", ttl: .seconds(15)) }),
            ("acquire", { _ = try await store.acquireLease(tenant: "t1", replica: "a", ttl: .seconds(15)) }),
            ("renew", { _ = try await store.renewLease(lease, ttl: .seconds(15)) }),
            ("release", { try await store.releaseLease(lease) }),
            ("fenced write", { _ = try await store.fenced(by: lease, margin: .zero).recordTriggerIntent(key, at: start) }),
            ("enqueue", { _ = try await store.enqueueTrigger(key, at: start) }),
            ("take", { _ = try await store.takeQueuedTriggers(by: lease) }),
            ("answer", { try await store.answerQueuedTrigger(1, status: 200, body: []) }),
            ("read answer", { _ = try await store.queuedTriggerAnswer(1) }),
        ]
        for (name, call) in calls {
            try await expectStoreError(from: call, else: "\(name) succeeded with no server") { error in
                #expect(error.kind == .unavailable, "\(name): \(error)")
                #expect(error.description.contains("127.0.0.1:\(refused.port)"), "\(name): \(error)")
                #expect(!error.description.contains("\n") && !error.description.contains("secret-pw"))
            }
        }
    }

    // MARK: - Helpers

    /// Two replicas: two stores, each with its own pool, on one new database.
    private func withReplicas(_ body: (PostgresIngestionStore, PostgresIngestionStore, StoreFixture) async throws -> Void)
        async throws {
        let fixture = try await StoreFixture(.postgres)
        let a = try await PostgresIngestionStore.connect(try fixture.postgresConfiguration, durationBounds: StoreFixture.durationBounds)
        let b: PostgresIngestionStore
        do {
            b = try await PostgresIngestionStore.connect(try fixture.postgresConfiguration, durationBounds: StoreFixture.durationBounds)
        } catch {
            await a.close()
            throw error
        }
        do {
            try await body(a, b, fixture)
        } catch {
            await a.close()
            await b.close()
            throw error
        }
        await a.close()
        await b.close()
    }

    /// Tries to take `tenant`'s lease until it lapsed and the take succeeds.
    private func eventuallyAcquired(_ store: PostgresIngestionStore, _ tenant: String, replica: String) async throws -> TenantLease {
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline {
            if let lease = try await store.acquireLease(tenant: tenant, replica: replica, ttl: .seconds(30)) { return lease }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw HarnessError("timed out waiting for the lease of \(tenant) to lapse")
    }

    /// Every queued call of the lease's tenant this store manages to take, taking until none is left.
    private func takeAll(_ store: PostgresIngestionStore, _ lease: TenantLease) async throws -> [Int64] {
        var taken: [Int64] = []
        while true {
            let batch = try await store.takeQueuedTriggers(by: lease)
            if batch.isEmpty { return taken }
            taken += batch.map(\.id)
        }
    }

    /// A checksum of every table a fenced write could touch: equal before and after, nothing was written.
    private func tablesDigest(_ fixture: StoreFixture) async throws -> [String] {
        var digest: [String] = []
        for table in ["requests", "observations", "trigger_intents", "trigger_plans", "outcome_totals", "duration_buckets",
                      "trigger_totals", "mapping_latest", "mappings", "pruned_requests", "aep_batches", "aep_totals"] {
            let rows = "SELECT count(*) || ' ' || md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), '')) FROM \(table) t"
            digest.append(table + " " + (try await fixture.column(rows).joined()))
        }
        return digest
    }

    /// Runs `call`, which must fail with a `StoreError`, for `check` to look at; one
    /// that returns is an issue, `landed`. Any other error is thrown on.
    private func expectStoreError(from call: () async throws -> Void, else landed: Comment,
                                  _ check: (StoreError) -> Void) async throws {
        do {
            try await call()
            Issue.record(landed)
        } catch let error as StoreError {
            check(error)
        }
    }

    private func expectFenced(_ write: () async throws -> Void,
                              sourceLocation: SourceLocation = #_sourceLocation) async {
        do {
            try await write()
            Issue.record("a write the fence should have refused landed", sourceLocation: sourceLocation)
        } catch let error as StoreError {
            #expect(error.kind == .fenced, "\(error)", sourceLocation: sourceLocation)
            #expect(!error.description.contains("\n"), sourceLocation: sourceLocation)
        } catch {
            Issue.record("expected a StoreError, got \(error)", sourceLocation: sourceLocation)
        }
    }
}

/// A psql session whose input the test writes statement by statement, so that it can
/// keep a transaction open while the test looks at the server from elsewhere.
private final class PSQLSession: @unchecked Sendable {
    // @unchecked: the process and the pipe are touched by the test's task only.
    private let process = Process()
    private let input = Pipe()

    init(server: PostgresServer, database: String, applicationName: String) throws {
        process.executableURL = URL(fileURLWithPath: PostgresServer.binDirectory + "/psql")
        process.arguments = ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", server.directory + "/sockets",
                             "-p", String(server.port), "-U", "postgres", "-d", database]
        process.environment = ProcessInfo.processInfo.environment.merging(["PGAPPNAME": applicationName]) { $1 }
        process.standardInput = input
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
    }

    func send(_ sql: String) throws {
        try input.fileHandleForWriting.write(contentsOf: Data((sql + "\n").utf8))
    }

    /// Ends the session (psql exits at the end of its input; an open transaction is rolled back).
    func end() {
        try? input.fileHandleForWriting.close()
        process.waitUntilExit()
    }
}

private final class Flag: Sendable {
    private let value = Atomic<Bool>(false)
    func set() { value.store(true, ordering: .releasing) }
    var isSet: Bool { value.load(ordering: .acquiring) }
}
