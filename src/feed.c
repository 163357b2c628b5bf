/*
 * The Feed API client (see feed.h). Each call is one blocking libcurl easy
 * transfer in a retry loop: the pacer's token first, the access token from
 * the token source, then the transfer; a 429, a 5xx or a transport failure
 * is retried after a full-jitter backoff (or Retry-After), a refused token
 * once after asking the source for a fresh one. A POST that eBay may have
 * received is not retried: a second task would count against the daily
 * cap. Waits sleep in short steps so that feed_cancel() is seen soon.
 *
 * The download goes straight to an unlinked temporary file with a byte cap,
 * and is then read through once by report.c: the caller only ever gets a
 * file that read to its end (docs/feed.md).
 */
#include "feed.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "backoff.h"
#include "ledger.h"
#include "pacer.h"
#include "timeutil.h"
#include "xalloc.h"
#include "banned.h"

#define FEED_PATH	   "/sell/feed/v1"
#define FEED_REPORT_TYPE   "LMS_ACTIVE_INVENTORY_REPORT"
#define FEED_USER_AGENT	   "ebaysync/0.1"
#define FEED_BODY_MAX	   (1024 * 1024) /* a JSON answer or an error body */
#define FEED_TASK_ID_MAX   128
#define FEED_SLEEP_STEP_MS 50

/* eBay errorIds that mean "this token is no good" (as in ebay.c). */
#define FEED_ERR_INVALID_TOKEN		  1001
#define FEED_ERR_INSUFFICIENT_PERMISSIONS 1100

struct feed_client {
	struct feed_config cfg; /* defaults applied; strings point to the copies below */
	char *api_base, *marketplace_id, *tmp_dir, *user;
	struct pacer *pacer;
	ebay_token_fn token_fn;
	void *token_ctx;
	ebay_log_fn log_fn;
	void *log_ctx;
	CURL *easy;
	struct random_rng rng;
	atomic_int cancelled;
	long last_status;
	long last_error_id;
};

/* One call: what to send and what came back. */
struct call {
	const char *what; /* "create_task", "get_task", "download": log events */
	const char *label;
	char *url;
	const char *post; /* a JSON body to POST, or NULL for a GET */
	int fd;		  /* the download's file, or -1: the body goes to body */
	long long timeout_ms;

	struct buf body; /* a JSON answer, or the error body of a download */
	char location[2048];
	char retry_after[64];
	long long written; /* bytes written to fd */
	long long cap;	   /* ... at most */
	int toobig;
	int write_error;
	int sent; /* the request may have reached eBay */
};

const char *feed_status_name(enum feed_status s)
{
	static const char *const names[] = {
	    "CREATED", "QUEUED", "IN_PROCESS", "COMPLETED", "COMPLETED_WITH_ERROR", "FAILED"};

	return s >= FEED_CREATED && s <= FEED_FAILED ? names[s] : "UNKNOWN";
}

static int parse_status(const char *s, enum feed_status *out)
{
	for (int i = FEED_CREATED; i <= FEED_FAILED; i++) {
		if (s && !strcmp(s, feed_status_name((enum feed_status)i))) {
			*out = (enum feed_status)i;
			return 0;
		}
	}
	return -1;
}

