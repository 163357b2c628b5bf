/*
 * eBay's Developer Analytics API client (see analytics.h): one blocking GET
 * with libcurl, its answer read strictly (every count a whole number in
 * eBay's int32 range, the reset an ISO 8601 UTC time), and a one-minute
 * cache of the answer or of the failure under a mutex.
 */
#include "analytics.h"

#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "ledger.h"
#include "oauth.h"
#include "timeutil.h"
#include "xalloc.h"
#include "banned.h"

#define INT32_MAX_LL 2147483647LL

long long analytics_parse_time(const char *text)
{
	struct tm tm = {0};
	const char *p;
	long long ms = 0;
	int n = 0, frac = 0, digits = 0;

	if (!text || strlen(text) < 20 || strlen(text) > 40)
		return -1;
	if (sscanf(text, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
		   &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6 ||
	    n != 19)
		return -1;
	for (int i = 0; i < 19; i++) { /* sscanf takes signs and spaces: refuse them */
		char c = text[i];
		if ((i == 4 || i == 7)	   ? c != '-'
		    : i == 10		   ? c != 'T'
		    : (i == 13 || i == 16) ? c != ':'
					   : (c < '0' || c > '9'))
			return -1;
	}
	p = text + 19;
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9'; p++, digits++)
			if (digits < 3)
				frac = frac * 10 + (*p - '0');
		if (!digits)
			return -1;
		for (int d = digits; d < 3; d++)
			frac *= 10;
	}
	if (strcmp(p, "Z"))
		return -1;
	if (tm.tm_year < 1970 || tm.tm_year > 9999 || tm.tm_mon < 1 || tm.tm_mon > 12 ||
	    tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
	    tm.tm_sec > 60)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	ms = (long long)timegm(&tm);
	if (ms < 0)
		return -1;
	return ms * 1000 + frac;
}

/* A count of the answer: a whole JSON number within 0..INT32_MAX. */
static int count_of(const json_t *v, long long *out)
{
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    json_integer_value(v) > INT32_MAX_LL)
		return -1;
	*out = json_integer_value(v);
	return 0;
}

/* Reads one Rate into out; -1 with the reason in why. */
static int read_rate(const json_t *rate, struct analytics_rate *out, struct buf *why)
{
	const json_t *reset = json_object_get(rate, "reset"),
		     *tw = json_object_get(rate, "timeWindow");

	if (!json_is_object(rate)) {
		buf_adds(why, "a rate is not an object");
		return -1;
	}
	if (count_of(json_object_get(rate, "limit"), &out->limit) ||
	    count_of(json_object_get(rate, "remaining"), &out->remaining)) {
		buf_adds(why, "a rate's limit or remaining is not a whole number from 0 to 2^31-1");
		return -1;
	}
	if (out->remaining > out->limit) {
		buf_addf(why, "a rate has more calls remaining (%lld) than its limit (%lld)",
			 out->remaining, out->limit);
		return -1;
	}
	out->reset_ms = 0;
	if (reset) {
		out->reset_ms = analytics_parse_time(json_string_value(reset));
		if (out->reset_ms < 0) {
			buf_adds(why, "a rate's reset is not an ISO 8601 UTC time");
			return -1;
		}
	}
	out->window_s = 0;
	if (tw && count_of(tw, &out->window_s)) {
		buf_adds(why, "a rate's timeWindow is not a whole number of seconds");
		return -1;
	}
	return 0;
}

