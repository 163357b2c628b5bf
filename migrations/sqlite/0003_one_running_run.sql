-- At most one run of a kind is running for a user at a time, kept by the
-- database itself: two processes starting the same kind at the same instant
-- cannot both insert a 'running' row; the second insert fails and
-- run_insert answers ERR_CONFLICT naming the run that is running.
--
-- Rows left 'running' twice by older versions (crashed processes) would
-- stop the index from being built: all but the newest of each user and
-- kind are marked interrupted first, as runs_interrupt_stale would.
UPDATE sync_runs SET status = 'interrupted', finished_ms = heartbeat_ms
WHERE status = 'running' AND EXISTS (
    SELECT 1 FROM sync_runs AS newer
    WHERE newer.user_id = sync_runs.user_id AND newer.kind = sync_runs.kind
      AND newer.status = 'running'
      AND (newer.started_ms > sync_runs.started_ms
           OR (newer.started_ms = sync_runs.started_ms AND newer.id > sync_runs.id)));

CREATE UNIQUE INDEX sync_runs_one_running ON sync_runs (user_id, kind)
    WHERE status = 'running';
