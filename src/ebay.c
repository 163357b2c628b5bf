/*
 * The eBay REST client's transfer machinery (see ebay.h): a queue of
 * requests in front of a libcurl multi handle, at most `concurrency`
 * transfers at once (HTTP/2 multiplexed over one connection where the
 * server offers it), each attempt gated by the shared pacer, failed
 * attempts classified and retried after a backoff timer, and one token
 * refresh per token generation when eBay refuses the token.
 *
 * Nothing here sleeps: backoff and pacer waits are deadlines that
 * ebay_poll() folds into the timeout of curl_multi_poll(). A request lives
 * in exactly one list at a time:
 *
 *   queued   submitted, or retrying at once after a token refresh (FIFO)
 *   delayed  waiting for its backoff deadline (sorted by deadline)
 *   active   a transfer in the multi handle
 *   done     finished; its callback runs at the next safe point
 *
 * Callbacks run only from run_callbacks(), never from inside libcurl, so a
 * callback may submit more work or cancel everything; the done list makes
 * that re-entrancy safe. Rate limiting, the backoff formula and the token
 * rules are described in docs/rate-limiting.md.
 */
#include "ebay.h"

#include <curl/curl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "backoff.h"
#include "ledger.h"
#include "metrics.h"
#include "pacer.h"
#include "timeutil.h"
#include "xalloc.h"

#include "banned.h"

#define EBAY_TOKEN_RECHECK_MS	     30000 /* ask the token source again after */
#define EBAY_DEFAULT_MARKETPLACE     "EBAY_US"
#define EBAY_DEFAULT_CONNECT_MS	     10000
#define EBAY_DEFAULT_REQUEST_MS	     60000
#define EBAY_DEFAULT_MAX_BODY	     (32u * 1024 * 1024)
#define EBAY_DEFAULT_ATTEMPTS	     8
#define EBAY_DEFAULT_BACKOFF_BASE_MS 200
#define EBAY_DEFAULT_BACKOFF_MAX_MS  30000
#define EBAY_DEFAULT_CONCURRENCY     8
#define EBAY_MAX_CONCURRENCY	     1024
#define EBAY_USER_AGENT		     "ebaysync/0.1"

/* eBay errorIds that mean "try again" whatever the HTTP status. */
#define EBAY_ERR_SYSTEM	    25001
#define EBAY_ERR_CONCURRENT 25025
/* eBay errorIds that mean "this token is no good". */
#define EBAY_ERR_INVALID_TOKEN		  1001
#define EBAY_ERR_INSUFFICIENT_PERMISSIONS 1100

enum req_state {
	REQ_QUEUED,
	REQ_DELAYED,
	REQ_ACTIVE,
	REQ_DONE,
};

struct request {
	struct request *prev, *next; /* links in the list of its state */
	enum req_state state;
	enum ebay_req kind;
	char *url;
	char *path; /* url without scheme and host, for logs */
	char *label;
	char *post_body; /* JSON sent with POST; NULL for a GET */
	ebay_done_fn done;
	void *ctx;

	int auth_retried;	 /* already retried once after a refused token */
	unsigned long token_gen; /* token generation of the current attempt */
	long long not_before_ms; /* REQ_DELAYED: the backoff deadline */
	long long started_ms;	 /* of the current attempt */

	CURL *easy; /* REQ_ACTIVE: the transfer */
	struct curl_slist *headers;
	struct buf body;
	int toobig;
	char retry_after[64];
	char errbuf[CURL_ERROR_SIZE];

	struct ebay_response resp; /* the outcome so far (attempts, last status ...) */
};

struct req_list {
	struct request *head, *tail;
	size_t n;
};

struct ebay_client {
	struct ebay_config cfg; /* defaults applied; strings point to the copies below */
	char *api_base;
	char *marketplace_id;
	char *user; /* the ledger's (ledger.h) */

	struct pacer *pacer;
	struct pacer *own_pacer; /* when the caller gave none */
	ebay_token_fn token_fn;
	long long token_at; /* when the token source was last asked */
	void *token_ctx;
	ebay_log_fn log_fn;
	void *log_ctx;

	char *token;		   /* current access token, NULL until first needed */
	unsigned long token_gen;   /* bumped by every refresh */
	enum error refresh_failed; /* the refresh for this generation failed ... */
	char refresh_error[256];   /* ... with this message */

	CURLM *multi;
	CURL **idle; /* easy handles ready for reuse */
	size_t n_idle;

