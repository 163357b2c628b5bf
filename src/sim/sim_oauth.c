/*
 * OAuth of the simulator (see sim_oauth.h): one open-addressing table of
 * every issued access token, refresh token and authorization code, keyed by
 * the token text. It is rebuilt without the expired entries whenever it
 * fills up to half; a marker entry records the revocation of the fixed
 * tokens given on the command line, which never expire.
 */
#include "sim_oauth.h"

#include <ctype.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "encoding.h"
#include "random.h"
#include "timeutil.h"
#include "xalloc.h"
#include "banned.h"

#define MAX_TOKENS (1u << 20)
/* Base64 characters a Basic credential may have (about 1 KiB decoded). */
#define BASIC_MAX    1368
#define SCOPE_PREFIX "https://api.ebay.com/oauth/api_scope"
#define DEFAULT_SCOPE                                                                              \
	"https://api.ebay.com/oauth/api_scope "                                                    \
	"https://api.ebay.com/oauth/api_scope/sell.inventory "                                     \
	"https://api.ebay.com/oauth/api_scope/sell.inventory.readonly"

enum tok_kind {
	TOK_ACCESS,
	TOK_REFRESH,
	TOK_CODE,
	TOK_APP, /* an application token (client_credentials) */
};

struct tok {
	char *value; /* NULL: a free slot */
	uint64_t hash;
	enum tok_kind kind;
	int revoked;	      /* revoked, or a code already redeemed */
	long long expires_ms; /* monotonic; 0: never (markers of fixed tokens) */
	char *redirect_uri;   /* codes: where the consent sent the user */
	char *scope;	      /* refresh tokens and codes: what was granted */
};

struct sim_oauth {
	pthread_mutex_t lock;
	struct tok *table;
	size_t size; /* a power of two */
	size_t used;
};

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

struct sim_oauth *sim_oauth_new(void)
{
	struct sim_oauth *o = xcalloc(1, sizeof(*o));

	pthread_mutex_init(&o->lock, NULL);
	o->size = 256;
	o->table = xcalloc(o->size, sizeof(*o->table));
	return o;
}

static void tok_release(struct tok *t)
{
	free(t->value);
	free(t->redirect_uri);
	free(t->scope);
	memset(t, 0, sizeof(*t));
}

void sim_oauth_clear(struct sim_oauth *o)
{
	pthread_mutex_lock(&o->lock);
	for (size_t i = 0; i < o->size; i++)
		tok_release(&o->table[i]);
	o->used = 0;
	pthread_mutex_unlock(&o->lock);
}

void sim_oauth_free(struct sim_oauth *o)
{
	if (!o)
		return;
	sim_oauth_clear(o);
	free(o->table);
	pthread_mutex_destroy(&o->lock);
	free(o);
}

static struct tok *lookup(struct sim_oauth *o, const char *value)
{
	uint64_t h = hash_str(value);

	for (size_t i = h & (o->size - 1); o->table[i].value; i = (i + 1) & (o->size - 1))
		if (o->table[i].hash == h && !strcmp(o->table[i].value, value))
			return &o->table[i];
	return NULL;
}

static int expired(const struct tok *t, long long now_ms)
{
	return t->expires_ms && t->expires_ms <= now_ms;
}

/* Rebuilds the table without what is expired (and revoked tokens that
 * would expire anyway), at a size fit for what is left. */
static void purge(struct sim_oauth *o, long long now_ms)
{
	struct tok *old = o->table;
	size_t old_size = o->size, live = 0;

	for (size_t i = 0; i < old_size; i++) {
		struct tok *t = &old[i];
		if (t->value && (expired(t, now_ms) || (t->revoked && t->expires_ms)))
			tok_release(t);
		else if (t->value)
			live++;
	}
	o->size = 256;
	while (o->size < 4 * (live + 1))
		o->size *= 2;
	o->table = xcalloc(o->size, sizeof(*o->table));
	o->used = live;
	for (size_t i = 0; i < old_size; i++) {
		size_t j;
		if (!old[i].value)
			continue;
		for (j = old[i].hash & (o->size - 1); o->table[j].value;
		     j = (j + 1) & (o->size - 1))
			;
		o->table[j] = old[i];
	}
	free(old);
}

/* Adds a token (taking value, uri and scope); NULL when the table is full
 * of live tokens. */
