/*
 * Walking getInventoryItems (see docs/pipeline.md): page after page along
 * the `next` links eBay returns, guarded by struct ebay_pager, with a
 * cancellation point between pages. Each page's items are mapped and handed
 * to the writer (the inventory sync) or only their SKUs kept (Step 1 of the
 * offers sync). SKUs are collected once each, in the order eBay gave them:
 * offset paging over a catalog that changes can repeat a row, and a repeat
 * must not be counted or stored twice.
 */
#include "sync_pages.h"

#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "sync_run.h"
#include "timeutil.h"
#include "writer.h"
#include "xalloc.h"
#include "banned.h"

#define SYNC_MAX_WALKS 5 /* walks of the inventory pages when the catalog moves */
/* Pages in a row that bring no new SKU before the first walk stops
 * following next links: offset paging over a changing catalog repeats a few
 * rows, never whole pages after whole pages. */
#define SYNC_IDLE_PAGES 3

/* Records an item that cannot be stored (no usable SKU). */
static void bad_item(struct sync_run *r, long long page, size_t index, const char *why)
{
	char *key = xasprintf("(page %lld, item %zu)", page, index + 1);

	sync_counts_add(r, 0, 0, 1, 0);
	sync_emit(r, EVENT_WARNING, "⚠ Skipping item %zu of page %lld: %s", index + 1, page, why);
	store_failure_add(r->store, r->user_id, "inventory", r->id, key, why, 1);
	free(key);
}

/*
 * Maps one page's records into rows (room for every record) and adds their
 * SKUs to the run's list in one call. Keeps in rows[0..*n_rows) the rows of
 * SKUs new to the run when keep is set, none otherwise; *new_skus is how
 * many were new. A row repeated by offset paging over a changing catalog is
 * dropped here, so that it is neither counted nor stored twice.
 */
static enum error map_page(struct sync_run *r, long long page, json_t *records,
			   struct item_row *rows, int keep, size_t *n_rows, size_t *new_skus)
{
	struct buf warn = BUF_INIT, why = BUF_INIT;
	size_t i, n = 0, kept = 0;
	const char **skus = xcalloc(json_array_size(records) + 1, sizeof(*skus));
	unsigned char *is_new = xcalloc(json_array_size(records) + 1, 1);
	enum error err;
	json_t *rec;

	*new_skus = 0;
	json_array_foreach(records, i, rec)
	{
		buf_reset(&warn);
		buf_reset(&why);
		if (mapping_item_from_json(rec, &rows[n], &warn, &why)) {
			bad_item(r, page, i, buf_str(&why));
			continue;
		}
		if (warn.len)
			sync_emit(r, EVENT_WARNING, "⚠ %s", buf_str(&warn));
		skus[n] = rows[n].sku;
		n++;
	}
	err = sync_remember(r, skus, n, is_new);
	for (i = 0; i < n; i++) {
		if (!err && is_new[i])
			(*new_skus)++;
		else if (!err)
			r->walk_repeats++;
		if (!err && keep && is_new[i])
			rows[kept++] = rows[i];
		else
			item_row_release(&rows[i]);
	}
	*n_rows = kept;
	free(skus);
	free(is_new);
	buf_release(&warn);
	buf_release(&why);
	return err;
}

/* The state of one walk along the pages. */
struct walk_state {
	struct ebay_pager pager;
	size_t pass;	    /* 1 for the first walk */
	long long max_page; /* the last page a walk after the first may fetch */
	int idle;	    /* pages in a row without a new SKU */
	int warned;	    /* a page field was reported ignored */
};

/* Refuses to go on from a page when the walk stopped bringing anything:
 * SYNC_IDLE_PAGES pages in a row without a new SKU in the first walk, or
 * far more pages than the first walk took in a later one. */
static enum error plausible(struct sync_run *r, struct walk_state *w, long long page, size_t n_new,
			    struct buf *why)
{
	w->idle = n_new ? 0 : w->idle + 1;
	if (w->pass == 1 && w->idle >= SYNC_IDLE_PAGES) {
		buf_addf(why,
			 "%d pages in a row brought no new SKU (%lld SKUs from %lld pages, eBay's "
			 "total %lld)",
			 w->idle, r->n_skus, page, r->available);
		return ERR_PARSE;
	}
	if (w->pass > 1 && page >= w->max_page) {
		buf_addf(why, "walk %zu reached page %lld, twice as many as the first walk took",
			 w->pass, page);
		return ERR_PARSE;
	}
	return ERR_OK;
}

