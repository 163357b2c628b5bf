/*
 * The backend-independent half of the storage interface (see store.h):
 * store_open() picks the backend from the URL, and the store_* wrappers call
 * through the backend's operation table, so nothing above this file knows
 * which database is underneath. Each wrapper first clears the outputs and
 * refuses missing arguments, once for every backend, so the backends
 * (store/store_backend.h) assume valid arguments. Also what the backends
 * share: the price check, the conflict message of a run, the LIKE pattern of
 * a search, and the release functions of the row types that store.h
 * declares.
 *
 * A backend's open() may leave s->priv set when it fails; store_open() then
 * calls the backend's close() to free what was built, so close() must cope
 * with a half-opened store (and open() must not free priv without clearing
 * it).
 */
#include "store.h"
#include "store/store_backend.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "xalloc.h"

#include "banned.h"

/* libpq URLs and keyword/value connection strings go to PostgreSQL. */
static int is_pg_url(const char *url)
{
	return !strncmp(url, "postgres://", 11) || !strncmp(url, "postgresql://", 13) ||
	       strstr(url, "dbname=") || strstr(url, "host=");
}

enum error store_open(const char *url, struct store **out, struct buf *errmsg)
{
	struct store *s;
	enum error err;

	*out = NULL;
	if (!url || !*url) {
		if (errmsg)
			buf_adds(errmsg, "no database given: pass a SQLite file path or a "
					 "postgresql:// URL");
		return ERR_INVALID;
	}
	s = xcalloc(1, sizeof(*s));
	s->ops = is_pg_url(url) ? &store_pg_ops : &store_sqlite_ops;
	err = s->ops->open(s, url);
	if (err) {
		if (errmsg)
			buf_adds(errmsg, s->errmsg[0] ? s->errmsg : error_strerror(err));
		if (s->priv)
			s->ops->close(s);
		free(s);
		return err;
	}
	*out = s;
	return ERR_OK;
}

void store_close(struct store *s)
{
	if (!s)
		return;
	s->ops->close(s);
	free(s);
}

const char *store_backend(const struct store *s)
{
	return s->ops->name;
}

const char *store_errmsg(const struct store *s)
{
	return s->errmsg;
}

enum error store_fail(struct store *s, enum error err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->errmsg, sizeof(s->errmsg), fmt, ap);
	va_end(ap);
	return err;
}

/*
 * Refuses a batch that no backend could store, before any transaction
 * starts: no user id, an item without SKU, an offer without offer id or
 * SKU. ERR_INVALID with a message naming the row.
 */
static enum error check_batch(struct store *s, const char *user_id, const struct item_row *items,
			      size_t n_items, const struct offer_row *offers, size_t n_offers)
{
	size_t i;

	if (!user_id || !*user_id)
		return store_fail(s, ERR_INVALID, "cannot store rows without a user id");
	for (i = 0; i < n_items; i++)
		if (!items[i].sku || !*items[i].sku)
			return store_fail(
			    s, ERR_INVALID,
			    "cannot upsert inventory row %zu of the batch: it has no sku", i + 1);
	for (i = 0; i < n_offers; i++) {
		if (!offers[i].offer_id || !*offers[i].offer_id)
			return store_fail(
			    s, ERR_INVALID,
			    "cannot upsert offer row %zu of the batch: it has no offer id", i + 1);
		if (!offers[i].sku || !*offers[i].sku)
			return store_fail(s, ERR_INVALID,
					  "cannot upsert offer row for offer '%s': it has no sku",
					  offers[i].offer_id);
	}
	return ERR_OK;
}

/* Refuses a listing of table ("inventory", "offers") without a user id or
 * with search text over STORE_SEARCH_MAX bytes: ERR_INVALID. */
static enum error check_query(struct store *s, const char *table, const struct store_query *q)
{
	if (!q || !q->user_id)
		return store_fail(s, ERR_INVALID, "cannot list %s without a user id", table);
	if (q->search && strlen(q->search) > STORE_SEARCH_MAX)
		return store_fail(s, ERR_INVALID, "search text is %zu bytes, over the limit of %d",
				  strlen(q->search), STORE_SEARCH_MAX);
	if (q->after &&
	    ((q->sort && strcmp(q->sort, "sku_code") != 0 && strcmp(q->sort, "offer_id") != 0) ||
	     q->desc))
		return store_fail(s, ERR_INVALID,
				  "cannot page %s after a key with sort '%.64s'%s: keyset paging "
				  "follows the key's ascending order",
				  table, q->sort ? q->sort : "sku_code",
				  q->desc ? " descending" : "");
	return ERR_OK;
}