struct feed_client *feed_client_new(const struct feed_config *cfg, struct pacer *pacer,
				    ebay_token_fn token, void *token_ctx, ebay_log_fn log,
				    void *log_ctx)
{
	struct feed_client *c = xcalloc(1, sizeof(*c));
	const char *tmp = cfg->tmp_dir ? cfg->tmp_dir : getenv("TMPDIR");
	struct feed_config *d = &c->cfg;

	*d = *cfg;
	c->api_base = xstrdup(cfg->api_base ? cfg->api_base : EBAY_API_PRODUCTION);
	c->marketplace_id = xstrdup(cfg->marketplace_id ? cfg->marketplace_id : "EBAY_US");
	c->tmp_dir = xstrdup(tmp && *tmp ? tmp : "/tmp");
	d->api_base = c->api_base;
	d->marketplace_id = c->marketplace_id;
	d->tmp_dir = c->tmp_dir;
	c->user = xstrdup(cfg->user ? cfg->user : "");
	d->user = c->user;
	if (d->connect_timeout_ms <= 0)
		d->connect_timeout_ms = 10000;
	if (d->request_timeout_ms <= 0)
		d->request_timeout_ms = 60000;
	if (d->download_timeout_ms <= 0)
		d->download_timeout_ms = 1800000;
	if (d->max_file <= 0)
		d->max_file = 2LL * 1024 * 1024 * 1024;
	if (d->max_attempts <= 0)
		d->max_attempts = 5;
	if (d->backoff_base_ms <= 0)
		d->backoff_base_ms = 500;
	if (d->backoff_max_ms < d->backoff_base_ms)
		d->backoff_max_ms = d->backoff_base_ms > 30000 ? d->backoff_base_ms : 30000;
	if (d->poll_first_ms <= 0)
		d->poll_first_ms = 2000;
	if (d->poll_max_ms < d->poll_first_ms)
		d->poll_max_ms = d->poll_first_ms > 60000 ? d->poll_first_ms : 60000;
	if (d->deadline_ms <= 0)
		d->deadline_ms = 3600000;
	c->pacer = pacer;
	c->token_fn = token;
	c->token_ctx = token_ctx;
	c->log_fn = log;
	c->log_ctx = log_ctx;
	random_rng_seed(&c->rng, (uint64_t)timeutil_wall_ms() ^ (uint64_t)(uintptr_t)c);
	c->easy = curl_easy_init();
	if (!c->easy) {
		fprintf(stderr, "fatal: cannot create a curl handle\n");
		abort();
	}
	return c;
}

void feed_client_free(struct feed_client *c)
{
	if (!c)
		return;
	curl_easy_cleanup(c->easy);
	free(c->api_base);
	free(c->marketplace_id);
	free(c->user);
	free(c->tmp_dir);
	free(c);
}

void feed_cancel(struct feed_client *c)
{
	atomic_store(&c->cancelled, 1);
}

long feed_last_status(const struct feed_client *c)
{
	return c->last_status;
}

long feed_last_error_id(const struct feed_client *c)
{
	return c->last_error_id;
}

/* Sleeps ms in short steps; ERR_CANCELLED as soon as feed_cancel() is seen. */
static enum error nap(struct feed_client *c, long long ms)
{
	long long until = timeutil_mono_ms() + ms;

	for (;;) {
		long long left = until - timeutil_mono_ms();

		if (atomic_load(&c->cancelled))
			return ERR_CANCELLED;
		if (left <= 0)
			return ERR_OK;
		timeutil_sleep_ms(left < FEED_SLEEP_STEP_MS ? left : FEED_SLEEP_STEP_MS);
	}
}

static void log_event(struct feed_client *c, const struct call *k, const char *what, int attempt,
		      long long duration_ms, long long retry_in_ms, const char *message)
{
	struct ebay_log_entry e;
	char event[64];
	const char *path = strstr(k->url, FEED_PATH);

	if (!c->log_fn)
		return;
	snprintf(event, sizeof(event), "feed_%s_%s", k->what, what);
	memset(&e, 0, sizeof(e));
	e.event = event;
	e.kind = EBAY_REQ_OTHER;
	e.path = path ? path : k->url;
	e.label = k->label;
	e.attempt = attempt;
	e.duration_ms = duration_ms;
	e.retry_in_ms = retry_in_ms;
	if (strcmp(what, "request")) {
		e.status = c->last_status;
		e.error_id = c->last_error_id;
		e.message = message;
	}
	c->log_fn(c->log_ctx, &e);
}

/* ---- one transfer ---- */

static size_t on_body(char *data, size_t size, size_t nmemb, void *userp)
{
	struct call *k = userp;
	size_t n = size * nmemb;

	if (k->fd >= 0) {
		size_t off = 0;

		if (k->written + (long long)n > k->cap) {
			k->toobig = 1;
			return 0;
		}
		while (off < n) {
			ssize_t w = write(k->fd, data + off, n - off);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0) {
				k->write_error = errno ? errno : EIO;
				return 0;
			}
			off += (size_t)w;
		}
		k->written += (long long)n;
		return n;
	}
	if (buf_add(&k->body, data, n)) {
		k->toobig = 1;
		return 0;
	}
	return n;
}

