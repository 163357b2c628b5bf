/*
 * The batching database writer (see writer.h): a mutex-protected FIFO of
 * batches, a thread that drains it into its own store connection, and the
 * run's event log persisted between batches.
 */
#include "writer.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store.h"
#include "timeutil.h"
#include "xalloc.h"
#include "banned.h"

#define EVENTS_PER_APPEND 512

struct batch {
	struct item_row *items;
	size_t n_items;
	struct offer_row *offers;
	size_t n_offers;
	long long tag;
};

struct writer {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t changed;
	struct batch queue[WRITER_QUEUE_MAX];
	size_t head, count;
	int busy; /* a batch is being written */
	int stopping;
	enum error err;
	char errmsg[600];
	struct store *store;
	char *user_id, *run_id;
	struct runlog *log;
	writer_done_fn done;
	void *done_ctx;
	writer_tick_fn tick; /* under lock */
	void *tick_ctx;
	long long tick_every, next_tick;
};

static void batch_free(struct batch *b)
{
	for (size_t i = 0; i < b->n_items; i++)
		item_row_release(&b->items[i]);
	for (size_t i = 0; i < b->n_offers; i++)
		offer_row_release(&b->offers[i]);
	free(b->items);
	free(b->offers);
	memset(b, 0, sizeof(*b));
}

static void set_error(struct writer *w, enum error err, const char *msg)
{
	pthread_mutex_lock(&w->lock);
	if (!w->err) {
		w->err = err;
		snprintf(w->errmsg, sizeof(w->errmsg), "%s", msg);
	}
	pthread_mutex_unlock(&w->lock);
}

enum error writer_persist_log(struct store *s, const char *run_id, struct runlog *log)
{
	struct event ev[EVENTS_PER_APPEND];
	struct event_row rows[EVENTS_PER_APPEND];
	enum error err = ERR_OK;
	size_t n;

	while (!err && (n = runlog_take_unpersisted(log, ev, EVENTS_PER_APPEND)) > 0) {
		for (size_t i = 0; i < n; i++) {
			rows[i].seq = ev[i].seq;
			rows[i].type = (char *)event_type_name(ev[i].type);
			rows[i].ts_ms = ev[i].ts_ms;
			rows[i].line = ev[i].line;
			rows[i].data = ev[i].data;
		}
		err = store_events_append(s, run_id, rows, n);
		for (size_t i = 0; i < n; i++)
			event_release(&ev[i]);
	}
	return err;
}

/* Persists the events emitted so far. Runs on the writer thread only. */
static void persist_events(struct writer *w)
{
	enum error err;
	char msg[600];

	if (!w->log)
		return;
	err = writer_persist_log(w->store, w->run_id, w->log);
	if (err) {
		snprintf(msg, sizeof(msg), "cannot store the run's log: %s",
			 store_errmsg(w->store));
		set_error(w, err, msg);
	}
}

void writer_set_tick(struct writer *w, writer_tick_fn fn, void *ctx, long long every_ms)
{
	pthread_mutex_lock(&w->lock);
	w->tick = fn;
	w->tick_ctx = ctx;
	w->tick_every = every_ms;
	w->next_tick = timeutil_mono_ms() + every_ms;
	pthread_mutex_unlock(&w->lock);
}

/* Runs the tick when it is due. Called without the lock. */
static void maybe_tick(struct writer *w)
{
	writer_tick_fn fn = NULL;
	void *ctx = NULL;
	long long now = timeutil_mono_ms();

	pthread_mutex_lock(&w->lock);
	if (w->tick && now >= w->next_tick) {
		fn = w->tick;
		ctx = w->tick_ctx;
		w->next_tick = now + w->tick_every;
	}
	pthread_mutex_unlock(&w->lock);
	if (fn)
		fn(ctx, w->store);
}

static void write_one(struct writer *w, struct batch *b)
{
	long long t0 = timeutil_mono_ms();
	enum error err;

	err = store_write_batch(w->store, w->user_id, w->run_id, b->items, b->n_items, b->offers,
				b->n_offers);
	if (err)
		set_error(w, err, store_errmsg(w->store));
	else if (w->done)
		w->done(w->done_ctx, b->n_items, b->n_offers, timeutil_mono_ms() - t0, b->tag);
	batch_free(b);
}

