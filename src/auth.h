/*
 * Who is calling ebaysync serve: HS256 JSON Web Tokens (libjwt) and user
 * passwords (crypt(3) yescrypt from libcrypt).
 *
 * A token carries sub (the user id), iat, exp and jti (a random id by
 * which logout revokes it: the server keeps revoked ids in the database). Verification accepts only
 * HS256 under the server's secret: "alg": "none", any other algorithm, a
 * signature that does not match, a missing or past exp are each refused with
 * a message that says which. The secret is EBAYSYNC_JWT_SECRET (at least 32
 * bytes) or, failing that, a key file (EBAYSYNC_JWT_KEY_FILE, default
 * "jwt.key" next to the SQLite database or under $XDG_DATA_HOME/ebaysync/)
 * created with mode 0600 on first start; several servers on one PostgreSQL
 * database must share it.
 */
#ifndef AUTH_H
#define AUTH_H

#include <stddef.h>

#include "buf.h"
#include "error.h"

#define AUTH_COOKIE	  "ebaysync_token"
#define AUTH_TOKEN_MAX	  4096	/* bytes of a token we will look at */
#define AUTH_SECRET_MIN	  32	/* bytes of HMAC secret */
#define AUTH_USER_MAX	  64	/* bytes of a user name */
#define AUTH_PASSWORD_MAX 1024	/* bytes of a password */
#define AUTH_DEFAULT_TTL  43200 /* seconds a login lasts: 12 hours */

struct auth {
	unsigned char *key; /* the HMAC secret; owned */
	size_t key_len;
	char *dummy_hash; /* a hash to check unknown users against (same cost) */
};

/* Loads the secret as described above for the store named by db_url. */
enum error auth_init(struct auth *a, const char *db_url, struct buf *why);
/* With an explicit secret (copied); ERR_INVALID if shorter than AUTH_SECRET_MIN. */
enum error auth_init_key(struct auth *a, const unsigned char *key, size_t len);
void auth_release(struct auth *a);

/* A token for user valid from now_s for ttl_s seconds; *token malloc'd.
 * *expires_s (if given) receives its exp. */
enum error auth_issue(const struct auth *a, const char *user, long long ttl_s, long long now_s,
		      char **token, long long *expires_s);

/*
 * Verifies token at now_s. On success *user (malloc'd) is its sub. On
 * failure returns ERR_AUTH with the reason in why ("token expired at ...",
 * "token algorithm 'none' is not accepted", ...). Whether the token was
 * revoked is the caller's to check (auth_verify_claims gives its id).
 */
enum error auth_verify(const struct auth *a, const char *token, long long now_s, char **user,
		       struct buf *why);

/* What a verified token says; the strings are malloc'd. */
struct auth_claims {
	char *user; /* sub */
	char *jti;  /* the token's id */
	long long exp;
};

/* auth_verify, giving every claim; release *out with auth_claims_release(),
 * also after a failure. */
enum error auth_verify_claims(const struct auth *a, const char *token, long long now_s,
			      struct auth_claims *out, struct buf *why);
void auth_claims_release(struct auth_claims *c);

/* A user name is 1..AUTH_USER_MAX of [A-Za-z0-9._@-]. ERR_INVALID (why) else. */
enum error auth_check_user_name(const char *name, struct buf *why);

/* A fresh yescrypt hash of password (*hash malloc'd). */
enum error auth_hash_password(const char *password, char **hash, struct buf *why);

/*
 * ERR_OK when password matches hash (compared in constant time), ERR_AUTH
 * when it does not. hash NULL (an unknown user) costs the same time as a
 * real check against a's dummy hash, and fails.
 */
enum error auth_check_password(const struct auth *a, const char *password, const char *hash);

#endif
