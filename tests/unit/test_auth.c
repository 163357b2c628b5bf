/*
 * Tokens and passwords: a token verifies until its exp and then says it
 * expired; tokens with alg none, another algorithm, a changed payload or
 * signature, another secret, no exp or no sub are each refused with their
 * own message; passwords hash with yescrypt and verify only themselves.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jwt.h>
#include <stdlib.h>
#include <string.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth.h"
#include "encoding.h"
#include "secret.h"
#include "testutil.h"
#include "xalloc.h"

#define NOW 1700000000LL

static const unsigned char key[] = "0123456789abcdef0123456789abcdef-test";

static struct auth setup_auth(void)
{
	struct auth a;

	assert_int_equal(auth_init_key(&a, key, sizeof(key) - 1), ERR_OK);
	return a;
}

/* Builds header.payload.signature by hand (signature as given). */
static char *forge(const char *header, const char *payload, const char *sig)
{
	char *h = encoding_b64url_encode((const unsigned char *)header, strlen(header));
	char *p = encoding_b64url_encode((const unsigned char *)payload, strlen(payload));
	char *t = xasprintf("%s.%s.%s", h, p, sig);

	free(h);
	free(p);
	return t;
}

static void expect_refused_at(struct auth *a, const char *token, long long now, const char *reason)
{
	struct buf why = BUF_INIT;
	char *user = NULL;

	assert_int_equal(auth_verify(a, token, now, &user, &why), ERR_AUTH);
	assert_null(user);
	if (!strstr(buf_str(&why), reason))
		fail_msg("reason '%s' does not contain '%s'", buf_str(&why), reason);
	buf_release(&why);
}

static void expect_refused(struct auth *a, const char *token, const char *reason)
{
	expect_refused_at(a, token, NOW, reason);
}

static void test_issue_verify(void **state)
{
	struct auth a = setup_auth();
	struct buf why = BUF_INIT;
	char *token, *user = NULL;
	long long exp;

	assert_int_equal(auth_issue(&a, "alice", 60, NOW, &token, &exp), ERR_OK);
	assert_int_equal(exp, NOW + 60);
	assert_int_equal(auth_verify(&a, token, NOW + 59, &user, &why), ERR_OK);
	assert_string_equal(user, "alice");
	free(user);
	/* One second past exp it is refused, and the message says so. */
	expect_refused_at(&a, token, NOW + 60, "token expired at 2023-11-14T22:14:20");
	expect_refused_at(&a, token, NOW + 86400, "token expired at");
	buf_release(&why);
	free(token);
	auth_release(&a);
}

static void test_alg_none_and_others(void **state)
{
	struct auth a = setup_auth();
	const char *payload = "{\"sub\":\"alice\",\"iat\":1700000000,\"exp\":1800000000}";
	char *t;

	t = forge("{\"alg\":\"none\",\"typ\":\"JWT\"}", payload, "");
	expect_refused(&a, t, "token algorithm 'none' is not accepted");
	free(t);
	t = forge("{\"alg\":\"NONE\"}", payload, "c2ln");
	expect_refused(&a, t, "token algorithm 'none' is not accepted");
	free(t);
	t = forge("{\"alg\":\"HS512\"}", payload, "c2ln");
	expect_refused(&a, t, "token algorithm 'HS512' is not accepted");
	free(t);
	t = forge("{\"alg\":\"RS256\"}", payload, "c2ln");
	expect_refused(&a, t, "token algorithm 'RS256' is not accepted");
	free(t);
	t = forge("{\"typ\":\"JWT\"}", payload, "c2ln");
	expect_refused(&a, t, "names no algorithm");
	free(t);
	auth_release(&a);
}

static void test_tampered(void **state)
{
	struct auth a = setup_auth(), b;
	const unsigned char other[] = "another-secret-another-secret-another-secret";
	char *token, *dot, *evil, *p;

	assert_int_equal(auth_issue(&a, "alice", 3600, NOW, &token, NULL), ERR_OK);
	/* Payload swapped for bob's, signature kept. */
	dot = strchr(token, '.');
	p = encoding_b64url_encode((const unsigned char *)"{\"sub\":\"bob\",\"exp\":1800000000}",
				   strlen("{\"sub\":\"bob\",\"exp\":1800000000}"));
	evil = xasprintf("%.*s.%s%s", (int)(dot - token), token, p, strrchr(token, '.'));
	expect_refused(&a, evil, "token signature does not match");
	free(evil);
	free(p);
	/* Last signature character changed. */
	evil = xstrdup(token);
	evil[strlen(evil) - 2] = evil[strlen(evil) - 2] == 'A' ? 'B' : 'A';
	expect_refused(&a, evil, "token signature does not match");
	free(evil);
	/* Signed with another secret. */
	assert_int_equal(auth_init_key(&b, other, sizeof(other) - 1), ERR_OK);
	expect_refused(&b, token, "token signature does not match");
	auth_release(&b);
	/* Signature removed. */
	evil = xstrndup(token, (size_t)(strrchr(token, '.') - token + 1));
	expect_refused(&a, evil, "token has no signature");
	free(evil);
	free(token);
	auth_release(&a);
}

