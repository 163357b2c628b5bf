/*
 * The store operations of schedules (sync_schedules, see store.h and
 * docs/schedules.md), written once in SQL that SQLite and PostgreSQL both
 * accept and run through each backend's exec_text, as portable.c does for
 * API keys and webhooks: a schedule is read and written a few times a
 * minute at most, where one text of SQL for both backends is worth more
 * than prepared statements in each.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_backend.h"
#include "xalloc.h"
#include "banned.h"

#define COLS                                                                                       \
	"id, user_id, kind, interval_s, times, tz, enabled, next_due_ms, last_run_id, "            \
	"last_result, last_error, last_code, last_run_ms, failures, paused_reason, cred_mark, "    \
	"created_ms, updated_ms"

void schedule_row_release(struct schedule_row *r)
{
	free(r->id);
	free(r->user_id);
	free(r->kind);
	free(r->times);
	free(r->tz);
	free(r->last_run_id);
	free(r->last_result);
	free(r->last_error);
	free(r->last_code);
	free(r->paused_reason);
	free(r->cred_mark);
	memset(r, 0, sizeof(*r));
}

/* Runs an UPDATE or DELETE; none_err (with what) when it changed no row,
 * unless none_err is ERR_OK. */
static enum error change(struct store *s, const char *sql, int n, const char *const *values,
			 enum error none_err, const char *what)
{
	struct store_rows r;
	enum error err = store_text_run(s, sql, n, values, &r);

	if (!err && none_err && r.changed == 0)
		err = store_fail(s, none_err, "%s", what);
	store_rows_release(&r);
	return err;
}

static void row_from(struct store_rows *r, size_t i, struct schedule_row *o)
{
	o->id = store_rows_take(r, i, 0);
	o->user_id = store_rows_take(r, i, 1);
	o->kind = store_rows_take(r, i, 2);
	o->interval_s = store_rows_ll(r, i, 3);
	o->times = store_rows_take(r, i, 4);
	o->tz = store_rows_take(r, i, 5);
	o->enabled = store_rows_ll(r, i, 6) != 0;
	o->next_due_ms = store_rows_ll(r, i, 7);
	o->last_run_id = store_rows_take(r, i, 8);
	o->last_result = store_rows_take(r, i, 9);
	o->last_error = store_rows_take(r, i, 10);
	o->last_code = store_rows_take(r, i, 11);
	o->last_run_ms = store_rows_ll(r, i, 12);
	o->failures = store_rows_ll(r, i, 13);
	o->paused_reason = store_rows_take(r, i, 14);
	o->cred_mark = store_rows_take(r, i, 15);
	o->created_ms = store_rows_ll(r, i, 16);
	o->updated_ms = store_rows_ll(r, i, 17);
}

static enum error rows(struct store *s, const char *sql, int n, const char *const *values,
		       struct schedule_row **out, size_t *count)
{
	struct store_rows r;
	enum error err = store_text_run(s, sql, n, values, &r);
	size_t i;

	*out = NULL;
	*count = 0;
	if (!err) {
		*out = xcalloc(r.n_rows ? r.n_rows : 1, sizeof(**out));
		for (i = 0; i < r.n_rows; i++)
			row_from(&r, i, &(*out)[i]);
		*count = r.n_rows;
	}
	store_rows_release(&r);
	return err;
}

static const char *ll(long long v, char out[24])
{
	snprintf(out, 24, "%lld", v);
	return out;
}

enum error store_schedule_insert(struct store *s, const struct schedule_row *r)
{
	char iv[24], due[24], created[24];
	const char *v[10];

	if (!r->id || !r->user_id || !r->kind || !r->tz)
		return store_fail(s, ERR_INVALID,
				  "cannot store a schedule without id, user, kind and time zone");
	v[0] = r->id;
	v[1] = r->user_id;
	v[2] = r->kind;
	v[3] = ll(r->interval_s, iv);
	v[4] = r->times;
	v[5] = r->tz;
	v[6] = r->enabled ? "1" : "0";
	v[7] = ll(r->next_due_ms, due);
	v[8] = ll(r->created_ms, created);
	v[9] = created;
	return change(s,
		      "INSERT INTO sync_schedules (id, user_id, kind, interval_s, times, tz, "
		      "enabled, next_due_ms, failures, created_ms, updated_ms) "
		      "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9, $10)",
		      10, v, ERR_OK, NULL);
}

