/*
 * A run's log (see runlog.h): a ring of the newest RUNLOG_KEEP events under
 * one mutex, a condition variable that wakes readers, and a cursor of what
 * has been handed out for persistence. Events are formatted once, at emit,
 * into the JSON that both the SSE stream and the store carry.
 */
#include "runlog.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "timeutil.h"
#include "xalloc.h"
#include "banned.h"

struct runlog {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	char *run_id;
	struct event ring[RUNLOG_KEEP];
	long long last_seq;    /* seq of the newest event; 0 if none */
	long long first_seq;   /* seq of the first event in memory (runlog_continue) */
	struct event *pending; /* copies not yet handed out for persistence */
	size_t n_pending, alloc_pending;
	int finished;
	runlog_sink_fn sink;
	void *sink_ctx;
};

static const char *const type_names[] = {
    [EVENT_START] = "start",	   [EVENT_INFO] = "info",	  [EVENT_REQUEST] = "request",
    [EVENT_RESPONSE] = "response", [EVENT_PROGRESS] = "progress", [EVENT_WARNING] = "warning",
    [EVENT_ERROR] = "error",	   [EVENT_DONE] = "done",	  [EVENT_CANCELLED] = "cancelled",
    [EVENT_FAILED] = "error",
};

const char *event_type_name(enum event_type t)
{
	if ((size_t)t >= sizeof(type_names) / sizeof(type_names[0]))
		return "info";
	return type_names[t];
}

int event_type_final(enum event_type t)
{
	return t == EVENT_DONE || t == EVENT_CANCELLED || t == EVENT_FAILED;
}

void event_release(struct event *e)
{
	FREE_AND_NULL(e->line);
	FREE_AND_NULL(e->data);
}

static void event_copy(struct event *dst, const struct event *src)
{
	*dst = *src;
	dst->line = xstrdup(src->line);
	dst->data = xstrdup(src->data);
}

struct runlog *runlog_new(const char *run_id)
{
	struct runlog *l = xcalloc(1, sizeof(*l));

	pthread_mutex_init(&l->lock, NULL);
	pthread_cond_init(&l->cond, NULL);
	l->run_id = xstrdup(run_id);
	return l;
}

void runlog_free(struct runlog *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < RUNLOG_KEEP; i++)
		event_release(&l->ring[i]);
	for (size_t i = 0; i < l->n_pending; i++)
		event_release(&l->pending[i]);
	free(l->pending);
	pthread_mutex_destroy(&l->lock);
	pthread_cond_destroy(&l->cond);
	free(l->run_id);
	free(l);
}

void runlog_set_sink(struct runlog *l, runlog_sink_fn fn, void *ctx)
{
	pthread_mutex_lock(&l->lock);
	l->sink = fn;
	l->sink_ctx = ctx;
	pthread_mutex_unlock(&l->lock);
}

static char *event_json(const struct event *e, const struct run_counts *c, const char *error_code)
{
	char hms[16], iso[32];
	json_t *o;
	char *s;

	timeutil_hms(e->ts_ms, hms, sizeof(hms));
	timeutil_iso(e->ts_ms, iso, sizeof(iso));
	o = json_pack("{s:I, s:s, s:s, s:s, s:s, s:{s:I, s:I, s:I, s:I, s:I, s:s}}", "seq",
		      (json_int_t)e->seq, "ts", iso, "time", hms, "type", event_type_name(e->type),
		      "line", e->line, "counts", "fetched", (json_int_t)c->fetched, "stored",
		      (json_int_t)c->stored, "failed", (json_int_t)c->failed, "current",
		      (json_int_t)c->current, "total", (json_int_t)c->total, "unit",
		      c->unit ? c->unit : "");
	if (!o) /* a line that is not UTF-8 (json_pack refuses it): keep the event */
		o = json_pack("{s:I, s:s, s:s, s:s, s:s}", "seq", (json_int_t)e->seq, "ts", iso,
			      "time", hms, "type", event_type_name(e->type), "line",
			      "(log line was not valid UTF-8)");
	if (error_code)
		json_object_set_new(o, "error_code", json_string(error_code));
	if (o)
		json_object_set_new(o, "net",
				    json_pack("{s:I, s:I, s:I}", "calls", (json_int_t)c->calls,
					      "throttled", (json_int_t)c->throttled, "latency_ms",
					      (json_int_t)c->latency_ms));
	s = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(o);
	return s;
}

