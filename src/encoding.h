/*
 * Text encodings of bytes: base64 and base64url (RFC 4648), hex, and
 * percent-encoding (RFC 3986, with the form variant where "+" is a space).
 * The codecs themselves are OpenSSL's and libcurl's; this module adds what
 * they leave to the caller: the url-safe alphabet, strict refusal of
 * anything that is not the encoding (whitespace, stray "=", "%zz", NUL
 * bytes), and memory from the xmalloc family.
 */
#ifndef ENCODING_H
#define ENCODING_H

#include <stddef.h>

#include "error.h"

/* Which base64 alphabet a text may use. */
enum encoding_b64 {
	ENCODING_B64,	  /* RFC 4648 section 4: "+" and "/" */
	ENCODING_B64URL,  /* section 5: "-" and "_" */
	ENCODING_B64_ANY, /* either (key text pasted from anywhere) */
};

/* Caps what one call encodes or decodes (the OpenSSL and libcurl calls take
 * an int length); longer input is refused or, for the encoders, aborts. */
#define ENCODING_MAX_LEN (1 << 28)

/* base64url of data without "=" padding (JWT style). Returns a malloc'd
 * string. */
char *encoding_b64url_encode(const void *data, size_t len);

/*
 * Decodes len bytes of base64 text in alphabet; up to two "=" of padding
 * may end it and are optional. ERR_PARSE for any other character (spaces
 * included) or a length no encoding produces. *out is malloc'd and
 * NUL-terminated for convenience, *out_len its length without the NUL; the
 * caller frees it. Nothing is allocated on failure.
 */
enum error encoding_b64_decode(const char *text, size_t len, enum encoding_b64 alphabet,
			       unsigned char **out, size_t *out_len);

/* 1 if s[0..len) holds only characters of alphabet (no padding), else 0. */
int encoding_is_b64(const char *s, size_t len, enum encoding_b64 alphabet);

/*
 * Decodes len hex digits (either case, no separators) into out, which holds
 * max bytes. Returns the byte count, or -1 for an odd count, a non-hex
 * character or more than max bytes.
 */
long encoding_hex_decode(const char *s, size_t len, unsigned char *out, size_t max);

/* Percent-encodes every byte of s but A-Z a-z 0-9 - . _ ~, for a query
 * value or a path segment. Returns a malloc'd string. */
char *encoding_percent_encode(const char *s);

/*
 * Percent-decodes s[0..len) into a new string (*out, malloc'd). With
 * plus_is_space (form and query encoding), "+" becomes " "; "%2B" stays
 * "+". ERR_INVALID, with *out NULL, for a "%" not followed by two hex
 * digits and for a NUL byte, raw or as "%00" (no NUL may reach a caller
 * that reads C strings).
 */
enum error encoding_percent_decode(const char *s, size_t len, int plus_is_space, char **out);

#endif
