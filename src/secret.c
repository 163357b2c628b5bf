/*
 * Sealing small secrets with AES-256-GCM, and the key files behind them
 * (see secret.h). Key files are created atomically: the key is written to a
 * private temporary file which is then hard-linked into place, so a second
 * process starting at the same moment either wins the link or reads the
 * complete file of the first; nobody ever reads half a key.
 */
#include "secret.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "encoding.h"
#include "xalloc.h"
#include "banned.h"

#define SEAL_PREFIX "v1."
#define NONCE_LEN   12
#define TAG_LEN	    16
#define KEYFILE_MAX 4096

static void trim(const char **s, size_t *len)
{
	while (*len && strchr(" \t\r\n", (*s)[0])) {
		(*s)++;
		(*len)--;
	}
	while (*len && strchr(" \t\r\n", (*s)[*len - 1]))
		(*len)--;
}

enum error secret_key_parse(const char *text, struct secret_key *out, struct buf *why)
{
	size_t len = strlen(text), n;
	unsigned char *raw = NULL;

	trim(&text, &len);
	if (len == 2 * SECRET_KEY_LEN &&
	    encoding_hex_decode(text, len, out->bytes, SECRET_KEY_LEN) == SECRET_KEY_LEN)
		return ERR_OK;
	if (encoding_b64_decode(text, len, ENCODING_B64_ANY, &raw, &n) == ERR_OK &&
	    n == SECRET_KEY_LEN) {
		memcpy(out->bytes, raw, SECRET_KEY_LEN);
		OPENSSL_cleanse(raw, n);
		free(raw);
		return ERR_OK;
	}
	if (raw) {
		OPENSSL_cleanse(raw, n);
		free(raw);
	}
	buf_addf(why, "key must be 64 hex digits or base64 of 32 bytes");
	return ERR_INVALID;
}

static int is_pg_url(const char *url)
{
	return !strncmp(url, "postgres://", 11) || !strncmp(url, "postgresql://", 13) ||
	       strchr(url, '=') != NULL;
}

static void mkdir_private(const char *path)
{
	char *p = xstrdup(path), *s;

	for (s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		mkdir(p, 0700);
		*s = '/';
	}
	mkdir(p, 0700);
	free(p);
}

char *secret_default_path(const char *db_url, const char *name)
{
	const char *xdg = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
	char *dir, *path;

	if (db_url && *db_url && !is_pg_url(db_url) && strcmp(db_url, ":memory:")) {
		const char *file = db_url, *slash;

		if (!strncmp(file, "file:", 5))
			file += 5;
		slash = strrchr(file, '/');
		if (!slash)
			return xstrdup(name);
		return xasprintf("%.*s/%s", (int)(slash - file), file, name);
	}
	if (xdg && *xdg)
		dir = xasprintf("%s/ebaysync", xdg);
	else
		dir = xasprintf("%s/.local/share/ebaysync", home && *home ? home : ".");
	mkdir_private(dir);
	path = xasprintf("%s/%s", dir, name);
	free(dir);
	return path;
}

static enum error read_keyfile(const char *path, size_t min_len, unsigned char **out,
			       size_t *out_len, struct buf *why)
{
	char text[KEYFILE_MAX + 1];
	const char *t = text;
	unsigned char *bytes = NULL;
	enum error err = ERR_IO;
	struct stat st;
	ssize_t n;
	size_t len;
	long got;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0) {
		buf_addf(why, "cannot open key file '%s': %s", path, strerror(errno));
		return errno == ENOENT ? ERR_NOTFOUND : ERR_IO;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		buf_addf(why, "key file '%s' is not a regular file", path);
		goto out;
	}
	/* A file someone else owns could have been put there (or be
	 * rewritten) by them: its key would be theirs too. */
	if (st.st_uid != geteuid()) {
		buf_addf(why,
			 "key file '%s' is owned by uid %ld, not by this user (uid %ld): "
			 "chown it or remove it to have a new one made",
			 path, (long)st.st_uid, (long)geteuid());
		err = ERR_INVALID;
		goto out;
	}
	if (st.st_mode & 077) {
		buf_addf(why, "key file '%s' is readable by others (mode %03o): chmod 600 it", path,
			 (unsigned)(st.st_mode & 0777));
		err = ERR_INVALID;
		goto out;
	}
	n = read(fd, text, KEYFILE_MAX);
	if (n < 0) {
		buf_addf(why, "cannot read key file '%s': %s", path, strerror(errno));
		goto out;
	}
	len = (size_t)n;
	trim(&t, &len);
	bytes = xmalloc(len / 2 + 1);
	got = encoding_hex_decode(t, len, bytes, len / 2);
	if (got < 0 || (size_t)got < min_len) {
		buf_addf(why, "key file '%s' must hold at least %zu bytes as hex digits", path,
			 min_len);
		err = ERR_INVALID;
		goto out;
	}
	*out = bytes;
	*out_len = (size_t)got;
	bytes = NULL;
	err = ERR_OK;
