/*
 * A run's log (see runlog.h): a ring of the newest RUNLOG_KEEP events under
 * one mutex, a condition variable that wakes readers, and a cursor of what
 * has been handed out for persistence. Events are formatted once, at emit,
 * into the JSON that both the SSE stream and the store carry.
 */
#include "runlog.h"

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

/* The code point of the UTF-8 sequence at s (advancing *len past it), or -1
 * where it is not valid UTF-8 as jansson judges it (overlong forms,
 * surrogates and code points over U+10FFFF refused). */
static long utf8_next(const unsigned char *s, size_t *len)
{
	unsigned char c = s[0];
	size_t n, i;
	long v;

	if (c < 0x80) {
		*len = 1;
		return c;
	}
	if (c >= 0xC2 && c <= 0xDF) {
		n = 2;
		v = c & 0x1F;
	} else if (c >= 0xE0 && c <= 0xEF) {
		n = 3;
		v = c & 0x0F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		n = 4;
		v = c & 0x07;
	} else {
		return -1;
	}
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return -1;
		v = (v << 6) | (s[i] & 0x3F);
	}
	if ((n == 3 && v < 0x800) || (n == 4 && v < 0x10000) || v > 0x10FFFF ||
	    (v >= 0xD800 && v <= 0xDFFF))
		return -1;
	*len = n;
	return v;
}

/* 1 if s is valid UTF-8 (what json_string() accepts). */
static int utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n;

	while (*p) {
		if (utf8_next(p, &n) < 0)
			return 0;
		p += n;
	}
	return 1;
}

/* Appends s (valid UTF-8) as a JSON string exactly as jansson's json_dumps
 * writes it with JSON_ENSURE_ASCII. */
static void add_json_string(struct buf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)s, *run = p;
	size_t n;
	long v;

	buf_addch(b, '"');
	while (*p) {
		if (*p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\') {
			p++;
			continue;
		}
		buf_add(b, run, (size_t)(p - run));
		v = utf8_next(p, &n);
		p += n;
		switch (v) {
		case '\\':
			buf_adds(b, "\\\\");
			break;
		case '"':
			buf_adds(b, "\\\"");
			break;
		case '\b':
			buf_adds(b, "\\b");
			break;
		case '\f':
			buf_adds(b, "\\f");
			break;
		case '\n':
			buf_adds(b, "\\n");
			break;
		case '\r':
			buf_adds(b, "\\r");
			break;
		case '\t':
			buf_adds(b, "\\t");
			break;
		default:
			if (v < 0x10000) {
				buf_addf(b, "\\u%04X", (unsigned)v);
			} else {
				v -= 0x10000;
				buf_addf(b, "\\u%04X\\u%04X",
					 (unsigned)(0xD800 | ((v & 0xFFC00) >> 10)),
					 (unsigned)(0xDC00 | (v & 0x3FF)));
			}
		}
		run = p;
	}
	buf_add(b, run, (size_t)(p - run));
	buf_addch(b, '"');
}

/* Appends "key": after a comma unless it is the first of its object. */
static void add_json_key(struct buf *b, const char *key)
{
	buf_adds(b, b->len && b->data[b->len - 1] != '{' ? ",\"" : "\"");
	buf_adds(b, key);
	buf_adds(b, "\":");
}

static void add_json_field(struct buf *b, const char *key, const char *value)
{
	add_json_key(b, key);
	add_json_string(b, value);
}

/* Appends "key":n (a printf per number was most of an event's cost). */
static void add_json_int(struct buf *b, const char *key, long long n)
{
	char digits[24], *p = digits + sizeof(digits);
	unsigned long long u = n < 0 ? 0 - (unsigned long long)n : (unsigned long long)n;

	*--p = '\0';
	do
		*--p = (char)('0' + u % 10);
	while (u /= 10);
	if (n < 0)
		*--p = '-';
	add_json_key(b, key);
	buf_adds(b, p);
}

/*
 * The event's JSON, written directly (a jansson tree built and dumped per
 * event cost more than the rest of the event): byte for byte what
 * json_dumps(JSON_COMPACT | JSON_ENSURE_ASCII) gives for the object
 * {seq, ts, time, type, line, counts{...}, error_code?, net{...}} in that
 * order. A line or unit that is not UTF-8 gives the short form without
 * counts, as json_pack refusing it did; an error code that is not UTF-8 is
 * left out. tests/unit/test_runlog.c compares it with jansson's.
 */
static char *event_json(const struct event *e, const struct run_counts *c, const char *error_code)
{
	char hms[16], iso[32];
	const char *unit = c->unit ? c->unit : "";
	struct buf b;

	timeutil_hms(e->ts_ms, hms, sizeof(hms));
	timeutil_iso(e->ts_ms, iso, sizeof(iso));
	buf_init(&b, 0);
	buf_adds(&b, "{");
	add_json_int(&b, "seq", e->seq);
	add_json_field(&b, "ts", iso);
	add_json_field(&b, "time", hms);
	add_json_field(&b, "type", event_type_name(e->type));
	if (utf8_valid(e->line) && utf8_valid(unit)) {
		add_json_field(&b, "line", e->line);
		buf_adds(&b, ",\"counts\":{");
		add_json_int(&b, "fetched", c->fetched);
		add_json_int(&b, "stored", c->stored);
		add_json_int(&b, "failed", c->failed);
		add_json_int(&b, "current", c->current);
		add_json_int(&b, "total", c->total);
		add_json_field(&b, "unit", unit);
		buf_adds(&b, "}");
	} else {
		add_json_field(&b, "line", "(log line was not valid UTF-8)");
	}
	if (error_code && utf8_valid(error_code))
		add_json_field(&b, "error_code", error_code);
	buf_adds(&b, ",\"net\":{");
	add_json_int(&b, "calls", c->calls);
	add_json_int(&b, "throttled", c->throttled);
	add_json_int(&b, "latency_ms", c->latency_ms);
	buf_adds(&b, "}}");
	return buf_detach(&b, NULL);
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
