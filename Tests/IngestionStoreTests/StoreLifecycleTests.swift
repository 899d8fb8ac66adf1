import Foundation
import IngestionModel
import IngestionStore
import Testing

/// The scheduler's writes and a request's ends other than Adobe's (intents and
/// attempts, plans, 404s, giving up, untracking) and the health check's probe, run
/// against each implementation.
@Suite("Store lifecycle")
struct StoreLifecycleTests {
    let key = MappingKey(tenant: "t1", mapping: "XDM44")
    let other = MappingKey(tenant: "t2", mapping: "XDM45")
    let start = Date(timeIntervalSince1970: 1_700_000_000.25)

    func at(_ seconds: Double) -> Date { start.addingTimeInterval(seconds) }

    // MARK: Intents and attempts

    @Test(arguments: StoreDriver.allCases)
    func anAttemptSettlesItsIntentsCountsLostOnesAsUnknownAndTracksItsRequest(_ driver: StoreDriver) async throws {
        try await withStore(driver) { store, _ in
            let lost = try await store.recordTriggerIntent(key, at: at(10))
            let sent = try await store.recordTriggerIntent(key, at: at(70.5))
            let elsewhere = try await store.recordTriggerIntent(other, at: at(71))
            #expect(lost < sent && sent < elsewhere)
            #expect(try await store.pendingTriggerIntents() == [TriggerIntent(id: lost, key: key, at: at(10)),
                                                                 TriggerIntent(id: sent, key: key, at: at(70.5)),
                                                                 TriggerIntent(id: elsewhere, key: other, at: at(71))])

            let result = try await store.recordTriggerAttempt(TriggerAttempt(
                key: key, at: at(71.5), result: .submitted, requestID: "3520", intents: [sent, lost], lostTriggers: 1))
            guard case .inserted(let row)? = result else {
                Issue.record("expected the request to be inserted, got \(String(describing: result))")
                return
            }
            #expect(row.requestID == "3520" && row.origin == .triggered && row.firstSeen == at(71.5) && row.isOpen)
            #expect(try await store.pendingTriggerIntents().map(\.id) == [elsewhere])
            let totals = try await store.totals()
            #expect(totals.triggers[key] == [.submitted: 1, .unknown: 1])
            #expect(totals.triggers[other] == nil)
            #expect(totals.latest[key] == .init(lastTriggerAt: at(71.5)))
            #expect(totals.open == [row])

