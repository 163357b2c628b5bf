/*
 * The eBay Sell Inventory REST client, on libcurl's multi interface.
 *
 * Requests are submitted with a completion callback and driven by
 * ebay_poll(); the client owns pacing (a shared struct pacer), retries with
 * exponential backoff and jitter (429, 5xx, errorIds 25001/25025, resets,
 * timeouts, truncated or malformed bodies; Retry-After honoured), and one
 * token refresh when eBay answers 401 errorId 1001 or 403 errorId 1100. The
 * callback sees only the final outcome. The client is used by one thread.
 *
 * The request log (fetch_inventory_items_request / _success / _failed, and
 * the same for fetch_offers) goes to the log callback with durations, HTTP
 * status and eBay errorId: never the token.
 */
#ifndef EBAY_H
#define EBAY_H

#include <jansson.h>
#include <stddef.h>

#include "buf.h"
#include "error.h"

#define EBAY_API_PRODUCTION "https://api.ebay.com"
#define EBAY_API_SANDBOX    "https://api.sandbox.ebay.com"

struct ebay_config {
	const char *api_base;	    /* no trailing slash; EBAY_API_PRODUCTION if NULL */
	const char *marketplace_id; /* X-EBAY-C-MARKETPLACE-ID; "EBAY_US" if NULL */
	long connect_timeout_ms;    /* 0: 10000 */
	long request_timeout_ms;    /* whole request; 0: 60000 */
	size_t max_body;	    /* response cap; 0: 32 MiB */
	int max_attempts;	    /* per request, first try included; 0: 8 */
	long backoff_base_ms;	    /* 0: 200 */
	long backoff_max_ms;	    /* 0: 30000 */
	int concurrency;	    /* transfers at once; 0: 8 */
	double max_rps;		    /* pacer ceiling in requests/second; 0: none */
	long token_recheck_ms;	    /* ask the token source again after; 0: 30000 */
	const char *user;	    /* whose calls the quota ledger counts (ledger.h); NULL: none */
};

enum ebay_req {
	EBAY_REQ_INVENTORY, /* getInventoryItems: logs fetch_inventory_items_* */
	EBAY_REQ_OFFERS,    /* getOffers: logs fetch_offers_* */
	EBAY_REQ_BULK,	    /* bulkGetInventoryItem: logs bulk_get_inventory_item_* */
	EBAY_REQ_OTHER,
};

/*
 * The token source. Called with refresh 0 for the current access token and
 * with refresh 1 after eBay rejected it; stores a malloc'd token in *token
 * (the client frees it). An error (ERR_AUTH with a reason in why) ends the
 * request with that error; after a refused token, with ERR_AUTH, or with
 * ERR_RELINK when the source says that only linking the account again helps.
 */
typedef enum error (*ebay_token_fn)(void *ctx, int refresh, char **token, struct buf *why);

struct ebay_log_entry {
	const char *event; /* "fetch_offers_request", "fetch_offers_success", ... */
	enum ebay_req kind;
	const char *path;  /* path and query, no host, no token */
	const char *label; /* what the caller named the request (a SKU, a page) */
	long status;	   /* HTTP status; 0 before the answer or on transport errors */
	long error_id;	   /* eBay errorId, 0 if none */
	long long duration_ms;
	int attempt;	       /* 1-based */
	long long retry_in_ms; /* on a retry: the wait before the next attempt; else -1 */
	const char *message;   /* eBay's message or the transport error; NULL on success */
};

typedef void (*ebay_log_fn)(void *ctx, const struct ebay_log_entry *e);

struct ebay_response {
	enum error err;	       /* ERR_OK: 2xx and a JSON body */
	long status;	       /* last HTTP status, 0 if none */
	json_t *json;	       /* the parsed body when err is ERR_OK; owned */
	long error_id;	       /* first errors[].errorId of an error body, else 0 */
	char message[512];     /* for humans: eBay's message or the transport error */
	long long duration_ms; /* of the last attempt */
	int attempts;
};

/* Frees r->json and clears r. */
void ebay_response_release(struct ebay_response *r);

/* Called once per submitted request with its final outcome. resp is valid
 * only during the call; take a json_incref() of resp->json to keep it. */
typedef void (*ebay_done_fn)(void *ctx, const struct ebay_response *resp);

struct ebay_client;
struct pacer;

/*
 * A new client. cfg is copied (its strings too). pacer may be NULL (the
 * client then makes its own from cfg->max_rps) and is not owned. log may be
 * NULL. Free with ebay_client_free().
 */
struct ebay_client *ebay_client_new(const struct ebay_config *cfg, struct pacer *pacer,
				    ebay_token_fn token, void *token_ctx, ebay_log_fn log,
				    void *log_ctx);