	struct req_list queued, delayed, active, done;
	struct random_rng rng;
	int in_poll;  /* inside ebay_poll(): ebay_get() would deadlock */
	int draining; /* inside run_callbacks() */
	int closing;  /* inside ebay_client_free(): refuse new work */
};

/* ---- lists ---- */

static void list_append(struct req_list *l, struct request *r)
{
	r->prev = l->tail;
	r->next = NULL;
	if (l->tail)
		l->tail->next = r;
	else
		l->head = r;
	l->tail = r;
	l->n++;
}

static void list_prepend(struct req_list *l, struct request *r)
{
	r->prev = NULL;
	r->next = l->head;
	if (l->head)
		l->head->prev = r;
	else
		l->tail = r;
	l->head = r;
	l->n++;
}

/* Inserts after `after` (NULL: at the head). */
static void list_insert_after(struct req_list *l, struct request *after, struct request *r)
{
	if (!after) {
		list_prepend(l, r);
		return;
	}
	r->prev = after;
	r->next = after->next;
	if (after->next)
		after->next->prev = r;
	else
		l->tail = r;
	after->next = r;
	l->n++;
}

static void list_remove(struct req_list *l, struct request *r)
{
	if (r->prev)
		r->prev->next = r->next;
	else
		l->head = r->next;
	if (r->next)
		r->next->prev = r->prev;
	else
		l->tail = r->prev;
	r->prev = r->next = NULL;
	l->n--;
}

static struct req_list *list_of(struct ebay_client *c, struct request *r)
{
	switch (r->state) {
	case REQ_QUEUED:
		return &c->queued;
	case REQ_DELAYED:
		return &c->delayed;
	case REQ_ACTIVE:
		return &c->active;
	case REQ_DONE:
		return &c->done;
	}
	return NULL;
}

/* ---- names ---- */

static const char *log_prefix(enum ebay_req kind)
{
	switch (kind) {
	case EBAY_REQ_INVENTORY:
		return "fetch_inventory_items";
	case EBAY_REQ_OFFERS:
		return "fetch_offers";
	case EBAY_REQ_BULK:
		return "bulk_get_inventory_item";
	case EBAY_REQ_OTHER:
		break;
	}
	return "ebay_call";
}

static const char *metric_endpoint(enum ebay_req kind)
{
	switch (kind) {
	case EBAY_REQ_INVENTORY:
		return "getInventoryItems";
	case EBAY_REQ_OFFERS:
		return "getOffers";
	case EBAY_REQ_BULK:
		return "bulkGetInventoryItem";
	case EBAY_REQ_OTHER:
		break;
	}
	return "other";
}

/* "https://host:1/a/b?c" -> "/a/b?c": what logs may show of a URL. */
static char *path_of(const char *url)
{
	const char *p = strstr(url, "://");
	size_t n;

	if (!p)
		return xstrdup(url);
	p += 3;
	n = strcspn(p, "/?#");
	if (!p[n])
		return xstrdup("/");
	if (p[n] != '/')
		return xasprintf("/%s", p + n);
	return xstrdup(p + n);
}

static void log_event(struct ebay_client *c, const struct request *r, const char *what,
		      long long duration_ms, long long retry_in_ms)
{
	struct ebay_log_entry e;
	char event[64];

	if (!c->log_fn)
		return;
	snprintf(event, sizeof(event), "%s_%s", log_prefix(r->kind), what);
	memset(&e, 0, sizeof(e));
	e.event = event;
	e.kind = r->kind;
	e.path = r->path;
	e.label = r->label;
	e.attempt = r->resp.attempts;
	e.retry_in_ms = retry_in_ms;
	e.duration_ms = duration_ms;
	if (strcmp(what, "request")) {
		e.status = r->resp.status;
		e.error_id = r->resp.error_id;
		e.message =
		    r->resp.err == ERR_OK && !strcmp(what, "success") ? NULL : r->resp.message;
	}
	c->log_fn(c->log_ctx, &e);
}

/* ---- requests ---- */

static void request_free(struct request *r)
{
	if (!r)
		return;
	json_decref(r->resp.json);
	curl_slist_free_all(r->headers);
	buf_release(&r->body);
	free(r->url);
	free(r->path);
	free(r->label);
	free(r->post_body);
	free(r);
}

static void set_message(struct request *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void set_message(struct request *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->resp.message, sizeof(r->resp.message), fmt, ap);
	va_end(ap);
}

