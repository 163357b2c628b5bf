/*
 * The sync engine: the design document's sync_all_inventory and
 * sync_all_offers (and "all": inventory, then offers), run against eBay (or
 * ebaysync-sim) into a store. See docs/pipeline.md.
 *
 * A run is created with sync_run_new(), executed (blocking) by
 * sync_run_execute() on the thread of the caller's choosing, and may be
 * cancelled from any thread or a signal handler with sync_run_cancel(); the
 * engine stops at its next cancellation point (before starting, between
 * pages, between SKU requests, between storage batches), keeps what it
 * stored, and ends the run "cancelled". Its log (struct runlog) is readable
 * while it runs.
 */
#ifndef SYNC_H
#define SYNC_H

#include <stdio.h>

#include "ebay.h"
#include "error.h"
#include "runlog.h"
#include "store.h"

/*
 * A 'running' run whose heartbeat is older than this has lost its process.
 * The engine writes its heartbeat about once a second, at its cancellation
 * points; a new run first marks older ones interrupted, so that a crashed
 * run never keeps the next one of its kind from starting.
 */
#define SYNC_STALE_MS 30000

enum sync_kind {
	SYNC_INVENTORY,
	SYNC_OFFERS,
	SYNC_ALL,
	SYNC_SKUS, /* given SKUs: bulkGetInventoryItem, then their offers */
};

/* "inventory", "offers", "all", "skus"; and back (ERR_INVALID for anything else). */
const char *sync_kind_name(enum sync_kind k);
enum error sync_kind_parse(const char *s, enum sync_kind *out);

struct sync_opts {
	enum sync_kind kind;
	const char *user_id;	 /* whose rows; required */
	const char *db_url;	 /* store_open() URL; the run opens its own connections */
	const char *env_name;	 /* "production", "sandbox" or "simulator": for the log */
	struct ebay_config ebay; /* base URL, marketplace, concurrency, max_rps ... */
	ebay_token_fn token;	 /* the user's eBay access token source; required */
	void *token_ctx;
	int page_limit;		 /* getInventoryItems limit; 0: 200 */
	int batch_size;		 /* rows per storage transaction; 0: 200 */
	const char *owner;	 /* "host:pid", recorded on the run; NULL: computed */
	FILE *request_log;	 /* eBay request log as JSON lines; NULL: none */
	int resume;		 /* offers: go on after the SKUs a stopped run stored */
	const char *const *skus; /* SYNC_SKUS: the SKUs to sync (copied) */
	size_t n_skus;
	struct pacer *pacer; /* shared by runs of a process; NULL: the run makes its own */
};

struct sync_run;

/* A new run "<kind>_<epoch>_<random>" (or run_id, if given). The options
 * (strings too) are copied. Free with sync_run_free() after execute returns. */
struct sync_run *sync_run_new(const struct sync_opts *opts, const char *run_id);
void sync_run_free(struct sync_run *r);

/*
 * Executes the run: marks runs without a heartbeat for SYNC_STALE_MS
 * interrupted, inserts its sync_runs row, syncs, persists its events, and
 * updates the row to its final status. Returns ERR_OK for done (even with
 * per-SKU failures, which are counted and recorded in sync_failures),
 * ERR_CANCELLED when cancelled, ERR_CONFLICT when a run of the same kind is
 * running for the user, or the error that failed it (with a message in
 * sync_run_error()).
 */
enum error sync_run_execute(struct sync_run *r);

/* Asks the run to stop at its next cancellation point. Async-signal-safe. */
void sync_run_cancel(struct sync_run *r);

const char *sync_run_id(const struct sync_run *r);
struct runlog *sync_run_log(struct sync_run *r);
/* The run's status ("running", "done", "failed", "cancelled"). */
const char *sync_run_status(const struct sync_run *r);
/* A copy of the run's counts now. */
struct run_counts sync_run_counts(struct sync_run *r);
/* The one-line reason a failed run failed, or NULL. */
const char *sync_run_error(const struct sync_run *r);
/*
 * What ended the run: ERR_OK while it runs and when it is done, else what
 * sync_run_execute() returned. ERR_CONFLICT: it never started, because the
 * user has a run of the same kind running (the reason names it); nothing of
 * it is in the store.
 */
enum error sync_run_result(const struct sync_run *r);

/* Fresh run id for kind, "<kind>_<epoch seconds>_<6 random hex>" (malloc'd). */
char *sync_new_run_id(enum sync_kind k);

#endif
