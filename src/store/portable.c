/*
 * The store operations of API keys and webhooks (see store.h), written once
 * in SQL that SQLite and PostgreSQL both accept and run through each
 * backend's exec_text: parameters and results travel as text, which both
 * databases convert to and from the INTEGER/BIGINT columns of migration
 * 0006. These are small, infrequent statements (a key lookup per request,
 * a few deliveries a minute), where one text of SQL for both backends is
 * worth more than prepared, typed statements in each.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_backend.h"
#include "xalloc.h"
#include "banned.h"

#define APIKEY_COLS                                                                                \
	"id, user_id, name, scope, key_hash, prefix, created_ms, last_used_ms, expires_ms, "       \
	"revoked_ms"
#define WEBHOOK_COLS "id, user_id, url, events, enabled, secret, created_ms"
#define DELIVERY_COLS                                                                              \
	"id, webhook_id, user_id, event, payload, status, attempts, created_ms, "                  \
	"next_attempt_ms, last_attempt_ms, last_http_status, last_error"

/* ---- rows ---------------------------------------------------------------- */

void store_rows_release(struct store_rows *r)
{
	size_t i;

	for (i = 0; i < r->n_rows * r->n_cols; i++)
		free(r->cells[i]);
	free(r->cells);
	memset(r, 0, sizeof(*r));
}

void apikey_row_release(struct apikey_row *k)
{
	free(k->id);
	free(k->user_id);
	free(k->name);
	free(k->scope);
	free(k->key_hash);
	free(k->prefix);
	memset(k, 0, sizeof(*k));
}

void webhook_row_release(struct webhook_row *w)
{
	free(w->id);
	free(w->user_id);
	free(w->url);
	free(w->events);
	free(w->secret);
	memset(w, 0, sizeof(*w));
}

void delivery_row_release(struct delivery_row *d)
{
	free(d->id);
	free(d->webhook_id);
	free(d->user_id);
	free(d->event);
	free(d->payload);
	free(d->status);
	free(d->last_error);
	memset(d, 0, sizeof(*d));
}

char *store_rows_take(struct store_rows *r, size_t i, size_t c)
{
	char *v = r->cells[i * r->n_cols + c];

	r->cells[i * r->n_cols + c] = NULL;
	return v;
}

long long store_rows_ll(const struct store_rows *r, size_t i, size_t c)
{
	const char *v = r->cells[i * r->n_cols + c];

	return v ? strtoll(v, NULL, 10) : 0;
}

enum error store_text_run(struct store *s, const char *sql, int n, const char *const *values,
			  struct store_rows *out)
{
	memset(out, 0, sizeof(*out));
	s->errmsg[0] = '\0';
	return s->ops->exec_text(s, sql, n, values, out);
}

/* A number as a parameter: NULL for 0 (never), else its text in out. */
static const char *ms_param(long long v, char out[24])
{
	if (v <= 0)
		return NULL;
	snprintf(out, 24, "%lld", v);
	return out;
}

/* Runs a statement whose rows are of no interest; ERR_NOTFOUND (with what)
 * when it changed no row and must_change is set. */
static enum error change(struct store *s, const char *sql, int n, const char *const *values,
			 int must_change, const char *what)
{
	struct store_rows r;
	enum error err = store_text_run(s, sql, n, values, &r);

	if (!err && must_change && r.changed == 0)
		err = store_fail(s, ERR_NOTFOUND, "%s", what);
	store_rows_release(&r);
	return err;
}

static int missing(struct store *s, const char *what, const char *a, const char *b)
{
	if (a && b)
		return 0;
	store_fail(s, ERR_INVALID, "%s", what);
	return 1;
}

/* ---- API keys ------------------------------------------------------------ */

static void apikey_from(struct store_rows *r, size_t i, struct apikey_row *k)
{
	k->id = store_rows_take(r, i, 0);
	k->user_id = store_rows_take(r, i, 1);
	k->name = store_rows_take(r, i, 2);
	k->scope = store_rows_take(r, i, 3);
	k->key_hash = store_rows_take(r, i, 4);
	k->prefix = store_rows_take(r, i, 5);
	k->created_ms = store_rows_ll(r, i, 6);
	k->last_used_ms = store_rows_ll(r, i, 7);
	k->expires_ms = store_rows_ll(r, i, 8);
	k->revoked_ms = store_rows_ll(r, i, 9);
}

enum error store_apikey_insert(struct store *s, const struct apikey_row *k)
{
	char created[24], expires[24];
	const char *v[8];

