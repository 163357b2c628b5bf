/*
 * A user's eBay account, linked for real: the refresh token from an OAuth
 * consent (or given by hand) sealed in the users table, and the access
 * tokens minted from it, so that a sync of any length, or one a day later,
 * never stops for an expired token.
 *
 * The token source of a run (account_token, an ebay_token_fn) hands out the
 * cached access token while it has more than ACCOUNT_MARGIN_MS left (or a
 * fifth of its lifetime, for short-lived tokens), mints a new one from the
 * refresh token when there is none or it is about to expire, and mints
 * again, once, when eBay refuses the current one. Every run of a user in
 * this process shares one cache entry guarded by a mutex and a generation
 * number: concurrent requests, and concurrent runs, that were refused the
 * same token cause one refresh, not one each. Minted tokens are also
 * written to the store, sealed, with their expiry, so that other processes
 * on the same database use them instead of minting their own.
 *
 * Sealing contexts: "ebay_token:<user>" for the access token (the column
 * `ebaysync user set-token` writes too) and "ebay_refresh_token:<user>" for
 * the refresh token. Nothing here prints, logs or returns a token to anyone
 * but the eBay client.
 */
#ifndef ACCOUNT_H
#define ACCOUNT_H

#include <jansson.h>
#include <stddef.h>

#include "buf.h"
#include "error.h"
#include "oauth.h"

/* A cached access token is replaced when less than this is left. */
#define ACCOUNT_MARGIN_MS (5LL * 60 * 1000)
/* After eBay refused a refresh token, the same refusal is repeated without
 * asking eBay again for this long (unless the account is linked anew). */
#define ACCOUNT_REFUSAL_MEMO_MS 10000
/* Consent states remembered as used (see accounts_claim_nonce). */
#define ACCOUNT_NONCES_MAX 10000

struct accounts;
struct account_source;
struct secret_key;
struct store;
struct storepool;
struct sync_run;

/*
 * The linked accounts of a process. cfg and key are copied; pool (not
 * owned) gives token sources their store connections and may be NULL when
 * no token source is made (linking and status take a connection each
 * call). Free with accounts_free() after every source is freed.
 */
struct accounts *accounts_new(const struct oauth_config *cfg, struct storepool *pool,
			      const struct secret_key *key);
void accounts_free(struct accounts *a);
const struct oauth_config *accounts_oauth(const struct accounts *a);

/* The sealing context of user's refresh token (malloc'd). */
char *account_refresh_context(const char *user);

/*
 * Links user (who must exist: ERR_NOTFOUND) to the eBay account that tok
 * came from (the code grant's answer, with a refresh token): stores the
 * refresh token and the access token, sealed, with their expiries, and
 * makes this process's token sources use them at once.
 */
enum error account_link(struct accounts *a, struct store *s, const char *user,
			const struct oauth_token *tok, struct buf *why);

/*
 * Links user with a refresh token obtained elsewhere. expires_in_s > 0
 * records when it expires (0: unknown). With verify set, first mints an
 * access token from it: when eBay refuses it nothing is stored (ERR_AUTH).
 */
enum error account_set_refresh_token(struct accounts *a, struct store *s, const char *user,
				     const char *refresh_token, long long expires_in_s, int verify,
				     struct buf *why);

/* Forgets user's refresh token and cached access token. */
enum error account_unlink(struct accounts *a, struct store *s, const char *user, struct buf *why);

/* What may be shown about a user's account: never a token. */
struct account_status {
	char *user;
	int linked;		      /* a refresh token is stored */
	long long refresh_expires_ms; /* epoch ms; 0: unknown */
	int has_access_token;	      /* an access token is stored (minted or set by hand) */
	long long access_expires_ms;  /* epoch ms of a minted one; 0: unknown */
};

void account_status_release(struct account_status *st);
/* One user's status; ERR_NOTFOUND for no such user. */
enum error account_status_get(struct store *s, const char *user, struct account_status *out,
			      struct buf *why);
/* Every user's, by name; free each, then the array. */
enum error account_status_list(struct store *s, struct account_status **out, size_t *n,
			       struct buf *why);
/* {"user", "linked", "refresh_token_expires_at", "access_token_expires_at"}
 * with ISO-8601 times or null. */
json_t *account_status_json(const struct account_status *st);

/*
 * The token source of one run of user (copied); a->pool must be set.
 * Free with account_source_free() once the run has ended.
 */
struct account_source *account_source_new(struct accounts *a, const char *user);
/* The run whose log gets a line for each refresh (optional; not owned). */
void account_source_set_run(struct account_source *src, struct sync_run *run);
void account_source_free(struct account_source *src);

/*
 * An ebay_token_fn over a struct account_source (ctx): see the top of this
 * file. Every failure ends the run instead of failing SKU after SKU:
 * ERR_RELINK when only linking the account again helps (the refresh
 * token expired, or eBay refused it: invalid_grant), ERR_AUTH otherwise
 * (no account linked, the client credentials, the sealing key, or the
 * token endpoint could not be reached); why says which.
 */
enum error account_token(void *ctx, int refresh, char **token, struct buf *why);

/* 1 when user exists and has a refresh token stored (errors count as 0). */
int account_is_linked(struct store *s, const char *user);

/*
 * The accounts of a process configured from the environment
 * (oauth_config_from_env with env_name and api_base): ERR_NOTFOUND, with
 * why, when OAuth is not configured; other errors for a wrong setting.
 */
enum error accounts_from_env(const char *env_name, const char *api_base, struct storepool *pool,
			     const struct secret_key *key, struct accounts **out, struct buf *why);

/*
 * For a process that runs syncs of one user (`ebaysync sync`): opens what
 * the user's linked account needs (the OAuth settings from the
 * environment, the sealing key and a small pool for db_url) and a token
 * source. ERR_NOTFOUND when user has no linked account (why says how to
 * link one); other errors with a reason. Close with account_linked_close().
 */
struct account_linked;
enum error account_linked_open(const char *db_url, const char *env_name, const char *api_base,
			       const char *user, struct account_linked **out, struct buf *why);
struct account_source *account_linked_source(struct account_linked *l);
void account_linked_close(struct account_linked *l);

/*
 * Marks a consent nonce used until expires_ms. Returns 1 the first time,
 * 0 when it was already used (a replayed callback) or the table is full.
 */
int accounts_claim_nonce(struct accounts *a, const char *nonce, long long expires_ms);

#endif
