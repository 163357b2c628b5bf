/*
 * What ebaysync serve reads from an HTTP request before any handler runs:
 * the request target (path segments and query parameters, percent-decoded
 * here rather than by libmicrohttpd so that an encoded "/" in a SKU stays
 * inside its segment), cookies and the Bearer credential. Everything here is
 * fed by the network, so every input has a hard cap and every failure says
 * which part of the request was wrong. Pure functions: no I/O, fuzzed by
 * tests/fuzz/fuzz_query.c.
 */
#ifndef REQUEST_H
#define REQUEST_H

#include <stddef.h>

#include "buf.h"
#include "encoding.h"
#include "error.h"

#define REQUEST_TARGET_MAX   8192 /* bytes of path and query together */
#define REQUEST_SEGMENTS_MAX 16
#define REQUEST_PARAMS_MAX   32

struct request_param {
	char *name;  /* decoded; never NULL */
	char *value; /* decoded; "" for "?flag" */
};

struct request_target {
	char *segments[REQUEST_SEGMENTS_MAX]; /* decoded path segments, "/a/b" -> "a","b" */
	size_t n_segments;
	int trailing_slash; /* the path ended in "/" (and is not just "/") */
	struct request_param params[REQUEST_PARAMS_MAX];
	size_t n_params;
};

/*
 * Parses an origin-form target ("/path?query"); an absolute-form one
 * ("http://host/path?query") is accepted and its scheme and host ignored.
 * Path segments are split on "/" first and then percent-decoded ("+" stays
 * "+"); query names and values are decoded with "+" as a space. Fails with
 * ERR_TOOBIG past the caps above and ERR_INVALID for a target that is not
 * a path, a bad or NUL escape; a reason goes to why (required, as in every
 * function here that takes one). On failure
 * out holds nothing to release. Release with request_target_release().
 */
enum error request_parse_target(const char *target, struct request_target *out, struct buf *why);
void request_target_release(struct request_target *t);

/* The first value of the query parameter name, or NULL. Borrowed from t. */
const char *request_param(const struct request_target *t, const char *name);

/*
 * The query parameter name as an integer in [min, max]; def when absent or
 * empty. ERR_INVALID (why: "limit must be an integer from 1 to 500") for
 * anything else.
 */
enum error request_param_int(const struct request_target *t, const char *name, long long def,
			     long long min, long long max, long long *out, struct buf *why);

/*
 * The value of cookie name in a Cookie header ("a=1; b=2"), malloc'd, or
 * NULL when absent. Values in double quotes lose the quotes.
 */
char *request_cookie(const char *header, const char *name);

/*
 * The credential of an "Authorization: Bearer <token>" header (scheme
 * matched case-insensitively), malloc'd. ERR_INVALID (reason in why) for
 * another scheme or an empty token; NULL header: ERR_NOTFOUND.
 */
enum error request_bearer(const char *header, char **token, struct buf *why);

#endif
