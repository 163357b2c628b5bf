/*
 * The sync engine's driver (see sync.h and docs/pipeline.md): it executes a
 * run on the caller's thread, from its sync_runs row through the phases to
 * exactly one of done, failed or cancelled, with the row, the log and the
 * counts agreeing. The phases do the work: sync_pages.c (getInventoryItems),
 * sync_offers.c (getOffers per SKU), sync_skus.c (bulkGetInventoryItem) and
 * sync_refresh.c (the report-driven refresh); the run object they share is
 * in sync_run.c. Calls only go down: this file calls the phases, the
 * phases call the run object.
 */
#include "sync.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger.h"
#include "mark.h"
#include "metrics.h"
#include "pacers.h"
#include "sync_offers.h"
#include "sync_pages.h"
#include "sync_refresh.h"
#include "sync_skus.h"
#include "timeutil.h"
#include "writer.h"
#include "xalloc.h"
#include "banned.h"

#define REQUEST_LOG_MAX 512

/* The writer thread's tick: the heartbeat goes on while the run thread
 * waits on eBay (a page request can take a whole --timeout). */
static void heartbeat(void *ctx, struct store *s)
{
	struct run_row row;

	sync_run_fill_row(ctx, &row);
	store_run_update(s, &row);
	/* The process's eBay call counts go to the quota ledger with it. */
	if (ledger_flush(s))
		fprintf(stderr, "ebaysync: cannot add to the eBay call ledger: %s\n",
			store_errmsg(s));
}

/* The request log: one JSON line per event to opts.request_log, and retries
 * as warnings in the run's log, so the terminal shows why a run slows. */
static void request_log(void *ctx, const struct ebay_log_entry *e)
{
	struct sync_run *r = ctx;

	if (e->status) { /* an answer: the live chart's numbers (runlog.h) */
		pthread_mutex_lock(&r->lock);
		r->counts.calls++;
		r->counts.throttled += e->status == 429;
		r->counts.latency_ms += e->duration_ms;
		pthread_mutex_unlock(&r->lock);
	}
	if (r->opts.request_log) {
		json_t *o = json_pack("{s:s, s:s, s:s?, s:I, s:I, s:I, s:i, s:s?}", "event",
				      e->event, "path", e->path, "label", e->label, "status",
				      (json_int_t)e->status, "error_id", (json_int_t)e->error_id,
				      "duration_ms", (json_int_t)e->duration_ms, "attempt",
				      e->attempt, "message", e->message);
		if (o) {
			char *s = json_dumps(o, JSON_COMPACT);
			if (s && strlen(s) < REQUEST_LOG_MAX * 8)
				fprintf(r->opts.request_log, "%s\n", s);
			free(s);
			json_decref(o);
		}
	}
	if (e->retry_in_ms >= 0)
		sync_emit(r, EVENT_WARNING, "⚠ %s: %s%s%ld%s, retrying in %lldms (attempt %d)",
			  e->label ? e->label : sync_url_path(e->path),
			  e->message ? e->message : "", e->status ? " (HTTP " : "", e->status,
			  e->status ? ")" : "", e->retry_in_ms, e->attempt + 1);
}

/* Called by the writer thread after each committed batch. */
static void stored(void *ctx, size_t n_items, size_t n_offers, long long ms, long long tag)
{
	struct sync_run *r = ctx;
	struct run_counts c;

	metrics_add(METRIC_ITEMS_STORED, (long long)n_items);
	metrics_add(METRIC_OFFERS_STORED, (long long)n_offers);
	if (r->phase_items) {
		long long page = tag >> 16, on_page = tag & 0xffff;

		sync_counts_add(r, 0, (long long)n_items, 0, 0);
		c = sync_run_counts(r);
		sync_emit(r, EVENT_RESPONSE, "← Database: Stored %zu items (%lldms)", n_items, ms);
		sync_emit(r, EVENT_PROGRESS,
			  "Page %lld/%lld complete: %lld fetched, %zu stored | Running total: "
			  "%lld/%lld fetched, %lld stored",
			  page, c.total > page ? c.total : page, on_page, n_items, c.fetched,
			  r->available >= 0 ? r->available : c.fetched, c.stored);
	} else {
		sync_counts_add(r, 0, (long long)n_offers, 0, 0);
		if (r->mark)
			mark_commit_batch(r->mark);
		if (n_offers || r->mark)
			sync_emit(r, EVENT_RESPONSE,
				  "← Database: Stored %zu offers for %zu SKUs (%lldms)", n_offers,
				  n_items, ms);
		else
			sync_emit(r, EVENT_RESPONSE, "← Database: Stored %zu items (%lldms)",
				  n_items, ms);
	}
}

