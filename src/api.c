/*
 * The endpoint handlers of ebaysync serve (see api.h and docs/api.md). Each
 * borrows a store connection from the pool for the length of the request.
 * Rows of the inventory and offers tables go out exactly as the store lists
 * them; runs are shaped by api_run_json(); the users table is only ever
 * read for the caller's own row, and its token columns never leave it.
 */
#include "api.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "auth.h"
#include "export.h"
#include "jsonutil.h"
#include "mapping.h"
#include "queue.h"
#include "quota.h"
#include "metrics.h"
#include "runlog.h"
#include "runs.h"
#include "sse.h"
#include "store.h"
#include "storepool.h"
#include "sync.h"
#include "throttle.h"
#include "timeutil.h"
#include "xalloc.h"
#include "banned.h"

#define PARAM_MAX  256 /* bytes of a query string value we pass on */
#define RUN_ID_MAX 128
/* A worker counts as alive while its heartbeat is younger than a lease. */
#define WORKER_FRESH_MS QUEUE_LEASE_MS

/* ---- responses ----------------------------------------------------------- */

void api_res_init(struct api_res *res)
{
	memset(res, 0, sizeof(*res));
	buf_init(&res->body, 0);
	res->status = 500;
}

void api_res_release(struct api_res *res)
{
	size_t i;

	buf_release(&res->body);
	if (res->body_free && res->body_ctx)
		res->body_free(res->body_ctx);
	res->body_ctx = NULL;
	for (i = 0; i < res->n_headers; i++) {
		free(res->headers[i][0]);
		free(res->headers[i][1]);
	}
	res->n_headers = 0;
}

void api_res_json(struct api_res *res, unsigned status, json_t *j)
{
	char *text = json_dumps(j, JSON_COMPACT);

	buf_reset(&res->body);
	buf_adds(&res->body, text ? text : "{}");
	free(text);
	json_decref(j);
	res->status = status;
	res->content_type = NULL;
}

/* The length of the well-formed UTF-8 sequence at p (RFC 3629: no
 * overlong forms, no surrogates, nothing past U+10FFFF), or 0. */
