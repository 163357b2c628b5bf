/*
 * Request targets, cookies and Bearer headers as the server reads them:
 * segments split before decoding (an encoded "/" stays in its segment),
 * "+" a space only in queries, bad and NUL escapes refused, caps enforced.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "request.h"
#include "xalloc.h"

static void test_paths(void **state)
{
	struct request_target t;
	struct buf why = BUF_INIT;

	assert_int_equal(request_parse_target("/", &t, &why), ERR_OK);
	assert_int_equal(t.n_segments, 0);
	assert_int_equal(t.trailing_slash, 0);
	request_target_release(&t);

	assert_int_equal(request_parse_target("/ebay/inventory/A%2FB+C%20D%25", &t, &why), ERR_OK);
	assert_int_equal(t.n_segments, 3);
	assert_string_equal(t.segments[0], "ebay");
	assert_string_equal(t.segments[2], "A/B+C D%");
	request_target_release(&t);

	assert_int_equal(request_parse_target("/ebay/me/", &t, &why), ERR_OK);
	assert_int_equal(t.n_segments, 2);
	assert_int_equal(t.trailing_slash, 1);
	request_target_release(&t);

	assert_int_equal(request_parse_target("http://localhost:8080/healthz?x=1", &t, &why),
			 ERR_OK);
	assert_int_equal(t.n_segments, 1);
	assert_string_equal(t.segments[0], "healthz");
	assert_string_equal(request_param(&t, "x"), "1");
	request_target_release(&t);

	assert_int_equal(request_parse_target("/a#frag?x=1", &t, &why), ERR_OK);
	assert_int_equal(t.n_params, 0);
	request_target_release(&t);
	buf_release(&why);
}

static void expect_bad(const char *target, enum error want, const char *reason)
{
	struct request_target t;
	struct buf why = BUF_INIT;

	assert_int_equal(request_parse_target(target, &t, &why), want);
	assert_int_equal(t.n_segments, 0);
	assert_int_equal(t.n_params, 0);
	if (!strstr(buf_str(&why), reason))
		fail_msg("'%s': reason '%s' lacks '%s'", target, buf_str(&why), reason);
	buf_release(&why);
}

static void test_bad_targets(void **state)
{
	char *long_target = xmalloc(REQUEST_TARGET_MAX + 2);
	struct buf many = BUF_INIT;
	int i;

	expect_bad("", ERR_INVALID, "must start with '/'");
	expect_bad("*", ERR_INVALID, "must start with '/'");
	expect_bad("http://host", ERR_INVALID, "no path");
	expect_bad("/a//b", ERR_INVALID, "empty segment");
	expect_bad("/a/%zz", ERR_INVALID, "segment 2 has a bad %-escape");
	expect_bad("/a/%4", ERR_INVALID, "bad %-escape");
	expect_bad("/a%00b", ERR_INVALID, "bad %-escape");
	expect_bad("/a?x=%00", ERR_INVALID, "'x' has a bad %-escape in its value");
	expect_bad("/a?%G1=1", ERR_INVALID, "bad %-escape in its name");
	memset(long_target, 'a', REQUEST_TARGET_MAX + 1);
	long_target[0] = '/';
	long_target[REQUEST_TARGET_MAX + 1] = '\0';
	expect_bad(long_target, ERR_TOOBIG, "longer than 8192 bytes");
	free(long_target);
	for (i = 0; i < REQUEST_SEGMENTS_MAX + 1; i++)
		buf_adds(&many, "/s");
	expect_bad(buf_str(&many), ERR_TOOBIG, "more than 16 segments");
	buf_reset(&many);
	buf_adds(&many, "/q?");
	for (i = 0; i < REQUEST_PARAMS_MAX + 1; i++)
		buf_addf(&many, "p%d=1&", i);
	expect_bad(buf_str(&many), ERR_TOOBIG, "more than 32 parameters");
	buf_release(&many);
}

static void test_query(void **state)
{
	struct request_target t;
	struct buf why = BUF_INIT;
	long long n;

	assert_int_equal(
	    request_parse_target("/x?q=red+shoe%26s&&flag&limit=25&q=second&e=", &t, &why), ERR_OK);
	assert_int_equal(t.n_params, 5);
	assert_string_equal(request_param(&t, "q"), "red shoe&s"); /* first wins */
	assert_string_equal(request_param(&t, "flag"), "");
	assert_null(request_param(&t, "missing"));
	assert_int_equal(request_param_int(&t, "limit", 50, 1, 500, &n, &why), ERR_OK);
	assert_int_equal(n, 25);
	assert_int_equal(request_param_int(&t, "e", 50, 1, 500, &n, &why), ERR_OK);
	assert_int_equal(n, 50);
	assert_int_equal(request_param_int(&t, "missing", 7, 1, 500, &n, &why), ERR_OK);
	assert_int_equal(n, 7);
	assert_int_equal(request_param_int(&t, "q", 7, 1, 500, &n, &why), ERR_INVALID);
	assert_string_equal(buf_str(&why), "q must be an integer from 1 to 500");
	request_target_release(&t);

	assert_int_equal(
	    request_parse_target("/x?limit=501&offset=-1&big=99999999999999999999", &t, &why),
	    ERR_OK);
	assert_int_equal(request_param_int(&t, "limit", 50, 1, 500, &n, &why), ERR_INVALID);
	assert_int_equal(request_param_int(&t, "offset", 0, 0, 1000000, &n, &why), ERR_INVALID);
	assert_int_equal(request_param_int(&t, "big", 0, 0, 1000000, &n, &why), ERR_INVALID);
	request_target_release(&t);
	buf_release(&why);
}

static void test_cookie(void **state)
{
	char *v;

	v = request_cookie("a=1; ebaysync_token=abc.def.ghi; b=2", "ebaysync_token");
	assert_string_equal(v, "abc.def.ghi");
	free(v);
	v = request_cookie("xebaysync_token=no; ebaysync_token=\"q\"", "ebaysync_token");
	assert_string_equal(v, "q");
	free(v);
	v = request_cookie("ebaysync_token=", "ebaysync_token");
	assert_string_equal(v, "");
	free(v);
	assert_null(request_cookie("a=1;b=2", "ebaysync_token"));
	assert_null(request_cookie("", "ebaysync_token"));
	assert_null(request_cookie(NULL, "ebaysync_token"));
	assert_null(request_cookie("ebaysync_token", "ebaysync_token"));
}

static void test_bearer(void **state)
{
	struct buf why = BUF_INIT;
	char *t;

	assert_int_equal(request_bearer("Bearer abc.def", &t, &why), ERR_OK);
	assert_string_equal(t, "abc.def");
	free(t);
	assert_int_equal(request_bearer("bearer   x  ", &t, &why), ERR_OK);
	assert_string_equal(t, "x");
	free(t);
	assert_int_equal(request_bearer(NULL, &t, &why), ERR_NOTFOUND);
	assert_int_equal(request_bearer("Basic YTpi", &t, &why), ERR_INVALID);
	assert_null(t);
	assert_int_equal(request_bearer("Bearer ", &t, &why), ERR_INVALID);
	assert_non_null(strstr(buf_str(&why), "empty bearer token"));
	buf_release(&why);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_paths),  cmocka_unit_test(test_bad_targets),
	    cmocka_unit_test(test_query),  cmocka_unit_test(test_cookie),
	    cmocka_unit_test(test_bearer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