static enum error token_missing(void *ctx, int refresh, char **token, struct buf *why)
{
	buf_adds(why, "no eBay access token configured");
	return ERR_AUTH;
}

/* Persists what the writer did not (the final events, or all of them when
 * the writer could not start) through the run's own connection. */
static void persist_rest(struct sync_run *r)
{
	if (r->recorded && writer_persist_log(r->store, r->id, r->log))
		fprintf(stderr, "ebaysync: run %s: cannot store its last log lines: %s\n", r->id,
			store_errmsg(r->store));
}

static const char *title_of(enum sync_kind k)
{
	return k == SYNC_INVENTORY ? "Inventory"
	       : k == SYNC_OFFERS  ? "Offers"
	       : k == SYNC_SKUS	   ? "SKU"
	       : k == SYNC_REFRESH ? "Refresh"
				   : "Full";
}

/* Ends the run: final status on the row, then the final event. */
static void finish(struct sync_run *r, enum error err)
{
	struct run_counts c = sync_run_counts(r);
	long long ms = timeutil_mono_ms() - r->t0;
	struct buf werr = BUF_INIT;
	struct run_row row;
	enum event_type final;
	int back;

	if (writer_finish(r->writer, &werr) && !err)
		err = sync_fail(r, ERR_DB, "%s", buf_str(&werr));
	r->writer = NULL;
	buf_release(&werr);
	c = sync_run_counts(r);

	back = err == ERR_CANCELLED && atomic_load(&r->handback);
	pthread_mutex_lock(&r->lock);
	r->status = err == ERR_OK	   ? STORE_RUN_DONE
		    : back		   ? STORE_RUN_QUEUED
		    : err == ERR_CANCELLED ? STORE_RUN_CANCELLED
					   : STORE_RUN_FAILED;
	if (err && err != ERR_CANCELLED && !r->error)
		r->error = xstrdup(error_strerror(err));
	r->result = err;
	pthread_mutex_unlock(&r->lock);

	if (r->recorded) {
		sync_run_fill_row(r, &row);
		row.finished_ms = back ? 0 : timeutil_wall_ms();
		store_run_update(r->store, &row);
	}
	if (back) {
		/* Not an end: the job goes back to the queue, and another
		 * worker resumes the run and writes its final event. */
		sync_emit(r, EVENT_INFO,
			  "Handed back to the queue at %s %lld/%lld (%lld fetched, %lld stored "
			  "in %lldms): another worker resumes it",
			  c.unit ? c.unit : "step", c.current, c.total, c.fetched, c.stored, ms);
	} else if (err == ERR_OK) {
		final = EVENT_DONE;
		sync_emit(r, final, "%s", r->summary ? r->summary : "Sync completed");
	} else if (err == ERR_CANCELLED) {
		final = EVENT_CANCELLED;
		sync_emit(r, final,
			  "%s sync cancelled: %lld fetched, %lld stored (stopped at %s %lld/%lld) "
			  "in %lldms",
			  title_of(r->opts.kind), c.fetched, c.stored, c.unit ? c.unit : "step",
			  c.current, c.total, ms);
	} else if (err) {
		final = EVENT_FAILED;
		runlog_emit_failed(r->log, &c, error_code_name(err),
				   "%s sync failed: %s (%lld fetched, %lld stored in %lldms)",
				   title_of(r->opts.kind), r->error, c.fetched, c.stored, ms);
	}
	persist_rest(r);
}

static enum error run_inventory(struct sync_run *r)
{
	char removed[48] = "";
	struct run_counts c;
	enum error err;