static size_t utf8_seq(const unsigned char *p)
{
	size_t n, i;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 3;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 4;
	else
		return 0;
	for (i = 1; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	if ((p[0] == 0xe0 && p[1] < 0xa0) || (p[0] == 0xed && p[1] > 0x9f) ||
	    (p[0] == 0xf0 && p[1] < 0x90) || (p[0] == 0xf4 && p[1] > 0x8f))
		return 0;
	return n;
}

/*
 * text as valid UTF-8, each byte that starts no well-formed sequence
 * replaced by U+FFFD: messages echo what the client sent, and JSON can
 * carry only valid text. Returns a malloc'd string.
 */
static char *utf8_clean(const char *text)
{
	const unsigned char *p = (const unsigned char *)text;
	struct buf out = BUF_INIT;
	size_t n;

	while (*p) {
		n = utf8_seq(p);
		if (n) {
			buf_add(&out, p, n);
			p += n;
		} else {
			buf_adds(&out, "\xef\xbf\xbd");
			p++;
		}
	}
	return buf_detach(&out, NULL);
}

static json_t *error_json(const char *code, const char *message)
{
	char *m = utf8_clean(message);
	json_t *j = json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", m);

	free(m);
	return j;
}

void api_res_error(struct api_res *res, unsigned status, const char *code, const char *fmt, ...)
{
	struct buf msg = BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	buf_vaddf(&msg, fmt, ap);
	va_end(ap);
	api_res_json(res, status, error_json(code, buf_str(&msg)));
	buf_release(&msg);
}

void api_res_header(struct api_res *res, const char *name, const char *value)
{
	if (res->n_headers == API_HEADERS_MAX)
		abort(); /* a handler bug, not an input */
	res->headers[res->n_headers][0] = xstrdup(name);
	res->headers[res->n_headers][1] = xstrdup(value);
	res->n_headers++;
}

/* A store for this request, or a 503 in res and NULL. */
struct store *api_store_get(struct api *api, struct api_res *res)
{
	struct buf why = BUF_INIT;
	struct store *s = storepool_get(api->pool, &why);

	if (!s)
		api_res_error(res, 503, "unavailable", "database unavailable: %s", buf_str(&why));
	buf_release(&why);
	return s;
}

void api_store_put(struct api *api, struct store *s, enum error err)
{
	storepool_put(api->pool, s, err == ERR_DB);
}

void api_db_error(struct api_res *res, struct store *s, enum error err)
{
	if (err == ERR_INVALID)
		api_res_error(res, 400, "bad_request", "%s", store_errmsg(s));
	else if (err == ERR_NOTFOUND)
		api_res_error(res, 404, "not_found", "%s", store_errmsg(s));
	else
		api_res_error(res, 500, "internal", "database error: %s", store_errmsg(s));
}

json_t *api_run_json(const struct run_row *r, long long now_ms)
{
	long long end = r->finished_ms > 0 ? r->finished_ms : now_ms;

	return json_pack("{s:s,s:s,s:s,s:I,s:I,s:I,s:I,s:o,s:o,s:I,s:o,s:o}", "id", r->id, "kind",
			 r->kind, "status", r->status, "fetched", (json_int_t)r->fetched, "stored",
			 (json_int_t)r->stored, "failed", (json_int_t)r->failed, "total",
			 (json_int_t)r->total, "started_at", jsonutil_iso_or_null(r->started_ms),
			 "finished_at", jsonutil_iso_or_null(r->finished_ms), "duration_ms",
			 (json_int_t)(end > r->started_ms ? end - r->started_ms : 0), "error",
			 r->error ? json_string(r->error) : json_null(), "error_code",
			 r->error_code ? json_string(r->error_code) : json_null());
}

/* A query string value no longer than PARAM_MAX, or a 400 in res. */
static int text_param(const struct api_req *req, struct api_res *res, const char *name,
		      const char **out)
{
	const char *v = request_param(req->target, name);

	*out = v && *v ? v : NULL;
	if (v && strlen(v) > PARAM_MAX) {
		api_res_error(res, 400, "bad_request", "%s is longer than %d bytes", name,
			      PARAM_MAX);
		return -1;
	}
	return 0;
}

static int int_param(const struct api_req *req, struct api_res *res, const char *name,
		     long long def, long long min, long long max, long long *out)
{
	struct buf why = BUF_INIT;
	int rc = 0;

	if (request_param_int(req->target, name, def, min, max, out, &why)) {
		api_res_error(res, 400, "bad_request", "%s", buf_str(&why));
		rc = -1;
	}
	buf_release(&why);
	return rc;
}

static int valid_run_id(const char *id)
{
	size_t i, n = strlen(id);

	if (n == 0 || n > RUN_ID_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!((id[i] >= 'a' && id[i] <= 'z') || (id[i] >= 'A' && id[i] <= 'Z') ||
		      (id[i] >= '0' && id[i] <= '9') || id[i] == '_' || id[i] == '-'))
			return 0;
	return 1;
}

static void no_run(struct api_res *res, const char *id)
{
	api_res_error(res, 404, "not_found", "no run '%s'", id);
}

/* ---- auth ---------------------------------------------------------------- */

static char *cookie(struct api *api, const char *value, long long max_age)
{
	return xasprintf("%s=%s; HttpOnly; SameSite=Strict; Path=/; Max-Age=%lld%s", AUTH_COOKIE,
			 value, max_age, api->cookie_secure ? "; Secure" : "");
}

void api_login(struct api *api, const struct api_req *req, struct api_res *res)
{
	json_error_t jerr;
	json_t *body = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
	const char *name, *password;
	struct buf why = BUF_INIT;
	struct user_row u;
	struct store *s = NULL;
	enum error err = ERR_OK;
	char *token = NULL, *set, iso[32], *ukey = NULL, *akey = NULL;
	long long exp;

	memset(&u, 0, sizeof(u));
	if (!body) {
		api_res_error(res, 400, "bad_request",
			      "malformed JSON body: %s (line %d, column %d)", jerr.text, jerr.line,
			      jerr.column);
		goto out;
	}
	name = json_string_value(json_object_get(body, "username"));
	password = json_string_value(json_object_get(body, "password"));
	if (!json_is_object(body) || !name || !password) {
		api_res_error(res, 400, "bad_request",
			      "body must be {\"username\": string, \"password\": string}");
		goto out;
	}
	ukey = xasprintf("user:%s", name);
	akey = xasprintf("addr:%s", req->client ? req->client : "");
	if (api->throttle) {
		long long now = timeutil_mono_ms(), wu = throttle_wait_ms(api->throttle, ukey, now),
			  wa = throttle_wait_ms(api->throttle, akey, now), wait = wu > wa ? wu : wa;
		char after[24];

		if (wait > 0) {
			/* No hash: a guesser costs us nothing while locked out. */
			snprintf(after, sizeof(after), "%lld", (wait + 999) / 1000);
			api_res_error(res, 429, "too_many_requests",
				      "too many failed logins for this %s: try again in %s s",
				      wu >= wa ? "user" : "address", after);
			api_res_header(res, "Retry-After", after);
			goto out;
		}
	}
	s = api_store_get(api, res);
	if (!s)
		goto out;
	err = auth_check_user_name(name, &why) ? ERR_NOTFOUND : store_user_get(s, name, &u);
	if (err && err != ERR_NOTFOUND) {
		api_db_error(res, s, err);
		goto out;
	}
	/* An unknown user costs the same hashing time as a wrong password. */
	if (auth_check_password(api->auth, password, err ? NULL : u.password_hash) != ERR_OK) {
		api_res_error(res, 401, "unauthorized", "wrong username or password");
		if (api->throttle) {
			throttle_fail(api->throttle, ukey, timeutil_mono_ms());
			throttle_fail(api->throttle, akey, timeutil_mono_ms());
		}
		goto out;
	}
	if (api->throttle) {
		throttle_reset(api->throttle, ukey);
		throttle_reset(api->throttle, akey);
	}
	err =
	    auth_issue(api->auth, name, api->token_ttl_s, timeutil_wall_ms() / 1000, &token, &exp);
	if (err) {
		api_res_error(res, 500, "internal", "cannot issue a token: %s",
			      error_strerror(err));
		goto out;
	}
	timeutil_iso(exp * 1000, iso, sizeof(iso));
	api_res_json(res, 200,
		     json_pack("{s:s,s:s,s:s}", "token", token, "user", name, "expires_at", iso));
	set = cookie(api, token, api->token_ttl_s);
	api_res_header(res, "Set-Cookie", set);
	free(set);
out:
	if (s)
		api_store_put(api, s, err);
	user_row_release(&u);
	json_decref(body);
	buf_release(&why);
	free(token);
	free(ukey);
	free(akey);
}

void api_logout(struct api *api, const struct api_req *req, struct api_res *res)
{
	struct auth_claims c;
	struct buf why = BUF_INIT;
	struct store *s = NULL;
	char *set = cookie(api, "", 0);
	enum error err = ERR_OK;

	/* A token that does not verify ends by itself (or never began): only
	 * a valid one needs revoking, until its exp. */
	memset(&c, 0, sizeof(c));
	if (req->token &&
	    !auth_verify_claims(api->auth, req->token, timeutil_wall_ms() / 1000, &c, &why)) {
		s = api_store_get(api, res);
		if (!s)
			goto out;
		err = store_token_revoke(s, c.jti, c.exp * 1000);
		if (err) {
			api_res_error(res, 500, "internal", "cannot revoke the token: %s",
				      store_errmsg(s));
			goto out;
		}
	}
	api_res_json(res, 200, json_pack("{s:s}", "status", "logged_out"));
out:
	api_res_header(res, "Set-Cookie", set);
	if (s)
		api_store_put(api, s, err);
	auth_claims_release(&c);
	buf_release(&why);
	free(set);
}

void api_me(struct api *api, const struct api_req *req, struct api_res *res)
{
	struct store *s = api_store_get(api, res);
	struct user_row u;
	enum error err;

	if (!s)
		return;
	memset(&u, 0, sizeof(u));
	err = store_user_get(s, req->user, &u);
	if (err == ERR_NOTFOUND)
		api_res_error(res, 401, "unauthorized", "user '%s' no longer exists", req->user);
	else if (err)
		api_db_error(res, s, err);
	else
		api_res_json(res, 200,
			     json_pack("{s:s,s:b}", "user", u.id, "ebay_linked",
				       u.ebay_token && *u.ebay_token));
	user_row_release(&u);
	api_store_put(api, s, err);
}

/* ---- runs ---------------------------------------------------------------- */

#define API_SKUS_MAX 10000 /* SKUs in one POST /ebay/sync/skus */

/*
 * The optional body of a start: {"resume": bool} for offers, {"skus":
 * [...]} (required) for skus, {"report_only": bool} for refresh. Fills o (its skus borrow from
 * *body, which the caller frees); on a bad body answers 400 and returns -1.
 */
static int start_body(const struct api_req *req, struct api_res *res, enum sync_kind kind,
		      struct runs_start_opts *o, json_t **body, const char ***skus)
{
	json_error_t jerr;
	json_t *list, *v;
	size_t i;

	*body = NULL;
	*skus = NULL;
	memset(o, 0, sizeof(*o));
	if (req->body_len == 0 && kind != SYNC_SKUS)
		return 0;
	*body = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(*body)) {
		api_res_error(res, 400, "bad_request", "the body must be a JSON object%s%s",
			      *body ? "" : ": ", *body ? "" : jerr.text);
		return -1;
	}
	v = json_object_get(*body, "resume");
	if (v && !json_is_boolean(v)) {
		api_res_error(res, 400, "bad_request", "\"resume\" must be true or false");
		return -1;
	}
	o->resume = json_is_true(v);
	v = json_object_get(*body, "report_only");
	if (v && !json_is_boolean(v)) {
		api_res_error(res, 400, "bad_request", "\"report_only\" must be true or false");
		return -1;
	}
	o->report_only = json_is_true(v);
	list = json_object_get(*body, "skus");
	if (kind != SYNC_SKUS)
		return 0;
	if (!json_is_array(list) || json_array_size(list) == 0 ||
	    json_array_size(list) > API_SKUS_MAX) {
		api_res_error(res, 400, "bad_request", "\"skus\" must be an array of 1 to %d SKUs",
			      API_SKUS_MAX);
		return -1;
	}
	*skus = xcalloc(json_array_size(list), sizeof(**skus));
	json_array_foreach(list, i, v)
	{
		if (!json_is_string(v)) {
			api_res_error(res, 400, "bad_request", "\"skus\"[%zu] is not a string", i);
			return -1;
		}
		(*skus)[i] = json_string_value(v);
	}
	o->skus = *skus;
	o->n_skus = json_array_size(list);
	return 0;
}

