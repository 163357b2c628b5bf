/*
 * JSON Web Tokens and passwords (see auth.h). libjwt signs and verifies;
 * before it sees a token we read the token's header ourselves, so that
 * "alg": "none" and algorithm substitution are refused by name, whatever
 * the library would have made of them, and so that each failure can say
 * what was wrong with the token.
 */
#include "auth.h"

#include <crypt.h>
#include <errno.h>
#include <jansson.h>
#include <jwt.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "encoding.h"
#include "secret.h"
#include "timeutil.h"
#include "xalloc.h"
#include "banned.h"

#define CLOCK_SKEW_S 300 /* an iat this far in the future is refused */

enum error auth_init_key(struct auth *a, const unsigned char *key, size_t len)
{
	unsigned char pw[16];
	char *hex;
	struct buf why = BUF_INIT;
	enum error err;

	memset(a, 0, sizeof(*a));
	if (len < AUTH_SECRET_MIN)
		return ERR_INVALID;
	a->key = xmalloc(len);
	memcpy(a->key, key, len);
	a->key_len = len;
	if (RAND_bytes(pw, sizeof(pw)) != 1)
		abort();
	hex = encoding_b64url_encode(pw, sizeof(pw));
	err = auth_hash_password(hex, &a->dummy_hash, &why);
	free(hex);
	buf_release(&why);
	if (err)
		auth_release(a);
	return err;
}

enum error auth_init(struct auth *a, const char *db_url, struct buf *why)
{
	const char *env = getenv("EBAYSYNC_JWT_SECRET"), *file = getenv("EBAYSYNC_JWT_KEY_FILE");
	unsigned char *key = NULL;
	size_t len = 0;
	char *path;
	enum error err;

	memset(a, 0, sizeof(*a));
	if (env && *env) {
		if (strlen(env) < AUTH_SECRET_MIN) {
			buf_addf(why, "EBAYSYNC_JWT_SECRET must be at least %d bytes long",
				 AUTH_SECRET_MIN);
			return ERR_INVALID;
		}
		err = auth_init_key(a, (const unsigned char *)env, strlen(env));
		if (err)
			buf_addf(why, "cannot set up the JWT secret: %s", error_strerror(err));
		return err;
	}
	path = file && *file ? xstrdup(file) : secret_default_path(db_url, "jwt.key");
	err = secret_keyfile(path, 32, AUTH_SECRET_MIN, &key, &len, why);
	if (!err) {
		err = auth_init_key(a, key, len);
		if (err)
			buf_addf(why, "cannot set up the JWT secret: %s", error_strerror(err));
	}
	if (key) {
		OPENSSL_cleanse(key, len);
		free(key);
	}
	free(path);
	return err;
}

void auth_release(struct auth *a)
{
	if (a->key) {
		OPENSSL_cleanse(a->key, a->key_len);
		free(a->key);
	}
	free(a->dummy_hash);
	memset(a, 0, sizeof(*a));
}

enum error auth_issue(const struct auth *a, const char *user, long long ttl_s, long long now_s,
		      char **token, long long *expires_s)
{
	jwt_t *jwt = NULL;
	enum error err = ERR_INTERNAL;
	unsigned char raw[16];
	char *out, *jti = NULL;

	*token = NULL;
	if (ttl_s <= 0)
		return ERR_INVALID;
	if (jwt_new(&jwt))
		abort();
	if (RAND_bytes(raw, sizeof(raw)) != 1)
		abort();
	jti = encoding_b64url_encode(raw, sizeof(raw));
	if (jwt_add_grant(jwt, "sub", user) || jwt_add_grant(jwt, "jti", jti) ||
	    jwt_add_grant_int(jwt, "iat", (long)now_s) ||
	    jwt_add_grant_int(jwt, "exp", (long)(now_s + ttl_s)) ||
	    jwt_set_alg(jwt, JWT_ALG_HS256, a->key, (int)a->key_len))
		goto out;
	out = jwt_encode_str(jwt);
	if (!out)
		goto out;
	/* libjwt allocates with its own allocator (malloc by default);
	 * hand the caller a copy from ours. */
	*token = xstrdup(out);
	free(out);
	if (expires_s)
		*expires_s = now_s + ttl_s;
	err = ERR_OK;
out:
	jwt_free(jwt);
	free(jti);
	return err;
}

