/*
 * eBay's OAuth endpoints (see oauth.h). One blocking libcurl easy transfer
 * per attempt: the token endpoint answers in milliseconds, and its callers
 * (a run's token source, the consent callback, the command line) wait for
 * the token anyway. The form body that carries a code or a refresh token
 * is wiped after use; libcurl builds the Basic header from the id and the
 * secret, and nothing here turns on its verbose output.
 */
#include "oauth.h"

#include "encoding.h"

#include <ctype.h>
#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backoff.h"
#include "ebay.h"
#include "ledger.h"
#include "metrics.h"
#include "request.h"
#include "timeutil.h"
#include "xalloc.h"
#include "banned.h"

#define USER_AGENT	   "ebaysync/0.1"
#define DESCRIPTION_MAX	   200 /* bytes of eBay's error_description we repeat */
#define EXPIRES_MAX	   (10LL * 366 * 86400)
#define DEFAULT_CONNECT_MS 10000
#define DEFAULT_TIMEOUT_MS 30000
#define DEFAULT_ATTEMPTS   3
#define DEFAULT_BACKOFF_MS 250
#define BACKOFF_MAX_MS	   4000

/* ---- configuration ------------------------------------------------------- */

static const char *env_value(const char *name)
{
	const char *v = getenv(name);
	return v && *v ? v : NULL;
}

/* A configuration value: printable ASCII without spaces, not too long. */
static enum error check_value(const char *name, const char *v, struct buf *why)
{
	size_t n = strlen(v);

	if (n > OAUTH_CONFIG_MAX) {
		buf_addf(why, "%s is longer than %d bytes", name, OAUTH_CONFIG_MAX);
		return ERR_INVALID;
	}
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)v[i] <= 0x20 || (unsigned char)v[i] >= 0x7f) {
			buf_addf(why, "%s holds a space or a control or non-ASCII character", name);
			return ERR_INVALID;
		}
	return ERR_OK;
}

/* A copy of an origin without its trailing slashes. */
static char *origin_dup(const char *url)
{
	size_t n = strlen(url);

	while (n && url[n - 1] == '/')
		n--;
	return xstrndup(url, n);
}

static enum error check_origin(const char *name, const char *url, struct buf *why)
{
	enum error err = check_value(name, url, why);

	if (!err && strncmp(url, "http://", 7) && strncmp(url, "https://", 8)) {
		buf_addf(why, "%s must be an http:// or https:// URL, not '%.100s'", name, url);
		err = ERR_INVALID;
	}
	return err;
}

enum error oauth_config_from_env(struct oauth_config *cfg, const char *env_name,
				 const char *api_base, struct buf *why)
{
	const char *id = env_value("EBAY_CLIENT_ID"), *secret = env_value("EBAY_CLIENT_SECRET");
	const char *ru = env_value("EBAY_RU_NAME"), *auth = env_value("EBAY_AUTH_BASE");
	const char *scope = env_value("EBAY_OAUTH_SCOPE");
	enum error err;

	memset(cfg, 0, sizeof(*cfg));
	if (!api_base)
		api_base = env_value("EBAY_API_BASE");
	if (!env_name)
		env_name = env_value("EBAY_ENV");
	if (!env_name)
		env_name = api_base ? "simulator" : "production";
	if (strcmp(env_name, "production") && strcmp(env_name, "sandbox") &&
	    strcmp(env_name, "simulator")) {
		buf_addf(why, "EBAY_ENV must be production, sandbox or simulator, not '%.100s'",
			 env_name);
		return ERR_INVALID;
	}
	if (!api_base && !strcmp(env_name, "simulator")) {
		buf_addf(why, "EBAY_ENV=simulator needs EBAY_API_BASE (the simulator's URL)");
		return ERR_INVALID;
	}
	if (!api_base)
		api_base = strcmp(env_name, "sandbox") ? EBAY_API_PRODUCTION : EBAY_API_SANDBOX;
	if (!auth)
		auth = !strcmp(api_base, EBAY_API_PRODUCTION) ? OAUTH_AUTH_PRODUCTION
		       : !strcmp(api_base, EBAY_API_SANDBOX)  ? OAUTH_AUTH_SANDBOX
							      : api_base;
	if (!id || !secret) {
		buf_addf(why, "eBay OAuth is not configured: set EBAY_CLIENT_ID and "
			      "EBAY_CLIENT_SECRET (the application's App ID and Cert ID)");
		return ERR_NOTFOUND;
	}
	if ((err = check_value("EBAY_CLIENT_ID", id, why)) ||
	    (err = check_value("EBAY_CLIENT_SECRET", secret, why)) ||
	    (ru && (err = check_value("EBAY_RU_NAME", ru, why))) ||
	    (err = check_origin("EBAY_API_BASE", api_base, why)) ||
	    (err = check_origin("EBAY_AUTH_BASE", auth, why)))
		return err;
	if (scope && strlen(scope) > OAUTH_CONFIG_MAX) {
		buf_addf(why, "EBAY_OAUTH_SCOPE is longer than %d bytes", OAUTH_CONFIG_MAX);
		return ERR_INVALID;
	}
	cfg->env_name = xstrdup(env_name);
	cfg->client_id = xstrdup(id);
	cfg->client_secret = xstrdup(secret);
	cfg->ru_name = ru ? xstrdup(ru) : NULL;
	cfg->auth_base = origin_dup(auth);
	cfg->api_base = origin_dup(api_base);
	cfg->scope = xstrdup(scope ? scope : OAUTH_SCOPE_READONLY);
	return ERR_OK;
}