/* Copies a header's value (trimmed) into out when its name is name. */
static int header_value(const char *data, size_t n, const char *name, char *out, size_t size)
{
	size_t len = strlen(name);
	const char *v;

	if (n <= len || strncasecmp(data, name, len) || data[len] != ':')
		return 0;
	v = data + len + 1;
	n -= len + 1;
	while (n && (*v == ' ' || *v == '\t')) {
		v++;
		n--;
	}
	while (n && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' '))
		n--;
	if (n >= size)
		n = size - 1;
	memcpy(out, v, n);
	out[n] = '\0';
	return 1;
}

static size_t on_header(char *data, size_t size, size_t nitems, void *userp)
{
	struct call *k = userp;
	size_t n = size * nitems;

	if (n >= 5 && !strncasecmp(data, "HTTP/", 5)) {
		k->location[0] = '\0';
		k->retry_after[0] = '\0';
	} else {
		header_value(data, n, "Location", k->location, sizeof(k->location));
		header_value(data, n, "Retry-After", k->retry_after, sizeof(k->retry_after));
	}
	return n;
}

static void add_header(struct curl_slist **list, const char *line)
{
	struct curl_slist *l = curl_slist_append(*list, line);

	if (!l) {
		fprintf(stderr, "fatal: out of memory adding a request header\n");
		abort();
	}
	*list = l;
}

struct body_ctx {
	struct feed_client *c;
	struct call *k;
};

/* The download's file gets a 2xx body only: an error body goes to k->body. */
static size_t on_body_routed(char *data, size_t size, size_t nmemb, void *userp)
{
	struct body_ctx *b = userp;
	int saved = b->k->fd;
	long status = 0;
	size_t n;

	if (saved >= 0) {
		curl_easy_getinfo(b->c->easy, CURLINFO_RESPONSE_CODE, &status);
		if (status < 200 || status >= 300)
			b->k->fd = -1;
	}
	n = on_body(data, size, nmemb, b->k);
	b->k->fd = saved;
	return n;
}

static int transport_retryable(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_PARTIAL_FILE:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_WEIRD_SERVER_REPLY:
	case CURLE_AGAIN:
		return 1;
	default:
		return 0;
	}
}

/* A transfer that never reached eBay: safe to repeat even for a POST. */
static int not_sent(CURLcode rc)
{
	return rc == CURLE_COULDNT_RESOLVE_HOST || rc == CURLE_COULDNT_CONNECT;
}

static enum error get_token(struct feed_client *c, int refresh, char **token, struct buf *why)
{
	struct buf reason = BUF_INIT;
	enum error err;

	*token = NULL;
	err = c->token_fn ? c->token_fn(c->token_ctx, refresh, token, &reason) : ERR_AUTH;
	if (!err && (!*token || !**token || strpbrk(*token, " \t\r\n"))) {
		err = ERR_AUTH;
		buf_reset(&reason);
		buf_adds(&reason, "the token source gave an unusable token");
	}
	if (err) {
		buf_addf(why, "no eBay access token: %s",
			 reason.len ? buf_str(&reason) : error_strerror(err));
		free(*token);
		*token = NULL;
	}
	buf_release(&reason);
	return err;
}

static void wipe_free(char *s)
{
	if (s) {
		memset(s, 0, strlen(s));
		free(s);
	}
}

/* Rewinds the download's file for another attempt. */
static enum error rewind_file(struct call *k, struct buf *why)
{
	k->written = 0;
	if (k->fd < 0)
		return ERR_OK;
	if (ftruncate(k->fd, 0) || lseek(k->fd, 0, SEEK_SET) < 0) {
		buf_addf(why, "cannot reuse the report's temporary file: %s", strerror(errno));
		return ERR_IO;
	}
	return ERR_OK;
}

