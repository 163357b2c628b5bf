/*
 * Step 2 of the offers sync (see docs/pipeline.md):
 * getOffers for every SKU, many at once through the eBay client (which
 * paces, retries and refreshes the token), the answers mapped to offer rows
 * plus the offer-derived fields of the SKU's inventory row, and handed to
 * the writer in batches. SKUs that failed in earlier runs go first. A SKU
 * that still fails after its retries is recorded in sync_failures and the
 * run goes on; a SKU that eBay no longer knows is reported, not failed.
 */
#include "sync_offers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mark.h"
#include "store.h"
#include "sync_run.h"
#include "timeutil.h"
#include "writer.h"
#include "xalloc.h"
#include "banned.h"

#define EBAY_ERR_SKU_NOT_FOUND 25702
#define EBAY_ERR_NO_OFFER      25713
#define FLUSH_MS	       250
#define PROGRESS_MS	       2000
#define FAILED_NAMED_MAX       20
#define CURSOR_NAME	       "offers_position" /* in ebay_sync_cursors: where to resume */
/* Pages of one SKU's offers in a row that bring none, yet link to another:
 * past this, the SKU fails rather than paging on. */
#define IDLE_PAGES 3

/* SKUs read from the run's list at a time: the list stays in the store. */
#define CHUNK 1000

struct step2 {
	struct sync_run *r;
	size_t n_skus; /* SKUs this run fetches */
	size_t start;  /* SKUs of the list a resumed run skips */
	/* The queue: failures of earlier runs first (first[], at positions
	 * first_pos[]), then the list from start on, read CHUNK at a time
	 * into chunk[], whose first is at position chunk_from. */
	char **first;
	size_t *first_pos;
	size_t n_first, first_next;
	char **chunk;
	size_t n_chunk, chunk_next, chunk_from;
	int list_done;		  /* the list was read to its end */
	json_t *only;		  /* sync_offers_fetch: just these SKUs of the list, else NULL */
	size_t saved_low;	  /* the resume position last written */
	size_t next;		  /* index of the next SKU to submit */
	size_t done;		  /* SKUs finished, whatever the outcome */
	json_t *pending_failures; /* set: SKUs that failed in earlier runs */
	json_t *failed;		  /* array: SKUs that failed in this run */
	long long vanished;
	int warned;	  /* a page field was reported ignored */
	enum error fatal; /* an error that ends the run (auth) */
	/* the batch being filled */
	struct item_row *items;
	struct offer_row *offers;
	size_t n_items, n_offers, cap_items, cap_offers;
	long long batch_t0;
	long long next_progress;
};

struct job {
	struct step2 *s;
	size_t index; /* 1-based position shown in the log */
	size_t pos;   /* position in the run's SKU list (eBay's order), for the mark */
	char *sku;
	json_t *offers; /* offers gathered over the SKU's pages */
	struct ebay_pager pager;
	int idle; /* pages in a row without an offer */
};

static void job_free(struct job *j)
{
	json_decref(j->offers);
	ebay_pager_release(&j->pager);
	free(j->sku);
	free(j);
}

static enum error flush_batch(struct step2 *s)
{
	enum error err;

	s->batch_t0 = timeutil_mono_ms();
	if (!s->n_items && !s->n_offers)
		return ERR_OK;
	mark_close_batch(s->r->mark);
	err = writer_submit(s->r->writer, s->items, s->n_items, s->offers, s->n_offers, 0);
	s->items = NULL;
	s->offers = NULL;
	s->n_items = s->n_offers = s->cap_items = s->cap_offers = 0;
	return err ? sync_flush_writer(s->r) : ERR_OK;
}

/* Maps the SKU's offers into the batch, with its inventory row's
 * offer-derived fields. Returns how many offers were kept. */
