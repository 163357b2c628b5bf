-- The job queue (issue 12; docs/queue.md). Starting a run inserts its
-- sync_runs row with status 'queued' and its job here, in one transaction;
-- workers claim jobs (PostgreSQL: FOR UPDATE SKIP LOCKED; SQLite: under
-- its write lock), hold them by a lease they renew, and finish them. A job
-- whose lease ran out goes back to the queue and is resumed, as the same
-- run, by another worker, up to max_attempts claims.
--
-- state: queued, running (claimed; worker and lease_until_ms set), done,
-- failed, cancelled. options: the start's options as JSON text (resume,
-- skus, report_only). wait_reason: why a queued job waits (its worker was
-- lost, it was handed back, admission refused it until not_before_ms).
CREATE TABLE sync_jobs (
    run_id          TEXT PRIMARY KEY,
    user_id         TEXT NOT NULL,
    kind            TEXT NOT NULL,
    options         TEXT NOT NULL,
    state           TEXT NOT NULL,
    worker          TEXT,
    lease_until_ms  BIGINT NOT NULL DEFAULT 0,
    attempts        BIGINT NOT NULL DEFAULT 0,
    max_attempts    BIGINT NOT NULL DEFAULT 3,
    not_before_ms   BIGINT NOT NULL DEFAULT 0,
    created_ms      BIGINT NOT NULL,
    updated_ms      BIGINT NOT NULL,
    wait_reason     TEXT
);
CREATE INDEX sync_jobs_claim ON sync_jobs (state, not_before_ms, created_ms);
CREATE INDEX sync_jobs_lease ON sync_jobs (state, lease_until_ms);

-- The worker processes (and serve's worker slots) alive: each renews its
-- heartbeat; /metrics counts those with a fresh one.
CREATE TABLE sync_workers (
    id            TEXT PRIMARY KEY,
    slots         BIGINT NOT NULL,
    started_ms    BIGINT NOT NULL,
    heartbeat_ms  BIGINT NOT NULL
);

-- One run of a kind per user counts queued runs too.
DROP INDEX sync_runs_one_running;
CREATE UNIQUE INDEX sync_runs_one_running ON sync_runs (user_id, kind)
    WHERE status IN ('running', 'queued');