	if (missing(s, "cannot store an API key without id and user", k->id, k->user_id) ||
	    missing(s, "cannot store an API key without name and scope", k->name, k->scope) ||
	    missing(s, "cannot store an API key without hash and prefix", k->key_hash, k->prefix))
		return ERR_INVALID;
	v[0] = k->id;
	v[1] = k->user_id;
	v[2] = k->name;
	v[3] = k->scope;
	v[4] = k->key_hash;
	v[5] = k->prefix;
	snprintf(created, sizeof(created), "%lld", k->created_ms);
	v[6] = created;
	v[7] = ms_param(k->expires_ms, expires);
	return change(s,
		      "INSERT INTO api_keys (id, user_id, name, scope, key_hash, prefix, "
		      "created_ms, expires_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
		      8, v, 0, NULL);
}

enum error store_apikey_find(struct store *s, const char *key_hash, struct apikey_row *out)
{
	struct store_rows r;
	const char *v[1] = {key_hash};
	enum error err;

	memset(out, 0, sizeof(*out));
	if (missing(s, "cannot look up an API key without its hash", key_hash, ""))
		return ERR_INVALID;
	err =
	    store_text_run(s, "SELECT " APIKEY_COLS " FROM api_keys WHERE key_hash = $1", 1, v, &r);
	if (!err && r.n_rows == 0)
		err = store_fail(s, ERR_NOTFOUND, "no such API key in api_keys");
	if (!err)
		apikey_from(&r, 0, out);
	store_rows_release(&r);
	return err;
}

enum error store_apikey_list(struct store *s, const char *user_id, struct apikey_row **out,
			     size_t *n)
{
	struct store_rows r;
	const char *v[1] = {user_id};
	enum error err;
	size_t i;

	*out = NULL;
	*n = 0;
	if (missing(s, "cannot list API keys without a user", user_id, ""))
		return ERR_INVALID;
	err = store_text_run(s,
			     "SELECT " APIKEY_COLS " FROM api_keys WHERE user_id = $1 "
			     "ORDER BY created_ms DESC, id",
			     1, v, &r);
	if (!err) {
		*out = xcalloc(r.n_rows ? r.n_rows : 1, sizeof(**out));
		for (i = 0; i < r.n_rows; i++)
			apikey_from(&r, i, &(*out)[i]);
		*n = r.n_rows;
	}
	store_rows_release(&r);
	return err;
}

enum error store_apikey_revoke(struct store *s, const char *user_id, const char *id,
			       long long now_ms)
{
	char now[24], what[160];
	const char *v[3] = {user_id, id, now};

	if (missing(s, "cannot revoke an API key without user and id", user_id, id))
		return ERR_INVALID;
	snprintf(now, sizeof(now), "%lld", now_ms);
	snprintf(what, sizeof(what), "no API key '%.64s' of user '%.64s'", id, user_id);
	return change(s,
		      "UPDATE api_keys SET revoked_ms = coalesce(revoked_ms, $3) "
		      "WHERE user_id = $1 AND id = $2",
		      3, v, 1, what);
}

enum error store_apikey_touch(struct store *s, const char *id, long long now_ms)
{
	char now[24];
	const char *v[2] = {id, now};

	if (missing(s, "cannot touch an API key without id", id, ""))
		return ERR_INVALID;
	snprintf(now, sizeof(now), "%lld", now_ms);
	return change(s, "UPDATE api_keys SET last_used_ms = $2 WHERE id = $1", 2, v, 0, NULL);
}

/* ---- webhooks ------------------------------------------------------------ */

static void webhook_from(struct store_rows *r, size_t i, struct webhook_row *w)
{
	w->id = store_rows_take(r, i, 0);
	w->user_id = store_rows_take(r, i, 1);
	w->url = store_rows_take(r, i, 2);
	w->events = store_rows_take(r, i, 3);
	w->enabled = store_rows_ll(r, i, 4) != 0;
	w->secret = store_rows_take(r, i, 5);
	w->created_ms = store_rows_ll(r, i, 6);
}

enum error store_webhook_insert(struct store *s, const struct webhook_row *w)
{
	char created[24];
	const char *v[7];

	if (missing(s, "cannot store a webhook without id and user", w->id, w->user_id) ||
	    missing(s, "cannot store a webhook without url and events", w->url, w->events) ||
	    missing(s, "cannot store a webhook without a secret", w->secret, ""))
		return ERR_INVALID;
	snprintf(created, sizeof(created), "%lld", w->created_ms);
	v[0] = w->id;
	v[1] = w->user_id;
	v[2] = w->url;
	v[3] = w->events;
	v[4] = w->enabled ? "1" : "0";
	v[5] = w->secret;
	v[6] = created;
	return change(s,
		      "INSERT INTO webhooks (" WEBHOOK_COLS ") VALUES ($1, $2, $3, $4, $5, $6, $7)",
		      7, v, 0, NULL);
}

