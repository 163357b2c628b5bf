/*
 * The job queue above the store (docs/queue.md): what a job carries (the
 * start's options as JSON text), how a run is put in the queue, and what
 * becomes of a job once its run stops. Starting a run (runs_start) goes
 * through queue_enqueue(); workers (worker.c) claim, renew, finish and hand
 * back jobs with the store's job operations (store.h) and decide here what
 * each outcome means. No threads and no state: the policy, testable alone.
 */
#ifndef QUEUE_H
#define QUEUE_H

#include <stddef.h>

#include "buf.h"
#include "error.h"
#include "sync.h"

struct store;

/* Claims of one job at most, by default: a run whose worker is lost this
 * many times fails ("worker_lost"). */
#define QUEUE_MAX_ATTEMPTS 3
/* A worker's lease on its job, by default: it renews it every third of it,
 * and another worker may take the job over once it ran out. */
#define QUEUE_LEASE_MS 30000
/* How often a worker with nothing to do looks for a job, by default. */
#define QUEUE_POLL_MS 300
/* SKUs a SYNC_SKUS job carries at most (the API's own cap is lower). */
#define QUEUE_SKUS_MAX 10000

/* What a start asks for besides its kind: parsed back from a job. */
struct queue_opts {
	int resume;
	int report_only;
	char **skus; /* SYNC_SKUS */
	size_t n_skus;
};

/* The options as the JSON object text a job stores (malloc'd). */
char *queue_opts_json(int resume, const char *const *skus, size_t n_skus, int report_only);
/* Parses a job's options; ERR_PARSE (why says what) when they are not an
 * object of the expected fields. Release with queue_opts_release(). */
enum error queue_opts_parse(const char *json, struct queue_opts *out, struct buf *why);
void queue_opts_release(struct queue_opts *o);

/*
 * Inserts a new run of kind for user, queued, and its job (options as from
 * queue_opts_json(), max_attempts 0: QUEUE_MAX_ATTEMPTS), in one
 * transaction. On success *run_id (malloc'd) names it. ERR_CONFLICT when
 * the user has a run of kind queued or running: why names it.
 */
enum error queue_enqueue(struct store *s, const char *user, enum sync_kind kind,
			 const char *options, long long max_attempts, char **run_id,
			 struct buf *why);

/* The state a job ends in when its run ended with result (not handed
 * back): STORE_JOB_DONE, _CANCELLED or _FAILED. */
const char *queue_final_state(enum error result);

/* Whether a job of kind resumes what an earlier attempt stored (resumed:
 * its run executed before, lost or handed back; asked: the start asked
 * for --resume): the offers step goes on from its mark (the inventory
 * walk starts over, storing every page again, which writes nothing twice). */
int queue_resumes(enum sync_kind kind, int resumed, int asked);

/* "host:pid:slot" (malloc'd): who holds a job. */
char *queue_worker_name(const char *process, int slot);

#endif
