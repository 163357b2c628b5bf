/*
 * Server-Sent Events of a run's log (see sse.h).
 *
 * Locking: hub->mu guards the list of streams and each stream's suspended
 * flag; it is never held while calling into libmicrohttpd, and the only
 * other lock taken under it is a runlog's (to read its last seq). The wake
 * flag has its own leaf mutex because run threads set it while holding
 * their runlog's lock. A stream's other fields belong to whichever thread
 * runs its content reader: libmicrohttpd never runs two callbacks of one
 * connection at once, and never runs any while the connection is suspended.
 */
#include "sse.h"

#include <errno.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "metrics.h"
#include "runlog.h"
#include "runs.h"
#include "store.h"
#include "storepool.h"
#include "timeutil.h"
#include "xalloc.h"
#include "banned.h"

struct sse_stream {
	struct sse_hub *hub;
	struct MHD_Connection *conn;
	char *run_id, *user;
	struct runs_entry *local;
	long long last_seq; /* last seq sent (or the client's Last-Event-ID) */
	struct buf out;	    /* formatted, not yet handed to MHD */
	size_t off;
	int ended;	       /* nothing more will come: end once out is sent */
	int final_seen;	       /* a final event was sent */
	long long quiet_since; /* mono ms: the row said ended and no event came since */
	int suspended;	       /* under hub->mu */
	long long last_write;  /* mono ms */
	long long retry_at;    /* mono ms: wake for the store then; 0: on events */
	struct sse_stream *prev, *next;
};

struct sse_hub {
	pthread_mutex_t mu;
	struct sse_stream *head;
	size_t count;
	int stopping;	     /* under mu */
	pthread_cond_t gone; /* signalled when a stream leaves */

	pthread_mutex_t wake_mu;
	pthread_cond_t wake;
	int woken;

	pthread_t thread;
	struct storepool *pool;
	long long heartbeat_ms, poll_ms;
	size_t user_max, total_max; /* under mu; 0: no cap */
};

/* ---- framing ------------------------------------------------------------- */

enum error sse_format_event(struct buf *out, long long seq, const char *type, const char *data)
{
	const char *p = data ? data : "{}", *brk;
	size_t i;
	enum error err;

	if (!*type)
		return ERR_INVALID;
	for (i = 0; type[i]; i++)
		if (!((type[i] >= 'a' && type[i] <= 'z') || (type[i] >= 'A' && type[i] <= 'Z') ||
		      (type[i] >= '0' && type[i] <= '9') || type[i] == '_' || type[i] == '-'))
			return ERR_INVALID;
	err = buf_addf(out, "id: %lld\nevent: %s\n", seq, type);
	for (;;) {
		brk = p + strcspn(p, "\r\n");
		if (!err)
			err = buf_adds(out, "data: ");
		if (!err)
			err = buf_add(out, p, (size_t)(brk - p));
		if (!err)
			err = buf_addch(out, '\n');
		if (!*brk)
			break;
		p = brk + (brk[0] == '\r' && brk[1] == '\n' ? 2 : 1);
	}
	if (!err)
		err = buf_addch(out, '\n');
	return err;
}

enum error sse_format_comment(struct buf *out, const char *text)
{
	if (strpbrk(text, "\r\n"))
		return ERR_INVALID;
	return buf_addf(out, ": %s\n\n", text);
}

enum error sse_parse_last_id(const char *text, long long *out)
{
	char *end;
	long long n;

	*out = 0;
	if (!text || !*text)
		return ERR_OK;
	if (text[0] < '0' || text[0] > '9')
		return ERR_INVALID;
	errno = 0;
	n = strtoll(text, &end, 10);
	if (errno || *end)
		return ERR_INVALID;
	*out = n;
	return ERR_OK;
}

/* ---- the hub ------------------------------------------------------------- */

static int stream_ready(const struct sse_hub *h, struct sse_stream *s, long long now)
{
	int finished = 0;

	if (now - s->last_write >= h->heartbeat_ms)
		return 1;
	if (s->retry_at)
		return now >= s->retry_at;
	if (s->local)
		return runlog_last_seq(runs_entry_log(s->local), &finished) > s->last_seq ||
		       finished;
	return 1;
}

static long long stream_deadline(const struct sse_hub *h, const struct sse_stream *s)
{
	long long d = s->last_write + h->heartbeat_ms;

	return s->retry_at && s->retry_at < d ? s->retry_at : d;
}

