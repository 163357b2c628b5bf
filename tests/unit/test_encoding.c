/*
 * Encodings: base64url round-trips the RFC 4648 test vectors without
 * padding; decoding takes padding or none, keeps to the alphabet asked for
 * and refuses whitespace, stray "=" and impossible lengths.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "encoding.h"

static void test_b64(void **state)
{
	const char *in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
	const char *want[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};
	unsigned char *d;
	size_t i, n;

	for (i = 0; i < 7; i++) {
		char *e = encoding_b64url_encode(in[i], strlen(in[i]));
		assert_string_equal(e, want[i]);
		assert_int_equal(encoding_b64_decode(e, strlen(e), ENCODING_B64_ANY, &d, &n),
				 ERR_OK);
		assert_int_equal(n, strlen(in[i]));
		assert_memory_equal(d, in[i], n);
		free(d);
		free(e);
	}
	assert_int_equal(encoding_b64_decode("Zm9vYg==", 8, ENCODING_B64_ANY, &d, &n), ERR_OK);
	assert_string_equal((char *)d, "foob");
	free(d);
	assert_int_equal(encoding_b64_decode("Z", 1, ENCODING_B64_ANY, &d, &n), ERR_PARSE);
	assert_int_equal(encoding_b64_decode("Zm9v*", 5, ENCODING_B64_ANY, &d, &n), ERR_PARSE);
}

/* The url alphabet on the way out; each alphabet only its own on the way in. */
static void test_b64_alphabets(void **state)
{
	const unsigned char raw[] = {0xfb, 0xff, 0xbf};
	unsigned char *d;
	size_t n;
	char *e = encoding_b64url_encode(raw, sizeof(raw));

	assert_string_equal(e, "-_-_");
	free(e);
	assert_int_equal(encoding_b64_decode("-_-_", 4, ENCODING_B64URL, &d, &n), ERR_OK);
	assert_int_equal(n, 3);
	assert_memory_equal(d, raw, 3);
	free(d);
	assert_int_equal(encoding_b64_decode("+/+/", 4, ENCODING_B64, &d, &n), ERR_OK);
	assert_memory_equal(d, raw, 3);
	free(d);
	assert_int_equal(encoding_b64_decode("+/-_", 4, ENCODING_B64_ANY, &d, &n), ERR_OK);
	assert_memory_equal(d, raw, 3);
	free(d);
	assert_int_equal(encoding_b64_decode("+/+/", 4, ENCODING_B64URL, &d, &n), ERR_PARSE);
	assert_int_equal(encoding_b64_decode("-_-_", 4, ENCODING_B64, &d, &n), ERR_PARSE);
	assert_true(encoding_is_b64("abc-_", 5, ENCODING_B64URL));
	assert_false(encoding_is_b64("abc+", 4, ENCODING_B64URL));
	assert_false(encoding_is_b64("ab=", 3, ENCODING_B64URL));
	/* The length bounds the check: what follows is not read. */
	assert_true(encoding_is_b64("ab.!", 2, ENCODING_B64URL));
}

/* What OpenSSL alone would let through is refused before it. */
static void test_b64_refusals(void **state)
{
	const char *bad[] = {
	    "Zm9v Yg",	 /* inner space */
	    " Zm9v",	 /* leading space */
	    "Zm9v\n",	 /* trailing newline */
	    "Zm=v",	 /* "=" inside */
	    "Zm9vY",	 /* 5 characters: no whole byte in the last group */
	    "Zm9vYg=",	 /* padding that does not complete the group */
	    "Zm9vYg===", /* three "=" */
	    "=",
	};
	unsigned char *d = (unsigned char *)"untouched";
	size_t n = 99;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(
		    encoding_b64_decode(bad[i], strlen(bad[i]), ENCODING_B64_ANY, &d, &n),
		    ERR_PARSE);
		assert_string_equal((char *)d, "untouched");
		assert_int_equal(n, 99);
	}
	/* An embedded NUL is not an alphabet character. */
	assert_int_equal(encoding_b64_decode("Zm\0v", 4, ENCODING_B64_ANY, &d, &n), ERR_PARSE);
	assert_int_equal(encoding_b64_decode("", 0, ENCODING_B64_ANY, &d, &n), ERR_OK);
	assert_int_equal(n, 0);
	assert_string_equal((char *)d, "");
	free(d);
}

/* Every byte value survives the trip, at every length modulo 3. */
static void test_b64_all_bytes(void **state)
{
	unsigned char raw[256], *d;
	size_t n;

	for (int i = 0; i < 256; i++)
		raw[i] = (unsigned char)(255 - i);
	for (size_t len = 250; len <= 256; len++) {
		char *e = encoding_b64url_encode(raw, len);

		assert_int_equal(strlen(e), (len * 4 + 2) / 3);
		assert_int_equal(encoding_b64_decode(e, strlen(e), ENCODING_B64URL, &d, &n),
				 ERR_OK);
		assert_int_equal(n, len);
		assert_memory_equal(d, raw, len);
		free(d);
		free(e);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_b64),
	    cmocka_unit_test(test_b64_alphabets),
	    cmocka_unit_test(test_b64_refusals),
	    cmocka_unit_test(test_b64_all_bytes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