out:
	OPENSSL_cleanse(text, sizeof(text));
	if (bytes) {
		OPENSSL_cleanse(bytes, len / 2 + 1);
		free(bytes);
	}
	close(fd);
	return err;
}

static enum error create_keyfile(const char *path, size_t len, struct buf *why)
{
	unsigned char *key = xmalloc(len);
	char *hex = xmalloc(2 * len + 2), *tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
	enum error err = ERR_IO;
	size_t i;
	int fd = -1;

	if (RAND_bytes(key, (int)len) != 1) {
		buf_addf(why, "cannot generate a random key: OpenSSL RAND_bytes failed");
		goto out;
	}
	for (i = 0; i < len; i++)
		snprintf(hex + 2 * i, 3, "%02x", key[i]);
	hex[2 * len] = '\n';
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 || fchmod(fd, 0600) || write(fd, hex, 2 * len + 1) != (ssize_t)(2 * len + 1) ||
	    fsync(fd)) {
		buf_addf(why, "cannot write key file '%s': %s", tmp, strerror(errno));
		goto out;
	}
	/* link() fails with EEXIST if another process created the key first:
	 * then its key is the one to use, and the caller reads it. */
	if (link(tmp, path) && errno != EEXIST) {
		buf_addf(why, "cannot create key file '%s': %s", path, strerror(errno));
		goto out;
	}
	err = ERR_OK;
out:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	OPENSSL_cleanse(key, len);
	OPENSSL_cleanse(hex, 2 * len + 2);
	free(key);
	free(hex);
	free(tmp);
	return err;
}

enum error secret_keyfile(const char *path, size_t len, size_t min_len, unsigned char **out,
			  size_t *out_len, struct buf *why)
{
	struct buf ignored = BUF_INIT;
	enum error err = read_keyfile(path, min_len, out, out_len, &ignored);

	buf_release(&ignored);
	if (err != ERR_NOTFOUND)
		return err ? read_keyfile(path, min_len, out, out_len, why) : ERR_OK;
	err = create_keyfile(path, len, why);
	if (err)
		return err;
	return read_keyfile(path, min_len, out, out_len, why);
}

enum error secret_key_load(const char *db_url, struct secret_key *out, struct buf *why)
{
	const char *env = getenv("EBAYSYNC_SECRET_KEY"), *file = getenv("EBAYSYNC_SECRET_KEY_FILE");
	unsigned char *bytes = NULL;
	size_t n = 0;
	char *path;
	enum error err;

	if (env && *env) {
		err = secret_key_parse(env, out, why);
		if (err)
			buf_addf(why, " (in EBAYSYNC_SECRET_KEY)");
		return err;
	}
	path = file && *file ? xstrdup(file) : secret_default_path(db_url, "secret.key");
	err = secret_keyfile(path, SECRET_KEY_LEN, SECRET_KEY_LEN, &bytes, &n, why);
	if (!err && n != SECRET_KEY_LEN) {
		buf_addf(why, "key file '%s' must hold exactly %d bytes", path, SECRET_KEY_LEN);
		err = ERR_INVALID;
	}
	if (!err)
		memcpy(out->bytes, bytes, SECRET_KEY_LEN);
	if (bytes) {
		OPENSSL_cleanse(bytes, n);
		free(bytes);
	}
	free(path);
	return err;
}

