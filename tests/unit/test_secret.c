/*
 * Sealed secrets: a sealed token opens to itself under the same key and
 * context and under nothing else; sealing twice gives different text; a
 * changed byte is detected; keys parse from hex and base64 only; key files
 * are created 0600 and agree between callers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "secret.h"
#include "testutil.h"
#include "xalloc.h"

static struct secret_key key_of(char c)
{
	struct secret_key k;

	memset(k.bytes, c, sizeof(k.bytes));
	return k;
}

static void test_seal_open(void **state)
{
	struct secret_key k = key_of(7), other = key_of(8);
	struct buf why = BUF_INIT;
	char *s1, *s2, *plain;

	assert_int_equal(secret_seal(&k, "ebay_token:alice", "v^1.1#i^1#r^0#p^3", &s1), ERR_OK);
	assert_int_equal(secret_seal(&k, "ebay_token:alice", "v^1.1#i^1#r^0#p^3", &s2), ERR_OK);
	assert_true(!strncmp(s1, "v1.", 3));
	assert_string_not_equal(s1, s2); /* fresh nonce each time */
	assert_null(strstr(s1, "v^1.1"));
	assert_int_equal(secret_open(&k, "ebay_token:alice", s1, &plain, &why), ERR_OK);
	assert_string_equal(plain, "v^1.1#i^1#r^0#p^3");
	secret_free(plain);
	/* Another key, another context (a row copied to bob): refused. */
	assert_int_equal(secret_open(&other, "ebay_token:alice", s1, &plain, &why), ERR_AUTH);
	assert_null(plain);
	assert_int_equal(secret_open(&k, "ebay_token:bob", s1, &plain, &why), ERR_AUTH);
	assert_non_null(strstr(buf_str(&why), "does not open with this key"));
	free(s1);
	free(s2);
	buf_release(&why);
}

static void test_tamper_and_garbage(void **state)
{
	struct secret_key k = key_of(1);
	struct buf why = BUF_INIT;
	char *s, *plain;
	size_t i;

	assert_int_equal(secret_seal(&k, "c", "hello", &s), ERR_OK);
	for (i = 3; s[i]; i++) {
		char saved = s[i];
		s[i] = s[i] == 'A' ? 'B' : 'A';
		assert_int_not_equal(secret_open(&k, "c", s, &plain, &why), ERR_OK);
		assert_null(plain);
		s[i] = saved;
	}
	free(s);
	assert_int_equal(secret_open(&k, "c", "plain-token", &plain, &why), ERR_PARSE);
	assert_int_equal(secret_open(&k, "c", "v1.", &plain, &why), ERR_PARSE);
	assert_int_equal(secret_open(&k, "c", "v1.$$$", &plain, &why), ERR_PARSE);
	assert_int_equal(secret_seal(&k, "c", "", &s), ERR_OK);
	assert_int_equal(secret_open(&k, "c", s, &plain, &why), ERR_OK);
	assert_string_equal(plain, "");
	secret_free(plain);
	free(s);
	buf_release(&why);
}

static void test_too_big(void **state)
{
	struct secret_key k = key_of(2);
	char *big = xmalloc(SECRET_PLAIN_MAX + 2), *s;

	memset(big, 'x', SECRET_PLAIN_MAX + 1);
	big[SECRET_PLAIN_MAX + 1] = '\0';
	assert_int_equal(secret_seal(&k, "c", big, &s), ERR_TOOBIG);
	assert_null(s);
	free(big);
}

static void test_key_parse(void **state)
{
	struct secret_key k;
	struct buf why = BUF_INIT;
	unsigned i;

	assert_int_equal(
	    secret_key_parse("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", &k,
			     &why),
	    ERR_OK);
	for (i = 0; i < 32; i++)
		assert_int_equal(k.bytes[i], i);
	/* base64 of bytes 0..31 */
	assert_int_equal(
	    secret_key_parse("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n", &k, &why), ERR_OK);
	assert_int_equal(k.bytes[31], 31);
	assert_int_equal(secret_key_parse("too short", &k, &why), ERR_INVALID);
	assert_int_equal(secret_key_parse("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd", &k, &why),
			 ERR_INVALID); /* 30 bytes */
	assert_non_null(strstr(buf_str(&why), "64 hex digits or base64 of 32 bytes"));
	buf_release(&why);
}

static void test_key_load(void **state)
{
	char *dir = testutil_tmpdir(), *db = xasprintf("%s/sub/x.db", dir);
	char *sub = xasprintf("%s/sub", dir), *path = xasprintf("%s/sub/secret.key", dir);
	struct secret_key a, b;
	struct buf why = BUF_INIT;
	struct stat st;
	char *s, *plain;

	mkdir(sub, 0755);
	unsetenv("EBAYSYNC_SECRET_KEY");
	unsetenv("EBAYSYNC_SECRET_KEY_FILE");
	assert_int_equal(secret_key_load(db, &a, &why), ERR_OK);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(secret_key_load(db, &b, &why), ERR_OK);
	assert_memory_equal(a.bytes, b.bytes, SECRET_KEY_LEN);
	assert_int_equal(secret_seal(&a, "x", "tok", &s), ERR_OK);
	assert_int_equal(secret_open(&b, "x", s, &plain, &why), ERR_OK);
	secret_free(plain);
	free(s);
	/* The environment wins over the file. */
	setenv("EBAYSYNC_SECRET_KEY",
	       "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", 1);
	assert_int_equal(secret_key_load(db, &b, &why), ERR_OK);
	assert_int_equal(b.bytes[5], 5);
	setenv("EBAYSYNC_SECRET_KEY", "nope", 1);
	assert_int_equal(secret_key_load(db, &b, &why), ERR_INVALID);
	assert_non_null(strstr(buf_str(&why), "EBAYSYNC_SECRET_KEY"));
	unsetenv("EBAYSYNC_SECRET_KEY");
	/* XDG for PostgreSQL URLs. */
	setenv("XDG_DATA_HOME", dir, 1);
	s = secret_default_path("postgresql://u@h/db", "jwt.key");
	assert_true(!strncmp(s, dir, strlen(dir)));
	assert_non_null(strstr(s, "/ebaysync/jwt.key"));
	free(s);
	buf_release(&why);
	testutil_rmrf(dir);
	free(dir);
	free(db);
	free(sub);
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_seal_open), cmocka_unit_test(test_tamper_and_garbage),
	    cmocka_unit_test(test_too_big),   cmocka_unit_test(test_key_parse),
	    cmocka_unit_test(test_key_load),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
