/*
 * The endpoints of ebaysync serve (docs/api.md): logging in, starting,
 * following, stopping and listing sync runs, and reading the synced rows.
 * server.c parses the request, authenticates the caller and routes here;
 * a handler fills a struct api_res (a JSON body, or an event stream) and
 * never sees libmicrohttpd. Errors are {"error": {"code", "message"}} with
 * the status the code implies. No response ever holds an eBay token.
 */
#ifndef API_H
#define API_H

#include <jansson.h>
#include <stddef.h>

#include "buf.h"
#include "error.h"
#include "request.h"

struct accounts;
struct auth;
struct runs;
struct secret_key;
struct sse_hub;
struct sse_stream;
struct storepool;
struct run_row;
struct throttle;

/* What the handlers share; owned by the caller of server_start(). */
struct api {
	struct storepool *pool;
	struct runs *runs;
	struct auth *auth;
	struct sse_hub *hub;
	struct accounts *accounts;    /* eBay OAuth (account.h); NULL when not configured */
	struct throttle *throttle;    /* failed logins (throttle.h); NULL: none */
	const char *metrics_token;    /* /metrics needs it as Bearer; NULL: open */
	long long token_ttl_s;	      /* lifetime of a login's token */
	int cookie_secure;	      /* add "Secure" to the login cookie (behind HTTPS) */
	const struct secret_key *key; /* seals webhook secrets (webhook.h) */
	int allow_private_webhooks;   /* serve --allow-private-webhooks */
	long long schedule_min_s;     /* serve --schedule-min-interval; 0: 60 */
	/* quota: eBay's daily quota (quota.h); NULL: not shown */
	struct quota *quota;
};

struct api_req {
	const char *method;
	const struct request_target *target;
	const char *param; /* the route's {run_id} or {sku}, decoded; else NULL */
	const char *user;  /* the authenticated user; NULL on public routes */
	const char *body;  /* NUL-terminated; "" when none */
	size_t body_len;
	const char *last_event_id; /* the Last-Event-ID header, or NULL */
	const char *cookie;	   /* the Cookie header, or NULL */
	const char *client;	   /* the client's address ("127.0.0.1"), or NULL */
	const char *token;	   /* the token presented (Bearer, or cookie), or NULL */
	const char *accept;	   /* the Accept header, or NULL */
};

#define API_HEADERS_MAX 4

struct api_res {
	unsigned status;
	const char *content_type; /* static; NULL: application/json */
	struct buf body;
	char *headers[API_HEADERS_MAX][2]; /* extra name/value pairs, malloc'd */
	size_t n_headers;
	struct sse_stream *stream; /* an event stream instead of a body */
	/*
	 * Or a body made as it is sent (a CSV export): body_read fills up to
	 * max bytes and returns how many, -1 at the end or -2 on a failure
	 * (libmicrohttpd's content reader convention); body_free frees
	 * body_ctx, by api_res_release() unless the server took it over.
	 */
	long (*body_read)(void *ctx, char *out, size_t max);
	void (*body_free)(void *ctx);
	void *body_ctx;
};