static void sync_start(struct api *api, const struct api_req *req, struct api_res *res,
		       enum sync_kind kind, const char *message)
{
	struct store *s;
	struct buf why = BUF_INIT;
	char *id = NULL, *conflict = NULL, *loc;
	struct runs_start_opts o;
	const char **skus = NULL;
	json_t *body = NULL;
	enum error err;
	json_t *j;

	if (start_body(req, res, kind, &o, &body, &skus)) {
		json_decref(body);
		free(skus);
		return;
	}
	s = api_store_get(api, res);
	if (!s) {
		json_decref(body);
		free(skus);
		return;
	}
	err = runs_start(api->runs, s, req->user, kind, &o, &id, &conflict, &why);
	switch (err) {
	case ERR_OK:
		api_res_json(res, 202,
			     json_pack("{s:s,s:s,s:s}", "run_id", id, "status", "started",
				       "message", message));
		loc = xasprintf("/ebay/sync/runs/%s", id);
		api_res_header(res, "Location", loc);
		free(loc);
		break;
	case ERR_CONFLICT:
		j = error_json("conflict", buf_str(&why));
		json_object_set_new(j, "run_id", json_string(conflict));
		api_res_json(res, 409, j);
		break;
	case ERR_INVALID:
		api_res_error(res, 400, "ebay_not_linked", "%s", buf_str(&why));
		break;
	case ERR_AUTH:
		api_res_error(res, 401, "unauthorized", "%s", buf_str(&why));
		break;
	case ERR_CANCELLED:
		api_res_error(res, 503, "unavailable", "%s", buf_str(&why));
		break;
	default:
		api_res_error(res, 500, "internal", "cannot start the run: %s", buf_str(&why));
	}
	api_store_put(api, s, err);
	buf_release(&why);
	free(id);
	free(conflict);
	free(skus);
	json_decref(body);
}

