/*
 * CSV exports streamed from the store in keyset-paged chunks (see export.h).
 * The text of one chunk sits in a buffer that export_read drains; when it is
 * empty the next chunk is read after the last key sent, with a store taken
 * from the pool for that read only.
 */
#include "export.h"

#include <stdlib.h>
#include <string.h>

#include "csv.h"
#include "storepool.h"
#include "xalloc.h"

#include "banned.h"

static const char *const ITEM_CSV[] = {
    "sku_code",	   "title",	  "condition",	    "part_number", "model",
    "category",	   "price_value", "price_currency", "quantity",	   "ebay_listing_id",
    "ebay_status", "photo_count", "last_seen_run",  "rec_created", "rec_updated",
    "removed_at",  NULL,
};

static const char *const OFFER_CSV[] = {
    "offer_id",
    "sku_code",
    "marketplace_id",
    "format",
    "status",
    "listing_id",
    "listing_status",
    "price_value",
    "price_currency",
    "auction_start_price",
    "available_quantity",
    "sold_quantity",
    "category_id",
    "listing_start_date",
    "last_seen_run",
    "rec_created",
    "rec_updated",
    "removed_at",
    NULL,
};

static const char *const CHANGE_CSV[] = {
    "id", "run_id", "changed_at", "sku", "field", "old", "new", NULL,
};

struct export
{
	struct storepool *pool;
	enum export_kind kind;
	struct store_query q;
	struct store_change_query cq;
	char *strings[8]; /* copies of the query's texts */
	char *after;	  /* the last key sent (inventory, offers) */
	int end;	  /* the last chunk has been read */
	struct buf text;  /* CSV not sent yet */
	size_t off;
};

static const char *keep(struct export *e, size_t i, const char *v)
{
	e->strings[i] = v ? xstrdup(v) : NULL;
	return e->strings[i];
}

static const char *const *columns(enum export_kind kind)
{
	return kind == EXPORT_INVENTORY ? ITEM_CSV : kind == EXPORT_OFFERS ? OFFER_CSV : CHANGE_CSV;
}

/* Reads the next chunk into e->text; sets e->end after the last. */
static enum error next_chunk(struct export *e, struct buf *why)
{
	struct store *s = storepool_get(e->pool, why);
	json_t *rows = NULL, *row;
	enum error err;
	size_t i;

	if (!s)
		return ERR_DB;
	if (e->kind == EXPORT_CHANGES) {
		err = store_list_changes(s, &e->cq, &rows, NULL);
	} else {
		e->q.after = e->after;
		err = e->kind == EXPORT_INVENTORY ? store_list_items(s, &e->q, &rows, NULL)
						  : store_list_offers(s, &e->q, &rows, NULL);
	}
	if (err && why)
		buf_adds(why, store_errmsg(s));
	storepool_put(e->pool, s, err == ERR_DB);
	if (err)
		return err;
	buf_reset(&e->text);
	e->off = 0;
	json_array_foreach(rows, i, row) csv_row(&e->text, row, columns(e->kind));
	if (json_array_size(rows) < EXPORT_CHUNK)
		e->end = 1;
	row = json_array_get(rows, json_array_size(rows) - 1);
	if (row && e->kind == EXPORT_CHANGES) {
		e->cq.before_id = (long long)json_integer_value(json_object_get(row, "id"));
	} else if (row) {
		free(e->after);
		e->after = xstrdup(json_string_value(
		    json_object_get(row, e->kind == EXPORT_INVENTORY ? "sku_code" : "offer_id")));
	}
	json_decref(rows);
	return ERR_OK;
}

enum error export_new(struct storepool *pool, enum export_kind kind, const struct store_query *q,
		      const struct store_change_query *cq, struct export **out, struct buf *why)
{
	struct export *e = xcalloc(1, sizeof(*e));
	struct buf first = BUF_INIT;
	enum error err;

	*out = NULL;
	e->pool = pool;
	e->kind = kind;
	buf_init(&e->text, 0);
	if (kind == EXPORT_CHANGES) {
		e->cq.user_id = keep(e, 0, cq->user_id);
		e->cq.run_id = keep(e, 1, cq->run_id);
		e->cq.sku = keep(e, 2, cq->sku);
		e->cq.field = keep(e, 3, cq->field);
		e->cq.since_ms = cq->since_ms;
		e->cq.limit = EXPORT_CHUNK;
	} else {
		e->q.user_id = keep(e, 0, q->user_id);
		e->q.search = keep(e, 1, q->search);
		e->q.status = keep(e, 2, q->status);
		e->q.condition = keep(e, 3, q->condition);
		e->q.sku = keep(e, 4, q->sku);
		e->q.removed = q->removed;
		e->q.limit = EXPORT_CHUNK;
	}
	err = next_chunk(e, why);
	if (err) {
		export_free(e);
		buf_release(&first);
		return err;
	}
	/* The header goes before the first chunk's rows. */
	csv_header(&first, columns(kind));
	buf_add(&first, e->text.data, e->text.len);
	buf_release(&e->text);
	e->text = first;
	*out = e;
	return ERR_OK;
}

long export_read(void *ctx, char *out, size_t max)
{
	struct export *e = ctx;
	size_t n;

	while (e->off == e->text.len) {
		if (e->end)
			return EXPORT_END;
		if (next_chunk(e, NULL))
			return EXPORT_ERROR;
	}
	n = e->text.len - e->off < max ? e->text.len - e->off : max;
	memcpy(out, e->text.data + e->off, n);
	e->off += n;
	return (long)n;
}

void export_free(void *ctx)
{
	struct export *e = ctx;

	if (!e)
		return;
	for (size_t i = 0; i < sizeof(e->strings) / sizeof(e->strings[0]); i++)
		free(e->strings[i]);
	free(e->after);
	buf_release(&e->text);
	free(e);
}

const char *export_filename(enum export_kind kind)
{
	return kind == EXPORT_INVENTORY ? "inventory.csv"
	       : kind == EXPORT_OFFERS	? "offers.csv"
					: "changes.csv";
}
