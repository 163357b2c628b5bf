/*
 * write_batch for PostgreSQL: a page of items and a few hundred offers in
 * one transaction, sent in a handful of round trips.
 *
 * Two ways to send the rows, chosen per store (store_pg_set_write_mode):
 *   - VALUES (the default): one prepared multi-row
 *     INSERT ... ON CONFLICT (user_id, key) DO UPDATE per chunk of rows, the
 *     statement prepared once per row count on each connection;
 *   - COPY: the rows go into a session's temporary staging table by COPY,
 *     and one INSERT ... SELECT ... ON CONFLICT merges them.
 * bench/store_bench.c measures both (docs/postgres.md has the numbers).
 *
 * A row may appear twice in one batch; INSERT ... ON CONFLICT refuses to
 * touch a row twice in one statement, so a chunk ends before a key it
 * already holds, and the rows are applied in order as SQLite applies them.
 * Items whose offer fields are unknown (offer_fields_known 0) go through a
 * statement whose DO UPDATE leaves price, currency, listing id, status and
 * category alone.
 *
 * When the server refuses a chunk's rows (bad data, a constraint, a
 * trigger), the chunk is replayed row by row in a transaction that is rolled
 * back, only to name the SKU or offer in the message.
 */
#include "pg.h"
#include "store_backend.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "xalloc.h"

#include "banned.h"

/* Prepared statement kinds (store_pg_prepare's cache). */
enum {
	STMT_ITEMS_KNOWN = 1, /* items whose offer fields are known */
	STMT_ITEMS_KEEP,      /* items that keep the stored offer fields */
	STMT_OFFERS,
	STMT_MERGE_ITEMS_KNOWN, /* COPY mode: merges of the staged rows */
	STMT_MERGE_ITEMS_KEEP,
	STMT_MERGE_OFFERS,
};

#define ITEM_PARAMS  13
#define OFFER_PARAMS 15
/* Rows per statement: 2 + 15 * 1000 parameters stay far under 65535. */
#define MAX_ROWS     1000
#define KEYSET_SLOTS 2048 /* a power of two, over twice MAX_ROWS */

/* ---- statements ------------------------------------------------------------ */

static const char ITEM_COLS[] =
    "user_id, sku_code, title, condition, part_number, model, category, price_value, "
    "price_currency, quantity, ebay_listing_id, ebay_status, photo_count, raw_payload, "
    "last_seen_run, rec_created, rec_updated";

/* The columns of an item's source row, in item_values' order. */
static const char ITEM_SRC_COLS[] =
    "sku_code, title, condition, part_number, model, category, price_value, price_currency, "
    "quantity, ebay_listing_id, ebay_status, photo_count, raw_payload";

static const char ITEM_UPDATE_COMMON[] =
    "removed_at = NULL, removed_run = NULL, "
    "title = excluded.title, condition = excluded.condition, "
    "part_number = excluded.part_number, model = excluded.model, "
    "quantity = excluded.quantity, photo_count = excluded.photo_count, "
    "raw_payload = excluded.raw_payload, last_seen_run = excluded.last_seen_run, "
    "rec_updated = excluded.rec_updated";

static const char ITEM_UPDATE_OFFER_FIELDS[] =
    ", category = excluded.category, price_value = excluded.price_value, "
    "price_currency = excluded.price_currency, ebay_listing_id = excluded.ebay_listing_id, "
    "ebay_status = excluded.ebay_status";

static const char OFFER_COLS[] =
    "user_id, offer_id, sku_code, marketplace_id, format, status, listing_id, "
    "listing_status, price_value, price_currency, available_quantity, sold_quantity, "
    "category_id, listing_start_date, raw_payload, last_seen_run, rec_created, rec_updated, "
    "auction_start_price";

static const char OFFER_UPDATE[] =
    "removed_at = NULL, removed_run = NULL, auction_start_price = excluded.auction_start_price, "
    "sku_code = excluded.sku_code, marketplace_id = excluded.marketplace_id, "
    "format = excluded.format, status = excluded.status, listing_id = excluded.listing_id, "
    "listing_status = excluded.listing_status, price_value = excluded.price_value, "
    "price_currency = excluded.price_currency, "
    "available_quantity = excluded.available_quantity, "
    "sold_quantity = excluded.sold_quantity, category_id = excluded.category_id, "
    "listing_start_date = excluded.listing_start_date, raw_payload = excluded.raw_payload, "
    "last_seen_run = excluded.last_seen_run, rec_updated = excluded.rec_updated";