/* Decodes one base64url part of a token as a JSON object; NULL if it is not. */
static json_t *decode_part(const char *s, size_t len)
{
	unsigned char *raw = NULL;
	size_t n = 0;
	json_t *j;

	if (encoding_b64_decode(s, len, ENCODING_B64URL, &raw, &n) != ERR_OK)
		return NULL;
	j = json_loadb((const char *)raw, n, JSON_REJECT_DUPLICATES, NULL);
	free(raw);
	if (j && !json_is_object(j)) {
		json_decref(j);
		j = NULL;
	}
	return j;
}

/* Splits header.payload.signature and checks the header's algorithm. */
static enum error check_shape(const char *token, json_t **payload, struct buf *why)
{
	const char *d1 = strchr(token, '.'), *d2 = d1 ? strchr(d1 + 1, '.') : NULL, *alg;
	size_t len = strlen(token);
	json_t *header = NULL;
	enum error err = ERR_AUTH;

	*payload = NULL;
	if (!d1 || !d2 || strchr(d2 + 1, '.') ||
	    !encoding_is_b64(token, (size_t)(d1 - token), ENCODING_B64URL) ||
	    !encoding_is_b64(d1 + 1, (size_t)(d2 - d1 - 1), ENCODING_B64URL) ||
	    !encoding_is_b64(d2 + 1, len - (size_t)(d2 + 1 - token), ENCODING_B64URL)) {
		buf_addf(why, "malformed token: expected three base64url parts joined by '.'");
		goto out;
	}
	header = decode_part(token, (size_t)(d1 - token));
	if (!header) {
		buf_addf(why, "malformed token: its header is not a JSON object");
		goto out;
	}
	alg = json_string_value(json_object_get(header, "alg"));
	if (!alg) {
		buf_addf(why, "malformed token: its header names no algorithm");
		goto out;
	}
	if (!strcasecmp(alg, "none")) {
		buf_addf(why, "token algorithm 'none' is not accepted");
		goto out;
	}
	if (strcmp(alg, "HS256")) {
		buf_addf(why, "token algorithm '%.16s' is not accepted: tokens are HS256", alg);
		goto out;
	}
	if (json_object_get(header, "crit")) {
		buf_addf(why, "token header has critical extensions we do not support");
		goto out;
	}
	if (d2[1] == '\0') {
		buf_addf(why, "token has no signature");
		goto out;
	}
	*payload = decode_part(d1 + 1, (size_t)(d2 - d1 - 1));
	if (!*payload) {
		buf_addf(why, "malformed token: its payload is not a JSON object");
		goto out;
	}
	err = ERR_OK;
out:
	json_decref(header);
	return err;
}

void auth_claims_release(struct auth_claims *c)
{
	free(c->user);
	free(c->jti);
	memset(c, 0, sizeof(*c));
}

enum error auth_verify(const struct auth *a, const char *token, long long now_s, char **user,
		       struct buf *why)
{
	struct auth_claims c;
	enum error err = auth_verify_claims(a, token, now_s, &c, why);

	*user = c.user;
	c.user = NULL;
	auth_claims_release(&c);
	return err;
}

enum error auth_verify_claims(const struct auth *a, const char *token, long long now_s,
			      struct auth_claims *out, struct buf *why)
{
	json_t *payload = NULL, *exp, *iat;
	struct buf ignored = BUF_INIT;
	jwt_t *jwt = NULL;
	const char *sub, *jti;
	enum error err = ERR_AUTH;
	char when[32];