enum error secret_seal(const struct secret_key *key, const char *context, const char *plain,
		       char **out)
{
	size_t plen = strlen(plain);
	unsigned char *raw;
	EVP_CIPHER_CTX *c;
	int n = 0, m = 0, ok;
	char *b64;

	*out = NULL;
	if (plen > SECRET_PLAIN_MAX)
		return ERR_TOOBIG;
	raw = xmalloc(NONCE_LEN + plen + TAG_LEN);
	if (RAND_bytes(raw, NONCE_LEN) != 1) {
		free(raw);
		return ERR_INTERNAL;
	}
	c = EVP_CIPHER_CTX_new();
	if (!c)
		abort();
	ok = EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, key->bytes, raw) == 1 &&
	     EVP_EncryptUpdate(c, NULL, &n, (const unsigned char *)context, (int)strlen(context)) ==
		 1 &&
	     EVP_EncryptUpdate(c, raw + NONCE_LEN, &n, (const unsigned char *)plain, (int)plen) ==
		 1 &&
	     EVP_EncryptFinal_ex(c, raw + NONCE_LEN + n, &m) == 1 &&
	     EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, TAG_LEN, raw + NONCE_LEN + plen) == 1;
	EVP_CIPHER_CTX_free(c);
	if (!ok) {
		free(raw);
		return ERR_INTERNAL;
	}
	b64 = encoding_b64url_encode(raw, NONCE_LEN + plen + TAG_LEN);
	*out = xasprintf(SEAL_PREFIX "%s", b64);
	free(b64);
	free(raw);
	return ERR_OK;
}

enum error secret_open(const struct secret_key *key, const char *context, const char *sealed,
		       char **out, struct buf *why)
{
	unsigned char *raw = NULL, *plain = NULL;
	size_t len = 0, plen;
	EVP_CIPHER_CTX *c = NULL;
	enum error err = ERR_PARSE;
	int n = 0, m = 0;

	*out = NULL;
	if (strncmp(sealed, SEAL_PREFIX, strlen(SEAL_PREFIX)) ||
	    strlen(sealed) > 2 * SECRET_PLAIN_MAX ||
	    encoding_b64_decode(sealed + strlen(SEAL_PREFIX), strlen(sealed) - strlen(SEAL_PREFIX),
				ENCODING_B64URL, &raw, &len) != ERR_OK ||
	    len < NONCE_LEN + TAG_LEN) {
		buf_addf(why, "stored secret is not a sealed value");
		goto out;
	}
	plen = len - NONCE_LEN - TAG_LEN;
	plain = xmalloc(plen + 1);
	c = EVP_CIPHER_CTX_new();
	if (!c)
		abort();
	if (EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, key->bytes, raw) != 1 ||
	    EVP_DecryptUpdate(c, NULL, &n, (const unsigned char *)context, (int)strlen(context)) !=
		1 ||
	    EVP_DecryptUpdate(c, plain, &n, raw + NONCE_LEN, (int)plen) != 1 ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, TAG_LEN, raw + NONCE_LEN + plen) != 1 ||
	    EVP_DecryptFinal_ex(c, plain + n, &m) != 1) {
		buf_addf(why, "stored secret does not open with this key (was the key changed?)");
		err = ERR_AUTH;
		goto out;
	}
	plain[plen] = '\0';
	if (memchr(plain, '\0', plen)) {
		buf_addf(why, "stored secret holds a NUL byte");
		goto out;
	}
	*out = (char *)plain;
	plain = NULL;
	err = ERR_OK;
out:
	if (c)
		EVP_CIPHER_CTX_free(c);
	if (plain) {
		OPENSSL_cleanse(plain, len - NONCE_LEN - TAG_LEN + 1);
		free(plain);
	}
	free(raw);
	return err;
}

void secret_free(char *s)
{
	if (!s)
		return;
	OPENSSL_cleanse(s, strlen(s));
	free(s);
}
