/*
 * The listings of the SQLite backend (see store.h): the inventory and
 * offers tables as the page and the API read them (search, filters, sort,
 * offset paging, and keyset paging after a key for exports), and the change
 * log (sync_changes), newest first. Each query is prepared per call from
 * allow-listed pieces, every value bound; the count is made only when the
 * caller asks for it, so an export that pages by key costs one indexed
 * range scan per chunk.
 */
#include "sqlite_internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "timeutil.h"

#include "banned.h"

#define ITEM_LIST_COLS                                                                             \
	"user_id, sku_code, title, condition, part_number, model, category, price_value, "         \
	"price_currency, quantity, ebay_listing_id, ebay_status, photo_count, raw_payload, "       \
	"last_seen_run, rec_created, rec_updated, removed_at"
#define OFFER_LIST_COLS                                                                            \
	"user_id, offer_id, sku_code, marketplace_id, format, status, listing_id, "                \
	"listing_status, price_value, price_currency, auction_start_price, available_quantity, "   \
	"sold_quantity, category_id, listing_start_date, raw_payload, last_seen_run, "             \
	"rec_created, "                                                                            \
	"rec_updated, removed_at"

#define db_of	  store_sqlite_db
#define db_fail	  store_sqlite_fail
#define bind_text store_sqlite_bind_text

struct sort_col {
	const char *name; /* what the API accepts */
	const char *expr; /* what SQL sorts by */
};

static const struct sort_col item_sorts[] = {
    {"sku_code", "sku_code"},
    {"title", "title"},
    {"condition", "condition"},
    {"part_number", "part_number"},
    {"model", "model"},
    {"category", "category"},
    {"price_value", "CAST(price_value AS REAL)"},
    {"price_currency", "price_currency"},
    {"quantity", "quantity"},
    {"ebay_listing_id", "ebay_listing_id"},
    {"ebay_status", "ebay_status"},
    {"photo_count", "photo_count"},
    {"last_seen_run", "last_seen_run"},
    {"rec_created", "rec_created"},
    {"rec_updated", "rec_updated"},
    {NULL, NULL},
};

static const struct sort_col offer_sorts[] = {
    {"offer_id", "offer_id"},
    {"sku_code", "sku_code"},
    {"marketplace_id", "marketplace_id"},
    {"format", "format"},
    {"status", "status"},
    {"listing_id", "listing_id"},
    {"listing_status", "listing_status"},
    {"price_value", "CAST(price_value AS REAL)"},
    {"price_currency", "price_currency"},
    {"available_quantity", "available_quantity"},
    {"sold_quantity", "sold_quantity"},
    {"category_id", "category_id"},
    {"listing_start_date", "listing_start_date"},
    {"last_seen_run", "last_seen_run"},
    {"rec_created", "rec_created"},
    {"rec_updated", "rec_updated"},
    {NULL, NULL},
};

struct list_spec {
	const char *table;
	const char *columns;
	const char *key; /* the row key after user_id: the last sort key, for stable pages */
	const struct sort_col *sorts;
	const char *status_col;
	int items; /* inventory: search titles too, filter by condition */
};

static const struct list_spec item_spec = {"inventory", ITEM_LIST_COLS, "sku_code",
					   item_sorts,	"ebay_status",	1};
static const struct list_spec offer_spec = {"offers",	 OFFER_LIST_COLS, "offer_id",
					    offer_sorts, "status",	  0};

/* One result row as a JSON object of every column (see docs/schema.md). */
static json_t *row_json(sqlite3_stmt *st)
{
	json_t *obj = json_object();
	int i, n = sqlite3_column_count(st);

	for (i = 0; i < n; i++) {
		const char *name = sqlite3_column_name(st, i);
		const char *text = (const char *)sqlite3_column_text(st, i);
		size_t len = (size_t)sqlite3_column_bytes(st, i);
		json_t *v;

		switch (sqlite3_column_type(st, i)) {
		case SQLITE_NULL:
			v = json_null();
			break;
		case SQLITE_INTEGER:
			if (!strcmp(name, "price_value") || !strcmp(name, "auction_start_price"))
				v = json_stringn(text, len);
			else
				v = json_integer(sqlite3_column_int64(st, i));
			break;
		case SQLITE_FLOAT:
			v = !strcmp(name, "price_value") || !strcmp(name, "auction_start_price")
				? json_stringn(text, len)
				: json_real(sqlite3_column_double(st, i));
			break;
		default:
			v = NULL;
			if (!strcmp(name, "raw_payload"))
				v = json_loadb(text, len, 0, NULL);
			if (!v)
				v = json_stringn(text, len);
			break;
		}
		json_object_set_new(obj, name, v ? v : json_null());
	}
	return obj;
}