static void upsert_tail(struct buf *sql, int kind)
{
	if (kind == STMT_OFFERS || kind == STMT_MERGE_OFFERS) {
		buf_addf(sql, " ON CONFLICT (user_id, offer_id) DO UPDATE SET %s", OFFER_UPDATE);
		return;
	}
	buf_addf(sql, " ON CONFLICT (user_id, sku_code) DO UPDATE SET %s%s", ITEM_UPDATE_COMMON,
		 kind == STMT_ITEMS_KNOWN || kind == STMT_MERGE_ITEMS_KNOWN
		     ? ITEM_UPDATE_OFFER_FIELDS
		     : "");
}

/* The epoch ms of a change: the transaction's time, as the rows' times. */
#define CHANGE_MS "(extract(epoch FROM now()) * 1000)::bigint"

/*
 * The rest of an item upsert whose source rows are the CTE src (columns
 * ITEM_SRC_COLS): old reads the stored rows as they were before the write
 * (every part of one statement sees the snapshot taken at its start; old
 * must not lock them: a row up has already written would then be skipped
 * as modified by this very command), up writes, and the
 * statement itself records in sync_changes what up changed against old:
 * "created" for a new row and nothing else, "restored" for one marked
 * removed, then each field that moved (docs/schema.md).
 */
static void item_upsert_sql(struct buf *sql, int kind)
{
	buf_adds(sql,
		 ", old AS (SELECT i.sku_code, i.title, i.condition, i.price_value, "
		 "i.price_currency, i.quantity, i.ebay_listing_id, i.ebay_status, i.removed_at "
		 "FROM inventory i JOIN src ON i.sku_code = src.sku_code "
		 "WHERE i.user_id = $1), up AS (");
	buf_addf(
	    sql,
	    "INSERT INTO inventory (%s, first_seen_run) SELECT $1, sku_code, title, condition, "
	    "part_number, model, category, price_value, price_currency, quantity, "
	    "ebay_listing_id, coalesce(ebay_status, 'UNKNOWN'), photo_count, raw_payload, $2, "
	    "now(), now(), $2 FROM src",
	    ITEM_COLS);
	upsert_tail(sql, kind);
	buf_adds(
	    sql,
	    " RETURNING sku_code, title, condition, price_value, price_currency, quantity, "
	    "ebay_listing_id, ebay_status) "
	    "INSERT INTO sync_changes (user_id, run_id, changed_ms, sku_code, field, old_value, "
	    "new_value) SELECT $1, $2, " CHANGE_MS ", up.sku_code, c.field, c.o, c.n FROM up "
	    "LEFT JOIN old ON old.sku_code = up.sku_code CROSS JOIN LATERAL (VALUES "
	    "('created', NULL::text, NULL::text, old.sku_code IS NULL), "
	    "('restored', NULL, NULL, old.removed_at IS NOT NULL), "
	    "('title', old.title, up.title, old.title IS DISTINCT FROM up.title), "
	    "('condition', old.condition, up.condition, "
	    "old.condition IS DISTINCT FROM up.condition), "
	    "('price', old.price_value::text, up.price_value::text, "
	    "old.price_value IS DISTINCT FROM up.price_value), "
	    "('currency', old.price_currency, up.price_currency, "
	    "old.price_currency IS DISTINCT FROM up.price_currency), "
	    "('quantity', old.quantity::text, up.quantity::text, "
	    "old.quantity IS DISTINCT FROM up.quantity), "
	    "('listing_id', old.ebay_listing_id, up.ebay_listing_id, "
	    "old.ebay_listing_id IS DISTINCT FROM up.ebay_listing_id), "
	    "('status', old.ebay_status, up.ebay_status, "
	    "old.ebay_status IS DISTINCT FROM up.ebay_status)) AS c(field, o, n, hit) "
	    "WHERE c.hit AND (c.field = 'created' OR old.sku_code IS NOT NULL)");
}