static void test_malformed(void **state)
{
	struct auth a = setup_auth();
	char big[AUTH_TOKEN_MAX + 10];

	expect_refused(&a, "", "malformed token");
	expect_refused(&a, "abc", "malformed token");
	expect_refused(&a, "a.b", "malformed token");
	expect_refused(&a, "a.b.c.d", "malformed token");
	expect_refused(&a, "a b.c.d", "malformed token");
	expect_refused(&a, "e30.e30.e30", "names no algorithm");
	expect_refused(&a, "!!!.e30.e30", "malformed token");
	expect_refused(&a, "WzFd.e30.e30", "header is not a JSON object");
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	expect_refused(&a, big, "longer than");
	auth_release(&a);
}

/* A correctly signed token without exp or without sub is still refused. */
static void test_missing_claims(void **state)
{
	struct auth a = setup_auth();
	jwt_t *jwt;
	char *t;

	assert_int_equal(jwt_new(&jwt), 0);
	jwt_add_grant(jwt, "sub", "alice");
	jwt_set_alg(jwt, JWT_ALG_HS256, key, sizeof(key) - 1);
	t = jwt_encode_str(jwt);
	expect_refused(&a, t, "token has no expiry time (exp)");
	free(t);
	jwt_free(jwt);

	assert_int_equal(jwt_new(&jwt), 0);
	jwt_add_grant_int(jwt, "exp", (long)NOW + 100);
	jwt_set_alg(jwt, JWT_ALG_HS256, key, sizeof(key) - 1);
	t = jwt_encode_str(jwt);
	expect_refused(&a, t, "token names no valid user (sub)");
	free(t);
	jwt_free(jwt);

	assert_int_equal(jwt_new(&jwt), 0);
	jwt_add_grant(jwt, "sub", "alice");
	jwt_add_grant_int(jwt, "exp", (long)NOW + 100);
	jwt_add_grant_int(jwt, "iat", (long)NOW + 3600);
	jwt_set_alg(jwt, JWT_ALG_HS256, key, sizeof(key) - 1);
	t = jwt_encode_str(jwt);
	expect_refused(&a, t, "issue time (iat) is in the future");
	free(t);
	jwt_free(jwt);
	auth_release(&a);
}

static void test_passwords(void **state)
{
	struct auth a = setup_auth();
	struct buf why = BUF_INIT;
	char *h1, *h2;

	assert_int_equal(auth_hash_password("correct horse", &h1, &why), ERR_OK);
	assert_int_equal(auth_hash_password("correct horse", &h2, &why), ERR_OK);
	assert_true(!strncmp(h1, "$y$", 3));
	assert_string_not_equal(h1, h2); /* salted */
	assert_int_equal(auth_check_password(&a, "correct horse", h1), ERR_OK);
	assert_int_equal(auth_check_password(&a, "correct horse", h2), ERR_OK);
	assert_int_equal(auth_check_password(&a, "correct horsE", h1), ERR_AUTH);
	assert_int_equal(auth_check_password(&a, "", h1), ERR_AUTH);
	/* Unknown user: never matches, not even the dummy's own password. */
	assert_int_equal(auth_check_password(&a, "correct horse", NULL), ERR_AUTH);
	assert_int_equal(auth_check_password(&a, "x", "not a hash"), ERR_AUTH);
	free(h1);
	free(h2);
	buf_release(&why);
	auth_release(&a);
}

