/*
 * The simulator's HTTP server on libmicrohttpd (see sim_http.h).
 *
 * A request goes through three calls of the access handler: the first
 * creates its state, the next ones collect the body (capped), and the last
 * one answers. Before answering an API or OAuth call, the latency (and a
 * stall fault) is served by suspending the connection and queueing it in a
 * min-heap that one timer thread drains, resuming each connection when due;
 * the handler then runs again and answers. Worker threads therefore never
 * sleep, and a stalled call does not hold up any other.
 */
#include "sim_http.h"

#include <stdatomic.h>
#include <errno.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "netaddr.h"
#include "random.h"
#include "sim_analytics.h"
#include "sim_api.h"
#include "sim_control.h"
#include "timeutil.h"
#include "xalloc.h"
#include "banned.h"

#define BODY_MAX     (64 * 1024)
#define HOST_MAX     255
#define STREAM_BLOCK (32 * 1024)
#define STOP_WAIT_MS 5000

struct delay {
	long long due_us;
	struct MHD_Connection *conn;
	struct req *req;
};

struct sim_http {
	struct sim *sim;
	struct MHD_Daemon *daemon;
	char url[96];
	char host[NETADDR_TEXT_MAX]; /* for requests without a usable Host header */

	pthread_mutex_t lock; /* guards the heap, stopping and suspended */
	pthread_cond_t cond;
	pthread_t timer;
	int timer_started;
	int stopping;
	struct delay *heap;
	size_t n, cap;
	int suspended; /* suspended and not yet back in the handler */
};

enum phase {
	PHASE_NEW,     /* body being collected */
	PHASE_WAITING, /* suspended for latency or a stall */
	PHASE_ANSWER,  /* answering */
};

struct req {
	enum sim_endpoint ep;
	int allowed;
	int counted; /* in the stats' inflight */
	int too_big;
	int aborted; /* resumed because the server is stopping */
	enum phase phase;
	enum sim_fault fault;
	struct buf body;
};

/* ---- the delay heap and its timer thread ---- */

static void heap_push(struct sim_http *h, struct delay d)
{
	size_t i;

	if (h->n == h->cap) {
		h->cap = h->cap ? h->cap * 2 : 64;
		h->heap = xrealloc(h->heap, h->cap * sizeof(*h->heap));
	}
	i = h->n++;
	while (i > 0 && h->heap[(i - 1) / 2].due_us > d.due_us) {
		h->heap[i] = h->heap[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	h->heap[i] = d;
}

static struct delay heap_pop(struct sim_http *h)
{
	struct delay top = h->heap[0], last = h->heap[--h->n];
	size_t i = 0;

	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= h->n)
			break;
		if (c + 1 < h->n && h->heap[c + 1].due_us < h->heap[c].due_us)
			c++;
		if (last.due_us <= h->heap[c].due_us)
			break;
		h->heap[i] = h->heap[c];
		i = c;
	}
	if (h->n)
		h->heap[i] = last;
	return top;
}

static void *timer_main(void *arg)
{
	struct sim_http *h = arg;

	pthread_mutex_lock(&h->lock);
	for (;;) {
		long long now = timeutil_mono_us();

		if (h->n && (h->stopping || h->heap[0].due_us <= now)) {
			struct delay d = heap_pop(h);
			d.req->aborted = h->stopping;
			/* Resume outside our lock: MHD takes its own. */
			pthread_mutex_unlock(&h->lock);
			MHD_resume_connection(d.conn);
			pthread_mutex_lock(&h->lock);
			continue;
		}
		if (h->stopping)
			break;
		if (!h->n) {
			pthread_cond_wait(&h->cond, &h->lock);
		} else {
			long long due = h->heap[0].due_us;
			struct timespec ts = {due / 1000000, (due % 1000000) * 1000L};
			pthread_cond_timedwait(&h->cond, &h->lock, &ts);
		}
	}
	pthread_mutex_unlock(&h->lock);
	return NULL;
}

/* Suspends conn until due_us; -1 when the server is stopping. */
static int delay_until(struct sim_http *h, struct MHD_Connection *conn, struct req *r,
		       long long due_us)
{
	struct delay d = {due_us, conn, r};

	pthread_mutex_lock(&h->lock);
	if (h->stopping) {
		pthread_mutex_unlock(&h->lock);
		return -1;
	}
	/* Suspend before the timer can see it, so resume always follows. */
	MHD_suspend_connection(conn);
	heap_push(h, d);
	h->suspended++;
	pthread_cond_signal(&h->cond);
	pthread_mutex_unlock(&h->lock);
	return 0;
}

/* ---- per-thread random draws for latency and faults ---- */