static void *hub_main(void *arg)
{
	struct sse_hub *h = arg;
	struct MHD_Connection **resume = NULL;
	size_t cap = 0;

	for (;;) {
		long long now, next;
		struct sse_stream *s;
		size_t n = 0, i;
		int stopping;

		now = timeutil_mono_ms();
		next = now + 1000;
		pthread_mutex_lock(&h->mu);
		stopping = h->stopping;
		if (cap < h->count) {
			cap = h->count + 64;
			resume = xrealloc(resume, cap * sizeof(*resume));
		}
		for (s = h->head; s; s = s->next) {
			if (!s->suspended)
				continue;
			if (stopping || stream_ready(h, s, now)) {
				s->suspended = 0;
				resume[n++] = s->conn;
			} else if (stream_deadline(h, s) < next) {
				next = stream_deadline(h, s);
			}
		}
		pthread_mutex_unlock(&h->mu);
		/* Outside the lock: a suspended connection cannot go away
		 * until it is resumed, so these pointers stay valid. */
		for (i = 0; i < n; i++)
			MHD_resume_connection(resume[i]);
		if (stopping)
			break;
		/* Events come in bursts (a page, a batch of SKUs): resuming a
		 * stream per event would cost a wake-up and a send per event
		 * per subscriber. A short pause lets each resume carry a batch. */
		if (n > 0)
			timeutil_sleep_ms(SSE_COALESCE_MS);

		pthread_mutex_lock(&h->wake_mu);
		if (!h->woken && next > now) {
			long long until = timeutil_wall_ms() + (next - now);
			struct timespec ts = {(time_t)(until / 1000),
					      (long)(until % 1000) * 1000000L};
			pthread_cond_timedwait(&h->wake, &h->wake_mu, &ts);
		}
		h->woken = 0;
		pthread_mutex_unlock(&h->wake_mu);
	}
	free(resume);
	return NULL;
}

struct sse_hub *sse_hub_new(struct storepool *pool, long long heartbeat_ms, long long poll_ms)
{
	struct sse_hub *h = xcalloc(1, sizeof(*h));

	pthread_mutex_init(&h->mu, NULL);
	pthread_cond_init(&h->gone, NULL);
	pthread_mutex_init(&h->wake_mu, NULL);
	pthread_cond_init(&h->wake, NULL);
	h->pool = pool;
	h->user_max = SSE_USER_MAX;
	h->total_max = SSE_TOTAL_MAX;
	h->heartbeat_ms = heartbeat_ms > 0 ? heartbeat_ms : SSE_HEARTBEAT_MS;
	h->poll_ms = poll_ms > 0 ? poll_ms : SSE_POLL_MS;
	if (pthread_create(&h->thread, NULL, hub_main, h))
		abort();
	return h;
}

void sse_hub_set_limits(struct sse_hub *h, size_t per_user, size_t total)
{
	pthread_mutex_lock(&h->mu);
	h->user_max = per_user;
	h->total_max = total;
	pthread_mutex_unlock(&h->mu);
}

void sse_hub_notify(void *hub)
{
	struct sse_hub *h = hub;

	pthread_mutex_lock(&h->wake_mu);
	h->woken = 1;
	pthread_cond_signal(&h->wake);
	pthread_mutex_unlock(&h->wake_mu);
}

int sse_hub_drain(struct sse_hub *h, long long timeout_ms)
{
	long long until = timeutil_wall_ms() + timeout_ms;
	struct timespec ts = {(time_t)(until / 1000), (long)(until % 1000) * 1000000L};
	int empty;

	pthread_mutex_lock(&h->mu);
	while (h->count > 0)
		if (pthread_cond_timedwait(&h->gone, &h->mu, &ts) == ETIMEDOUT)
			break;
	empty = h->count == 0;
	pthread_mutex_unlock(&h->mu);
	return empty;
}

void sse_hub_shutdown(struct sse_hub *h)
{
	pthread_mutex_lock(&h->mu);
	if (h->stopping) {
		pthread_mutex_unlock(&h->mu);
		return;
	}
	h->stopping = 1;
	pthread_mutex_unlock(&h->mu);
	sse_hub_notify(h);
	/* The hub's last pass resumes every suspended stream; once stopping
	 * is set no reader suspends again (see suspend()). */
	pthread_join(h->thread, NULL);
}