static size_t add_to_batch(struct step2 *s, struct job *j)
{
	struct buf why = BUF_INIT, warn = BUF_INIT;
	size_t i, first = s->n_offers;
	json_t *o;
	struct item_row *item;

	if (s->n_offers + json_array_size(j->offers) >= s->cap_offers) {
		s->cap_offers = (s->n_offers + json_array_size(j->offers)) * 2 + 16;
		s->offers = xrealloc(s->offers, s->cap_offers * sizeof(*s->offers));
	}
	json_array_foreach(j->offers, i, o)
	{
		buf_reset(&why);
		buf_reset(&warn);
		struct offer_row *row = &s->offers[s->n_offers];

		if (mapping_offer_from_json(o, row, &warn, &why)) {
			sync_emit(s->r, EVENT_WARNING, "⚠ SKU %s: skipping an offer: %s", j->sku,
				  buf_str(&why));
			continue;
		}
		/* getOffers was asked for this SKU: an offer of another one is
		 * not eBay's answer to the question, and would change that
		 * SKU's rows. */
		if (!row->sku) {
			row->sku = xstrdup(j->sku);
		} else if (strcmp(row->sku, j->sku)) {
			sync_emit(s->r, EVENT_WARNING,
				  "⚠ SKU %s: skipping an offer: offer %s is for SKU %s, not %s",
				  j->sku, row->offer_id, row->sku, j->sku);
			offer_row_release(row);
			continue;
		}
		if (warn.len)
			sync_emit(s->r, EVENT_WARNING, "⚠ %s", buf_str(&warn));
		s->n_offers++;
	}
	buf_release(&why);
	buf_release(&warn);

	if (s->n_items == s->cap_items) {
		s->cap_items = s->cap_items * 2 + 16;
		s->items = xrealloc(s->items, s->cap_items * sizeof(*s->items));
	}
	item = &s->items[s->n_items++];
	mark_add(s->r->mark, j->pos);
	memset(item, 0, sizeof(*item));
	item->sku = xstrdup(j->sku);
	item->quantity = -1;
	/* Every offer eBay has for the SKU, unless one could not be mapped:
	 * then no offer of it is marked removed. */
	item->offers_complete = s->n_offers - first == json_array_size(j->offers);
	mapping_item_apply_offers(item, s->offers + first, s->n_offers - first);
	return s->n_offers - first;
}

static void record_failure(struct step2 *s, struct job *j, const struct ebay_response *resp)
{
	struct sync_run *r = s->r;
	const char *msg = resp->message[0] ? resp->message : error_strerror(resp->err);
	char *why;

	if (resp->status && resp->error_id)
		why = xasprintf("HTTP %ld, errorId %ld: %s", resp->status, resp->error_id, msg);
	else if (resp->status)
		why = xasprintf("HTTP %ld: %s", resp->status, msg);
	else
		why = xstrdup(msg);

	sync_counts_add(r, 0, 0, 1, 1);
	mark_finish(r->mark, j->pos); /* finished: the next run retries it first */
	json_array_append_new(s->failed, json_string(j->sku));
	sync_emit(r, EVENT_WARNING, "⚠ [%zu/%zu] SKU %s failed after %d attempts: %s", j->index,
		  s->n_skus, j->sku, resp->attempts, why);
	if (store_failure_add(r->store, r->user_id, "offers", r->id, j->sku, why, resp->attempts))
		sync_emit(r, EVENT_WARNING, "⚠ cannot record the failure of SKU %s: %s", j->sku,
			  store_errmsg(r->store));
	free(why);
}

static void sku_done(void *ctx, const struct ebay_response *resp);

static void finish_job(struct step2 *s, struct job *j, const struct ebay_response *resp)
{
	struct sync_run *r = s->r;
	size_t kept = add_to_batch(s, j);

	sync_counts_add(r, (long long)kept, 0, 0, 1);
	sync_emit(r, EVENT_RESPONSE, "← [%zu/%zu] SKU %s: %zu offers (%lldms)", j->index, s->n_skus,
		  j->sku, kept, resp->duration_ms);
	if (json_object_get(s->pending_failures, j->sku))
		store_failure_clear(r->store, r->user_id, "offers", j->sku);
	if ((s->n_offers >= (size_t)r->opts.batch_size ||
	     s->n_items >= (size_t)r->opts.batch_size) &&
	    flush_batch(s) && !s->fatal)
		s->fatal = ERR_DB;
}