enum error store_schedule_list(struct store *s, const char *user_id, struct schedule_row **out,
			       size_t *n)
{
	const char *v[1] = {user_id};

	*out = NULL;
	*n = 0;
	if (!user_id)
		return store_fail(s, ERR_INVALID, "cannot list schedules without a user");
	return rows(s,
		    "SELECT " COLS " FROM sync_schedules WHERE user_id = $1 "
		    "ORDER BY created_ms, id",
		    1, v, out, n);
}

enum error store_schedule_get(struct store *s, const char *user_id, const char *id,
			      struct schedule_row *out)
{
	const char *v[2] = {id, user_id};
	struct schedule_row *all = NULL;
	size_t n = 0, i;
	enum error err;

	memset(out, 0, sizeof(*out));
	if (!id)
		return store_fail(s, ERR_INVALID, "cannot read a schedule without its id");
	err = rows(s,
		   "SELECT " COLS " FROM sync_schedules WHERE id = $1 "
		   "AND (CAST($2 AS TEXT) IS NULL OR user_id = $2)",
		   2, v, &all, &n);
	if (!err && n == 0)
		err = store_fail(s, ERR_NOTFOUND, "no schedule '%.64s'%s%.64s%s", id,
				 user_id ? " of user '" : "", user_id ? user_id : "",
				 user_id ? "'" : "");
	if (!err) {
		*out = all[0];
		memset(&all[0], 0, sizeof(all[0]));
	}
	for (i = 0; i < n; i++)
		schedule_row_release(&all[i]);
	free(all);
	return err;
}

enum error store_schedule_update(struct store *s, const struct schedule_row *r)
{
	char iv[24], due[24], fails[24], now[24], what[160];
	const char *v[12];

	if (!r->id || !r->user_id || !r->kind || !r->tz)
		return store_fail(s, ERR_INVALID,
				  "cannot change a schedule without id, user, kind and time zone");
	v[0] = r->id;
	v[1] = r->user_id;
	v[2] = r->kind;
	v[3] = ll(r->interval_s, iv);
	v[4] = r->times;
	v[5] = r->tz;
	v[6] = r->enabled ? "1" : "0";
	v[7] = ll(r->next_due_ms, due);
	v[8] = ll(r->failures, fails);
	v[9] = r->paused_reason;
	v[10] = r->cred_mark;
	v[11] = ll(r->updated_ms, now);
	snprintf(what, sizeof(what), "no schedule '%.64s' of user '%.64s'", r->id, r->user_id);
	return change(s,
		      "UPDATE sync_schedules SET kind = $3, interval_s = $4, times = $5, tz = $6, "
		      "enabled = $7, next_due_ms = $8, failures = $9, paused_reason = $10, "
		      "cred_mark = $11, updated_ms = $12 WHERE id = $1 AND user_id = $2",
		      12, v, ERR_NOTFOUND, what);
}

enum error store_schedule_delete(struct store *s, const char *user_id, const char *id)
{
	const char *v[2] = {id, user_id};
	char what[160];

	if (!id || !user_id)
		return store_fail(s, ERR_INVALID, "cannot delete a schedule without user and id");
	snprintf(what, sizeof(what), "no schedule '%.64s' of user '%.64s'", id, user_id);
	return change(s, "DELETE FROM sync_schedules WHERE id = $1 AND user_id = $2", 2, v,
		      ERR_NOTFOUND, what);
}

