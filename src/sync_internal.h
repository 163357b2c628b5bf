/*
 * What the engine's three files share: the state of one run. sync.c owns
 * its life cycle (rows, events, cancellation, the final status),
 * sync_pages.c walks getInventoryItems, and sync_offers.c runs getOffers for
 * every SKU. Nothing outside the sync_*.c files includes this header.
 */
#ifndef SYNC_INTERNAL_H
#define SYNC_INTERNAL_H

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>

#include "sync.h"
#include "mark.h"
#include "writer.h"

#define SYNC_MAX_WALKS 5 /* walks of the inventory pages when the catalog moves */

#define SYNC_MAX_WALKS 5 /* walks of the inventory pages when the catalog moves */

struct sync_run {
	struct sync_opts opts; /* its strings point at the copies below */
	char *user_id, *db_url, *env_name, *owner, *api_base, *marketplace_id;
	char *id;
	struct runlog *log;
	atomic_int cancel;

	pthread_mutex_t lock; /* guards counts, status and error */
	struct run_counts counts;
	const char *status; /* STORE_RUN_*; static */
	char *error;
	enum error result; /* what ended it; ERR_OK until then */

	/* Set up by sync_run_execute() for the length of the run. */
	struct store *store; /* the run's own connection: runs, failures */
	int recorded;	     /* its sync_runs row is in the store */
	struct writer *writer;
	struct ebay_client *client;
	long long t0;		     /* monotonic ms at start */
	long long next_beat;	     /* when to next write a heartbeat and check STOP */
	int phase_items;	     /* 1 while the writer stores inventory pages */
	_Atomic long long available; /* eBay's total of inventory items, -1 unknown */
	long long walk_first_total;  /* the total on the first page of this walk */
	long long walk_repeats;	     /* rows of this walk whose SKU was already seen */
	char **wanted;		     /* SYNC_SKUS: the SKUs asked for */
	size_t n_wanted;
	char *summary;	   /* the final "... completed: ..." line of a done run */
	json_t *skus;	   /* array: every distinct SKU seen, in order */
	struct mark *mark; /* offers step: how far every SKU is stored */
	json_t *seen;	   /* SKU -> its position in skus */
};

/* Counts helpers; all take the lock. */
void sync_counts_add(struct sync_run *r, long long fetched, long long stored, long long failed,
		     long long current);
void sync_counts_set(struct sync_run *r, long long current, long long total, const char *unit);
struct run_counts sync_run_counts(struct sync_run *r);

/* Logs a line with the current counts. */
void sync_emit(struct sync_run *r, enum event_type t, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* 1 when the run must stop at this cancellation point. Also writes the
 * heartbeat and polls a STOP requested through the store, at most once a
 * second. */
int sync_should_stop(struct sync_run *r);

/* Records err with a printf-style reason as the run's failure; returns err. */
enum error sync_fail(struct sync_run *r, enum error err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Waits for the writer to store what it was given; on a storage failure
 * records it as the run's failure and returns it. */
enum error sync_flush_writer(struct sync_run *r);

/* The path and query of url, for logs: no scheme, no host. */
const char *sync_url_path(const char *url);

/*
 * Walks getInventoryItems from the first page to the last, adding every
 * distinct SKU to r->skus. With store_items set, maps each page and hands
 * it to the writer (the inventory sync); otherwise only collects SKUs (Step
 * 1 of the offers sync). Returns ERR_OK, ERR_CANCELLED or the failure.
 */
enum error sync_pages(struct sync_run *r, int store_items);

/* Adds sku to r->skus (and r->seen) unless there; returns 1 if it was new. */
int sync_remember(struct sync_run *r, const char *sku);

/* The SKU sync: the items of r->wanted by bulkGetInventoryItem, then Step 2
 * for those found (sync_skus.c). */
enum error sync_skus(struct sync_run *r);

/* Step 2 of the offers sync: getOffers for every SKU in r->skus. */
enum error sync_offers_step2(struct sync_run *r);

#endif
