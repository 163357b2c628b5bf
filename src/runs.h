/*
 * The run manager of ebaysync serve: starts sync runs (struct sync_run) on
 * threads of their own, keeps a registry of the runs of this process by id,
 * refuses a second run of the same kind for the same user while one is
 * running (here, or in another process on the same database with a fresh
 * heartbeat), stops runs (here: sync_run_cancel; elsewhere: the run's
 * stop_requested flag in the store, which its engine polls), and, at
 * shutdown, cancels every run and waits for each to end at its next safe
 * point.
 *
 * Registry entries are reference-counted: the run's thread, the registry and
 * each event stream reading the run's log hold one, so a finished run's log
 * stays readable for as long as anyone streams it.
 */
#ifndef RUNS_H
#define RUNS_H

#include <stddef.h>

#include "buf.h"
#include "ebay.h"
#include "error.h"
#include "secret.h"
#include "sync.h"

struct accounts;
struct job_row;
struct run_row;
struct store;
struct storepool;
struct runlog;

/* A run of another process counts as alive while its heartbeat is younger
 * than this; older 'running' rows are marked interrupted (the engine's
 * threshold, so that a server and a CLI run agree). */
#define RUNS_STALE_MS SYNC_STALE_MS

struct runs_config {
	const char *env_name;	      /* "production", "sandbox", "simulator" */
	struct ebay_config ebay;      /* api_base, concurrency, max_rps ... (copied) */
	const struct secret_key *key; /* opens users' sealed eBay tokens (copied) */
	struct accounts *accounts;    /* runs of linked users mint tokens here; may be NULL */
	const char *owner;	      /* "host:pid"; NULL: computed */
	/* Called (from a run's thread, keep it short) whenever a run of this
	 * process emits an event: the event-stream hub wakes up here. */
	void (*notify)(void *ctx);
	void *notify_ctx;
	long long max_attempts; /* of a job; 0: QUEUE_MAX_ATTEMPTS */
	int quiet;		/* do not print run starts and ends */
};

struct runs;
struct runs_entry;

/* A manager over pool (not owned). cfg is copied. */
struct runs *runs_new(const struct runs_config *cfg, struct storepool *pool);
/* Frees the manager; call after runs_shutdown() has returned 1. */
void runs_free(struct runs *r);

/*
 * Marks runs that were left 'running' by dead processes interrupted: those
 * whose heartbeat is older than RUNS_STALE_MS, and those owned by a process
 * of this host that no longer exists. *count (if given) receives how many.
 */
enum error runs_recover(struct runs *r, struct store *s, long long *count, struct buf *why);

/* What a start may ask for besides its kind (all zero: a plain run). */
struct runs_start_opts {
	int resume;		 /* offers: skip what the last stopped run stored */
	const char *const *skus; /* SYNC_SKUS: the SKUs (copied by the run) */
	size_t n_skus;
	int report_only; /* refresh: fail when the report cannot be had */
};

/*
 * Starts a run of kind for user: puts it in the job queue (queue.h), its
 * row queued, and returns at once; a worker (worker.h, in this process or
 * another) claims and executes it. On success *run_id (malloc'd) names it.
 * ERR_CONFLICT when one of that kind is queued or running for the user:
 * *conflict_id (malloc'd) names it. ERR_INVALID when the user has no eBay
 * token or it does not open, ERR_AUTH when the user no longer exists,
 * ERR_CANCELLED after runs_shutdown() began; reasons in why.
 */
enum error runs_start(struct runs *r, struct store *s, const char *user, enum sync_kind kind,
		      const struct runs_start_opts *o, char **run_id, char **conflict_id,
		      struct buf *why);

/*
 * Asks run_id of user to stop. ERR_NOTFOUND when there is no such run of
 * this user, ERR_CONFLICT when it has already ended (why says how).
 */
enum error runs_stop(struct runs *r, struct store *s, const char *user, const char *run_id,
		     struct buf *why);

/* The entry of run_id if it belongs to user and lives in this process, with
 * a reference the caller gives back with runs_entry_release(); else NULL. */
struct runs_entry *runs_acquire(struct runs *r, const char *user, const char *run_id);
void runs_entry_release(struct runs_entry *e);
struct runlog *runs_entry_log(struct runs_entry *e);
/* 1 while the run is executing and has not reached its final status. */
int runs_entry_running(struct runs_entry *e);
/* The run's row as memory knows it (status, counts, times): for the moment
 * between its start and its first row in the store. Release the row with
 * run_row_release(). */
void runs_entry_row(struct runs_entry *e, struct run_row *out);

/*
 * Executes the run of job, claimed by worker (its name recorded as the
 * run's owner), on the calling thread, with the usual machinery: registry
 * entry, log, events in the store, STOP. Returns what ended it (ERR_OK:
 * done); *handed_back is 1 when it stopped to be resumed elsewhere
 * (runs_handback(), runs_shutdown()): the job then goes back to the queue.
 */
enum error runs_execute(struct runs *r, const struct job_row *job, const char *worker,
			int *handed_back);
/* fn(ctx) is called after runs_start() queued a run: this process's
 * worker slots (worker.h) wake up and claim it at once. Set it before the
 * first start. */
void runs_on_enqueue(struct runs *r, void (*fn)(void *ctx), void *ctx);

/* Hands run_id back (see sync_run_handback()) if it executes here. */
void runs_handback(struct runs *r, const char *run_id);

/* Runs of this process still executing. */
size_t runs_active(struct runs *r);

/*
 * Refuses new runs, hands every running one back to the queue (another
 * worker resumes it) and waits up to timeout_ms for them to stop at their
 * next safe point. Returns 1 when none is left running.
 */
int runs_shutdown(struct runs *r, long long timeout_ms);

#endif