void api_res_init(struct api_res *res);
void api_res_release(struct api_res *res);
/* Sets a JSON body (stealing j) and status. */
void api_res_json(struct api_res *res, unsigned status, json_t *j);
/* Sets an error body {"error":{"code","message"}}. */
void api_res_error(struct api_res *res, unsigned status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void api_res_header(struct api_res *res, const char *name, const char *value);

/* A store from the pool, or NULL after a 503 in res; give it back with
 * api_store_put(), which drops a connection that failed (err ERR_DB). */
struct store *api_store_get(struct api *api, struct api_res *res);
void api_store_put(struct api *api, struct store *s, enum error err);
/* The answer to a failed store call: 400 for ERR_INVALID, 404 for
 * ERR_NOTFOUND, else 500, with the store's message. */
void api_db_error(struct api_res *res, struct store *s, enum error err);

/* A run as the API shows it: id, kind, status, counts, started_at,
 * finished_at, duration_ms, error (for people) and error_code (for
 * programs: error_code_name(), or null). */
json_t *api_run_json(const struct run_row *r, long long now_ms);

typedef void (*api_handler_fn)(struct api *api, const struct api_req *req, struct api_res *res);

/* POST /auth/login, POST /auth/logout, GET /ebay/me */
void api_login(struct api *api, const struct api_req *req, struct api_res *res);
void api_logout(struct api *api, const struct api_req *req, struct api_res *res);
void api_me(struct api *api, const struct api_req *req, struct api_res *res);
/* POST /ebay/sync/inventory | offers | all */
void api_sync_inventory(struct api *api, const struct api_req *req, struct api_res *res);
void api_sync_offers(struct api *api, const struct api_req *req, struct api_res *res);
void api_sync_all(struct api *api, const struct api_req *req, struct api_res *res);
void api_sync_skus(struct api *api, const struct api_req *req, struct api_res *res);
/* POST /ebay/sync/refresh, body {"report_only": bool} optional. */
void api_sync_refresh(struct api *api, const struct api_req *req, struct api_res *res);
/* GET /ebay/sync/events/{run_id} */
void api_events(struct api *api, const struct api_req *req, struct api_res *res);
/* GET /ebay/sync/runs, GET /ebay/sync/runs/{run_id}, POST .../{run_id}/stop */
void api_runs_list(struct api *api, const struct api_req *req, struct api_res *res);
void api_run_get(struct api *api, const struct api_req *req, struct api_res *res);
void api_run_stop(struct api *api, const struct api_req *req, struct api_res *res);
/* GET /ebay/inventory, GET /ebay/inventory/{sku}, GET /ebay/offers */
void api_inventory_list(struct api *api, const struct api_req *req, struct api_res *res);
void api_inventory_get(struct api *api, const struct api_req *req, struct api_res *res);
void api_offers_list(struct api *api, const struct api_req *req, struct api_res *res);
/* GET /ebay/changes: the change log, newest first (docs/api.md). The
 * listings and this one answer CSV with ?format=csv or Accept: text/csv. */
void api_changes_list(struct api *api, const struct api_req *req, struct api_res *res);
/* GET /ebay/conditions: {"conditions": [...]}, the condition values a
 * stored item can hold (mapping_conditions), for the page's filter. */
void api_conditions(struct api *api, const struct api_req *req, struct api_res *res);
/* GET /ebay/oauth/start, GET /ebay/oauth/callback, GET /ebay/oauth/status
 * (api_oauth.c): linking the caller's eBay account. */
void api_oauth_start(struct api *api, const struct api_req *req, struct api_res *res);
void api_oauth_callback(struct api *api, const struct api_req *req, struct api_res *res);
void api_oauth_status(struct api *api, const struct api_req *req, struct api_res *res);
/* GET /healthz, GET /metrics */
void api_healthz(struct api *api, const struct api_req *req, struct api_res *res);
void api_metrics(struct api *api, const struct api_req *req, struct api_res *res);
/* POST /auth/keys, GET /auth/keys, DELETE /auth/keys/{id} (api_keys.c):
 * the caller's API keys (apikey.h). */
void api_keys_create(struct api *api, const struct api_req *req, struct api_res *res);
void api_keys_list(struct api *api, const struct api_req *req, struct api_res *res);
void api_keys_revoke(struct api *api, const struct api_req *req, struct api_res *res);
/* /ebay/webhooks[/{id}], /ebay/webhooks/deliveries[/{id}/redeliver]
 * (api_webhooks.c): the caller's webhook endpoints and deliveries. */
void api_webhooks_create(struct api *api, const struct api_req *req, struct api_res *res);
void api_webhooks_list(struct api *api, const struct api_req *req, struct api_res *res);
void api_webhooks_update(struct api *api, const struct api_req *req, struct api_res *res);
void api_webhooks_delete(struct api *api, const struct api_req *req, struct api_res *res);
void api_webhooks_deliveries(struct api *api, const struct api_req *req, struct api_res *res);
void api_webhooks_redeliver(struct api *api, const struct api_req *req, struct api_res *res);
/* /ebay/schedules[/{id}] (api_schedules.c): the caller's sync schedules
 * (scheduler.h). */
void api_schedules_create(struct api *api, const struct api_req *req, struct api_res *res);
void api_schedules_list(struct api *api, const struct api_req *req, struct api_res *res);
void api_schedules_get(struct api *api, const struct api_req *req, struct api_res *res);
void api_schedules_update(struct api *api, const struct api_req *req, struct api_res *res);
void api_schedules_delete(struct api *api, const struct api_req *req, struct api_res *res);
/* quota: GET /ebay/quota (api_quota.c): today's eBay calls of the install
 * and of the caller, what is left and when it resets. */
void api_quota_get(struct api *api, const struct api_req *req, struct api_res *res);

#endif
