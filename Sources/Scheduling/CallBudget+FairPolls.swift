import Foundation

extension CallBudget {
    /// The request to poll next among `candidates` (the requests whose poll is due) when
    /// the budget lets fewer polls through than are due: the one unpolled for longest,
    /// a request never polled counting from its start; ties go to the earlier start, then
    /// to the earlier in `candidates`.
    ///
    /// No request starves: a request's place depends only on its own last poll, which
    /// only moves when it is polled, so at most the requests that are already ahead of it
    /// (a fixed, finite set) go before it.
    public static func longestUnpolled<Request>(among candidates: some Sequence<Request>,
                                                startedAt: (Request) -> Date,
                                                lastPolledAt: (Request) -> Date?) -> Request? {
        inFairPollOrder(candidates, startedAt: startedAt, lastPolledAt: lastPolledAt).first
    }

    /// `candidates` in the order `longestUnpolled(among:startedAt:lastPolledAt:)` picks them.
    public static func inFairPollOrder<Request>(_ candidates: some Sequence<Request>,
                                                startedAt: (Request) -> Date,
                                                lastPolledAt: (Request) -> Date?) -> [Request] {
        candidates.enumerated()
            .map { (unpolledSince: lastPolledAt($0.element) ?? startedAt($0.element), start: startedAt($0.element),
                    position: $0.offset, request: $0.element) }
            .sorted { ($0.unpolledSince, $0.start, $0.position) < ($1.unpolledSince, $1.start, $1.position) }
            .map(\.request)
    }
}