/* Refuses count_unseen without user or with a table other than
 * "inventory" and "offers": ERR_INVALID. */
static enum error check_unseen(struct store *s, const char *user_id, const char *table)
{
	if (!user_id || !table)
		return store_fail(s, ERR_INVALID,
				  "cannot count unseen rows without user and table");
	if (strcmp(table, "offers") && strcmp(table, "inventory"))
		return store_fail(s, ERR_INVALID,
				  "cannot count unseen rows of '%.64s': use inventory or offers",
				  table);
	return ERR_OK;
}

const char *store_price(const char *v)
{
	return mapping_is_decimal(v) ? v : NULL;
}

enum error store_run_conflict(struct store *s, const struct run_row *r, const char *running_id)
{
	const char *a = r->kind[0] && strchr("aeiou", r->kind[0]) ? "an" : "a";

	/* The running one is r itself: its id is taken, nothing is running
	 * twice. */
	if (running_id && !strcmp(running_id, r->id))
		return store_fail(s, ERR_CONFLICT, "run '%s' already exists in sync_runs", r->id);
	if (running_id)
		return store_fail(s, ERR_CONFLICT, "%s %s sync is already running for %s (run %s)",
				  a, r->kind, r->user_id, running_id);
	return store_fail(s, ERR_CONFLICT, "%s %s sync is already running for %s", a, r->kind,
			  r->user_id);
}

char *store_like_pattern(const char *text)
{
	struct buf b = BUF_INIT;

	buf_addch(&b, '%');
	for (; *text; text++) {
		if (*text == '\\' || *text == '%' || *text == '_')
			buf_addch(&b, '\\');
		buf_addch(&b, *text);
	}
	buf_addch(&b, '%');
	return buf_detach(&b, NULL);
}

/* Every wrapper starts with an empty message, so an old one never leaks
 * into a later success, then refuses what no backend could do. */
static void begin(struct store *s)
{
	s->errmsg[0] = '\0';
}

enum error store_write_batch(struct store *s, const char *user_id, const char *run_id,
			     const struct item_row *items, size_t n_items,
			     const struct offer_row *offers, size_t n_offers)
{
	enum error err;

	begin(s);
	err = check_batch(s, user_id, items, n_items, offers, n_offers);
	if (err || (n_items == 0 && n_offers == 0))
		return err;
	return s->ops->write_batch(s, user_id, run_id, items, n_items, offers, n_offers);
}

enum error store_run_insert(struct store *s, const struct run_row *r)
{
	begin(s);
	if (!r->id || !r->user_id || !r->kind || !r->status)
		return store_fail(s, ERR_INVALID,
				  "cannot insert a run without id, user, kind and status");
	return s->ops->run_insert(s, r);
}

enum error store_run_update(struct store *s, const struct run_row *r)
{
	begin(s);
	if (!r->id || !r->status)
		return store_fail(s, ERR_INVALID, "cannot update a run without id and status");
	return s->ops->run_update(s, r);
}

enum error store_run_get(struct store *s, const char *user_id, const char *run_id,
			 struct run_row *out)
{
	begin(s);
	memset(out, 0, sizeof(*out));
	if (!run_id)
		return store_fail(s, ERR_INVALID, "cannot look up a run without its id");
	return s->ops->run_get(s, user_id, run_id, out);
}

enum error store_run_list(struct store *s, const char *user_id, long long limit, long long offset,
			  struct run_row **out, size_t *n, long long *total)
{
	begin(s);
	*out = NULL;
	*n = 0;
	if (total)
		*total = 0;
	return s->ops->run_list(s, user_id, limit, offset, out, n, total);
}

enum error store_run_counts(struct store *s, json_t **out)
{
	begin(s);
	*out = NULL;
	return s->ops->run_counts(s, out);
}