static enum error list_rows(struct store *s, const struct list_spec *spec,
			    const struct store_query *q, json_t **rows, long long *total)
{
	const struct sort_col *sort = spec->sorts;
	const char *dir = q->desc ? "DESC" : "ASC";
	sqlite3_stmt *st = NULL, *cnt = NULL;
	struct buf where, sql;
	char *pattern = NULL;
	json_t *arr = NULL;
	enum error err = ERR_OK;
	int rc;

	buf_init(&where, 0);
	buf_init(&sql, 0);
	while (sort->name && strcmp(sort->name, q->sort ? q->sort : "sku_code") != 0)
		sort++;
	if (!sort->name) {
		err = store_fail(s, ERR_INVALID, "cannot sort by '%.64s'", q->sort);
		goto out;
	}

	buf_adds(&where, " WHERE user_id = ?1");
	if (q->search && *q->search) {
		pattern = store_like_pattern(q->search);
		buf_adds(&where, spec->items ? " AND (sku_code LIKE ?2 ESCAPE '\\' "
					       "OR title LIKE ?2 ESCAPE '\\')"
					     : " AND sku_code LIKE ?2 ESCAPE '\\'");
	}
	if (q->status)
		buf_addf(&where, " AND %s = ?3", spec->status_col);
	if (q->condition && spec->items)
		buf_adds(&where, " AND condition = ?4");
	if (q->sku)
		buf_adds(&where, " AND sku_code = ?5");
	if (q->removed == STORE_REMOVED_HIDE)
		buf_adds(&where, " AND removed_at IS NULL");
	else if (q->removed == STORE_REMOVED_ONLY)
		buf_adds(&where, " AND removed_at IS NOT NULL");

	if (total) {
		buf_addf(&sql, "SELECT count(*) FROM %s%s", spec->table, buf_str(&where));
		if (sqlite3_prepare_v2(db_of(s), buf_str(&sql), -1, &cnt, NULL) != SQLITE_OK) {
			err = db_fail(s, "cannot count %s rows", spec->table);
			goto out;
		}
		buf_reset(&sql);
	}
	if (q->after) /* keyset paging: the key's order only (store.c checked the sort) */
		buf_addf(&sql, "SELECT %s FROM %s%s AND %s > ?8 ORDER BY %s LIMIT ?6 OFFSET ?7",
			 spec->columns, spec->table, buf_str(&where), spec->key, spec->key);
	else
		buf_addf(
		    &sql, "SELECT %s FROM %s%s ORDER BY %s %s NULLS LAST, %s %s LIMIT ?6 OFFSET ?7",
		    spec->columns, spec->table, buf_str(&where), sort->expr, dir, spec->key, dir);
	if (sqlite3_prepare_v2(db_of(s), buf_str(&sql), -1, &st, NULL) != SQLITE_OK) {
		err = db_fail(s, "cannot list %s rows", spec->table);
		goto out;
	}
	for (sqlite3_stmt *each = cnt ? cnt : st; each; each = each == cnt ? st : NULL) {
		int max = sqlite3_bind_parameter_count(each);

		bind_text(each, 1, q->user_id);
		if (max >= 2)
			bind_text(each, 2, pattern);
		if (max >= 3)
			bind_text(each, 3, q->status);
		if (max >= 4)
			bind_text(each, 4, q->condition);
		if (max >= 5)
			bind_text(each, 5, q->sku);
		if (max >= 7) {
			sqlite3_bind_int64(each, 6, q->limit > 0 ? q->limit : -1);
			sqlite3_bind_int64(each, 7, q->offset > 0 ? q->offset : 0);
		}
		if (max >= 8)
			bind_text(each, 8, q->after);
	}

	if (cnt && sqlite3_step(cnt) != SQLITE_ROW) {
		err = db_fail(s, "cannot count %s rows of user '%s'", spec->table, q->user_id);
		goto out;
	}
	if (total)
		*total = sqlite3_column_int64(cnt, 0);
	arr = json_array();
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		json_array_append_new(arr, row_json(st));
	if (rc != SQLITE_DONE) {
		err = db_fail(s, "cannot list %s rows of user '%s'", spec->table, q->user_id);
		goto out;
	}
	*rows = arr;
	arr = NULL;
out:
	json_decref(arr);
	sqlite3_finalize(st);
	sqlite3_finalize(cnt);
	free(pattern);
	buf_release(&where);
	buf_release(&sql);
	return err;
}