/* Fetches and handles one page; on success sets *next_url (or NULL at the
 * end). */
static enum error one_page(struct sync_run *r, int store_items, long long page, const char *url,
			   struct walk_state *w, char **next_url)
{
	struct ebay_response resp;
	struct ebay_page pg;
	struct buf why = BUF_INIT;
	struct item_row *rows = NULL;
	size_t n_records, n_rows = 0, n_new;
	long long limit = r->opts.page_limit;
	enum error err;

	*next_url = NULL;
	memset(&resp, 0, sizeof(resp));
	if (store_items)
		sync_emit(r, EVENT_REQUEST, "→ Requesting page %lld: GET %s", page,
			  sync_url_path(url));
	else
		sync_emit(r, EVENT_REQUEST, "→ Fetching inventory items page %lld: GET %s", page,
			  sync_url_path(url));
	err = ebay_get(r->client, EBAY_REQ_INVENTORY, url, NULL, &resp);
	if (resp.err == ERR_AUTH || resp.err == ERR_RELINK) {
		/* The token source says what to do (for a linked account whose
		 * consent ended: "link the account again"). */
		err = sync_fail(r, resp.err,
				"eBay refused the access token (inventory page %lld): %s", page,
				resp.message);
		goto out;
	}
	if (err || resp.err) {
		err = sync_fail(r, err ? err : resp.err,
				"cannot fetch inventory page %lld after %d attempts: %s", page,
				resp.attempts,
				resp.message[0] ? resp.message : error_strerror(resp.err));
		goto out;
	}
	err = ebay_parse_page(resp.json, "inventoryItems", &pg, &why);
	if (err) {
		err = sync_fail(r, err, "eBay sent a malformed inventory page %lld: %s", page,
				buf_str(&why));
		goto out;
	}
	if (pg.warning[0] && !w->warned) {
		w->warned = 1;
		sync_emit(r, EVENT_WARNING, "⚠ inventory page %lld: %s", page, pg.warning);
	}
	n_records = json_array_size(pg.records);
	if (pg.limit > 0)
		limit = pg.limit;
	if (pg.total >= 0) { /* at most EBAY_TOTAL_MAX: no overflow */
		long long pages = pg.total / limit + (pg.total % limit != 0);

		r->available = pg.total;
		sync_counts_set(r, page, pages > page ? pages : page, "page");
	} else {
		sync_counts_set(r, page, page, "page");
	}
	rows = xcalloc(n_records ? n_records : 1, sizeof(*rows));
	err = map_page(r, page, pg.records, rows, store_items, &n_rows, &n_new);
	if (err)
		goto out;
	sync_counts_add(r, store_items ? (long long)n_new : 0, 0, 0, 0);
	if (store_items)
		sync_emit(
		    r, EVENT_RESPONSE,
		    "← Response: %ld OK (%lldms) - Received %zu items (Total available: %lld)",
		    resp.status, resp.duration_ms, n_records, pg.total >= 0 ? pg.total : 0);
	else
		sync_emit(
		    r, EVENT_RESPONSE,
		    "← Response: %ld OK (%lldms) - Received %zu items, %zu SKUs (Total: %lld)",
		    resp.status, resp.duration_ms, n_records, n_new, pg.total >= 0 ? pg.total : 0);

	err = pg.next ? plausible(r, w, page, n_new, &why) : ERR_OK;
	if (!err)
		err = ebay_pager_next(&w->pager, &pg, next_url, &why);
	if (err) {
		err = sync_fail(r, err, "cannot follow the next link of inventory page %lld: %s",
				page, buf_str(&why));
		goto out;
	}
	if (store_items && r->page_filter) { /* the refresh keeps what changed */
		err = r->page_filter(r, rows, &n_rows);
		if (err)
			goto out;
	}
	if (store_items) {
		sync_emit(r, EVENT_REQUEST, "→ Storing %zu inventory items in database...", n_rows);
		err = writer_submit(r->writer, rows, n_rows, NULL, 0,
				    (page << 16) | (long long)(n_records & 0xffff));
		rows = NULL;
		if (err)
			err = sync_flush_writer(r);
	}
out:
	for (size_t i = 0; rows && i < n_rows; i++) /* not handed to the writer */
		item_row_release(&rows[i]);
	free(rows);
	buf_release(&why);
	ebay_response_release(&resp);
	return err;
}