void api_sync_inventory(struct api *api, const struct api_req *req, struct api_res *res)
{
	sync_start(api, req, res, SYNC_INVENTORY, "Inventory sync started in background");
}

void api_sync_offers(struct api *api, const struct api_req *req, struct api_res *res)
{
	sync_start(api, req, res, SYNC_OFFERS, "Offers sync started in background");
}

void api_sync_all(struct api *api, const struct api_req *req, struct api_res *res)
{
	sync_start(api, req, res, SYNC_ALL,
		   "Full sync (inventory, then offers) started in background");
}

void api_sync_skus(struct api *api, const struct api_req *req, struct api_res *res)
{
	sync_start(api, req, res, SYNC_SKUS, "SKU sync started in background");
}

void api_sync_refresh(struct api *api, const struct api_req *req, struct api_res *res)
{
	sync_start(api, req, res, SYNC_REFRESH,
		   "Refresh (inventory pages, the Active Inventory Report, getOffers where "
		   "needed) started in background");
}

/* The client names an event the run has not sent (a made-up id, or one of
 * another run): nothing could ever follow it. */
static void past_last(struct api_res *res, long long after, const char *id, long long last)
{
	api_res_error(res, 400, "bad_request",
		      "Last-Event-ID %lld is past the last event of run '%s' (%lld): reconnect "
		      "without it to read the run from its start",
		      after, id, last);
}

void api_events(struct api *api, const struct api_req *req, struct api_res *res)
{
	const char *id = req->param, *text = req->last_event_id;
	struct runs_entry *e;
	struct run_row row;
	struct event_row *rows = NULL;
	struct store *s;
	long long after, last;
	size_t n = 0, i;
	enum error err;
	int finished = 0;

	if (!valid_run_id(id)) {
		no_run(res, id);
		return;
	}
	if (!text || !*text)
		text = request_param(req->target, "last_event_id");
	if (sse_parse_last_id(text, &after)) {
		api_res_error(res, 400, "bad_request",
			      "Last-Event-ID must be a non-negative integer, not '%.32s'", text);
		return;
	}
	e = runs_acquire(api->runs, req->user, id);
	if (e) {
		last = runlog_last_seq(runs_entry_log(e), &finished);
		/* A finished run with nothing after the client's id: 204 tells
		 * EventSource to stop reconnecting. */
		if (last < after || (last == after && finished)) {
			runs_entry_release(e);
			if (last < after)
				past_last(res, after, id, last);
			else
				res->status = 204;
			return;
		}
	} else {
		s = api_store_get(api, res);
		if (!s)
			return;
		memset(&row, 0, sizeof(row));
		err = store_run_get(s, req->user, id, &row);
		/* The event the client names, and whether one follows it. */
		if (!err)
			err = store_events_list(s, id, after > 0 ? after - 1 : 0, 2, &rows, &n);
		if (!err && after > 0 && (n == 0 || rows[0].seq != after))
			past_last(res, after, id, n ? rows[n - 1].seq : 0);
		else if (!err && !store_run_active(row.status) && n == (after > 0 ? 1u : 0u))
			res->status = 204;
		for (i = 0; i < n; i++)
			event_row_release(&rows[i]);
		free(rows);
		if (err == ERR_NOTFOUND)
			no_run(res, id);
		else if (err)
			api_db_error(res, s, err);
		run_row_release(&row);
		api_store_put(api, s, err);
		if (err || res->status == 400 || res->status == 204)
			return;
	}
	res->stream = sse_stream_new(api->hub, req->user, id, e, after);
	if (!res->stream) {
		api_res_error(res, 503, "unavailable",
			      "too many event streams are open; follow the run with GET "
			      "/ebay/sync/runs/%s or try again later",
			      id);
		api_res_header(res, "Retry-After", SSE_RETRY_AFTER_S);
		return;
	}
	res->status = 200;
	res->content_type = "text/event-stream";
}