static long long emit(struct runlog *l, enum event_type t, const struct run_counts *c,
		      const char *error_code, const char *fmt, va_list ap)
{
	static const struct run_counts zero;
	struct event *slot;
	struct buf line;
	long long seq;

	buf_init(&line, 64 * 1024);
	if (buf_vaddf(&line, fmt, ap))
		buf_adds(&line, "(log line too long)");
	pthread_mutex_lock(&l->lock);
	seq = ++l->last_seq;
	slot = &l->ring[seq % RUNLOG_KEEP];
	event_release(slot);
	slot->seq = seq;
	slot->type = t;
	slot->ts_ms = timeutil_wall_ms();
	slot->line = buf_detach(&line, NULL);
	slot->data = event_json(slot, c ? c : &zero, error_code);
	if (l->n_pending == l->alloc_pending) {
		l->alloc_pending = l->alloc_pending ? 2 * l->alloc_pending : 256;
		l->pending = xrealloc(l->pending, l->alloc_pending * sizeof(*l->pending));
	}
	event_copy(&l->pending[l->n_pending++], slot);
	if (event_type_final(t))
		l->finished = 1;
	if (l->sink)
		l->sink(l->sink_ctx, slot);
	pthread_cond_broadcast(&l->cond);
	pthread_mutex_unlock(&l->lock);
	return seq;
}

long long runlog_vemit(struct runlog *l, enum event_type t, const struct run_counts *c,
		       const char *fmt, va_list ap)
{
	return emit(l, t, c, NULL, fmt, ap);
}

long long runlog_emit_failed(struct runlog *l, const struct run_counts *c, const char *error_code,
			     const char *fmt, ...)
{
	va_list ap;
	long long seq;

	va_start(ap, fmt);
	seq = emit(l, EVENT_FAILED, c, error_code, fmt, ap);
	va_end(ap);
	return seq;
}

long long runlog_emit(struct runlog *l, enum event_type t, const struct run_counts *c,
		      const char *fmt, ...)
{
	va_list ap;
	long long seq;

	va_start(ap, fmt);
	seq = runlog_vemit(l, t, c, fmt, ap);
	va_end(ap);
	return seq;
}

static long long oldest_kept(const struct runlog *l)
{
	long long oldest = l->last_seq > RUNLOG_KEEP ? l->last_seq - RUNLOG_KEEP + 1 : 1;

	return oldest > l->first_seq ? oldest : l->first_seq;
}

size_t runlog_read(struct runlog *l, long long after_seq, int timeout_ms, struct event *out,
		   size_t max, long long *oldest, int *finished)
{
	struct timespec deadline;
	long long seq;
	size_t n = 0;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += timeout_ms / 1000;
	deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&l->lock);
	while (l->last_seq <= after_seq && !l->finished && timeout_ms > 0)
		if (pthread_cond_timedwait(&l->cond, &l->lock, &deadline))
			break;
	seq = after_seq + 1;
	if (seq < oldest_kept(l))
		seq = oldest_kept(l);
	for (; seq <= l->last_seq && n < max; seq++)
		event_copy(&out[n++], &l->ring[seq % RUNLOG_KEEP]);
	if (oldest)
		*oldest = oldest_kept(l);
	if (finished)
		*finished = l->finished;
	pthread_mutex_unlock(&l->lock);
	return n;
}

size_t runlog_take_unpersisted(struct runlog *l, struct event *out, size_t max)
{
	size_t n;

	pthread_mutex_lock(&l->lock);
	n = l->n_pending < max ? l->n_pending : max;
	if (n > 0) { /* pending is NULL until the first event */
		memcpy(out, l->pending, n * sizeof(*out));
		memmove(l->pending, l->pending + n, (l->n_pending - n) * sizeof(*out));
		l->n_pending -= n;
	}
	pthread_mutex_unlock(&l->lock);
	return n;
}

void runlog_continue(struct runlog *l, long long last_seq)
{
	pthread_mutex_lock(&l->lock);
	if (l->last_seq == 0 && last_seq > 0) {
		l->last_seq = last_seq;
		l->first_seq = last_seq + 1;
	}
	pthread_mutex_unlock(&l->lock);
}

long long runlog_last_seq(struct runlog *l, int *finished)
{
	long long seq;

	pthread_mutex_lock(&l->lock);
	seq = l->last_seq;
	if (finished)
		*finished = l->finished;
	pthread_mutex_unlock(&l->lock);
	return seq;
}
