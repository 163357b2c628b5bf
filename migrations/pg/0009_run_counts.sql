-- How many runs are in each status, kept by triggers on sync_runs so that
-- /metrics reads a handful of rows instead of counting every run (issue 13:
-- a million runs took hundreds of milliseconds to group). The rows are
-- seeded from the runs already there; a status no row names yet gets one on
-- its first use.
--
-- The triggers run once a statement over its transition tables: a row
-- trigger would update the same counter row once per inserted run, and a
-- million updates of one row in one transaction grow a chain of versions
-- that each update walks. Counter rows are written in status order, so two
-- transactions that change statuses in opposite directions (running ->
-- queued beside queued -> running) lock them in the same order and cannot
-- deadlock.
CREATE TABLE sync_run_counts (
    status TEXT PRIMARY KEY,
    n      BIGINT NOT NULL DEFAULT 0
);

INSERT INTO sync_run_counts (status, n)
SELECT status, count(*) FROM sync_runs GROUP BY status;

CREATE FUNCTION sync_runs_count() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO sync_run_counts (status, n)
        SELECT status, count(*) FROM new_rows GROUP BY status ORDER BY status
        ON CONFLICT (status) DO UPDATE SET n = sync_run_counts.n + EXCLUDED.n;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO sync_run_counts (status, n)
        SELECT status, -count(*) FROM old_rows GROUP BY status ORDER BY status
        ON CONFLICT (status) DO UPDATE SET n = sync_run_counts.n + EXCLUDED.n;
    ELSE
        INSERT INTO sync_run_counts (status, n)
        SELECT status, sum(d) FROM (
            SELECT o.status, -1 AS d FROM old_rows o JOIN new_rows w ON w.id = o.id
            WHERE o.status IS DISTINCT FROM w.status
            UNION ALL
            SELECT w.status, 1 AS d FROM old_rows o JOIN new_rows w ON w.id = o.id
            WHERE o.status IS DISTINCT FROM w.status
        ) AS c
        GROUP BY status HAVING sum(d) <> 0 ORDER BY status
        ON CONFLICT (status) DO UPDATE SET n = sync_run_counts.n + EXCLUDED.n;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER sync_runs_count_insert AFTER INSERT ON sync_runs
REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION sync_runs_count();

CREATE TRIGGER sync_runs_count_update AFTER UPDATE ON sync_runs
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION sync_runs_count();

CREATE TRIGGER sync_runs_count_delete AFTER DELETE ON sync_runs
REFERENCING OLD TABLE AS old_rows
FOR EACH STATEMENT EXECUTE FUNCTION sync_runs_count();