static void test_user_names(void **state)
{
	struct buf why = BUF_INIT;
	char long_name[AUTH_USER_MAX + 2];

	assert_int_equal(auth_check_user_name("alice.b-c_d@x", &why), ERR_OK);
	assert_int_equal(auth_check_user_name("", &why), ERR_INVALID);
	assert_int_equal(auth_check_user_name("a b", &why), ERR_INVALID);
	assert_int_equal(auth_check_user_name("a/b", &why), ERR_INVALID);
	memset(long_name, 'a', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	assert_int_equal(auth_check_user_name(long_name, &why), ERR_INVALID);
	buf_release(&why);
}

/* The key file is made 0600 on first use, read back the same after, and a
 * world-readable one is refused. */
static void test_keyfile_secret(void **state)
{
	char *dir = testutil_tmpdir(), *db = xasprintf("%s/x.db", dir);
	char *path = xasprintf("%s/jwt.key", dir);
	struct auth a, b;
	struct buf why = BUF_INIT;
	struct stat st;
	char *t, *user;

	unsetenv("EBAYSYNC_JWT_SECRET");
	unsetenv("EBAYSYNC_JWT_KEY_FILE");
	assert_int_equal(auth_init(&a, db, &why), ERR_OK);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(auth_init(&b, db, &why), ERR_OK);
	assert_int_equal(auth_issue(&a, "alice", 60, NOW, &t, NULL), ERR_OK);
	assert_int_equal(auth_verify(&b, t, NOW, &user, &why), ERR_OK);
	free(user);
	free(t);
	auth_release(&a);
	auth_release(&b);
	chmod(path, 0644);
	assert_int_equal(auth_init(&a, db, &why), ERR_INVALID);
	assert_non_null(strstr(buf_str(&why), "readable by others"));
	buf_reset(&why);
	setenv("EBAYSYNC_JWT_SECRET", "short", 1);
	assert_int_equal(auth_init(&a, db, &why), ERR_INVALID);
	assert_non_null(strstr(buf_str(&why), "at least 32 bytes"));
	unsetenv("EBAYSYNC_JWT_SECRET");
	buf_release(&why);
	testutil_rmrf(dir);
	free(dir);
	free(db);
	free(path);
}

/* A key file that another user owns is refused even at mode 0600 (they
 * could have planted it, or can rewrite it), and the message says why.
 * Both key files go through the same check: the JWT one and the sealing
 * one. Needs root to give a file away; skipped otherwise. */
static void test_keyfile_other_owner(void **state)
{
	char *dir = testutil_tmpdir(), *db = xasprintf("%s/x.db", dir);
	char *path = xasprintf("%s/jwt.key", dir), *spath = xasprintf("%s/secret.key", dir);
	struct passwd *nobody = getpwnam("nobody");
	struct secret_key sk;
	struct auth a;
	struct buf why = BUF_INIT;

	if (geteuid() != 0 || !nobody) {
		testutil_rmrf(dir);
		free(dir);
		free(db);
		free(path);
		free(spath);
		skip();
	}
	unsetenv("EBAYSYNC_JWT_SECRET");
	unsetenv("EBAYSYNC_JWT_KEY_FILE");
	unsetenv("EBAYSYNC_SECRET_KEY");
	unsetenv("EBAYSYNC_SECRET_KEY_FILE");
	assert_int_equal(auth_init(&a, db, &why), ERR_OK);
	auth_release(&a);
	assert_int_equal(secret_key_load(db, &sk, &why), ERR_OK);
	assert_int_equal(chown(path, nobody->pw_uid, nobody->pw_gid), 0);
	assert_int_equal(chown(spath, nobody->pw_uid, nobody->pw_gid), 0);
	assert_int_equal(auth_init(&a, db, &why), ERR_INVALID);
	if (!strstr(buf_str(&why), "owned by uid") || !strstr(buf_str(&why), "jwt.key"))
		fail_msg("unexpected reason '%s'", buf_str(&why));
	buf_reset(&why);
	assert_int_equal(secret_key_load(db, &sk, &why), ERR_INVALID);
	if (!strstr(buf_str(&why), "owned by uid") || !strstr(buf_str(&why), "secret.key"))
		fail_msg("unexpected reason '%s'", buf_str(&why));
	/* Given back, it is accepted again. */
	assert_int_equal(chown(path, geteuid(), getegid()), 0);
	buf_reset(&why);
	assert_int_equal(auth_init(&a, db, &why), ERR_OK);
	auth_release(&a);
	buf_release(&why);
	testutil_rmrf(dir);
	free(dir);
	free(db);
	free(path);
	free(spath);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_issue_verify),
	    cmocka_unit_test(test_alg_none_and_others),
	    cmocka_unit_test(test_tampered),
	    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_missing_claims),
	    cmocka_unit_test(test_passwords),
	    cmocka_unit_test(test_user_names),
	    cmocka_unit_test(test_keyfile_secret),
	    cmocka_unit_test(test_keyfile_other_owner),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
