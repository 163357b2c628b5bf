/*
 * The refresh (see sync_refresh.h and docs/pipeline.md): a mirror kept
 * current for about one eBay call per 200 SKUs plus one per SKU that
 * changed, where an offers sync costs one call per SKU.
 *
 * 1. createInventoryTask first, so that eBay builds the Active Inventory
 *    Report while the pages are walked.
 * 2. The inventory walk of sync_pages.c, with a page filter: each page's
 *    items are compared with the stored rows (store_items_by_sku) and only
 *    new or changed ones are handed to the writer; unchanged ones only get
 *    this run as last_seen_run (store_items_seen).
 * 3. The report, polled here (so that STOP and the heartbeat go on while
 *    eBay builds it) and downloaded by feed.c, which refuses a corrupt or
 *    cut archive before anything of it is used. Its rows are read in
 *    chunks; each chunk's stored offers are read at once
 *    (store_offers_by_sku), each row judged (refresh_judge), and what the
 *    report settles written through the writer like any other batch.
 * 4. getOffers (Step 2 of sync_offers.c) for the SKUs the report cannot
 *    settle: new to the mirror, a live listing stored but missing from the
 *    report, a listing the mirror does not know, an auction that moved.
 * 5. No report (the daily cap, a failed task, a timeout, a bad archive):
 *    one line saying why, then getOffers for every SKU, or with
 *    report_only the run fails with that reason.
 *
 * Memory: three bytes per SKU (its flags, its live offers stored, its
 * report rows seen) besides the SKU list the walk keeps anyway; stored
 * rows are read a page or a chunk at a time.
 */
#include "sync_refresh.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "feed.h"
#include "store.h"
#include "sync_offers.h"
#include "sync_pages.h"
#include "sync_run.h"
#include "timeutil.h"
#include "writer.h"
#include "xalloc.h"
#include "banned.h"

#define CHUNK_ROWS	500	/* report rows judged together */
#define POLL_FIRST_MS	2000	/* first wait between task polls */
#define POLL_MAX_MS	60000	/* polls back off up to this */
#define REPORT_DEADLINE 3600000 /* for the report task to complete */
#define STOP_CHECK_MS	100	/* how often a wait looks for a STOP */
#define LIVE_MAX	255	/* live offers of a SKU counted, at most */
#define FLAG_NEW	1	/* no stored row before this walk */
#define FLAG_FETCH	2	/* getOffers */

/* A report row whose strings the chunk owns. */
struct row_copy {
	char *sku, *item_id, *price, *currency;
	long long quantity;
};

struct refresh {
	struct sync_run *r;
	struct feed_client *feed;
	char *task_id;
	struct buf why_none; /* why there is no report; empty while there may be one */
	enum error none_err; /* what --report-only fails with */
	/* per position in r->skus */
	unsigned char *flags, *live, *hits;
	size_t n_pos;
	/* the walk */
	long long items_new, items_changed, items_same;
	/* the report */
	struct row_copy chunk[CHUNK_ROWS];
	size_t n_chunk;
	int submitted; /* batches handed to the writer since it last flushed */
	enum error fatal;
	long long rows, rows_same, rows_written, rows_unsettled, rows_unknown, missing;
};

/* ---- the comparison rules --------------------------------------------------- */

int refresh_payload_same(const char *a, const char *b)
{
	json_t *ja, *jb;
	int same;

	if (!a || !b)
		return a == b;
	if (!strcmp(a, b))
		return 1;
	ja = json_loads(a, JSON_DECODE_ANY, NULL);
	jb = json_loads(b, JSON_DECODE_ANY, NULL);
	same = ja && jb && json_equal(ja, jb);
	json_decref(ja);
	json_decref(jb);
	return same;
}

/* The digits of decimal v without leading zeros before the point, nor
 * trailing zeros (nor the point) after it, into out. */