	sync_emit(r, EVENT_START, "Starting Inventory sync from eBay (%s)", r->env_name);
	sync_emit(r, EVENT_INFO,
		  "API Configuration: Inventory API v1 - getInventoryItems with pagination");
	r->phase_items = 1;
	err = sync_pages(r, 1);
	/* Pages handed to the writer are stored and counted as pages even when
	 * the run stops here (cancelled or failed). */
	if (!err)
		err = sync_flush_writer(r);
	else
		writer_flush(r->writer);
	r->phase_items = 0;
	if (err)
		return err;
	c = sync_run_counts(r);
	/* How many rows the walk marked removed (sync_pages.c), when any. */
	if (r->removed_items)
		snprintf(removed, sizeof(removed), ", %lld marked removed", r->removed_items);
	if (c.failed)
		sync_emit(r, EVENT_WARNING,
			  "⚠ %lld items could not be stored (see the warnings above)", c.failed);
	if (r->opts.kind == SYNC_INVENTORY)
		r->summary =
		    xasprintf("Inventory sync completed: %lld fetched, %lld stored in %lldms%s",
			      c.fetched, c.stored, timeutil_mono_ms() - r->t0, removed);
	else
		sync_emit(r, EVENT_INFO,
			  "Inventory sync completed: %lld fetched, %lld stored in %lldms%s",
			  c.fetched, c.stored, timeutil_mono_ms() - r->t0, removed);
	return ERR_OK;
}

static enum error run_offers(struct sync_run *r)
{
	enum error err;

	if (r->opts.kind == SYNC_OFFERS) {
		sync_emit(r, EVENT_START, "Starting Offers sync from eBay (%s)", r->env_name);
		sync_emit(r, EVENT_INFO,
			  "API Configuration: Inventory API v1 - getInventoryItems → "
			  "getOffers per SKU");
		sync_emit(r, EVENT_INFO, "Step 1: Fetching all inventory items to get SKU list...");
		err = sync_pages(r, 0);
		if (err)
			return err;
		sync_emit(r, EVENT_INFO, "✓ Step 1 complete: Found %lld unique SKUs", r->n_skus);
	} else {
		sync_emit(r, EVENT_INFO, "Starting Offers sync from eBay (%s)", r->env_name);
		sync_emit(r, EVENT_INFO,
			  "✓ Step 1 complete: Found %lld unique SKUs (from the inventory sync)",
			  r->n_skus);
	}
	/* The offers part counts offers, not items. */
	pthread_mutex_lock(&r->lock);
	r->counts.fetched = r->counts.stored = 0;
	pthread_mutex_unlock(&r->lock);
	return sync_offers_step2(r);
}

/* The rest of setup once the run's row is in the store: the writer and
 * the eBay client. */
static enum error start_parts(struct sync_run *r)
{
	struct buf msg = BUF_INIT;
	enum error err;

	err = writer_start(r->db_url, r->user_id, r->id, r->log, stored, r, &r->writer, &msg);
	if (err) {
		sync_fail(r, err, "cannot start the database writer: %s", buf_str(&msg));
		goto out;
	}
	writer_set_tick(r->writer, heartbeat, r, SYNC_BEAT_MS);
	if (!r->opts.token)
		r->opts.token = token_missing;
	r->opts.ebay.user = r->user_id; /* the quota ledger's */
	/* Every run of the process against this eBay application, and every
	 * process on this database, paces its requests together. */
	if (!r->opts.pacer)
		r->opts.pacer = r->pacer_ref =
		    pacers_get(r->api_base, r->db_url, r->opts.ebay.max_rps);
	r->client = ebay_client_new(&r->opts.ebay, r->opts.pacer, r->opts.token, r->opts.token_ctx,
				    request_log, r);
out:
	buf_release(&msg);
	return err;
}

/*
 * setup() of a run from the job queue: its row exists (queued); the run
 * marks it running under its owner. A resumed attempt drops the SKU list
 * the lost one left (the walk builds it again); the offers mark (resume)
 * skips what the lost attempt stored.
 */
static enum error take_over(struct sync_run *r)
{
	enum error err;

