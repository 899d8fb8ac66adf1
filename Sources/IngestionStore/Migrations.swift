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
    ]
}