void sse_hub_free(struct sse_hub *h)
{
	if (!h)
		return;
	sse_hub_shutdown(h);
	pthread_mutex_destroy(&h->mu);
	pthread_cond_destroy(&h->gone);
	pthread_mutex_destroy(&h->wake_mu);
	pthread_cond_destroy(&h->wake);
	free(h);
}

/* ---- streams ------------------------------------------------------------- */

struct sse_stream *sse_stream_new(struct sse_hub *h, const char *user, const char *run_id,
				  struct runs_entry *local, long long after_seq)
{
	struct sse_stream *s, *o;
	size_t mine = 0;

	pthread_mutex_lock(&h->mu);
	/* A walk over at most total_max streams, once per new stream. */
	for (o = h->head; h->user_max && o; o = o->next)
		mine += !strcmp(o->user, user);
	if ((h->total_max && h->count >= h->total_max) || (h->user_max && mine >= h->user_max)) {
		pthread_mutex_unlock(&h->mu);
		runs_entry_release(local);
		return NULL;
	}
	s = xcalloc(1, sizeof(*s));
	s->hub = h;
	s->user = xstrdup(user);
	s->run_id = xstrdup(run_id);
	s->local = local;
	s->last_seq = after_seq;
	s->last_write = timeutil_mono_ms();
	buf_init(&s->out, 0);
	buf_addf(&s->out, "retry: %d\n\n", SSE_RETRY_MS);
	s->next = h->head;
	if (h->head)
		h->head->prev = s;
	h->head = s;
	h->count++;
	if (h->stopping)
		s->ended = 1;
	pthread_mutex_unlock(&h->mu);
	metrics_add(METRIC_SSE_CLIENTS, 1);
	return s;
}

void sse_stream_attach(struct sse_stream *s, struct MHD_Connection *c)
{
	s->conn = c;
}

void sse_stream_free(void *cls)
{
	struct sse_stream *s = cls;
	struct sse_hub *h = s->hub;

	pthread_mutex_lock(&h->mu);
	if (s->prev)
		s->prev->next = s->next;
	else
		h->head = s->next;
	if (s->next)
		s->next->prev = s->prev;
	h->count--;
	pthread_cond_broadcast(&h->gone);
	pthread_mutex_unlock(&h->mu);
	metrics_add(METRIC_SSE_CLIENTS, -1);
	runs_entry_release(s->local);
	buf_release(&s->out);
	free(s->run_id);
	free(s->user);
	free(s);
}

static int type_is_final(const char *type)
{
	return !strcmp(type, "done") || !strcmp(type, "cancelled");
}

/* Formats store rows that continue the stream; returns how many. */
static size_t take_rows(struct sse_stream *s, struct event_row *rows, size_t n)
{
	size_t i, used = 0;

	for (i = 0; i < n; i++) {
		if (rows[i].seq == s->last_seq + 1 && s->out.len < SSE_OUT_MAX &&
		    sse_format_event(&s->out, rows[i].seq, rows[i].type, rows[i].data) == ERR_OK) {
			s->last_seq = rows[i].seq;
			s->final_seen |= type_is_final(rows[i].type);
			used++;
		}
		event_row_release(&rows[i]);
	}
	free(rows);
	return used;
}

/*
 * Reads events after last_seq from the store. For a run followed through
 * the store (local NULL), when none is new and the run's row says it has
 * ended, the stream ends. Returns the number of events formatted.
 */
static size_t fill_from_store(struct sse_stream *s, long long limit)
{
	struct sse_hub *h = s->hub;
	struct buf why = BUF_INIT;
	struct store *st = storepool_get(h->pool, &why);
	struct event_row *rows = NULL;
	struct run_row row;
	size_t n = 0, used = 0;
	long long now = timeutil_mono_ms();
	enum error err;

	buf_release(&why);
	if (!st)
		return 0;
	err = store_events_list(st, s->run_id, s->last_seq, limit, &rows, &n);
	if (!err)
		used = take_rows(s, rows, n);
	if (used)
		s->quiet_since = 0;
	if (!err && !used && !s->local) {
		memset(&row, 0, sizeof(row));
		err = store_run_get(st, s->user, s->run_id, &row);
		if (err == ERR_NOTFOUND) {
			s->ended = 1;
		} else if (!err && !store_run_active(row.status)) {
			/* The engine records the final status just before it
			 * writes the final event: give the last events a moment
			 * to land before ending without one. */
			if (!s->quiet_since)
				s->quiet_since = now;
			if (s->final_seen || now - s->quiet_since >= SSE_END_GRACE_MS) {
				s->ended = 1;
				if (!s->final_seen)
					buf_addf(&s->out,
						 "event: end\ndata: "
						 "{\"run_id\":\"%s\",\"status\":\"%s\"}"
						 "\n\n",
						 s->run_id, row.status);
			}
		}
		run_row_release(&row);
	}
	storepool_put(h->pool, st, err == ERR_DB);
	return used;
}

