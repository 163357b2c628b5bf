/*
 * Encodings: base64url round-trips the RFC 4648 test vectors without
 * padding; decoding takes padding or none, keeps to the alphabet asked for
 * and refuses whitespace, stray "=" and impossible lengths. Hex decodes
 * either case and nothing else. Percent-encoding keeps only the unreserved
 * characters; decoding reads "+" as a space only in forms and refuses bad
 * escapes and NUL bytes.
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

static void test_hex(void **state)
{
	unsigned char out[4];

	assert_int_equal(encoding_hex_decode("00ff10", 6, out, sizeof(out)), 3);
	assert_int_equal(out[0], 0x00);
	assert_int_equal(out[1], 0xff);
	assert_int_equal(out[2], 0x10);
	assert_int_equal(encoding_hex_decode("0FfA", 4, out, sizeof(out)), 2);
	assert_int_equal(out[0], 0x0f);
	assert_int_equal(out[1], 0xfa);
	/* Only the first len characters count. */
	assert_int_equal(encoding_hex_decode("abcdzz", 4, out, sizeof(out)), 2);
	assert_int_equal(encoding_hex_decode("", 0, out, sizeof(out)), 0);
	assert_int_equal(encoding_hex_decode("abc", 3, out, sizeof(out)), -1);
	assert_int_equal(encoding_hex_decode("zz", 2, out, sizeof(out)), -1);
	assert_int_equal(encoding_hex_decode("0a:0b", 5, out, sizeof(out)), -1);
	assert_int_equal(encoding_hex_decode("0a 0b", 5, out, sizeof(out)), -1);
	assert_int_equal(encoding_hex_decode("0a\0b", 4, out, sizeof(out)), -1);
	assert_int_equal(encoding_hex_decode("0001020304", 10, out, sizeof(out)), -1);
}

static void test_percent_encode(void **state)
{
	char *e = encoding_percent_encode("a b/c#d%e+f?g&h~._-Z9");

	assert_string_equal(e, "a%20b%2Fc%23d%25e%2Bf%3Fg%26h~._-Z9");
	free(e);
	e = encoding_percent_encode("\xc3\xa9=\"");
	assert_string_equal(e, "%C3%A9%3D%22");
	free(e);
	e = encoding_percent_encode("");
	assert_string_equal(e, "");
	free(e);
}

static void test_percent_decode(void **state)
{
	const char *bad[] = {"%", "%4", "a%zz", "%g0", "%0g", "%00", "x%00y", "100%"};
	char *d;

	assert_int_equal(encoding_percent_decode("a%20b+c%2B", 10, 1, &d), ERR_OK);
	assert_string_equal(d, "a b c+");
	free(d);
	assert_int_equal(encoding_percent_decode("a%20b+c%2B", 10, 0, &d), ERR_OK);
	assert_string_equal(d, "a b+c+");
	free(d);
	assert_int_equal(encoding_percent_decode("%c3%A9%2f", 9, 0, &d), ERR_OK);
	assert_string_equal(d, "\xc3\xa9/");
	free(d);
	/* The length bounds the input: a "%" just past it is not read. */
	assert_int_equal(encoding_percent_decode("ab%", 2, 0, &d), ERR_OK);
	assert_string_equal(d, "ab");
	free(d);
	assert_int_equal(encoding_percent_decode("", 0, 1, &d), ERR_OK);
	assert_string_equal(d, "");
	free(d);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		d = (char *)"untouched";
		assert_int_equal(encoding_percent_decode(bad[i], strlen(bad[i]), 1, &d),
				 ERR_INVALID);
		assert_null(d);
	}
	/* A raw NUL inside the length. */
	assert_int_equal(encoding_percent_decode("a\0b", 3, 0, &d), ERR_INVALID);
	assert_null(d);
}

/* Whatever percent_encode writes, percent_decode reads back, in both modes. */
static void test_percent_round_trip(void **state)
{
	char raw[256], *e, *d;

	for (int i = 1; i < 256; i++)
		raw[i - 1] = (char)i;
	raw[255] = '\0';
	e = encoding_percent_encode(raw);
	for (int plus = 0; plus < 2; plus++) {
		assert_int_equal(encoding_percent_decode(e, strlen(e), plus, &d), ERR_OK);
		assert_string_equal(d, raw);
		free(d);
	}
	free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_b64),
	    cmocka_unit_test(test_b64_alphabets),
	    cmocka_unit_test(test_b64_refusals),
	    cmocka_unit_test(test_b64_all_bytes),
	    cmocka_unit_test(test_hex),
	    cmocka_unit_test(test_percent_encode),
	    cmocka_unit_test(test_percent_decode),
	    cmocka_unit_test(test_percent_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
