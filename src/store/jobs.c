/*
 * The job queue's store operations (see store.h and docs/queue.md), written
 * once in SQL that SQLite and PostgreSQL both accept and run through each
 * backend's exec_text and exec_text_tx. The one difference is the claim:
 * PostgreSQL locks the job it picks with FOR UPDATE SKIP LOCKED, so that
 * workers on many machines never wait for each other nor take the same job;
 * SQLite runs the same statement under its write lock (BEGIN IMMEDIATE),
 * which serialises claims among the processes of its one host.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_backend.h"
#include "xalloc.h"
#include "banned.h"

#define JOB_COLS                                                                                   \
	"run_id, user_id, kind, options, state, worker, wait_reason, lease_until_ms, "             \
	"not_before_ms, created_ms, updated_ms, attempts, max_attempts"
#define LAST_SEQ "(SELECT COALESCE(MAX(seq), 0) FROM sync_events WHERE run_id = sync_jobs.run_id)"

int store_run_active(const char *status)
{
	return status && (!strcmp(status, STORE_RUN_RUNNING) || !strcmp(status, STORE_RUN_QUEUED));
}

void job_row_release(struct job_row *j)
{
	free(j->run_id);
	free(j->user_id);
	free(j->kind);
	free(j->options);
	free(j->state);
	free(j->worker);
	free(j->wait_reason);
	memset(j, 0, sizeof(*j));
}

/* Row 0 of r, columns JOB_COLS then LAST_SEQ, into out. */
static void job_from(struct store_rows *r, struct job_row *out)
{
	out->run_id = store_rows_take(r, 0, 0);
	out->user_id = store_rows_take(r, 0, 1);
	out->kind = store_rows_take(r, 0, 2);
	out->options = store_rows_take(r, 0, 3);
	out->state = store_rows_take(r, 0, 4);
	out->worker = store_rows_take(r, 0, 5);
	out->wait_reason = store_rows_take(r, 0, 6);
	out->lease_until_ms = store_rows_ll(r, 0, 7);
	out->not_before_ms = store_rows_ll(r, 0, 8);
	out->created_ms = store_rows_ll(r, 0, 9);
	out->updated_ms = store_rows_ll(r, 0, 10);
	out->attempts = store_rows_ll(r, 0, 11);
	out->max_attempts = store_rows_ll(r, 0, 12);
	out->last_seq = r->n_cols > 13 ? store_rows_ll(r, 0, 13) : 0;
}

static enum error tx(struct store *s, const struct store_stmt *st, size_t n,
		     struct store_rows *outs)
{
	memset(outs, 0, n * sizeof(*outs));
	s->errmsg[0] = '\0';
	return s->ops->exec_text_tx(s, st, n, outs);
}

static void release_all(struct store_rows *outs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		store_rows_release(&outs[i]);
}

/* A statement whose rows do not matter; ERR_NOTFOUND (saying what) when it
 * changed nothing. */
static enum error change(struct store *s, const char *sql, int n, const char *const *v,
			 const char *what)
{
	struct store_rows r;
	enum error err = store_text_run(s, sql, n, v, &r);

	if (!err && r.changed == 0)
		err = store_fail(s, ERR_NOTFOUND, "%s", what);
	store_rows_release(&r);
	return err;
}

#define NUM(buf, v) (snprintf(buf, sizeof(buf), "%lld", (long long)(v)), (const char *)buf)

enum error store_job_enqueue(struct store *s, const struct run_row *run, const struct job_row *job)
{
	char t[24], max[24];
	const char *rv[4] = {run->id, run->user_id, run->kind, NUM(t, job->created_ms)};
	const char *jv[6] = {run->id,
			     run->user_id,
			     run->kind,
			     job->options,
			     NUM(max, job->max_attempts > 0 ? job->max_attempts : 3),
			     t};
	const struct store_stmt st[2] = {
	    {"INSERT INTO sync_runs (id, user_id, kind, status, fetched, stored, failed, total, "
	     "started_ms, heartbeat_ms, stop_requested) VALUES ($1, $2, $3, 'queued', 0, 0, 0, 0, "
	     "CAST($4 AS BIGINT), CAST($4 AS BIGINT), 0)",
	     4, rv},
	    {"INSERT INTO sync_jobs (run_id, user_id, kind, options, state, max_attempts, "
	     "created_ms, updated_ms, not_before_ms) VALUES ($1, $2, $3, $4, 'queued', "
	     "CAST($5 AS BIGINT), CAST($6 AS BIGINT), CAST($6 AS BIGINT), 0)",
	     6, jv},
	};
	const char *kv[2] = {run->user_id, run->kind};
	struct store_rows outs[2], r;
	enum error err;