/* Returns the easy handle of a finished or cancelled transfer to the pool.
 * The handle keeps its connection cache; pointers into r are dropped. */
static void release_transfer(struct ebay_client *c, struct request *r)
{
	if (!r->easy)
		return;
	curl_multi_remove_handle(c->multi, r->easy);
	curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(r->easy, CURLOPT_ERRORBUFFER, NULL);
	curl_easy_setopt(r->easy, CURLOPT_PRIVATE, NULL);
	curl_easy_setopt(r->easy, CURLOPT_WRITEDATA, NULL);
	curl_easy_setopt(r->easy, CURLOPT_HEADERDATA, NULL);
	if (c->n_idle < (size_t)c->cfg.concurrency)
		c->idle[c->n_idle++] = r->easy;
	else
		curl_easy_cleanup(r->easy);
	r->easy = NULL;
	curl_slist_free_all(r->headers);
	r->headers = NULL;
}

/* Ends r with err: off its list (and out of the multi handle), onto the
 * done list. The callback runs later, from run_callbacks(). */
static void finish(struct ebay_client *c, struct request *r, enum error err)
{
	list_remove(list_of(c, r), r);
	release_transfer(c, r);
	r->resp.err = err;
	if (err != ERR_OK) {
		json_decref(r->resp.json);
		r->resp.json = NULL;
	}
	r->state = REQ_DONE;
	list_append(&c->done, r);
}

/* Runs the callbacks of finished requests, oldest first. A callback may
 * submit or cancel: what it finishes joins the same loop. */
static void run_callbacks(struct ebay_client *c)
{
	struct request *r;

	if (c->draining)
		return;
	c->draining = 1;
	while ((r = c->done.head)) {
		list_remove(&c->done, r);
		if (r->done)
			r->done(r->ctx, &r->resp);
		request_free(r);
	}
	c->draining = 0;
}

/* ---- transfers ---- */

static size_t on_body(char *data, size_t size, size_t nmemb, void *userp)
{
	struct request *r = userp;
	size_t n = size * nmemb;

	if (buf_add(&r->body, data, n) != ERR_OK) {
		r->toobig = 1;
		return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
	}
	return n;
}

static size_t on_header(char *data, size_t size, size_t nitems, void *userp)
{
	struct request *r = userp;
	size_t n = size * nitems, len;
	const char *v;

	if (n >= 5 && !strncasecmp(data, "HTTP/", 5)) {
		/* A new response (after a 100 Continue, say): forget the old. */
		r->retry_after[0] = '\0';
	} else if (n > 12 && !strncasecmp(data, "Retry-After:", 12)) {
		v = data + 12;
		len = n - 12;
		while (len && (*v == ' ' || *v == '\t')) {
			v++;
			len--;
		}
		while (len && (v[len - 1] == '\r' || v[len - 1] == '\n' || v[len - 1] == ' '))
			len--;
		if (len >= sizeof(r->retry_after))
			len = sizeof(r->retry_after) - 1;
		memcpy(r->retry_after, v, len);
		r->retry_after[len] = '\0';
	}
	return n;
}

/* Appends a header line; out of memory aborts, as xmalloc does. */
static void add_header(struct curl_slist **list, const char *line)
{
	struct curl_slist *l = curl_slist_append(*list, line);

	if (!l) {
		fprintf(stderr, "fatal: out of memory adding a request header\n");
		abort();
	}
	*list = l;
}

/* A token goes into a header line: printable ASCII without spaces only. */
static int token_ok(const char *t)
{
	if (!t || !*t)
		return 0;
	for (; *t; t++)
		if ((unsigned char)*t <= 0x20 || (unsigned char)*t >= 0x7f)
			return 0;
	return 1;
}

/* Asks the token source for a token; the reason for a failure goes to
 * msg (prefixed with what). */
static enum error fetch_token(struct ebay_client *c, int refresh, char **token, char *msg,
			      size_t msg_size, const char *what)
{
	struct buf why = BUF_INIT;
	enum error err;

	*token = NULL;
	err = c->token_fn ? c->token_fn(c->token_ctx, refresh, token, &why) : ERR_AUTH;
	if (!err && !token_ok(*token)) {
		err = ERR_AUTH;
		buf_reset(&why);
		buf_adds(&why, *token && **token ? "the token has a space or control character"
						 : "the token source gave an empty token");
	}
	if (err) {
		snprintf(msg, msg_size, "%s: %s", what,
			 why.len ? buf_str(&why) : error_strerror(err));
		free(*token);
		*token = NULL;
	}
	buf_release(&why);
	return err;
}