void oauth_config_copy(struct oauth_config *dst, const struct oauth_config *src)
{
	*dst = *src;
	dst->env_name = xstrdup(src->env_name);
	dst->client_id = xstrdup(src->client_id);
	dst->client_secret = xstrdup(src->client_secret);
	dst->ru_name = xstrdup(src->ru_name);
	dst->auth_base = xstrdup(src->auth_base);
	dst->api_base = xstrdup(src->api_base);
	dst->scope = xstrdup(src->scope);
}

static void wipe_free(char *s)
{
	if (s) {
		memset(s, 0, strlen(s));
		free(s);
	}
}

void oauth_config_release(struct oauth_config *cfg)
{
	free(cfg->env_name);
	free(cfg->client_id);
	wipe_free(cfg->client_secret);
	free(cfg->ru_name);
	free(cfg->auth_base);
	free(cfg->api_base);
	free(cfg->scope);
	memset(cfg, 0, sizeof(*cfg));
}

void oauth_token_release(struct oauth_token *t)
{
	wipe_free(t->access_token);
	wipe_free(t->refresh_token);
	free(t->token_type);
	memset(t, 0, sizeof(*t));
}

/* ---- URLs and forms ------------------------------------------------------ */

/* Appends s percent-encoded (everything but RFC 3986's unreserved). */
static void add_encoded(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
			buf_addch(b, (char)c);
		} else {
			buf_addch(b, '%');
			buf_addch(b, hex[c >> 4]);
			buf_addch(b, hex[c & 15]);
		}
	}
}

static void add_field(struct buf *b, const char *name, const char *value)
{
	if (b->len)
		buf_addch(b, '&');
	buf_adds(b, name);
	buf_addch(b, '=');
	add_encoded(b, value);
}

enum error oauth_consent_url(const struct oauth_config *cfg, const char *state, char **url,
			     struct buf *why)
{
	struct buf q = BUF_INIT;

	*url = NULL;
	if (!cfg->ru_name) {
		buf_addf(why, "EBAY_RU_NAME is not set: give the RuName (redirect URL name) of "
			      "the application's eBay sign-in settings");
		return ERR_INVALID;
	}
	if (!state || !*state || strlen(state) > OAUTH_FIELD_MAX) {
		buf_addf(why, "the consent state must hold 1 to %d bytes", OAUTH_FIELD_MAX);
		return ERR_INVALID;
	}
	add_field(&q, "client_id", cfg->client_id);
	add_field(&q, "redirect_uri", cfg->ru_name);
	add_field(&q, "response_type", "code");
	add_field(&q, "scope", cfg->scope);
	add_field(&q, "state", state);
	*url = xasprintf("%s%s?%s", cfg->auth_base, OAUTH_AUTHORIZE_PATH, buf_str(&q));
	buf_release(&q);
	return ERR_OK;
}

/* ---- answers ------------------------------------------------------------- */