enum error store_webhook_list(struct store *s, const char *user_id, struct webhook_row **out,
			      size_t *n)
{
	struct store_rows r;
	const char *v[1] = {user_id};
	enum error err;
	size_t i;

	*out = NULL;
	*n = 0;
	if (missing(s, "cannot list webhooks without a user", user_id, ""))
		return ERR_INVALID;
	err = store_text_run(s,
			     "SELECT " WEBHOOK_COLS " FROM webhooks WHERE user_id = $1 "
			     "ORDER BY created_ms, id",
			     1, v, &r);
	if (!err) {
		*out = xcalloc(r.n_rows ? r.n_rows : 1, sizeof(**out));
		for (i = 0; i < r.n_rows; i++)
			webhook_from(&r, i, &(*out)[i]);
		*n = r.n_rows;
	}
	store_rows_release(&r);
	return err;
}

enum error store_webhook_set_enabled(struct store *s, const char *user_id, const char *id,
				     int enabled)
{
	const char *v[3] = {user_id, id, enabled ? "1" : "0"};
	char what[160];

	if (missing(s, "cannot change a webhook without user and id", user_id, id))
		return ERR_INVALID;
	snprintf(what, sizeof(what), "no webhook '%.64s' of user '%.64s'", id, user_id);
	return change(s, "UPDATE webhooks SET enabled = $3 WHERE user_id = $1 AND id = $2", 3, v, 1,
		      what);
}

enum error store_webhook_delete(struct store *s, const char *user_id, const char *id)
{
	const char *v[2] = {user_id, id};
	char what[160];
	enum error err;

	if (missing(s, "cannot delete a webhook without user and id", user_id, id))
		return ERR_INVALID;
	snprintf(what, sizeof(what), "no webhook '%.64s' of user '%.64s'", id, user_id);
	err = change(s, "DELETE FROM webhooks WHERE user_id = $1 AND id = $2", 2, v, 1, what);
	if (!err)
		err = change(
		    s, "DELETE FROM webhook_deliveries WHERE user_id = $1 AND webhook_id = $2", 2,
		    v, 0, NULL);
	return err;
}

/* ---- deliveries ---------------------------------------------------------- */

static void delivery_from(struct store_rows *r, size_t i, struct delivery_row *d)
{
	d->id = store_rows_take(r, i, 0);
	d->webhook_id = store_rows_take(r, i, 1);
	d->user_id = store_rows_take(r, i, 2);
	d->event = store_rows_take(r, i, 3);
	d->payload = store_rows_take(r, i, 4);
	d->status = store_rows_take(r, i, 5);
	d->attempts = store_rows_ll(r, i, 6);
	d->created_ms = store_rows_ll(r, i, 7);
	d->next_attempt_ms = store_rows_ll(r, i, 8);
	d->last_attempt_ms = store_rows_ll(r, i, 9);
	d->last_http_status = store_rows_ll(r, i, 10);
	d->last_error = store_rows_take(r, i, 11);
}

static enum error delivery_rows(struct store *s, const char *sql, int n, const char *const *values,
				struct delivery_row **out, size_t *count)
{
	struct store_rows r;
	enum error err = store_text_run(s, sql, n, values, &r);
	size_t i;

	if (!err) {
		*out = xcalloc(r.n_rows ? r.n_rows : 1, sizeof(**out));
		for (i = 0; i < r.n_rows; i++)
			delivery_from(&r, i, &(*out)[i]);
		*count = r.n_rows;
	}
	store_rows_release(&r);
	return err;
}

enum error store_delivery_insert(struct store *s, const struct delivery_row *d)
{
	char created[24], next[24];
	const char *v[8];

	if (missing(s, "cannot store a delivery without id and webhook", d->id, d->webhook_id) ||
	    missing(s, "cannot store a delivery without user and event", d->user_id, d->event) ||
	    missing(s, "cannot store a delivery without payload and status", d->payload, d->status))
		return ERR_INVALID;
	snprintf(created, sizeof(created), "%lld", d->created_ms);
	snprintf(next, sizeof(next), "%lld", d->next_attempt_ms);
	v[0] = d->id;
	v[1] = d->webhook_id;
	v[2] = d->user_id;
	v[3] = d->event;
	v[4] = d->payload;
	v[5] = d->status;
	v[6] = created;
	v[7] = next;
	return change(s,
		      "INSERT INTO webhook_deliveries (id, webhook_id, user_id, event, payload, "
		      "status, attempts, created_ms, next_attempt_ms) "
		      "VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $8)",
		      8, v, 0, NULL);
}

