/*
 * Linking a user's eBay account through ebaysync serve (see docs/oauth.md):
 *
 *   GET /ebay/oauth/start     (logged in) 302 to eBay's consent page
 *   GET /ebay/oauth/callback  where eBay sends the browser back (?code=&state=)
 *   GET /ebay/oauth/status    whether the caller is linked, and until when
 *
 * The callback is a public route: eBay's redirect is a cross-site
 * navigation, on which browsers do not send the SameSite=Strict login
 * cookie. What ties it to the session that started it is the state: the
 * user, a random nonce and an expiry, signed with HMAC-SHA256 under the
 * server's JWT secret; the nonce also sits in a short-lived SameSite=Lax
 * cookie of the browser that started, and is accepted once per process.
 * A state that does not verify, has expired, belongs to another browser or
 * was used already is refused before eBay is asked anything, and nothing is
 * stored unless the code exchange succeeds.
 */
#include "api.h"
#include "encoding.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "account.h"
#include "auth.h"
#include "oauth.h"
#include "random.h"
#include "storepool.h"
#include "timeutil.h"
#include "xalloc.h"
#include "banned.h"

#define STATE_TTL_S    600 /* a consent must come back within ten minutes */
#define STATE_MAX      1024
#define NONCE_BYTES    18
#define BIND_COOKIE    "ebaysync_oauth"
#define STATE_CONTEXT  "ebaysync-oauth-state\n"
#define LINKED_TARGET  "/?ebay=linked"
#define CALLBACK_TITLE "eBay account not linked"

/* ---- state --------------------------------------------------------------- */

static char *state_mac(const struct auth *auth, const char *payload)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	char *msg = xasprintf(STATE_CONTEXT "%s", payload), *out;

	HMAC(EVP_sha256(), auth->key, (int)auth->key_len, (const unsigned char *)msg, strlen(msg),
	     mac, &len);
	out = encoding_b64url_encode(mac, len);
	free(msg);
	return out;
}

/* "<base64url(v1 NL user NL nonce NL exp)>.<base64url(hmac)>" (malloc'd). */
static char *state_make(const struct auth *auth, const char *user, const char *nonce,
			long long exp_s)
{
	char *plain = xasprintf("v1\n%s\n%s\n%lld", user, nonce, exp_s);
	char *payload = encoding_b64url_encode((const unsigned char *)plain, strlen(plain));
	char *mac = state_mac(auth, payload);
	char *state = xasprintf("%s.%s", payload, mac);

	free(plain);
	free(payload);
	free(mac);
	return state;
}

/*
 * Checks state at now_s: its MAC, shape and expiry. On success *user and
 * *nonce (malloc'd) are what it carries and *exp_s its expiry.
 */
static enum error state_check(const struct auth *auth, const char *state, long long now_s,
			      char **user, char **nonce, long long *exp_s, struct buf *why)
{
	const char *dot = strrchr(state, '.');
	char *payload = NULL, *mac = NULL, *p1, *p2, *p3, *end;
	unsigned char *plain = NULL;
	size_t plain_len = 0;
	enum error err = ERR_AUTH;

	*user = *nonce = NULL;
	if (strlen(state) > STATE_MAX || !dot) {
		buf_adds(why, "the state is not one this server made");
		return ERR_AUTH;
	}
	payload = xstrndup(state, (size_t)(dot - state));
	mac = state_mac(auth, payload);
	if (strlen(mac) != strlen(dot + 1) || CRYPTO_memcmp(mac, dot + 1, strlen(mac))) {
		buf_adds(why, "the state's signature does not match (altered, or from another "
			      "server)");
		goto out;
	}
	if (encoding_b64_decode(payload, strlen(payload), ENCODING_B64URL, &plain, &plain_len) ||
	    strlen((char *)plain) != plain_len || strncmp((char *)plain, "v1\n", 3) ||
	    !(p1 = strchr((char *)plain + 3, '\n')) || !(p2 = strchr(p1 + 1, '\n')) ||
	    (p3 = strchr(p2 + 1, '\n'))) {
		buf_adds(why, "the state is malformed");
		goto out;
	}
	*exp_s = strtoll(p2 + 1, &end, 10);
	if (*end || *exp_s <= 0) {
		buf_adds(why, "the state is malformed");
		goto out;
	}
	if (*exp_s < now_s) {
		buf_addf(why, "the consent took longer than %d minutes", STATE_TTL_S / 60);
		goto out;
	}
	*user = xstrndup((char *)plain + 3, (size_t)(p1 - ((char *)plain + 3)));
	*nonce = xstrndup(p1 + 1, (size_t)(p2 - (p1 + 1)));
	err = ERR_OK;
out:
	free(payload);
	free(mac);
	free(plain);
	return err;
}