static CURL *new_easy(struct ebay_client *c)
{
	CURL *e = curl_easy_init();

	if (!e)
		return NULL;
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
	/* Wait for a connection that may multiplex rather than open another. */
	curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
	curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "gzip");
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, c->cfg.connect_timeout_ms);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, c->cfg.request_timeout_ms);
	curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)c->cfg.max_body);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_USERAGENT, EBAY_USER_AGENT);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	return e;
}

/* Frees a token after wiping it. */
static void free_token(char *token);

/*
 * The current token, fetched on first use and asked for again every
 * token_recheck_ms, so that a token source that mints access tokens
 * (account.c) can replace one before it expires instead of after eBay
 * refused it. On failure the reason goes to r's message.
 */
static enum error ensure_token(struct ebay_client *c, struct request *r, long long now)
{
	char *token = NULL;
	enum error err;

	if (c->token && now - c->token_at < c->cfg.token_recheck_ms)
		return ERR_OK;
	err = fetch_token(c, 0, &token, r->resp.message, sizeof(r->resp.message),
			  "no eBay access token");
	if (err)
		return c->token ? ERR_OK : err; /* keep a token we have; eBay will judge it */
	if (!c->token || strcmp(token, c->token)) {
		free_token(c->token);
		c->token = token;
		c->token_gen++;
		c->refresh_failed = ERR_OK;
	} else {
		free_token(token);
	}
	c->token_at = now;
	return ERR_OK;
}

/* Frees a token after wiping it. */
static void free_token(char *token)
{
	if (!token)
		return;
	memset(token, 0, strlen(token));
	free(token);
}

/* Starts the next attempt of r (already off its list). On failure, r is
 * finished instead. */
static void start_attempt(struct ebay_client *c, struct request *r, long long now)
{
	char *line;
	enum error err;
	CURL *e;

	r->state = REQ_ACTIVE;
	list_append(&c->active, r);
	err = ensure_token(c, r, now);
	if (err) {
		finish(c, r, err);
		return;
	}
	e = c->n_idle ? c->idle[--c->n_idle] : new_easy(c);
	if (!e) {
		set_message(r, "cannot create a curl handle");
		finish(c, r, ERR_INTERNAL);
		return;
	}
	r->easy = e;
	r->token_gen = c->token_gen;
	r->resp.attempts++;
	r->started_ms = now;
	r->toobig = 0;
	r->retry_after[0] = '\0';
	r->errbuf[0] = '\0';
	buf_reset(&r->body);

	line = xasprintf("Authorization: Bearer %s", c->token);
	add_header(&r->headers, line);
	free_token(line);
	line = xasprintf("X-EBAY-C-MARKETPLACE-ID: %s", c->marketplace_id);
	add_header(&r->headers, line);
	free(line);
	add_header(&r->headers, "Accept: application/json");
	add_header(&r->headers, "Content-Type: application/json");

	curl_easy_setopt(e, CURLOPT_URL, r->url);
	if (r->post_body) {
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(r->post_body));
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->post_body);
	} else {
		curl_easy_setopt(e, CURLOPT_HTTPGET, 1L); /* handles are reused */
	}
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->headers);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf);
	curl_easy_setopt(e, CURLOPT_PRIVATE, r);
	if (curl_multi_add_handle(c->multi, e) != CURLM_OK) {
		set_message(r, "cannot start the transfer of '%s'", r->path);
		finish(c, r, ERR_INTERNAL);
		return;
	}
	/* Every attempt sent counts against eBay's quota, retries too. */
	ledger_note(ledger_api_of(r->url), c->user, 1);
	log_event(c, r, "request", 0, -1);
}

/*
 * Starts what may start now: while there is a free slot, the next request
 * (a due retry first, then the oldest queued) goes if the pacer gives a
 * token. Lowers *wake to when something blocked here may go.
 */
static void start_transfers(struct ebay_client *c, long long now, long long *wake)
{
	struct request *r;
	long long wait;

	while (c->active.n < (size_t)c->cfg.concurrency) {
		if (c->delayed.head && c->delayed.head->not_before_ms <= now) {
			r = c->delayed.head;
		} else {
			if (c->delayed.head && c->delayed.head->not_before_ms < *wake)
				*wake = c->delayed.head->not_before_ms;
			r = c->queued.head;
		}
		if (!r)
			return;
		wait = pacer_acquire(c->pacer, now);
		if (wait > 0) {
			if (now + wait < *wake)
				*wake = now + wait;
			return;
		}
		list_remove(list_of(c, r), r);
		start_attempt(c, r, now);
	}
}

