/// The schema, as numbered, append-only steps. Never edit a shipped step: add one.
enum Migrations {
    struct Step {
        let version: Int
        let name: String
        let sql: String
    }

    static let steps: [Step] = [
        Step(version: 1, name: "requests, observations and running totals", sql: """
        CREATE TABLE requests (
            id INTEGER PRIMARY KEY,
            tenant TEXT NOT NULL,
            mapping TEXT NOT NULL,
            request_id TEXT NOT NULL,
            origin TEXT NOT NULL,
            first_seen REAL NOT NULL,
            last_polled REAL,
            status TEXT NOT NULL,
            raw_status TEXT,
            num_records INTEGER NOT NULL DEFAULT 0,
            batch_id TEXT,
            info TEXT,
            acp_code TEXT,
            finished_at REAL,
            UNIQUE (tenant, mapping, request_id)
        );
        CREATE INDEX requests_open ON requests (tenant, mapping) WHERE finished_at IS NULL;
        CREATE INDEX requests_finished ON requests (finished_at);
        CREATE INDEX requests_first_seen ON requests (first_seen);

        -- Append-only: one row each time a poll saw something new about a request.
        CREATE TABLE observations (
            id INTEGER PRIMARY KEY,
            request INTEGER NOT NULL REFERENCES requests (id) ON DELETE CASCADE,
            observed_at REAL NOT NULL,
            status TEXT NOT NULL,
            raw_status TEXT,
            num_records INTEGER NOT NULL,
            batch_id TEXT,
            info TEXT
        );
        CREATE INDEX observations_request ON observations (request, observed_at);

        -- Running totals, written in the same transaction as the change they count,
        -- so counters survive restarts and retention alike.
        CREATE TABLE outcome_totals (
            tenant TEXT NOT NULL,
            mapping TEXT NOT NULL,
            status TEXT NOT NULL,
            acp_code TEXT NOT NULL,
            requests INTEGER NOT NULL,
            records INTEGER NOT NULL,
            duration_sum REAL NOT NULL,
            PRIMARY KEY (tenant, mapping, status, acp_code)
        );
        CREATE TABLE duration_buckets (
            tenant TEXT NOT NULL,
            mapping TEXT NOT NULL,
            status TEXT NOT NULL,
            upper_bound REAL NOT NULL,
            count INTEGER NOT NULL,
            PRIMARY KEY (tenant, mapping, status, upper_bound)
        );
        CREATE TABLE trigger_totals (
            tenant TEXT NOT NULL,
            mapping TEXT NOT NULL,
            result TEXT NOT NULL,
            count INTEGER NOT NULL,
            PRIMARY KEY (tenant, mapping, result)
        );
        CREATE TABLE mapping_latest (
            tenant TEXT NOT NULL,
            mapping TEXT NOT NULL,
            last_success_at REAL,
            last_success_records INTEGER,
            last_failure_at REAL,
            last_trigger_at REAL,
            PRIMARY KEY (tenant, mapping)
        );
        """),
        Step(version: 2, name: "keys of requests removed by retention", sql: """
        CREATE TABLE pruned_requests (
            tenant TEXT NOT NULL,
            mapping TEXT NOT NULL,
            request_id TEXT NOT NULL,
            PRIMARY KEY (tenant, mapping, request_id)
        ) WITHOUT ROWID;
        """),
        Step(version: 3, name: "when each mapping was first configured", sql: """
        CREATE TABLE mappings (
            tenant TEXT NOT NULL,
            mapping TEXT NOT NULL,
            created_at REAL NOT NULL,
            PRIMARY KEY (tenant, mapping)
        ) WITHOUT ROWID;
        -- Mappings with history were configured no later than their first request.
        INSERT INTO mappings (tenant, mapping, created_at)
            SELECT tenant, mapping, min(first_seen) FROM requests GROUP BY tenant, mapping;
        """),
        Step(version: 4, name: "trigger plans and intents; giving up on and untracking requests", sql: """
        ALTER TABLE requests ADD COLUMN not_found_since REAL;
        ALTER TABLE requests ADD COLUMN untracked_at REAL;
        -- The schedule of each scheduled mapping, written with the attempt that moved it.
        CREATE TABLE trigger_plans (
            tenant TEXT NOT NULL,
            mapping TEXT NOT NULL,
            slot REAL NOT NULL,
            due_at REAL NOT NULL,
            attempts INTEGER NOT NULL,
            failing_since REAL,
            PRIMARY KEY (tenant, mapping)
        ) WITHOUT ROWID;
        -- A POST about to be sent; deleted in the transaction that records its answer.
        CREATE TABLE trigger_intents (
            id INTEGER PRIMARY KEY,
            tenant TEXT NOT NULL,
            mapping TEXT NOT NULL,
            at REAL NOT NULL
        );
        """),
        Step(version: 5, name: "a row the health check rewrites", sql: """
        -- Written while writes fail, to notice when they work again.
        CREATE TABLE store_probe (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            at REAL NOT NULL
        );
        """),
        // PostgreSQL's cluster mode (`LeaseStore`); SQLite has one writer per file and never
        // uses them, but a schema version means the same tables on both engines.
        Step(version: 6, name: "replicas, tenant leases and the trigger-now queue", sql: """
        CREATE TABLE replicas (
            name TEXT PRIMARY KEY,
            started_at REAL NOT NULL,
            last_seen REAL NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE tenant_leases (
            tenant TEXT PRIMARY KEY,
            owner TEXT NOT NULL,
            epoch INTEGER NOT NULL,
            expires_at REAL NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE trigger_queue (
            id INTEGER PRIMARY KEY,
            tenant TEXT NOT NULL,
            mapping TEXT NOT NULL,
            requested_at REAL NOT NULL,
            taken_by TEXT,
            taken_epoch INTEGER,
            taken_at REAL,
            answered_at REAL,
            answer_status INTEGER,
            answer_body BLOB
        );
        CREATE INDEX trigger_queue_waiting ON trigger_queue (tenant, id) WHERE taken_by IS NULL;
        """),
        Step(version: 7, name: "batches followed in Experience Platform and their totals", sql: """
        -- One row per request whose batch is followed in the Catalog: a job, resumed after a restart.
        CREATE TABLE aep_batches (
            request INTEGER PRIMARY KEY REFERENCES requests (id) ON DELETE CASCADE,
            tenant TEXT NOT NULL,
            mapping TEXT NOT NULL,
            batch_id TEXT NOT NULL,
            status TEXT NOT NULL,
            created_at REAL NOT NULL,
            lookups INTEGER NOT NULL DEFAULT 0,
            next_lookup_at REAL,
            last_error TEXT,
            finished_at REAL,
            input_records INTEGER,
            output_records INTEGER,
            failed_records INTEGER,
            errors TEXT NOT NULL DEFAULT '[]'
        );
        CREATE INDEX aep_batches_open ON aep_batches (tenant, next_lookup_at) WHERE finished_at IS NULL;
        -- Running totals of ended batches: kind status, records or error; a name and a count.
        CREATE TABLE aep_totals (
            tenant TEXT NOT NULL,
            mapping TEXT NOT NULL,
            kind TEXT NOT NULL,
            name TEXT NOT NULL,
            value INTEGER NOT NULL,
            PRIMARY KEY (tenant, mapping, kind, name)
        ) WITHOUT ROWID;
        """),
    ]
}