static struct tok *insert(struct sim_oauth *o, char *value, enum tok_kind kind,
			  long long expires_ms, char *uri, char *scope, long long now_ms)
{
	struct tok *t;
	size_t i;

	if ((o->used + 1) * 2 > o->size)
		purge(o, now_ms);
	if (o->used >= MAX_TOKENS) {
		free(value);
		free(uri);
		free(scope);
		return NULL;
	}
	t = NULL;
	for (i = hash_str(value) & (o->size - 1); o->table[i].value; i = (i + 1) & (o->size - 1))
		;
	t = &o->table[i];
	t->value = value;
	t->hash = hash_str(value);
	t->kind = kind;
	t->expires_ms = expires_ms;
	t->redirect_uri = uri;
	t->scope = scope;
	o->used++;
	return t;
}

/* A new random token of eBay's look: prefix then 64 base64url characters
 * (48 random bytes). */
static char *new_token(const char *prefix)
{
	char *token = random_token(48), *out = xasprintf("%s%s", prefix, token);

	free(token);
	return out;
}

const char *sim_oauth_bearer(const char *authorization)
{
	const char *p = authorization;

	if (!p)
		return NULL;
	while (*p == ' ')
		p++;
	if (strncasecmp(p, "Bearer ", 7) != 0)
		return NULL;
	p += 7;
	while (*p == ' ')
		p++;
	return *p ? p : NULL;
}

enum sim_auth sim_oauth_check(struct sim_oauth *o, const struct sim_config *cfg,
			      const char *authorization, long long now_ms)
{
	const char *token = sim_oauth_bearer(authorization);
	enum sim_auth result = SIM_AUTH_INVALID;
	struct tok *t;

	if (!token)
		return SIM_AUTH_MISSING;
	pthread_mutex_lock(&o->lock);
	t = lookup(o, token);
	if (t) {
		if (t->kind == TOK_ACCESS && !t->revoked && !expired(t, now_ms))
			result = SIM_AUTH_OK;
	} else if (cfg->token[0] && !strcmp(token, cfg->token)) {
		result = SIM_AUTH_OK;
	}
	pthread_mutex_unlock(&o->lock);
	return result;
}

enum sim_token_kind sim_oauth_kind(struct sim_oauth *o, const struct sim_config *cfg,
				   const char *authorization, long long now_ms)
{
	const char *token = sim_oauth_bearer(authorization);
	enum sim_token_kind result = SIM_TOKEN_NONE;
	struct tok *t;

	if (!token)
		return SIM_TOKEN_NONE;
	pthread_mutex_lock(&o->lock);
	t = lookup(o, token);
	if (t) {
		if (!t->revoked && !expired(t, now_ms))
			result = t->kind == TOK_ACCESS ? SIM_TOKEN_USER
				 : t->kind == TOK_APP  ? SIM_TOKEN_APP
						       : SIM_TOKEN_NONE;
	} else if (cfg->token[0] && !strcmp(token, cfg->token)) {
		result = SIM_TOKEN_USER;
	}
	pthread_mutex_unlock(&o->lock);
	return result;
}

/* ---- forms and Basic credentials ---- */

enum error sim_oauth_parse_form(const char *body, size_t len, struct sim_form *form,
				struct buf *why)
{
	size_t start = 0;

	memset(form, 0, sizeof(*form));
	if (len > SIM_OAUTH_FORM_MAX_BYTES) {
		buf_addf(why, "form body of %zu bytes is over the %d-byte limit", len,
			 SIM_OAUTH_FORM_MAX_BYTES);
		return ERR_TOOBIG;
	}
	while (start < len) {
		const char *piece = body + start, *amp = memchr(piece, '&', len - start), *eq;
		size_t plen = amp ? (size_t)(amp - piece) : len - start, nlen, skip;
		char *name, *value;

		start += plen + 1;
		if (!plen)
			continue;
		if (form->n == SIM_OAUTH_FORM_MAX_FIELDS) {
			buf_addf(why, "form has more than %d fields", SIM_OAUTH_FORM_MAX_FIELDS);
			return ERR_TOOBIG;
		}
		eq = memchr(piece, '=', plen);
		nlen = eq ? (size_t)(eq - piece) : plen;
		skip = nlen + (eq != NULL); /* the name and its '=' */
		value = NULL;
		if (encoding_percent_decode(piece, nlen, 1, &name) ||
		    encoding_percent_decode(piece + skip, plen - skip, 1, &value)) {
			buf_addf(why, "malformed percent-encoding in form field %zu", form->n + 1);
			free(name);
			free(value);
			return ERR_INVALID;
		}
		form->names[form->n] = name;
		form->values[form->n] = value;
		form->n++;
	}
	return ERR_OK;
}