enum error store_run_request_stop(struct store *s, const char *user_id, const char *run_id)
{
	begin(s);
	if (!run_id)
		return store_fail(s, ERR_INVALID, "cannot stop a run without its id");
	return s->ops->run_request_stop(s, user_id, run_id);
}

enum error store_runs_interrupt_stale(struct store *s, const char *owner, long long stale_ms,
				      long long *count)
{
	begin(s);
	if (count)
		*count = 0;
	return s->ops->runs_interrupt_stale(s, owner, stale_ms, count);
}

enum error store_events_append(struct store *s, const char *run_id, const struct event_row *ev,
			       size_t n)
{
	size_t i;

	begin(s);
	if (!run_id)
		return store_fail(s, ERR_INVALID, "cannot append events without a run id");
	for (i = 0; i < n; i++)
		if (!ev[i].type)
			return store_fail(s, ERR_INVALID,
					  "cannot append event %lld of run '%s': it has no type",
					  ev[i].seq, run_id);
	if (n == 0)
		return ERR_OK;
	return s->ops->events_append(s, run_id, ev, n);
}

enum error store_events_list(struct store *s, const char *run_id, long long after_seq,
			     long long limit, struct event_row **out, size_t *n)
{
	begin(s);
	*out = NULL;
	*n = 0;
	if (!run_id)
		return store_fail(s, ERR_INVALID, "cannot list events without a run id");
	return s->ops->events_list(s, run_id, after_seq, limit, out, n);
}

enum error store_failure_add(struct store *s, const char *user_id, const char *kind,
			     const char *run_id, const char *sku, const char *error, int attempts)
{
	begin(s);
	if (!user_id || !kind || !run_id || !sku)
		return store_fail(s, ERR_INVALID,
				  "cannot record a failure without user, kind, run and sku");
	return s->ops->failure_add(s, user_id, kind, run_id, sku, error, attempts);
}

enum error store_failure_clear(struct store *s, const char *user_id, const char *kind,
			       const char *sku)
{
	begin(s);
	if (!user_id || !kind || !sku)
		return store_fail(s, ERR_INVALID,
				  "cannot clear a failure without user, kind and sku");
	return s->ops->failure_clear(s, user_id, kind, sku);
}

enum error store_failure_list(struct store *s, const char *user_id, const char *kind, char ***skus,
			      size_t *n)
{
	begin(s);
	*skus = NULL;
	*n = 0;
	if (!user_id || !kind)
		return store_fail(s, ERR_INVALID, "cannot list failures without user and kind");
	return s->ops->failure_list(s, user_id, kind, skus, n);
}

enum error store_run_failures(struct store *s, const char *run_id, json_t **out)
{
	begin(s);
	*out = NULL;
	if (!run_id)
		return store_fail(s, ERR_INVALID, "cannot list failures without a run id");
	return s->ops->run_failures(s, run_id, out);
}

enum error store_token_revoke(struct store *s, const char *jti, long long expires_ms)
{
	begin(s);
	if (!jti || !*jti)
		return store_fail(s, ERR_INVALID, "cannot revoke a token without an id");
	return s->ops->token_revoke(s, jti, expires_ms);
}

enum error store_token_revoked(struct store *s, const char *jti)
{
	begin(s);
	if (!jti || !*jti)
		return store_fail(s, ERR_INVALID, "cannot look up a token without an id");
	return s->ops->token_revoked(s, jti);
}

enum error store_cursor_get(struct store *s, const char *user_id, const char *name, char **value)
{
	begin(s);
	*value = NULL;
	if (!user_id || !name)
		return store_fail(s, ERR_INVALID, "cannot read a cursor without user and name");
	return s->ops->cursor_get(s, user_id, name, value);
}

enum error store_cursor_set(struct store *s, const char *user_id, const char *name,
			    const char *value)
{
	begin(s);
	if (!user_id || !name || !value)
		return store_fail(s, ERR_INVALID,
				  "cannot set a cursor without user, name and value");
	return s->ops->cursor_set(s, user_id, name, value);
}

