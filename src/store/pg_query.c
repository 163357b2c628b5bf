/*
 * The listings of the PostgreSQL backend: list_items and list_offers (the
 * page's tables, with search, filters, sort and paging) and count_unseen.
 *
 * Rows come back as JSON objects with the same keys and value types as
 * store/sqlite.c gives: integers for integer columns, price_value as the
 * exact decimal string (NUMERIC keeps the scale it was given), raw_payload
 * parsed, and timestamps as "YYYY-MM-DDTHH:MM:SS.mmmZ" in UTC. The search is
 * lower(column) LIKE '%text%' with the user's text escaped, which the
 * pg_trgm indexes of the schema serve.
 */
#include "pg.h"
#include "store_backend.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "timeutil.h"
#include "xalloc.h"

#include "banned.h"

/* Result column type OIDs (from the server's catalog; stable). */
#define OID_INT8    20
#define OID_NUMERIC 1700
#define OID_JSONB   3802

#define ISO_UTC(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

struct column {
	const char *name;
	const char *expr; /* what to SELECT (and ORDER BY) */
	int sortable;
	int text; /* sorted bytewise, as SQLite does */
};

static const struct column ITEM_COLUMNS[] = {
    {"user_id", "user_id", 0, 1},
    {"sku_code", "sku_code", 1, 1},
    {"title", "title", 1, 1},
    {"condition", "condition", 1, 1},
    {"part_number", "part_number", 1, 1},
    {"model", "model", 1, 1},
    {"category", "category", 1, 1},
    {"price_value", "price_value", 1, 0},
    {"price_currency", "price_currency", 1, 1},
    {"quantity", "quantity", 1, 0},
    {"ebay_listing_id", "ebay_listing_id", 1, 1},
    {"ebay_status", "ebay_status", 1, 1},
    {"photo_count", "photo_count", 1, 0},
    {"raw_payload", "raw_payload", 0, 0},
    {"last_seen_run", "last_seen_run", 1, 1},
    {"rec_created", ISO_UTC("rec_created"), 1, 1},
    {"rec_updated", ISO_UTC("rec_updated"), 1, 1},
    {"removed_at", ISO_UTC("removed_at"), 0, 1},
    {NULL, NULL, 0, 0},
};

static const struct column OFFER_COLUMNS[] = {
    {"user_id", "user_id", 0, 1},
    {"offer_id", "offer_id", 1, 1},
    {"sku_code", "sku_code", 1, 1},
    {"marketplace_id", "marketplace_id", 1, 1},
    {"format", "format", 1, 1},
    {"status", "status", 1, 1},
    {"listing_id", "listing_id", 1, 1},
    {"listing_status", "listing_status", 1, 1},
    {"price_value", "price_value", 1, 0},
    {"price_currency", "price_currency", 1, 1},
    {"auction_start_price", "auction_start_price", 0, 0},
    {"available_quantity", "available_quantity", 1, 0},
    {"sold_quantity", "sold_quantity", 1, 0},
    {"category_id", "category_id", 1, 1},
    {"listing_start_date", "listing_start_date", 1, 1},
    {"raw_payload", "raw_payload", 0, 0},
    {"last_seen_run", "last_seen_run", 1, 1},
    {"rec_created", ISO_UTC("rec_created"), 1, 1},
    {"rec_updated", ISO_UTC("rec_updated"), 1, 1},
    {"removed_at", ISO_UTC("removed_at"), 0, 1},
    {NULL, NULL, 0, 0},
};

struct table {
	const char *name; /* "inventory" or "offers" */
	const struct column *cols;
	const char *status_col;	   /* what q->status filters */
	const char *const *search; /* columns the search looks in */
	const char *tiebreak;	   /* the rest of the key, after user_id */
};

static const char *const ITEM_SEARCH[] = {"sku_code", "title", NULL};
static const char *const OFFER_SEARCH[] = {"sku_code", NULL};

static const struct table ITEMS = {"inventory", ITEM_COLUMNS, "ebay_status", ITEM_SEARCH,
				   "sku_code"};
static const struct table OFFERS = {"offers", OFFER_COLUMNS, "status", OFFER_SEARCH, "offer_id"};