const char *sim_form_get(const struct sim_form *form, const char *name)
{
	for (size_t i = 0; i < form->n; i++)
		if (!strcmp(form->names[i], name))
			return form->values[i];
	return NULL;
}

void sim_form_release(struct sim_form *form)
{
	for (size_t i = 0; i < form->n; i++) {
		free(form->names[i]);
		free(form->values[i]);
	}
	memset(form, 0, sizeof(*form));
}

int sim_oauth_parse_basic(const char *authorization, char *id, size_t id_size, char *secret,
			  size_t secret_size)
{
	const char *p = authorization, *colon;
	unsigned char *raw = NULL;
	size_t n = 0, len, id_len;
	int result = -1;

	if (!p)
		return -1;
	while (*p == ' ')
		p++;
	if (strncasecmp(p, "Basic ", 6) != 0)
		return -1;
	p += 6;
	while (*p == ' ')
		p++;
	len = strlen(p);
	while (len && p[len - 1] == ' ')
		len--;
	if (!len || len > BASIC_MAX ||
	    encoding_b64_decode(p, len, ENCODING_B64, &raw, &n) != ERR_OK)
		return -1;
	colon = memchr(raw, ':', n);
	if (memchr(raw, '\0', n) || !colon)
		goto out;
	id_len = (size_t)(colon - (const char *)raw);
	if (id_len >= id_size || n - id_len > secret_size)
		goto out;
	memcpy(id, raw, id_len);
	id[id_len] = '\0';
	memcpy(secret, colon + 1, n - id_len - 1);
	secret[n - id_len - 1] = '\0';
	result = 0;
out:
	free(raw);
	return result;
}

/* ---- the token endpoint ---- */

static void oauth_error(struct sim_reply *out, int status, const char *error, const char *desc)
{
	sim_reply_json(out, status,
		       json_pack("{s:s,s:s}", "error", error, "error_description", desc));
}

/* Every scope of want (space-separated) is in granted; empty want is fine. */
static int scopes_within(const char *want, const char *granted)
{
	const char *p = want;

	while (p && *p) {
		const char *end = strchr(p, ' ');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		const char *g = granted;
		int found = 0;

		while (g && *g && !found) {
			const char *gend = strchr(g, ' ');
			size_t gn = gend ? (size_t)(gend - g) : strlen(g);
			found = gn == n && !memcmp(g, p, n);
			g = gend ? gend + 1 : NULL;
		}
		if (n && !found)
			return 0;
		p = end ? end + 1 : NULL;
	}
	return 1;
}

/* Mints an access token into resp; returns 0 or -1 when the table is full. */
static int mint_access(struct sim_oauth *o, const struct sim_config *cfg, long long now_ms,
		       json_t *resp)
{
	char *value = new_token("v^1.1#i^1#p^3#I^3#r^0#f^0#t^");

	if (!insert(o, xstrdup(value), TOK_ACCESS, now_ms + cfg->token_ttl * 1000, NULL, NULL,
		    now_ms)) {
		free(value);
		return -1;
	}
	json_object_set_new(resp, "access_token", json_string(value));
	json_object_set_new(resp, "expires_in", json_integer(cfg->token_ttl));
	json_object_set_new(resp, "token_type", json_string("User Access Token"));
	free(value);
	return 0;
}