enum error store_list_items(struct store *s, const struct store_query *q, json_t **rows,
			    long long *total)
{
	enum error err;

	begin(s);
	*rows = NULL;
	if (total)
		*total = 0;
	err = check_query(s, "inventory", q);
	return err ? err : s->ops->list_items(s, q, rows, total);
}

enum error store_list_offers(struct store *s, const struct store_query *q, json_t **rows,
			     long long *total)
{
	enum error err;

	begin(s);
	*rows = NULL;
	if (total)
		*total = 0;
	err = check_query(s, "offers", q);
	return err ? err : s->ops->list_offers(s, q, rows, total);
}

enum error store_count_unseen(struct store *s, const char *user_id, const char *table,
			      const char *run_id, long long *count)
{
	enum error err;

	begin(s);
	*count = 0;
	err = check_unseen(s, user_id, table);
	return err ? err : s->ops->count_unseen(s, user_id, table, run_id, count);
}

enum error store_skus_add(struct store *s, const char *run_id, const char *const *skus, size_t n,
			  unsigned char *is_new, long long *count)
{
	begin(s);
	if (!run_id)
		return store_fail(s, ERR_INVALID, "cannot add to a SKU list without a run id");
	return s->ops->skus_add(s, run_id, skus, n, is_new, count);
}

enum error store_skus_range(struct store *s, const char *run_id, long long from, size_t limit,
			    char ***skus, size_t *n)
{
	begin(s);
	*skus = NULL;
	*n = 0;
	if (!run_id || from < 0)
		return store_fail(s, ERR_INVALID,
				  "cannot read a SKU list without a run id and a position");
	return s->ops->skus_range(s, run_id, from, limit, skus, n);
}

enum error store_skus_positions(struct store *s, const char *run_id, const char *const *skus,
				size_t n, long long *pos)
{
	size_t i;

	begin(s);
	if (!run_id)
		return store_fail(s, ERR_INVALID, "cannot find SKUs without a run id");
	for (i = 0; i < n; i++)
		if (!skus[i])
			return store_fail(s, ERR_INVALID, "cannot find a SKU without a SKU");
	return n ? s->ops->skus_find(s, run_id, skus, n, pos) : ERR_OK;
}

enum error store_skus_find(struct store *s, const char *run_id, const char *sku, long long *pos)
{
	long long at = -1;
	enum error err;

	if (!sku) {
		begin(s);
		return store_fail(s, ERR_INVALID, "cannot find a SKU without run id and SKU");
	}
	err = store_skus_positions(s, run_id, &sku, 1, &at);
	if (err)
		return err;
	if (at < 0)
		return store_fail(s, ERR_NOTFOUND, "SKU '%s' is not in the list of run '%s'", sku,
				  run_id);
	*pos = at;
	return ERR_OK;
}

enum error store_skus_clear(struct store *s, const char *run_id)
{
	begin(s);
	return s->ops->skus_clear(s, run_id);
}

/* ---- deletions and the change log ---------------------------------------- */

enum error store_mark_removed(struct store *s, const char *user_id, const char *run_id,
			      long long *items, long long *offers)
{
	long long ni, no;

	begin(s);
	if (items)
		*items = 0;
	if (offers)
		*offers = 0;
	if (!user_id || !run_id)
		return store_fail(s, ERR_INVALID, "cannot mark removed rows without user and run");
	return s->ops->mark_removed(s, user_id, run_id, items ? items : &ni, offers ? offers : &no);
}

enum error store_count_removed(struct store *s, const char *user_id, const char *table,
			       const char *run_id, long long *count)
{
	begin(s);
	*count = 0;
	if (!user_id || !run_id || !table ||
	    (strcmp(table, "offers") != 0 && strcmp(table, "inventory") != 0))
		return store_fail(s, ERR_INVALID,
				  "cannot count removed rows without user, run and a table "
				  "(inventory or offers)");
	return s->ops->count_removed(s, user_id, table, run_id, count);
}

enum error store_list_changes(struct store *s, const struct store_change_query *q, json_t **rows,
			      long long *total)
{
	begin(s);
	*rows = NULL;
	if (total)
		*total = 0;
	if (!q || !q->user_id)
		return store_fail(s, ERR_INVALID, "cannot list changes without a user id");
	return s->ops->list_changes(s, q, rows, total);
}