static double unit_draw(void)
{
	static _Thread_local struct random_rng rng;
	static _Thread_local int seeded;

	if (!seeded) {
		uint64_t seed = 0;
		if (getrandom(&seed, sizeof(seed), 0) != (ssize_t)sizeof(seed))
			seed = (uint64_t)timeutil_mono_ms() ^ (uint64_t)(uintptr_t)&seed;
		random_rng_seed(&rng, seed);
		seeded = 1;
	}
	return random_rng_unit(&rng);
}

/* ---- answers ---- */

static const char *query_arg(void *ctx, const char *name)
{
	return MHD_lookup_connection_value(ctx, MHD_GET_ARGUMENT_KIND, name);
}

/* The Host header if it looks like a host[:port], else our own address. */
static const char *usable_host(struct sim_http *h, struct MHD_Connection *conn)
{
	const char *host = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Host");

	if (!host || !*host || strlen(host) > HOST_MAX)
		return h->host;
	for (const char *p = host; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || strchr(".-:[]", *p)))
			return h->host;
	return host;
}

struct cut_body {
	char *data;
	size_t len; /* bytes sent before the connection is dropped */
};

static ssize_t cut_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct cut_body *c = cls;
	size_t n;

	if (pos >= c->len)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	n = c->len - (size_t)pos < max ? c->len - (size_t)pos : max;
	memcpy(buf, c->data + pos, n);
	return (ssize_t)n;
}

static void cut_free(void *cls)
{
	struct cut_body *c = cls;

	free(c->data);
	free(c);
}

struct stream_ctx {
	sim_stream_fn fn;
	void *ctx;
	void (*free_fn)(void *ctx);
};

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct stream_ctx *s = cls;
	ssize_t n = s->fn(s->ctx, buf, max);

	if (n < 0)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	return n == 0 ? MHD_CONTENT_READER_END_OF_STREAM : n;
}

static void stream_free(void *cls)
{
	struct stream_ctx *s = cls;

	if (s->free_fn)
		s->free_fn(s->ctx);
	free(s);
}

/* Replaces the body by its first half and bytes no JSON parser accepts. */
static void malform(struct sim_reply *out)
{
	static const char junk[] = "\x01<html><body>502 Bad Gateway</body></html>";
	size_t keep = out->len / 2;
	char *body = xmalloc(keep + sizeof(junk));

	memcpy(body, out->body ? out->body : "", keep);
	memcpy(body + keep, junk, sizeof(junk));
	free(out->body);
	out->body = body;
	out->len = keep + sizeof(junk) - 1;
}

static enum MHD_Result send_reply(struct MHD_Connection *conn, struct sim_reply *out,
				  enum sim_fault fault)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	if (out->stream) {
		struct stream_ctx *s = xmalloc(sizeof(*s));
		s->fn = out->stream;
		s->ctx = out->stream_ctx;
		s->free_fn = out->stream_free;
		out->stream_free = NULL; /* the response owns it now */
		resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, STREAM_BLOCK,
							 stream_read, s, stream_free);
	} else if (fault == SIM_FAULT_TRUNCATE || out->cut) {
		struct cut_body *c = xmalloc(sizeof(*c));
		c->data = out->body;
		c->len = out->len / 2;
		resp = MHD_create_response_from_callback(out->len, STREAM_BLOCK, cut_read, c,
							 cut_free);
		out->body = NULL;
	} else {
		resp = MHD_create_response_from_buffer(
		    out->len, out->body ? out->body : xstrdup(""), MHD_RESPMEM_MUST_FREE);
		out->body = NULL;
	}
	if (!resp) {
		sim_reply_release(out);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, out->content_type);
	if (out->retry_after_s >= 0) {
		char v[24];
		snprintf(v, sizeof(v), "%lld", out->retry_after_s);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, v);
	}
	if (out->location)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, out->location);
	if (out->disposition)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_DISPOSITION,
					out->disposition);
	ret = MHD_queue_response(conn, (unsigned)out->status, resp);
	MHD_destroy_response(resp);
	sim_reply_release(out);
	return ret;
}

