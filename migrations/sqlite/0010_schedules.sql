-- Schedules: syncs that start by themselves (docs/schedules.md).
--
-- sync_schedules: one row a schedule of a user. kind is the run's kind
-- (inventory, offers, all, refresh). The cadence is either interval_s
-- (> 0: every so many seconds) or times (a comma-separated list of "HH:MM"
-- in the IANA time zone tz). next_due_ms is when it fires next; a process
-- fires a due time only after moving next_due_ms on with a compare-and-set
-- UPDATE, so several serve processes on one database fire it once.
-- last_run_id, last_result ('running' until the run's end is seen, then
-- the run's status, or 'skipped'), last_error, last_code and failures (in
-- a row, for the retry backoff) say how the last run went. paused_reason
-- (e.g. 'ebay_relink') stops it until the account is linked again or the
-- schedule is switched on again; cred_mark fingerprints the user's eBay
-- credentials when it paused, so that a relink is noticed.
CREATE TABLE sync_schedules (
    id             TEXT PRIMARY KEY,
    user_id        TEXT NOT NULL,
    kind           TEXT NOT NULL,
    interval_s     INTEGER NOT NULL DEFAULT 0,
    times          TEXT,
    tz             TEXT NOT NULL DEFAULT 'UTC',
    enabled        INTEGER NOT NULL DEFAULT 1,
    next_due_ms    INTEGER NOT NULL,
    last_run_id    TEXT,
    last_result    TEXT,
    last_error     TEXT,
    last_code      TEXT,
    last_run_ms    INTEGER,
    failures       INTEGER NOT NULL DEFAULT 0,
    paused_reason  TEXT,
    cred_mark      TEXT,
    created_ms     INTEGER NOT NULL,
    updated_ms     INTEGER NOT NULL
);
CREATE INDEX sync_schedules_user ON sync_schedules (user_id, created_ms);
CREATE INDEX sync_schedules_due ON sync_schedules (enabled, next_due_ms);