	memset(out, 0, sizeof(*out));
	if (strlen(token) > AUTH_TOKEN_MAX) {
		buf_addf(why, "token is longer than %d bytes", AUTH_TOKEN_MAX);
		return ERR_AUTH;
	}
	if (check_shape(token, &payload, why))
		goto out;
	if (jwt_decode(&jwt, token, a->key, (int)a->key_len) || !jwt ||
	    jwt_get_alg(jwt) != JWT_ALG_HS256) {
		buf_addf(why, "token signature does not match");
		goto out;
	}
	/* The claims are read from the verified payload; libjwt's copy
	 * says the same but keeps numbers in a long. */
	exp = json_object_get(payload, "exp");
	if (!json_is_integer(exp)) {
		buf_addf(why, "token has no expiry time (exp)");
		goto out;
	}
	if (json_integer_value(exp) <= now_s) {
		timeutil_iso(json_integer_value(exp) * 1000, when, sizeof(when));
		buf_addf(why, "token expired at %s: log in again", when);
		goto out;
	}
	iat = json_object_get(payload, "iat");
	if (iat && (!json_is_integer(iat) || json_integer_value(iat) > now_s + CLOCK_SKEW_S)) {
		buf_addf(why, "token issue time (iat) is in the future");
		goto out;
	}
	sub = json_string_value(json_object_get(payload, "sub"));
	if (!sub || auth_check_user_name(sub, &ignored) != ERR_OK) {
		buf_addf(why, "token names no valid user (sub)");
		goto out;
	}
	jti = json_string_value(json_object_get(payload, "jti"));
	if (!jti || !*jti || strlen(jti) > 64) {
		buf_addf(why, "token has no id (jti): log in again");
		goto out;
	}
	out->user = xstrdup(sub);
	out->jti = xstrdup(jti);
	out->exp = json_integer_value(exp);
	err = ERR_OK;
out:
	if (jwt)
		jwt_free(jwt);
	json_decref(payload);
	buf_release(&ignored);
	return err;
}

enum error auth_check_user_name(const char *name, struct buf *why)
{
	size_t i, len = strlen(name);

	if (len == 0 || len > AUTH_USER_MAX) {
		buf_addf(why, "user name must be 1 to %d characters", AUTH_USER_MAX);
		return ERR_INVALID;
	}
	for (i = 0; i < len; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '@' || c == '-')) {
			buf_addf(why, "user name may hold only letters, digits and . _ @ -");
			return ERR_INVALID;
		}
	}
	return ERR_OK;
}

enum error auth_hash_password(const char *password, char **hash, struct buf *why)
{
	struct crypt_data *cd;
	char *setting;
	const char *h;
	enum error err = ERR_INTERNAL;

	*hash = NULL;
	if (strlen(password) > AUTH_PASSWORD_MAX) {
		buf_addf(why, "password is longer than %d bytes", AUTH_PASSWORD_MAX);
		return ERR_INVALID;
	}
	setting = crypt_gensalt_ra("$y$", 0, NULL, 0);
	if (!setting) {
		buf_addf(why, "cannot make a yescrypt salt: %s", strerror(errno));
		return ERR_INTERNAL;
	}
	cd = xcalloc(1, sizeof(*cd));
	h = crypt_r(password, setting, cd);
	if (!h || h[0] != '$') {
		buf_addf(why, "cannot hash the password with yescrypt");
		goto out;
	}
	*hash = xstrdup(h);
	err = ERR_OK;
out:
	OPENSSL_cleanse(cd, sizeof(*cd));
	free(cd);
	free(setting);
	return err;
}

enum error auth_check_password(const struct auth *a, const char *password, const char *hash)
{
	struct crypt_data *cd = xcalloc(1, sizeof(*cd));
	const char *against = hash ? hash : a->dummy_hash;
	const char *h;
	int ok = 0;

	if (strlen(password) <= AUTH_PASSWORD_MAX && against) {
		h = crypt_r(password, against, cd);
		ok = h && h[0] == '$' && strlen(h) == strlen(against) &&
		     CRYPTO_memcmp(h, against, strlen(h)) == 0;
	}
	OPENSSL_cleanse(cd, sizeof(*cd));
	free(cd);
	return ok && hash ? ERR_OK : ERR_AUTH;
}