/* INSERT ... VALUES (...), ... with $1 the user and $2 the run. */
static void values_sql(struct buf *sql, int kind, int rows)
{
	int i, b;

	if (kind == STMT_OFFERS) {
		buf_addf(sql, "INSERT INTO offers (%s) VALUES ", OFFER_COLS);
		for (i = 0; i < rows; i++) {
			b = 3 + OFFER_PARAMS * i;
			buf_addf(sql,
				 "%s($1, $%d::text, $%d::text, $%d::text, $%d::text, $%d::text, "
				 "$%d::text, $%d::text, $%d::numeric, $%d::text, $%d::bigint, "
				 "$%d::bigint, $%d::text, $%d::text, $%d::jsonb, $2, now(), now(), "
				 "$%d::numeric)",
				 i ? ", " : "", b, b + 1, b + 2, b + 3, b + 4, b + 5, b + 6, b + 7,
				 b + 8, b + 9, b + 10, b + 11, b + 12, b + 13, b + 14);
		}
		upsert_tail(sql, kind);
		return;
	}
	buf_addf(sql, "WITH src (%s) AS (VALUES ", ITEM_SRC_COLS);
	for (i = 0; i < rows; i++) {
		b = 3 + ITEM_PARAMS * i;
		buf_addf(sql,
			 "%s($%d::text, $%d::text, $%d::text, $%d::text, $%d::text, $%d::text, "
			 "$%d::numeric, $%d::text, $%d::bigint, $%d::text, $%d::text, $%d::bigint, "
			 "$%d::jsonb)",
			 i ? ", " : "", b, b + 1, b + 2, b + 3, b + 4, b + 5, b + 6, b + 7, b + 8,
			 b + 9, b + 10, b + 11, b + 12);
	}
	buf_adds(sql, ")");
	item_upsert_sql(sql, kind);
}

/* The COPY mode's merge of staged chunk $3. */
static void merge_sql(struct buf *sql, int kind, int rows)
{
	(void)rows;
	if (kind == STMT_MERGE_OFFERS) {
		buf_addf(sql,
			 "INSERT INTO offers (%s) SELECT $1, offer_id, sku_code, marketplace_id, "
			 "format, status, listing_id, listing_status, price_value, price_currency, "
			 "available_quantity, sold_quantity, category_id, listing_start_date, "
			 "raw_payload, $2, now(), now(), auction_start_price FROM es_stage_offers "
			 "WHERE chunk = $3",
			 OFFER_COLS);
		upsert_tail(sql, kind);
		return;
	}
	buf_addf(sql, "WITH src AS (SELECT %s FROM es_stage_items WHERE chunk = $3 AND %s)",
		 ITEM_SRC_COLS, kind == STMT_MERGE_ITEMS_KNOWN ? "known" : "NOT known");
	item_upsert_sql(sql, kind);
}

static const char STAGE_SQL[] =
    "CREATE TEMP TABLE IF NOT EXISTS es_stage_items (chunk int, known bool, sku_code text, "
    "title text, condition text, part_number text, model text, category text, "
    "price_value numeric, price_currency text, quantity bigint, ebay_listing_id text, "
    "ebay_status text, photo_count bigint, raw_payload jsonb) ON COMMIT DELETE ROWS; "
    "CREATE TEMP TABLE IF NOT EXISTS es_stage_offers (chunk int, offer_id text, "
    "sku_code text, marketplace_id text, format text, status text, listing_id text, "
    "listing_status text, price_value numeric, price_currency text, "
    "available_quantity bigint, sold_quantity bigint, category_id text, "
    "listing_start_date text, raw_payload jsonb, auction_start_price numeric) "
    "ON COMMIT DELETE ROWS";

/* ---- row values -------------------------------------------------------------- */

/*
 * jsonb cannot hold U+0000; SQLite's text can. A payload with an escaped NUL
 * ("\u0000" inside a string) gets U+FFFD instead, so one odd title does not
 * fail its whole page. Returns json or a copy in *tmp (the caller frees it).
 */
static const char *jsonb_safe(const char *json, char **tmp)
{
	const char *p;
	char *out;
	size_t i;

	*tmp = NULL;
	if (!json || !strstr(json, "\\u0000"))
		return json;
	out = xstrdup(json);
	for (i = 0; out[i]; i++) {
		if (out[i] != '\\')
			continue;
		if (out[i + 1] == 'u' && !strncmp(out + i + 2, "0000", 4))
			memcpy(out + i + 2, "FFFD", 4);
		if (out[i + 1])
			i++; /* skip the escaped character */
	}
	p = out;
	*tmp = out;
	return p;
}

/* Parameter strings of one chunk: pointers into the rows, numbers and
 * NUL-free payloads held here. */
struct params {
	const char **v;
	char (*nums)[24];
	char **tmp;
	size_t n_nums, n_tmp;
};

static void params_init(struct params *pp, size_t rows)
{
	pp->v = xmalloc((2 + OFFER_PARAMS * rows) * sizeof(*pp->v));
	pp->nums = xmalloc(3 * rows * sizeof(*pp->nums));
	pp->tmp = xmalloc(rows * sizeof(*pp->tmp));
	pp->n_nums = pp->n_tmp = 0;
}

static void params_reset(struct params *pp)
{
	for (size_t i = 0; i < pp->n_tmp; i++)
		free(pp->tmp[i]);
	pp->n_nums = pp->n_tmp = 0;
}