/* One walk from the first page to the last. *pages: the pages the first
 * walk took (set by it, read by the later ones). */
static enum error walk(struct sync_run *r, int store_items, size_t pass, long long *pages)
{
	char *url = ebay_inventory_url(&r->opts.ebay, r->opts.page_limit, 0);
	struct walk_state w = {.pass = pass, .max_page = *pages * 2 + 2};
	long long page = 1;
	enum error err = ERR_OK;

	ebay_pager_init(&w.pager, url);
	while (url) {
		char *next = NULL;

		if (sync_should_stop(r)) { /* cancellation point 2: between pages */
			err = ERR_CANCELLED;
			break;
		}
		err = one_page(r, store_items, page, url, &w, &next);
		if (!err && page == 1)
			r->walk_first_total = r->available;
		free(url);
		url = next;
		if (err)
			break;
		page++;
	}
	if (pass == 1)
		*pages = page;
	free(url);
	ebay_pager_release(&w.pager);
	return err;
}

/*
 * After the walks completed and settled (not stopped, no page failed, every
 * SKU eBay counted seen), the stored rows the walks did not see are gone
 * from eBay: marked removed, with their offers, never deleted.
 */
static enum error mark_removed(struct sync_run *r)
{
	enum error err = sync_flush_writer(r);

	if (err)
		return err;
	if (store_mark_removed(r->store, r->user_id, r->id, &r->removed_items, &r->removed_offers))
		return sync_fail(r, ERR_DB, "cannot mark the rows eBay no longer has: %s",
				 store_errmsg(r->store));
	if (r->removed_items)
		sync_emit(r, EVENT_INFO,
			  "%lld inventory items (and %lld of their offers) are no longer on eBay: "
			  "marked removed (kept, not deleted)",
			  r->removed_items, r->removed_offers);
	return ERR_OK;
}

/*
 * Offset paging over a catalog that changes under it repeats rows (an item
 * added before the cursor) and skips rows (an item removed before it). A
 * repeat is harmless (SKUs are kept once); a skip would lose a SKU. So when
 * the walk shows the catalog moved (total changed, rows repeated, or fewer
 * distinct SKUs than eBay's total), the pages are walked again, and again
 * while a walk still finds SKUs the earlier ones missed, up to
 * SYNC_MAX_WALKS walks. A walk that stores items and settles marks what
 * it did not see removed; one that never settled marks nothing.
 */
enum error sync_pages(struct sync_run *r, int store_items)
{
	size_t pass;
	long long before;
	long long pages = 0;
	enum error err;

	for (pass = 1;; pass++) {
		before = r->n_skus;
		r->walk_repeats = 0;
		err = walk(r, store_items, pass, &pages);
		if (err)
			return err;
		if (pass == 1) {
			if (r->walk_repeats == 0 && r->walk_first_total == r->available &&
			    (r->available < 0 || r->n_skus >= r->available))
				return store_items ? mark_removed(r) : ERR_OK;
		} else if (r->n_skus == before) {
			sync_emit(r, EVENT_INFO, "Walk %zu found no SKU the earlier walks missed",
				  pass);
			return store_items ? mark_removed(r) : ERR_OK;
		}
		if (pass == SYNC_MAX_WALKS) {
			sync_emit(r, EVENT_WARNING,
				  "⚠ The catalog kept changing over %d walks of the pages; SKUs "
				  "added or removed meanwhile may be missing until the next run",
				  SYNC_MAX_WALKS);
			return ERR_OK;
		}
		sync_emit(
		    r, EVENT_WARNING,
		    "⚠ The catalog changed while paging (total %lld → %lld, %lld rows "
		    "repeated, %lld new SKUs in this walk): walking the pages again so that no "
		    "SKU is skipped (walk %zu)",
		    r->walk_first_total, r->available, r->walk_repeats, r->n_skus - before,
		    pass + 1);
	}
}