/* A token-like field: 1..OAUTH_FIELD_MAX printable ASCII bytes. */
static enum error take_field(json_t *obj, const char *name, int required, char **out,
			     struct buf *why)
{
	json_t *v = json_object_get(obj, name);
	const char *s;
	size_t n;

	*out = NULL;
	if (!v || json_is_null(v)) {
		if (!required)
			return ERR_OK;
		buf_addf(why, "eBay's token answer has no %s", name);
		return ERR_PARSE;
	}
	s = json_string_value(v);
	if (!s || !*s) {
		buf_addf(why, "eBay's token answer has a %s that is not a non-empty string", name);
		return ERR_PARSE;
	}
	n = json_string_length(v);
	if (n > OAUTH_FIELD_MAX) {
		buf_addf(why, "eBay's token answer has a %s of %zu bytes (at most %d)", name, n,
			 OAUTH_FIELD_MAX);
		return ERR_TOOBIG;
	}
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f) {
			buf_addf(why,
				 "eBay's token answer has a %s with a character that is not "
				 "printable ASCII",
				 name);
			return ERR_PARSE;
		}
	*out = xstrndup(s, n);
	return ERR_OK;
}

/* A lifetime in seconds: an integer or a numeric string in [min, EXPIRES_MAX]. */
static enum error take_seconds(json_t *obj, const char *name, long long min, long long *out,
			       struct buf *why)
{
	json_t *v = json_object_get(obj, name);
	long long x;
	char *end;

	*out = 0;
	if (!v && min == 0)
		return ERR_OK;
	if (json_is_integer(v)) {
		x = json_integer_value(v);
	} else if (json_is_string(v) && json_string_length(v) < 20 &&
		   isdigit((unsigned char)*json_string_value(v))) {
		x = strtoll(json_string_value(v), &end, 10);
		if (*end)
			x = -1;
	} else {
		x = -1;
	}
	if (x < min || x > EXPIRES_MAX) {
		buf_addf(why, "eBay's token answer has %s %s (want whole seconds from %lld)", name,
			 v ? "out of range or not a number" : "missing", min);
		return ERR_PARSE;
	}
	*out = x;
	return ERR_OK;
}

/* eBay's description of an error, cut short, control characters dropped. */
static void add_description(struct buf *why, const char *d)
{
	size_t n = 0;

	for (; d && *d && n < DESCRIPTION_MAX; d++, n++)
		buf_addch(why, (unsigned char)*d < 0x20 || *d == 0x7f ? ' ' : *d);
	if (d && *d)
		buf_adds(why, "...");
}

static enum error error_answer(long status, json_t *j, struct oauth_token *out, struct buf *why)
{
	const char *error = json_string_value(json_object_get(j, "error"));
	const char *desc = json_string_value(json_object_get(j, "error_description"));
	enum error err;

	if (!error || !*error) {
		buf_addf(why, "eBay's token endpoint answered HTTP %ld without an OAuth error",
			 status);
		return ERR_EBAY;
	}
	snprintf(out->error, sizeof(out->error), "%s", error);
	for (char *p = out->error; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '_')
			*p = '?';
	if (!strcmp(error, "invalid_grant")) {
		err = ERR_AUTH;
	} else if (!strcmp(error, "invalid_client") || !strcmp(error, "unauthorized_client")) {
		err = ERR_AUTH;
	} else if (!strcmp(error, "invalid_request") || !strcmp(error, "invalid_scope") ||
		   !strcmp(error, "unsupported_grant_type")) {
		err = ERR_INVALID;
	} else {
		err = ERR_EBAY; /* server_error, temporarily_unavailable, ... */
	}
	buf_addf(why, "HTTP %ld %s", status, out->error);
	if (desc && *desc) {
		buf_adds(why, ": ");
		add_description(why, desc);
	}
	if (!strcmp(error, "invalid_client"))
		buf_adds(why, " (check EBAY_CLIENT_ID and EBAY_CLIENT_SECRET)");
	return err;
}

enum error oauth_parse_response(long status, const char *body, size_t len, int want_refresh,
				struct oauth_token *out, struct buf *why)
{
	json_t *j = NULL;
	enum error err;