/* One value of a result as JSON, by the column's type. */
static json_t *json_value(const PGresult *r, int i, int c)
{
	const char *v = store_pg_get(r, i, c);
	json_error_t jerr;
	json_t *j;

	if (!v)
		return json_null();
	switch (PQftype(r, c)) {
	case OID_INT8:
		return json_integer(strtoll(v, NULL, 10));
	case OID_JSONB:
		j = json_loads(v, 0, &jerr);
		return j ? j : json_string(v);
	case OID_NUMERIC: /* exact: the decimal text, never a double */
	default:
		return json_string(v);
	}
}

struct list_ctx {
	const struct table *t;
	const struct store_query *q;
	json_t *rows;
	long long total;
	int want_total;
	/* count_unseen */
	const char *user_id, *run_id;
	long long count;
};

/* The WHERE clause and its parameters (v[0] is the user). */
static int where_clause(const struct list_ctx *c, struct buf *sql, const char **v, char **pattern)
{
	const struct store_query *q = c->q;
	int n = 1;

	v[0] = q->user_id;
	buf_adds(sql, " WHERE user_id = $1");
	if (q->search && *q->search) {
		*pattern = store_like_pattern(q->search);
		v[n++] = *pattern;
		buf_adds(sql, " AND (");
		for (int k = 0; c->t->search[k]; k++)
			buf_addf(sql, "%slower(%s) LIKE lower($%d) ESCAPE '\\'", k ? " OR " : "",
				 c->t->search[k], n);
		buf_adds(sql, ")");
	}
	if (q->status) {
		v[n++] = q->status;
		buf_addf(sql, " AND %s = $%d", c->t->status_col, n);
	}
	if (q->condition && c->t == &ITEMS) {
		v[n++] = q->condition;
		buf_addf(sql, " AND condition = $%d", n);
	}
	if (q->sku) {
		v[n++] = q->sku;
		buf_addf(sql, " AND sku_code = $%d", n);
	}
	if (q->removed == STORE_REMOVED_HIDE)
		buf_adds(sql, " AND removed_at IS NULL");
	else if (q->removed == STORE_REMOVED_ONLY)
		buf_adds(sql, " AND removed_at IS NOT NULL");
	if (q->after) { /* keyset paging (store.c checked the sort) */
		v[n++] = q->after;
		buf_addf(sql, " AND %s COLLATE \"C\" > $%d", c->t->tiebreak, n);
	}
	return n;
}

static enum error list_unit(struct store *s, void *arg)
{
	struct list_ctx *c = arg;
	const struct store_query *q = c->q;
	const struct column *col, *sort = NULL;
	struct buf where = BUF_INIT, sql = BUF_INIT;
	char *pattern = NULL, lim[24], off[24], context[120];
	const char *v[10];
	enum error err = ERR_OK;
	PGresult *r = NULL;
	int n, i, k;

	snprintf(context, sizeof(context), "cannot list %s rows of user '%s'", c->t->name,
		 q->user_id);
	/* The default order is by SKU (then offer id), as store.h says. */
	for (col = c->t->cols; col->name; col++)
		if (col->sortable && !strcmp(q->sort ? q->sort : "sku_code", col->name))
			sort = col;
	if (!sort) {
		err = store_fail(s, ERR_INVALID, "cannot sort by '%.64s'", q->sort);
		goto out;
	}
	n = where_clause(c, &where, v, &pattern);

