/*
 * Base64 (see encoding.h). OpenSSL's
 * EVP_EncodeBlock and EVP_DecodeBlock do the base64 arithmetic but know only
 * the standard alphabet with padding, and EVP_DecodeBlock skips whitespace
 * and reads "=" anywhere as zero bits; so the text is checked here first and
 * handed to OpenSSL in the one shape it reads exactly.
 */
#include "encoding.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
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
