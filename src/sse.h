/*
 * A run's log as Server-Sent Events (GET /ebay/sync/events/{run_id}).
 *
 * Each event goes out as
 *
 *     id: <seq>
 *     event: <type>
 *     data: <the event's JSON, as the run's log made it>
 *
 * in order, from the first sequence number after the client's Last-Event-ID
 * (header, or ?last_event_id=) with no gap and no repeat: events still in
 * the run's memory (struct runlog) come from there, older ones from the
 * store's sync_events. A run that is not executing in this process (it
 * finished, or another ebaysync serve on the same PostgreSQL database runs
 * it) is followed by polling the store. A ": keepalive" comment goes out
 * after every quiet heartbeat interval, and the stream ends after the run's
 * final event (or, for a run that ended without one, after "event: end").
 *
 * Streams never hold a thread while they wait: the content reader suspends
 * its connection (libmicrohttpd suspend/resume) when it has nothing to send,
 * and one hub thread resumes the connections whose run has emitted, whose
 * poll or heartbeat is due. A slow client costs a bounded buffer (at most
 * SSE_OUT_MAX bytes are formatted ahead of what it has read); the run never
 * waits for it.
 */
#ifndef SSE_H
#define SSE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "buf.h"
#include "error.h"

#define SSE_HEARTBEAT_MS  15000 /* default keepalive interval */
#define SSE_POLL_MS	  500	/* store polling interval for runs elsewhere */
#define SSE_BATCH	  64	/* events formatted per read */
#define SSE_OUT_MAX	  65536 /* bytes formatted ahead of the client */
#define SSE_COALESCE_MS	  10	/* pause after resuming streams, to batch events */
#define SSE_RETRY_MS	  2000	/* the reconnect delay suggested to browsers */
#define SSE_END_GRACE_MS  3000	/* wait for a final event after a run's row ended */
#define SSE_USER_MAX	  128	/* default cap on one user's open streams */
#define SSE_TOTAL_MAX	  2048	/* default cap on all open streams */
#define SSE_RETRY_AFTER_S "5"	/* Retry-After of a stream refused by a cap */

struct MHD_Connection;
struct runs_entry;
struct storepool;
struct sse_hub;
struct sse_stream;

/* ---- framing ------------------------------------------------------------- */

/*
 * Appends one event. A data text holding line breaks is split over several
 * "data:" lines (the client joins them with "\n"); CR and CRLF count as
 * breaks. type must be a bare word: anything else is ERR_INVALID.
 */
enum error sse_format_event(struct buf *out, long long seq, const char *type, const char *data);
/* Appends a comment line (": text"), text without line breaks. */
enum error sse_format_comment(struct buf *out, const char *text);

/* ---- the hub ------------------------------------------------------------- */

/* A hub over pool (not owned); heartbeat_ms and poll_ms 0: the defaults. */
struct sse_hub *sse_hub_new(struct storepool *pool, long long heartbeat_ms, long long poll_ms);
/* Frees the hub; every stream must be gone (after the HTTP server stopped). */
void sse_hub_free(struct sse_hub *h);
/* Caps the streams open at once: per_user for one user, total for all
 * (0: no cap). Until called, SSE_USER_MAX and SSE_TOTAL_MAX. */
void sse_hub_set_limits(struct sse_hub *h, size_t per_user, size_t total);
/* A run emitted an event: wakes the hub. Cheap; callable from any thread. */
void sse_hub_notify(void *hub);
/* Waits up to timeout_ms for every stream to end by itself. 1 if they did. */
int sse_hub_drain(struct sse_hub *h, long long timeout_ms);
/* Ends every stream now and refuses new ones; call before stopping the
 * HTTP server, which must not stop with suspended connections. */
void sse_hub_shutdown(struct sse_hub *h);

/* ---- streams ------------------------------------------------------------- */

/*
 * A stream of run_id for user from after_seq on. local: the run's registry
 * entry when it lives in this process (the stream takes over the
 * reference), or NULL to follow the store. Attach the connection with
 * sse_stream_attach() before the response is queued; the response frees the
 * stream through sse_stream_free(). Returns NULL, and releases local, when
 * user or everyone is at a cap (sse_hub_set_limits): a stream holds a
 * socket for as long as a run lasts, so an unbounded number of them would
 * lock everyone else out.
 */
struct sse_stream *sse_stream_new(struct sse_hub *h, const char *user, const char *run_id,
				  struct runs_entry *local, long long after_seq);
void sse_stream_attach(struct sse_stream *s, struct MHD_Connection *c);
/* The libmicrohttpd content reader and free callbacks of a stream. */
ssize_t sse_stream_read(void *cls, uint64_t pos, char *buf, size_t max);
void sse_stream_free(void *cls);

/* Parses a Last-Event-ID ("" or absent: 0). ERR_INVALID unless a
 * non-negative decimal integer. */
enum error sse_parse_last_id(const char *text, long long *out);

#endif