static void *run(void *arg)
{
	struct writer *w = arg;

	pthread_mutex_lock(&w->lock);
	for (;;) {
		struct batch b;
		struct timespec until;

		if (w->count == 0) {
			if (w->stopping)
				break;
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_nsec += WRITER_EVENT_FLUSH_MS * 1000000L;
			if (until.tv_nsec >= 1000000000L) {
				until.tv_sec++;
				until.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&w->changed, &w->lock, &until);
			pthread_mutex_unlock(&w->lock);
			persist_events(w);
			maybe_tick(w);
			pthread_mutex_lock(&w->lock);
			continue;
		}
		b = w->queue[w->head];
		w->head = (w->head + 1) % WRITER_QUEUE_MAX;
		w->count--;
		w->busy = 1;
		pthread_cond_broadcast(&w->changed);
		pthread_mutex_unlock(&w->lock);

		if (writer_error(w, NULL)) /* after a failure, drop the rest: the run is failing */
			batch_free(&b);
		else
			write_one(w, &b);
		persist_events(w);

		pthread_mutex_lock(&w->lock);
		w->busy = 0;
		pthread_cond_broadcast(&w->changed);
	}
	pthread_mutex_unlock(&w->lock);
	persist_events(w);
	return NULL;
}

enum error writer_start(const char *db_url, const char *user_id, const char *run_id,
			struct runlog *log, writer_done_fn done, void *done_ctx,
			struct writer **out, struct buf *errmsg)
{
	struct writer *w = xcalloc(1, sizeof(*w));
	enum error err;

	*out = NULL;
	err = store_open(db_url, &w->store, errmsg);
	if (err) {
		free(w);
		return err;
	}
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->changed, NULL);
	w->user_id = xstrdup(user_id);
	w->run_id = xstrdup(run_id);
	w->log = log;
	w->done = done;
	w->done_ctx = done_ctx;
	if (pthread_create(&w->thread, NULL, run, w)) {
		store_close(w->store);
		free(w->user_id);
		free(w->run_id);
		free(w);
		if (errmsg)
			buf_adds(errmsg, "cannot start the database writer thread");
		return ERR_INTERNAL;
	}
	*out = w;
	return ERR_OK;
}

enum error writer_submit(struct writer *w, struct item_row *items, size_t n_items,
			 struct offer_row *offers, size_t n_offers, long long tag)
{
	struct batch b = {items, n_items, offers, n_offers, tag};
	enum error err;

	pthread_mutex_lock(&w->lock);
	while (w->count == WRITER_QUEUE_MAX && !w->err)
		pthread_cond_wait(&w->changed, &w->lock);
	err = w->err;
	if (!err) {
		w->queue[(w->head + w->count) % WRITER_QUEUE_MAX] = b;
		w->count++;
		pthread_cond_broadcast(&w->changed);
	}
	pthread_mutex_unlock(&w->lock);
	if (err)
		batch_free(&b);
	return err;
}

enum error writer_flush(struct writer *w)
{
	enum error err;

	pthread_mutex_lock(&w->lock);
	while ((w->count > 0 || w->busy) && !w->err)
		pthread_cond_wait(&w->changed, &w->lock);
	err = w->err;
	pthread_mutex_unlock(&w->lock);
	return err;
}

enum error writer_error(struct writer *w, const char **msg)
{
	enum error err;

	pthread_mutex_lock(&w->lock);
	err = w->err;
	if (msg)
		*msg = err ? w->errmsg : NULL;
	pthread_mutex_unlock(&w->lock);
	return err;
}

enum error writer_finish(struct writer *w, struct buf *errmsg)
{
	enum error err;

	if (!w)
		return ERR_OK;
	pthread_mutex_lock(&w->lock);
	w->stopping = 1;
	pthread_cond_broadcast(&w->changed);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	for (; w->count > 0; w->count--) { /* only left after an error */
		batch_free(&w->queue[w->head]);
		w->head = (w->head + 1) % WRITER_QUEUE_MAX;
	}
	err = w->err;
	if (err && errmsg)
		buf_adds(errmsg, w->errmsg);
	store_close(w->store);
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->changed);
	free(w->user_id);
	free(w->run_id);
	free(w);
	return err;
}