static char *new_nonce(void)
{
	return random_token(NONCE_BYTES);
}

static char *bind_cookie(const struct api *api, const char *value, long long max_age)
{
	return xasprintf("%s=%s; HttpOnly; SameSite=Lax; Path=/ebay/oauth; Max-Age=%lld%s",
			 BIND_COOKIE, value, max_age, api->cookie_secure ? "; Secure" : "");
}

static int not_configured(const struct api *api, struct api_res *res)
{
	if (api->accounts)
		return 0;
	api_res_error(res, 503, "oauth_not_configured",
		      "eBay account linking is not configured on this server: start it with "
		      "EBAY_CLIENT_ID, EBAY_CLIENT_SECRET and EBAY_RU_NAME set");
	return 1;
}

/* ---- GET /ebay/oauth/start ----------------------------------------------- */

void api_oauth_start(struct api *api, const struct api_req *req, struct api_res *res)
{
	struct buf why = BUF_INIT;
	char *nonce = NULL, *state = NULL, *url = NULL, *cookie;
	const char *format = request_param(req->target, "format");

	if (not_configured(api, res))
		return;
	nonce = new_nonce();
	state = state_make(api->auth, req->user, nonce, timeutil_wall_ms() / 1000 + STATE_TTL_S);
	if (oauth_consent_url(accounts_oauth(api->accounts), state, &url, &why)) {
		api_res_error(res, 503, "oauth_not_configured", "%s", buf_str(&why));
		goto out;
	}
	/* A page that fetches rather than navigates gets the URL to go to. */
	if (format && !strcmp(format, "json")) {
		api_res_json(res, 200, json_pack("{s:s}", "url", url));
	} else {
		api_res_json(res, 302, json_pack("{s:s}", "url", url));
		api_res_header(res, "Location", url);
	}
	cookie = bind_cookie(api, nonce, STATE_TTL_S);
	api_res_header(res, "Set-Cookie", cookie);
	free(cookie);
out:
	free(nonce);
	free(state);
	free(url);
	buf_release(&why);
}

/* ---- GET /ebay/oauth/callback -------------------------------------------- */

/* The callback's error page: code names the failure for scripts and tests. */
static void error_page(const struct api *api, struct api_res *res, unsigned status,
		       const char *code, const char *message)
{
	char *cookie = bind_cookie(api, "", 0);

	buf_reset(&res->body);
	buf_adds(&res->body,
		 "<!doctype html><html><head><meta charset=\"utf-8\"><title>" CALLBACK_TITLE
		 "</title></head><body><h1>" CALLBACK_TITLE "</h1><p id=\"error\" "
		 "data-code=\"");
	buf_add_html(&res->body, code);
	buf_adds(&res->body, "\">");
	buf_add_html(&res->body, message);
	buf_adds(&res->body, "</p><p>Nothing was stored. <a href=\"/ebay/oauth/start\">Try again"
			     "</a> or go <a href=\"/\">back to ebaysync</a>.</p></body></html>\n");
	res->status = status;
	res->content_type = "text/html; charset=utf-8";
	api_res_header(res, "Cache-Control", "no-store");
	api_res_header(res, "Set-Cookie", cookie);
	free(cookie);
}

