/*
 * Linked eBay accounts and the token source of runs (see account.h).
 *
 * One struct entry per user who had a token source in this process, kept
 * until accounts_free(): its mutex is held for the whole of a refresh, HTTP
 * call included, so a second caller waits and then finds the fresh token
 * (its generation moved on) instead of minting another. The store is read
 * on every renewal: a token another process minted (same sealed column,
 * expiry not near) is adopted, a relinked account is picked up, an
 * unlinked one refused.
 */
#include "account.h"

#include "jsonutil.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "runlog.h"
#include "secret.h"
#include "store.h"
#include "storepool.h"
#include "sync.h"
#include "timeutil.h"
#include "users.h"
#include "xalloc.h"
#include "banned.h"

struct entry {
	char *user;
	pthread_mutex_t mu;
	char *access;	       /* the cached access token; wiped */
	long long expires_ms;  /* wall clock */
	long long lifetime_ms; /* as minted here; 0: unknown (adopted) */
	unsigned long gen;     /* bumped whenever access changes */
	/* The last refusal by eBay, for the sealed refresh token it was for. */
	char *refused_sealed;
	char *refused_why;
	enum error refused_err; /* ERR_RELINK or ERR_AUTH */
	long long refused_mono;
	struct entry *next;
};

struct nonce {
	char *value;
	long long expires_ms;
};

struct accounts {
	struct oauth_config cfg;
	struct storepool *pool;
	struct secret_key key;
	pthread_mutex_t mu; /* the entry list and the nonces */
	struct entry *entries;
	struct nonce *nonces;
	size_t n_nonces;
};

struct account_source {
	struct accounts *a;
	struct entry *e;
	unsigned long gen; /* of the token last handed out here */
	struct sync_run *run;
};

struct accounts *accounts_new(const struct oauth_config *cfg, struct storepool *pool,
			      const struct secret_key *key)
{
	struct accounts *a = xcalloc(1, sizeof(*a));

	oauth_config_copy(&a->cfg, cfg);
	a->pool = pool;
	a->key = *key;
	pthread_mutex_init(&a->mu, NULL);
	return a;
}

static void entry_forget_refusal(struct entry *e)
{
	free(e->refused_sealed);
	free(e->refused_why);
	e->refused_sealed = e->refused_why = NULL;
}

void accounts_free(struct accounts *a)
{
	struct entry *e, *next;

	if (!a)
		return;
	for (e = a->entries; e; e = next) {
		next = e->next;
		secret_free(e->access);
		entry_forget_refusal(e);
		pthread_mutex_destroy(&e->mu);
		free(e->user);
		free(e);
	}
	for (size_t i = 0; i < a->n_nonces; i++)
		free(a->nonces[i].value);
	free(a->nonces);
	oauth_config_release(&a->cfg);
	memset(&a->key, 0, sizeof(a->key));
	pthread_mutex_destroy(&a->mu);
	free(a);
}

const struct oauth_config *accounts_oauth(const struct accounts *a)
{
	return &a->cfg;
}

char *account_refresh_context(const char *user)
{
	return xasprintf("ebay_refresh_token:%s", user);
}

/* The entry of user, made on first use. */
static struct entry *entry_get(struct accounts *a, const char *user)
{
	struct entry *e;

	pthread_mutex_lock(&a->mu);
	for (e = a->entries; e && strcmp(e->user, user); e = e->next)
		;
	if (!e) {
		e = xcalloc(1, sizeof(*e));
		e->user = xstrdup(user);
		pthread_mutex_init(&e->mu, NULL);
		e->next = a->entries;
		a->entries = e;
	}
	pthread_mutex_unlock(&a->mu);
	return e;
}

/* Whether a token expiring at expires_ms is still good to hand out. */
static int usable(long long expires_ms, long long lifetime_ms, long long now)
{
	long long margin = ACCOUNT_MARGIN_MS;

	if (lifetime_ms > 0 && lifetime_ms / 5 < margin)
		margin = lifetime_ms / 5;
	return expires_ms - now > margin;
}

/* Replaces e's token (taking token); the caller holds e->mu. */
static void entry_set(struct entry *e, char *token, long long expires_ms, long long lifetime_ms)
{
	secret_free(e->access);
	e->access = token;
	e->expires_ms = expires_ms;
	e->lifetime_ms = lifetime_ms;
	e->gen++;
}