static void params_release(struct params *pp)
{
	params_reset(pp);
	free(pp->v);
	free(pp->nums);
	free(pp->tmp);
}

static const char *pnum(struct params *pp, long long x, int absent_if_negative)
{
	if (absent_if_negative && x < 0)
		return NULL;
	snprintf(pp->nums[pp->n_nums], sizeof(pp->nums[0]), "%lld", x);
	return pp->nums[pp->n_nums++];
}

static const char *ppayload(struct params *pp, const char *json)
{
	char *tmp;
	const char *v = jsonb_safe(json, &tmp);

	if (tmp)
		pp->tmp[pp->n_tmp++] = tmp;
	return v;
}

/* The item's ITEM_PARAMS values, in values_sql's order, into v. A new item
 * whose offer fields are unknown is stored without them (status UNKNOWN). */
static void item_values(struct params *pp, const struct item_row *it, const char **v)
{
	int known = it->offer_fields_known != 0;

	v[0] = it->sku;
	v[1] = it->title;
	v[2] = it->condition;
	v[3] = it->part_number;
	v[4] = it->model;
	v[5] = known ? it->category : NULL;
	v[6] = known ? store_price(it->price_value) : NULL;
	v[7] = known ? it->price_currency : NULL;
	v[8] = pnum(pp, it->quantity, 1);
	v[9] = known ? it->ebay_listing_id : NULL;
	v[10] = known ? it->ebay_status : NULL;
	v[11] = pnum(pp, it->photo_count > 0 ? it->photo_count : 0, 0);
	v[12] = ppayload(pp, it->raw_payload ? it->raw_payload : "{}");
}

static void offer_values(struct params *pp, const struct offer_row *o, const char **v)
{
	v[0] = o->offer_id;
	v[1] = o->sku;
	v[2] = o->marketplace_id;
	v[3] = o->format;
	v[4] = o->status;
	v[5] = o->listing_id;
	v[6] = o->listing_status;
	v[7] = store_price(o->price_value);
	v[8] = o->price_currency;
	v[9] = pnum(pp, o->available_quantity, 1);
	v[10] = pnum(pp, o->sold_quantity, 1);
	v[11] = o->category_id;
	v[12] = o->listing_start_date;
	v[13] = ppayload(pp, o->raw_payload ? o->raw_payload : "{}");
	v[14] = store_price(o->auction_start_price);
}

/* ---- chunks: runs of rows with distinct keys ---------------------------------- */

struct keyset {
	const char *slot[KEYSET_SLOTS];
};

static uint32_t hash(const char *s)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	while (*s)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h;
}

/* Adds key; returns 0 when it was already there. */
static int keyset_add(struct keyset *ks, const char *key)
{
	uint32_t i = hash(key) & (KEYSET_SLOTS - 1);

	while (ks->slot[i]) {
		if (!strcmp(ks->slot[i], key))
			return 0;
		i = (i + 1) & (KEYSET_SLOTS - 1);
	}
	ks->slot[i] = key;
	return 1;
}

/* The end of the chunk that starts at from: before a repeated key, at
 * MAX_ROWS or at n. Keys are never NULL (store.c checks the batch). */
static size_t chunk_end(struct keyset *ks, const void *rows, size_t size, size_t key_off,
			size_t from, size_t n)
{
	size_t i;

	memset(ks, 0, sizeof(*ks));
	for (i = from; i < n && i - from < MAX_ROWS; i++) {
		const char *key = *(const char *const *)((const char *)rows + i * size + key_off);

		if (!keyset_add(ks, key))
			break;
	}
	return i;
}

/* ---- the batch ------------------------------------------------------------------ */

struct batch {
	const char *user_id, *run_id;
	const struct item_row *items;
	size_t n_items;
	const struct offer_row *offers;
	size_t n_offers;
	struct keyset ks;
	struct params pp;
	/* The chunk that failed on its data, for the diagnosis. */
	int bad_kind; /* 0: none */
	size_t bad_from, bad_to;
	struct item_row *full; /* shallow copies of the items with a raw_payload */
	char *derived;	       /* JSON array of offer fields of the others, or NULL */
	char *complete;	       /* JSON array of the SKUs with offers_complete, or NULL */
};

/* Whether the server refused the rows themselves (bad data, a constraint, a
 * trigger), so that replaying them one by one finds the culprit: not for a
 * lost connection, a timeout, a shortage or a conflict with another writer. */
