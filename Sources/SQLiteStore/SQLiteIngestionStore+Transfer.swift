import Foundation
import IngestionModel
import IngestionStore

extension SQLiteIngestionStore: StoreTransfer {
    public func requestRows(after rowID: Int64, limit: Int) throws(StoreError) -> [TrackedRequest] {
        try read { db throws(StoreError) in try Self.requests(db, where: "id > ?", [.integer(rowID)], order: "id", limit: max(1, limit)) }
    }

    public func observationRows(after id: Int64, limit: Int) throws(StoreError) -> [ObservationRow] {
        try read { db throws(StoreError) in
            var result: [ObservationRow] = []
            try db.prepare("""
                SELECT id, request, observed_at, status, raw_status, num_records, batch_id, info FROM observations
                WHERE id > ? ORDER BY id LIMIT ?
                """).run([.integer(id), SQLValue(max(1, limit))]) { row in
                result.append(ObservationRow(id: Int64(row.int(0)), requestRowID: Int64(row.int(1)), observation: Observation(
                    observedAt: row.date(2)!, status: IngestionStatus(storedName: row.string(3), raw: row.text(4)),
                    numRecords: row.int(5), batchID: row.text(6), info: row.text(7))))
            }
            return result
        }
    }

    public func prunedKeys(after key: PrunedKey?, limit: Int) throws(StoreError) -> [PrunedKey] {
        try read { db throws(StoreError) in
            var result: [PrunedKey] = []
            try db.prepare("""
                SELECT tenant, mapping, request_id FROM pruned_requests WHERE (tenant, mapping, request_id) > (?, ?, ?)
                ORDER BY tenant, mapping, request_id LIMIT ?
                """).run([.text(key?.key.tenant ?? ""), .text(key?.key.mapping ?? ""), .text(key?.requestID.rawValue ?? ""),
                          SQLValue(max(1, limit))]) { row in
                result.append(PrunedKey(key: MappingKey(tenant: row.string(0), mapping: row.string(1)),
                                        requestID: RequestID(row.string(2))))
            }
            return result
        }
    }

    public func mappingRows() throws(StoreError) -> [MappingKey: Date] {
        try read { db throws(StoreError) in
            var result: [MappingKey: Date] = [:]
            try db.prepare("SELECT tenant, mapping, created_at FROM mappings").run { row in
                result[MappingKey(tenant: row.string(0), mapping: row.string(1))] = row.date(2)
            }
            return result
        }
    }

    public func writeRequestRows(_ rows: [TrackedRequest]) throws(StoreError) -> Int {
        try write { db throws(StoreError) -> Int in
            var written = 0
            for request in rows {
                try db.prepare("""
                    INSERT INTO requests (id, tenant, mapping, request_id, origin, first_seen, last_polled, status, raw_status,
                        num_records, batch_id, info, acp_code, finished_at, not_found_since, untracked_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (id) DO UPDATE SET \(TransferSQL.requestUpdates)
                    WHERE (requests.tenant, requests.mapping, requests.request_id) = (excluded.tenant, excluded.mapping, excluded.request_id)
                        AND (requests.origin, requests.first_seen, requests.last_polled, requests.status, requests.raw_status,
                             requests.num_records, requests.batch_id, requests.info, requests.acp_code, requests.finished_at,
                             requests.not_found_since, requests.untracked_at)
                        IS NOT (excluded.origin, excluded.first_seen, excluded.last_polled, excluded.status, excluded.raw_status,
                             excluded.num_records, excluded.batch_id, excluded.info, excluded.acp_code, excluded.finished_at,
                             excluded.not_found_since, excluded.untracked_at)
                    """).run([.integer(request.rowID), .text(request.key.tenant), .text(request.key.mapping),
                              .text(request.requestID.rawValue), .text(request.origin.rawValue), SQLValue(request.firstSeen),
                              SQLValue(request.lastPolled), .text(request.status.name), SQLValue(request.status.rawUnknown),
                              SQLValue(request.numRecords), SQLValue(request.batchID), SQLValue(request.info),
                              SQLValue(request.acpCode?.rawValue), SQLValue(request.finishedAt), SQLValue(request.notFoundSince),
                              SQLValue(request.untrackedAt)])
                if db.changes == 1 {
                    written += 1
                } else if let stored = try Self.request(db, rowID: request.rowID),
                          stored.key != request.key || stored.requestID != request.requestID {
                    throw StoreError(.failed, "database \(db.path): row id \(request.rowID) holds request \(stored.key)/\(stored.requestID), "
                                              + "not the one being copied: it holds a different history")
                }
            }
            return written
        }
    }