/* Runs one transfer of k with token; returns curl's code. */
static CURLcode transfer(struct feed_client *c, struct call *k, const char *token)
{
	struct curl_slist *headers = NULL;
	struct body_ctx bc = {c, k};
	char *line;
	CURL *e = c->easy;
	CURLcode rc;

	curl_easy_reset(e);
	line = xasprintf("Authorization: Bearer %s", token);
	add_header(&headers, line);
	wipe_free(line);
	line = xasprintf("X-EBAY-C-MARKETPLACE-ID: %s", c->marketplace_id);
	add_header(&headers, line);
	free(line);
	add_header(&headers, k->fd >= 0 ? "Accept: application/octet-stream, application/json"
					: "Accept: application/json");
	if (k->post)
		add_header(&headers, "Content-Type: application/json");
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_URL, k->url);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, c->cfg.connect_timeout_ms);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)k->timeout_ms);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_USERAGENT, FEED_USER_AGENT);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body_routed);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, &bc);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, k);
	if (k->fd >= 0)
		curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)k->cap);
	else
		curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "gzip");
	if (k->post) {
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(k->post));
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, k->post);
	}
	buf_reset(&k->body);
	k->toobig = 0;
	k->write_error = 0;
	k->location[0] = '\0';
	k->retry_after[0] = '\0';
	ledger_note(ledger_api_of(k->url), c->user, 1); /* every attempt counts */
	rc = curl_easy_perform(e);
	curl_slist_free_all(headers);
	return rc;
}

/*
 * Runs call k with retries. ERR_OK with a 2xx; otherwise why says what
 * happened ("the report task could not be created: ...").
 */
static enum error run(struct feed_client *c, struct call *k, const char *doing, struct buf *why)
{
	char *token = NULL;
	int auth_retried = 0;
	enum error err = ERR_OK;

	for (int attempt = 1;; attempt++) {
		long long start, waited, retry_in = -1;
		int retry = 0;
		CURLcode rc;
		char msg[512];

		msg[0] = '\0';
		if (atomic_load(&c->cancelled)) {
			err = ERR_CANCELLED;
			snprintf(msg, sizeof(msg), "cancelled");
			goto fail;
		}
		while (c->pacer && (waited = pacer_acquire(c->pacer, timeutil_mono_ms())) > 0)
			if ((err = nap(c, waited)))
				goto fail_cancel;
		if (!token) {
			struct buf tw = BUF_INIT;
			err = get_token(c, auth_retried, &token, &tw);
			snprintf(msg, sizeof(msg), "%s", buf_str(&tw));
			buf_release(&tw);
			if (err)
				goto fail;
		}
		if ((err = rewind_file(k, why)))
			goto out;
		log_event(c, k, "request", attempt, 0, -1, NULL);
		start = timeutil_mono_ms();
		rc = transfer(c, k, token);
		c->last_status = 0;
		c->last_error_id = 0;
		if (rc != CURLE_OK) {
			if (k->toobig || rc == CURLE_FILESIZE_EXCEEDED) {
				snprintf(msg, sizeof(msg),
					 "the answer is over the cap of %lld bytes",
					 k->fd >= 0 ? k->cap : (long long)FEED_BODY_MAX);
				err = ERR_TOOBIG;
			} else if (k->write_error) {
				snprintf(msg, sizeof(msg), "cannot write the temporary file: %s",
					 strerror(k->write_error));
				err = ERR_IO;
			} else {
				snprintf(msg, sizeof(msg), "%s%s", curl_easy_strerror(rc),
					 k->fd >= 0 && k->written ? " (the download was cut short)"
								  : "");
				err = rc == CURLE_OPERATION_TIMEDOUT ? ERR_TIMEOUT : ERR_HTTP;
				retry = transport_retryable(rc) && (!k->post || not_sent(rc));
			}
		} else {
			long status = 0;

			curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &status);
			c->last_status = status;
			if (status >= 200 && status < 300) {
				c->last_error_id = 0;
				if (c->pacer)
					pacer_succeeded(c->pacer, timeutil_mono_ms(), start);
				log_event(c, k, "success", attempt, timeutil_mono_ms() - start, -1,
					  NULL);
				err = ERR_OK;
				goto out;
			}
			c->last_error_id =
			    ebay_parse_error(buf_str(&k->body), k->body.len, msg, sizeof(msg));
			if (!msg[0])
				snprintf(msg, sizeof(msg), "HTTP %ld with no error message",
					 status);
			err = ERR_EBAY;
			if (status == 429 || status >= 500) {
				retry = 1;
				if (c->pacer && status == 429)
					pacer_throttled(c->pacer, timeutil_mono_ms(), start, -1);
			} else if (!auth_retried &&
				   (status == 401 ||
				    (status == 403 &&
				     c->last_error_id == FEED_ERR_INSUFFICIENT_PERMISSIONS))) {
				/* One fresh token, then the same call again. */
				auth_retried = 1;
				wipe_free(token);
				token = NULL;
				log_event(c, k, "retry", attempt, timeutil_mono_ms() - start, 0,
					  msg);
				continue;
			} else if (status == 401 || status == 403) {
				err = ERR_AUTH;
			}
		}
		if (retry && attempt < c->cfg.max_attempts) {
			retry_in = backoff_delay_ms(&c->rng, c->cfg.backoff_base_ms,
						    c->cfg.backoff_max_ms, attempt);
			if (k->retry_after[0]) {
				long long ra =
				    backoff_retry_after_ms(k->retry_after, timeutil_wall_ms());
				if (ra >= 0)
					retry_in =
					    ra < c->cfg.backoff_max_ms ? ra : c->cfg.backoff_max_ms;
			}
			log_event(c, k, "retry", attempt, timeutil_mono_ms() - start, retry_in,
				  msg);
			if ((err = nap(c, retry_in)))
				goto fail_cancel;
			continue;
		}
		log_event(c, k, "failed", attempt, timeutil_mono_ms() - start, -1, msg);
	fail:
		buf_addf(why, "%s: %s%s", doing, msg, attempt > 1 ? " (after retries)" : "");
		goto out;
	fail_cancel:
		buf_addf(why, "%s: cancelled", doing);
		goto out;
	}