/* ---- linking ------------------------------------------------------------- */

static enum error read_user(struct store *s, const char *user, struct user_row *u, struct buf *why)
{
	enum error err = store_user_get(s, user, u);

	if (err == ERR_NOTFOUND)
		buf_addf(why, "no user '%s': add it with `ebaysync user add %s`", user, user);
	else if (err)
		buf_addf(why, "cannot read user '%s': %s", user, store_errmsg(s));
	return err;
}

static enum error seal(const struct accounts *a, char *(*context_fn)(const char *),
		       const char *user, const char *plain, char **out, struct buf *why)
{
	char *context = context_fn(user);
	enum error err = secret_seal(&a->key, context, plain, out);

	if (err)
		buf_addf(why, "cannot seal the eBay token of '%s': %s", user, error_strerror(err));
	free(context);
	return err;
}

/* Stores refresh for user and, when given, tok's access token; without
 * tok, an access token minted from the previous refresh token goes. The
 * cache of this process follows. */
static enum error store_tokens(struct accounts *a, struct store *s, const char *user,
			       const char *refresh, long long refresh_expires_ms,
			       const struct oauth_token *tok, long long t0, struct buf *why)
{
	struct user_row u;
	struct entry *e;
	char *sealed_refresh = NULL, *sealed_access = NULL;
	enum error err;

	memset(&u, 0, sizeof(u));
	if ((err = read_user(s, user, &u, why)))
		goto out;
	if ((refresh &&
	     (err = seal(a, account_refresh_context, user, refresh, &sealed_refresh, why))) ||
	    (tok &&
	     (err = seal(a, users_token_context, user, tok->access_token, &sealed_access, why))))
		goto out;
	if (sealed_refresh) {
		free(u.ebay_refresh_token);
		u.ebay_refresh_token = sealed_refresh;
		sealed_refresh = NULL;
		u.refresh_expires_ms = refresh_expires_ms;
	}
	if (sealed_access) {
		free(u.ebay_token);
		u.ebay_token = sealed_access;
		sealed_access = NULL;
		u.ebay_token_expires_ms = t0 + tok->expires_in * 1000;
	} else if (u.ebay_token_expires_ms) {
		/* Minted from the refresh token being replaced: maybe another
		 * eBay account's. */
		FREE_AND_NULL(u.ebay_token);
		u.ebay_token_expires_ms = 0;
	}
	err = store_user_put(s, &u);
	if (err) {
		buf_addf(why, "cannot save the eBay account of '%s': %s", user, store_errmsg(s));
		goto out;
	}
	e = entry_get(a, user);
	pthread_mutex_lock(&e->mu);
	if (tok)
		entry_set(e, xstrdup(tok->access_token), t0 + tok->expires_in * 1000,
			  tok->expires_in * 1000);
	else
		entry_set(e, NULL, 0, 0);
	entry_forget_refusal(e);
	pthread_mutex_unlock(&e->mu);
out:
	user_row_release(&u);
	free(sealed_refresh);
	free(sealed_access);
	return err;
}

enum error account_link(struct accounts *a, struct store *s, const char *user,
			const struct oauth_token *tok, struct buf *why)
{
	long long now = timeutil_wall_ms();

	if (!tok->refresh_token || !tok->access_token) {
		buf_addf(why, "eBay's answer holds no refresh token to link '%s' with", user);
		return ERR_INVALID;
	}
	return store_tokens(a, s, user, tok->refresh_token,
			    tok->refresh_expires_in > 0 ? now + tok->refresh_expires_in * 1000 : 0,
			    tok, now, why);
}

enum error account_set_refresh_token(struct accounts *a, struct store *s, const char *user,
				     const char *refresh_token, long long expires_in_s, int verify,
				     struct buf *why)
{
	struct oauth_token tok;
	struct user_row u;
	struct buf w = BUF_INIT;
	long long now = timeutil_wall_ms();
	enum error err;