static void grant_refresh(struct sim_oauth *o, const struct sim_config *cfg,
			  const struct sim_form *form, long long now_ms, struct sim_reply *out,
			  int *issued)
{
	const char *rt = sim_form_get(form, "refresh_token"), *scope = sim_form_get(form, "scope");
	const char *granted = NULL;
	struct tok *t;
	json_t *resp;

	if (!rt || !*rt) {
		oauth_error(out, 400, "invalid_request",
			    "request is missing a required parameter : refresh_token");
		return;
	}
	t = lookup(o, rt);
	if (t && t->kind == TOK_REFRESH && !t->revoked && !expired(t, now_ms))
		granted = t->scope ? t->scope : DEFAULT_SCOPE;
	else if (!t && cfg->refresh_token[0] && !strcmp(rt, cfg->refresh_token))
		granted = DEFAULT_SCOPE;
	if (!granted) {
		oauth_error(out, 400, "invalid_grant",
			    "the provided authorization refresh token is invalid or was issued "
			    "to another client");
		return;
	}
	if (scope && !scopes_within(scope, granted)) {
		oauth_error(out, 400, "invalid_scope",
			    "the requested scope is invalid, unknown, malformed, or exceeds the "
			    "scope granted to the client");
		return;
	}
	resp = json_object();
	if (mint_access(o, cfg, now_ms, resp)) {
		json_decref(resp);
		oauth_error(out, 503, "temporarily_unavailable", "too many live tokens");
		return;
	}
	*issued = 1;
	sim_reply_json(out, 200, resp);
}

/* client_credentials: an application token for the public scope (the
 * scope is required, as eBay's is). */
static void grant_client(struct sim_oauth *o, const struct sim_config *cfg,
			 const struct sim_form *form, long long now_ms, struct sim_reply *out,
			 int *issued)
{
	const char *scope = sim_form_get(form, "scope");
	char *value;
	json_t *resp;

	if (!scope || !*scope) { /* eBay asks for it on this grant */
		oauth_error(out, 400, "invalid_request",
			    "request is missing a required parameter : scope");
		return;
	}
	if (!scopes_within(scope, SCOPE_PREFIX)) {
		oauth_error(out, 400, "invalid_scope",
			    "the requested scope is invalid, unknown, malformed, or exceeds the "
			    "scope granted to the client");
		return;
	}
	value = new_token("v^1.1#i^1#f^0#p^1#r^0#I^3#t^");
	if (!insert(o, xstrdup(value), TOK_APP, now_ms + cfg->token_ttl * 1000, NULL, NULL,
		    now_ms)) {
		free(value);
		oauth_error(out, 503, "temporarily_unavailable", "too many live tokens");
		return;
	}
	resp = json_object();
	json_object_set_new(resp, "access_token", json_string(value));
	json_object_set_new(resp, "expires_in", json_integer(cfg->token_ttl));
	json_object_set_new(resp, "token_type", json_string("Application Access Token"));
	free(value);
	*issued = 1;
	sim_reply_json(out, 200, resp);
}

static void grant_code(struct sim_oauth *o, const struct sim_config *cfg,
		       const struct sim_form *form, long long now_ms, struct sim_reply *out,
		       int *issued)
{
	const char *code = sim_form_get(form, "code"), *uri = sim_form_get(form, "redirect_uri");
	struct tok *t;
	char *refresh, *scope;
	json_t *resp;

	if (!code || !*code || !uri) {
		oauth_error(out, 400, "invalid_request",
			    "request is missing a required parameter : code, redirect_uri");
		return;
	}
	t = lookup(o, code);
	if (!t || t->kind != TOK_CODE || t->revoked || expired(t, now_ms)) {
		oauth_error(out, 400, "invalid_grant",
			    "the provided authorization grant code is invalid or was issued to "
			    "another client");
		return;
	}
	t->revoked = 1; /* single use, whatever happens next */
	if (strcmp(uri, t->redirect_uri)) {
		oauth_error(out, 400, "invalid_grant",
			    "the redirect_uri does not match the one of the authorization request");
		return;
	}
	scope = xstrdup(t->scope);
	refresh = new_token("v^1.1#i^1#p^3#I^3#r^1#f^0#t^");
	resp = json_object();
	/* t may move when the table is rebuilt: it is not used below. */
	if (!insert(o, xstrdup(refresh), TOK_REFRESH, now_ms + SIM_OAUTH_REFRESH_TTL_S * 1000, NULL,
		    scope, now_ms) ||
	    mint_access(o, cfg, now_ms, resp)) {
		free(refresh);
		json_decref(resp);
		oauth_error(out, 503, "temporarily_unavailable", "too many live tokens");
		return;
	}
	json_object_set_new(resp, "refresh_token", json_string(refresh));
	json_object_set_new(resp, "refresh_token_expires_in",
			    json_integer(SIM_OAUTH_REFRESH_TTL_S));
	free(refresh);
	*issued = 1;
	sim_reply_json(out, 200, resp);
}