    public func writeObservationRows(_ rows: [ObservationRow]) throws(StoreError) -> Int {
        try write { db throws(StoreError) -> Int in
            try db.changes(running: """
                INSERT INTO observations (id, request, observed_at, status, raw_status, num_records, batch_id, info)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (id) DO UPDATE SET request = excluded.request, observed_at = excluded.observed_at,
                    status = excluded.status, raw_status = excluded.raw_status, num_records = excluded.num_records,
                    batch_id = excluded.batch_id, info = excluded.info
                WHERE (observations.request, observations.observed_at, observations.status, observations.raw_status,
                       observations.num_records, observations.batch_id, observations.info)
                    IS NOT (excluded.request, excluded.observed_at, excluded.status, excluded.raw_status,
                            excluded.num_records, excluded.batch_id, excluded.info)
                """, for: rows) { row in
                let observation = row.observation
                return [.integer(row.id), .integer(row.requestRowID), SQLValue(observation.observedAt),
                        .text(observation.status.name), SQLValue(observation.status.rawUnknown),
                        SQLValue(observation.numRecords), SQLValue(observation.batchID), SQLValue(observation.info)]
            }
        }
    }

    public func writePrunedKeys(_ keys: [PrunedKey]) throws(StoreError) -> Int {
        try write { db throws(StoreError) -> Int in
            try db.changes(running: "INSERT OR IGNORE INTO pruned_requests (tenant, mapping, request_id) VALUES (?, ?, ?)",
                           for: keys) { [.text($0.key.tenant), .text($0.key.mapping), .text($0.requestID.rawValue)] }
        }
    }

    public func writeMappingRows(_ rows: [MappingKey: Date]) throws(StoreError) -> Int {
        try write { db throws(StoreError) -> Int in
            try db.changes(running: """
                INSERT INTO mappings (tenant, mapping, created_at) VALUES (?, ?, ?)
                ON CONFLICT (tenant, mapping) DO UPDATE SET created_at = excluded.created_at
                WHERE mappings.created_at IS NOT excluded.created_at
                """, for: rows) { key, created in [.text(key.tenant), .text(key.mapping), SQLValue(created)] }
        }
    }

    public func writeTriggerPlans(_ plans: [MappingKey: TriggerPlan]) throws(StoreError) -> Int {
        try write { db throws(StoreError) -> Int in
            try db.changes(running: """
                INSERT INTO trigger_plans (tenant, mapping, slot, due_at, attempts, failing_since) VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT (tenant, mapping) DO UPDATE SET slot = excluded.slot, due_at = excluded.due_at,
                    attempts = excluded.attempts, failing_since = excluded.failing_since
                WHERE (trigger_plans.slot, trigger_plans.due_at, trigger_plans.attempts, trigger_plans.failing_since)
                    IS NOT (excluded.slot, excluded.due_at, excluded.attempts, excluded.failing_since)
                """, for: plans) { key, plan in
                [.text(key.tenant), .text(key.mapping), SQLValue(plan.slot), SQLValue(plan.dueAt), SQLValue(plan.attempts),
                 SQLValue(plan.failingSince)]
            }
        }
    }

    public func writeTriggerIntents(_ intents: [TriggerIntent]) throws(StoreError) -> Int {
        try write { db throws(StoreError) -> Int in
            try db.changes(running: """
                INSERT INTO trigger_intents (id, tenant, mapping, at) VALUES (?, ?, ?, ?)
                ON CONFLICT (id) DO UPDATE SET tenant = excluded.tenant, mapping = excluded.mapping, at = excluded.at
                WHERE (trigger_intents.tenant, trigger_intents.mapping, trigger_intents.at)
                    IS NOT (excluded.tenant, excluded.mapping, excluded.at)
                """, for: intents) { [.integer($0.id), .text($0.key.tenant), .text($0.key.mapping), SQLValue($0.at)] }
        }
    }