/* Exchanges code and links user; an error page in res on failure. */
static void link_user(struct api *api, const char *user, const char *code, struct api_res *res)
{
	struct buf why = BUF_INIT, msg = BUF_INIT;
	struct oauth_token tok;
	struct store *s = NULL;
	enum error err;
	char *cookie;

	memset(&tok, 0, sizeof(tok));
	err = oauth_exchange_code(accounts_oauth(api->accounts), code, &tok, &why);
	if (err) {
		buf_addf(&msg, "eBay refused the authorization code (%s)", buf_str(&why));
		error_page(api, res, err == ERR_AUTH || err == ERR_INVALID ? 400 : 502,
			   !strcmp(tok.error, "invalid_client") ? "client_refused"
			   : err == ERR_AUTH			? "code_refused"
								: "token_endpoint",
			   buf_str(&msg));
		goto out;
	}
	s = storepool_get(api->pool, &why);
	err = s ? account_link(api->accounts, s, user, &tok, &why) : ERR_DB;
	if (err) {
		buf_addf(&msg, "cannot save the eBay account of '%s': %s", user, buf_str(&why));
		error_page(api, res, err == ERR_NOTFOUND ? 404 : 500, "store", buf_str(&msg));
		goto out;
	}
	api_res_json(res, 302, json_pack("{s:s,s:s}", "status", "linked", "user", user));
	api_res_header(res, "Location", LINKED_TARGET);
	cookie = bind_cookie(api, "", 0);
	api_res_header(res, "Set-Cookie", cookie);
	free(cookie);
out:
	if (s)
		storepool_put(api->pool, s, err == ERR_DB);
	oauth_token_release(&tok);
	buf_release(&why);
	buf_release(&msg);
}

void api_oauth_callback(struct api *api, const struct api_req *req, struct api_res *res)
{
	const char *code = request_param(req->target, "code");
	const char *state = request_param(req->target, "state");
	const char *error = request_param(req->target, "error");
	struct buf why = BUF_INIT, msg = BUF_INIT;
	char *user = NULL, *nonce = NULL, *bound = NULL;
	long long exp_s;

	if (!api->accounts) {
		error_page(api, res, 503, "oauth_not_configured",
			   "eBay account linking is not configured on this server");
		return;
	}
	if (error) {
		buf_addf(&msg, "the eBay consent did not succeed (%.64s)", error);
		error_page(api, res, 400, "consent_declined", buf_str(&msg));
		goto out;
	}
	if (!state || !*state) {
		error_page(api, res, 400, "state_missing",
			   "the callback carries no state: start again from Connect eBay");
		goto out;
	}
	if (state_check(api->auth, state, timeutil_wall_ms() / 1000, &user, &nonce, &exp_s, &why)) {
		buf_addf(&msg, "state mismatch: %s; start again from Connect eBay", buf_str(&why));
		error_page(api, res, 400, "state_mismatch", buf_str(&msg));
		goto out;
	}
	bound = request_cookie(req->cookie, BIND_COOKIE);
	if (!bound || strlen(bound) != strlen(nonce) ||
	    CRYPTO_memcmp(bound, nonce, strlen(nonce))) {
		error_page(api, res, 400, "state_mismatch",
			   "state mismatch: this consent was not started from this browser (or its "
			   "cookie expired); start again from Connect eBay");
		goto out;
	}
	if (!code || !*code) {
		error_page(api, res, 400, "code_missing",
			   "the callback carries no authorization code");
		goto out;
	}
	if (!accounts_claim_nonce(api->accounts, nonce, exp_s * 1000)) {
		error_page(api, res, 400, "state_used",
			   "this consent was used already (a replayed or reloaded callback); "
			   "start again from Connect eBay");
		goto out;
	}
	link_user(api, user, code, res);
out:
	free(user);
	free(nonce);
	free(bound);
	buf_release(&why);
	buf_release(&msg);
}

/* ---- GET /ebay/oauth/status ---------------------------------------------- */

void api_oauth_status(struct api *api, const struct api_req *req, struct api_res *res)
{
	struct account_status st;
	struct buf why = BUF_INIT;
	struct store *s = storepool_get(api->pool, &why);
	enum error err;
	json_t *j;

	memset(&st, 0, sizeof(st));
	if (!s) {
		api_res_error(res, 503, "unavailable", "database unavailable: %s", buf_str(&why));
		goto out;
	}
	err = account_status_get(s, req->user, &st, &why);
	storepool_put(api->pool, s, err == ERR_DB);
	if (err == ERR_NOTFOUND) {
		api_res_error(res, 401, "unauthorized", "user '%s' no longer exists", req->user);
		goto out;
	}
	if (err) {
		api_res_error(res, 500, "internal", "%s", buf_str(&why));
		goto out;
	}
	j = account_status_json(&st);
	json_object_set_new(j, "configured", json_boolean(api->accounts != NULL));
	json_object_set_new(j, "environment",
			    api->accounts ? json_string(accounts_oauth(api->accounts)->env_name)
					  : json_null());
	api_res_json(res, 200, j);
out:
	account_status_release(&st);
	buf_release(&why);
}
