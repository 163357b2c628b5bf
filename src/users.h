/*
 * ebaysync's users as the command line and `serve --demo-user` manage
 * them: a name, a yescrypt password hash, and the user's eBay token sealed
 * with the secret key (secret.h) under the context "ebay_token:<name>".
 */
#ifndef USERS_H
#define USERS_H

#include "buf.h"
#include "error.h"

struct store;
struct secret_key;

enum users_mode {
	USERS_CREATE, /* the user must not exist yet (ERR_CONFLICT) */
	USERS_UPSERT, /* create, or replace the password of an existing user */
};

/*
 * Saves user spec "NAME:PASSWORD" (or name and password apart with
 * users_put_password) and, when ebay_token is not NULL, their eBay token.
 * An existing user keeps their token when ebay_token is NULL.
 */
enum error users_put(struct store *s, const struct secret_key *key, const char *spec,
		     const char *ebay_token, enum users_mode mode, struct buf *why);
enum error users_put_password(struct store *s, const struct secret_key *key, const char *name,
			      const char *password, const char *ebay_token, enum users_mode mode,
			      struct buf *why);

/* Seals and stores the eBay token of an existing user (ERR_NOTFOUND). */
enum error users_set_token(struct store *s, const struct secret_key *key, const char *name,
			   const char *ebay_token, struct buf *why);

/* The sealing context of name's eBay token (malloc'd). */
char *users_token_context(const char *name);

#endif