/* One page of one SKU's offers came back (or failed for good). */
static void sku_done(void *ctx, const struct ebay_response *resp)
{
	struct job *j = ctx;
	struct step2 *s = j->s;
	struct sync_run *r = s->r;
	struct buf why = BUF_INIT;
	struct ebay_page pg;
	char *next = NULL;

	if (resp->err == ERR_CANCELLED)
		goto out;
	s->done++;
	if (resp->err == ERR_OK) {
		if (ebay_parse_page(resp->json, "offers", &pg, &why) ||
		    ebay_pager_next(&j->pager, &pg, &next, &why)) {
			struct ebay_response bad = *resp;
			bad.err = ERR_PARSE;
			snprintf(bad.message, sizeof(bad.message), "malformed offers page: %s",
				 buf_str(&why));
			record_failure(s, j, &bad);
			goto out;
		}
		if (pg.warning[0] && !s->warned) {
			s->warned = 1;
			sync_emit(r, EVENT_WARNING, "⚠ offers page of SKU %s: %s", j->sku,
				  pg.warning);
		}
		j->idle = json_array_size(pg.records) ? 0 : j->idle + 1;
		if (next && j->idle >= IDLE_PAGES) {
			struct ebay_response bad = *resp;

			bad.err = ERR_PARSE;
			snprintf(bad.message, sizeof(bad.message),
				 "%d offers pages in a row brought no offer, yet linked on",
				 j->idle);
			free(next);
			record_failure(s, j, &bad);
			goto out;
		}
		json_array_extend(j->offers, pg.records);
		if (next) { /* more offers than one page: same SKU, next page */
			s->done--;
			ebay_submit(r->client, EBAY_REQ_OFFERS, next, j->sku, sku_done, j);
			free(next);
			buf_release(&why);
			return;
		}
		finish_job(s, j, resp);
	} else if (resp->err == ERR_EBAY && resp->error_id == EBAY_ERR_NO_OFFER) {
		finish_job(s, j, resp); /* eBay's way of saying "no offers" */
	} else if (resp->err == ERR_EBAY && resp->error_id == EBAY_ERR_SKU_NOT_FOUND) {
		s->vanished++;
		sync_counts_add(r, 0, 0, 0, 1);
		mark_finish(r->mark, j->pos);
		sync_emit(r, EVENT_WARNING,
			  "⚠ [%zu/%zu] SKU %s no longer exists on eBay (removed during the run)",
			  j->index, s->n_skus, j->sku);
		store_failure_clear(r->store, r->user_id, "offers", j->sku);
	} else if (resp->err == ERR_AUTH || resp->err == ERR_RELINK) {
		if (!s->fatal)
			s->fatal =
			    sync_fail(r, resp->err, "eBay refused the access token (SKU %s): %s",
				      j->sku, resp->message);
	} else {
		record_failure(s, j, resp);
	}
out:
	buf_release(&why);
	job_free(j);
}

static void free_chunk(struct step2 *s)
{
	for (size_t i = s->chunk_next; i < s->n_chunk; i++)
		free(s->chunk[i]);
	FREE_AND_NULL(s->chunk);
	s->n_chunk = s->chunk_next = 0;
}

/* The next SKU of the queue (malloc'd) and its position in the list; NULL
 * at the end of the queue or on a storage failure (recorded in s->fatal). */