/* ---- outcomes ---- */

/* What one attempt came to. */
struct verdict {
	enum error err;		  /* the request's error if this attempt is its last */
	int retry;		  /* another attempt may succeed */
	int auth;		  /* eBay refused the token */
	int throttled;		  /* a 429 */
	long long retry_after_ms; /* Retry-After, -1 if none */
};

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
	case CURLE_BAD_CONTENT_ENCODING:
	case CURLE_WEIRD_SERVER_REPLY:
	case CURLE_AGAIN:
		return 1;
	default:
		return 0;
	}
}

/* The first errors[].errorId of a JSON answer, 0 if none. */
static long first_error_id(const json_t *root)
{
	const json_t *id =
	    json_object_get(json_array_get(json_object_get(root, "errors"), 0), "errorId");

	return json_is_integer(id) ? (long)json_integer_value(id) : 0;
}

/* Reads a finished transfer into r->resp and v. */
static void judge(struct ebay_client *c, struct request *r, CURLcode rc, struct verdict *v)
{
	const char *body = r->body.data ? r->body.data : "";
	long status = 0;
	json_error_t jerr;
	json_t *json;

	memset(v, 0, sizeof(*v));
	v->retry_after_ms = -1;
	r->resp.status = 0;
	r->resp.error_id = 0;
	r->resp.message[0] = '\0';
	if (rc != CURLE_OK) {
		if (r->toobig || rc == CURLE_FILESIZE_EXCEEDED) {
			set_message(r, "response body larger than the cap of %zu bytes",
				    c->cfg.max_body);
			v->err = ERR_TOOBIG;
			return;
		}
		set_message(r, "%s", r->errbuf[0] ? r->errbuf : curl_easy_strerror(rc));
		v->err = ERR_HTTP;
		v->retry = transport_retryable(rc);
		return;
	}
	curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
	r->resp.status = status;
	if (r->retry_after[0])
		v->retry_after_ms = backoff_retry_after_ms(r->retry_after, timeutil_wall_ms());
	if (status >= 200 && status < 300) {
		if (status == 204 && r->body.len == 0)
			return; /* ERR_OK without a body */
		json = json_loadb(body, r->body.len, 0, &jerr);
		if (!json) {
			set_message(r, "malformed JSON in a %ld response: %s (line %d, column %d)",
				    status, jerr.text, jerr.line, jerr.column);
			v->err = ERR_PARSE;
			v->retry = 1;
			return;
		}
		r->resp.error_id = first_error_id(json);
		if (r->resp.error_id == EBAY_ERR_SYSTEM ||
		    r->resp.error_id == EBAY_ERR_CONCURRENT) {
			ebay_parse_error(body, r->body.len, r->resp.message,
					 sizeof(r->resp.message));
			json_decref(json);
			v->err = ERR_EBAY;
			v->retry = 1;
			return;
		}
		json_decref(r->resp.json);
		r->resp.json = json;
		return;
	}
	r->resp.error_id =
	    ebay_parse_error(body, r->body.len, r->resp.message, sizeof(r->resp.message));
	if (!r->resp.message[0])
		set_message(r, "HTTP %ld with no error message", status);
	v->err = ERR_EBAY;
	if (status == 429) {
		v->throttled = 1;
		v->retry = 1;
	} else if (status >= 500 || r->resp.error_id == EBAY_ERR_SYSTEM ||
		   r->resp.error_id == EBAY_ERR_CONCURRENT) {
		v->retry = 1;
	} else if (status == 401 ||
		   (status == 403 && r->resp.error_id == EBAY_ERR_INSUFFICIENT_PERMISSIONS)) {
		v->auth = 1;
		v->err = ERR_AUTH;
	}
}

/* Takes r out of the multi handle and off the active list. */
static void take_off_active(struct ebay_client *c, struct request *r)
{
	list_remove(&c->active, r);
	release_transfer(c, r);
}

/*
 * After eBay refused the token of r's attempt: one refresh per token
 * generation (requests that failed with an older token than the current
 * one just retry with it; a refresh that failed is not tried again for the
 * same generation), one retry per request. Returns 1 when r was queued
 * again, 0 when it must end: refused (ERR_AUTH), or ERR_RELINK when the
 * token source says that only linking the account again helps.
 */
