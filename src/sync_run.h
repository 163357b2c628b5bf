/*
 * The run object of the sync engine: one run's options, its state, its
 * counts, its log and its cancellation, and the helpers through which the
 * phases (sync_pages.c, sync_offers.c, sync_skus.c) and the driver (sync.c)
 * report on it. It sits below both: it calls neither, they call it.
 *
 * Everyone else reaches it through sync.h and treats struct sync_run as
 * opaque: only the engine's files (sync*.c) read or write its fields, and
 * only the engine calls the helpers declared after the struct.
 */
#ifndef SYNC_RUN_H
#define SYNC_RUN_H

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>

#include "ebay.h"
#include "error.h"
#include "runlog.h"
#include "store.h"

/* How often a run writes its heartbeat and polls for a STOP (ms). */
#define SYNC_BEAT_MS 1000

enum sync_kind {
	SYNC_INVENTORY,
	SYNC_OFFERS,
	SYNC_ALL,
	SYNC_SKUS,    /* given SKUs: bulkGetInventoryItem, then their offers */
	SYNC_REFRESH, /* pages, the Active Inventory Report, getOffers where needed */
};

/* "inventory", "offers", "all", "skus", "refresh"; and back (ERR_INVALID for anything else). */
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
	struct pacer *pacer;	      /* shared by runs of a process; NULL: the run makes its own */
	int report_only;	      /* refresh: fail, rather than getOffers for every SKU, when
					 the report cannot be had */
	long long report_deadline_ms; /* refresh: wait for the report at most; 0: 1 h */
	long report_poll_ms;	      /* refresh: first wait between polls; 0: feed.h's */
	/* A run from the job queue (queue.h): its row exists, queued; the run
	 * takes it over rather than inserting one. first_seq: its events up
	 * to this one are stored (an earlier attempt's, lost or handed back:
	 * the run resumes); attempt: its claims so far, for the log. */
	int queued;
	long long first_seq;
	long long attempt;
};

struct sync_run;

/* A new run "<kind>_<epoch>_<random>" (or run_id, if given). The options
 * (strings too) are copied. Free with sync_run_free() after execute returns. */
struct sync_run *sync_run_new(const struct sync_opts *opts, const char *run_id);
void sync_run_free(struct sync_run *r);

/* Asks the run to stop at its next cancellation point. Async-signal-safe. */
void sync_run_cancel(struct sync_run *r);
/* Stops the run at its next cancellation point to be resumed elsewhere:
 * it keeps what it stored and ends with its row queued (not cancelled) and
 * no final event, its job to be handed back to the queue (queue.h). */
void sync_run_handback(struct sync_run *r);
/* 1 when the run ended handed back. */
int sync_run_handed_back(struct sync_run *r);

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

/*
 * Who runs a run: its owner, "host:pid", recorded on its sync_runs row.
 * sync_owner_here() is this process's (malloc'd). sync_owner_is_dead() is
 * 1 when owner names a process of the same host as mine (another one) that
 * is gone, which is known at once, without waiting for its heartbeat to
 * grow stale.
 */
char *sync_owner_here(void);
int sync_owner_is_dead(const char *mine, const char *owner);

/*
 * Marks interrupted the 'running' runs of user whose owner is a process of
 * this host (mine's) that is gone: after a kill -9 or a crash, the next run
 * of that kind starts at once. Adds to *count (if given) how many; on
 * failure says why in why.
 */
enum error sync_interrupt_dead_owners(struct store *s, const char *mine, const char *user,
				      long long *count, struct buf *why);

/* Below: the engine's own (sync*.c). */

struct mark;
struct writer;

struct sync_run {
	struct sync_opts opts; /* its strings point at the copies below */
	char *user_id, *db_url, *env_name, *owner, *api_base, *marketplace_id;
	char *id;
	struct runlog *log;
	atomic_int cancel;
	atomic_int handback; /* the cancel is a hand-back (sync_run_handback) */

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
	struct pacer *pacer_ref;     /* from pacers_get(), when opts.pacer was NULL */
	long long t0;		     /* monotonic ms at start */
	long long next_beat;	     /* when to next write a heartbeat and check STOP */
	int phase_items;	     /* 1 while the writer stores inventory pages */
	_Atomic long long available; /* eBay's total of inventory items, -1 unknown */
	long long walk_first_total;  /* the total on the first page of this walk */
	long long walk_repeats;	     /* rows of this walk whose SKU was already seen */
	long long removed_items;     /* rows this run marked removed (sync_pages.c) */
	long long removed_offers;
	char **wanted; /* SYNC_SKUS: the SKUs asked for */
	size_t n_wanted;
	char *summary; /* the final "... completed: ..." line of a done run */
	/* Every distinct SKU seen, in order, is in the store (store_skus_*,
	 * under the run's id), not in memory: n_skus is how many. */
	long long n_skus;
	struct mark *mark; /* offers step: how far every SKU is stored */
	/*
	 * Set by a phase that looks at each inventory page before it is
	 * stored (the refresh): it may drop rows from rows[0..*n) (releasing
	 * them) and keep the others in order. Anything but ERR_OK ends the
	 * walk with that error.
	 */
	enum error (*page_filter)(struct sync_run *r, struct item_row *rows, size_t *n);
	void *phase; /* the state of the phase running, for page_filter */
};

/* Counts helpers; all take the lock. */
void sync_counts_add(struct sync_run *r, long long fetched, long long stored, long long failed,
		     long long current);
void sync_counts_set(struct sync_run *r, long long current, long long total, const char *unit);

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

/* Fills row with the run as it stands now, for its sync_runs row. The
 * strings of row point into r: row is not to be released. */
void sync_run_fill_row(struct sync_run *r, struct run_row *row);

/* Adds skus[0..n) to the run's SKU list, those not there yet, in order;
 * is_new[i] (if given) says which were. On a storage failure records it as
 * the run's failure and returns it. */
enum error sync_remember(struct sync_run *r, const char *const *skus, size_t n,
			 unsigned char *is_new);

/* The path and query of url, for logs: no scheme, no host. */
const char *sync_url_path(const char *url);

#endif