static int row_error(const struct store *s)
{
	const struct store_pg *p = s->priv;

	return !p->lost && p->sqlstate[0] && strncmp(p->sqlstate, "57", 2) &&
	       strncmp(p->sqlstate, "53", 2) && strncmp(p->sqlstate, "40", 2);
}

/* Context of a failure of rows [from, to) of the batch, naming the table
 * and the SKUs or offers (for one row in store/sqlite.c's words). */
static void chunk_context(const struct batch *b, int offers, size_t from, size_t to, char *out,
			  size_t size)
{
	if (to - from == 1 && offers)
		snprintf(out, size, "cannot upsert offer row for offer '%s' (sku '%s')",
			 b->offers[from].offer_id, b->offers[from].sku);
	else if (to - from == 1)
		snprintf(out, size, "cannot upsert inventory row for sku '%s'", b->items[from].sku);
	else if (offers)
		snprintf(
		    out, size, "cannot upsert %zu offer rows (offers '%s' to '%s') of user '%s'",
		    to - from, b->offers[from].offer_id, b->offers[to - 1].offer_id, b->user_id);
	else
		snprintf(out, size,
			 "cannot upsert %zu inventory rows (skus '%s' to '%s') of user '%s'",
			 to - from, b->items[from].sku, b->items[to - 1].sku, b->user_id);
}

/* Runs the prepared VALUES statement of kind over the rows listed in idx. */
static enum error exec_values(struct store *s, struct batch *b, int kind, const size_t *idx,
			      size_t n, const char *context)
{
	int per = kind == STMT_OFFERS ? OFFER_PARAMS : ITEM_PARAMS;
	const char *name;
	PGresult *r;
	size_t i;

	if (n == 0)
		return ERR_OK;
	name = store_pg_prepare(s, kind, (int)n, values_sql, 2 + per * (int)n, context);
	if (!name)
		return store_pg_err(s);
	params_reset(&b->pp);
	b->pp.v[0] = b->user_id;
	b->pp.v[1] = b->run_id;
	for (i = 0; i < n; i++) {
		if (kind == STMT_OFFERS)
			offer_values(&b->pp, &b->offers[idx[i]], b->pp.v + 2 + per * i);
		else
			item_values(&b->pp, &b->items[idx[i]], b->pp.v + 2 + per * i);
	}
	r = store_pg_exec(s, name, NULL, 2 + per * (int)n, b->pp.v, PGRES_COMMAND_OK, context);
	if (!r)
		return store_pg_err(s);
	PQclear(r);
	return ERR_OK;
}

/* ---- COPY mode ------------------------------------------------------------------- */

/* One field of COPY's text format: \N for NULL, backslash escapes. */
static void copy_field(struct buf *out, const char *v, int last)
{
	if (!v) {
		buf_adds(out, "\\N");
	} else {
		for (; *v; v++) {
			switch (*v) {
			case '\\':
				buf_adds(out, "\\\\");
				break;
			case '\t':
				buf_adds(out, "\\t");
				break;
			case '\n':
				buf_adds(out, "\\n");
				break;
			case '\r':
				buf_adds(out, "\\r");
				break;
			default:
				buf_addch(out, *v);
			}
		}
	}
	buf_addch(out, last ? '\n' : '\t');
}

static enum error copy_rows(struct store *s, struct batch *b, int offers, size_t from, size_t to,
			    int chunk, const char *context)
{
	struct store_pg *p = s->priv;
	const char *v[OFFER_PARAMS];
	struct buf data = BUF_INIT;
	char chunk_s[16];
	PGresult *r;
	size_t i;
	int k, per = offers ? OFFER_PARAMS : ITEM_PARAMS, ok = 1;

	r = store_pg_exec(
	    s, NULL, offers ? "COPY es_stage_offers FROM STDIN" : "COPY es_stage_items FROM STDIN",
	    0, NULL, PGRES_COPY_IN, context);
	if (!r)
		return store_pg_err(s);
	PQclear(r);
	snprintf(chunk_s, sizeof(chunk_s), "%d", chunk);
	for (i = from; i < to && ok; i++) {
		params_reset(&b->pp);
		copy_field(&data, chunk_s, 0);
		if (offers) {
			offer_values(&b->pp, &b->offers[i], v);
		} else {
			copy_field(&data, b->items[i].offer_fields_known ? "t" : "f", 0);
			item_values(&b->pp, &b->items[i], v);
		}
		for (k = 0; k < per; k++)
			copy_field(&data, v[k], k == per - 1);
		if (data.len >= 1 << 16 || i + 1 == to) {
			ok = PQputCopyData(p->conn, data.data, (int)data.len) == 1;
			buf_reset(&data);
		}
	}
	buf_release(&data);
	if (PQputCopyEnd(p->conn, ok ? NULL : "ebaysync could not send the rows") != 1)
		ok = 0;
	r = PQgetResult(p->conn);
	if (!r || PQresultStatus(r) != PGRES_COMMAND_OK) {
		enum error err = store_pg_fail(s, r, context);

		PQclear(r);
		while ((r = PQgetResult(p->conn)))
			PQclear(r);
		return err;
	}
	PQclear(r);
	while ((r = PQgetResult(p->conn)))
		PQclear(r);
	return ok ? ERR_OK : store_pg_fail(s, NULL, context);
}