void api_runs_list(struct api *api, const struct api_req *req, struct api_res *res)
{
	struct run_row *rows = NULL;
	long long limit, offset, total = 0, now = timeutil_wall_ms();
	size_t n = 0, i;
	struct store *s;
	enum error err;
	json_t *arr;

	if (int_param(req, res, "limit", 20, 1, 200, &limit) ||
	    int_param(req, res, "offset", 0, 0, 1000000000, &offset))
		return;
	s = api_store_get(api, res);
	if (!s)
		return;
	err = store_run_list(s, req->user, limit, offset, &rows, &n, &total);
	if (err) {
		api_db_error(res, s, err);
	} else {
		arr = json_array();
		for (i = 0; i < n; i++)
			json_array_append_new(arr, api_run_json(&rows[i], now));
		api_res_json(res, 200,
			     json_pack("{s:o,s:I}", "runs", arr, "total", (json_int_t)total));
	}
	for (i = 0; i < n; i++)
		run_row_release(&rows[i]);
	free(rows);
	api_store_put(api, s, err);
}

/* The job queue's view of run id (when it has a job): its attempts and,
 * while it waits, why. */
static void job_fields(struct store *s, const char *id, json_t *j)
{
	struct job_row job;

	if (store_job_get(s, id, &job))
		return;
	json_object_set_new(j, "attempts", json_integer((json_int_t)job.attempts));
	if (job.wait_reason && !strcmp(job.state, STORE_JOB_QUEUED))
		json_object_set_new(j, "wait_reason", json_string(job.wait_reason));
	job_row_release(&job);
}

void api_run_get(struct api *api, const struct api_req *req, struct api_res *res)
{
	const char *id = req->param;
	struct runs_entry *e;
	struct run_row row;
	struct store *s;
	json_t *j, *failures = NULL;
	enum error err;

	if (!valid_run_id(id)) {
		no_run(res, id);
		return;
	}
	s = api_store_get(api, res);
	if (!s)
		return;
	memset(&row, 0, sizeof(row));
	e = runs_acquire(api->runs, req->user, id);
	err = store_run_get(s, req->user, id, &row);
	if (e && (runs_entry_running(e) || err == ERR_NOTFOUND)) {
		/* Memory is fresher than the row while the run goes on, and
		 * the row may not exist yet in its first milliseconds. */
		run_row_release(&row);
		runs_entry_row(e, &row);
		err = ERR_OK;
	}
	runs_entry_release(e);
	if (!err)
		err = store_run_failures(s, id, &failures);
	if (err == ERR_NOTFOUND) {
		no_run(res, id);
	} else if (err) {
		api_db_error(res, s, err);
	} else {
		j = api_run_json(&row, timeutil_wall_ms());
		job_fields(s, id, j);
		json_object_set_new(j, "failures", failures ? failures : json_array());
		failures = NULL;
		api_res_json(res, 200, j);
	}
	json_decref(failures);
	run_row_release(&row);
	api_store_put(api, s, err);
}

void api_run_stop(struct api *api, const struct api_req *req, struct api_res *res)
{
	const char *id = req->param;
	struct buf why = BUF_INIT;
	struct store *s;
	enum error err;
	json_t *j;

	if (!valid_run_id(id)) {
		no_run(res, id);
		return;
	}
	s = api_store_get(api, res);
	if (!s)
		return;
	err = runs_stop(api->runs, s, req->user, id, &why);
	if (!err) {
		api_res_json(res, 202, json_pack("{s:s,s:s}", "run_id", id, "status", "stopping"));
	} else if (err == ERR_NOTFOUND) {
		no_run(res, id);
	} else if (err == ERR_CONFLICT) {
		j = error_json("conflict", buf_str(&why));
		json_object_set_new(j, "run_id", json_string(id));
		api_res_json(res, 409, j);
	} else {
		api_res_error(res, 500, "internal", "%s", buf_str(&why));
	}
	buf_release(&why);
	api_store_put(api, s, err);
}

