/*
 * Worker slots (see worker.h). One mutex guards the slots' current jobs and
 * the stop flag; a condition variable wakes idle slots (on enqueue, on
 * stop, after a reap). Each slot claims with store_job_claim(), asks the
 * admission hook, executes the run with runs_execute() on its own thread,
 * and then finishes the job, or gives it back when the run was handed back
 * (SIGTERM, or the lease was lost: then it is no longer ours and another
 * worker has it).
 */
#include "worker.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "queue.h"
#include "runs.h"
#include "store.h"
#include "storepool.h"
#include "timeutil.h"
#include "xalloc.h"
#include "banned.h"

struct slot {
	struct worker *w;
	int index;
	char *name;   /* "host:pid:slot": the job's worker */
	char *run_id; /* the job held, under w->mu; NULL when idle */
	int lost;     /* its lease was lost: the job is someone else's now */
	pthread_t thread;
};

struct worker {
	struct worker_config cfg;
	char *name;
	pthread_mutex_t mu;
	pthread_cond_t wake;
	int stopping, woken;
	struct slot *slots;
	pthread_t beat;
};

/* Sleeps up to ms on w->wake, or less when woken; under w->mu. */
static void wait_locked(struct worker *w, long long ms)
{
	long long until = timeutil_wall_ms() + ms;
	struct timespec ts = {(time_t)(until / 1000), (long)(until % 1000) * 1000000L};

	while (!w->stopping && !w->woken)
		if (pthread_cond_timedwait(&w->wake, &w->mu, &ts) == ETIMEDOUT)
			break;
	w->woken = 0;
}

/* Sleeps up to ms, or less when stopping; under w->mu. */
static void nap_locked(struct worker *w, long long ms)
{
	long long until = timeutil_wall_ms() + ms;
	struct timespec ts = {(time_t)(until / 1000), (long)(until % 1000) * 1000000L};

	while (!w->stopping)
		if (pthread_cond_timedwait(&w->wake, &w->mu, &ts) == ETIMEDOUT)
			break;
}

void worker_wake(void *arg)
{
	struct worker *w = arg;

	pthread_mutex_lock(&w->mu);
	w->woken = 1;
	pthread_cond_broadcast(&w->wake);
	pthread_mutex_unlock(&w->mu);
}

/* Fails the run of a job that cannot run at all (its kind or options do
 * not parse), so that its kind is not held for its user for ever. */
static void fail_run(struct store *s, const struct job_row *job)
{
	struct run_row row;

	memset(&row, 0, sizeof(row));
	row.id = job->run_id;
	row.status = (char *)STORE_RUN_FAILED;
	row.error = (char *)"the job cannot be read (see the worker's log)";
	row.error_code = (char *)"invalid";
	row.finished_ms = row.heartbeat_ms = timeutil_wall_ms();
	store_run_update(s, &row);
}

/* What the slot does with its job once the run stopped. */
static void settle(struct slot *sl, const struct job_row *job, enum error result, int back,
		   int lost)
{
	struct worker *w = sl->w;
	struct buf why = BUF_INIT;
	struct store *s = storepool_get(w->cfg.pool, &why);
	enum error err = ERR_OK;
	char *reason;

	if (!s) {
		fprintf(stderr, "ebaysync worker: job %s: %s\n", job->run_id, buf_str(&why));
		buf_release(&why);
		return; /* its lease runs out; another worker takes it over */
	}
	if (lost) {
		/* Taken over: nothing of it is ours to write. */
	} else if (back) {
		reason = xasprintf("handed back by %s (it was stopping)", sl->name);
		err = store_job_requeue(s, job->run_id, sl->name, timeutil_wall_ms(), reason, 1,
					timeutil_wall_ms());
		free(reason);
	} else {
		if (result == ERR_INVALID)
			fail_run(s, job);
		err = store_job_finish(s, job->run_id, sl->name, queue_final_state(result),
				       timeutil_wall_ms());
	}
	if (err && err != ERR_NOTFOUND)
		fprintf(stderr, "ebaysync worker: job %s: %s\n", job->run_id, store_errmsg(s));
	storepool_put(w->cfg.pool, s, err == ERR_DB);
	buf_release(&why);
}