static enum error merge_chunk(struct store *s, struct batch *b, int kind, int chunk,
			      const char *context)
{
	char chunk_s[16];
	const char *v[3] = {b->user_id, b->run_id, chunk_s};
	const char *name = store_pg_prepare(s, kind, 0, merge_sql, 3, context);
	PGresult *r;

	if (!name)
		return store_pg_err(s);
	snprintf(chunk_s, sizeof(chunk_s), "%d", chunk);
	r = store_pg_exec(s, name, NULL, 3, v, PGRES_COMMAND_OK, context);
	if (!r)
		return store_pg_err(s);
	PQclear(r);
	return ERR_OK;
}

/* ---- the unit ----------------------------------------------------------------------- */

static enum error items_chunk(struct store *s, struct batch *b, size_t from, size_t to, size_t *idx,
			      int chunk)
{
	struct store_pg *p = s->priv;
	size_t i, n_known = 0, n_keep = 0;
	char context[300];
	enum error err;

	chunk_context(b, 0, from, to, context, sizeof(context));
	if (p->mode == STORE_PG_WRITE_COPY) {
		err = copy_rows(s, b, 0, from, to, chunk, context);
		if (!err)
			err = merge_chunk(s, b, STMT_MERGE_ITEMS_KNOWN, chunk, context);
		if (!err)
			err = merge_chunk(s, b, STMT_MERGE_ITEMS_KEEP, chunk, context);
		return err;
	}
	/* idx holds the known rows from the front, the others from the back. */
	for (i = from; i < to; i++) {
		if (b->items[i].offer_fields_known)
			idx[n_known++] = i;
		else
			idx[MAX_ROWS - 1 - n_keep++] = i;
	}
	err = exec_values(s, b, STMT_ITEMS_KNOWN, idx, n_known, context);
	if (!err && n_keep) {
		size_t *keep = idx + MAX_ROWS - n_keep;

		for (i = 0; i < n_keep / 2; i++) { /* back into batch order */
			size_t t = keep[i];

			keep[i] = keep[n_keep - 1 - i];
			keep[n_keep - 1 - i] = t;
		}
		err = exec_values(s, b, STMT_ITEMS_KEEP, keep, n_keep, context);
	}
	return err;
}

static enum error offers_chunk(struct store *s, struct batch *b, size_t from, size_t to,
			       size_t *idx, int chunk)
{
	struct store_pg *p = s->priv;
	char context[300];
	size_t i;
	enum error err;

	chunk_context(b, 1, from, to, context, sizeof(context));
	if (p->mode == STORE_PG_WRITE_COPY) {
		err = copy_rows(s, b, 1, from, to, chunk, context);
		if (!err)
			err = merge_chunk(s, b, STMT_MERGE_OFFERS, chunk, context);
		return err;
	}
	for (i = from; i < to; i++)
		idx[i - from] = i;
	return exec_values(s, b, STMT_OFFERS, idx, to - from, context);
}

/*
 * The offer-derived fields of existing inventory rows (items without a
 * raw_payload, from an offers sync), in one statement that records what it
 * changed as item_upsert_sql does, except in rows this run created (their
 * "created" says it all).
 */