	memset(out, 0, sizeof(*out));
	out->status = status;
	if (len > OAUTH_RESPONSE_MAX) {
		buf_addf(why, "eBay's token answer is larger than %d bytes", OAUTH_RESPONSE_MAX);
		return ERR_TOOBIG;
	}
	if (len)
		j = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
	if (status < 200 || status > 299) {
		if (json_is_object(j)) {
			err = error_answer(status, j, out, why);
		} else {
			buf_addf(why, "eBay's token endpoint answered HTTP %ld", status);
			err =
			    status >= 400 && status < 500 && status != 429 ? ERR_INVALID : ERR_EBAY;
		}
		goto out;
	}
	if (!json_is_object(j)) {
		buf_addf(why,
			 "eBay's token endpoint answered HTTP %ld with a body that is not a "
			 "JSON object",
			 status);
		err = ERR_PARSE;
		goto out;
	}
	if ((err = take_field(j, "access_token", 1, &out->access_token, why)) ||
	    (err = take_seconds(j, "expires_in", 1, &out->expires_in, why)) ||
	    (err = take_field(j, "refresh_token", want_refresh, &out->refresh_token, why)) ||
	    (err = take_seconds(j, "refresh_token_expires_in", 0, &out->refresh_expires_in, why)))
		goto out;
	if (json_is_string(json_object_get(j, "token_type"))) {
		const char *tt = json_string_value(json_object_get(j, "token_type"));
		out->token_type = xstrndup(tt, strnlen(tt, 64));
	}
out:
	json_decref(j);
	if (err) {
		wipe_free(out->access_token);
		wipe_free(out->refresh_token);
		out->access_token = out->refresh_token = NULL;
	}
	return err;
}

/* ---- the transport ------------------------------------------------------- */

struct sink {
	struct buf body;
	int toobig;
};

static size_t on_body(char *data, size_t size, size_t n, void *ctx)
{
	struct sink *k = ctx;

	if (buf_add(&k->body, data, size * n)) {
		k->toobig = 1;
		return 0;
	}
	return size * n;
}

/* Whether an attempt that ended this way may be made again. */
static int transient(CURLcode rc, long status, int code_grant)
{
	if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST)
		return 1; /* nothing was sent */
	if (code_grant)
		return 0; /* the code may have been spent */
	if (rc == CURLE_OK)
		return status == 429 || status >= 500;
	return rc == CURLE_OPERATION_TIMEDOUT || rc == CURLE_SEND_ERROR || rc == CURLE_RECV_ERROR ||
	       rc == CURLE_GOT_NOTHING || rc == CURLE_PARTIAL_FILE;
}

/* One attempt: POST form to the token endpoint. */
static enum error attempt(const struct oauth_config *cfg, const char *form, int want_refresh,
			  struct oauth_token *out, CURLcode *rc, struct buf *why)
{
	struct sink k;
	struct curl_slist *hdrs = NULL;
	char errbuf[CURL_ERROR_SIZE] = "";
	char *url = xasprintf("%s%s", cfg->api_base, OAUTH_TOKEN_PATH);
	long status = 0;
	enum error err;
	CURL *e = curl_easy_init();

	memset(out, 0, sizeof(*out));
	buf_init(&k.body, OAUTH_RESPONSE_MAX);
	k.toobig = 0;
	if (!e) {
		free(url);
		buf_adds(why, "cannot create a curl handle");
		*rc = CURLE_FAILED_INIT;
		return ERR_INTERNAL;
	}
	hdrs = curl_slist_append(hdrs, "Content-Type: application/x-www-form-urlencoded");
	hdrs = curl_slist_append(hdrs, "Accept: application/json");
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_USERAGENT, USER_AGENT);
	curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
	curl_easy_setopt(e, CURLOPT_USERNAME, cfg->client_id);
	curl_easy_setopt(e, CURLOPT_PASSWORD, cfg->client_secret);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, form);
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(form));
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
			 cfg->connect_timeout_ms > 0 ? cfg->connect_timeout_ms
						     : DEFAULT_CONNECT_MS);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS,
			 cfg->timeout_ms > 0 ? cfg->timeout_ms : DEFAULT_TIMEOUT_MS);
	curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)OAUTH_RESPONSE_MAX);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, &k);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
	/* Token calls are the install's, not a user's: the same refresh
	 * serves whoever asked. */
	ledger_note(LEDGER_API_IDENTITY, NULL, 1);
	*rc = curl_easy_perform(e);
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
	metrics_ebay_call("token", *rc == CURLE_OK ? status : 0);
	if (k.toobig || *rc == CURLE_FILESIZE_EXCEEDED) {
		buf_addf(why, "eBay's token answer is larger than %d bytes", OAUTH_RESPONSE_MAX);
		out->status = status;
		err = ERR_TOOBIG;
	} else if (*rc == CURLE_OPERATION_TIMEDOUT) {
		buf_addf(why, "eBay's token endpoint %s did not answer in time: %s", cfg->api_base,
			 errbuf[0] ? errbuf : curl_easy_strerror(*rc));
		err = ERR_TIMEOUT;
	} else if (*rc != CURLE_OK) {
		buf_addf(why, "cannot reach eBay's token endpoint %s: %s", cfg->api_base,
			 errbuf[0] ? errbuf : curl_easy_strerror(*rc));
		err = ERR_HTTP;
	} else {
		err = oauth_parse_response(status, buf_str(&k.body), k.body.len, want_refresh, out,
					   why);
	}
	if (k.body.data)
		memset(k.body.data, 0, k.body.len);
	buf_release(&k.body);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(e);
	free(url);
	return err;
}

