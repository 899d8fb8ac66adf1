import Foundation
import IngestionModel
import IngestionStore

/// The running totals as dictionaries, so that many ended requests can be counted
/// in memory exactly as `countOutcome` counts them one by one in the database:
/// the same additions in the same order, so the same doubles.
struct RunningTotals {
    private struct OutcomeKey: Hashable {
        let key: MappingKey, status: FinalStatus, acpCode: String
    }
    private struct BucketKey: Hashable {
        let key: MappingKey, status: FinalStatus, upperBound: Double
    }

    private var outcomes: [OutcomeKey: IngestionTotals.Outcome] = [:]
    private var buckets: [BucketKey: IngestionTotals.Bucket] = [:]
    private var latest: [MappingKey: IngestionTotals.Latest]
    private var triggers: [MappingKey: [TriggerResult: Int]]
    private let bounds: [Double]

    init(_ totals: IngestionTotals, bounds: [Double]) {
        for outcome in totals.outcomes {
            outcomes[OutcomeKey(key: outcome.key, status: outcome.status, acpCode: outcome.acpCode)] = outcome
        }
        for bucket in totals.buckets {
            buckets[BucketKey(key: bucket.key, status: bucket.status, upperBound: bucket.upperBound)] = bucket
        }
        latest = totals.latest
        triggers = totals.triggers
        self.bounds = bounds
    }

    /// Counts one ended request (`IngestionTotals.Addition` says what it adds).
    mutating func count(_ request: TrackedRequest) {
        guard let added = IngestionTotals.Addition(request, bounds: bounds) else { return }
        let (key, status, records, duration, acp) = (added.key, added.status, added.records, added.duration, added.acpCode)
        let outcomeKey = OutcomeKey(key: key, status: status, acpCode: acp)
        if var outcome = outcomes[outcomeKey] {
            outcome.requests += 1
            outcome.records += records
            outcome.durationSum += duration
            outcomes[outcomeKey] = outcome
        } else {
            outcomes[outcomeKey] = .init(key: key, status: status, acpCode: acp, requests: 1, records: records, durationSum: duration)
        }
        let bucketKey = BucketKey(key: key, status: status, upperBound: added.upperBound)
        buckets[bucketKey, default: .init(key: key, status: status, upperBound: added.upperBound, count: 0)].count += 1
        switch added.latest {
        case .success(let at, let records)?:
            latest[key, default: .init()].lastSuccessAt = at
            latest[key, default: .init()].lastSuccessRecords = records
        case .failure(let at)?:
            latest[key, default: .init()].lastFailureAt = at
        case nil:
            break
        }
    }

    var rows: IngestionTotals {
        var totals = IngestionTotals()
        totals.outcomes = Array(outcomes.values)
        totals.buckets = Array(buckets.values)
        totals.latest = latest
        totals.triggers = triggers
        return totals
    }
}
