/*
 * eBay's Developer Analytics API, the client side: how many calls of an
 * API's daily quota are left, and when it resets, read from eBay
 * (getRateLimits for the application, with an application token;
 * getUserRateLimits with a user's token) rather than guessed. The answer is
 * cached for a minute: eBay counts every call, this one too.
 *
 * Where eBay cannot tell (404, 204, a token without the scope, the network)
 * the read fails with a reason, and the caller (quota.c) falls back to the
 * configured daily quota minus the ledger.
 */
#ifndef ANALYTICS_H
#define ANALYTICS_H

#include <stddef.h>

#include "buf.h"
#include "ebay.h"
#include "error.h"

#define ANALYTICS_PATH_APP  "/developer/analytics/v1_beta/rate_limit/"
#define ANALYTICS_PATH_USER "/developer/analytics/v1_beta/user_rate_limit/"
/* Cap on an answer's body (eBay's full answer is a few tens of KiB). */
#define ANALYTICS_BODY_MAX (1024 * 1024)
/* How long an answer is reused (ms). */
#define ANALYTICS_CACHE_MS 60000

/* One quota of one API: the binding rate of its resources (the one with
 * the fewest calls left). */
struct analytics_rate {
	long long limit;      /* calls per window */
	long long remaining;  /* calls left in this window */
	long long reset_ms;   /* wall ms when remaining goes back to limit; 0: not said */
	long long window_s;   /* timeWindow: the window's length in seconds; 0: not said */
	char resource[128];   /* the resource whose rate this is */
	long long fetched_ms; /* wall ms of the answer */
};

/*
 * Reads a RateLimitsResponse body (len bytes) and picks the rate of
 * api_context/api_name ("sell"/"inventory"): among that API's resources
 * and rates, the one with the fewest calls left. ERR_PARSE when the body is
 * not such an answer (not JSON, rateLimits not an array, a count that is
 * not a whole number from 0 to 2^31-1, a reset that is not ISO 8601, more
 * remaining than the limit), ERR_NOTFOUND when the API is not in it; the
 * reason goes to why either way.
 */
enum error analytics_parse(const char *body, size_t len, const char *api_context,
			   const char *api_name, struct analytics_rate *out, struct buf *why);

/* "YYYY-MM-DDTHH:MM:SS[.fff]Z" to wall ms; -1 when it is not that. */
long long analytics_parse_time(const char *text);

struct analytics_config {
	const char *api_base; /* no trailing slash; EBAY_API_PRODUCTION if NULL */
	int user_scope;	      /* 1: getUserRateLimits (a user token); 0: getRateLimits */
	const char *api_context, *api_name; /* NULL: "sell", "inventory" */
	ebay_token_fn token;		    /* the token source (ebay.h); required */
	void *token_ctx;
	long timeout_ms; /* 0: 10000 */
	long cache_ms;	 /* 0: ANALYTICS_CACHE_MS */
};

struct analytics;

/* A client; cfg's strings are copied. Free with analytics_free(). */
struct analytics *analytics_new(const struct analytics_config *cfg);
void analytics_free(struct analytics *a);

/*
 * The rate of the configured API: the cached answer while younger than
 * cache_ms, else a new call to eBay (GET, Bearer token, one attempt). A
 * failure is cached as long, so that an eBay without the API is not asked
 * at every admission: ERR_NOTFOUND (404, 204 or the API not in the
 * answer), ERR_AUTH (401, or 403: the token lacks the scope), ERR_HTTP
 * (network), ERR_EBAY (another status), ERR_PARSE or ERR_TOOBIG, with a
 * reason that says eBay's quota could not be read, in why. Thread-safe.
 */
enum error analytics_read(struct analytics *a, struct analytics_rate *out, struct buf *why);

/*
 * A token source (ebay_token_fn) of application tokens for getRateLimits:
 * ctx is a const struct oauth_config (oauth.h) with the client id and
 * secret; each call mints one with the client_credentials grant (the
 * answer cache keeps that to once a minute at most).
 */
enum error analytics_app_token(void *ctx, int refresh, char **token, struct buf *why);

/* Forgets the cached answer. */
void analytics_invalidate(struct analytics *a);

#endif