/* Asks the admission hook; 0 when the job went back to wait. */
static int admitted(struct slot *sl, const struct job_row *job)
{
	struct worker *w = sl->w;
	struct buf why = BUF_INIT;
	long long retry = 0;
	enum sync_kind kind = SYNC_ALL;
	struct store *s;
	int ok;

	if (!w->cfg.admit || sync_kind_parse(job->kind, &kind))
		return 1;
	ok = w->cfg.admit(w->cfg.admit_ctx, job->user_id, kind, &retry, &why);
	if (ok)
		goto out;
	if (retry < 100)
		retry = 100;
	s = storepool_get(w->cfg.pool, &why);
	if (s) {
		long long now = timeutil_wall_ms();

		if (store_job_requeue(s, job->run_id, sl->name, now + retry,
				      why.len ? buf_str(&why) : "not admitted yet", 1, now))
			fprintf(stderr, "ebaysync worker: job %s: %s\n", job->run_id,
				store_errmsg(s));
		storepool_put(w->cfg.pool, s, 0);
	}
out:
	buf_release(&why);
	return ok;
}

/* Claims a job for sl into *job; 0 when there is none (or no database). */
static int claim(struct slot *sl, struct job_row *job)
{
	struct worker *w = sl->w;
	struct buf why = BUF_INIT;
	struct store *s = storepool_get(w->cfg.pool, &why);
	long long now = timeutil_wall_ms();
	enum error err = ERR_DB;

	if (s) {
		err = store_job_claim(s, sl->name, now, now + w->cfg.lease_ms, job);
		if (err && err != ERR_NOTFOUND)
			fprintf(stderr, "ebaysync worker: cannot claim a job: %s\n",
				store_errmsg(s));
		storepool_put(w->cfg.pool, s, err == ERR_DB);
	}
	buf_release(&why);
	return err == ERR_OK;
}