static void canonical_amount(const char *v, char *out, size_t size)
{
	size_t len;

	while (v[0] == '0' && v[1] && v[1] != '.')
		v++;
	snprintf(out, size, "%s", v);
	if (!strchr(out, '.'))
		return;
	len = strlen(out);
	while (len && out[len - 1] == '0')
		out[--len] = '\0';
	if (len && out[len - 1] == '.')
		out[--len] = '\0';
}

int refresh_amount_same(const char *a, const char *b)
{
	char ca[MAPPING_PRICE_MAX + 1], cb[MAPPING_PRICE_MAX + 1];

	if (!mapping_is_decimal(a) || !mapping_is_decimal(b))
		return 0;
	canonical_amount(a, ca, sizeof(ca));
	canonical_amount(b, cb, sizeof(cb));
	return !strcmp(ca, cb);
}

static int is(const char *v, const char *want)
{
	return v && !strcmp(v, want);
}

static int offer_live(const struct offer_row *o)
{
	return is(o->status, "PUBLISHED") && is(o->listing_status, "ACTIVE");
}

/* What the report shows for an auction: its Buy It Now price, else its
 * start price (eBay's rule), from the stored payload. */
static int auction_same(const struct offer_row *o, const struct report_row *row)
{
	json_t *j = json_loads(o->raw_payload ? o->raw_payload : "", 0, NULL);
	json_t *ps = json_object_get(j, "pricingSummary");
	json_t *amount = json_object_get(ps, "price");
	int same;

	if (!json_string_value(json_object_get(amount, "value")))
		amount = json_object_get(ps, "auctionStartPrice");
	same =
	    o->available_quantity == row->quantity &&
	    refresh_amount_same(json_string_value(json_object_get(amount, "value")), row->price) &&
	    is(json_string_value(json_object_get(amount, "currency")), row->currency);
	json_decref(j);
	return same;
}

enum refresh_verdict refresh_judge(const struct report_row *row, const struct offer_row *offers,
				   size_t n, long *match)
{
	const struct offer_row *o;
	size_t matched = 0;
	int price_same;

	*match = -1;
	for (size_t i = 0; i < n; i++) {
		if (is(offers[i].listing_id, row->item_id)) {
			*match = (long)i;
			matched++;
		}
	}
	if (matched != 1) {
		*match = -1;
		return REFRESH_FETCH; /* a listing the mirror does not know */
	}
	o = &offers[*match];
	if (!offer_live(o))
		return REFRESH_FETCH; /* published or relisted since */
	if (is(o->format, "AUCTION"))
		return auction_same(o, row) ? REFRESH_SAME : REFRESH_FETCH;
	price_same =
	    refresh_amount_same(o->price_value, row->price) && is(o->price_currency, row->currency);
	if (o->available_quantity < 0) /* eBay's offer names none: the item's counts */
		return price_same ? REFRESH_SAME : REFRESH_FETCH;
	if (price_same && o->available_quantity == row->quantity)
		return REFRESH_SAME;
	return REFRESH_WRITE;
}

void refresh_patch_offer(struct offer_row *o, const struct report_row *row)
{
	json_t *j = json_loads(o->raw_payload ? o->raw_payload : "", 0, NULL);

	free(o->price_value);
	free(o->price_currency);
	o->price_value = xstrdup(row->price);
	o->price_currency = xstrdup(row->currency);
	o->available_quantity = row->quantity;
	if (json_is_object(j)) {
		json_t *ps = json_object_get(j, "pricingSummary");
		char *text;

		if (!json_is_object(ps)) {
			ps = json_object();
			json_object_set_new(j, "pricingSummary", ps);
		}
		json_object_set_new(
		    ps, "price",
		    json_pack("{s:s,s:s}", "value", row->price, "currency", row->currency));
		json_object_set_new(j, "availableQuantity", json_integer(row->quantity));
		text = json_dumps(j, JSON_COMPACT);
		if (text) {
			free(o->raw_payload);
			o->raw_payload = text;
		}
	}
	json_decref(j);
}