void sim_oauth_token(struct sim_oauth *o, const struct sim_config *cfg,
		     const struct sim_request *rq, struct sim_reply *out, int *issued)
{
	char id[SIM_CONFIG_NAME_MAX], secret[SIM_CONFIG_NAME_MAX];
	struct sim_form form;
	struct buf why = BUF_INIT;
	const char *grant;

	*issued = 0;
	memset(&form, 0, sizeof(form));
	if (sim_oauth_parse_basic(rq->authorization, id, sizeof(id), secret, sizeof(secret)) ||
	    strcmp(id, cfg->client_id) || strcmp(secret, cfg->client_secret)) {
		oauth_error(out, 401, "invalid_client", "client authentication failed");
		return;
	}
	if (rq->content_type &&
	    strncasecmp(rq->content_type, "application/x-www-form-urlencoded", 33) != 0) {
		oauth_error(out, 400, "invalid_request",
			    "request body must be application/x-www-form-urlencoded");
		return;
	}
	if (sim_oauth_parse_form(rq->body ? rq->body : "", rq->body_len, &form, &why)) {
		oauth_error(out, 400, "invalid_request", buf_str(&why));
		goto out;
	}
	grant = sim_form_get(&form, "grant_type");
	pthread_mutex_lock(&o->lock);
	if (!grant)
		oauth_error(out, 400, "invalid_request",
			    "request is missing a required parameter : grant_type");
	else if (!strcmp(grant, "refresh_token"))
		grant_refresh(o, cfg, &form, rq->now_ms, out, issued);
	else if (!strcmp(grant, "authorization_code"))
		grant_code(o, cfg, &form, rq->now_ms, out, issued);
	else if (!strcmp(grant, "client_credentials"))
		grant_client(o, cfg, &form, rq->now_ms, out, issued);
	else
		oauth_error(out, 400, "unsupported_grant_type",
			    "grant type in request is not supported by the authorization server");
	pthread_mutex_unlock(&o->lock);
out:
	sim_form_release(&form);
	buf_release(&why);
}

/* ---- the consent page ---- */

static void html_page(struct sim_reply *out, int status, const char *title, const char *message)
{
	struct buf b = BUF_INIT;

	buf_adds(&b, "<!doctype html><html><head><meta charset=\"utf-8\"><title>");
	buf_add_html(&b, title);
	buf_adds(&b, "</title></head><body><h1>");
	buf_add_html(&b, title);
	buf_adds(&b, "</h1><p id=\"message\">");
	buf_add_html(&b, message);
	buf_adds(&b, "</p></body></html>\n");
	sim_reply_text(out, status, "text/html; charset=utf-8", buf_str(&b));
	buf_release(&b);
}

static void hidden(struct buf *b, const char *name, const char *value)
{
	buf_addf(b, "<input type=\"hidden\" name=\"%s\" value=\"", name);
	buf_add_html(b, value ? value : "");
	buf_adds(b, "\">");
}

static void consent_page(struct sim_reply *out, const char *client_id, const char *uri,
			 const char *scope, const char *state)
{
	struct buf b = BUF_INIT;

	buf_adds(&b, "<!doctype html><html><head><meta charset=\"utf-8\">"
		     "<title>Grant application access</title></head><body>"
		     "<h1>Grant application access</h1><p>The application <b id=\"client\">");
	buf_add_html(&b, client_id);
	buf_adds(&b, "</b> asks to use your eBay account (ebaysync-sim) with these scopes:</p>"
		     "<pre id=\"scope\">");
	buf_add_html(&b, scope);
	buf_adds(&b, "</pre><form method=\"post\" action=\"/oauth2/authorize\">");
	hidden(&b, "client_id", client_id);
	hidden(&b, "redirect_uri", uri);
	hidden(&b, "scope", scope);
	hidden(&b, "state", state);
	buf_adds(&b, "<button type=\"submit\" name=\"decision\" value=\"agree\" id=\"agree\">"
		     "Agree</button> <button type=\"submit\" name=\"decision\" "
		     "value=\"decline\" id=\"decline\">No thanks</button></form></body></html>\n");
	sim_reply_text(out, 200, "text/html; charset=utf-8", buf_str(&b));
	buf_release(&b);
}

