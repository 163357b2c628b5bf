-- How many runs are in each status, kept by a trigger on sync_runs so that
-- /metrics reads a handful of rows instead of counting every run (issue 13:
-- a million runs took hundreds of milliseconds to group). The rows are
-- seeded from the runs already there; a status no row names yet gets one on
-- its first use.
--
-- A status change touches two counter rows. Two transactions that lock them
-- in opposite orders (running -> queued beside queued -> running) would
-- deadlock, so the trigger always locks the lower status name first.
CREATE TABLE sync_run_counts (
    status TEXT PRIMARY KEY,
    n      BIGINT NOT NULL DEFAULT 0
);

INSERT INTO sync_run_counts (status, n)
SELECT status, count(*) FROM sync_runs GROUP BY status;

CREATE FUNCTION sync_run_counts_add(st TEXT, d INTEGER) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO sync_run_counts (status, n) VALUES (st, d)
    ON CONFLICT (status) DO UPDATE SET n = sync_run_counts.n + EXCLUDED.n;
$$;

CREATE FUNCTION sync_runs_count() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM sync_run_counts_add(NEW.status, 1);
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM sync_run_counts_add(OLD.status, -1);
    ELSIF OLD.status IS DISTINCT FROM NEW.status THEN
        IF OLD.status < NEW.status THEN
            PERFORM sync_run_counts_add(OLD.status, -1);
            PERFORM sync_run_counts_add(NEW.status, 1);
        ELSE
            PERFORM sync_run_counts_add(NEW.status, 1);
            PERFORM sync_run_counts_add(OLD.status, -1);
        END IF;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER sync_runs_count AFTER INSERT OR DELETE OR UPDATE OF status ON sync_runs
FOR EACH ROW EXECUTE FUNCTION sync_runs_count();