enum error analytics_parse(const char *body, size_t len, const char *api_context,
			   const char *api_name, struct analytics_rate *out, struct buf *why)
{
	json_t *root = NULL, *limits, *rl, *res, *rate;
	json_error_t jerr;
	size_t i, j, k;
	enum error err = ERR_NOTFOUND;
	int found = 0;

	memset(out, 0, sizeof(*out));
	root = json_loadb(body ? body : "", len, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(root)) {
		buf_addf(why, "eBay's rate limits answer is not a JSON object%s%s",
			 root ? "" : ": ", root ? "" : jerr.text);
		err = ERR_PARSE;
		goto out;
	}
	limits = json_object_get(root, "rateLimits");
	if (!limits) /* no API limited: nothing about this one */
		goto notfound;
	if (!json_is_array(limits)) {
		buf_adds(why, "eBay's rate limits answer has a rateLimits that is not an array");
		err = ERR_PARSE;
		goto out;
	}
	json_array_foreach(limits, i, rl)
	{
		json_t *resources = json_object_get(rl, "resources");

		if (!json_is_object(rl) || !json_is_string(json_object_get(rl, "apiContext")) ||
		    !json_is_string(json_object_get(rl, "apiName"))) {
			buf_addf(why, "rateLimits[%zu] lacks a string apiContext and apiName", i);
			err = ERR_PARSE;
			goto out;
		}
		if (strcasecmp(json_string_value(json_object_get(rl, "apiContext")), api_context) ||
		    strcasecmp(json_string_value(json_object_get(rl, "apiName")), api_name))
			continue;
		if (resources && !json_is_array(resources)) {
			buf_addf(why, "rateLimits[%zu].resources is not an array", i);
			err = ERR_PARSE;
			goto out;
		}
		json_array_foreach(resources, j, res)
		{
			json_t *rates = json_object_get(res, "rates");
			const char *name = json_string_value(json_object_get(res, "name"));

			if (!json_is_object(res) || (rates && !json_is_array(rates))) {
				buf_addf(why, "rateLimits[%zu].resources[%zu] is not a resource", i,
					 j);
				err = ERR_PARSE;
				goto out;
			}
			json_array_foreach(rates, k, rate)
			{
				struct analytics_rate r = {0};
				struct buf inner = BUF_INIT;

				if (read_rate(rate, &r, &inner)) {
					buf_addf(why,
						 "rateLimits[%zu].resources[%zu].rates[%zu]: %s", i,
						 j, k, buf_str(&inner));
					buf_release(&inner);
					err = ERR_PARSE;
					goto out;
				}
				buf_release(&inner);
				if (!found || r.remaining < out->remaining) {
					*out = r;
					snprintf(out->resource, sizeof(out->resource), "%s",
						 name ? name : "");
					found = 1;
				}
			}
		}
	}
	if (found) {
		err = ERR_OK;
		goto out;
	}
notfound:
	buf_addf(why, "eBay's rate limits say nothing of the %s %s API", api_context, api_name);
	err = ERR_NOTFOUND;
out:
	json_decref(root);
	return err;
}

struct analytics {
	struct analytics_config cfg;
	char *api_base, *api_context, *api_name;
	pthread_mutex_t lock;
	int have;	     /* a cached outcome */
	long long cached_ms; /* monotonic ms of it */
	enum error cached_err;
	struct analytics_rate cached;
	char cached_why[320];
};

struct analytics *analytics_new(const struct analytics_config *cfg)
{
	struct analytics *a = xcalloc(1, sizeof(*a));
	size_t n;

	a->cfg = *cfg;
	a->api_base =
	    xstrdup(cfg->api_base && *cfg->api_base ? cfg->api_base : EBAY_API_PRODUCTION);
	n = strlen(a->api_base);
	while (n > 0 && a->api_base[n - 1] == '/')
		a->api_base[--n] = '\0';
	a->api_context = xstrdup(cfg->api_context ? cfg->api_context : "sell");
	a->api_name = xstrdup(cfg->api_name ? cfg->api_name : "inventory");
	if (a->cfg.timeout_ms <= 0)
		a->cfg.timeout_ms = 10000;
	if (a->cfg.cache_ms <= 0)
		a->cfg.cache_ms = ANALYTICS_CACHE_MS;
	pthread_mutex_init(&a->lock, NULL);
	return a;
}

void analytics_free(struct analytics *a)
{
	if (!a)
		return;
	pthread_mutex_destroy(&a->lock);
	free(a->api_base);
	free(a->api_context);
	free(a->api_name);
	free(a);
}

void analytics_invalidate(struct analytics *a)
{
	pthread_mutex_lock(&a->lock);
	a->have = 0;
	pthread_mutex_unlock(&a->lock);
}

struct sink {
	struct buf body;
	int toobig;
};

static size_t on_body(char *data, size_t size, size_t n, void *ctx)
{
	struct sink *k = ctx;

	if (k->body.len + size * n > ANALYTICS_BODY_MAX) {
		k->toobig = 1;
		return 0;
	}
	buf_add(&k->body, data, size * n);
	return size * n;
}