	if (c->want_total) {
		buf_addf(&sql, "SELECT count(*) FROM %s%s", c->t->name, buf_str(&where));
		r = store_pg_exec(s, NULL, buf_str(&sql), n, v, PGRES_TUPLES_OK, context);
		if (!r) {
			err = store_pg_err(s);
			goto out;
		}
		c->total = store_pg_get_ll(r, 0, 0);
		PQclear(r);
		buf_reset(&sql);
	}
	buf_adds(&sql, "SELECT ");
	for (col = c->t->cols; col->name; col++)
		buf_addf(&sql, "%s%s", col == c->t->cols ? "" : ", ", col->expr);
	buf_addf(&sql, " FROM %s%s ORDER BY ", c->t->name, buf_str(&where));
	/* As SQLite orders: bytewise text, NULLs last, then the key. */
	if (q->after)
		buf_addf(&sql, "%s COLLATE \"C\"", c->t->tiebreak);
	else
		buf_addf(&sql, "%s%s %s NULLS LAST, %s COLLATE \"C\" %s", sort->expr,
			 sort->text ? " COLLATE \"C\"" : "", q->desc ? "DESC" : "ASC",
			 c->t->tiebreak, q->desc ? "DESC" : "ASC");
	snprintf(lim, sizeof(lim), "%lld", q->limit);
	snprintf(off, sizeof(off), "%lld", q->offset > 0 ? q->offset : 0);
	v[n] = q->limit > 0 ? lim : NULL;
	v[n + 1] = off;
	buf_addf(&sql, " LIMIT $%d::bigint OFFSET $%d::bigint", n + 1, n + 2);
	r = store_pg_exec(s, NULL, buf_str(&sql), n + 2, v, PGRES_TUPLES_OK, context);
	if (!r) {
		err = store_pg_err(s);
		goto out;
	}
	c->rows = json_array();
	for (i = 0; i < PQntuples(r); i++) {
		json_t *row = json_object();

		for (k = 0; k < PQnfields(r); k++)
			json_object_set_new(row, c->t->cols[k].name, json_value(r, i, k));
		json_array_append_new(c->rows, row);
	}
	PQclear(r);
out:
	free(pattern);
	buf_release(&where);
	buf_release(&sql);
	return err;
}

static enum error list(struct store *s, const struct table *t, const struct store_query *q,
		       json_t **rows, long long *total)
{
	struct list_ctx c = {.t = t, .q = q, .want_total = total != NULL};
	enum error err;

	/* One snapshot for the count and the rows. */
	err = store_pg_unit(s, total ? STORE_PG_SNAPSHOT : STORE_PG_NO_TX, list_unit, &c);
	if (err) {
		json_decref(c.rows);
		return err;
	}
	*rows = c.rows;
	if (total)
		*total = c.total;
	return ERR_OK;
}

enum error store_pg_list_items(struct store *s, const struct store_query *q, json_t **rows,
			       long long *total)
{
	return list(s, &ITEMS, q, rows, total);
}

enum error store_pg_list_offers(struct store *s, const struct store_query *q, json_t **rows,
				long long *total)
{
	return list(s, &OFFERS, q, rows, total);
}

static enum error unseen_unit(struct store *s, void *arg)
{
	struct list_ctx *c = arg;
	const char *v[2] = {c->user_id, c->run_id};
	char sql[160], context[120];
	PGresult *r;

	snprintf(sql, sizeof(sql),
		 "SELECT count(*) FROM %s WHERE user_id = $1 "
		 "AND last_seen_run IS DISTINCT FROM $2",
		 c->t->name);
	snprintf(context, sizeof(context), "cannot count the unseen rows of %s", c->t->name);
	r = store_pg_exec(s, NULL, sql, 2, v, PGRES_TUPLES_OK, context);
	if (!r)
		return store_pg_err(s);
	c->count = store_pg_get_ll(r, 0, 0);
	PQclear(r);
	return ERR_OK;
}

enum error store_pg_count_unseen(struct store *s, const char *user_id, const char *table,
				 const char *run_id, long long *count)
{
	struct list_ctx c = {.user_id = user_id, .run_id = run_id};
	enum error err;

	c.t = strcmp(table, "offers") ? &ITEMS : &OFFERS;
	err = store_pg_unit(s, STORE_PG_NO_TX, unseen_unit, &c);
	if (!err)
		*count = c.count;
	return err;
}

/* ---- deletions and the change log ------------------------------------------ */

static enum error removed_unit(struct store *s, void *arg)
{
	struct list_ctx *c = arg;
	const char *v[2] = {c->user_id, c->run_id};
	char sql[120];
	PGresult *r;

	snprintf(sql, sizeof(sql),
		 "SELECT count(*) FROM %s WHERE user_id = $1 AND removed_run = $2", c->t->name);
	r = store_pg_exec(s, NULL, sql, 2, v, PGRES_TUPLES_OK, "cannot count the removed rows");
	if (!r)
		return store_pg_err(s);
	c->count = store_pg_get_ll(r, 0, 0);
	PQclear(r);
	return ERR_OK;
}

