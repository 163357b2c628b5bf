/*
 * The run's database writer: a thread with its own store connection that
 * takes batches of rows from a bounded queue and writes each in one
 * transaction (store_write_batch), so fetching never waits on storage and
 * storage never waits on fetching, except when the queue is full
 * (backpressure). It also persists the run's log (sync_events) between
 * batches and at least every WRITER_EVENT_FLUSH_MS.
 */
#ifndef WRITER_H
#define WRITER_H

#include <stddef.h>

#include "error.h"
#include "mapping.h"
#include "runlog.h"

#define WRITER_QUEUE_MAX      16 /* batches waiting before submit blocks */
#define WRITER_EVENT_FLUSH_MS 200

struct store;
struct writer;

/* Called on the writer thread after a batch committed: how many rows, how
 * long the transaction took, and the tag given at submit. */
typedef void (*writer_done_fn)(void *ctx, size_t n_items, size_t n_offers, long long ms,
			       long long tag);

/*
 * Opens a store connection on db_url and starts the thread. log may be NULL
 * (no event persistence). On failure returns an error with a message in
 * errmsg. Free with writer_finish().
 */
enum error writer_start(const char *db_url, const char *user_id, const char *run_id,
			struct runlog *log, writer_done_fn done, void *done_ctx,
			struct writer **out, struct buf *errmsg);

/*
 * Queues a batch; takes ownership of both arrays and their rows (freed after
 * the write, whatever happens). Blocks while the queue is full. Returns the
 * writer's first error (then the batch is freed unwritten).
 */
enum error writer_submit(struct writer *w, struct item_row *items, size_t n_items,
			 struct offer_row *offers, size_t n_offers, long long tag);

/* Called on the writer thread about every `every_ms` with the writer's own
 * connection, whatever the run thread is doing: the run's heartbeat, which
 * must not stop while the run waits on a slow eBay request. */
typedef void (*writer_tick_fn)(void *ctx, struct store *s);
void writer_set_tick(struct writer *w, writer_tick_fn fn, void *ctx, long long every_ms);

/* Waits until every queued batch is written. Returns the first error. */
enum error writer_flush(struct writer *w);

/* The first error so far (ERR_OK if none), with its message. Thread-safe. */
enum error writer_error(struct writer *w, const char **msg);

/* Appends the log's events not yet persisted to sync_events through s, in
 * order; events taken and refused by the store are lost to it (the error
 * says so). Used by the writer thread and, for the last events, by the run. */
enum error writer_persist_log(struct store *s, const char *run_id, struct runlog *log);

/* Writes what is queued, persists the remaining events, stops the thread,
 * closes the connection and frees w. Returns the first error. The message
 * (if any) is copied into errmsg. */
enum error writer_finish(struct writer *w, struct buf *errmsg);

#endif
