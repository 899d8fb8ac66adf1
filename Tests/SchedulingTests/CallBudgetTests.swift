import Foundation
import IngestionModel
import Scheduling
import Testing

private let start = instant("2026-01-10T00:00Z")

private func budget(_ callsPerHour: Int) -> CallBudget {
    CallBudget(callsPerHour: callsPerHour)!
}

@Suite("Call budget")
struct CallBudgetTests {
    static let sizes: [(callsPerHour: Int, burst: Int?, refillsPerHour: Int?)] = [
        (-5, nil, nil), (0, nil, nil), (9, nil, nil),
        (10, 2, 8), (60, 2, 58), (179, 2, 177), (180, 3, 177), (600, 10, 590), (3600, 10, 3590), (100_000, 10, 99_990),
    ]

    @Test("a minute's share of the budget as burst, 2 to 10; the rest refills over the hour", arguments: sizes)
    func size(callsPerHour: Int, burst: Int?, refillsPerHour: Int?) {
        let made = CallBudget(callsPerHour: callsPerHour)
        #expect(made?.burst == burst)
        #expect(made?.spacing == refillsPerHour.map { .seconds(3600) / $0 })
    }

    @Test func fullAtStartTheBurstGoesBackToBackAndPollsLeaveOneCall() {
        var budget = budget(600)
        for _ in 0..<9 {
            #expect(budget.allowsCall(.poll, at: start))
            budget.recordCall(at: start)
        }
        #expect(!budget.allowsCall(.poll, at: start), "the tenth call is kept for a trigger")
        #expect(budget.earliestCall(.poll, from: start) == start + budget.spacing)
        for kind in [CallKind.trigger, .token, .other] { #expect(budget.allowsCall(kind, at: start)) }
        budget.recordCall(at: start)
        #expect(budget.earliestCall(.trigger, from: start) == start + budget.spacing)
        #expect(budget.earliestCall(.poll, from: start) == start + budget.spacing * 2)
        #expect(abs(budget.availableCalls(at: start)) < 1e-9)
    }

    @Test func earliestCallIsNowWhenTheCallMayGo() {
        var budget = budget(60)
        budget.recordCall(at: start)
        let later = start + .seconds(7)
        #expect(budget.earliestCall(.trigger, from: later) == later)
        #expect(budget.allowsCall(.trigger, at: later))
        #expect(budget.earliestCall(.poll, from: later) == start + budget.spacing)
        #expect(!budget.allowsCall(.poll, at: later))
    }

    @Test func aQuietSpellRefillsTheBucket() {
        var budget = budget(600)
        for _ in 0..<10 { budget.recordCall(at: start) }
        #expect(abs(budget.availableCalls(at: start + budget.spacing * 4) - 4) < 1e-6)
        #expect(budget.availableCalls(at: start + .seconds(3600)) == 10)
        #expect(budget.allowsCall(.poll, at: start + budget.spacing * 10))
    }

    @Test func callsMadeWithoutAskingAreRepaidByTheCallsAfterThem() {
        var budget = budget(600)
        for _ in 0..<20 { budget.recordCall(at: start) }
        #expect(abs(budget.availableCalls(at: start) + 10) < 1e-9)
        #expect(budget.earliestCall(.trigger, from: start) == start + budget.spacing * 11)
    }

    @Test func aTriggerFindsACallWaitingHoweverHardPollsPress() {
        // Polls take every call the budget lets them, for two hours; a trigger arrives
        // every 7 min 13 s and is never held back.
        var budget = budget(600)
        var now = start
        var nextTrigger = start + .seconds(433)
        var triggers = 0
        while now < start + .seconds(7200) {
            let poll = budget.earliestCall(.poll, from: now)
            if nextTrigger <= poll {
                #expect(budget.allowsCall(.trigger, at: nextTrigger))
                budget.recordCall(at: nextTrigger)
                (now, nextTrigger, triggers) = (nextTrigger, nextTrigger + .seconds(433), triggers + 1)
            } else {
                budget.recordCall(at: poll)
                now = poll
            }
        }
        #expect(triggers == 16)
    }

    @Test func theSmallestBudgetSpacesCallsSevenAndAHalfMinutesApart() {
        var budget = budget(CallBudget.minimumCallsPerHour)
        budget.recordCall(at: start)
        budget.recordCall(at: start)
        #expect(budget.spacing == .seconds(450))
        #expect(!budget.allowsCall(.trigger, at: start))
        #expect(budget.earliestCall(.trigger, from: start) == start + .seconds(450))
        #expect(budget.earliestCall(.poll, from: start) == start + .seconds(900))
    }
}

@Suite("Fair polls")
struct FairPollTests {
    static let orders: [(rule: String, candidates: [Candidate], order: String)] = [
        ("the longest unpolled first", [Candidate("a", started: "10:00", polled: "10:20"),
                                        Candidate("b", started: "09:00", polled: "10:10"),
                                        Candidate("c", started: "08:00", polled: "10:15")], "bca"),
        ("a request never polled counts from its start", [Candidate("a", started: "10:00", polled: "10:20"),
                                                          Candidate("b", started: "10:05", polled: nil),
                                                          Candidate("c", started: "09:00", polled: "10:10")], "bca"),
        ("a new request waits behind those unpolled since before it started",
         [Candidate("new", started: "10:30", polled: nil), Candidate("old", started: "08:00", polled: "10:29")], "oldnew"),
        ("ties: the earlier start, then the earlier candidate", [Candidate("a", started: "10:00", polled: "10:20"),
                                                                 Candidate("b", started: "09:00", polled: "10:20"),
                                                                 Candidate("c", started: "09:00", polled: "10:20")], "bca"),
        ("none", [], ""),
    ]

