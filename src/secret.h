/*
 * Small secrets at rest: users' eBay tokens are sealed with AES-256-GCM
 * (OpenSSL EVP) before they reach the database, so a copy of the database
 * alone does not give away anyone's eBay account. The key comes from
 * EBAYSYNC_SECRET_KEY (64 hex digits or base64 of 32 bytes) or from a key
 * file created with mode 0600 on first use. The same key-file machinery
 * serves the JWT secret (auth.c).
 *
 * Sealed text: "v1." base64url(12-byte nonce | ciphertext | 16-byte tag).
 * Each seal binds a context string (e.g. "ebay_token:alice") as additional
 * authenticated data, so a sealed value copied to another user's row does
 * not open there.
 */
#ifndef SECRET_H
#define SECRET_H

#include <stddef.h>

#include "buf.h"
#include "encoding.h"
#include "error.h"

#define SECRET_KEY_LEN	 32
#define SECRET_PLAIN_MAX 16384 /* bytes a sealed secret may hold */

struct secret_key {
	unsigned char bytes[SECRET_KEY_LEN];
};

/*
 * The default path of a key file called name ("secret.key", "jwt.key") for
 * the store named by db_url: next to a SQLite file, else in
 * $XDG_DATA_HOME/ebaysync/ (or ~/.local/share/ebaysync/), which is created
 * with mode 0700. Returns a malloc'd path.
 */
char *secret_default_path(const char *db_url, const char *name);

/*
 * Reads the key file at path (hex of at least min_len bytes, one line), or,
 * when absent, creates it with mode 0600 holding len random bytes (several
 * processes starting at once agree on one key). A file readable by group or
 * others, or owned by another user, is refused. *out (malloc'd) receives
 * the bytes and *out_len their count; the caller clears and frees them.
 */
enum error secret_keyfile(const char *path, size_t len, size_t min_len, unsigned char **out,
			  size_t *out_len, struct buf *why);

/*
 * Decodes key text: 64 hex digits, or base64 (standard or url-safe) of
 * exactly 32 bytes. ERR_INVALID (reason in why) for anything else.
 */
enum error secret_key_parse(const char *text, struct secret_key *out, struct buf *why);

/* The sealing key: EBAYSYNC_SECRET_KEY, else EBAYSYNC_SECRET_KEY_FILE, else
 * the default key file "secret.key" for db_url. */
enum error secret_key_load(const char *db_url, struct secret_key *out, struct buf *why);

/* Seals plain under key and context; *out is malloc'd sealed text.
 * ERR_TOOBIG for plain over SECRET_PLAIN_MAX. */
enum error secret_seal(const struct secret_key *key, const char *context, const char *plain,
		       char **out);

/*
 * Opens sealed text. ERR_PARSE for text that is not a sealed value, ERR_AUTH
 * when the tag does not verify (wrong key, wrong context, tampered). *out is
 * malloc'd; the caller should clear it (secret_wipe) before freeing.
 */
enum error secret_open(const struct secret_key *key, const char *context, const char *sealed,
		       char **out, struct buf *why);

/* Zeroes and frees a string holding a secret; NULL is fine. */
void secret_free(char *s);

#endif