static char *next_sku(struct step2 *s, size_t *pos)
{
	struct sync_run *r = s->r;
	enum error err;

	if (s->first_next < s->n_first) {
		*pos = s->first_pos[s->first_next];
		return s->first[s->first_next++];
	}
	for (;;) {
		while (s->chunk_next < s->n_chunk) {
			char *sku = s->chunk[s->chunk_next];

			*pos = s->chunk_from + s->chunk_next++;
			if (!json_object_get(s->pending_failures, sku))
				return sku;
			free(sku); /* it went first */
		}
		if (s->list_done)
			return NULL;
		s->chunk_from += s->n_chunk;
		free_chunk(s);
		err = store_skus_range(r->store, r->id, (long long)s->chunk_from, CHUNK, &s->chunk,
				       &s->n_chunk);
		if (err) {
			s->fatal = sync_fail(r, err, "cannot read the SKU list: %s",
					     store_errmsg(r->store));
			return NULL;
		}
		s->list_done = s->n_chunk < CHUNK;
	}
}

static void submit_next(struct step2 *s)
{
	struct sync_run *r = s->r;
	struct job *j;
	size_t pos;
	char *sku = next_sku(s, &pos), *url;

	if (!sku)
		return;
	j = xcalloc(1, sizeof(*j));
	j->s = s;
	j->index = s->next + 1;
	j->sku = sku;
	j->pos = pos;
	j->offers = json_array();
	s->next++;
	url = ebay_offers_url(&r->opts.ebay, j->sku, 100);
	ebay_pager_init(&j->pager, url);
	sync_emit(r, EVENT_REQUEST, "→ [%zu/%zu] Fetching offers for SKU: %s", j->index, s->n_skus,
		  j->sku);
	if (ebay_submit(r->client, EBAY_REQ_OFFERS, url, j->sku, sku_done, j)) {
		struct ebay_response fail = {.err = ERR_INTERNAL, .attempts = 0};
		snprintf(fail.message, sizeof(fail.message), "cannot queue the request");
		sku_done(j, &fail);
	}
	free(url);
}

/* The SKU at position pos of the run's list (malloc'd), or NULL. */
static char *sku_at(struct sync_run *r, size_t pos)
{
	char **one = NULL, *sku = NULL;
	size_t n = 0;

	if (store_skus_range(r->store, r->id, (long long)pos, 1, &one, &n) == ERR_OK && n == 1)
		sku = one[0];
	free(one);
	return sku;
}

/*
 * The queue of this run: SKUs that failed in earlier runs first, then the
 * others from s->start on (0 unless resuming), in eBay's order, read from
 * the run's list as they are needed. Failures of SKUs eBay no longer lists
 * are forgotten.
 */
static enum error order_skus(struct step2 *s)
{
	struct sync_run *r = s->r;
	char **skus = NULL;
	size_t n = 0, later = 0;
	long long pos;
	size_t i;
	enum error err;