/* Formats what the run's memory holds after last_seq, falling back on the
 * store for what memory no longer keeps. */
static void fill_from_log(struct sse_stream *s)
{
	struct runlog *l = runs_entry_log(s->local);
	struct event ev[SSE_BATCH];
	long long oldest = 0;
	int finished = 0;
	size_t n, i;

	n = runlog_read(l, s->last_seq, 0, ev, SSE_BATCH, &oldest, &finished);
	if (n > 0 && ev[0].seq > s->last_seq + 1) {
		/* Memory has moved past us: the gap is in the store. */
		for (i = 0; i < n; i++)
			event_release(&ev[i]);
		if (fill_from_store(s, ev[0].seq - s->last_seq - 1 < SSE_BATCH
					   ? ev[0].seq - s->last_seq - 1
					   : SSE_BATCH) == 0)
			s->retry_at = timeutil_mono_ms() + 100; /* not persisted yet */
		return;
	}
	for (i = 0; i < n; i++) {
		if (ev[i].seq == s->last_seq + 1 && s->out.len < SSE_OUT_MAX &&
		    sse_format_event(&s->out, ev[i].seq, event_type_name(ev[i].type), ev[i].data) ==
			ERR_OK) {
			s->last_seq = ev[i].seq;
			if (event_type_final(ev[i].type)) {
				s->final_seen = 1;
				s->ended = 1;
			}
		}
		event_release(&ev[i]);
	}
	if (n == 0 && finished)
		s->ended = 1;
}

static void fill(struct sse_stream *s)
{
	long long now = timeutil_mono_ms();

	if (s->retry_at && now < s->retry_at)
		return;
	s->retry_at = 0;
	if (s->local) {
		fill_from_log(s);
		return;
	}
	if (s->final_seen) {
		s->ended = 1;
		return;
	}
	if (fill_from_store(s, SSE_BATCH) == 0 && !s->ended)
		s->retry_at = now + s->hub->poll_ms;
}

/* Parks the connection until the hub resumes it. Returns 0 (try again). */
static ssize_t suspend(struct sse_stream *s)
{
	struct sse_hub *h = s->hub;

	MHD_suspend_connection(s->conn);
	pthread_mutex_lock(&h->mu);
	if (h->stopping) {
		pthread_mutex_unlock(&h->mu);
		MHD_resume_connection(s->conn);
		return 0;
	}
	s->suspended = 1;
	pthread_mutex_unlock(&h->mu);
	return 0;
}

static int hub_stopping(struct sse_hub *h)
{
	int stopping;

	pthread_mutex_lock(&h->mu);
	stopping = h->stopping;
	pthread_mutex_unlock(&h->mu);
	return stopping;
}

ssize_t sse_stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct sse_stream *s = cls;
	size_t n;

	if (s->off == s->out.len) {
		buf_reset(&s->out);
		s->off = 0;
		if (s->ended || hub_stopping(s->hub))
			return MHD_CONTENT_READER_END_OF_STREAM;
		fill(s);
		if (s->out.len == 0 && !s->ended &&
		    timeutil_mono_ms() - s->last_write >= s->hub->heartbeat_ms)
			sse_format_comment(&s->out, "keepalive");
		if (s->out.len == 0)
			return s->ended ? MHD_CONTENT_READER_END_OF_STREAM : suspend(s);
	}
	n = s->out.len - s->off < max ? s->out.len - s->off : max;
	memcpy(buf, s->out.data + s->off, n);
	s->off += n;
	s->last_write = timeutil_mono_ms();
	return (ssize_t)n;
}