	err = tx(s, st, 2, outs);
	release_all(outs, 2);
	if (err != ERR_CONFLICT)
		return err;
	/* Name the run of that kind that is queued or running. */
	err = store_text_run(s,
			     "SELECT id FROM sync_runs WHERE user_id = $1 AND kind = $2 "
			     "AND status IN ('running', 'queued')",
			     2, kv, &r);
	err = store_run_conflict(s, run, !err && r.n_rows ? r.cells[0] : NULL);
	store_rows_release(&r);
	return err;
}

enum error store_job_claim(struct store *s, const char *worker, long long now_ms,
			   long long lease_until_ms, struct job_row *out)
{
	char now[24], lease[24];
	const char *v[3] = {worker, NUM(now, now_ms), NUM(lease, lease_until_ms)};
	int pg = !strcmp(s->ops->name, "postgres");
	char *sql = xasprintf("UPDATE sync_jobs SET state = 'running', worker = $1, "
			      "lease_until_ms = CAST($3 AS BIGINT), attempts = attempts + 1, "
			      "updated_ms = CAST($2 AS BIGINT), wait_reason = NULL "
			      "WHERE state = 'queued' AND run_id = (SELECT run_id FROM sync_jobs "
			      "WHERE state = 'queued' AND not_before_ms <= CAST($2 AS BIGINT) "
			      "ORDER BY not_before_ms, created_ms LIMIT 1%s) RETURNING " JOB_COLS
			      ", " LAST_SEQ,
			      pg ? " FOR UPDATE SKIP LOCKED" : "");
	const struct store_stmt st = {sql, 3, v};
	struct store_rows r;
	enum error err;

	memset(out, 0, sizeof(*out));
	err = tx(s, &st, 1, &r);
	free(sql);
	if (!err && r.n_rows == 0)
		err = ERR_NOTFOUND;
	if (!err)
		job_from(&r, out);
	store_rows_release(&r);
	return err;
}

enum error store_job_run_started(struct store *s, const char *run_id, const char *owner,
				 long long now_ms)
{
	char now[24];
	const char *v[3] = {run_id, owner, NUM(now, now_ms)};

	return change(s,
		      "UPDATE sync_runs SET status = 'running', owner = $2, "
		      "heartbeat_ms = CAST($3 AS BIGINT), finished_ms = NULL WHERE id = $1 "
		      "AND status IN ('queued', 'running')",
		      3, v, "the run is no longer queued");
}

enum error store_job_renew(struct store *s, const char *run_id, const char *worker,
			   long long lease_until_ms)
{
	char lease[24];
	const char *v[3] = {run_id, worker, NUM(lease, lease_until_ms)};

	return change(s,
		      "UPDATE sync_jobs SET lease_until_ms = CAST($3 AS BIGINT) "
		      "WHERE run_id = $1 AND worker = $2 AND state = 'running'",
		      3, v, "the job is no longer this worker's");
}

enum error store_job_finish(struct store *s, const char *run_id, const char *worker,
			    const char *state, long long now_ms)
{
	char now[24];
	const char *v[4] = {run_id, worker, state, NUM(now, now_ms)};

	return change(s,
		      "UPDATE sync_jobs SET state = $3, updated_ms = CAST($4 AS BIGINT) "
		      "WHERE run_id = $1 AND worker = $2 AND state = 'running'",
		      4, v, "the job is no longer this worker's");
}