/* Cancels what is pending (their callbacks run with ERR_CANCELLED) and frees. */
void ebay_client_free(struct ebay_client *c);

/* Queues a GET of url (absolute). label names it in logs; both are copied. */
enum error ebay_submit(struct ebay_client *c, enum ebay_req kind, const char *url,
		       const char *label, ebay_done_fn done, void *ctx);
/* Queues a POST of json_body (copied) to url, e.g. bulkGetInventoryItem;
 * retried like a GET (the calls this client makes are all reads). */
enum error ebay_submit_post(struct ebay_client *c, enum ebay_req kind, const char *url,
			    const char *json_body, const char *label, ebay_done_fn done, void *ctx);
/* Runs transfers, retries and callbacks for at most timeout_ms; returns
 * sooner when nothing is pending. */
enum error ebay_poll(struct ebay_client *c, int timeout_ms);
/* Requests submitted and not yet completed (in flight or waiting). */
size_t ebay_pending(const struct ebay_client *c);
/* Ends every pending request now: callbacks run with ERR_CANCELLED. */
void ebay_cancel_all(struct ebay_client *c);

/* Blocking: submit and poll until done. out is released by the caller. */
enum error ebay_get(struct ebay_client *c, enum ebay_req kind, const char *url, const char *label,
		    struct ebay_response *out);

/* bulkGetInventoryItem URL (malloc'd); the body is {"requests":[{"sku"}]}
 * with at most EBAY_BULK_MAX SKUs. */
#define EBAY_BULK_MAX 25
char *ebay_bulk_url(const struct ebay_config *cfg);
/* getInventoryItems URL for limit and offset (malloc'd). */
char *ebay_inventory_url(const struct ebay_config *cfg, int limit, long long offset);
/* getOffers URL for one SKU, URL-encoded (malloc'd); marketplace_id is not
 * sent as a filter so offers of every marketplace come back. */
char *ebay_offers_url(const struct ebay_config *cfg, const char *sku, int limit);

/* One page of a paged answer (InventoryItems or Offers). Values may arrive
 * as numbers or strings. Pointers borrow from body. */
struct ebay_page {
	json_t *records;  /* the inventoryItems or offers array (maybe empty) */
	const char *next; /* NULL when there is no next page */
	long long total;  /* -1 when absent; else 0..EBAY_TOTAL_MAX */
	long long limit;  /* -1 when absent or ignored; else 1..EBAY_LIMIT_MAX */
	/* "" or why limit or size was ignored, for a warning: the walk needs
	 * neither, so nonsense there does not refuse the page. */
	char warning[256];
};

/* eBay's contract declares total an int32; and no page holds more than 200
 * records (200 is eBay's largest limit; a little room is left). */
#define EBAY_TOTAL_MAX 2147483647LL
#define EBAY_LIMIT_MAX 1000

/*
 * Reads a page; array_key is "inventoryItems" or "offers". ERR_PARSE with a
 * reason in why when the body is not such a page: the records are not an
 * array, next is not a string, total is not a whole number within
 * 0..EBAY_TOTAL_MAX. A limit or size that is not a plausible whole number
 * is ignored, with the reason in out->warning.
 */
enum error ebay_parse_page(const json_t *body, const char *array_key, struct ebay_page *out,
			   struct buf *why);

/*
 * Guards the walk along `next` links: each next must be a URL on the same
 * scheme and host as the first request, never seen before in this walk,
 * and the number of pages stays under what total implies plus a margin (the
 * page size taken from limit, or from the records of a page holding fewer),
 * and under EBAY_PAGER_HARD_CAP whatever total says.
 */
#define EBAY_PAGER_HARD_CAP 100000
struct ebay_pager {
	char *origin; /* scheme://host[:port] of the first URL */
	char **seen;  /* every URL requested in this walk */
	size_t n_seen;
	long long max_pages; /* 0 until a total is known */
};

void ebay_pager_init(struct ebay_pager *p, const char *first_url);
void ebay_pager_release(struct ebay_pager *p);
/*
 * Given the page just read (its next link, total and limit), stores in *url
 * the next URL to fetch (malloc'd), or NULL when the walk is over. next may
 * be relative ("/sell/...") or absolute. ERR_PARSE (reason in why) for a
 * next that repeats, points elsewhere, is not a URL, or passes the cap.
 */
enum error ebay_pager_next(struct ebay_pager *p, const struct ebay_page *page, char **url,
			   struct buf *why);

/* Reads an eBay error body {"errors":[{errorId, message, longMessage}]}:
 * the first errorId (0 if none) and a message into msg. */
long ebay_parse_error(const char *body, size_t len, char *msg, size_t msg_size);

#endif