extension Migrations {
    static var newest: Int { steps.last?.version ?? 0 }

    /// Applies the steps not yet applied, each in its own transaction.
    static func apply(to db: SQLiteConnection) throws(StoreError) {
        try db.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at REAL NOT NULL)")
        var applied = Set<Int>()
        try db.prepare("SELECT version FROM schema_migrations").run { row in applied.insert(row.int(0)) }
        if let version = applied.max(), version > newest {
            throw StoreError(.schemaTooNew,
                             "database \(db.path) has schema version \(version), newer than this exporter knows; upgrade the exporter")
        }
        for step in steps where !applied.contains(step.version) {
            try db.transaction { () throws(StoreError) in
                try db.execute(step.sql)
                try db.prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)")
                    .run([.integer(Int64(step.version)), .text(step.name), .real(Date().timeIntervalSince1970)])
            }
        }
    }

    static func currentVersion(_ db: SQLiteConnection) throws(StoreError) -> Int {
        var version = 0
        try db.prepare("SELECT max(version) FROM schema_migrations").run { row in version = row.int(0) }
        return version
    }

    /// For a read-only handle: the file is one of ours, and not newer than this exporter.
    static func checkReadable(_ db: SQLiteConnection) throws(StoreError) {
        let version: Int
        do {
            version = try currentVersion(db)
        } catch {
            throw StoreError(.corrupt, "\(db.path) is not an acs-ingestion-exporter database")
        }
        guard version <= newest else {
            throw StoreError(.schemaTooNew, "database \(db.path) has schema version \(version), newer than this exporter knows")
        }
    }
}

import Foundation
import IngestionStore