enum error store_job_requeue(struct store *s, const char *run_id, const char *worker,
			     long long not_before_ms, const char *wait_reason, int refund,
			     long long now_ms)
{
	char nb[24], now[24];
	const char *v[6] = {
	    run_id,	     worker, NUM(nb, not_before_ms), wait_reason, refund ? "1" : "0",
	    NUM(now, now_ms)};
	const char *rv[1] = {run_id};
	const struct store_stmt st[2] = {
	    {"UPDATE sync_jobs SET state = 'queued', worker = NULL, lease_until_ms = 0, "
	     "not_before_ms = CAST($3 AS BIGINT), wait_reason = $4, "
	     "attempts = attempts - CAST($5 AS BIGINT), updated_ms = CAST($6 AS BIGINT) "
	     "WHERE run_id = $1 AND worker = $2 AND state = 'running'",
	     6, v},
	    {"UPDATE sync_runs SET status = 'queued' WHERE id = $1 AND status = 'running' "
	     "AND EXISTS (SELECT 1 FROM sync_jobs WHERE run_id = $1 AND state = 'queued')",
	     1, rv},
	};
	struct store_rows outs[2];
	enum error err = tx(s, st, 2, outs);

	if (!err && outs[0].changed == 0)
		err = store_fail(s, ERR_NOTFOUND, "the job is no longer this worker's");
	release_all(outs, 2);
	return err;
}

enum error store_job_reap(struct store *s, long long now_ms, long long *requeued, long long *failed)
{
	char now[24];
	const char *v[1] = {NUM(now, now_ms)};
#define EXPIRED "state = 'running' AND lease_until_ms < CAST($1 AS BIGINT)"
	const struct store_stmt st[4] = {
	    {"UPDATE sync_runs SET status = 'failed', finished_ms = CAST($1 AS BIGINT), "
	     "error_code = 'worker_lost', error = 'its worker stopped (no heartbeat) on every "
	     "attempt' WHERE id IN (SELECT run_id FROM sync_jobs WHERE " EXPIRED
	     " AND attempts >= max_attempts)",
	     1, v},
	    {"UPDATE sync_jobs SET state = 'failed', updated_ms = CAST($1 AS BIGINT), "
	     "wait_reason = NULL WHERE " EXPIRED " AND attempts >= max_attempts",
	     1, v},
	    {"UPDATE sync_runs SET status = 'queued' WHERE id IN (SELECT run_id FROM sync_jobs "
	     "WHERE " EXPIRED ")",
	     1, v},
	    {"UPDATE sync_jobs SET state = 'queued', updated_ms = CAST($1 AS BIGINT), "
	     "wait_reason = 'its worker ' || worker || ' stopped heartbeating', worker = NULL, "
	     "lease_until_ms = 0 WHERE " EXPIRED,
	     1, v},
	};
#undef EXPIRED
	struct store_rows outs[4];
	enum error err = tx(s, st, 4, outs);

	if (requeued)
		*requeued = err ? 0 : outs[3].changed;
	if (failed)
		*failed = err ? 0 : outs[1].changed;
	release_all(outs, 4);
	return err;
}

enum error store_job_cancel(struct store *s, const char *user_id, const char *run_id,
			    long long now_ms)
{
	char now[24];
	const char *v[3] = {run_id, user_id, NUM(now, now_ms)};
	const struct store_stmt st[2] = {
	    {"UPDATE sync_jobs SET state = 'cancelled', updated_ms = CAST($3 AS BIGINT), "
	     "wait_reason = NULL WHERE run_id = $1 AND user_id = $2 AND state = 'queued'",
	     3, v},
	    {"UPDATE sync_runs SET status = 'cancelled', finished_ms = CAST($3 AS BIGINT) "
	     "WHERE id = $1 AND user_id = $2 AND status = 'queued' AND EXISTS (SELECT 1 FROM "
	     "sync_jobs WHERE run_id = $1 AND state = 'cancelled')",
	     3, v},
	};
	struct store_rows outs[2];
	enum error err = tx(s, st, 2, outs);

	if (!err && outs[0].changed == 0)
		err = store_fail(s, ERR_NOTFOUND, "run '%s' is not queued", run_id);
	release_all(outs, 2);
	return err;
}

enum error store_job_get(struct store *s, const char *run_id, struct job_row *out)
{
	const char *v[1] = {run_id};
	struct store_rows r;
	enum error err;

