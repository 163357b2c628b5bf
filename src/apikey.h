/*
 * API keys: long-lived, revocable credentials for scripts, sent as
 * `Authorization: Bearer esk_...` (docs/api.md). A key is 32 random bytes
 * (OpenSSL) in base64url behind the prefix "esk_", which tells it from a
 * login JWT; it is shown once, when made, and stored only as its SHA-256
 * (a key has too much entropy to guess, so a plain hash is the right
 * store, as GitHub and Stripe keep theirs). Each key has a scope: "read"
 * reads the mirror, runs and events; "sync" also starts and stops syncs.
 * A revoked or expired key is refused at once, with a message that says
 * which. Nothing here logs a key.
 */
#ifndef APIKEY_H
#define APIKEY_H

#include <jansson.h>

#include "buf.h"
#include "error.h"

struct store;
struct apikey_row;

#define APIKEY_PREFIX		"esk_"
#define APIKEY_SCOPE_READ	"read"
#define APIKEY_SCOPE_SYNC	"sync"
#define APIKEY_NAME_MAX		100  /* bytes of a label */
#define APIKEY_EXPIRES_MAX_DAYS 3650 /* ten years */
#define APIKEY_MAX_LEN		128  /* bytes of a key we look at */

/* Does token look like an API key (rather than a JWT)? */
int apikey_is_key(const char *token);

/* The hex SHA-256 of key (malloc'd): what the store keeps. */
char *apikey_hash(const char *key);

/*
 * Makes a key for user: name 1..APIKEY_NAME_MAX printable bytes, scope
 * "read" or "sync" (NULL: "read"), expires_days 0 (never) or up to
 * APIKEY_EXPIRES_MAX_DAYS. On success *key (malloc'd; the caller shows it
 * once and frees it with secret_free) and *row (released by the caller) are
 * set. ERR_INVALID with why for a bad argument; a store error otherwise.
 */
enum error apikey_create(struct store *s, const char *user, const char *name, const char *scope,
			 long long expires_days, long long now_ms, char **key,
			 struct apikey_row *row, struct buf *why);

/*
 * Checks key at now_ms: ERR_OK with *user and *scope (malloc'd) when it is a
 * live key, and records its use; ERR_AUTH with the reason in why for an
 * unknown, revoked or expired key; a store error (why set) otherwise.
 */
enum error apikey_verify(struct store *s, const char *key, long long now_ms, char **user,
			 char **scope, struct buf *why);

/* May a key of scope call method? "read" only reads (GET, HEAD). */
int apikey_scope_allows(const char *scope, const char *method);

/* A key as the API lists it: id, name, scope, prefix, created_at,
 * last_used_at, expires_at, revoked_at (never the hash). */
json_t *apikey_json(const struct apikey_row *k);

#endif
