/*
 * The CSV exports of the listings (GET /ebay/inventory, /ebay/offers and
 * /ebay/changes with ?format=csv or Accept: text/csv; docs/api.md): a body
 * made as it is sent, from the store in chunks of EXPORT_CHUNK rows paged
 * by key (store_query.after, store_change_query.before_id), so a million
 * rows go out in the memory of one chunk. A store connection is borrowed
 * from the pool for each chunk only, never while the client reads.
 */
#ifndef EXPORT_H
#define EXPORT_H

#include <stddef.h>

#include "buf.h"
#include "error.h"
#include "store.h"

#define EXPORT_CHUNK 500

/* What export_read returns at the end and on a failure (as
 * libmicrohttpd's content readers do). */
#define EXPORT_END   (-1L)
#define EXPORT_ERROR (-2L)

enum export_kind {
	EXPORT_INVENTORY,
	EXPORT_OFFERS,
	EXPORT_CHANGES,
};

struct storepool;
struct export;

/*
 * An export of kind with the filters of q (inventory, offers) or cq
 * (changes), both copied; paging fields are ignored. The first chunk is
 * read now, so that a query the store refuses fails here: ERR_INVALID (or
 * another error) with the store's message in why. Free with export_free().
 */
enum error export_new(struct storepool *pool, enum export_kind kind, const struct store_query *q,
		      const struct store_change_query *cq, struct export **out, struct buf *why);

/* Fills up to max bytes of out with the next CSV bytes; returns how many,
 * EXPORT_END when all is sent, or EXPORT_ERROR when the store failed
 * (the client sees a cut body). ctx is the struct export. */
long export_read(void *ctx, char *out, size_t max);

/* Frees an export (ctx may be NULL). */
void export_free(void *ctx);

/* "inventory.csv", "offers.csv" or "changes.csv". */
const char *export_filename(enum export_kind kind);

#endif