enum error store_schedule_scan(struct store *s, enum store_schedule_scan what, long long now_ms,
			       long long limit, struct schedule_row **out, size_t *n)
{
	char now[24], lim[24];
	const char *v[2] = {ll(now_ms, now), ll(limit > 0 ? limit : 100, lim)};

	switch (what) {
	case STORE_SCHEDULE_DUE:
		return rows(s,
			    "SELECT " COLS " FROM sync_schedules WHERE enabled = 1 "
			    "AND paused_reason IS NULL AND next_due_ms <= $1 "
			    "ORDER BY next_due_ms, id LIMIT $2",
			    2, v, out, n);
	case STORE_SCHEDULE_WATCHED:
		return rows(s,
			    "SELECT " COLS " FROM sync_schedules WHERE last_result = 'running' "
			    "AND last_run_ms <= $1 ORDER BY last_run_ms, id LIMIT $2",
			    2, v, out, n);
	case STORE_SCHEDULE_PAUSED:
		return rows(s,
			    "SELECT " COLS " FROM sync_schedules WHERE enabled = 1 "
			    "AND paused_reason IS NOT NULL AND updated_ms <= $1 "
			    "ORDER BY updated_ms, id LIMIT $2",
			    2, v, out, n);
	}
	*out = NULL;
	*n = 0;
	return store_fail(s, ERR_INVALID, "no such schedule scan");
}

enum error store_schedule_claim(struct store *s, const char *id, long long old_due_ms,
				long long new_due_ms)
{
	char old[24], nu[24];
	const char *v[3] = {id, ll(old_due_ms, old), ll(new_due_ms, nu)};

	if (!id)
		return store_fail(s, ERR_INVALID, "cannot claim a schedule without its id");
	return change(s,
		      "UPDATE sync_schedules SET next_due_ms = $3 WHERE id = $1 "
		      "AND next_due_ms = $2 AND enabled = 1 AND paused_reason IS NULL",
		      3, v, ERR_CONFLICT, "the due time was taken by another process");
}

enum error store_schedule_started(struct store *s, const char *id, const char *run_id,
				  long long now_ms)
{
	char now[24];
	const char *v[4] = {id, run_id, ll(now_ms, now), STORE_SCHEDULE_RUNNING};

	if (!id || !run_id)
		return store_fail(s, ERR_INVALID, "cannot record a schedule's run without ids");
	return change(s,
		      "UPDATE sync_schedules SET last_run_id = $2, last_result = $4, "
		      "last_error = NULL, last_code = NULL, last_run_ms = $3, updated_ms = $3 "
		      "WHERE id = $1",
		      4, v, ERR_NOTFOUND, "the schedule is gone");
}

enum error store_schedule_finish(struct store *s, const struct schedule_row *r)
{
	char fails[24], due[24], now[24];
	const char *v[10];

	if (!r->id || !r->last_run_id || !r->last_result)
		return store_fail(s, ERR_INVALID,
				  "cannot record a schedule's run without id, run and result");
	v[0] = r->id;
	v[1] = r->last_run_id;
	v[2] = r->last_result;
	v[3] = r->last_error;
	v[4] = r->last_code;
	v[5] = ll(r->failures, fails);
	v[6] = ll(r->next_due_ms, due);
	v[7] = r->paused_reason;
	v[8] = r->cred_mark;
	v[9] = ll(r->updated_ms, now);
	return change(s,
		      "UPDATE sync_schedules SET last_result = $3, last_error = $4, "
		      "last_code = $5, failures = $6, next_due_ms = $7, paused_reason = $8, "
		      "cred_mark = $9, updated_ms = $10 "
		      "WHERE id = $1 AND last_run_id = $2 AND last_result = 'running'",
		      10, v, ERR_CONFLICT, "the run's end was recorded by another process");
}

enum error store_schedule_skipped(struct store *s, const struct schedule_row *r)
{
	char now[24];
	const char *v[5];

	if (!r->id || !r->last_result)
		return store_fail(s, ERR_INVALID, "cannot record a skip without id and result");
	v[0] = r->id;
	v[1] = r->last_result;
	v[2] = r->last_error;
	v[3] = r->last_code;
	v[4] = ll(r->updated_ms, now);
	return change(s,
		      "UPDATE sync_schedules SET last_result = $2, last_error = $3, "
		      "last_code = $4, updated_ms = $5 WHERE id = $1 "
		      "AND (last_result IS NULL OR last_result <> 'running')",
		      5, v, ERR_OK, NULL);
}