/* ---- rows ---------------------------------------------------------------- */

/* Fills a query from the request's parameters; -1 with a 400 in res. */
static int read_query(const struct api_req *req, struct api_res *res, struct store_query *q)
{
	const char *order, *removed;
	long long limit, offset;

	memset(q, 0, sizeof(*q));
	q->user_id = req->user;
	if (text_param(req, res, "removed", &removed))
		return -1;
	if (!removed || !strcmp(removed, "hide"))
		q->removed = STORE_REMOVED_HIDE;
	else if (!strcmp(removed, "only"))
		q->removed = STORE_REMOVED_ONLY;
	else if (!strcmp(removed, "include"))
		q->removed = STORE_REMOVED_INCLUDE;
	else {
		api_res_error(res, 400, "bad_request", "removed must be hide, only or include");
		return -1;
	}
	if (text_param(req, res, "q", &q->search) || text_param(req, res, "status", &q->status) ||
	    text_param(req, res, "condition", &q->condition) ||
	    text_param(req, res, "sku", &q->sku) || text_param(req, res, "sort", &q->sort) ||
	    text_param(req, res, "order", &order) ||
	    int_param(req, res, "limit", 50, 1, 500, &limit) ||
	    int_param(req, res, "offset", 0, 0, 1000000000, &offset))
		return -1;
	if (order && strcmp(order, "asc") && strcmp(order, "desc")) {
		api_res_error(res, 400, "bad_request", "order must be asc or desc");
		return -1;
	}
	q->desc = order && !strcmp(order, "desc");
	q->limit = limit;
	q->offset = offset;
	return 0;
}

/*
 * Whether the client asked for CSV: ?format=csv, or an Accept header naming
 * text/csv (and not ?format=json); -1 with a 400 in res for another format.
 */
static int wants_csv(const struct api_req *req, struct api_res *res)
{
	const char *format = request_param(req->target, "format");

	if (format && !strcmp(format, "csv"))
		return 1;
	if (format && strcmp(format, "json") != 0) {
		api_res_error(res, 400, "bad_request", "format must be json or csv");
		return -1;
	}
	return !format && req->accept && strstr(req->accept, "text/csv") != NULL;
}

/* Answers with a CSV export of kind (see export.h). */
static void send_csv(struct api *api, struct api_res *res, enum export_kind kind,
		     const struct store_query *q, const struct store_change_query *cq)
{
	struct buf why = BUF_INIT;
	struct export *e;
	enum error err;
	char *disposition;

	err = export_new(api->pool, kind, q, cq, &e, &why);
	if (err == ERR_INVALID)
		api_res_error(res, 400, "bad_request", "%s", buf_str(&why));
	else if (err)
		api_res_error(res, 500, "internal", "database error: %s", buf_str(&why));
	buf_release(&why);
	if (err)
		return;
	res->status = 200;
	res->content_type = "text/csv; charset=utf-8";
	res->body_read = export_read;
	res->body_free = export_free;
	res->body_ctx = e;
	disposition = xasprintf("attachment; filename=\"%s\"", export_filename(kind));
	api_res_header(res, "Content-Disposition", disposition);
	free(disposition);
}

static void list_rows(struct api *api, const struct api_req *req, struct api_res *res, int offers)
{
	struct store_query q;
	struct store *s;
	json_t *rows = NULL;
	long long total = 0;
	enum error err;
	int csv;

	if (read_query(req, res, &q))
		return;
	if (!offers)
		q.sku = NULL;
	else
		q.condition = NULL;
	csv = wants_csv(req, res);
	if (csv) {
		if (csv > 0)
			send_csv(api, res, offers ? EXPORT_OFFERS : EXPORT_INVENTORY, &q, NULL);
		return;
	}
	s = api_store_get(api, res);
	if (!s)
		return;
	err = offers ? store_list_offers(s, &q, &rows, &total)
		     : store_list_items(s, &q, &rows, &total);
	if (err)
		api_db_error(res, s, err);
	else
		api_res_json(res, 200,
			     json_pack("{s:o,s:I}", offers ? "offers" : "items", rows, "total",
				       (json_int_t)total));
	api_store_put(api, s, err);
}

void api_inventory_list(struct api *api, const struct api_req *req, struct api_res *res)
{
	list_rows(api, req, res, 0);
}

void api_offers_list(struct api *api, const struct api_req *req, struct api_res *res)
{
	list_rows(api, req, res, 1);
}

