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
 * Maps one page's records. With rows NULL only SKUs are kept. Returns the
 * number of rows made (new SKUs only) and the number of new SKUs.
 */
static size_t map_page(struct sync_run *r, long long page, json_t *records, struct item_row *rows,
		       size_t *new_skus)
{
	struct buf warn = BUF_INIT, why = BUF_INIT;
	size_t i, n = 0;
	json_t *rec;

	*new_skus = 0;
	json_array_foreach(records, i, rec)
	{
		struct item_row row;

		buf_reset(&warn);
		buf_reset(&why);
		if (mapping_item_from_json(rec, &row, &warn, &why)) {
			bad_item(r, page, i, buf_str(&why));
			continue;
		}
		if (warn.len)
			sync_emit(r, EVENT_WARNING, "⚠ %s", buf_str(&warn));
		if (!sync_remember(r, row.sku)) { /* offset paging over a changing catalog */
			r->walk_repeats++;
			item_row_release(&row);
			continue;
		}
		(*new_skus)++;
		if (rows)
			rows[n++] = row;
		else
			item_row_release(&row);
	}
	buf_release(&warn);
	buf_release(&why);
	return n;
}

/* Fetches and handles one page; on success sets *next_url (or NULL at the
 * end). */
static enum error one_page(struct sync_run *r, int store_items, long long page, const char *url,
			   struct ebay_pager *pager, char **next_url)
{
	struct ebay_response resp;
	struct ebay_page pg;
	struct buf why = BUF_INIT;
	struct item_row *rows = NULL;
	size_t n_records, n_rows, n_new;
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
	n_records = json_array_size(pg.records);
	if (pg.limit > 0)
		limit = pg.limit;
	if (pg.total >= 0) {
		r->available = pg.total;
		sync_counts_set(r, page, pg.total > 0 ? (pg.total + limit - 1) / limit : page,
				store_items ? "page" : "page");
	} else {
		sync_counts_set(r, page, page, "page");
	}
	if (store_items)
		rows = xcalloc(n_records ? n_records : 1, sizeof(*rows));
	n_rows = map_page(r, page, pg.records, rows, &n_new);
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

	err = ebay_pager_next(pager, &pg, next_url, &why);
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
	free(rows);
	buf_release(&why);
	ebay_response_release(&resp);
	return err;
}

/* One walk from the first page to the last. */
static enum error walk(struct sync_run *r, int store_items, size_t pass)
{
	char *url = ebay_inventory_url(&r->opts.ebay, r->opts.page_limit, 0);
	struct ebay_pager pager;
	long long page = 1;
	enum error err = ERR_OK;

	ebay_pager_init(&pager, url);
	while (url) {
		char *next = NULL;

		if (sync_should_stop(r)) { /* cancellation point 2: between pages */
			err = ERR_CANCELLED;
			break;
		}
		err = one_page(r, store_items, page, url, &pager, &next);
		if (!err && page == 1)
			r->walk_first_total = r->available;
		free(url);
		url = next;
		if (err)
			break;
		page++;
	}
	free(url);
	ebay_pager_release(&pager);
	return err;
}

/*
 * Offset paging over a catalog that changes under it repeats rows (an item
 * added before the cursor) and skips rows (an item removed before it). A
 * repeat is harmless (SKUs are kept once); a skip would lose a SKU. So when
 * the walk shows the catalog moved (total changed, rows repeated, or fewer
 * distinct SKUs than eBay's total), the pages are walked again, and again
 * while a walk still finds SKUs the earlier ones missed, up to
 * SYNC_MAX_WALKS walks.
 */
enum error sync_pages(struct sync_run *r, int store_items)
{
	size_t pass, before;
	enum error err;

	for (pass = 1;; pass++) {
		before = json_array_size(r->skus);
		r->walk_repeats = 0;
		err = walk(r, store_items, pass);
		if (err)
			return err;
		if (pass == 1) {
			if (r->walk_repeats == 0 && r->walk_first_total == r->available &&
			    (r->available < 0 ||
			     (long long)json_array_size(r->skus) >= r->available))
				return ERR_OK;
		} else if (json_array_size(r->skus) == before) {
			sync_emit(r, EVENT_INFO, "Walk %zu found no SKU the earlier walks missed",
				  pass);
			return ERR_OK;
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
		    "repeated, %zu new SKUs in this walk): walking the pages again so that no "
		    "SKU is skipped (walk %zu)",
		    r->walk_first_total, r->available, r->walk_repeats,
		    json_array_size(r->skus) - before, pass + 1);
	}
}
