import Foundation
import IngestionModel

/// Copies a whole history from one store to another (`acs-ingestion-exporter
/// migrate`): registered mappings, requests under their row ids (with their 404 and
/// untracked times), observations, the keys retention removed, the trigger plans and
/// pending intents (what the schedules continue from and the lost POSTs they resolve),
/// and the running totals (outcomes, duration buckets, triggers, latest events: what
/// the counters continue from). The health check's row is not copied, nor are the
/// cluster's tables (replicas, tenant leases, the trigger-now queue: `LeaseStore`),
/// which describe the replicas running now, not the history: replicas started on the
/// target take leases afresh.
///
/// Every write sets rows to the source's values, so running it again changes
/// nothing, and a run after an interrupted one completes it. Each batch is one
/// transaction of the target. Stop the exporter that writes the source first: rows
/// it writes during the copy may be missed (a second run picks them up).
public enum StoreCopy {
    public struct Counts: Sendable, Equatable {
        public var read = 0
        /// Rows the target did not have, or had with other values.
        public var written = 0

        public init(read: Int = 0, written: Int = 0) {
            self.read = read
            self.written = written
        }
    }

    public struct Report: Sendable, Equatable, CustomStringConvertible {
        public var mappings = Counts()
        public var requests = Counts()
        public var observations = Counts()
        public var prunedKeys = Counts()
        public var triggerPlans = Counts()
        public var triggerIntents = Counts()
        /// Batches followed in Experience Platform.
        public var batches = Counts()
        /// Rows of outcome totals, duration buckets, trigger counts, latest events and AEP totals.
        public var totals = Counts()

        public init() {}

        public var wroteNothing: Bool {
            [mappings, requests, observations, prunedKeys, triggerPlans, triggerIntents, batches, totals].allSatisfy { $0.written == 0 }
        }

        /// One line per table: `requests          100000 read    100000 written`.
        public var description: String {
            let tables: [(String, Counts)] = [("mappings", mappings), ("requests", requests), ("observations", observations),
                                              ("pruned keys", prunedKeys), ("trigger plans", triggerPlans),
                                              ("trigger intents", triggerIntents), ("followed batches", batches),
                                              ("totals rows", totals)]
            return tables.map { (name: String, counts: Counts) -> String in
                let label = name.padding(toLength: 16, withPad: " ", startingAt: 0)
                return label + String(counts.read).leftPadded(10) + " read" + String(counts.written).leftPadded(10) + " written"
            }.joined(separator: "\n")
        }
    }

    public static func copy(from source: some StoreTransfer, to target: some StoreTransfer,
                            batchSize: Int = 5_000) async throws(StoreError) -> Report {
        let batchSize = max(1, batchSize)
        var report = Report()
        let sourceVersion = try await source.schemaVersion(), targetVersion = try await target.schemaVersion()
        guard sourceVersion == targetVersion else {
            throw StoreError(.failed, "\(source.location) has schema version \(sourceVersion) and \(target.location) "
                                      + "\(targetVersion): open both with the same exporter version")
        }

        let mappings = try await source.mappingRows()
        report.mappings = Counts(read: mappings.count, written: try await target.writeMappingRows(mappings))

        // Requests before observations: an observation refers to its request's row id.
        try await forEachPage(source.requestRows(after:limit:), after: 0, \.rowID, limit: batchSize) { rows throws(StoreError) in
            report.requests.read += rows.count
            report.requests.written += try await target.writeRequestRows(rows)
        }
        try await forEachPage(source.observationRows(after:limit:), after: 0, \.id, limit: batchSize) { rows throws(StoreError) in
            report.observations.read += rows.count
            report.observations.written += try await target.writeObservationRows(rows)
        }
        try await forEachPage(source.prunedKeys(after:limit:), after: nil, Optional.some, limit: batchSize) { keys throws(StoreError) in
            report.prunedKeys.read += keys.count
            report.prunedKeys.written += try await target.writePrunedKeys(keys)
        }
        let plans = try await source.triggerPlans()
        report.triggerPlans = Counts(read: plans.count, written: try await target.writeTriggerPlans(plans))
        let intents = try await source.pendingTriggerIntents()
        report.triggerIntents = Counts(read: intents.count, written: try await target.writeTriggerIntents(intents))
        try await forEachPage(source.batchRows(after:limit:), after: 0, \.requestRowID, limit: batchSize) { rows throws(StoreError) in
            report.batches.read += rows.count
            report.batches.written += try await target.writeBatchRows(rows)
        }
        // Last, so that the counters the target restores match the rows it holds.
        let totals = try await source.totals()
        report.totals = Counts(read: totals.rowCount, written: try await target.writeTotals(totals))
        return report
    }
}

/// Reads a table in pages of `limit` rows, in the order of their keys: `read` gets the
/// key of the last row of the page before (`start` for the first), until it returns no
/// rows; `body` takes each page in turn.
func forEachPage<Row, Key>(_ read: (Key, Int) async throws(StoreError) -> [Row], after start: Key, _ key: (Row) -> Key,
                           limit: Int, _ body: ([Row]) async throws(StoreError) -> Void) async throws(StoreError) {
    var after = start
    while true {
        let rows = try await read(after, limit)
        guard let last = rows.last else { return }
        try await body(rows)
        after = key(last)
    }
}