enum error store_sqlite_list_items(struct store *s, const struct store_query *q, json_t **rows,
				   long long *total)
{
	return list_rows(s, &item_spec, q, rows, total);
}

enum error store_sqlite_list_offers(struct store *s, const struct store_query *q, json_t **rows,
				    long long *total)
{
	return list_rows(s, &offer_spec, q, rows, total);
}

/* ---- the change log ------------------------------------------------------ */

enum error store_sqlite_list_changes(struct store *s, const struct store_change_query *q,
				     json_t **rows, long long *total)
{
	static const char where[] =
	    " WHERE user_id = ?1 AND (?2 IS NULL OR run_id = ?2) AND (?3 IS NULL OR sku_code = ?3) "
	    "AND (?4 IS NULL OR field = ?4) AND changed_ms >= ?5 AND id < ?6";
	sqlite3_stmt *st = NULL, *cnt = NULL;
	struct buf sql = BUF_INIT;
	json_t *arr = NULL;
	enum error err = ERR_OK;
	int rc;

	if (total) {
		buf_addf(&sql, "SELECT count(*) FROM sync_changes%s", where);
		if (sqlite3_prepare_v2(db_of(s), buf_str(&sql), -1, &cnt, NULL) != SQLITE_OK) {
			err = db_fail(s, "cannot count sync_changes rows");
			goto out;
		}
		buf_reset(&sql);
	}
	buf_addf(&sql,
		 "SELECT id, run_id, changed_ms, sku_code, field, old_value, new_value "
		 "FROM sync_changes%s ORDER BY id DESC LIMIT ?7 OFFSET ?8",
		 where);
	if (sqlite3_prepare_v2(db_of(s), buf_str(&sql), -1, &st, NULL) != SQLITE_OK) {
		err = db_fail(s, "cannot list sync_changes rows");
		goto out;
	}
	for (sqlite3_stmt *each = cnt ? cnt : st; each; each = each == cnt ? st : NULL) {
		bind_text(each, 1, q->user_id);
		bind_text(each, 2, q->run_id);
		bind_text(each, 3, q->sku);
		bind_text(each, 4, q->field);
		sqlite3_bind_int64(each, 5, q->since_ms > 0 ? q->since_ms : 0);
		sqlite3_bind_int64(each, 6, q->before_id > 0 ? q->before_id : (long long)INT64_MAX);
		if (each == st) {
			sqlite3_bind_int64(each, 7, q->limit > 0 ? q->limit : -1);
			sqlite3_bind_int64(each, 8, q->offset > 0 ? q->offset : 0);
		}
	}
	if (cnt && sqlite3_step(cnt) != SQLITE_ROW) {
		err = db_fail(s, "cannot count sync_changes rows of user '%s'", q->user_id);
		goto out;
	}
	if (total)
		*total = sqlite3_column_int64(cnt, 0);
	arr = json_array();
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		long long ms = sqlite3_column_int64(st, 2);
		const char *old = (const char *)sqlite3_column_text(st, 5);
		const char *new = (const char *)sqlite3_column_text(st, 6);
		const char *run = (const char *)sqlite3_column_text(st, 1);
		char iso[32];

		timeutil_iso(ms, iso, sizeof(iso));
		json_array_append_new(
		    arr,
		    json_pack("{s:I, s:s?, s:I, s:s, s:s, s:s, s:s?, s:s?}", "id",
			      (json_int_t)sqlite3_column_int64(st, 0), "run_id", run, "changed_ms",
			      (json_int_t)ms, "changed_at", iso, "sku",
			      (const char *)sqlite3_column_text(st, 3), "field",
			      (const char *)sqlite3_column_text(st, 4), "old", old, "new", new));
	}
	if (rc != SQLITE_DONE) {
		err = db_fail(s, "cannot list sync_changes rows of user '%s'", q->user_id);
		goto out;
	}
	*rows = arr;
	arr = NULL;
out:
	json_decref(arr);
	sqlite3_finalize(st);
	sqlite3_finalize(cnt);
	buf_release(&sql);
	return err;
}
