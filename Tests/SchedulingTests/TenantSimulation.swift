import Foundation
import IngestionModel
import Scheduling

/// One tenant's worker as the collector is meant to run it, on an injected clock: triggers,
/// token requests and other calls go first, in the order they fell due; then the due poll
/// of the request unpolled longest; each call only when the budget allows it, the worker
/// sleeping until the budget, a trigger or a poll is due. A trigger starts a request that
/// ends `runFor` later.
struct TenantSimulation {
    struct PriorityCall {
        var kind: CallKind
        var dueAt: Date
        /// For a trigger: how long the request it starts runs.
        var runFor: Duration? = nil
    }

    struct OpenRequest {
        let id: Int
        let startedAt: Date
        let endsAt: Date
        var lastPolledAt: Date?
        var window: ExpectedEnd?
        /// The schedule's next poll, kept current as the request is polled.
        var dueAt: Date
    }

    struct Call {
        let kind: CallKind
        let at: Date
        /// When it fell due: a trigger's, token's or other call's due time, a poll's schedule.
        let dueAt: Date
        let requestID: Int?
    }

    var budget: CallBudget
    let schedule: PollSchedule
    var now: Date
    /// Triggers, token requests and other calls, made in the order they fall due.
    var waiting: [PriorityCall] = []
    var open: [OpenRequest] = []
    private(set) var calls: [Call] = []
    /// Requests whose end a poll saw: when it ended and when it was seen.
    private(set) var seen: [(id: Int, endedAt: Date, seenAt: Date)] = []
    private var nextID = 0

    init(budget: CallBudget, schedule: PollSchedule = PollSchedule(), start: Date) {
        (self.budget, self.schedule, self.now) = (budget, schedule, start)
    }

    /// Adds a request that started at `startedAt` and ends at `endsAt`; returns its id.
    @discardableResult
    mutating func openRequest(startedAt: Date, endsAt: Date, window: ExpectedEnd? = nil) -> Int {
        nextID += 1
        let dueAt = schedule.nextPoll(startedAt: startedAt, lastPolledAt: nil, expecting: window)
        open.append(OpenRequest(id: nextID, startedAt: startedAt, endsAt: endsAt, window: window, dueAt: dueAt))
        return nextID
    }

    /// Runs the worker until `end`.
    mutating func run(until end: Date) {
        waiting = waiting.enumerated().sorted { ($0.element.dueAt, $0.offset) < ($1.element.dueAt, $1.offset) }.map(\.element)
        var nextWaiting = waiting.startIndex
        while now < end {
            var wake = Date.distantFuture
            if nextWaiting < waiting.endIndex, waiting[nextWaiting].dueAt <= now {
                let call = waiting[nextWaiting]
                let allowedAt = budget.earliestCall(call.kind, from: now)
                if allowedAt <= now {
                    make(call)
                    nextWaiting += 1
                    continue
                }
                wake = allowedAt
            } else if let request = CallBudget.longestUnpolled(among: open.filter { $0.dueAt <= now },
                                                               startedAt: \.startedAt, lastPolledAt: \.lastPolledAt) {
                let allowedAt = budget.earliestCall(.poll, from: now)
                if allowedAt <= now {
                    poll(request)
                    continue
                }
                wake = allowedAt
            }
            if nextWaiting < waiting.endIndex, waiting[nextWaiting].dueAt > now { wake = min(wake, waiting[nextWaiting].dueAt) }
            for request in open where request.dueAt > now { wake = min(wake, request.dueAt) }
            now = min(max(wake, now), end)
        }
        waiting.removeFirst(nextWaiting)
    }

    private mutating func make(_ call: PriorityCall) {
        budget.recordCall(at: now)
        calls.append(Call(kind: call.kind, at: now, dueAt: call.dueAt, requestID: nil))
        if call.kind == .trigger, let runFor = call.runFor { openRequest(startedAt: now, endsAt: now + runFor) }
    }

    private mutating func poll(_ request: OpenRequest) {
        budget.recordCall(at: now)
        calls.append(Call(kind: .poll, at: now, dueAt: request.dueAt, requestID: request.id))
        let index = open.firstIndex { $0.id == request.id }!
        if now >= request.endsAt {
            seen.append((request.id, request.endsAt, now))
            open.remove(at: index)
        } else {
            open[index].lastPolledAt = now
            open[index].dueAt = schedule.nextPoll(startedAt: request.startedAt, lastPolledAt: now, expecting: request.window)
        }
    }
}

/// The most calls among `instants` (sorted) in any window of `length`, counting both of
/// its ends: windows starting at a call are the fullest.
func mostCalls(in instants: [Date], anyWindowOf length: Duration) -> Int {
    var most = 0
    var last = 0
    for first in instants.indices {
        last = max(last, first)
        while last + 1 < instants.count, instants[last + 1].timeIntervalSince(instants[first]) <= length.seconds {
            last += 1
        }
        most = max(most, last - first + 1)
    }
    return most
}