	err = store_failure_list(r->store, r->user_id, "offers", &skus, &n);
	if (err)
		return sync_fail(r, err, "cannot read earlier failures: %s",
				 store_errmsg(r->store));
	s->first = xcalloc(n + 1, sizeof(*s->first));
	s->first_pos = xcalloc(n + 1, sizeof(*s->first_pos));
	for (i = 0; i < n; i++) {
		err = store_skus_find(r->store, r->id, skus[i], &pos);
		if (!err && !json_object_get(s->pending_failures, skus[i])) {
			json_object_set_new(s->pending_failures, skus[i], json_true());
			s->first_pos[s->n_first] = (size_t)pos;
			s->first[s->n_first++] = skus[i];
			later += (size_t)pos >= s->start;
			continue;
		}
		if (err == ERR_NOTFOUND) {
			sync_emit(r, EVENT_INFO,
				  "SKU %s failed in an earlier run and is no longer on eBay: "
				  "forgotten",
				  skus[i]);
			store_failure_clear(r->store, r->user_id, "offers", skus[i]);
		} else if (err) {
			while (++i < n)
				free(skus[i]);
			free(skus);
			return sync_fail(r, err, "cannot read the SKU list: %s",
					 store_errmsg(r->store));
		}
		free(skus[i]);
	}
	free(skus);
	if (s->only) {
		/* A targeted fetch: the failures, then just the SKUs asked for
		 * (each in the run's list, whose position the mark needs; all
		 * looked up at once). */
		size_t n_only = json_array_size(s->only), k;
		const char **want = xcalloc(n_only ? n_only : 1, sizeof(*want));
		long long *at = xcalloc(n_only ? n_only : 1, sizeof(*at));

		for (i = 0; i < n_only; i++)
			want[i] = json_string_value(json_array_get(s->only, i));
		for (i = k = 0; i < n_only; i++)
			if (want[i] && !json_object_get(s->pending_failures, want[i]))
				want[k++] = want[i];
		err = store_skus_positions(r->store, r->id, want, k, at);
		s->first = xrealloc(s->first, (s->n_first + k + 1) * sizeof(*s->first));
		s->first_pos = xrealloc(s->first_pos, (s->n_first + k + 1) * sizeof(*s->first_pos));
		for (i = 0; !err && i < k; i++) {
			if (at[i] < 0) {
				sync_emit(r, EVENT_WARNING,
					  "⚠ SKU %s is not in this run's list: not fetched",
					  want[i]);
				continue;
			}
			s->first_pos[s->n_first] = (size_t)at[i];
			s->first[s->n_first++] = xstrdup(want[i]);
		}
		free(want);
		free(at);
		if (err)
			return sync_fail(r, err, "cannot read the SKU list: %s",
					 store_errmsg(r->store));
		s->list_done = 1;
		s->n_skus = s->n_first;
		return ERR_OK;
	}
	for (i = 0; i < s->start; i++) /* done by the run we resume */
		mark_finish(r->mark, i);
	s->chunk_from = s->start;
	s->n_skus = s->n_first + ((size_t)r->n_skus - s->start) - later;
	if (s->n_first)
		sync_emit(r, EVENT_INFO, "Retrying first %zu SKUs that failed in earlier runs",
			  s->n_first);
	return ERR_OK;
}

/* Records how far the run got (every SKU before the mark is stored or
 * recorded as failed), so that `--resume` can go on from there. */
static void save_position(struct step2 *s, int finished)
{
	struct sync_run *r = s->r;
	size_t low = mark_low(r->mark);
	json_t *o;
	char *v, *sku = NULL;

	if (s->only || (!finished && low == s->saved_low))
		return; /* a targeted fetch leaves the offers sync's place alone */
	s->saved_low = low;
	if (!finished && low > 0)
		sku = sku_at(r, low - 1);
	if (!sku)
		o = json_object();
	else
		o = json_pack("{s:s, s:I, s:I, s:s}", "run_id", r->id, "position", (json_int_t)low,
			      "count", (json_int_t)r->n_skus, "sku", sku);
	free(sku);
	v = json_dumps(o, JSON_COMPACT);
	if (v && store_cursor_set(r->store, r->user_id, CURSOR_NAME, v))
		sync_emit(r, EVENT_WARNING, "⚠ cannot record the resume position: %s",
			  store_errmsg(r->store));
	free(v);
	json_decref(o);
}

/* Where the last stopped offers run of this user got to, if the SKU list is
 * still the one it worked on; 0 to start from the beginning. */