static const char DERIVED_SQL[] =
    "WITH d AS (SELECT * FROM json_to_recordset($2::json) AS d(sku text, category text, "
    "price_value text, price_currency text, listing_id text, status text)), "
    "old AS (SELECT i.sku_code, i.price_value, i.price_currency, i.ebay_listing_id, "
    "i.ebay_status, i.first_seen_run FROM inventory i JOIN d ON i.sku_code = d.sku "
    "WHERE i.user_id = $1), "
    "up AS (UPDATE inventory i SET category = coalesce(d.category, i.category), "
    "price_value = d.price_value::numeric, price_currency = d.price_currency, "
    "ebay_listing_id = d.listing_id, ebay_status = coalesce(d.status, 'UNKNOWN'), "
    "rec_updated = now() FROM d WHERE i.user_id = $1 AND i.sku_code = d.sku "
    "RETURNING i.sku_code, i.price_value, i.price_currency, i.ebay_listing_id, i.ebay_status) "
    "INSERT INTO sync_changes (user_id, run_id, changed_ms, sku_code, field, old_value, "
    "new_value) SELECT $1, $3, " CHANGE_MS ", up.sku_code, c.field, c.o, c.n FROM up "
    "JOIN old ON old.sku_code = up.sku_code CROSS JOIN LATERAL (VALUES "
    "('price', old.price_value::text, up.price_value::text, "
    "old.price_value IS DISTINCT FROM up.price_value), "
    "('currency', old.price_currency, up.price_currency, "
    "old.price_currency IS DISTINCT FROM up.price_currency), "
    "('listing_id', old.ebay_listing_id, up.ebay_listing_id, "
    "old.ebay_listing_id IS DISTINCT FROM up.ebay_listing_id), "
    "('status', old.ebay_status, up.ebay_status, "
    "old.ebay_status IS DISTINCT FROM up.ebay_status)) AS c(field, o, n, hit) "
    "WHERE c.hit AND old.first_seen_run IS DISTINCT FROM $3";

/* Offers of SKUs whose offers were all fetched ($3, a JSON array of SKUs)
 * that this run did not write: eBay no longer has them. */
static const char GONE_SQL[] =
    "UPDATE offers o SET removed_at = now(), removed_run = $2 "
    "FROM json_array_elements_text($3::json) AS d(sku) WHERE o.user_id = $1 "
    "AND o.sku_code = d.sku AND o.removed_at IS NULL AND o.last_seen_run IS DISTINCT FROM $2";

static enum error derived_update(struct store *s, struct batch *b)
{
	const char *values[3];
	enum error err = ERR_OK;

	values[0] = b->user_id;
	if (b->derived) {
		values[1] = b->derived;
		values[2] = b->run_id;
		err = store_pg_cmd(s, DERIVED_SQL, 3, values,
				   "cannot update the offer fields of inventory rows");
	}
	if (!err && b->complete) {
		values[1] = b->run_id;
		values[2] = b->complete;
		err = store_pg_cmd(s, GONE_SQL, 3, values, "cannot mark the removed offers");
	}
	return err;
}

static enum error batch_unit(struct store *s, void *arg)
{
	struct store_pg *p = s->priv;
	struct batch *b = arg;
	size_t from, to, idx[MAX_ROWS];
	enum error err = ERR_OK;
	int chunk = 0;

	b->bad_kind = 0;
	if (p->mode == STORE_PG_WRITE_COPY && !p->staged) {
		err = store_pg_cmd(s, STAGE_SQL, 0, NULL, "cannot create the staging tables");
		if (err)
			return err;
		p->staged = 1; /* undone below if the transaction rolls back */
	}
	for (from = 0; from < b->n_items && !err; from = to) {
		to = chunk_end(&b->ks, b->items, sizeof(*b->items), offsetof(struct item_row, sku),
			       from, b->n_items);
		err = items_chunk(s, b, from, to, idx, chunk++);
		if (err && row_error(s)) {
			b->bad_kind = STMT_ITEMS_KNOWN;
			b->bad_from = from;
			b->bad_to = to;
		}
	}
	for (from = 0; from < b->n_offers && !err; from = to) {
		to = chunk_end(&b->ks, b->offers, sizeof(*b->offers),
			       offsetof(struct offer_row, offer_id), from, b->n_offers);
		err = offers_chunk(s, b, from, to, idx, chunk++);
		if (err && row_error(s)) {
			b->bad_kind = STMT_OFFERS;
			b->bad_from = from;
			b->bad_to = to;
		}
	}
	if (!err)
		err = derived_update(s, b);
	if (err)
		p->staged = 0; /* CREATE TEMP TABLE IF NOT EXISTS again next time */
	return err;
}

/* Replays the failed chunk one row at a time to find the row the server
 * refuses; the transaction is always rolled back. */
static enum error diagnose_unit(struct store *s, void *arg)
{
	struct batch *b = arg;
	char context[300];
	size_t i;
	enum error err = ERR_OK;

	for (i = b->bad_from; i < b->bad_to; i++) {
		int offers = b->bad_kind == STMT_OFFERS;
		int kind = offers			    ? STMT_OFFERS
			   : b->items[i].offer_fields_known ? STMT_ITEMS_KNOWN
							    : STMT_ITEMS_KEEP;

		chunk_context(b, offers, i, i + 1, context, sizeof(context));
		err = exec_values(s, b, kind, &i, 1, context);
		if (err)
			return err;
	}
	return ERR_INTERNAL; /* every row went in alone: keep the chunk's message */
}