    public func writeTotals(_ totals: IngestionTotals) throws(StoreError) -> Int {
        try write { db throws(StoreError) -> Int in
            let outcomes = try db.changes(running: """
                INSERT INTO outcome_totals (tenant, mapping, status, acp_code, requests, records, duration_sum)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT DO UPDATE SET requests = excluded.requests, records = excluded.records,
                    duration_sum = excluded.duration_sum
                WHERE (outcome_totals.requests, outcome_totals.records, outcome_totals.duration_sum)
                    IS NOT (excluded.requests, excluded.records, excluded.duration_sum)
                """, for: totals.outcomes) { outcome in
                [.text(outcome.key.tenant), .text(outcome.key.mapping), .text(outcome.status.label), .text(outcome.acpCode),
                 SQLValue(outcome.requests), SQLValue(outcome.records), .real(outcome.durationSum)]
            }
            let buckets = try db.changes(running: """
                INSERT INTO duration_buckets (tenant, mapping, status, upper_bound, count) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT DO UPDATE SET count = excluded.count WHERE duration_buckets.count IS NOT excluded.count
                """, for: totals.buckets) { bucket in
                [.text(bucket.key.tenant), .text(bucket.key.mapping), .text(bucket.status.label),
                 .real(SQLiteBound.stored(bucket.upperBound)), SQLValue(bucket.count)]
            }
            let triggers = try db.changes(running: """
                INSERT INTO trigger_totals (tenant, mapping, result, count) VALUES (?, ?, ?, ?)
                ON CONFLICT DO UPDATE SET count = excluded.count WHERE trigger_totals.count IS NOT excluded.count
                """, for: totals.triggers.flatMap { key, counts in counts.map { (key, $0.key, $0.value) } }) { key, result, count in
                [.text(key.tenant), .text(key.mapping), .text(result.label), SQLValue(count)]
            }
            let latest = try db.changes(running: """
                INSERT INTO mapping_latest (tenant, mapping, last_success_at, last_success_records, last_failure_at,
                    last_trigger_at) VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT DO UPDATE SET last_success_at = excluded.last_success_at,
                    last_success_records = excluded.last_success_records, last_failure_at = excluded.last_failure_at,
                    last_trigger_at = excluded.last_trigger_at
                WHERE (mapping_latest.last_success_at, mapping_latest.last_success_records, mapping_latest.last_failure_at,
                       mapping_latest.last_trigger_at)
                    IS NOT (excluded.last_success_at, excluded.last_success_records, excluded.last_failure_at,
                            excluded.last_trigger_at)
                """, for: totals.latest) { key, latest in
                [.text(key.tenant), .text(key.mapping), SQLValue(latest.lastSuccessAt),
                 // NULL without a success, as the counting statements leave it.
                 latest.lastSuccessAt == nil ? .null : SQLValue(latest.lastSuccessRecords),
                 SQLValue(latest.lastFailureAt), SQLValue(latest.lastTriggerAt)]
            }
            let aep = try db.changes(running: """
                INSERT INTO aep_totals (tenant, mapping, kind, name, value) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT DO UPDATE SET value = excluded.value WHERE aep_totals.value IS NOT excluded.value
                """, for: totals.aep.flatMap { key, aep in aep.rows.map { (key, $0) } }) { key, row in
                [.text(key.tenant), .text(key.mapping), .text(row.kind.rawValue), .text(row.name), SQLValue(row.value)]
            }
            return outcomes + buckets + triggers + latest + aep
        }
    }

    public func batchRows(after rowID: Int64, limit: Int) throws(StoreError) -> [BatchFollowUp] {
        try read { db throws(StoreError) in
            try Self.batches(db, where: "b.request > ?", [.integer(rowID)], order: "b.request", limit: max(1, limit))
        }
    }

    public func writeBatchRows(_ rows: [BatchFollowUp]) throws(StoreError) -> Int {
        try write { db throws(StoreError) -> Int in
            try db.changes(running: """
                INSERT INTO aep_batches (request, tenant, mapping, batch_id, status, created_at, lookups, next_lookup_at, last_error,
                    finished_at, input_records, output_records, failed_records, errors) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (request) DO UPDATE SET status = excluded.status, lookups = excluded.lookups,
                    next_lookup_at = excluded.next_lookup_at, last_error = excluded.last_error, finished_at = excluded.finished_at,
                    input_records = excluded.input_records, output_records = excluded.output_records,
                    failed_records = excluded.failed_records, errors = excluded.errors
                WHERE (aep_batches.status, aep_batches.lookups, aep_batches.next_lookup_at, aep_batches.last_error,
                       aep_batches.finished_at, aep_batches.input_records, aep_batches.output_records, aep_batches.failed_records,
                       aep_batches.errors)
                    IS NOT (excluded.status, excluded.lookups, excluded.next_lookup_at, excluded.last_error, excluded.finished_at,
                            excluded.input_records, excluded.output_records, excluded.failed_records, excluded.errors)
                """, for: rows) { batch in
                [.integer(batch.requestRowID), .text(batch.key.tenant), .text(batch.key.mapping), .text(batch.batchID), .text(batch.status),
                 SQLValue(batch.createdAt), SQLValue(batch.lookups), SQLValue(batch.nextLookupAt), SQLValue(batch.lastError),
                 SQLValue(batch.finishedAt), SQLValue(batch.counts.input), SQLValue(batch.counts.output), SQLValue(batch.counts.failed),
                 .text(batch.errorsJSON)]
            }
        }
    }
}

extension SQLiteConnection {
    /// Runs `sql` once for each of `rows`, bound to the values `values` gives it, and
    /// returns how many rows those runs changed: the transfer's upserts, which change
    /// nothing where the target already holds the same values.
    func changes<Rows: Sequence>(running sql: String, for rows: Rows,
                                 _ values: (Rows.Element) -> [SQLValue]) throws(StoreError) -> Int {
        var written = 0
        for row in rows {
            try prepare(sql).run(values(row))
            written += changes
        }
        return written
    }
}