static size_t resume_position(struct step2 *s)
{
	struct sync_run *r = s->r;
	char *value = NULL;
	json_t *c = NULL;
	struct run_row prev = {0};
	const char *run_id, *sku;
	char *at = NULL;
	size_t pos = 0, count;

	if (store_cursor_get(r->store, r->user_id, CURSOR_NAME, &value) || !value)
		goto none;
	c = json_loads(value, 0, NULL);
	run_id = json_string_value(json_object_get(c, "run_id"));
	sku = json_string_value(json_object_get(c, "sku"));
	pos = (size_t)json_integer_value(json_object_get(c, "position"));
	count = (size_t)json_integer_value(json_object_get(c, "count"));
	if (!run_id || !sku || pos == 0)
		goto none;
	/* An earlier attempt of this very run (resumed from the job queue) is
	 * running again: that is the one to go on from. */
	if (store_run_get(r->store, r->user_id, run_id, &prev) ||
	    (strcmp(run_id, r->id) && !strcmp(prev.status, STORE_RUN_RUNNING)) ||
	    !strcmp(prev.status, STORE_RUN_DONE)) {
		sync_emit(r, EVENT_INFO, "Nothing to resume: run %s is %s; fetching every SKU",
			  run_id, prev.status ? prev.status : "gone");
		pos = 0;
		goto out;
	}
	at = count == (size_t)r->n_skus && pos <= count ? sku_at(r, pos - 1) : NULL;
	if (!at || strcmp(sku, at)) {
		sync_emit(r, EVENT_INFO,
			  "Cannot resume run %s: eBay's SKU list changed since (%zu SKUs then, "
			  "%lld now); fetching every SKU",
			  run_id, count, r->n_skus);
		pos = 0;
		goto out;
	}
	sync_emit(r, EVENT_INFO,
		  "Resuming run %s (%s): its first %zu of %zu SKUs are stored; fetching the "
		  "other %zu",
		  run_id, prev.status, pos, count, count - pos);
	goto out;
none:
	sync_emit(r, EVENT_INFO, "Nothing to resume: no stopped offers run; fetching every SKU");
	pos = 0;
out:
	free(at);
	run_row_release(&prev);
	json_decref(c);
	free(value);
	return pos;
}

static void progress(struct step2 *s)
{
	struct sync_run *r = s->r;
	struct run_counts c = sync_run_counts(r);
	long long el = timeutil_mono_ms() - r->t0;
	double rate = el > 0 ? (double)s->done * 1000.0 / (double)el : 0;
	long long eta = rate > 0 ? (long long)((double)(s->n_skus - s->done) / rate) : -1;

	sync_emit(r, EVENT_PROGRESS,
		  "Progress: %zu/%zu SKUs, %lld offers fetched, %lld stored, %lld failed (%.1f "
		  "SKUs/s, ETA %llds)",
		  s->done, s->n_skus, c.fetched, c.stored, c.failed, rate, eta < 0 ? 0 : eta);
}

static void summary(struct step2 *s)
{
	struct sync_run *r = s->r;
	struct run_counts c = sync_run_counts(r);
	size_t n_failed = json_array_size(s->failed);
	long long removed = 0;
	char marked[48] = "";

	sync_emit(r, EVENT_INFO, "✓ Step 2 complete: Processed %zu SKUs", s->n_skus);
	if (n_failed) {
		struct buf names = BUF_INIT;
		size_t i;
		json_t *v;

		json_array_foreach(s->failed, i, v)
		{
			if (i == FAILED_NAMED_MAX) {
				buf_addf(&names, " and %zu more", n_failed - i);
				break;
			}
			buf_addf(&names, "%s%s", i ? ", " : "", json_string_value(v));
		}
		sync_emit(r, EVENT_WARNING,
			  "⚠ %zu SKUs failed after all retries: %s (recorded; the next run retries "
			  "them first)",
			  n_failed, buf_str(&names));
		buf_release(&names);
	}
	if (s->vanished)
		sync_emit(r, EVENT_WARNING, "⚠ %lld SKUs were removed from eBay during the run",
			  s->vanished);
	if (s->only) /* the caller sums up */
		return;
	/* Offers eBay no longer returns for a SKU this run fetched (the
	 * store marked them); an inventory walk of this run marked others. */
	if (store_count_removed(r->store, r->user_id, "offers", r->id, &removed))
		removed = r->removed_offers;
	if (removed > 0)
		snprintf(marked, sizeof(marked), ", %lld offers marked removed", removed);
	r->summary = xasprintf("Offers sync completed: %lld offers fetched, %lld stored from %zu "
			       "SKUs in %lldms%s%s",
			       c.fetched, c.stored, s->n_skus, timeutil_mono_ms() - r->t0, marked,
			       n_failed ? " (with failures)" : "");
}