    struct Candidate: Sendable {
        let name: String
        let startedAt: Date
        let lastPolledAt: Date?

        init(_ name: String, started: String, polled: String?) {
            self.name = name
            startedAt = instant("2026-01-10T\(started)Z")
            lastPolledAt = polled.map { instant("2026-01-10T\($0)Z") }
        }
    }

    @Test("the order polls are shared in", arguments: orders)
    func order(rule: String, candidates: [Candidate], order: String) {
        let sorted = CallBudget.inFairPollOrder(candidates, startedAt: \.startedAt, lastPolledAt: \.lastPolledAt)
        #expect(sorted.map(\.name).joined() == order, "\(rule)")
        let first = CallBudget.longestUnpolled(among: candidates, startedAt: \.startedAt, lastPolledAt: \.lastPolledAt)
        #expect(first?.name == sorted.first?.name)
    }
}

@Suite("A tenant under its call budget")
struct TenantBudgetTests {
    /// A day of bursty demand: 20 hourly mappings all due at the top of the hour (runs of
    /// 1 min to 3 h), 20 mappings every 15 min (runs of 1 to 20 min), a token every 8 h, and
    /// bursts of 40 other calls at 09:00 and 17:30.
    static func burstyDay(callsPerHour: Int) -> TenantSimulation {
        var random = SeededRandom(seed: UInt64(callsPerHour))
        var tenant = TenantSimulation(budget: budget(callsPerHour), start: start)
        for hour in 0..<24 {
            for _ in 0..<20 {
                let runFor = Duration.seconds(60 * pow(180, random.unit()))
                tenant.waiting.append(.init(kind: .trigger, dueAt: start + .seconds(hour * 3600) + .seconds(random.unit() * 60), runFor: runFor))
            }
            for quarter in 0..<4 {
                for _ in 0..<20 {
                    let runFor = Duration.seconds(60 + random.unit() * 1140)
                    tenant.waiting.append(.init(kind: .trigger, dueAt: start + .seconds(hour * 3600 + quarter * 900), runFor: runFor))
                }
            }
        }
        for hour in [0, 8, 16] { tenant.waiting.append(.init(kind: .token, dueAt: start + .seconds(hour * 3600))) }
        for at in ["09:00", "17:30"] {
            for _ in 0..<40 { tenant.waiting.append(.init(kind: .other, dueAt: instant("2026-01-10T\(at)Z"))) }
        }
        tenant.run(until: start + .seconds(86_400))
        return tenant
    }

