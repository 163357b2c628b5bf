/*
 * The SKU sync (the design document's "Bulk Operations" enhancement): a
 * seller refreshes a few SKUs without walking the whole catalog. Their items
 * come from bulkGetInventoryItem, 25 SKUs a call, the calls sent together
 * through the eBay client; their offers from Step 2 of the offers sync. A SKU
 * eBay does not know is reported and counted as failed, never skipped
 * silently; one that is not a valid SKU is refused before any call.
 */
#include "sync_skus.h"

#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "sync_offers.h"
#include "sync_run.h"
#include "timeutil.h"
#include "writer.h"
#include "xalloc.h"
#include "banned.h"

struct bulk {
	struct sync_run *r;
	long long calls, found, missing;
	enum error fatal;
	struct item_row *rows; /* items of the answers, handed to the writer at the end */
	size_t n_rows, cap_rows;
};

static void not_found(struct bulk *b, const char *sku, json_t *entry)
{
	json_t *e = json_array_get(json_object_get(entry, "errors"), 0);
	const char *msg = json_string_value(json_object_get(e, "message"));

	b->missing++;
	sync_counts_add(b->r, 0, 0, 1, 0);
	sync_emit(b->r, EVENT_WARNING, "⚠ SKU %s: not found on eBay (status %lld%s%s)", sku,
		  (long long)json_integer_value(json_object_get(entry, "statusCode")),
		  msg ? ": " : "", msg ? msg : "");
}

static void add_item(struct bulk *b, const char *sku, json_t *item)
{
	struct buf warn = BUF_INIT, why = BUF_INIT;
	struct item_row row;
	unsigned char is_new = 0;

	if (!json_object_get(item, "sku")) /* the answer names it beside the item */
		json_object_set_new(item, "sku", json_string(sku));
	if (mapping_item_from_json(item, &row, &warn, &why)) {
		sync_counts_add(b->r, 0, 0, 1, 0);
		sync_emit(b->r, EVENT_WARNING, "⚠ SKU %s: cannot store its item: %s", sku,
			  buf_str(&why));
		goto out;
	}
	if (warn.len)
		sync_emit(b->r, EVENT_WARNING, "⚠ %s", buf_str(&warn));
	if (sync_remember(b->r, (const char *const *)&row.sku, 1, &is_new) || !is_new) {
		item_row_release(&row);
		goto out;
	}
	if (b->n_rows == b->cap_rows) {
		b->cap_rows = b->cap_rows ? 2 * b->cap_rows : 32;
		b->rows = xrealloc(b->rows, b->cap_rows * sizeof(*b->rows));
	}
	b->rows[b->n_rows++] = row;
	b->found++;
	sync_counts_add(b->r, 1, 0, 0, 0);
out:
	buf_release(&warn);
	buf_release(&why);
}

static void bulk_done(void *ctx, const struct ebay_response *resp)
{
	struct bulk *b = ctx;
	size_t i;
	json_t *entry;

	sync_counts_add(b->r, 0, 0, 0, 1);
	if (resp->err == ERR_CANCELLED)
		return;
	if (resp->err == ERR_AUTH || resp->err == ERR_RELINK) {
		if (!b->fatal)
			b->fatal =
			    sync_fail(b->r, resp->err,
				      "eBay refused the access token (bulkGetInventoryItem): %s",
				      resp->message);
		return;
	}
	if (resp->err || !json_is_array(json_object_get(resp->json, "responses"))) {
		if (!b->fatal)
			b->fatal = sync_fail(
			    b->r, resp->err ? resp->err : ERR_PARSE,
			    "bulkGetInventoryItem failed after %d attempts: %s", resp->attempts,
			    resp->err ? resp->message : "the answer has no responses array");
		return;
	}
	sync_emit(b->r, EVENT_RESPONSE, "← Response: %ld (%lldms) - %zu SKUs answered",
		  resp->status, resp->duration_ms,
		  json_array_size(json_object_get(resp->json, "responses")));
	json_array_foreach(json_object_get(resp->json, "responses"), i, entry)
	{
		const char *sku = json_string_value(json_object_get(entry, "sku"));
		json_t *item = json_object_get(entry, "inventoryItem");

		if (!sku)
			continue;
		if (json_integer_value(json_object_get(entry, "statusCode")) == 200 &&
		    json_is_object(item))
			add_item(b, sku, item);
		else
			not_found(b, sku, entry);
	}
}

