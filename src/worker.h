/*
 * Worker slots (docs/queue.md): threads that claim jobs from the queue in
 * the store and execute their runs through the run manager (runs.h), one
 * run per slot at a time. `ebaysync worker` is a process of them;
 * `ebaysync serve` runs some too (--workers N).
 *
 * A heartbeat thread renews the lease of every job the slots hold (a slot
 * whose lease was lost, because the job was taken over, hands its run back
 * at once), records the process in sync_workers, and returns to the queue
 * the jobs of workers that stopped heartbeating (their lease ran out).
 */
#ifndef WORKER_H
#define WORKER_H

#include "buf.h"
#include "sync.h"

struct runs;
struct storepool;

/*
 * The admission hook: asked before a claimed job runs. Returns 1 to run
 * it; 0 to put it back in the queue for *retry_after_ms (at least 100),
 * with why shown on the run as its wait_reason.
 */
typedef int (*worker_admit_fn)(void *ctx, const char *user, enum sync_kind kind,
			       long long *retry_after_ms, struct buf *why);

struct worker_config {
	struct runs *runs;	/* executes the runs (not owned) */
	struct storepool *pool; /* the queue's store (not owned) */
	int slots;		/* runs at once; at least 1 */
	long long lease_ms;	/* 0: QUEUE_LEASE_MS */
	long long poll_ms;	/* 0: QUEUE_POLL_MS */
	const char *name;	/* "host:pid"; NULL: computed (copied) */
	worker_admit_fn admit;	/* NULL: every job runs */
	void *admit_ctx;
};

struct worker;

/* Starts the slots and the heartbeat. Stop with worker_quiesce(), then
 * runs_shutdown(), then worker_stop(). */
struct worker *worker_start(const struct worker_config *cfg);
/* Wakes the idle slots to look for a job now (runs_on_enqueue's hook). */
void worker_wake(void *w);
/* Slots claim no more jobs. */
void worker_quiesce(struct worker *w);
/* Waits for the slots (each gives its job back to the queue if its run was
 * handed back) and the heartbeat to end, forgets the process in
 * sync_workers and frees w. Call after runs_shutdown() returned 1. */
void worker_stop(struct worker *w);
/* Slots executing a run now. */
int worker_busy(struct worker *w);

#endif