void api_changes_list(struct api *api, const struct api_req *req, struct api_res *res)
{
	static const char *const fields[] = {
	    STORE_CHANGE_CREATED,   STORE_CHANGE_REMOVED,    STORE_CHANGE_RESTORED,
	    STORE_CHANGE_PRICE,	    STORE_CHANGE_CURRENCY,   STORE_CHANGE_QUANTITY,
	    STORE_CHANGE_STATUS,    STORE_CHANGE_LISTING_ID, STORE_CHANGE_TITLE,
	    STORE_CHANGE_CONDITION,
	};
	struct store_change_query q;
	struct store *s;
	json_t *rows = NULL, *names;
	long long total = 0, limit, offset, since;
	enum error err;
	size_t i;
	int csv;

	memset(&q, 0, sizeof(q));
	q.user_id = req->user;
	if (text_param(req, res, "run", &q.run_id) || text_param(req, res, "sku", &q.sku) ||
	    text_param(req, res, "field", &q.field) ||
	    int_param(req, res, "since", 0, 0, 253402300799999LL, &since) ||
	    int_param(req, res, "limit", 50, 1, 500, &limit) ||
	    int_param(req, res, "offset", 0, 0, 1000000000, &offset))
		return;
	for (i = 0; q.field && i < sizeof(fields) / sizeof(fields[0]); i++)
		if (!strcmp(q.field, fields[i]))
			break;
	if (q.field && i == sizeof(fields) / sizeof(fields[0])) {
		api_res_error(res, 400, "bad_request",
			      "field must be one of created, removed, restored, price, currency, "
			      "quantity, status, listing_id, title, condition");
		return;
	}
	q.since_ms = since;
	q.limit = limit;
	q.offset = offset;
	csv = wants_csv(req, res);
	if (csv) {
		if (csv > 0)
			send_csv(api, res, EXPORT_CHANGES, NULL, &q);
		return;
	}
	s = api_store_get(api, res);
	if (!s)
		return;
	err = store_list_changes(s, &q, &rows, &total);
	if (err) {
		api_db_error(res, s, err);
	} else {
		/* The codes the page formats itself (docs/web.md). */
		names = json_array();
		for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
			json_array_append_new(names, json_string(fields[i]));
		api_res_json(res, 200,
			     json_pack("{s:o,s:I,s:o}", "changes", rows, "total", (json_int_t)total,
				       "fields", names));
	}
	api_store_put(api, s, err);
}

void api_conditions(struct api *api, const struct api_req *req, struct api_res *res)
{
	json_t *list = json_array();

	(void)api;
	(void)req;
	for (size_t i = 0; i < mapping_n_conditions; i++)
		json_array_append_new(list, json_string(mapping_conditions[i]));
	api_res_json(res, 200, json_pack("{s:o}", "conditions", list));
}

void api_inventory_get(struct api *api, const struct api_req *req, struct api_res *res)
{
	struct store_query q;
	struct store *s;
	json_t *items = NULL, *offers = NULL;
	long long total = 0;
	enum error err;

	if (strlen(req->param) > PARAM_MAX) {
		api_res_error(res, 404, "not_found", "no item with that SKU");
		return;
	}
	s = api_store_get(api, res);
	if (!s)
		return;
	memset(&q, 0, sizeof(q));
	q.user_id = req->user;
	q.sku = req->param;
	q.limit = 1;
	err = store_list_items(s, &q, &items, &total);
	if (!err && json_array_size(items) == 0) {
		api_res_error(res, 404, "not_found", "no item with SKU '%s'", req->param);
		goto out;
	}
	q.limit = 0;
	if (!err)
		err = store_list_offers(s, &q, &offers, &total);
	if (err) {
		api_db_error(res, s, err);
		goto out;
	}
	api_res_json(res, 200,
		     json_pack("{s:O,s:O}", "item", json_array_get(items, 0), "offers", offers));
out:
	json_decref(items);
	json_decref(offers);
	api_store_put(api, s, err);
}

/* ---- health -------------------------------------------------------------- */

void api_healthz(struct api *api, const struct api_req *req, struct api_res *res)
{
	struct buf why = BUF_INIT;
	struct store *s = storepool_get(api->pool, &why);
	struct user_row u;
	enum error err = ERR_DB;

	memset(&u, 0, sizeof(u));
	struct job_stats q;
	enum error qerr = ERR_DB;

	if (s) {
		/* One round trip to the database, one to the queue. */
		err = store_user_get(s, "-healthz-", &u);
		if (err == ERR_NOTFOUND)
			err = ERR_OK;
		else if (err)
			buf_adds(&why, store_errmsg(s));
		user_row_release(&u);
		qerr = err ? err
			   : store_job_stats(s, timeutil_wall_ms() - WORKER_FRESH_MS,
					     timeutil_wall_ms(), &q);
		if (qerr && !err)
			buf_addf(&why, "the job queue: %s", store_errmsg(s));
		storepool_put(api->pool, s, err == ERR_DB || qerr == ERR_DB);
	}
	if (err || qerr)
		api_res_json(res, 503,
			     json_pack("{s:s,s:s,s:s,s:s}", "status", "error", "db",
				       storepool_backend(api->pool), "queue", "error", "error",
				       buf_str(&why)));
	else
		api_res_json(res, 200,
			     json_pack("{s:s,s:s,s:s,s:I,s:I}", "status", "ok", "db",
				       storepool_backend(api->pool), "queue", "ok", "queued",
				       (json_int_t)q.queued, "workers", (json_int_t)q.workers));
	buf_release(&why);
}