out:
	wipe_free(token);
	return err;
}

static void call_init(struct call *k, const char *what, const char *label, char *url,
		      long long timeout_ms)
{
	memset(k, 0, sizeof(*k));
	k->what = what;
	k->label = label;
	k->url = url;
	k->fd = -1;
	k->timeout_ms = timeout_ms;
	buf_init(&k->body, FEED_BODY_MAX);
}

static void call_release(struct call *k)
{
	free(k->url);
	buf_release(&k->body);
}

/* A task id goes into URL paths: letters, digits, '-', '_' and '.' only. */
static int task_id_ok(const char *id, size_t len)
{
	if (!len || len > FEED_TASK_ID_MAX)
		return 0;
	for (size_t i = 0; i < len; i++) {
		char ch = id[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.'))
			return 0;
	}
	return !(len <= 2 && id[0] == '.');
}

enum error feed_create_task(struct feed_client *c, char **task_id, struct buf *why)
{
	struct call k;
	const char *id;
	enum error err;
	size_t len;

	*task_id = NULL;
	call_init(&k, "create_task", FEED_REPORT_TYPE,
		  xasprintf("%s%s/inventory_task", c->api_base, FEED_PATH),
		  c->cfg.request_timeout_ms);
	k.post = "{\"feedType\":\"" FEED_REPORT_TYPE "\",\"schemaVersion\":\"1.0\"}";
	err = run(c, &k, "the inventory report task could not be created", why);
	if (err)
		goto out;
	/* The id is the last path segment of Location, before any query. */
	len = strcspn(k.location, "?#");
	k.location[len] = '\0';
	id = strrchr(k.location, '/');
	id = id ? id + 1 : k.location;
	if (!strstr(k.location, "/inventory_task/") || !task_id_ok(id, strlen(id))) {
		buf_addf(why,
			 "the inventory report task was created but eBay's Location header "
			 "'%.200s' holds no task id",
			 k.location);
		err = ERR_PARSE;
		goto out;
	}
	*task_id = xstrdup(id);
out:
	call_release(&k);
	return err;
}

enum error feed_get_task(struct feed_client *c, const char *task_id, enum feed_status *status,
			 struct buf *why)
{
	struct call k;
	json_t *root = NULL;
	json_error_t jerr;
	const char *s;
	enum error err;

	if (!task_id_ok(task_id, strlen(task_id))) {
		buf_addf(why, "invalid report task id '%.60s'", task_id);
		return ERR_INVALID;
	}
	call_init(&k, "get_task", task_id,
		  xasprintf("%s%s/inventory_task/%s", c->api_base, FEED_PATH, task_id),
		  c->cfg.request_timeout_ms);
	err = run(c, &k, "cannot read the state of the inventory report task", why);
	if (err)
		goto out;
	root = json_loadb(buf_str(&k.body), k.body.len, 0, &jerr);
	s = json_string_value(json_object_get(root, "status"));
	if (!root) {
		buf_addf(why, "the report task %s answer is not JSON: %s", task_id, jerr.text);
		err = ERR_PARSE;
	} else if (parse_status(s, status)) {
		buf_addf(why, "the report task %s has an unknown status '%.40s'", task_id,
			 s ? s : "(none)");
		err = ERR_PARSE;
	}
out:
	json_decref(root);
	call_release(&k);
	return err;
}

enum error feed_wait_task(struct feed_client *c, const char *task_id, struct buf *why)
{
	long long deadline = timeutil_mono_ms() + c->cfg.deadline_ms;
	long long wait = c->cfg.poll_first_ms;
	enum feed_status st;
	enum error err;

	for (;;) {
		long long left;

		err = feed_get_task(c, task_id, &st, why);
		if (err)
			return err;
		if (st == FEED_COMPLETED)
			return ERR_OK;
		if (st == FEED_FAILED || st == FEED_COMPLETED_WITH_ERROR) {
			buf_addf(why,
				 "the inventory report task %s ended %s: eBay built no complete "
				 "report",
				 task_id, feed_status_name(st));
			return ERR_EBAY;
		}
		left = deadline - timeutil_mono_ms();
		if (left <= 0) {
			buf_addf(why,
				 "the inventory report task %s is still %s after %lld s: gave up "
				 "waiting",
				 task_id, feed_status_name(st), c->cfg.deadline_ms / 1000);
			return ERR_TIMEOUT;
		}
		err = nap(c, wait < left ? wait : left);
		if (err) {
			buf_addf(why, "waiting for the inventory report task %s: cancelled",
				 task_id);
			return err;
		}
		wait = wait * 2 > c->cfg.poll_max_ms ? c->cfg.poll_max_ms : wait * 2;
	}
}

/* An unlinked temporary file in dir; -1 with a reason in why. */
static int temp_file(const char *dir, struct buf *why)
{
	char *path = xasprintf("%s/ebaysync-report-XXXXXX", dir);
	int fd = mkostemp(path, O_CLOEXEC);

	if (fd < 0) {
		buf_addf(why, "cannot create a temporary file in '%s': %s", dir, strerror(errno));
	} else {
		unlink(path);
	}
	free(path);
	return fd;
}

enum error feed_download(struct feed_client *c, const char *task_id, int *fd,
			 struct report_summary *summary, struct buf *why)
{
	struct call k;
	enum error err;
	struct buf reason = BUF_INIT;

	*fd = -1;
	if (!task_id_ok(task_id, strlen(task_id))) {
		buf_addf(why, "invalid report task id '%.60s'", task_id);
		return ERR_INVALID;
	}
	call_init(&k, "download", task_id,
		  xasprintf("%s%s/task/%s/download_result_file", c->api_base, FEED_PATH, task_id),
		  c->cfg.download_timeout_ms);
	k.cap = c->cfg.max_file;
	k.fd = temp_file(c->tmp_dir, why);
	if (k.fd < 0) {
		err = ERR_IO;
		goto out;
	}
	err = run(c, &k, "cannot download the inventory report", why);
	if (err)
		goto out;
	err = report_read_fd(k.fd, NULL, NULL, summary, &reason);
	if (err) {
		buf_addf(why, "the inventory report of task %s is refused: %s", task_id,
			 buf_str(&reason));
		goto out;
	}
	*fd = k.fd;
	k.fd = -1;
out:
	if (k.fd >= 0)
		close(k.fd);
	buf_release(&reason);
	call_release(&k);
	return err;
}

enum error feed_fetch_report(struct feed_client *c, int *fd, struct report_summary *summary,
			     char **task_id, struct buf *why)
{
	char *id = NULL;
	enum error err;

	*fd = -1;
	if (task_id)
		*task_id = NULL;
	err = feed_create_task(c, &id, why);
	if (!err)
		err = feed_wait_task(c, id, why);
	if (!err)
		err = feed_download(c, id, fd, summary, why);
	if (task_id)
		*task_id = id;
	else
		free(id);
	return err;
}