	memset(&tok, 0, sizeof(tok));
	memset(&u, 0, sizeof(u));
	/* The user first: no call to eBay for a name that is not there. */
	if ((err = read_user(s, user, &u, why)))
		goto out;
	if (verify) {
		err = oauth_refresh(&a->cfg, refresh_token, &tok, &w);
		if (err) {
			buf_addf(why,
				 "eBay refused the refresh token for '%s' (%s); nothing was stored",
				 user, buf_str(&w));
			goto out;
		}
		metrics_add(METRIC_TOKEN_REFRESHES, 1);
	}
	err = store_tokens(a, s, user, refresh_token,
			   expires_in_s > 0 ? now + expires_in_s * 1000 : 0, verify ? &tok : NULL,
			   now, why);
out:
	user_row_release(&u);
	oauth_token_release(&tok);
	buf_release(&w);
	return err;
}

enum error account_unlink(struct accounts *a, struct store *s, const char *user, struct buf *why)
{
	struct user_row u;
	struct entry *e;
	enum error err;

	memset(&u, 0, sizeof(u));
	if ((err = read_user(s, user, &u, why)))
		return err;
	FREE_AND_NULL(u.ebay_refresh_token);
	u.refresh_expires_ms = 0;
	if (u.ebay_token_expires_ms) {
		/* The access token was minted from the account: it goes too. */
		FREE_AND_NULL(u.ebay_token);
		u.ebay_token_expires_ms = 0;
	}
	err = store_user_put(s, &u);
	if (err)
		buf_addf(why, "cannot save user '%s': %s", user, store_errmsg(s));
	user_row_release(&u);
	if (!err) {
		e = entry_get(a, user);
		pthread_mutex_lock(&e->mu);
		entry_set(e, NULL, 0, 0);
		entry_forget_refusal(e);
		pthread_mutex_unlock(&e->mu);
	}
	return err;
}

/* ---- status -------------------------------------------------------------- */

void account_status_release(struct account_status *st)
{
	free(st->user);
	memset(st, 0, sizeof(*st));
}

static void status_from(const struct user_row *u, struct account_status *st)
{
	memset(st, 0, sizeof(*st));
	st->user = xstrdup(u->id);
	st->linked = u->ebay_refresh_token && *u->ebay_refresh_token;
	st->refresh_expires_ms = st->linked ? u->refresh_expires_ms : 0;
	st->has_access_token = u->ebay_token && *u->ebay_token;
	st->access_expires_ms = st->has_access_token ? u->ebay_token_expires_ms : 0;
}

enum error account_status_get(struct store *s, const char *user, struct account_status *out,
			      struct buf *why)
{
	struct user_row u;
	enum error err;

	memset(&u, 0, sizeof(u));
	memset(out, 0, sizeof(*out));
	err = read_user(s, user, &u, why);
	if (!err)
		status_from(&u, out);
	user_row_release(&u);
	return err;
}

enum error account_status_list(struct store *s, struct account_status **out, size_t *n,
			       struct buf *why)
{
	struct user_row *rows = NULL;
	size_t count = 0, i;
	enum error err;

	*out = NULL;
	*n = 0;
	err = store_user_list(s, &rows, &count);
	if (err) {
		buf_addf(why, "cannot list the users: %s", store_errmsg(s));
		return err;
	}
	*out = xcalloc(count ? count : 1, sizeof(**out));
	for (i = 0; i < count; i++) {
		status_from(&rows[i], &(*out)[i]);
		user_row_release(&rows[i]);
	}
	free(rows);
	*n = count;
	return ERR_OK;
}

json_t *account_status_json(const struct account_status *st)
{
	return json_pack("{s:s,s:b,s:o,s:o}", "user", st->user, "linked", st->linked,
			 "refresh_token_expires_at", jsonutil_iso_or_null(st->refresh_expires_ms),
			 "access_token_expires_at", jsonutil_iso_or_null(st->access_expires_ms));
}

/* ---- the token source ---------------------------------------------------- */

struct account_source *account_source_new(struct accounts *a, const char *user)
{
	struct account_source *src = xcalloc(1, sizeof(*src));

	src->a = a;
	src->e = entry_get(a, user);
	return src;
}

void account_source_set_run(struct account_source *src, struct sync_run *run)
{
	src->run = run;
}

void account_source_free(struct account_source *src)
{
	free(src);
}