	err = store_job_run_started(r->store, r->id, r->owner, timeutil_wall_ms());
	if (err)
		return sync_fail(r, err, "cannot take over run %s: %s", r->id,
				 store_errmsg(r->store));
	r->recorded = 1;
	if (r->opts.first_seq > 0) { /* an earlier attempt logged, so ran */
		if (store_skus_clear(r->store, r->id))
			fprintf(stderr, "ebaysync: run %s: %s\n", r->id, store_errmsg(r->store));
		sync_emit(r, EVENT_INFO, "Resuming run %s (attempt %lld) as %s", r->id,
			  r->opts.attempt, r->owner);
	}
	return start_parts(r);
}

static enum error setup(struct sync_run *r)
{
	struct buf msg = BUF_INIT;
	struct run_row row;
	enum error err;

	err = store_open(r->db_url, &r->store, &msg);
	if (err) {
		sync_fail(r, err, "cannot open the database: %s", buf_str(&msg));
		goto out;
	}
	/* A run whose process died would hold its kind for this user
	 * forever (the store lets one run of a kind run per user). */
	err = store_runs_interrupt_stale(r->store, NULL, SYNC_STALE_MS, NULL);
	if (err) {
		sync_fail(r, err, "cannot mark stale runs interrupted: %s", store_errmsg(r->store));
		goto out;
	}
	/* One that died on this host a moment ago (kill -9) left a fresh
	 * heartbeat: its pid tells it is gone. */
	err = sync_interrupt_dead_owners(r->store, r->owner, r->user_id, NULL, &msg);
	if (err) {
		sync_fail(r, err, "%s", buf_str(&msg));
		goto out;
	}
	if (r->opts.queued) {
		err = take_over(r);
		goto out;
	}
	sync_run_fill_row(r, &row);
	row.started_ms = timeutil_wall_ms();
	err = store_run_insert(r->store, &row);
	if (err == ERR_CONFLICT) {
		/* "an offers sync is already running for alice (run ...)" */
		sync_fail(r, err, "%s", store_errmsg(r->store));
		goto out;
	}
	if (err) {
		sync_fail(r, err, "cannot record the run: %s", store_errmsg(r->store));
		goto out;
	}
	r->recorded = 1;
	/* The SKU lists of runs that ended without dropping theirs (a process
	 * that died) are of no use to anyone. */
	if (store_skus_clear(r->store, NULL))
		fprintf(stderr, "ebaysync: run %s: %s\n", r->id, store_errmsg(r->store));
	err = start_parts(r);
out:
	buf_release(&msg);
	return err;
}

enum error sync_run_execute(struct sync_run *r)
{
	enum error err;

	r->t0 = timeutil_mono_ms();
	r->next_beat = r->t0 + SYNC_BEAT_MS;
	err = setup(r);
	if (err)
		goto out;
	if (sync_should_stop(r)) { /* cancellation point 1: before starting */
		err = ERR_CANCELLED;
		goto out;
	}
	if (r->opts.kind == SYNC_SKUS)
		err = sync_skus(r);
	if (r->opts.kind == SYNC_REFRESH)
		err = sync_refresh(r);
	if (r->opts.kind == SYNC_INVENTORY || r->opts.kind == SYNC_ALL)
		err = run_inventory(r);
	if (!err && (r->opts.kind == SYNC_OFFERS || r->opts.kind == SYNC_ALL))
		err = run_offers(r);
out:
	ebay_client_free(r->client);
	r->client = NULL;
	if (r->store && ledger_flush(r->store))
		fprintf(stderr, "ebaysync: run %s: cannot add to the eBay call ledger: %s\n", r->id,
			store_errmsg(r->store));
	if (r->pacer_ref) {
		pacers_put(r->pacer_ref);
		r->opts.pacer = r->pacer_ref = NULL;
	}
	finish(r, err);
	if (r->recorded && store_skus_clear(r->store, r->id))
		fprintf(stderr, "ebaysync: run %s: %s\n", r->id, store_errmsg(r->store));
	store_close(r->store);
	r->store = NULL;
	return err;
}
