/*
 * API keys (see apikey.h): making them, checking them on each request, and
 * their JSON. The key's id and prefix are public; its hash is compared by
 * the database's unique index on key_hash, which only a key of 256 random
 * bits can hit.
 */
#include "apikey.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "jsonutil.h"
#include "random.h"
#include "secret.h"
#include "store.h"
#include "timeutil.h"
#include "xalloc.h"
#include "banned.h"

#define KEY_BYTES    32
#define ID_BYTES     9
#define PREFIX_CHARS 12 /* "esk_" and 8 characters of the key */
#define DAY_MS	     86400000LL

int apikey_is_key(const char *token)
{
	return token && !strncmp(token, APIKEY_PREFIX, strlen(APIKEY_PREFIX));
}

char *apikey_hash(const char *key)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0, i;
	char *out;

	if (EVP_Digest(key, strlen(key), md, &len, EVP_sha256(), NULL) != 1)
		abort(); /* SHA-256 is always there */
	out = xmalloc(2 * len + 1);
	for (i = 0; i < len; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[2 * len] = '\0';
	return out;
}

static int valid_name(const char *name)
{
	size_t i, n = name ? strlen(name) : 0;

	if (n == 0 || n > APIKEY_NAME_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
			return 0;
	return 1;
}

enum error apikey_create(struct store *s, const char *user, const char *name, const char *scope,
			 long long expires_days, long long now_ms, char **key,
			 struct apikey_row *row, struct buf *why)
{
	char *random = NULL, *id_part = NULL;
	enum error err;

	*key = NULL;
	memset(row, 0, sizeof(*row));
	if (!scope)
		scope = APIKEY_SCOPE_READ;
	if (!valid_name(name)) {
		buf_addf(why, "the key's name must be 1 to %d printable characters",
			 APIKEY_NAME_MAX);
		return ERR_INVALID;
	}
	if (strcmp(scope, APIKEY_SCOPE_READ) && strcmp(scope, APIKEY_SCOPE_SYNC)) {
		buf_addf(why, "scope must be 'read' or 'sync', not '%.32s'", scope);
		return ERR_INVALID;
	}
	if (expires_days < 0 || expires_days > APIKEY_EXPIRES_MAX_DAYS) {
		buf_addf(why, "expires must be 0 (never) to %d days, not %lld",
			 APIKEY_EXPIRES_MAX_DAYS, expires_days);
		return ERR_INVALID;
	}
	random = random_token(KEY_BYTES);
	id_part = random_token(ID_BYTES);
	*key = xasprintf(APIKEY_PREFIX "%s", random);
	row->id = xasprintf("key_%s", id_part);
	row->user_id = xstrdup(user);
	row->name = xstrdup(name);
	row->scope = xstrdup(scope);
	row->key_hash = apikey_hash(*key);
	row->prefix = xstrndup(*key, PREFIX_CHARS);
	row->created_ms = now_ms;
	row->expires_ms = expires_days ? now_ms + expires_days * DAY_MS : 0;
	err = store_apikey_insert(s, row);
	if (err) {
		buf_addf(why, "cannot store the key: %s", store_errmsg(s));
		secret_free(*key);
		*key = NULL;
		apikey_row_release(row);
	}
	secret_free(random);
	free(id_part);
	return err;
}

enum error apikey_verify(struct store *s, const char *key, long long now_ms, char **user,
			 char **scope, struct buf *why)
{
	struct apikey_row k;
	char iso[32], *hash;
	enum error err;

	*user = NULL;
	*scope = NULL;
	if (!apikey_is_key(key) || strlen(key) > APIKEY_MAX_LEN) {
		buf_adds(why, "unknown API key");
		return ERR_AUTH;
	}
	hash = apikey_hash(key);
	err = store_apikey_find(s, hash, &k);
	free(hash);
	if (err == ERR_NOTFOUND) {
		buf_adds(why, "unknown API key: it was never made here, or its owner was removed");
		return ERR_AUTH;
	}
	if (err) {
		buf_addf(why, "cannot check the API key: %s", store_errmsg(s));
		return err;
	}
	if (k.revoked_ms) {
		timeutil_iso(k.revoked_ms, iso, sizeof(iso));
		buf_addf(why, "API key '%s' (%s) was revoked at %s", k.name, k.prefix, iso);
		err = ERR_AUTH;
	} else if (k.expires_ms && k.expires_ms <= now_ms) {
		timeutil_iso(k.expires_ms, iso, sizeof(iso));
		buf_addf(why, "API key '%s' (%s) expired at %s", k.name, k.prefix, iso);
		err = ERR_AUTH;
	} else {
		/* A failed note of the last use does not refuse the caller. */
		store_apikey_touch(s, k.id, now_ms);
		*user = k.user_id;
		*scope = k.scope;
		k.user_id = NULL;
		k.scope = NULL;
	}
	apikey_row_release(&k);
	return err;
}

int apikey_scope_allows(const char *scope, const char *method)
{
	if (scope && !strcmp(scope, APIKEY_SCOPE_SYNC))
		return 1;
	return !strcmp(method, "GET") || !strcmp(method, "HEAD");
}

json_t *apikey_json(const struct apikey_row *k)
{
	return json_pack(
	    "{s:s,s:s,s:s,s:s,s:o,s:o,s:o,s:o}", "id", k->id, "name", k->name, "scope", k->scope,
	    "prefix", k->prefix, "created_at", jsonutil_iso_or_null(k->created_ms), "last_used_at",
	    jsonutil_iso_or_null(k->last_used_ms), "expires_at",
	    jsonutil_iso_or_null(k->expires_ms), "revoked_at", jsonutil_iso_or_null(k->revoked_ms));
}