static void *slot_main(void *arg)
{
	struct slot *sl = arg;
	struct worker *w = sl->w;
	struct job_row job;
	enum error result;
	int back, lost;

	pthread_mutex_lock(&w->mu);
	while (!w->stopping) {
		pthread_mutex_unlock(&w->mu);
		if (!claim(sl, &job)) {
			pthread_mutex_lock(&w->mu);
			wait_locked(w, w->cfg.poll_ms);
			continue;
		}
		pthread_mutex_lock(&w->mu);
		sl->run_id = xstrdup(job.run_id);
		sl->lost = 0;
		pthread_mutex_unlock(&w->mu);
		if (admitted(sl, &job)) {
			result = runs_execute(w->cfg.runs, &job, sl->name, &back);
			pthread_mutex_lock(&w->mu);
			lost = sl->lost;
			pthread_mutex_unlock(&w->mu);
			settle(sl, &job, result, back, lost);
		}
		job_row_release(&job);
		pthread_mutex_lock(&w->mu);
		FREE_AND_NULL(sl->run_id);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* One heartbeat: the process's row, the slots' leases, and the jobs of
 * workers whose leases ran out. The store is asked outside w->mu, so that
 * a slow database never holds up worker_wake() (an HTTP thread's). */
static void beat_once(struct worker *w, struct store *s)
{
	long long now = timeutil_wall_ms(), requeued = 0;
	char **held = xcalloc((size_t)w->cfg.slots, sizeof(*held));
	int i;

	store_worker_beat(s, w->name, w->cfg.slots, now);
	pthread_mutex_lock(&w->mu);
	for (i = 0; i < w->cfg.slots; i++)
		if (w->slots[i].run_id && !w->slots[i].lost)
			held[i] = xstrdup(w->slots[i].run_id);
	pthread_mutex_unlock(&w->mu);
	for (i = 0; i < w->cfg.slots; i++) {
		struct slot *sl = &w->slots[i];

		if (!held[i] ||
		    store_job_renew(s, held[i], sl->name, now + w->cfg.lease_ms) != ERR_NOTFOUND)
			continue;
		fprintf(stderr, "ebaysync worker: %s lost its lease on %s: handing it back\n",
			sl->name, held[i]);
		pthread_mutex_lock(&w->mu);
		if (sl->run_id && !strcmp(sl->run_id, held[i]))
			sl->lost = 1;
		pthread_mutex_unlock(&w->mu);
		runs_handback(w->cfg.runs, held[i]);
	}
	for (i = 0; i < w->cfg.slots; i++)
		free(held[i]);
	free(held);
	if (store_job_reap(s, now, &requeued, NULL) == ERR_OK && requeued > 0)
		worker_wake(w);
}

static void *beat_main(void *arg)
{
	struct worker *w = arg;
	long long every = w->cfg.lease_ms / 3 > 50 ? w->cfg.lease_ms / 3 : 50;
	struct buf why = BUF_INIT;
	struct store *s;

	pthread_mutex_lock(&w->mu);
	while (!w->stopping) {
		pthread_mutex_unlock(&w->mu);
		s = storepool_get(w->cfg.pool, &why);
		if (s)
			beat_once(w, s);
		storepool_put(w->cfg.pool, s, !s);
		buf_reset(&why);
		pthread_mutex_lock(&w->mu);
		nap_locked(w, every);
	}
	pthread_mutex_unlock(&w->mu);
	buf_release(&why);
	return NULL;
}

struct worker *worker_start(const struct worker_config *cfg)
{
	struct worker *w = xcalloc(1, sizeof(*w));
	int i;

	w->cfg = *cfg;
	w->cfg.slots = cfg->slots > 0 ? cfg->slots : 1;
	w->cfg.lease_ms = cfg->lease_ms > 0 ? cfg->lease_ms : QUEUE_LEASE_MS;
	w->cfg.poll_ms = cfg->poll_ms > 0 ? cfg->poll_ms : QUEUE_POLL_MS;
	w->name = cfg->name ? xstrdup(cfg->name) : sync_owner_here();
	w->cfg.name = w->name;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->wake, NULL);
	w->slots = xcalloc((size_t)w->cfg.slots, sizeof(*w->slots));
	for (i = 0; i < w->cfg.slots; i++) {
		w->slots[i].w = w;
		w->slots[i].index = i;
		w->slots[i].name = queue_worker_name(w->name, i);
		if (pthread_create(&w->slots[i].thread, NULL, slot_main, &w->slots[i]))
			abort(); /* out of threads at start: nothing to run with */
	}
	if (pthread_create(&w->beat, NULL, beat_main, w))
		abort();
	return w;
}

void worker_quiesce(struct worker *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	w->stopping = 1;
	pthread_cond_broadcast(&w->wake);
	pthread_mutex_unlock(&w->mu);
}

void worker_stop(struct worker *w)
{
	struct buf why = BUF_INIT;
	struct store *s;
	int i;

	if (!w)
		return;
	worker_quiesce(w);
	for (i = 0; i < w->cfg.slots; i++)
		pthread_join(w->slots[i].thread, NULL);
	pthread_join(w->beat, NULL);
	s = storepool_get(w->cfg.pool, &why);
	if (s)
		store_worker_gone(s, w->name);
	storepool_put(w->cfg.pool, s, !s);
	buf_release(&why);
	for (i = 0; i < w->cfg.slots; i++)
		free(w->slots[i].name);
	free(w->slots);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->wake);
	free(w->name);
	free(w);
}

int worker_busy(struct worker *w)
{
	int n = 0;

	if (!w)
		return 0;
	pthread_mutex_lock(&w->mu);
	for (int i = 0; i < w->cfg.slots; i++)
		n += w->slots[i].run_id != NULL;
	pthread_mutex_unlock(&w->mu);
	return n;
}
