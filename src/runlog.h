/*
 * A run's log: the ordered events that the terminal shows, with a sequence
 * number each, kept in memory (the newest RUNLOG_KEEP of them) for live
 * subscribers, and handed in batches to whoever persists them in the store
 * (sync_events). Thread-safe: one run thread emits, any number of readers
 * wait for events after a sequence number. A slow reader never slows the
 * emitter: it reads at its own pace and, if it falls behind what memory
 * keeps, reads the older events from the store.
 */
#ifndef RUNLOG_H
#define RUNLOG_H

#include <stdarg.h>
#include <stddef.h>

#define RUNLOG_KEEP 4096

enum event_type {
	EVENT_START,
	EVENT_INFO,
	EVENT_REQUEST,
	EVENT_RESPONSE,
	EVENT_PROGRESS,
	EVENT_WARNING,
	EVENT_ERROR,
	EVENT_DONE,	 /* final: the run ended done (or failed: see EVENT_ERROR then final) */
	EVENT_CANCELLED, /* final */
	EVENT_FAILED,	 /* final: the run ended failed; SSE sends it as "error" */
};

/* "start", "info", ... ; EVENT_FAILED is named "error" on the wire. */
const char *event_type_name(enum event_type t);
/* 1 for the types that end a run's stream. */
int event_type_final(enum event_type t);

struct run_counts {
	long long fetched;
	long long stored;
	long long failed;
	long long current; /* page or SKU number reached */
	long long total;   /* pages or SKUs in all, 0 while unknown */
	const char *unit;  /* "page" or "sku"; static */
	/* eBay's answers so far (every attempt), how many were 429, and their
	 * summed duration: the page's live chart of calls a second, 429s and
	 * latency (docs/web.md) works these out from two progress events. */
	long long calls, throttled, latency_ms;
};

struct event {
	long long seq; /* 1-based, no gaps */
	enum event_type type;
	long long ts_ms; /* wall clock */
	char *line;	 /* the document's log line, without [HH:MM:SS] */
	char *data;	 /* JSON object text: {"ts","type","line","counts":{...}},
			    and "error_code" in a failed run's final event */
};

void event_release(struct event *e);

struct runlog;

/* A log for run_id (copied). Free with runlog_free(). */
struct runlog *runlog_new(const char *run_id);
void runlog_free(struct runlog *l);

/* Appends an event; returns its seq. The line is printf-formatted. */
long long runlog_emit(struct runlog *l, enum event_type t, const struct run_counts *c,
		      const char *fmt, ...) __attribute__((format(printf, 4, 5)));
long long runlog_vemit(struct runlog *l, enum event_type t, const struct run_counts *c,
		       const char *fmt, va_list ap);
/* Appends the final EVENT_FAILED event, whose data carries error_code
 * (error_code_name() of what ended the run) for programs; returns its seq. */
long long runlog_emit_failed(struct runlog *l, const struct run_counts *c, const char *error_code,
			     const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Called (under the log's lock, keep it short) for every event emitted:
 * the CLI prints from here. */
typedef void (*runlog_sink_fn)(void *ctx, const struct event *e);
void runlog_set_sink(struct runlog *l, runlog_sink_fn fn, void *ctx);

/*
 * Waits up to timeout_ms for events with seq > after_seq, then copies up to
 * max of them into out (the caller releases each with event_release).
 * Returns the number copied. *oldest receives the oldest seq still in
 * memory (events before it must be read from the store); *finished is set
 * to 1 once the final event has been emitted.
 */
size_t runlog_read(struct runlog *l, long long after_seq, int timeout_ms, struct event *out,
		   size_t max, long long *oldest, int *finished);

/* Events not yet handed out for persistence, oldest first, up to max;
 * marks them handed out (the caller releases them). Every event is handed
 * out exactly once, however far the persister falls behind. */
size_t runlog_take_unpersisted(struct runlog *l, struct event *out, size_t max);

/* Before the first emit: the log continues one whose events up to last_seq
 * are in the store (a run resumed from the job queue), so that its next
 * event is last_seq + 1 and readers find the earlier ones in the store. */
void runlog_continue(struct runlog *l, long long last_seq);

/* The last seq emitted (0 if none) and whether the final event was. */
long long runlog_last_seq(struct runlog *l, int *finished);

#endif