enum error store_delivery_due(struct store *s, long long now_ms, long long limit,
			      struct delivery_row **out, size_t *n)
{
	char now[24], lim[24];
	const char *v[3] = {STORE_DELIVERY_PENDING, now, lim};

	*out = NULL;
	*n = 0;
	snprintf(now, sizeof(now), "%lld", now_ms);
	snprintf(lim, sizeof(lim), "%lld", limit > 0 ? limit : 100);
	return delivery_rows(s,
			     "SELECT " DELIVERY_COLS " FROM webhook_deliveries "
			     "WHERE status = $1 AND next_attempt_ms <= $2 "
			     "ORDER BY next_attempt_ms, id LIMIT $3",
			     3, v, out, n);
}

enum error store_delivery_claim(struct store *s, const struct delivery_row *d, long long now_ms,
				long long lease_until_ms)
{
	char attempts[24], now[24], lease[24], what[160];
	const char *v[5] = {d->id, attempts, now, lease, STORE_DELIVERY_PENDING};

	if (missing(s, "cannot claim a delivery without id", d->id, ""))
		return ERR_INVALID;
	snprintf(attempts, sizeof(attempts), "%lld", d->attempts);
	snprintf(now, sizeof(now), "%lld", now_ms);
	snprintf(lease, sizeof(lease), "%lld", lease_until_ms);
	snprintf(what, sizeof(what), "delivery '%.64s' was claimed by another process", d->id);
	{
		enum error err = change(s,
					"UPDATE webhook_deliveries SET attempts = attempts + 1, "
					"last_attempt_ms = $3, next_attempt_ms = $4 "
					"WHERE id = $1 AND attempts = $2 AND status = $5",
					5, v, 1, what);
		return err == ERR_NOTFOUND ? ERR_CONFLICT : err;
	}
}

enum error store_delivery_finish(struct store *s, const struct delivery_row *d)
{
	char next[24], http[24];
	const char *v[5];

	if (missing(s, "cannot finish a delivery without id and status", d->id, d->status))
		return ERR_INVALID;
	snprintf(next, sizeof(next), "%lld", d->next_attempt_ms);
	snprintf(http, sizeof(http), "%lld", d->last_http_status);
	v[0] = d->id;
	v[1] = d->status;
	v[2] = next;
	v[3] = d->last_http_status ? http : NULL;
	v[4] = d->last_error;
	return change(s,
		      "UPDATE webhook_deliveries SET status = $2, next_attempt_ms = $3, "
		      "last_http_status = $4, last_error = $5 WHERE id = $1",
		      5, v, 0, NULL);
}

enum error store_delivery_list(struct store *s, const char *user_id, const char *webhook_id,
			       long long limit, struct delivery_row **out, size_t *n)
{
	char lim[24];
	const char *v[3] = {user_id, webhook_id, lim};

	*out = NULL;
	*n = 0;
	if (missing(s, "cannot list deliveries without a user", user_id, ""))
		return ERR_INVALID;
	snprintf(lim, sizeof(lim), "%lld", limit > 0 ? limit : 50);
	return delivery_rows(s,
			     "SELECT " DELIVERY_COLS " FROM webhook_deliveries "
			     "WHERE user_id = $1 AND (CAST($2 AS TEXT) IS NULL OR webhook_id = $2) "
			     "ORDER BY created_ms DESC, id DESC LIMIT $3",
			     3, v, out, n);
}

enum error store_delivery_redeliver(struct store *s, const char *user_id, const char *id,
				    long long now_ms)
{
	char now[24], what[160];
	const char *v[4] = {user_id, id, now, STORE_DELIVERY_PENDING};

	if (missing(s, "cannot redeliver without user and id", user_id, id))
		return ERR_INVALID;
	snprintf(now, sizeof(now), "%lld", now_ms);
	snprintf(what, sizeof(what), "no delivery '%.64s' of user '%.64s'", id, user_id);
	return change(s,
		      "UPDATE webhook_deliveries SET status = $4, next_attempt_ms = $3 "
		      "WHERE user_id = $1 AND id = $2",
		      4, v, 1, what);
}