enum error store_pg_count_removed(struct store *s, const char *user_id, const char *table,
				  const char *run_id, long long *count)
{
	struct list_ctx c = {.user_id = user_id, .run_id = run_id};
	enum error err;

	c.t = strcmp(table, "offers") ? &ITEMS : &OFFERS;
	err = store_pg_unit(s, STORE_PG_NO_TX, removed_unit, &c);
	if (!err)
		*count = c.count;
	return err;
}

struct changes_ctx {
	const struct store_change_query *q;
	int want_total;
	json_t *rows;
	long long total;
};

static const char CHANGES_WHERE[] =
    " WHERE user_id = $1 AND ($2::text IS NULL OR run_id = $2) "
    "AND ($3::text IS NULL OR sku_code = $3) AND ($4::text IS NULL OR field = $4) "
    "AND changed_ms >= $5::bigint AND id < $6::bigint";

static enum error changes_unit(struct store *s, void *arg)
{
	struct changes_ctx *c = arg;
	const struct store_change_query *q = c->q;
	char since[24], before[24], lim[24], off[24];
	const char *v[8] = {q->user_id, q->run_id, q->sku, q->field, since, before, NULL, off};
	struct buf sql = BUF_INIT;
	PGresult *r;
	enum error err = ERR_OK;

	snprintf(since, sizeof(since), "%lld", q->since_ms > 0 ? q->since_ms : 0);
	snprintf(before, sizeof(before), "%lld", q->before_id > 0 ? q->before_id : INT64_MAX);
	snprintf(lim, sizeof(lim), "%lld", q->limit);
	snprintf(off, sizeof(off), "%lld", q->offset > 0 ? q->offset : 0);
	v[6] = q->limit > 0 ? lim : NULL;
	json_decref(c->rows); /* a unit run again after a reconnect starts over */
	c->rows = NULL;
	if (c->want_total) {
		buf_addf(&sql, "SELECT count(*) FROM sync_changes%s", CHANGES_WHERE);
		r = store_pg_exec(s, NULL, buf_str(&sql), 6, v, PGRES_TUPLES_OK,
				  "cannot count sync_changes rows");
		if (!r) {
			err = store_pg_err(s);
			goto out;
		}
		c->total = store_pg_get_ll(r, 0, 0);
		PQclear(r);
		buf_reset(&sql);
	}
	buf_addf(&sql,
		 "SELECT id, run_id, changed_ms, sku_code, field, old_value, new_value "
		 "FROM sync_changes%s ORDER BY id DESC LIMIT $7::bigint OFFSET $8::bigint",
		 CHANGES_WHERE);
	r = store_pg_exec(s, NULL, buf_str(&sql), 8, v, PGRES_TUPLES_OK,
			  "cannot list sync_changes rows");
	if (!r) {
		err = store_pg_err(s);
		goto out;
	}
	c->rows = json_array();
	for (int i = 0; i < PQntuples(r); i++) {
		long long ms = store_pg_get_ll(r, i, 2);
		char iso[32];

		timeutil_iso(ms, iso, sizeof(iso));
		json_array_append_new(
		    c->rows,
		    json_pack("{s:I, s:s?, s:I, s:s, s:s, s:s, s:s?, s:s?}", "id",
			      (json_int_t)store_pg_get_ll(r, i, 0), "run_id", store_pg_get(r, i, 1),
			      "changed_ms", (json_int_t)ms, "changed_at", iso, "sku",
			      store_pg_get(r, i, 3), "field", store_pg_get(r, i, 4), "old",
			      store_pg_get(r, i, 5), "new", store_pg_get(r, i, 6)));
	}
	PQclear(r);
out:
	buf_release(&sql);
	return err;
}

enum error store_pg_list_changes(struct store *s, const struct store_change_query *q, json_t **rows,
				 long long *total)
{
	struct changes_ctx c = {.q = q, .want_total = total != NULL};
	enum error err;

	err = store_pg_unit(s, total ? STORE_PG_SNAPSHOT : STORE_PG_NO_TX, changes_unit, &c);
	if (err) {
		json_decref(c.rows);
		return err;
	}
	*rows = c.rows;
	if (total)
		*total = c.total;
	return ERR_OK;
}