/* Posts form (wiped afterwards by the caller) until an attempt is final. */
static enum error post(const struct oauth_config *cfg, const char *form, int code_grant,
		       struct oauth_token *out, struct buf *why)
{
	int max = code_grant ? 2 : (cfg->max_attempts > 0 ? cfg->max_attempts : DEFAULT_ATTEMPTS);
	long base = cfg->backoff_base_ms > 0 ? cfg->backoff_base_ms : DEFAULT_BACKOFF_MS;
	struct random_rng rng;
	struct buf last = BUF_INIT;
	enum error err = ERR_INTERNAL;
	CURLcode rc = CURLE_OK;
	int n;

	random_rng_seed(&rng, (uint64_t)timeutil_mono_ms());
	for (n = 1; n <= max; n++) {
		buf_reset(&last);
		oauth_token_release(out);
		err = attempt(cfg, form, !!code_grant, out, &rc, &last);
		if (!err || n == max || !transient(rc, out->status, code_grant))
			break;
		timeutil_sleep_ms(base / 2 + backoff_delay_ms(&rng, base, BACKOFF_MAX_MS, n));
	}
	if (err) {
		buf_adds(why, buf_str(&last));
		if (n > 1)
			buf_addf(why, " (after %d attempts)", n);
	}
	buf_release(&last);
	return err;
}

static enum error check_input(const char *what, const char *s, struct buf *why)
{
	if (!s || !*s) {
		buf_addf(why, "the %s is empty", what);
		return ERR_INVALID;
	}
	if (strlen(s) > OAUTH_FIELD_MAX) {
		buf_addf(why, "the %s is longer than %d bytes", what, OAUTH_FIELD_MAX);
		return ERR_TOOBIG;
	}
	return ERR_OK;
}

enum error oauth_exchange_code(const struct oauth_config *cfg, const char *code,
			       struct oauth_token *out, struct buf *why)
{
	struct buf form = BUF_INIT;
	enum error err;

	memset(out, 0, sizeof(*out));
	if ((err = check_input("authorization code", code, why)))
		return err;
	if (!cfg->ru_name) {
		buf_addf(why, "EBAY_RU_NAME is not set: the code grant needs the RuName the "
			      "consent used");
		return ERR_INVALID;
	}
	add_field(&form, "grant_type", "authorization_code");
	add_field(&form, "code", code);
	add_field(&form, "redirect_uri", cfg->ru_name);
	err = post(cfg, buf_str(&form), 1, out, why);
	memset(form.data, 0, form.len);
	buf_release(&form);
	return err;
}

enum error oauth_refresh(const struct oauth_config *cfg, const char *refresh_token,
			 struct oauth_token *out, struct buf *why)
{
	struct buf form = BUF_INIT;
	enum error err;

	memset(out, 0, sizeof(*out));
	if ((err = check_input("refresh token", refresh_token, why)))
		return err;
	add_field(&form, "grant_type", "refresh_token");
	add_field(&form, "refresh_token", refresh_token);
	add_field(&form, "scope", cfg->scope);
	err = post(cfg, buf_str(&form), 0, out, why);
	memset(form.data, 0, form.len);
	buf_release(&form);
	return err;
}