static void redirect(struct sim_reply *out, const char *uri, const char *state, const char *key,
		     const char *value, long long expires_in)
{
	struct buf b = BUF_INIT;
	char *enc;

	buf_addf(&b, "%s%c", uri, strchr(uri, '?') ? '&' : '?');
	if (state) {
		enc = encoding_percent_encode(state);
		buf_addf(&b, "state=%s&", enc);
		free(enc);
	}
	enc = encoding_percent_encode(value);
	buf_addf(&b, "%s=%s", key, enc);
	free(enc);
	if (expires_in > 0)
		buf_addf(&b, "&expires_in=%lld", expires_in);
	out->status = 302;
	out->location = buf_detach(&b, NULL);
	free(out->body);
	out->body = xstrdup("");
	out->len = 0;
	out->content_type = "text/plain";
}

void sim_oauth_authorize(struct sim_oauth *o, const struct sim_config *cfg,
			 const struct sim_request *rq, struct sim_reply *out)
{
	struct sim_form form;
	struct buf why = BUF_INIT;
	const char *client_id, *uri, *scope, *state, *decision = NULL;
	int post = !strcmp(rq->method, "POST");

	memset(&form, 0, sizeof(form));
	if (post) {
		if (sim_oauth_parse_form(rq->body ? rq->body : "", rq->body_len, &form, &why)) {
			html_page(out, 400, "Bad request", buf_str(&why));
			goto out;
		}
		client_id = sim_form_get(&form, "client_id");
		uri = sim_form_get(&form, "redirect_uri");
		scope = sim_form_get(&form, "scope");
		state = sim_form_get(&form, "state");
		decision = sim_form_get(&form, "decision");
	} else {
		client_id = rq->arg(rq->arg_ctx, "client_id");
		uri = rq->arg(rq->arg_ctx, "redirect_uri");
		scope = rq->arg(rq->arg_ctx, "scope");
		state = rq->arg(rq->arg_ctx, "state");
		if (!rq->arg(rq->arg_ctx, "response_type") ||
		    strcmp(rq->arg(rq->arg_ctx, "response_type"), "code")) {
			html_page(out, 400, "Bad request", "response_type must be code");
			goto out;
		}
	}
	if (!client_id || strcmp(client_id, cfg->client_id)) {
		html_page(out, 400, "Bad request", "unknown client_id");
		goto out;
	}
	if (!cfg->redirect_uri[0]) {
		html_page(out, 400, "Bad request",
			  "no redirect URL is registered; start ebaysync-sim with --redirect-uri");
		goto out;
	}
	if (!uri || strcmp(uri, cfg->redirect_uri)) {
		html_page(out, 400, "Bad request",
			  "redirect_uri does not match the registered redirect URL");
		goto out;
	}
	if (!scope || !*scope)
		scope = DEFAULT_SCOPE;
	if (strncmp(scope, SCOPE_PREFIX, strlen(SCOPE_PREFIX)) ||
	    !scopes_within(scope, DEFAULT_SCOPE)) {
		html_page(out, 400, "Bad request", "invalid scope");
		goto out;
	}
	if (!post) {
		consent_page(out, client_id, uri, scope, state);
		goto out;
	}
	if (!decision || strcmp(decision, "agree")) {
		redirect(out, uri, state, "error", "access_denied", 0);
		goto out;
	}
	pthread_mutex_lock(&o->lock);
	{
		char *code = new_token("v^1.1#i^1#f^0#I^3#r^1#p^3#t^");
		if (insert(o, xstrdup(code), TOK_CODE, rq->now_ms + cfg->code_ttl * 1000,
			   xstrdup(uri), xstrdup(scope), rq->now_ms))
			redirect(out, uri, state, "code", code, cfg->code_ttl);
		else
			html_page(out, 503, "Try again later", "too many live tokens");
		free(code);
	}
	pthread_mutex_unlock(&o->lock);
out:
	sim_form_release(&form);
	buf_release(&why);
}

/*
 * Revokes every refresh token: the issued ones and the fixed
 * cfg->refresh_token (through a marker). Returns how many were live. The
 * access tokens minted from them stay valid until they expire, as with the
 * revocation of one token. The caller holds o->lock.
 */
