/*
 * Creating users and setting their eBay tokens (see users.h). Passwords go
 * through auth_hash_password and tokens through secret_seal before they
 * reach the store: neither is ever written in clear.
 */
#include "users.h"

#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "secret.h"
#include "store.h"
#include "timeutil.h"
#include "xalloc.h"
#include "banned.h"

char *users_token_context(const char *name)
{
	return xasprintf("ebay_token:%s", name);
}

static enum error seal(const struct secret_key *key, const char *name, const char *token,
		       char **out, struct buf *why)
{
	char *context = users_token_context(name);
	enum error err;

	*out = NULL;
	if (!*token) {
		buf_addf(why, "the eBay token is empty");
		err = ERR_INVALID;
	} else {
		err = secret_seal(key, context, token, out);
		if (err)
			buf_addf(why, "cannot seal the eBay token: %s", error_strerror(err));
	}
	free(context);
	return err;
}

enum error users_put_password(struct store *s, const struct secret_key *key, const char *name,
			      const char *password, const char *ebay_token, enum users_mode mode,
			      struct buf *why)
{
	struct user_row u;
	char *hash = NULL, *sealed = NULL;
	enum error err;

	memset(&u, 0, sizeof(u));
	err = auth_check_user_name(name, why);
	if (!err && !*password) {
		buf_addf(why, "the password is empty");
		err = ERR_INVALID;
	}
	if (!err)
		err = auth_hash_password(password, &hash, why);
	if (!err && ebay_token)
		err = seal(key, name, ebay_token, &sealed, why);
	if (err)
		goto out;
	err = store_user_get(s, name, &u);
	if (!err && mode == USERS_CREATE) {
		buf_addf(why, "user '%s' already exists", name);
		err = ERR_CONFLICT;
		goto out;
	}
	if (err == ERR_NOTFOUND) {
		memset(&u, 0, sizeof(u));
		u.id = xstrdup(name);
		u.created_ms = timeutil_wall_ms();
		err = ERR_OK;
	}
	if (err) {
		buf_addf(why, "cannot read user '%s': %s", name, store_errmsg(s));
		goto out;
	}
	free(u.password_hash);
	u.password_hash = hash;
	hash = NULL;
	if (sealed) {
		free(u.ebay_token);
		u.ebay_token = sealed;
		sealed = NULL;
	}
	err = store_user_put(s, &u);
	if (err)
		buf_addf(why, "cannot save user '%s': %s", name, store_errmsg(s));
out:
	user_row_release(&u);
	free(hash);
	free(sealed);
	return err;
}

enum error users_put(struct store *s, const struct secret_key *key, const char *spec,
		     const char *ebay_token, enum users_mode mode, struct buf *why)
{
	const char *colon = strchr(spec, ':');
	char *name;
	enum error err;

	if (!colon) {
		buf_addf(why, "user must be given as NAME:PASSWORD");
		return ERR_INVALID;
	}
	name = xstrndup(spec, (size_t)(colon - spec));
	err = users_put_password(s, key, name, colon + 1, ebay_token, mode, why);
	free(name);
	return err;
}

enum error users_set_token(struct store *s, const struct secret_key *key, const char *name,
			   const char *ebay_token, struct buf *why)
{
	struct user_row u;
	char *sealed = NULL;
	enum error err;

	memset(&u, 0, sizeof(u));
	err = store_user_get(s, name, &u);
	if (err == ERR_NOTFOUND) {
		buf_addf(why, "no user '%s': add it with `ebaysync user add %s`", name, name);
		return err;
	}
	if (err) {
		buf_addf(why, "cannot read user '%s': %s", name, store_errmsg(s));
		return err;
	}
	err = seal(key, name, ebay_token, &sealed, why);
	if (!err) {
		free(u.ebay_token);
		u.ebay_token = sealed;
		err = store_user_put(s, &u);
		if (err)
			buf_addf(why, "cannot save user '%s': %s", name, store_errmsg(s));
	}
	user_row_release(&u);
	return err;
}