/* Drops the connection with a TCP reset instead of an answer. */
static enum MHD_Result reset_connection(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	struct linger lg = {1, 0};

	if (ci)
		setsockopt(ci->connect_fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	return MHD_NO;
}

/* Runs the API pipeline: gate, then the fault or the real answer. */
static enum MHD_Result answer_api(struct sim_http *h, struct MHD_Connection *conn, struct req *r,
				  const struct sim_config *cfg, const struct sim_request *rq,
				  struct sim_reply *out)
{
	struct sim *s = h->sim;
	enum sim_api_gate gate = sim_api_gate(s, cfg, rq, out);

	if (gate == SIM_API_GATE_RATE || gate == SIM_API_GATE_QUOTA) {
		atomic_fetch_add(&s->stats.throttled, 1);
		if (gate == SIM_API_GATE_QUOTA)
			atomic_fetch_add(&s->stats.quota_exceeded, 1);
	}
	if (gate != SIM_API_GATE_OK) {
		r->fault = SIM_FAULT_NONE;
		sim_stats_call(&s->stats, r->ep, out->status);
		return send_reply(conn, out, SIM_FAULT_NONE);
	}
	/* A stall was counted when it began. */
	if (r->fault != SIM_FAULT_NONE && r->fault != SIM_FAULT_STALL)
		atomic_fetch_add(&s->stats.faults[r->fault], 1);
	switch (r->fault) {
	case SIM_FAULT_RESET:
		sim_stats_call(&s->stats, r->ep, 0);
		return reset_connection(conn);
	case SIM_FAULT_500:
	case SIM_FAULT_25025:
		sim_api_fault_reply(r->fault, out);
		break;
	default:
		sim_api_serve(s, cfg, r->ep, rq, out);
		if (r->fault == SIM_FAULT_MALFORMED)
			malform(out);
		break;
	}
	sim_stats_call(&s->stats, r->ep, out->status);
	return send_reply(conn, out, r->fault);
}

static enum MHD_Result answer(struct sim_http *h, struct MHD_Connection *conn, struct req *r,
			      const char *url, const char *method, const struct sim_config *cfg)
{
	struct sim *s = h->sim;
	struct sim_reply out;
	struct sim_request rq = {
	    .method = method,
	    .path = url,
	    .arg = query_arg,
	    .arg_ctx = conn,
	    .authorization = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization"),
	    .content_type = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type"),
	    .host = usable_host(h, conn),
	    .body = buf_str(&r->body),
	    .body_len = r->body.len,
	    .now_ms = timeutil_mono_ms(),
	};
	int issued = 0;

	sim_reply_init(&out);
	if (!r->allowed) {
		sim_reply_error(&out, 405, 2004, "ACCESS", "REQUEST", "Method not allowed", NULL,
				"method", method);
	} else if (r->too_big) {
		sim_reply_error(&out, 413, 2003, "ACCESS", "REQUEST", "Request body too large",
				"The request body is over the simulator's 65536-byte limit.", NULL,
				NULL);
	} else if (SIM_EP_IS_API(r->ep)) {
		return answer_api(h, conn, r, cfg, &rq, &out);
	} else if (r->ep == SIM_EP_TOKEN) {
		sim_oauth_token(s->oauth, cfg, &rq, &out, &issued);
		if (issued)
			atomic_fetch_add(&s->stats.tokens_issued, 1);
	} else if (r->ep == SIM_EP_ANALYTICS_APP || r->ep == SIM_EP_ANALYTICS_USER) {
		sim_analytics_serve(s, cfg, r->ep == SIM_EP_ANALYTICS_USER, &rq, timeutil_wall_ms(),
				    &out);
	} else if (r->ep == SIM_EP_AUTHORIZE) {
		sim_oauth_authorize(s->oauth, cfg, &rq, &out);
	} else if (r->ep == SIM_EP_REVOKE) {
		sim_oauth_revoke(s->oauth, cfg, &rq, &out);
	} else if (r->ep == SIM_EP_CONTROL) {
		sim_control_serve(s, &rq, &out);
	} else {
		sim_reply_error(&out, 404, 2002, "ACCESS", "REQUEST", "Resource not found", NULL,
				"path", url);
	}
	sim_stats_call(&s->stats, r->ep, out.status);
	return send_reply(conn, &out, SIM_FAULT_NONE);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **req_cls)
{
	struct sim_http *h = cls;
	struct req *r = *req_cls;
	struct sim_config cfg;

	if (!r) {
		r = xcalloc(1, sizeof(*r));
		r->ep = sim_api_route(method, url, &r->allowed);
		r->fault = SIM_FAULT_NONE;
		buf_init(&r->body, BODY_MAX);
		if (SIM_EP_IS_API(r->ep)) {
			r->counted = 1;
			sim_stats_enter(&h->sim->stats);
		}
		*req_cls = r;
		return MHD_YES;
	}
	if (*upload_data_size) {
		if (buf_add(&r->body, upload_data, *upload_data_size))
			r->too_big = 1;
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (r->phase == PHASE_WAITING) {
		pthread_mutex_lock(&h->lock);
		h->suspended--;
		pthread_mutex_unlock(&h->lock);
		r->phase = PHASE_ANSWER;
		if (r->aborted)
			return MHD_NO;
	}
	sim_get_config(h->sim, &cfg);
	if (r->phase == PHASE_NEW) {
		long long delay = 0;

		r->phase = PHASE_ANSWER;
		if (r->allowed && r->ep != SIM_EP_CONTROL && r->ep != SIM_EP_REVOKE &&
		    r->ep != SIM_EP_OTHER) {
			if (cfg.latency_ms || cfg.jitter_ms)
				delay = sim_faults_latency(&cfg, unit_draw());
			if (SIM_EP_IS_API(r->ep))
				r->fault = sim_faults_pick(&cfg, unit_draw());
			if (r->fault == SIM_FAULT_STALL) {
				atomic_fetch_add(&h->sim->stats.faults[SIM_FAULT_STALL], 1);
				delay += cfg.stall_ms;
			}
		}
		if (delay > 0) {
			/* In microseconds: a millisecond clock's truncation (and the
			 * +1 that kept it from answering early) added half a
			 * millisecond to every answer on average. */
			if (delay_until(h, conn, r, timeutil_mono_us() + delay * 1000))
				return MHD_NO;
			r->phase = PHASE_WAITING;
			return MHD_YES;
		}
	}
	return answer(h, conn, r, url, method, &cfg);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct sim_http *h = cls;
	struct req *r = *req_cls;

	if (!r)
		return;
	if (r->counted)
		sim_stats_leave(&h->sim->stats);
	buf_release(&r->body);
	free(r);
	*req_cls = NULL;
}

/* ---- start and stop ---- */

/* A listening socket bound to listen_spec (netaddr.h); *sa is the address
 * bound (with the port chosen for port 0). -1 with a reason in why. */
static int bind_listen(const char *listen_spec, struct sockaddr_storage *sa, struct buf *why)
{
	socklen_t len;
	int fd, one = 1;

	if (netaddr_parse(listen_spec, sa, &len, why))
		return -1;
	fd = socket(sa->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		buf_addf(why, "cannot create a socket: %s", strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)sa, len) || listen(fd, 1024) ||
	    getsockname(fd, (struct sockaddr *)sa, &len)) {
		buf_addf(why, "cannot listen on %s: %s", listen_spec, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

struct sim_http *sim_http_start(struct sim *s, struct buf *why)
{
	struct sim_http *h = xcalloc(1, sizeof(*h));
	struct sim_config cfg;
	struct sockaddr_storage sa;
	pthread_condattr_t ca;
	int fd;

	sim_get_config(s, &cfg);
	fd = bind_listen(cfg.listen, &sa, why);
	if (fd < 0) {
		free(h);
		return NULL;
	}
	netaddr_format(&sa, h->host, sizeof(h->host));
	snprintf(h->url, sizeof(h->url), "http://%s", h->host);
	h->sim = s;
	pthread_mutex_init(&h->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&h->cond, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&h->timer, NULL, timer_main, h)) {
		buf_adds(why, "cannot start the timer thread");
		close(fd);
		sim_http_stop(h);
		return NULL;
	}
	h->timer_started = 1;
	h->daemon = MHD_start_daemon(MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME |
					 MHD_USE_TURBO | MHD_USE_ERROR_LOG,
				     0, NULL, NULL, on_request, h, MHD_OPTION_LISTEN_SOCKET, fd,
				     MHD_OPTION_THREAD_POOL_SIZE, (unsigned)cfg.threads,
				     MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
				     MHD_OPTION_CONNECTION_LIMIT, (unsigned)10000,
				     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)600, MHD_OPTION_END);
	if (!h->daemon) {
		buf_addf(why, "cannot start the HTTP server on %s", h->host);
		close(fd);
		sim_http_stop(h);
		return NULL;
	}
	return h;
}

const char *sim_http_url(const struct sim_http *h)
{
	return h->url;
}

void sim_http_stop(struct sim_http *h)
{
	long long deadline = timeutil_mono_ms() + STOP_WAIT_MS;

	if (!h)
		return;
	/* Resume every delayed connection (they close), then stop MHD: it
	 * must not be stopped with connections still suspended. */
	pthread_mutex_lock(&h->lock);
	h->stopping = 1;
	pthread_cond_signal(&h->cond);
	pthread_mutex_unlock(&h->lock);
	if (h->timer_started)
		pthread_join(h->timer, NULL);
	for (;;) {
		int left;
		pthread_mutex_lock(&h->lock);
		left = h->suspended;
		pthread_mutex_unlock(&h->lock);
		if (!left || timeutil_mono_ms() > deadline)
			break;
		timeutil_sleep_ms(5);
	}
	if (h->daemon)
		MHD_stop_daemon(h->daemon);
	pthread_cond_destroy(&h->cond);
	pthread_mutex_destroy(&h->lock);
	free(h->heap);
	free(h);
}