	memset(out, 0, sizeof(*out));
	err = store_text_run(
	    s, "SELECT " JOB_COLS ", " LAST_SEQ " FROM sync_jobs WHERE run_id = $1", 1, v, &r);
	if (!err && r.n_rows == 0)
		err = store_fail(s, ERR_NOTFOUND, "run '%s' has no job", run_id);
	if (!err)
		job_from(&r, out);
	store_rows_release(&r);
	return err;
}

enum error store_jobs_active(struct store *s, struct job_row **out, size_t *n)
{
	const char *v[2] = {STORE_JOB_QUEUED, STORE_JOB_RUNNING};
	struct store_rows r;
	enum error err;
	size_t i;

	*out = NULL;
	*n = 0;
	err = store_text_run(s,
			     "SELECT user_id, kind, state FROM sync_jobs WHERE state IN ($1, $2) "
			     "ORDER BY created_ms, run_id LIMIT 10000",
			     2, v, &r);
	if (err)
		return err;
	*out = xcalloc(r.n_rows ? r.n_rows : 1, sizeof(**out));
	for (i = 0; i < r.n_rows; i++) {
		(*out)[i].user_id = store_rows_take(&r, i, 0);
		(*out)[i].kind = store_rows_take(&r, i, 1);
		(*out)[i].state = store_rows_take(&r, i, 2);
	}
	*n = r.n_rows;
	store_rows_release(&r);
	return ERR_OK;
}

enum error store_job_stats(struct store *s, long long fresh_since_ms, long long now_ms,
			   struct job_stats *out)
{
	char fresh[24], now[24];
	const char *v[2] = {NUM(fresh, fresh_since_ms), NUM(now, now_ms)};
	struct store_rows r;
	enum error err;
	size_t i;

	memset(out, 0, sizeof(*out));
	err = store_text_run(
	    s,
	    "SELECT state, COUNT(*), SUM(CASE WHEN state = 'queued' AND not_before_ms > "
	    "CAST($2 AS BIGINT) THEN 1 ELSE 0 END) FROM sync_jobs GROUP BY state "
	    "UNION ALL SELECT 'workers', COUNT(*), 0 FROM sync_workers "
	    "WHERE heartbeat_ms >= CAST($1 AS BIGINT)",
	    2, v, &r);
	for (i = 0; !err && i < r.n_rows; i++) {
		const char *state = r.cells[i * r.n_cols];
		long long n = store_rows_ll(&r, i, 1);

		if (!state)
			continue;
		if (!strcmp(state, STORE_JOB_QUEUED)) {
			out->queued = n;
			out->waiting = store_rows_ll(&r, i, 2);
		}
		out->running += !strcmp(state, STORE_JOB_RUNNING) ? n : 0;
		out->done += !strcmp(state, STORE_JOB_DONE) ? n : 0;
		out->failed += !strcmp(state, STORE_JOB_FAILED) ? n : 0;
		out->cancelled += !strcmp(state, STORE_JOB_CANCELLED) ? n : 0;
		out->workers += !strcmp(state, "workers") ? n : 0;
	}
	store_rows_release(&r);
	return err;
}

enum error store_worker_beat(struct store *s, const char *id, int slots, long long now_ms)
{
	char n[24], now[24];
	const char *v[3] = {id, NUM(n, slots), NUM(now, now_ms)};
	struct store_rows r;
	enum error err;

	err = store_text_run(
	    s,
	    "INSERT INTO sync_workers (id, slots, started_ms, heartbeat_ms) VALUES ($1, "
	    "CAST($2 AS BIGINT), CAST($3 AS BIGINT), CAST($3 AS BIGINT)) ON CONFLICT (id) "
	    "DO UPDATE SET heartbeat_ms = excluded.heartbeat_ms, slots = excluded.slots",
	    3, v, &r);
	store_rows_release(&r);
	return err;
}

enum error store_worker_gone(struct store *s, const char *id)
{
	const char *v[1] = {id};
	struct store_rows r;
	enum error err = store_text_run(s, "DELETE FROM sync_workers WHERE id = $1", 1, v, &r);

	store_rows_release(&r);
	return err;
}