/* One call to eBay; the outcome into out or why. */
static enum error fetch(struct analytics *a, struct analytics_rate *out, struct buf *why)
{
	const char *op = a->cfg.user_scope ? "getUserRateLimits" : "getRateLimits";
	struct sink k = {BUF_INIT, 0};
	struct curl_slist *hdrs = NULL;
	struct buf twhy = BUF_INIT;
	char *token = NULL, *url, *line;
	long status = 0;
	enum error err;
	CURLcode rc;
	CURL *e;

	err = a->cfg.token(a->cfg.token_ctx, 0, &token, &twhy);
	if (err) {
		buf_addf(why, "%s: no token: %s", op, buf_str(&twhy));
		buf_release(&twhy);
		return err;
	}
	buf_release(&twhy);
	url = xasprintf("%s%s?api_context=%s&api_name=%s", a->api_base,
			a->cfg.user_scope ? ANALYTICS_PATH_USER : ANALYTICS_PATH_APP,
			a->api_context, a->api_name);
	e = curl_easy_init();
	if (!e) {
		free(url);
		free(token);
		buf_adds(why, "cannot create a curl handle");
		return ERR_INTERNAL;
	}
	line = xasprintf("Authorization: Bearer %s", token);
	hdrs = curl_slist_append(hdrs, line);
	free(line);
	free(token);
	hdrs = curl_slist_append(hdrs, "Accept: application/json");
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, a->cfg.timeout_ms);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, a->cfg.timeout_ms);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, &k);
	ledger_note(LEDGER_API_ANALYTICS, NULL, 1);
	rc = curl_easy_perform(e);
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
	if (k.toobig) {
		buf_addf(why, "%s: the answer is larger than %d bytes", op, ANALYTICS_BODY_MAX);
		err = ERR_TOOBIG;
	} else if (rc != CURLE_OK) {
		buf_addf(why, "%s is not reachable: %s", op, curl_easy_strerror(rc));
		err = ERR_HTTP;
	} else if (status == 404 || status == 204) {
		buf_addf(why, "%s: eBay has no such answer here (HTTP %ld)", op, status);
		err = ERR_NOTFOUND;
	} else if (status == 401 || status == 403) {
		buf_addf(why, "%s: eBay refused the token (HTTP %ld): it needs %s", op, status,
			 a->cfg.user_scope ? "a user token with a sell.inventory scope"
					   : "an application token (client credentials grant)");
		err = ERR_AUTH;
	} else if (status != 200) {
		buf_addf(why, "%s: eBay answered HTTP %ld", op, status);
		err = ERR_EBAY;
	} else {
		struct buf pwhy = BUF_INIT;
		err = analytics_parse(buf_str(&k.body), k.body.len, a->api_context, a->api_name,
				      out, &pwhy);
		if (err)
			buf_addf(why, "%s: %s", op, buf_str(&pwhy));
		buf_release(&pwhy);
	}
	out->fetched_ms = timeutil_wall_ms();
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(e);
	buf_release(&k.body);
	free(url);
	return err;
}

enum error analytics_read(struct analytics *a, struct analytics_rate *out, struct buf *why)
{
	long long now = timeutil_mono_ms();
	enum error err;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&a->lock);
	if (!a->have || now - a->cached_ms >= a->cfg.cache_ms) {
		struct buf w = BUF_INIT;

		a->cached_err = fetch(a, &a->cached, &w);
		snprintf(a->cached_why, sizeof(a->cached_why), "%s", buf_str(&w));
		buf_release(&w);
		a->cached_ms = now;
		a->have = 1;
	}
	err = a->cached_err;
	if (err)
		buf_adds(why, a->cached_why);
	else
		*out = a->cached;
	pthread_mutex_unlock(&a->lock);
	return err;
}

enum error analytics_app_token(void *ctx, int refresh, char **token, struct buf *why)
{
	struct oauth_token t;
	enum error err;

	(void)refresh;
	*token = NULL;
	err = oauth_client_token(ctx, NULL, &t, why);
	if (!err)
		*token = xstrdup(t.access_token);
	oauth_token_release(&t);
	return err;
}