/* A status fit for a Prometheus label as it is: [a-z_]+. */
static int plain_label(const char *v)
{
	if (!*v)
		return 0;
	for (; *v; v++)
		if (!((*v >= 'a' && *v <= 'z') || *v == '_'))
			return 0;
	return 1;
}

/* Whether the request may read /metrics: anyone when no metrics token is
 * configured, else only a caller presenting it as a Bearer token (compared
 * in constant time). */
static int metrics_allowed(const struct api *api, const struct api_req *req)
{
	size_t n;

	if (!api->metrics_token || !*api->metrics_token)
		return 1;
	n = strlen(api->metrics_token);
	return req->token && strlen(req->token) == n &&
	       !CRYPTO_memcmp(req->token, api->metrics_token, n);
}

/* The job queue's figures (docs/queue.md). */
static void queue_metrics(struct buf *b, const struct job_stats *q)
{
	buf_addf(b,
		 "# HELP ebaysync_queue_depth jobs waiting for a worker\n"
		 "# TYPE ebaysync_queue_depth gauge\nebaysync_queue_depth %lld\n"
		 "# HELP ebaysync_queue_waiting queued jobs held back until later (admission)\n"
		 "# TYPE ebaysync_queue_waiting gauge\nebaysync_queue_waiting %lld\n"
		 "# HELP ebaysync_jobs jobs in the database by state\n# TYPE ebaysync_jobs gauge\n"
		 "ebaysync_jobs{state=\"queued\"} %lld\nebaysync_jobs{state=\"running\"} %lld\n"
		 "ebaysync_jobs{state=\"done\"} %lld\nebaysync_jobs{state=\"failed\"} %lld\n"
		 "ebaysync_jobs{state=\"cancelled\"} %lld\n"
		 "# HELP ebaysync_workers worker processes with a fresh heartbeat\n"
		 "# TYPE ebaysync_workers gauge\nebaysync_workers %lld\n",
		 q->queued, q->waiting, q->queued, q->running, q->done, q->failed, q->cancelled,
		 q->workers);
}

void api_metrics(struct api *api, const struct api_req *req, struct api_res *res)
{
	static const char *const names[] = {STORE_RUN_QUEUED,	 STORE_RUN_RUNNING,
					    STORE_RUN_DONE,	 STORE_RUN_FAILED,
					    STORE_RUN_CANCELLED, STORE_RUN_INTERRUPTED};
	json_t *counts = NULL, *v;
	const char *status;
	struct job_stats q;
	struct store *s;
	enum error err;
	size_t i;

	if (!metrics_allowed(api, req)) {
		api_res_header(res, "WWW-Authenticate", "Bearer realm=\"ebaysync-metrics\"");
		api_res_error(res, 401, "unauthorized",
			      "/metrics needs 'Authorization: Bearer <metrics token>' "
			      "(EBAYSYNC_METRICS_TOKEN of this server)");
		return;
	}
	s = api_store_get(api, res);
	if (!s)
		return;
	/* One aggregate query: the cost does not grow with the number of
	 * users, and no per-user figure is exposed. */
	err = store_run_counts(s, &counts);
	if (!err)
		err = store_job_stats(s, timeutil_wall_ms() - WORKER_FRESH_MS, timeutil_wall_ms(),
				      &q);
	if (err) {
		api_db_error(res, s, err);
		api_store_put(api, s, err);
		return;
	}
	api_store_put(api, s, err);
	buf_reset(&res->body);
	metrics_render(&res->body);
	buf_adds(&res->body, "# HELP ebaysync_runs sync runs in the database by status\n"
			     "# TYPE ebaysync_runs gauge\n");
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		v = json_object_get(counts, names[i]);
		buf_addf(&res->body, "ebaysync_runs{status=\"%s\"} %lld\n", names[i],
			 v ? (long long)json_integer_value(v) : 0LL);
	}
	json_object_foreach(counts, status, v)
	{
		for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (!strcmp(status, names[i]))
				break;
		if (i == sizeof(names) / sizeof(names[0]) && plain_label(status))
			buf_addf(&res->body, "ebaysync_runs{status=\"%s\"} %lld\n", status,
				 (long long)json_integer_value(v));
	}
	json_decref(counts);
	buf_addf(&res->body,
		 "# HELP ebaysync_runs_local runs executing in this process\n"
		 "# TYPE ebaysync_runs_local gauge\nebaysync_runs_local %zu\n",
		 runs_active(api->runs));
	queue_metrics(&res->body, &q);
	quota_metrics(api->quota, api->pool, &res->body);
	res->status = 200;
	res->content_type = "text/plain; version=0.0.4; charset=utf-8";
}