/* ---- per-SKU state ----------------------------------------------------------- */

/* A SKU's position in the run's list (at, from store_skus_positions; -1:
 * the walk did not list it), growing the per-position flags to hold it;
 * *known is 0 for an unlisted SKU. */
static size_t position(struct refresh *f, long long at, int *known)
{
	size_t pos;

	*known = at >= 0;
	pos = *known ? (size_t)at : 0;
	if (*known && pos >= f->n_pos) {
		size_t n = pos + 1 > f->n_pos * 2 ? pos + 1 : f->n_pos * 2;
		f->flags = xrealloc(f->flags, n);
		f->live = xrealloc(f->live, n);
		f->hits = xrealloc(f->hits, n);
		memset(f->flags + f->n_pos, 0, n - f->n_pos);
		memset(f->live + f->n_pos, 0, n - f->n_pos);
		memset(f->hits + f->n_pos, 0, n - f->n_pos);
		f->n_pos = n;
	}
	return pos;
}

/* ---- 2. the walk: store what changed ----------------------------------------- */

static void release_rows(struct item_row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++)
		item_row_release(&rows[i]);
}

static enum error filter_page(struct sync_run *r, struct item_row *rows, size_t *n)
{
	struct refresh *f = r->phase;
	const char **skus;
	char **same;
	struct stored_item *stored = NULL;
	size_t n_stored = 0, kept = 0, n_same = 0, i;
	long long new0 = f->items_new, changed0 = f->items_changed, *list_pos = NULL;
	json_t *index;
	enum error err;

	if (*n == 0)
		return ERR_OK;
	skus = xcalloc(*n, sizeof(*skus));
	same = xcalloc(*n, sizeof(*same));
	list_pos = xcalloc(*n, sizeof(*list_pos));
	for (i = 0; i < *n; i++)
		skus[i] = rows[i].sku;
	err = store_skus_positions(r->store, r->id, skus, *n, list_pos);
	if (!err)
		err = store_items_by_sku(r->store, r->user_id, skus, *n, &stored, &n_stored);
	if (err) {
		err = sync_fail(r, err, "cannot read the stored inventory rows: %s",
				store_errmsg(r->store));
		release_rows(rows, *n);
		*n = 0;
		goto out;
	}
	index = json_object();
	for (i = 0; i < n_stored; i++)
		json_object_set_new(index, stored[i].sku, json_integer((json_int_t)i));
	for (i = 0; i < *n; i++) {
		json_t *at = json_object_get(index, rows[i].sku);
		struct stored_item *st = at ? &stored[json_integer_value(at)] : NULL;
		int known;
		size_t pos = position(f, list_pos[i], &known);

		if (!st) {
			if (known)
				f->flags[pos] |= FLAG_NEW;
			f->items_new++;
			rows[kept++] = rows[i];
			continue;
		}
		if (known)
			f->live[pos] =
			    (unsigned char)(st->live_offers > LIVE_MAX ? LIVE_MAX
								       : st->live_offers);
		if (!rows[i].offer_fields_known &&
		    refresh_payload_same(rows[i].raw_payload, st->raw_payload)) {
			same[n_same++] = rows[i].sku;
			rows[i].sku = NULL;
			item_row_release(&rows[i]);
			f->items_same++;
		} else {
			f->items_changed++;
			rows[kept++] = rows[i];
		}
	}
	json_decref(index);
	*n = kept;
	sync_emit(r, EVENT_INFO, "Compared with the mirror: %lld new, %lld changed, %zu unchanged",
		  f->items_new - new0, f->items_changed - changed0, n_same);
	if (n_same &&
	    store_items_seen(r->store, r->user_id, r->id, (const char *const *)same, n_same))
		err = sync_fail(r, ERR_DB, "cannot record the unchanged inventory rows as seen: %s",
				store_errmsg(r->store));
out:
	for (i = 0; i < n_stored; i++)
		stored_item_release(&stored[i]);
	free(stored);
	for (i = 0; i < n_same; i++)
		free(same[i]);
	free(same);
	free(skus);
	free(list_pos);
	return err;
}