static int retry_after_refresh(struct ebay_client *c, struct request *r, struct verdict *v,
			       long long now)
{
	char first[sizeof(r->resp.message)];
	char *token = NULL;
	enum error err;

	if (r->auth_retried) {
		snprintf(first, sizeof(first), "%s", r->resp.message);
		set_message(r, "eBay refused the access token again after a refresh: %s", first);
		return 0;
	}
	if (r->resp.attempts >= c->cfg.max_attempts)
		return 0;
	if (r->token_gen == c->token_gen && c->refresh_failed) {
		set_message(r, "%s", c->refresh_error);
		v->err = c->refresh_failed;
		return 0;
	}
	if (r->token_gen == c->token_gen) {
		err = fetch_token(c, 1, &token, c->refresh_error, sizeof(c->refresh_error),
				  "cannot refresh the eBay access token");
		if (err) {
			c->refresh_failed = err == ERR_RELINK ? ERR_RELINK : ERR_AUTH;
			set_message(r, "%s", c->refresh_error);
			v->err = c->refresh_failed;
			return 0;
		}
		free_token(c->token);
		c->token = token;
		c->token_gen++;
		c->token_at = now;
	}
	r->auth_retried = 1;
	metrics_add(METRIC_EBAY_RETRIES, 1);
	log_event(c, r, "retry", now - r->started_ms, 0);
	take_off_active(c, r);
	r->state = REQ_QUEUED;
	list_prepend(&c->queued, r);
	return 1;
}

/* Puts r on the delayed list, keeping it sorted by deadline. */
static void delay(struct ebay_client *c, struct request *r, long long until)
{
	struct request *at = c->delayed.tail;

	r->not_before_ms = until;
	r->state = REQ_DELAYED;
	while (at && at->not_before_ms > until)
		at = at->prev;
	list_insert_after(&c->delayed, at, r);
}

/* The wait before the next attempt: Retry-After when eBay sent one (cut
 * to backoff_max_ms), else capped exponential backoff with full jitter. */
static long long retry_wait(struct ebay_client *c, const struct request *r, const struct verdict *v)
{
	if (v->retry_after_ms >= 0)
		return v->retry_after_ms < c->cfg.backoff_max_ms ? v->retry_after_ms
								 : c->cfg.backoff_max_ms;
	return backoff_delay_ms(&c->rng, c->cfg.backoff_base_ms, c->cfg.backoff_max_ms,
				r->resp.attempts);
}

/* A transfer finished: judge it, then retry, refresh or finish. */
static void on_transfer_done(struct ebay_client *c, CURL *easy, CURLcode rc)
{
	struct request *r = NULL;
	struct verdict v;
	long long now = timeutil_mono_ms(), duration, wait;

	curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&r);
	if (!r)
		return;
	judge(c, r, rc, &v);
	duration = now - r->started_ms;
	r->resp.duration_ms = duration;
	metrics_ebay_call(metric_endpoint(r->kind), rc == CURLE_OK ? r->resp.status : 0);
	if (v.throttled) {
		metrics_add(METRIC_EBAY_THROTTLED, 1);
		pacer_throttled(c->pacer, now, r->started_ms,
				v.retry_after_ms < c->cfg.backoff_max_ms ? v.retry_after_ms
									 : c->cfg.backoff_max_ms);
	}
	if (v.err == ERR_OK) {
		pacer_succeeded(c->pacer, now, r->started_ms);
		finish(c, r, ERR_OK);
		log_event(c, r, "success", duration, -1);
		return;
	}
	if (v.auth && retry_after_refresh(c, r, &v, now))
		return;
	if (!v.auth && v.retry && r->resp.attempts < c->cfg.max_attempts) {
		wait = retry_wait(c, r, &v);
		metrics_add(METRIC_EBAY_RETRIES, 1);
		log_event(c, r, "retry", duration, wait);
		take_off_active(c, r);
		delay(c, r, now + wait);
		return;
	}
	finish(c, r, v.err);
	log_event(c, r, "failed", duration, -1);
}

/* ---- the public interface ---- */

void ebay_response_release(struct ebay_response *r)
{
	if (!r)
		return;
	json_decref(r->json);
	memset(r, 0, sizeof(*r));
}

