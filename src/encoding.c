/*
 * Base64, hex and percent-encoding (see encoding.h). OpenSSL's
 * EVP_EncodeBlock and EVP_DecodeBlock do the base64 arithmetic but know only
 * the standard alphabet with padding, and EVP_DecodeBlock skips whitespace
 * and reads "=" anywhere as zero bits; so the text is checked here first and
 * handed to OpenSSL in the one shape it reads exactly. libcurl's
 * curl_easy_unescape leaves a bad escape as it is and decodes "%00"; the
 * check before it refuses both, since every caller wants a C string.
 */
#include "encoding.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "xalloc.h"
#include "banned.h"

#define B64_DIGITS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

static const char *const b64_alphabet[] = {
    [ENCODING_B64] = B64_DIGITS "+/",
    [ENCODING_B64URL] = B64_DIGITS "-_",
    [ENCODING_B64_ANY] = B64_DIGITS "+/-_",
};

char *encoding_b64url_encode(const void *data, size_t len)
{
	char *out;
	int n;

	if (len > ENCODING_MAX_LEN)
		abort();
	out = xmalloc((len + 2) / 3 * 4 + 1);
	n = EVP_EncodeBlock((unsigned char *)out, data, (int)len);
	while (n > 0 && out[n - 1] == '=')
		n--;
	out[n] = '\0';
	for (char *p = out; *p; p++) {
		if (*p == '+')
			*p = '-';
		else if (*p == '/')
			*p = '_';
	}
	return out;
}

int encoding_is_b64(const char *s, size_t len, enum encoding_b64 alphabet)
{
	for (size_t i = 0; i < len; i++)
		if (!s[i] || !strchr(b64_alphabet[alphabet], s[i]))
			return 0;
	return 1;
}

enum error encoding_b64_decode(const char *text, size_t len, enum encoding_b64 alphabet,
			       unsigned char **out, size_t *out_len)
{
	size_t pad = 0, full, want;
	unsigned char *std, *bytes;
	int n;

	while (len && text[len - 1] == '=' && pad < 2) {
		len--;
		pad++;
	}
	/* A group of one character encodes no whole byte; padding, when
	 * present, completes the last group of four. */
	if (len > ENCODING_MAX_LEN || len % 4 == 1 || (pad && (len + pad) % 4) ||
	    !encoding_is_b64(text, len, alphabet))
		return ERR_PARSE;
	full = (len + 3) / 4 * 4;
	std = xmalloc(full + 1);
	for (size_t i = 0; i < len; i++)
		std[i] = text[i] == '-' ? '+' : text[i] == '_' ? '/' : (unsigned char)text[i];
	memset(std + len, '=', full - len);
	bytes = xmalloc(full / 4 * 3 + 1);
	n = EVP_DecodeBlock(bytes, std, (int)full);
	OPENSSL_cleanse(std, full + 1);
	free(std);
	/* EVP_DecodeBlock counts the padding as zero bytes; drop them. */
	want = len / 4 * 3 + (len % 4 ? len % 4 - 1 : 0);
	if (n < 0 || (size_t)n != full / 4 * 3) {
		free(bytes);
		return ERR_PARSE;
	}
	bytes[want] = '\0';
	*out = bytes;
	*out_len = want;
	return ERR_OK;
}

long encoding_hex_decode(const char *s, size_t len, unsigned char *out, size_t max)
{
	size_t n = 0;
	char *text;
	int ok;

	if (len % 2 || len / 2 > max || memchr(s, '\0', len))
		return -1;
	if (!len)
		return 0;
	text = xstrndup(s, len);
	ok = OPENSSL_hexstr2buf_ex(out, max, &n, text, '\0');
	OPENSSL_cleanse(text, len);
	free(text);
	if (!ok) {
		/* Not ours to keep: the next OpenSSL caller would read it. */
		ERR_clear_error();
		return -1;
	}
	return (long)n;
}

char *encoding_percent_encode(const char *s)
{
	size_t len = strlen(s);
	char *esc, *out;

	if (len > ENCODING_MAX_LEN)
		abort();
	/* Since curl 7.82 the handle argument may be NULL. A NULL result can
	 * only mean out of memory. */
	esc = curl_easy_escape(NULL, s, (int)len);
	if (!esc)
		abort();
	out = xstrdup(esc);
	curl_free(esc);
	return out;
}

enum error encoding_percent_decode(const char *s, size_t len, int plus_is_space, char **out)
{
	enum error err = ERR_INVALID;
	char *copy, *dec;
	int n = 0;

	*out = NULL;
	if (len > ENCODING_MAX_LEN)
		return ERR_INVALID;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\0')
			return ERR_INVALID;
		if (s[i] == '%' && (len - i < 3 || !isxdigit((unsigned char)s[i + 1]) ||
				    !isxdigit((unsigned char)s[i + 2])))
			return ERR_INVALID;
	}
	copy = xstrndup(s, len);
	if (plus_is_space)
		for (char *p = copy; *p; p++)
			if (*p == '+')
				*p = ' ';
	dec = curl_easy_unescape(NULL, copy, (int)len, &n);
	free(copy);
	if (!dec)
		abort(); /* out of memory: the input was checked */
	if (!memchr(dec, '\0', (size_t)n)) {
		*out = xstrndup(dec, (size_t)n);
		err = ERR_OK;
	}
	curl_free(dec);
	return err;
}
