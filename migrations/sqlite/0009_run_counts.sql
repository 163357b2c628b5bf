-- How many runs are in each status, kept by triggers on sync_runs so that
-- /metrics reads a handful of rows instead of counting every run (issue 13:
-- a million runs took hundreds of milliseconds to group). The rows are
-- seeded from the runs already there; a status no row names yet gets one on
-- its first use. SQLite has one writer at a time, so the counters cannot be
-- updated by two transactions at once.
CREATE TABLE sync_run_counts (
    status TEXT PRIMARY KEY,
    n      INTEGER NOT NULL DEFAULT 0
);

INSERT INTO sync_run_counts (status, n)
SELECT status, count(*) FROM sync_runs GROUP BY status;

CREATE TRIGGER sync_runs_count_insert AFTER INSERT ON sync_runs
BEGIN
    INSERT INTO sync_run_counts (status, n) VALUES (NEW.status, 1)
    ON CONFLICT (status) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER sync_runs_count_update AFTER UPDATE OF status ON sync_runs
WHEN OLD.status IS NOT NEW.status
BEGIN
    UPDATE sync_run_counts SET n = n - 1 WHERE status = OLD.status;
    INSERT INTO sync_run_counts (status, n) VALUES (NEW.status, 1)
    ON CONFLICT (status) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER sync_runs_count_delete AFTER DELETE ON sync_runs
BEGIN
    UPDATE sync_run_counts SET n = n - 1 WHERE status = OLD.status;
END;