static void apply_defaults(struct ebay_config *cfg)
{
	if (cfg->connect_timeout_ms <= 0)
		cfg->connect_timeout_ms = EBAY_DEFAULT_CONNECT_MS;
	if (cfg->request_timeout_ms <= 0)
		cfg->request_timeout_ms = EBAY_DEFAULT_REQUEST_MS;
	if (cfg->max_body == 0)
		cfg->max_body = EBAY_DEFAULT_MAX_BODY;
	if (cfg->max_attempts <= 0)
		cfg->max_attempts = EBAY_DEFAULT_ATTEMPTS;
	if (cfg->backoff_base_ms <= 0)
		cfg->backoff_base_ms = EBAY_DEFAULT_BACKOFF_BASE_MS;
	if (cfg->backoff_max_ms <= 0)
		cfg->backoff_max_ms = EBAY_DEFAULT_BACKOFF_MAX_MS;
	if (cfg->backoff_max_ms < cfg->backoff_base_ms)
		cfg->backoff_max_ms = cfg->backoff_base_ms;
	if (cfg->token_recheck_ms <= 0)
		cfg->token_recheck_ms = EBAY_TOKEN_RECHECK_MS;
	if (cfg->concurrency <= 0)
		cfg->concurrency = EBAY_DEFAULT_CONCURRENCY;
	if (cfg->concurrency > EBAY_MAX_CONCURRENCY)
		cfg->concurrency = EBAY_MAX_CONCURRENCY;
	if (!(cfg->max_rps > 0))
		cfg->max_rps = 0; /* no ceiling: the pacer finds the rate */
}

struct ebay_client *ebay_client_new(const struct ebay_config *cfg, struct pacer *pacer,
				    ebay_token_fn token, void *token_ctx, ebay_log_fn log,
				    void *log_ctx)
{
	struct ebay_client *c = xcalloc(1, sizeof(*c));
	size_t n;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (cfg)
		c->cfg = *cfg;
	apply_defaults(&c->cfg);
	c->api_base =
	    xstrdup(c->cfg.api_base && *c->cfg.api_base ? c->cfg.api_base : EBAY_API_PRODUCTION);
	n = strlen(c->api_base);
	while (n > 0 && c->api_base[n - 1] == '/')
		c->api_base[--n] = '\0';
	c->marketplace_id =
	    xstrdup(c->cfg.marketplace_id && *c->cfg.marketplace_id ? c->cfg.marketplace_id
								    : EBAY_DEFAULT_MARKETPLACE);
	c->cfg.api_base = c->api_base;
	c->cfg.marketplace_id = c->marketplace_id;
	c->user = xstrdup(c->cfg.user ? c->cfg.user : "");
	c->cfg.user = c->user;

	if (!pacer)
		pacer = c->own_pacer = pacer_new(c->cfg.max_rps);
	c->pacer = pacer;
	c->token_fn = token;
	c->token_ctx = token_ctx;
	c->log_fn = log;
	c->log_ctx = log_ctx;
	random_rng_seed(&c->rng, (uint64_t)timeutil_wall_ms() ^ ((uint64_t)getpid() << 32) ^
				     (uint64_t)(uintptr_t)c);

	c->multi = curl_multi_init();
	if (!c->multi) {
		fprintf(stderr, "fatal: cannot create a curl multi handle\n");
		abort();
	}
	curl_multi_setopt(c->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
	curl_multi_setopt(c->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)c->cfg.concurrency);
	c->idle = xcalloc((size_t)c->cfg.concurrency, sizeof(*c->idle));
	return c;
}

void ebay_client_free(struct ebay_client *c)
{
	size_t i;

	if (!c)
		return;
	c->closing = 1;
	ebay_cancel_all(c);
	for (i = 0; i < c->n_idle; i++)
		curl_easy_cleanup(c->idle[i]);
	free(c->idle);
	curl_multi_cleanup(c->multi);
	free_token(c->token);
	pacer_free(c->own_pacer);
	free(c->api_base);
	free(c->marketplace_id);
	free(c->user);
	free(c);
	curl_global_cleanup();
}

/* Queues a request; returns it (owned by the client) for ebay_get(). */
static enum error submit(struct ebay_client *c, enum ebay_req kind, const char *url,
			 const char *post_body, const char *label, ebay_done_fn done, void *ctx,
			 struct request **out)
{
	struct request *r;

	if (c->closing)
		return ERR_CANCELLED;
	if (!url || !*url)
		return ERR_INVALID;
	r = xcalloc(1, sizeof(*r));
	r->kind = kind;
	r->url = xstrdup(url);
	r->path = path_of(url);
	r->label = xstrdup(label ? label : "");
	r->post_body = xstrdup(post_body);
	r->done = done;
	r->ctx = ctx;
	buf_init(&r->body, c->cfg.max_body);
	r->state = REQ_QUEUED;
	list_append(&c->queued, r);
	if (out)
		*out = r;
	return ERR_OK;
}