static enum error walk(struct refresh *f)
{
	struct sync_run *r = f->r;
	struct run_counts c;
	enum error err;

	r->phase = f;
	r->page_filter = filter_page;
	r->phase_items = 1;
	err = sync_pages(r, 1);
	if (!err)
		err = sync_flush_writer(r);
	else
		writer_flush(r->writer); /* what was handed over is stored, as in a sync */
	r->phase_items = 0;
	r->page_filter = NULL;
	if (err)
		return err;
	c = sync_run_counts(r);
	sync_emit(r, EVENT_INFO,
		  "✓ Inventory walked: %lld SKUs, %lld new, %lld changed (stored), %lld unchanged "
		  "(not written) in %lldms",
		  c.fetched, f->items_new, f->items_changed, f->items_same,
		  timeutil_mono_ms() - r->t0);
	return ERR_OK;
}

/* ---- 1 and 3. the report ------------------------------------------------------ */

static void no_report(struct refresh *f, enum error err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void no_report(struct refresh *f, enum error err, const char *fmt, ...)
{
	va_list ap;

	buf_reset(&f->why_none);
	va_start(ap, fmt);
	buf_vaddf(&f->why_none, fmt, ap);
	va_end(ap);
	while (f->why_none.len && strchr(" \n\r", f->why_none.data[f->why_none.len - 1]))
		f->why_none.data[--f->why_none.len] = '\0'; /* one line */
	f->none_err = err;
}

/* The feed client's retries, as warnings in the run's log. */
static void feed_log(void *ctx, const struct ebay_log_entry *e)
{
	struct sync_run *r = ctx;

	if (e->retry_in_ms >= 0)
		sync_emit(r, EVENT_WARNING, "⚠ %s: %s%s%ld%s, retrying in %lldms (attempt %d)",
			  sync_url_path(e->path), e->message ? e->message : "",
			  e->status ? " (HTTP " : "", e->status, e->status ? ")" : "",
			  e->retry_in_ms, e->attempt + 1);
}

static void request_report(struct refresh *f)
{
	struct sync_run *r = f->r;
	struct feed_config cfg = {0};
	struct buf why = BUF_INIT;
	enum error err;

	cfg.api_base = r->opts.ebay.api_base;
	cfg.marketplace_id = r->opts.ebay.marketplace_id;
	cfg.user = r->user_id;
	cfg.connect_timeout_ms = r->opts.ebay.connect_timeout_ms;
	cfg.request_timeout_ms = r->opts.ebay.request_timeout_ms;
	cfg.max_attempts = r->opts.ebay.max_attempts;
	f->feed =
	    feed_client_new(&cfg, r->opts.pacer, r->opts.token, r->opts.token_ctx, feed_log, r);
	sync_emit(r, EVENT_REQUEST,
		  "→ Requesting the Active Inventory Report: POST /sell/feed/v1/inventory_task");
	err = feed_create_task(f->feed, &f->task_id, &why);
	if (err && feed_last_error_id(f->feed) == FEED_ERR_DAILY_CAP)
		no_report(f, err, "eBay's daily cap on report tasks is reached (errorId %d): %s",
			  FEED_ERR_DAILY_CAP, buf_str(&why));
	else if (err)
		no_report(f, err, "eBay refused the report task: %s", buf_str(&why));
	else
		sync_emit(r, EVENT_RESPONSE,
			  "← Report task %s created: eBay builds it while the pages are walked",
			  f->task_id);
	buf_release(&why);
}

/* Sleeps ms, looking for a STOP every STOP_CHECK_MS. */
static enum error pause_ms(struct sync_run *r, long ms)
{
	long long until = timeutil_mono_ms() + ms;

	while (timeutil_mono_ms() < until) {
		struct timespec ts = {0, STOP_CHECK_MS * 1000000L};

		if (sync_should_stop(r))
			return ERR_CANCELLED;
		nanosleep(&ts, NULL);
	}
	return ERR_OK;
}

/* Polls the task until it completes, then downloads and checks the file
 * into *fd. Sets why_none when there is no report; returns only
 * ERR_CANCELLED or ERR_OK. */
static enum error wait_report(struct refresh *f, int *fd, struct report_summary *sum)
{
	struct sync_run *r = f->r;
	long long deadline =
	    timeutil_mono_ms() +
	    (r->opts.report_deadline_ms > 0 ? r->opts.report_deadline_ms : REPORT_DEADLINE);
	long wait = r->opts.report_poll_ms > 0 ? r->opts.report_poll_ms : POLL_FIRST_MS;
	struct buf why = BUF_INIT;
	enum feed_status st;
	enum error err = ERR_OK;

	*fd = -1;
	for (;;) {
		if (sync_should_stop(r)) {
			err = ERR_CANCELLED;
			goto out;
		}
		buf_reset(&why);
		if (feed_get_task(f->feed, f->task_id, &st, &why)) {
			no_report(f, ERR_EBAY, "cannot read report task %s: %s", f->task_id,
				  buf_str(&why));
			goto out;
		}
		if (st == FEED_COMPLETED)
			break;
		if (st == FEED_FAILED || st == FEED_COMPLETED_WITH_ERROR) {
			no_report(f, ERR_EBAY, "eBay ended report task %s %s", f->task_id,
				  feed_status_name(st));
			goto out;
		}
		if (timeutil_mono_ms() + wait > deadline) {
			no_report(f, ERR_TIMEOUT, "report task %s was still %s at the deadline",
				  f->task_id, feed_status_name(st));
			goto out;
		}
		sync_emit(r, EVENT_INFO, "Report task %s is %s; asking again in %ldms", f->task_id,
			  feed_status_name(st), wait);
		err = pause_ms(r, wait);
		if (err)
			goto out;
		wait = wait * 2 > POLL_MAX_MS ? POLL_MAX_MS : wait * 2;
	}
	sync_emit(r, EVENT_REQUEST, "→ Downloading the report of task %s", f->task_id);
	buf_reset(&why);
	if (feed_download(f->feed, f->task_id, fd, sum, &why)) {
		*fd = -1;
		no_report(f, ERR_PARSE, "the report of task %s was refused: %s", f->task_id,
			  buf_str(&why));
		goto out;
	}
	sync_emit(r, EVENT_RESPONSE,
		  "← Report downloaded and checked: %lld listings, %lld rows (%lld without a SKU, "
		  "skipped)",
		  sum->listings, sum->rows, sum->no_sku);
out:
	buf_release(&why);
	return err;
}

static void chunk_release(struct refresh *f)
{
	for (size_t i = 0; i < f->n_chunk; i++) {
		struct row_copy *c = &f->chunk[i];
		free(c->sku);
		free(c->item_id);
		free(c->price);
		free(c->currency);
	}
	f->n_chunk = 0;
}

static struct report_row row_of(const struct row_copy *c)
{
	struct report_row row = {c->sku, c->item_id, c->price, c->currency, c->quantity, NULL};
	return row;
}

/* Hands the patched offers of one SKU (offers[0..n), dirty ones marked)
 * and its row's offer-derived fields to the writer. */
static enum error write_sku(struct refresh *f, struct offer_row *offers, size_t n,
			    const unsigned char *dirty)
{
	struct item_row *item = xcalloc(1, sizeof(*item));
	struct offer_row *out = xcalloc(n, sizeof(*out));
	size_t k = 0;

	item->sku = xstrdup(offers[0].sku);
	item->quantity = -1;
	mapping_item_apply_offers(item, offers, n);
	for (size_t i = 0; i < n; i++) {
		if (!dirty[i])
			continue;
		out[k++] = offers[i]; /* moved: the chunk's copy is emptied */
		memset(&offers[i], 0, sizeof(offers[i]));
	}
	f->submitted = 1;
	if (writer_submit(f->r->writer, item, 1, out, k, 0))
		return sync_flush_writer(f->r);
	return ERR_OK;
}

static enum error judge_chunk(struct refresh *f)
{
	struct sync_run *r = f->r;
	const char **skus = xcalloc(f->n_chunk, sizeof(*skus)), **chunk_skus;
	long long *list_pos = xcalloc(f->n_chunk ? f->n_chunk : 1, sizeof(*list_pos));
	struct offer_row *offers = NULL;
	unsigned char *dirty = NULL;
	size_t n_skus = 0, n_offers = 0, i;
	json_t *wanted = json_object(), *first = json_object();
	enum error err = ERR_OK;

	if (sync_should_stop(r)) { /* cancellation point 4: between storage batches */
		err = ERR_CANCELLED;
		goto out;
	}
	/* A SKU's earlier chunk may still be in the writer's queue. */
	if (f->submitted) {
		err = sync_flush_writer(r);
		if (err)
			goto out;
		f->submitted = 0;
	}
	/* Where each row's SKU stands in the run's list: one look-up a chunk. */
	chunk_skus = xcalloc(f->n_chunk ? f->n_chunk : 1, sizeof(*chunk_skus));
	for (i = 0; i < f->n_chunk; i++)
		chunk_skus[i] = f->chunk[i].sku;
	err = store_skus_positions(r->store, r->id, chunk_skus, f->n_chunk, list_pos);
	free(chunk_skus);
	if (err) {
		err = sync_fail(r, err, "cannot read the SKU list: %s", store_errmsg(r->store));
		goto out;
	}
	for (i = 0; i < f->n_chunk; i++) {
		const char *sku = f->chunk[i].sku;

		if (list_pos[i] < 0) {
			f->rows_unknown++; /* listed on eBay, not in the inventory walked */
			continue;
		}
		if (!json_object_get(wanted, sku)) {
			json_object_set_new(wanted, sku, json_true());
			skus[n_skus++] = sku;
		}
	}
	if (n_skus) {
		err = store_offers_by_sku(r->store, r->user_id, skus, n_skus, &offers, &n_offers);
		if (err) {
			err = sync_fail(r, err, "cannot read the stored offers: %s",
					store_errmsg(r->store));
			goto out;
		}
	}
	dirty = xcalloc(n_offers ? n_offers : 1, 1);
	for (i = 0; i < n_offers; i++)
		if (!json_object_get(first, offers[i].sku))
			json_object_set_new(first, offers[i].sku, json_integer((json_int_t)i));
	for (i = 0; i < f->n_chunk; i++) {
		struct report_row row = row_of(&f->chunk[i]);
		json_t *at = json_object_get(first, row.sku);
		size_t from = at ? (size_t)json_integer_value(at) : n_offers, count = 0;
		int known;
		size_t pos = position(f, list_pos[i], &known);
		long m;

		if (!known)
			continue;
		while (from + count < n_offers && !strcmp(offers[from + count].sku, row.sku))
			count++;
		switch (refresh_judge(&row, offers + from, count, &m)) {
		case REFRESH_SAME:
			f->rows_same++;
			break;
		case REFRESH_WRITE:
			refresh_patch_offer(&offers[from + m], &row);
			dirty[from + m] = 1;
			f->rows_written++;
			break;
		case REFRESH_FETCH:
			f->flags[pos] |= FLAG_FETCH;
			f->rows_unsettled++;
			break;
		}
		if (m >= 0 && is(offers[from + m].status, "PUBLISHED") &&
		    is(offers[from + m].listing_status, "ACTIVE") && f->hits[pos] < LIVE_MAX)
			f->hits[pos]++;
	}
	/* One write per SKU with patched offers, all of its offers in view. */
	for (i = 0; i < n_offers && !err;) {
		size_t count = 1, j;
		int any = 0;

		while (i + count < n_offers && !strcmp(offers[i + count].sku, offers[i].sku))
			count++;
		for (j = i; j < i + count; j++)
			any |= dirty[j];
		if (any)
			err = write_sku(f, offers + i, count, dirty + i);
		i += count;
	}
	f->rows += (long long)f->n_chunk;
	sync_counts_add(r, (long long)f->n_chunk, 0, 0, (long long)f->n_chunk);
out:
	for (i = 0; i < n_offers; i++)
		offer_row_release(&offers[i]);
	free(offers);
	free(dirty);
	free(skus);
	free(list_pos);
	json_decref(wanted);
	json_decref(first);
	chunk_release(f);
	return err;
}

static enum error on_row(void *ctx, const struct report_row *row, struct buf *why)
{
	struct refresh *f = ctx;
	struct row_copy *c = &f->chunk[f->n_chunk++];

	c->sku = xstrdup(row->sku);
	c->item_id = xstrdup(row->item_id);
	c->price = xstrdup(row->price);
	c->currency = xstrdup(row->currency);
	c->quantity = row->quantity;
	if (f->n_chunk < CHUNK_ROWS)
		return ERR_OK;
	f->fatal = judge_chunk(f);
	if (f->fatal)
		buf_adds(why, "stopped");
	return f->fatal;
}

/* Reads the checked report through, judging and writing it chunk by chunk. */
static enum error use_report(struct refresh *f, int fd, const struct report_summary *sum)
{
	struct sync_run *r = f->r;
	struct buf why = BUF_INIT;
	enum error err;

	pthread_mutex_lock(&r->lock);
	r->counts.fetched = r->counts.stored = 0;
	pthread_mutex_unlock(&r->lock);
	sync_counts_set(r, 0, sum->rows, "row");
	sync_emit(r, EVENT_INFO, "Comparing %lld report rows with the stored offers...", sum->rows);
	err = report_read_fd(fd, on_row, f, NULL, &why);
	if (!err && f->n_chunk)
		err = judge_chunk(f);
	chunk_release(f);
	if (!err && f->submitted)
		err = sync_flush_writer(r);
	if (f->fatal) {
		err = f->fatal;
	} else if (err) {
		/* checked once already: only I/O can fail here */
		no_report(f, err, "cannot read the report again: %s", buf_str(&why));
		err = ERR_OK;
	}
	buf_release(&why);
	return err;
}

/* ---- 4. getOffers where the report cannot settle ------------------------------ */

/* The SKUs to call getOffers for, read from the run's list a chunk at a
 * time; NULL after a storage failure (recorded on the run). */
static json_t *to_fetch(struct refresh *f)
{
	struct sync_run *r = f->r;
	json_t *list = json_array();
	size_t n = (size_t)r->n_skus, from, i, got;
	char **chunk;

	for (from = 0; from < n; from += got) {
		if (store_skus_range(r->store, r->id, (long long)from, 1000, &chunk, &got)) {
			sync_fail(r, ERR_DB, "cannot read the SKU list: %s",
				  store_errmsg(r->store));
			json_decref(list);
			return NULL;
		}
		for (i = 0; i < got; i++) {
			size_t pos = from + i;
			int fetch = 0;

			if (pos < f->n_pos) {
				if (f->live[pos] > f->hits[pos]) {
					f->missing++; /* ended, sold out or withdrawn */
					fetch = 1;
				}
				fetch |= f->flags[pos] & (FLAG_NEW | FLAG_FETCH);
			}
			if (fetch)
				json_array_append_new(list, json_string(chunk[i]));
			free(chunk[i]);
		}
		free(chunk);
		if (!got)
			break;
	}
	return list;
}

static enum error fetch_offers(struct refresh *f, json_t *list)
{
	struct sync_run *r = f->r;

	pthread_mutex_lock(&r->lock);
	r->counts.fetched = r->counts.stored = 0;
	pthread_mutex_unlock(&r->lock);
	return sync_offers_fetch(r, list);
}

static void summarize(struct refresh *f, size_t fetched_skus)
{
	struct sync_run *r = f->r;
	struct run_counts c = sync_run_counts(r);

	free(r->summary);
	if (f->why_none.len)
		r->summary = xasprintf(
		    "Refresh completed without the report: %lld items new, %lld changed, %lld "
		    "unchanged; getOffers for all %zu SKUs (%lld offers fetched, %lld stored, "
		    "%lld failed) in %lldms",
		    f->items_new, f->items_changed, f->items_same, fetched_skus, c.fetched,
		    c.stored, c.failed, timeutil_mono_ms() - r->t0);
	else
		r->summary = xasprintf(
		    "Refresh completed: %lld items new, %lld changed, %lld unchanged; report: "
		    "%lld rows, %lld unchanged, %lld written from it, %lld unsettled, %lld live "
		    "listings missing; getOffers for %zu SKUs (%lld offers fetched, %lld stored, "
		    "%lld failed) in %lldms",
		    f->items_new, f->items_changed, f->items_same, f->rows, f->rows_same,
		    f->rows_written, f->rows_unsettled, f->missing, fetched_skus, c.fetched,
		    c.stored, c.failed, timeutil_mono_ms() - r->t0);
}

enum error sync_refresh(struct sync_run *r)
{
	struct refresh f = {.r = r, .why_none = BUF_INIT};
	struct report_summary sum = {0};
	json_t *list = NULL;
	int fd = -1;
	enum error err;

	sync_emit(r, EVENT_START, "Starting Refresh from eBay (%s)", r->env_name);
	sync_emit(r, EVENT_INFO,
		  "API Configuration: Sell Feed API v1 - Active Inventory Report, Inventory API "
		  "v1 - getInventoryItems, getOffers where the report cannot settle");
	request_report(&f);
	err = walk(&f);
	if (err)
		goto out;
	if (!f.why_none.len) {
		err = wait_report(&f, &fd, &sum);
		if (err)
			goto out;
	}
	if (fd >= 0) {
		err = use_report(&f, fd, &sum);
		if (err)
			goto out;
	}
	if (f.why_none.len && r->opts.report_only) {
		err = sync_fail(r, f.none_err ? f.none_err : ERR_EBAY,
				"no Active Inventory Report (--report-only): %s",
				buf_str(&f.why_none));
		goto out;
	}
	if (f.why_none.len) {
		sync_emit(r, EVENT_WARNING,
			  "⚠ No Active Inventory Report: %s; fetching the offers of every SKU",
			  buf_str(&f.why_none));
		list = NULL; /* Step 2 over the whole list, read from the store */
	} else {
		list = to_fetch(&f);
		if (!list) {
			err = ERR_DB;
			goto out;
		}
		sync_emit(
		    r, EVENT_INFO,
		    "✓ Report compared: %lld rows, %lld unchanged, %lld written from it, %lld "
		    "unsettled, %lld not in the inventory; %lld live listings missing; "
		    "getOffers for %zu SKUs",
		    f.rows, f.rows_same, f.rows_written, f.rows_unsettled, f.rows_unknown,
		    f.missing, json_array_size(list));
	}
	err = fetch_offers(&f, list);
	if (!err)
		summarize(&f, list ? json_array_size(list) : (size_t)r->n_skus);
out:
	if (fd >= 0)
		close(fd);
	json_decref(list);
	feed_client_free(f.feed);
	free(f.task_id);
	free(f.flags);
	free(f.live);
	free(f.hits);
	buf_release(&f.why_none);
	r->phase = NULL;
	return err;
}