static long long revoke_all_refresh(struct sim_oauth *o, const struct sim_config *cfg,
				    long long now_ms)
{
	long long n = 0;
	struct tok *t;

	for (size_t i = 0; i < o->size; i++) {
		t = &o->table[i];
		if (t->value && t->kind == TOK_REFRESH && !t->revoked && !expired(t, now_ms)) {
			t->revoked = 1;
			n++;
		}
	}
	if (cfg->refresh_token[0] && !lookup(o, cfg->refresh_token)) {
		t = insert(o, xstrdup(cfg->refresh_token), TOK_REFRESH, 0, NULL, NULL, now_ms);
		if (t) {
			t->revoked = 1;
			n++;
		}
	}
	return n;
}

/* Whether a form or JSON value asks for everything: true, "true" or "1". */
static int wants_all(const json_t *jv, const char *fv)
{
	if (jv)
		return json_is_true(jv) ||
		       (json_is_string(jv) && (!strcmp(json_string_value(jv), "true") ||
					       !strcmp(json_string_value(jv), "1")));
	return fv && (!strcmp(fv, "true") || !strcmp(fv, "1"));
}

void sim_oauth_revoke(struct sim_oauth *o, const struct sim_config *cfg,
		      const struct sim_request *rq, struct sim_reply *out)
{
	static const char *const kinds[] = {"access_token", "refresh_token", "authorization_code",
					    "access_token"};
	struct sim_form form;
	struct buf why = BUF_INIT;
	json_t *j = NULL;
	const char *token = NULL;
	struct tok *t;
	int all = 0;

	memset(&form, 0, sizeof(form));
	if (rq->content_type && !strncasecmp(rq->content_type, "application/json", 16)) {
		j = json_loadb(rq->body ? rq->body : "", rq->body_len, 0, NULL);
		token = json_string_value(json_object_get(j, "token"));
		if (!token)
			token = json_string_value(json_object_get(j, "refresh_token"));
		all = wants_all(json_object_get(j, "all"), NULL);
	} else if (!sim_oauth_parse_form(rq->body ? rq->body : "", rq->body_len, &form, &why)) {
		token = sim_form_get(&form, "token");
		if (!token)
			token = sim_form_get(&form, "refresh_token");
		all = wants_all(NULL, sim_form_get(&form, "all"));
	}
	if (all && token) {
		sim_reply_json(
		    out, 400,
		    json_pack("{s:s}", "error", "give either a token to revoke or all, not both"));
		goto out;
	}
	if (all) {
		long long n;

		pthread_mutex_lock(&o->lock);
		n = revoke_all_refresh(o, cfg, rq->now_ms);
		pthread_mutex_unlock(&o->lock);
		sim_reply_json(out, 200,
			       json_pack("{s:b,s:I,s:s}", "revoked", n > 0, "count", (json_int_t)n,
					 "token_type", kinds[TOK_REFRESH]));
		goto out;
	}
	if (!token || !*token) {
		sim_reply_json(out, 400,
			       json_pack("{s:s}", "error",
					 "give the token to revoke as token=... (form) or "
					 "{\"token\": ...} (JSON), or all=true for every refresh "
					 "token"));
		goto out;
	}
	pthread_mutex_lock(&o->lock);
	t = lookup(o, token);
	if (t) {
		t->revoked = 1;
		sim_reply_json(out, 200,
			       json_pack("{s:b,s:s}", "revoked", 1, "token_type", kinds[t->kind]));
	} else if ((cfg->refresh_token[0] && !strcmp(token, cfg->refresh_token)) ||
		   (cfg->token[0] && !strcmp(token, cfg->token))) {
		/* A marker that never expires keeps the fixed token revoked. */
		enum tok_kind kind = !strcmp(token, cfg->token) ? TOK_ACCESS : TOK_REFRESH;
		t = insert(o, xstrdup(token), kind, 0, NULL, NULL, rq->now_ms);
		if (t)
			t->revoked = 1;
		sim_reply_json(
		    out, t ? 200 : 503,
		    json_pack("{s:b,s:s}", "revoked", t != NULL, "token_type", kinds[kind]));
	} else {
		sim_reply_json(out, 404,
			       json_pack("{s:b,s:s}", "revoked", 0, "error", "unknown token"));
	}
	pthread_mutex_unlock(&o->lock);
out:
	json_decref(j);
	sim_form_release(&form);
	buf_release(&why);
}