/* Sends the bulk calls for the wanted SKUs (valid ones, each once). */
static enum error send_calls(struct bulk *b, json_t *valid)
{
	struct sync_run *r = b->r;
	char *url = ebay_bulk_url(&r->opts.ebay);
	size_t i, n = json_array_size(valid);
	enum error err = ERR_OK;

	for (i = 0; i < n && !err; i += EBAY_BULK_MAX) {
		json_t *req = json_array(), *wrap;
		char *body, *label;

		for (size_t k = i; k < n && k < i + EBAY_BULK_MAX; k++)
			json_array_append_new(req,
					      json_pack("{s:O}", "sku", json_array_get(valid, k)));
		label = xasprintf("SKUs %zu-%zu", i + 1, i + json_array_size(req));
		wrap = json_pack("{s:o}", "requests", req); /* takes req */
		body = json_dumps(wrap, JSON_COMPACT);
		json_decref(wrap);
		sync_emit(r, EVENT_REQUEST,
			  "→ Requesting %s of %zu: POST /sell/inventory/v1/bulk_get_inventory_item",
			  label, n);
		err = ebay_submit_post(r->client, EBAY_REQ_BULK, url, body, label, bulk_done, b);
		b->calls++;
		free(label);
		free(body);
	}
	free(url);
	return err;
}

/* The wanted SKUs that can be SKUs at all, each once. */
static json_t *valid_skus(struct sync_run *r)
{
	json_t *valid = json_array(), *seen = json_object();

	for (size_t i = 0; i < r->n_wanted; i++) {
		const char *sku = r->wanted[i];
		json_t *s = json_string(sku); /* NULL when not UTF-8 */

		if (!s || !*sku || strlen(sku) > MAPPING_SKU_MAX) {
			sync_counts_add(r, 0, 0, 1, 0);
			sync_emit(
			    r, EVENT_WARNING,
			    "⚠ '%s' is not a SKU (empty, over %d bytes or not UTF-8): skipped",
			    s ? sku : "(invalid)", MAPPING_SKU_MAX);
		} else if (!json_object_get(seen, sku)) {
			json_object_set_new(seen, sku, json_true());
			json_array_append(valid, s);
		}
		json_decref(s);
	}
	json_decref(seen);
	return valid;
}

enum error sync_skus(struct sync_run *r)
{
	struct bulk b = {.r = r};
	json_t *valid = valid_skus(r);
	size_t n = json_array_size(valid);
	enum error err;

	sync_emit(r, EVENT_START, "Starting SKU sync from eBay (%s): %zu SKUs", r->env_name, n);
	sync_emit(r, EVENT_INFO,
		  "API Configuration: Inventory API v1 - bulkGetInventoryItem (%d "
		  "SKUs a call) → getOffers per SKU",
		  EBAY_BULK_MAX);
	sync_counts_set(r, 0, (long long)((n + EBAY_BULK_MAX - 1) / EBAY_BULK_MAX), "call");
	if (n == 0) {
		json_decref(valid);
		return sync_fail(r, ERR_INVALID, "no SKU to sync: give at least one valid SKU");
	}
	err = send_calls(&b, valid);
	json_decref(valid);
	while (!err && ebay_pending(r->client) && !b.fatal) {
		if (sync_should_stop(r)) {
			ebay_cancel_all(r->client);
			err = ERR_CANCELLED;
			break;
		}
		err = ebay_poll(r->client, 100);
	}
	if (!err && b.fatal)
		err = b.fatal;
	if (!err && b.n_rows) {
		writer_submit(r->writer, b.rows, b.n_rows, NULL, 0, 0); /* frees the rows */
		b.rows = NULL;
		b.n_rows = 0;
		err = sync_flush_writer(r);
	}
	for (size_t i = 0; i < b.n_rows; i++)
		item_row_release(&b.rows[i]);
	free(b.rows);
	if (err)
		return err;
	sync_emit(r, EVENT_INFO,
		  "✓ Items: %lld of %zu SKUs found on eBay and stored, %lld not found", b.found, n,
		  b.missing);
	pthread_mutex_lock(&r->lock);
	r->counts.fetched = r->counts.stored = 0; /* from here on the counts are offers */
	pthread_mutex_unlock(&r->lock);
	if (r->n_skus == 0) {
		r->summary =
		    xasprintf("SKU sync completed: none of the %zu SKUs was found on eBay", n);
		return ERR_OK;
	}
	err = sync_offers_step2(r);
	if (!err) {
		char *offers = r->summary;

		r->summary =
		    xasprintf("SKU sync completed: %lld of %zu SKUs found, %lld not found; "
			      "%s",
			      b.found, n, b.missing, offers ? offers : "");
		free(offers);
	}
	return err;
}