static void release(struct step2 *s)
{
	for (size_t i = 0; i < s->n_items; i++)
		item_row_release(&s->items[i]);
	for (size_t i = 0; i < s->n_offers; i++)
		offer_row_release(&s->offers[i]);
	free(s->items);
	free(s->offers);
	json_decref(s->pending_failures);
	json_decref(s->failed);
	for (size_t i = s->first_next; i < s->n_first; i++)
		free(s->first[i]);
	free(s->first);
	free(s->first_pos);
	free_chunk(s);
	writer_flush(s->r->writer); /* its callbacks use the mark */
	mark_free(s->r->mark);
	s->r->mark = NULL;
}

static enum error step2(struct sync_run *r, json_t *only)
{
	struct step2 s = {.r = r, .only = only};
	size_t window = (size_t)(r->opts.ebay.concurrency > 0 ? r->opts.ebay.concurrency : 8) * 2;
	enum error err;

	s.pending_failures = json_object();
	s.failed = json_array();
	r->mark = mark_new((size_t)r->n_skus);
	if (r->opts.resume)
		s.start = resume_position(&s);
	err = order_skus(&s);
	if (err)
		goto out;
	sync_counts_set(r, 0, (long long)s.n_skus, "sku");
	sync_emit(r, EVENT_INFO, "Step 2: Fetching offers for %zu SKUs...", s.n_skus);
	s.batch_t0 = s.next_progress = timeutil_mono_ms();
	s.next_progress += PROGRESS_MS;

	for (;;) {
		long long now;

		/* cancellation point 3: between SKU requests */
		if (sync_should_stop(r)) {
			err = ERR_CANCELLED;
			ebay_cancel_all(r->client);
			break;
		}
		while (s.next < s.n_skus && ebay_pending(r->client) < window && !s.fatal) {
			size_t before = s.next;

			submit_next(&s);
			if (s.next == before) /* the queue ended early */
				s.n_skus = s.next;
		}
		if (s.fatal) {
			err = s.fatal;
			ebay_cancel_all(r->client);
			break;
		}
		if (s.next == s.n_skus && ebay_pending(r->client) == 0)
			break;
		err = ebay_poll(r->client, 50);
		if (err) {
			err = sync_fail(r, err, "the eBay client failed: %s", error_strerror(err));
			break;
		}
		now = timeutil_mono_ms();
		/* cancellation point 4: between storage batches */
		if (now - s.batch_t0 >= FLUSH_MS) {
			err = flush_batch(&s);
			if (err)
				break;
		}
		if (now >= s.next_progress) {
			progress(&s);
			save_position(&s, 0);
			s.next_progress = now + PROGRESS_MS;
		}
	}
	/* Requests still pending end now, while s (their callbacks' state) is
	 * alive: whatever ended the loop, none may complete after return. */
	if (err)
		ebay_cancel_all(r->client);
	/* What was fetched is stored, whether the run ends done or cancelled. */
	if (!err || err == ERR_CANCELLED) {
		enum error ferr = flush_batch(&s);
		if (!ferr)
			ferr = sync_flush_writer(r);
		if (ferr)
			err = ferr;
	}
	if (!err)
		summary(&s);
	/* A run that ends done has nothing to resume; any other keeps its place. */
	save_position(&s, !err);
out:
	release(&s);
	return err;
}

enum error sync_offers_step2(struct sync_run *r)
{
	return step2(r, NULL);
}

enum error sync_offers_fetch(struct sync_run *r, json_t *skus)
{
	return step2(r, skus);
}