    @Test("no hour window holds more calls than the budget", arguments: [10, 60, 600, 3600])
    func noHourWindowExceedsTheBudget(callsPerHour: Int) {
        let tenant = Self.burstyDay(callsPerHour: callsPerHour)
        let instants = tenant.calls.map(\.at)
        #expect(mostCalls(in: instants, anyWindowOf: .seconds(3600)) <= callsPerHour)
        if callsPerHour <= 600 {
            // The demand outruns the budget all day, and gets nearly all of its sustained rate.
            #expect(tenant.calls.count >= (callsPerHour - tenant.budget.burst) * 24 * 99 / 100, "\(tenant.calls.count) calls")
        }
    }

    @Test("no poll goes while a trigger, token or other call waits", arguments: [60, 600])
    func triggersFirst(callsPerHour: Int) {
        let tenant = Self.burstyDay(callsPerHour: callsPerHour)
        let polls = tenant.calls.filter { $0.kind == .poll }.map(\.at)
        var held = 0
        for call in tenant.calls where call.kind != .poll && call.at > call.dueAt {
            held += 1
            let firstPollFromDue = polls.partitioningIndex { $0 >= call.dueAt }
            #expect(firstPollFromDue == polls.endIndex || polls[firstPollFromDue] >= call.at,
                    "a poll went at \(polls[firstPollFromDue]) while a \(call.kind) waited from \(call.dueAt) to \(call.at)")
        }
        #expect(held > 0, "the budget held some triggers back, so the rule was put to the test")
    }

    /// 100 requests open together, or one every 3 s, polled for 6 h under 600 calls an hour:
    /// round robin, each polled again within 101 spacings (about 10 min) of its last poll.
    @Test("a hundred open requests share 600 calls an hour and none starves", arguments: [0, 3])
    func noStarvation(secondsBetweenStarts: Int) {
        var tenant = TenantSimulation(budget: budget(600), start: start)
        for index in 0..<100 {
            tenant.openRequest(startedAt: start + .seconds(index * secondsBetweenStarts), endsAt: start + .seconds(7 * 86_400))
        }
        let end = start + .seconds(6 * 3600)
        tenant.run(until: end)
        let spacing = tenant.budget.spacing
        let byRequest = Dictionary(grouping: tenant.calls, by: { $0.requestID! })
        #expect(byRequest.count == 100)
        for (id, calls) in byRequest {
            let instants = [start + .seconds((id - 1) * secondsBetweenStarts)] + calls.map(\.at) + [end]
            let longestGap = zip(instants, instants.dropFirst()).map { $1.timeIntervalSince($0) }.max()!
            #expect(longestGap <= (spacing * 101).seconds, "request \(id) waited \(Duration.seconds(longestGap).roundedText)")
        }
        if secondsBetweenStarts == 0 {
            let counts = byRequest.values.map(\.count)
            // The first polls, due together at the start, go in a burst: those requests are one poll ahead.
            #expect(counts.max()! - counts.min()! <= 2, "each request's share of the polls: \(counts.min()!)...\(counts.max()!)")
        }
        #expect(mostCalls(in: tenant.calls.map(\.at), anyWindowOf: .seconds(3600)) <= 600)
    }

    @Test func belowTheBudgetEveryPollGoesWhenTheScheduleSays() {
        var tenant = TenantSimulation(budget: budget(3600), start: start)
        for (index, minutes) in [2, 17, 60, 95, 240].enumerated() {
            let startedAt = start + .seconds(index * 11)
            tenant.openRequest(startedAt: startedAt, endsAt: startedAt + .seconds(minutes * 60))
        }
        tenant.run(until: start + .seconds(5 * 3600))
        #expect(tenant.seen.count == 5)
        #expect(tenant.calls.allSatisfy { $0.at == $0.dueAt })
    }
}

extension Array {
    /// The first index whose element satisfies `belongsInSecondPart`, for an array already
    /// partitioned by it (a sorted array and a threshold): a binary search.
    func partitioningIndex(where belongsInSecondPart: (Element) -> Bool) -> Int {
        var (low, high) = (startIndex, endIndex)
        while low < high {
            let middle = (low + high) / 2
            if belongsInSecondPart(self[middle]) { high = middle } else { low = middle + 1 }
        }
        return low
    }
}