/// What a store holds, summed up to compare two stores: the number of rows of each
/// kind and a checksum (64-bit FNV-1a) over all of them in a canonical order, times
/// and sums by their exact bits.
public struct StoreDigest: Sendable, Equatable, CustomStringConvertible {
    public var requests = 0
    public var observations = 0
    public var prunedKeys = 0
    public var mappings = 0
    public var triggerPlans = 0
    public var triggerIntents = 0
    public var batches = 0
    public var totalsRows = 0
    public var checksum: UInt64 = 0xcbf2_9ce4_8422_2325

    public static func of(_ store: some StoreTransfer, batchSize: Int = 5_000) async throws(StoreError) -> StoreDigest {
        var digest = StoreDigest()
        try await forEachPage(store.requestRows(after:limit:), after: 0, \.rowID, limit: batchSize) { rows in
            digest.add(rows.map(\.canonicalLine), \.requests)
        }
        try await forEachPage(store.observationRows(after:limit:), after: 0, \.id, limit: batchSize) { rows in
            digest.add(rows.map(\.canonicalLine), \.observations)
        }
        try await forEachPage(store.prunedKeys(after:limit:), after: nil, Optional.some, limit: batchSize) { keys in
            digest.add(keys.map { "\($0.key) \($0.requestID)" }, \.prunedKeys)
        }
        digest.add(try await store.mappingRows().sorted { $0.key < $1.key }.map { "\($0.key) \($0.value.bits)" }, \.mappings)
        digest.add(try await store.triggerPlans().sorted { $0.key < $1.key }.map {
            "\($0.key) \($0.value.slot.bits) \($0.value.dueAt.bits) \($0.value.attempts) \($0.value.failingSince.bits)"
        }, \.triggerPlans)
        digest.add(try await store.pendingTriggerIntents().map { "\($0.id) \($0.key) \($0.at.bits)" }, \.triggerIntents)
        try await forEachPage(store.batchRows(after:limit:), after: 0, \.requestRowID, limit: batchSize) { rows in
            digest.add(rows.map(\.canonicalLine), \.batches)
        }
        digest.add(try await store.totals().canonicalLines, \.totalsRows)
        return digest
    }

    private mutating func add(_ lines: [String], _ count: WritableKeyPath<StoreDigest, Int>) {
        self[keyPath: count] += lines.count
        for line in lines {
            for byte in line.utf8 + [0x0a] { checksum = (checksum ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
        }
    }

    public var description: String {
        "\(requests) requests, \(observations) observations, \(prunedKeys) pruned keys, \(mappings) mappings, "
            + "\(triggerPlans) trigger plans, \(triggerIntents) trigger intents, \(batches) followed batches, \(totalsRows) totals rows, "
            + "checksum \(String(checksum, radix: 16))"
    }
}

extension IngestionTotals {
    /// Rows of the four totals tables.
    var rowCount: Int {
        outcomes.count + buckets.count + triggers.values.map(\.count).reduce(0, +) + latest.count + aep.values.map(\.rows.count).reduce(0, +)
    }

    /// One line per totals row, sorted, doubles and times by their bits: equal lines, equal totals.
    var canonicalLines: [String] {
        let outcomes = self.outcomes.map {
            "outcome \($0.key) \($0.status) \($0.acpCode) \($0.requests) \($0.records) \($0.durationSum.bitPattern)"
        }
        let buckets = self.buckets.map { "bucket \($0.key) \($0.status) \($0.upperBound.bitPattern) \($0.count)" }
        let triggers = self.triggers.flatMap { key, counts in counts.map { "trigger \(key) \($0.key) \($0.value)" } }
        let latest = self.latest.map {
            "latest \($0.key) \($0.value.lastSuccessAt.bits) \($0.value.lastSuccessRecords) \($0.value.lastFailureAt.bits) "
                + "\($0.value.lastTriggerAt.bits)"
        }
        let aep = self.aep.flatMap { key, totals in totals.rows.map { "aep \(key) \($0.kind.rawValue) \($0.name) \($0.value)" } }
        return (outcomes + buckets + triggers + latest + aep).sorted()
    }
}

private extension TrackedRequest {
    var canonicalLine: String {
        [String(rowID), key.description, requestID.rawValue, origin.rawValue, firstSeen.bits, lastPolled.bits, status.name,
         status.rawUnknown ?? "-", String(numRecords), batchID ?? "-", info ?? "-", acpCode?.rawValue ?? "-", finishedAt.bits,
         notFoundSince.bits, untrackedAt.bits]
            .joined(separator: "\u{1f}")
    }
}

private extension BatchFollowUp {
    var canonicalLine: String {
        [String(requestRowID), key.description, requestID.rawValue, batchID, status, createdAt.bits, String(lookups), nextLookupAt.bits,
         lastError ?? "-", finishedAt.bits, counts.input.map(String.init) ?? "-", counts.output.map(String.init) ?? "-",
         counts.failed.map(String.init) ?? "-", errorsJSON].joined(separator: "\u{1f}")
    }
}

private extension ObservationRow {
    var canonicalLine: String {
        [String(id), String(requestRowID), observation.observedAt.bits, observation.status.name,
         observation.status.rawUnknown ?? "-", String(observation.numRecords), observation.batchID ?? "-",
         observation.info ?? "-"].joined(separator: "\u{1f}")
    }
}

private extension Date {
    var bits: String { String(timeIntervalSince1970.bitPattern, radix: 16) }
}

private extension Optional where Wrapped == Date {
    var bits: String { map(\.bits) ?? "-" }
}

private extension String {
    func leftPadded(_ width: Int) -> String { String(repeating: " ", count: max(0, width - count)) + self }
}