/* Adds a line to the run's log, if the source has a run. */
static void run_line(struct account_source *src, enum event_type type, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void run_line(struct account_source *src, enum event_type type, const char *fmt, ...)
{
	struct run_counts c;
	va_list ap;

	if (!src->run)
		return;
	c = sync_run_counts(src->run);
	va_start(ap, fmt);
	runlog_vemit(sync_run_log(src->run), type, &c, fmt, ap);
	va_end(ap);
}

/* A token in the store that another process minted and that the caller
 * was not refused: adopted into e. The caller holds e->mu. */
static int adopt_stored(struct account_source *src, const struct user_row *u, const char *rejected,
			long long now)
{
	struct entry *e = src->e;
	struct buf ignored = BUF_INIT;
	char *context, *stored = NULL;

	if (!u->ebay_token || !u->ebay_token_expires_ms ||
	    !usable(u->ebay_token_expires_ms, 0, now))
		return 0;
	context = users_token_context(e->user);
	if (secret_open(&src->a->key, context, u->ebay_token, &stored, &ignored) ||
	    (rejected && !strcmp(stored, rejected)) || (e->access && !strcmp(stored, e->access))) {
		secret_free(stored);
		stored = NULL;
	}
	free(context);
	buf_release(&ignored);
	if (!stored)
		return 0;
	entry_set(e, stored, u->ebay_token_expires_ms, 0);
	return 1;
}

/* The refresh token of u, opened; otherwise ERR_RELINK (its expiry passed)
 * or ERR_AUTH, with a reason. */
static enum error open_refresh(struct account_source *src, const struct user_row *u, long long now,
			       char **out, struct buf *why)
{
	const char *user = src->e->user;
	struct buf w = BUF_INIT;
	char *context, iso[32];
	enum error err;

	*out = NULL;
	if (!u->ebay_refresh_token || !*u->ebay_refresh_token) {
		buf_addf(why,
			 "no eBay account is linked for '%s': link it with `ebaysync account link "
			 "--user %s` or Connect eBay on the page",
			 user, user);
		return ERR_AUTH;
	}
	if (u->refresh_expires_ms && u->refresh_expires_ms <= now) {
		timeutil_iso(u->refresh_expires_ms, iso, sizeof(iso));
		buf_addf(why, "the eBay refresh token of '%s' expired at %s", user, iso);
		return ERR_RELINK;
	}
	context = account_refresh_context(user);
	err = secret_open(&src->a->key, context, u->ebay_refresh_token, out, &w);
	free(context);
	if (err) {
		buf_addf(why,
			 "the stored eBay refresh token of '%s' does not open with this secret key "
			 "(%s): was EBAYSYNC_SECRET_KEY changed?",
			 user, buf_str(&w));
		err = ERR_AUTH;
	}
	buf_release(&w);
	return err;
}

/* Writes the token just minted into the store, unless the account was
 * unlinked or linked anew meanwhile. The caller holds e->mu. */
static void save_minted(struct account_source *src, const char *sealed_refresh_then)
{
	struct accounts *a = src->a;
	struct entry *e = src->e;
	struct buf why = BUF_INIT;
	struct user_row u;
	struct store *s = storepool_get(a->pool, &why);
	enum error err = ERR_DB;
	char *sealed = NULL;

	memset(&u, 0, sizeof(u));
	if (!s)
		goto out;
	err = read_user(s, e->user, &u, &why);
	if (err || !u.ebay_refresh_token || strcmp(u.ebay_refresh_token, sealed_refresh_then))
		goto out;
	err = seal(a, users_token_context, e->user, e->access, &sealed, &why);
	if (err)
		goto out;
	free(u.ebay_token);
	u.ebay_token = sealed;
	u.ebay_token_expires_ms = e->expires_ms;
	err = store_user_put(s, &u);
	if (err)
		buf_addf(&why, "cannot save user '%s': %s", e->user, store_errmsg(s));
out:
	if (err)
		run_line(src, EVENT_WARNING,
			 "⚠ The refreshed eBay access token of %s is not shared with other "
			 "processes: %s",
			 e->user, buf_str(&why));
	if (s)
		storepool_put(a->pool, s, err == ERR_DB);
	user_row_release(&u);
	buf_release(&why);
}

/* eBay refused this very refresh token a moment ago: say so again, and
 * return how it was refused (ERR_OK when it was not). */
static enum error refused_recently(struct entry *e, const struct user_row *u, struct buf *why)
{
	if (!e->refused_sealed || !u->ebay_refresh_token ||
	    strcmp(e->refused_sealed, u->ebay_refresh_token) ||
	    timeutil_mono_ms() - e->refused_mono > ACCOUNT_REFUSAL_MEMO_MS)
		return ERR_OK;
	buf_adds(why, e->refused_why);
	return e->refused_err;
}

/*
 * Mints a new access token into e (or adopts one another process minted),
 * never handing back rejected. The caller holds e->mu.
 */
static enum error renew(struct account_source *src, const char *rejected, struct buf *why)
{
	struct accounts *a = src->a;
	struct entry *e = src->e;
	struct oauth_token tok;
	struct user_row u;
	struct buf w = BUF_INIT;
	struct store *s;
	char *refresh = NULL;
	long long now = timeutil_wall_ms();
	enum error err;

	memset(&tok, 0, sizeof(tok));
	memset(&u, 0, sizeof(u));
	if (!a->pool) {
		buf_adds(why, "the account has no store to read the refresh token from");
		return ERR_INTERNAL;
	}
	s = storepool_get(a->pool, &w);
	if (!s) {
		buf_addf(why, "cannot read the eBay account of '%s': %s", e->user, buf_str(&w));
		buf_release(&w);
		return ERR_AUTH;
	}
	err = read_user(s, e->user, &u, why);
	storepool_put(a->pool, s, err && err != ERR_NOTFOUND);
	if (err)
		goto out;
	if (adopt_stored(src, &u, rejected, now))
		goto out;
	err = refused_recently(e, &u, why);
	if (err)
		goto out;
	err = open_refresh(src, &u, now, &refresh, why);
	if (err)
		goto out;
	err = oauth_refresh(&a->cfg, refresh, &tok, &w);
	if (err) {
		if (err == ERR_AUTH && !strcmp(tok.error, "invalid_grant")) {
			buf_addf(why,
				 "eBay authorization for %s expired or was revoked: link the "
				 "account again (eBay refused the refresh token: %s)",
				 e->user, buf_str(&w));
			err = ERR_RELINK;
		} else {
			buf_addf(why, "cannot mint an eBay access token for '%s': %s", e->user,
				 buf_str(&w));
		}
		if (err == ERR_AUTH || err == ERR_RELINK) {
			entry_forget_refusal(e);
			e->refused_sealed = xstrdup(u.ebay_refresh_token);
			e->refused_why = xstrdup(buf_str(why));
			e->refused_err = err;
			e->refused_mono = timeutil_mono_ms();
		}
		goto out;
	}
	metrics_add(METRIC_TOKEN_REFRESHES, 1);
	entry_set(e, tok.access_token, now + tok.expires_in * 1000, tok.expires_in * 1000);
	tok.access_token = NULL;
	entry_forget_refusal(e);
	run_line(src, EVENT_INFO, "🔑 Refreshed the eBay access token of %s (valid for %llds)",
		 e->user, tok.expires_in);
	save_minted(src, u.ebay_refresh_token);
out:
	secret_free(refresh);
	oauth_token_release(&tok);
	user_row_release(&u);
	buf_release(&w);
	return err == ERR_RELINK ? ERR_RELINK : err ? ERR_AUTH : ERR_OK;
}

enum error account_token(void *ctx, int refresh, char **token, struct buf *why)
{
	struct account_source *src = ctx;
	struct entry *e = src->e;
	char *rejected = NULL;
	enum error err = ERR_OK;

	*token = NULL;
	pthread_mutex_lock(&e->mu);
	/* Refused the very token this cache holds: that one must go. A
	 * caller refused an older one finds the newer one here. */
	if (refresh && e->access && e->gen == src->gen)
		rejected = xstrdup(e->access);
	if (!e->access || rejected || !usable(e->expires_ms, e->lifetime_ms, timeutil_wall_ms()))
		err = renew(src, rejected, why);
	if (!err && !e->access) {
		buf_addf(why, "no eBay access token for '%s'", e->user);
		err = ERR_AUTH;
	}
	if (!err) {
		*token = xstrdup(e->access);
		src->gen = e->gen;
	}
	pthread_mutex_unlock(&e->mu);
	secret_free(rejected);
	return err;
}

/* ---- consent nonces ------------------------------------------------------ */

int accounts_claim_nonce(struct accounts *a, const char *nonce, long long expires_ms)
{
	long long now = timeutil_wall_ms();
	size_t i, kept = 0;
	int fresh = 1;

	pthread_mutex_lock(&a->mu);
	for (i = 0; i < a->n_nonces; i++) {
		if (a->nonces[i].expires_ms <= now) {
			free(a->nonces[i].value);
			continue;
		}
		if (!strcmp(a->nonces[i].value, nonce))
			fresh = 0;
		a->nonces[kept++] = a->nonces[i];
	}
	a->n_nonces = kept;
	if (fresh && a->n_nonces >= ACCOUNT_NONCES_MAX)
		fresh = 0;
	if (fresh) {
		a->nonces = xrealloc(a->nonces, (a->n_nonces + 1) * sizeof(*a->nonces));
		a->nonces[a->n_nonces].value = xstrdup(nonce);
		a->nonces[a->n_nonces].expires_ms = expires_ms;
		a->n_nonces++;
	}
	pthread_mutex_unlock(&a->mu);
	return fresh;
}

/* ---- setting up ---------------------------------------------------------- */

int account_is_linked(struct store *s, const char *user)
{
	struct account_status st;
	struct buf why = BUF_INIT;
	int linked = !account_status_get(s, user, &st, &why) && st.linked;

	account_status_release(&st);
	buf_release(&why);
	return linked;
}

enum error accounts_from_env(const char *env_name, const char *api_base, struct storepool *pool,
			     const struct secret_key *key, struct accounts **out, struct buf *why)
{
	struct oauth_config cfg;
	enum error err = oauth_config_from_env(&cfg, env_name, api_base, why);

	*out = err ? NULL : accounts_new(&cfg, pool, key);
	oauth_config_release(&cfg);
	return err;
}

struct account_linked {
	struct storepool *pool;
	struct secret_key key;
	struct accounts *accounts;
	struct account_source *src;
};

enum error account_linked_open(const char *db_url, const char *env_name, const char *api_base,
			       const char *user, struct account_linked **out, struct buf *why)
{
	struct account_linked *l = xcalloc(1, sizeof(*l));
	struct buf w = BUF_INIT;
	struct store *s = NULL;
	enum error err;
	int linked;

	*out = NULL;
	err = storepool_new(db_url, 2, &l->pool, &w);
	if (err) {
		buf_addf(why, "cannot open database '%s': %s", db_url, buf_str(&w));
		goto out;
	}
	s = storepool_get(l->pool, &w);
	if (!s) {
		buf_addf(why, "cannot open database '%s': %s", db_url, buf_str(&w));
		err = ERR_DB;
		goto out;
	}
	linked = account_is_linked(s, user);
	storepool_put(l->pool, s, 0);
	if (!linked) {
		buf_addf(why,
			 "no eBay account is linked for '%s' (link one with `ebaysync account link "
			 "--user %s`)",
			 user, user);
		err = ERR_NOTFOUND;
		goto out;
	}
	err = secret_key_load(db_url, &l->key, why);
	if (err)
		goto out;
	err = accounts_from_env(env_name, api_base, l->pool, &l->key, &l->accounts, why);
	if (err) {
		buf_addf(why, " (the eBay account of '%s' is linked: its runs need them)", user);
		if (err == ERR_NOTFOUND)
			err = ERR_INVALID;
		goto out;
	}
	l->src = account_source_new(l->accounts, user);
	*out = l;
	l = NULL;
out:
	account_linked_close(l);
	buf_release(&w);
	return err;
}

struct account_source *account_linked_source(struct account_linked *l)
{
	return l->src;
}

void account_linked_close(struct account_linked *l)
{
	if (!l)
		return;
	account_source_free(l->src);
	accounts_free(l->accounts);
	storepool_free(l->pool);
	memset(&l->key, 0, sizeof(l->key));
	free(l);
}