enum error ebay_submit(struct ebay_client *c, enum ebay_req kind, const char *url,
		       const char *label, ebay_done_fn done, void *ctx)
{
	return submit(c, kind, url, NULL, label, done, ctx, NULL);
}

enum error ebay_submit_post(struct ebay_client *c, enum ebay_req kind, const char *url,
			    const char *json_body, const char *label, ebay_done_fn done, void *ctx)
{
	if (!json_body)
		return ERR_INVALID;
	return submit(c, kind, url, json_body, label, done, ctx, NULL);
}

size_t ebay_pending(const struct ebay_client *c)
{
	return c->queued.n + c->delayed.n + c->active.n + c->done.n;
}

/* Reads every finished transfer out of the multi handle. */
static void collect(struct ebay_client *c)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(c->multi, &left)))
		if (msg->msg == CURLMSG_DONE)
			on_transfer_done(c, msg->easy_handle, msg->data.result);
}

enum error ebay_poll(struct ebay_client *c, int timeout_ms)
{
	long long now = timeutil_mono_ms();
	long long deadline = now + (timeout_ms > 0 ? timeout_ms : 0), wake;
	enum error err = ERR_OK;
	int running, first = 1;

	if (c->in_poll)
		return ERR_INTERNAL;
	c->in_poll = 1;
	for (;;) {
		run_callbacks(c);
		now = timeutil_mono_ms();
		/* The deadline is checked here too, so that a steady stream of
		 * completions cannot keep the caller from its own work. */
		if (!ebay_pending(c) || (!first && now >= deadline))
			break;
		first = 0;
		wake = LLONG_MAX;
		start_transfers(c, now, &wake);
		if (c->done.n)
			continue; /* a start failed: report it, then start more */
		if (curl_multi_perform(c->multi, &running) != CURLM_OK) {
			err = ERR_INTERNAL;
			break;
		}
		collect(c);
		if (c->done.n)
			continue;
		now = timeutil_mono_ms();
		if (now >= deadline)
			break;
		if (wake > deadline)
			wake = deadline;
		if (curl_multi_poll(c->multi, NULL, 0, (int)(wake > now ? wake - now : 0), NULL) !=
		    CURLM_OK) {
			err = ERR_INTERNAL;
			break;
		}
	}
	run_callbacks(c);
	c->in_poll = 0;
	return err;
}

/* Cancels one request, in whatever state. */
static void cancel(struct ebay_client *c, struct request *r)
{
	int was_active = r->state == REQ_ACTIVE;

	set_message(r, "cancelled");
	r->resp.status = 0;
	r->resp.error_id = 0;
	finish(c, r, ERR_CANCELLED);
	if (was_active)
		log_event(c, r, "failed", timeutil_mono_ms() - r->started_ms, -1);
}

void ebay_cancel_all(struct ebay_client *c)
{
	while (c->active.head)
		cancel(c, c->active.head);
	while (c->delayed.head)
		cancel(c, c->delayed.head);
	while (c->queued.head)
		cancel(c, c->queued.head);
	run_callbacks(c);
}

struct get_wait {
	struct ebay_response *out;
	int finished;
};

static void get_done(void *ctx, const struct ebay_response *resp)
{
	struct get_wait *w = ctx;

	*w->out = *resp;
	if (w->out->json)
		json_incref(w->out->json);
	w->finished = 1;
}

enum error ebay_get(struct ebay_client *c, enum ebay_req kind, const char *url, const char *label,
		    struct ebay_response *out)
{
	struct get_wait w = {out, 0};
	struct request *r = NULL;
	enum error err;

	memset(out, 0, sizeof(*out));
	if (c->in_poll)
		err = ERR_INTERNAL; /* from a callback: the caller's poll is below us */
	else
		err = submit(c, kind, url, NULL, label, get_done, &w, &r);
	if (err) {
		out->err = err;
		snprintf(out->message, sizeof(out->message), "cannot submit '%s': %s",
			 url ? url : "", error_strerror(err));
		return err;
	}
	while (!w.finished) {
		err = ebay_poll(c, 1000);
		if (err && !w.finished) {
			/* The callback points into this frame: end it now. */
			cancel(c, r);
			run_callbacks(c);
		}
	}
	return out->err;
}