            // Adopting the request a second POST found in progress tracks nothing new; each lost POST counts once.
            let again = try await store.recordTriggerAttempt(TriggerAttempt(
                key: key, at: at(130), result: .alreadyInProgress, requestID: "3520", origin: .adopted, lostTriggers: 2))
            #expect(again == .alreadyTracked(row))
            #expect(try await store.totals().triggers[key] == [.submitted: 1, .unknown: 3, .alreadyInProgress: 1])
            #expect(try await store.openRequests().count == 1)
        }
    }

    @Test(arguments: StoreDriver.allCases)
    func anAttemptWithoutARequestIsCountedAndTracksNothing(_ driver: StoreDriver) async throws {
        try await withStore(driver) { store, _ in
            let intent = try await store.recordTriggerIntent(other, at: at(0))
            #expect(try await store.recordTriggerAttempt(TriggerAttempt(key: other, at: at(1), result: .notStopped,
                                                                        intents: [intent])) == nil)
            #expect(try await store.recordTriggerAttempt(TriggerAttempt(key: other, at: at(61), result: .notStopped)) == nil)
            #expect(try await store.recordTriggerAttempt(TriggerAttempt(key: other, at: at(121), result: .error)) == nil)
            let totals = try await store.totals()
            #expect(totals.triggers == [other: [.notStopped: 2, .error: 1]])
            #expect(totals.latest == [other: .init(lastTriggerAt: at(121))])
            #expect(totals.open.isEmpty)
            #expect(try await store.pendingTriggerIntents().isEmpty)
        }
    }

    @Test(arguments: StoreDriver.allCases)
    func plansRoundTripExactlyAndTheLastAttemptWithOneWins(_ driver: StoreDriver) async throws {
        try await withStore(driver) { store, _ in
            #expect(try await store.triggerPlans().isEmpty)
            let first = TriggerPlan(slot: at(3600), dueAt: at(3600 + 17.125))
            let failing = TriggerPlan(slot: at(3600), dueAt: at(3600 + 300.000_001), attempts: 2, failingSince: at(3601.75))
            _ = try await store.recordTriggerAttempt(TriggerAttempt(key: key, at: at(0), result: .submitted, requestID: "1", plan: first))
            _ = try await store.recordTriggerAttempt(TriggerAttempt(key: other, at: at(1), result: .error, plan: failing))
            #expect(try await store.triggerPlans() == [key: first, other: failing])

            // An unscheduled trigger (no plan) leaves the mapping's plan as it was.
            _ = try await store.recordTriggerAttempt(TriggerAttempt(key: key, at: at(2), result: .notStopped))
            #expect(try await store.triggerPlans() == [key: first, other: failing])

            // The next plan replaces the whole row, a failing streak's start included.
            let healthy = TriggerPlan(slot: at(7200), dueAt: at(7200 + 17.125))
            _ = try await store.recordTriggerAttempt(TriggerAttempt(key: other, at: at(3700), result: .submitted, requestID: "2",
                                                                    plan: healthy))
            #expect(try await store.triggerPlans() == [key: first, other: healthy])
        }
    }

    // MARK: 404s, giving up and untracking

    @Test(arguments: StoreDriver.allCases)
    func notFoundKeepsTheFirstTimeAndAnyOtherAnswerClearsIt(_ driver: StoreDriver) async throws {
        try await withStore(driver) { store, _ in
            let row = try await store.track(key, requestID: "404", origin: .external, at: at(0)).request.rowID
            let first = try await store.recordNotFound(row, at: at(30.5))
            #expect(first.notFoundSince == at(30.5) && first.lastPolled == at(30.5) && first.isOpen)
            let second = try await store.recordNotFound(row, at: at(61))
            #expect(second.notFoundSince == at(30.5) && second.lastPolled == at(61))
            #expect(try await store.request(key, "404") == second)
            #expect(try await store.openRequests() == [second])
            // Nothing is observed nor counted for a 404.
            #expect(try await store.observations(of: row).isEmpty)
            #expect(try await store.totals().outcomes.isEmpty)

            _ = try await store.recordObservation(row, report: StatusReport(requestID: "404", status: .inProgress), at: at(91))
            #expect(try await store.request(key, "404")?.notFoundSince == nil)
            #expect(try await store.recordNotFound(row, at: at(121)).notFoundSince == at(121))

            do throws(StoreError) {
                _ = try await store.recordNotFound(row + 1000, at: at(150))
                Issue.record("a 404 was recorded for a row that does not exist")
            } catch {
                #expect(error.kind == .failed && error.description.contains("\(row + 1000)"))
            }
        }
    }

    @Test(arguments: StoreDriver.allCases)
    func anAbandonedRequestIsCountedOnceAndIsNotAFailure(_ driver: StoreDriver) async throws {
        try await withStore(driver) { store, _ in
            let failed = try await store.track(key, requestID: "1", origin: .triggered, at: at(0)).request.rowID
            let done = StatusReport(requestID: "1", status: .failed, info: "Mapping Id: XDM44. ACP-880096 Sync Job failed")
            _ = try await store.recordObservation(failed, report: done, at: at(45))
            let stuck = try await store.track(key, requestID: "2", origin: .triggered, at: at(100)).request.rowID
            _ = try await store.recordObservation(stuck, report: StatusReport(requestID: "2", status: .inProgress, numRecords: 4,
                                                                             batchID: "B2", info: "ACP-880056 half"), at: at(130))
            _ = try await store.recordNotFound(stuck, at: at(160))

            guard case .finished(let ended) = try await store.abandon(stuck, reason: "not found for 1 h", at: at(190.5)) else {
                Issue.record("expected the abandoned request to finish")
                return
            }
            #expect(ended.status == .abandoned && ended.info == "not found for 1 h" && ended.acpCode == nil)
            #expect(ended.finishedAt == at(190.5) && ended.duration == 90.5 && ended.numRecords == 4 && ended.batchID == "B2")
            #expect(try await store.request(key, "2") == ended)
            #expect(try await store.observations(of: stuck).last == Observation(observedAt: at(190.5), status: .abandoned,
                                                                                 numRecords: 4, batchID: "B2", info: "not found for 1 h"))
            // Once: a second decision, or a late answer from Adobe, changes and counts nothing.
            #expect(try await store.abandon(stuck, reason: "again", at: at(250)) == .alreadyFinished(ended))
            let late = StatusReport(requestID: "2", status: .success, numRecords: 9)
            #expect(try await store.recordObservation(stuck, report: late, at: at(260)) == .alreadyFinished(ended))
            guard case .alreadyFinished = try await store.abandon(failed, reason: "too late", at: at(270)) else {
                Issue.record("abandoning an ended request changed it")
                return
            }

            let totals = try await store.totals()
            #expect(totals.outcomes == [
                .init(key: key, status: .abandoned, acpCode: "none", requests: 1, records: 0, durationSum: 90.5),
                .init(key: key, status: .failed, acpCode: "ACP-880096", requests: 1, records: 0, durationSum: 45),
            ])
            #expect(totals.buckets == [.init(key: key, status: .abandoned, upperBound: 120, count: 1),
                                       .init(key: key, status: .failed, upperBound: 60, count: 1)])
            // The last failure is Adobe's, not the exporter's giving up.
            #expect(totals.latest[key] == .init(lastFailureAt: at(45)))
            #expect(totals.failuresByACPCode(of: key) == ["ACP-880096": 1])
            #expect(totals.open.isEmpty)
            #expect(try await store.report(period: .month, from: nil, to: nil).first?.requests == [.failed: 1, .abandoned: 1])
            #expect(try await store.report(period: .month, from: nil, to: nil).first?.failuresByACPCode == ["ACP-880096": 1])

            // A mapping whose only end was given up on has no latest event at all.
            let alone = try await store.track(other, requestID: "3", origin: .external, at: at(0)).request.rowID
            _ = try await store.abandon(alone, reason: "in progress too long", at: at(7200))
            #expect(try await store.totals().latest[other] == nil)
            #expect(try await store.totals().requests(of: other) == [.abandoned: 1])
        }
    }

    @Test(arguments: StoreDriver.allCases)
    func untrackingLeavesTheHistoryAndTheOpenRequestsAndCountsNothing(_ driver: StoreDriver) async throws {
        try await withStore(driver) { store, _ in
            let mistaken = try await store.track(key, requestID: "typo", origin: .external, at: at(0)).request.rowID
            _ = try await store.recordObservation(mistaken, report: StatusReport(requestID: "typo", status: .inProgress, numRecords: 2),
                                                  at: at(30))
            let kept = try await store.track(key, requestID: "real", origin: .external, at: at(5)).request

            guard let untracked = try await store.untrack(key, "typo", at: at(60.5)) else {
                Issue.record("untracking a tracked request returned nil")
                return
            }
            #expect(untracked.rowID == mistaken && untracked.untrackedAt == at(60.5) && untracked.finishedAt == nil)
            #expect(!untracked.isOpen)
            #expect(try await store.openRequests() == [kept])
            #expect(try await store.openRequests(tenant: "t1") == [kept])
            #expect(try await store.totals().open == [kept])
            // Its history stays: the row, its observation, the history page.
            #expect(try await store.request(key, "typo") == untracked)
            #expect(try await store.observations(of: mistaken).map(\.numRecords) == [2])
            #expect(try await store.history(HistoryQuery()).map(\.requestID) == ["real", "typo"])

            // No longer followed: a poll's answer, a 404 streak's end or a second untrack change nothing.
            let late = StatusReport(requestID: "typo", status: .success, numRecords: 5)
            #expect(try await store.recordObservation(mistaken, report: late, at: at(90)) == .alreadyFinished(untracked))
            #expect(try await store.abandon(mistaken, reason: "gone", at: at(95)) == .alreadyFinished(untracked))
            #expect(try await store.untrack(key, "typo", at: at(120)) == untracked)
            #expect(try await store.totals().outcomes.isEmpty)
            #expect(try await store.observations(of: mistaken).count == 1)

            // Nil for a request never tracked; an ended one is returned as it is.
            #expect(try await store.untrack(key, "never", at: at(130)) == nil)
            #expect(try await store.untrack(other, "real", at: at(130)) == nil)
            _ = try await store.recordObservation(kept.rowID, report: StatusReport(requestID: "real", status: .success, numRecords: 1),
                                                  at: at(140))
            #expect(try await store.untrack(key, "real", at: at(150))?.untrackedAt == nil)
            #expect(try await store.totals().requests(of: key) == [.success: 1])
        }
    }

    // MARK: The health check

    @Test(arguments: StoreDriver.allCases)
    func aProbeWritesItsOneRowAndSaysTheSize(_ driver: StoreDriver) async throws {
        try await withStore(driver) { store, fixture in
            let read = try await store.probe(write: false, at: at(0))
            #expect((read.sizeBytes ?? 0) > 0)
            #expect(try await fixture.column("SELECT count(*) FROM store_probe") == ["0"])
            for seconds in [10.5, 20.25] {
                let written = try await store.probe(write: true, at: at(seconds))
                #expect((written.sizeBytes ?? 0) > 0)
                #expect(try await fixture.column("SELECT count(*) FROM store_probe") == ["1"])
                #expect(try await fixture.column("SELECT at FROM store_probe").compactMap(Double.init) == [at(seconds).timeIntervalSince1970])
            }
        }
    }
}