enum error store_user_put(struct store *s, const struct user_row *u)
{
	begin(s);
	if (!u->id || !*u->id || !u->password_hash)
		return store_fail(s, ERR_INVALID,
				  "cannot store a user without id and password hash");
	return s->ops->user_put(s, u);
}

enum error store_user_get(struct store *s, const char *id, struct user_row *out)
{
	begin(s);
	memset(out, 0, sizeof(*out));
	if (!id)
		return store_fail(s, ERR_INVALID, "cannot look up a user without an id");
	return s->ops->user_get(s, id, out);
}

enum error store_user_list(struct store *s, struct user_row **out, size_t *n)
{
	begin(s);
	*out = NULL;
	*n = 0;
	return s->ops->user_list(s, out, n);
}

void run_row_release(struct run_row *r)
{
	if (!r)
		return;
	free(r->id);
	free(r->user_id);
	free(r->kind);
	free(r->status);
	free(r->error);
	free(r->error_code);
	free(r->owner);
	memset(r, 0, sizeof(*r));
}

void event_row_release(struct event_row *e)
{
	if (!e)
		return;
	free(e->type);
	free(e->line);
	free(e->data);
	memset(e, 0, sizeof(*e));
}

void user_row_release(struct user_row *u)
{
	if (!u)
		return;
	free(u->id);
	free(u->password_hash);
	free(u->ebay_token);
	free(u->ebay_refresh_token);
	memset(u, 0, sizeof(*u));
}

/* ---- refresh ---------------------------------------------------------------- */

static enum error check_by_sku(struct store *s, const char *what, const char *user_id,
			       const char *const *skus, size_t n)
{
	if (!user_id || !*user_id)
		return store_fail(s, ERR_INVALID, "cannot %s without a user id", what);
	if (n == 0 || n > STORE_BY_SKU_MAX)
		return store_fail(s, ERR_INVALID, "cannot %s for %zu SKUs: give 1 to %d", what, n,
				  STORE_BY_SKU_MAX);
	for (size_t i = 0; i < n; i++)
		if (!skus[i] || !*skus[i])
			return store_fail(s, ERR_INVALID, "cannot %s: SKU %zu is empty", what,
					  i + 1);
	return ERR_OK;
}

void stored_item_release(struct stored_item *it)
{
	if (!it)
		return;
	free(it->sku);
	free(it->raw_payload);
	free(it->ebay_status);
	memset(it, 0, sizeof(*it));
}

enum error store_items_by_sku(struct store *s, const char *user_id, const char *const *skus,
			      size_t n, struct stored_item **out, size_t *n_out)
{
	enum error err;

	begin(s);
	*out = NULL;
	*n_out = 0;
	err = check_by_sku(s, "read inventory rows by SKU", user_id, skus, n);
	return err ? err : s->ops->items_by_sku(s, user_id, skus, n, out, n_out);
}

enum error store_offers_by_sku(struct store *s, const char *user_id, const char *const *skus,
			       size_t n, struct offer_row **out, size_t *n_out)
{
	enum error err;

	begin(s);
	*out = NULL;
	*n_out = 0;
	err = check_by_sku(s, "read offers by SKU", user_id, skus, n);
	return err ? err : s->ops->offers_by_sku(s, user_id, skus, n, out, n_out);
}

enum error store_items_seen(struct store *s, const char *user_id, const char *run_id,
			    const char *const *skus, size_t n)
{
	enum error err;

	begin(s);
	if (!run_id || !*run_id)
		return store_fail(s, ERR_INVALID,
				  "cannot mark inventory rows seen without a run id");
	err = check_by_sku(s, "mark inventory rows seen", user_id, skus, n);
	return err ? err : s->ops->items_seen(s, user_id, run_id, skus, n);
}

/* The SKUs as one JSON array text, the parameter both backends expand
 * (SQLite's json_each, PostgreSQL's jsonb_array_elements_text). */
char *store_sku_array(const char *const *skus, size_t n)
{
	json_t *a = json_array();
	char *text;

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(skus[i]));
	text = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	if (!text)
		abort(); /* out of memory, or a SKU that is not UTF-8 (store_items_* refuse it) */
	return text;
}