/* Items with a raw_payload are upserted; the others only carry offer
 * fields, sent as one JSON array to derived_update. */
static void split_derived(struct batch *b, const struct item_row *items, size_t n)
{
	json_t *arr = NULL, *complete = NULL;
	size_t i;

	b->full = xcalloc(n ? n : 1, sizeof(*b->full));
	for (i = 0; i < n; i++) {
		const struct item_row *it = &items[i];

		if (it->offers_complete) {
			if (!complete)
				complete = json_array();
			json_array_append_new(complete, json_string(it->sku));
		}
		if (it->raw_payload) {
			b->full[b->n_items++] = *it;
			continue;
		}
		if (!arr)
			arr = json_array();
		json_array_append_new(arr,
				      json_pack("{s:s, s:s?, s:s?, s:s?, s:s?, s:s?}", "sku",
						it->sku, "category", it->category, "price_value",
						store_price(it->price_value), "price_currency",
						it->price_currency, "listing_id",
						it->ebay_listing_id, "status", it->ebay_status));
	}
	b->items = b->full;
	if (arr) {
		b->derived = json_dumps(arr, JSON_COMPACT);
		json_decref(arr);
	}
	if (complete) {
		b->complete = json_dumps(complete, JSON_COMPACT);
		json_decref(complete);
	}
}

enum error store_pg_write_batch(struct store *s, const char *user_id, const char *run_id,
				const struct item_row *items, size_t n_items,
				const struct offer_row *offers, size_t n_offers)
{
	struct store_pg *p = s->priv;
	struct batch *b;
	enum error err;

	b = xcalloc(1, sizeof(*b));
	b->user_id = user_id;
	b->run_id = run_id;
	split_derived(b, items, n_items);
	b->offers = offers;
	b->n_offers = n_offers;
	params_init(&b->pp, MAX_ROWS);
	err = store_pg_unit(s, STORE_PG_TX, batch_unit, b);
	if (err && b->bad_kind && !p->lost) {
		char first[sizeof(s->errmsg)];
		enum error why;

		snprintf(first, sizeof(first), "%s", store_errmsg(s));
		why = store_pg_unit(s, STORE_PG_TX, diagnose_unit, b);
		if (why == ERR_INTERNAL || why == ERR_OK)
			store_fail(s, err, "%s", first);
	}
	params_release(&b->pp);
	free(b->full);
	free(b->derived);
	free(b->complete);
	free(b);
	return err;
}

/* ---- deletions ---------------------------------------------------------------- */

/* One statement: the rows, their offers, and a "removed" change a row. */
static const char MARK_SQL[] =
    "WITH gone AS (UPDATE inventory SET removed_at = now(), removed_run = $2 "
    "WHERE user_id = $1 AND removed_at IS NULL AND last_seen_run IS DISTINCT FROM $2 "
    "RETURNING sku_code), "
    "offs AS (UPDATE offers o SET removed_at = now(), removed_run = $2 FROM gone "
    "WHERE o.user_id = $1 AND o.sku_code = gone.sku_code AND o.removed_at IS NULL "
    "RETURNING 1), "
    "ch AS (INSERT INTO sync_changes (user_id, run_id, changed_ms, sku_code, field) "
    "SELECT $1, $2, " CHANGE_MS ", sku_code, 'removed' FROM gone ORDER BY sku_code) "
    "SELECT (SELECT count(*) FROM gone), (SELECT count(*) FROM offs)";

struct mark {
	const char *user_id, *run_id;
	long long items, offers;
};

static enum error mark_unit(struct store *s, void *arg)
{
	struct mark *m = arg;
	const char *v[2] = {m->user_id, m->run_id};
	PGresult *r;

	r = store_pg_exec(s, NULL, MARK_SQL, 2, v, PGRES_TUPLES_OK, "cannot mark the removed rows");
	if (!r)
		return store_pg_err(s);
	m->items = store_pg_get_ll(r, 0, 0);
	m->offers = store_pg_get_ll(r, 0, 1);
	PQclear(r);
	return ERR_OK;
}

enum error store_pg_mark_removed(struct store *s, const char *user_id, const char *run_id,
				 long long *items, long long *offers)
{
	struct mark m = {.user_id = user_id, .run_id = run_id};
	enum error err = store_pg_unit(s, STORE_PG_TX, mark_unit, &m);

	*items = err ? 0 : m.items;
	*offers = err ? 0 : m.offers;
	return err;
}