enum error oauth_client_token(const struct oauth_config *cfg, const char *scope,
			      struct oauth_token *out, struct buf *why)
{
	struct buf form = BUF_INIT;
	enum error err;

	memset(out, 0, sizeof(*out));
	add_field(&form, "grant_type", "client_credentials");
	add_field(&form, "scope", scope ? scope : "https://api.ebay.com/oauth/api_scope");
	err = post(cfg, buf_str(&form), 0, out, why);
	buf_release(&form);
	return err;
}

/* ---- what the user pastes ------------------------------------------------ */

/* Looks for name=value in a query string; ERR_NOTFOUND when absent. */
static enum error query_get(const char *q, const char *name, char **out)
{
	size_t nlen = strlen(name);

	*out = NULL;
	while (q && *q) {
		const char *end = strchr(q, '&'), *hash = strchr(q, '#');
		size_t len;

		if (hash && (!end || hash < end))
			end = hash; /* a fragment ends the query */
		len = end ? (size_t)(end - q) : strlen(q);
		if (len > nlen && !strncmp(q, name, nlen) && q[nlen] == '=')
			return encoding_percent_decode(q + nlen + 1, len - nlen - 1, 1, out)
				   ? ERR_INVALID
				   : ERR_OK;
		if (!end || *end == '#')
			break;
		q = end + 1;
	}
	return ERR_NOTFOUND;
}

enum error oauth_parse_redirect(const char *text, char **code, char **state, struct buf *why)
{
	const char *q;
	size_t n;
	char *copy, *c = NULL, *s = NULL, *e = NULL, *d = NULL;
	enum error err = ERR_OK;

	*code = *state = NULL;
	while (text && isspace((unsigned char)*text))
		text++;
	n = text ? strlen(text) : 0;
	while (n && isspace((unsigned char)text[n - 1]))
		n--;
	if (!n) {
		buf_adds(why, "nothing was given: paste the URL the browser landed on after the "
			      "consent, or the code in it");
		return ERR_INVALID;
	}
	if (n > 4 * OAUTH_FIELD_MAX) {
		buf_addf(why, "the input is longer than %d bytes", 4 * OAUTH_FIELD_MAX);
		return ERR_TOOBIG;
	}
	copy = xstrndup(text, n);
	q = strchr(copy, '?');
	if (q)
		q++;
	else if (!strncmp(copy, "code=", 5) || !strncmp(copy, "state=", 6) ||
		 !strncmp(copy, "error=", 6) || strstr(copy, "&code="))
		q = copy;
	if (!q) {
		/* A bare code, as eBay shows it, maybe still percent-encoded. */
		if (encoding_percent_decode(copy, n, 0, &c)) {
			buf_adds(why, "the code has a malformed percent-escape");
			err = ERR_INVALID;
		}
		goto check;
	}
	if (query_get(q, "error", &e) == ERR_OK) {
		query_get(q, "error_description", &d);
		buf_addf(why, "the eBay consent did not succeed (%.64s", e);
		if (d && *d) {
			buf_adds(why, ": ");
			add_description(why, d);
		}
		buf_adds(why, ")");
		err = !strcmp(e, "access_denied") ? ERR_AUTH : ERR_INVALID;
		goto out;
	}
	if (query_get(q, "code", &c) == ERR_INVALID || query_get(q, "state", &s) == ERR_INVALID) {
		buf_adds(why, "the redirected URL has a malformed percent-escape");
		err = ERR_INVALID;
		goto out;
	}
	if (!c) {
		buf_adds(why, "the redirected URL has no code parameter");
		err = ERR_INVALID;
		goto out;
	}
check:
	if (!err && (!c || !*c)) {
		buf_adds(why, "the code is empty");
		err = ERR_INVALID;
	} else if (!err && (strlen(c) > OAUTH_FIELD_MAX || (s && strlen(s) > OAUTH_FIELD_MAX))) {
		buf_addf(why, "the code or the state is longer than %d bytes", OAUTH_FIELD_MAX);
		err = ERR_TOOBIG;
	}
out:
	if (err) {
		wipe_free(c);
		free(s);
	} else {
		*code = c;
		*state = s;
	}
	free(e);
	free(d);
	free(copy);
	return err;
}
