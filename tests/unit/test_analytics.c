/*
 * Tests for analytics.c's reading of eBay's RateLimitsResponse: the rate
 * of the API asked for (the resource with the fewest calls left), the
 * reset time, and hostile or malformed answers refused with a reason that
 * says what is wrong; and the ISO 8601 times eBay writes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "analytics.h"

static enum error parse(const char *body, struct analytics_rate *r, struct buf *why)
{
	buf_reset(why);
	return analytics_parse(body, strlen(body), "sell", "inventory", r, why);
}

static void test_picks_the_binding_rate(void **state)
{
	const char *body =
	    "{\"rateLimits\":["
	    "{\"apiContext\":\"buy\",\"apiName\":\"browse\",\"apiVersion\":\"v1\",\"resources\":"
	    "[{\"name\":\"buy.browse\",\"rates\":[{\"limit\":5000,\"remaining\":1,"
	    "\"reset\":\"2026-01-01T00:00:00.000Z\",\"timeWindow\":86400}]}]},"
	    "{\"apiContext\":\"sell\",\"apiName\":\"inventory\",\"apiVersion\":\"v1\","
	    "\"resources\":"
	    "[{\"name\":\"sell.inventory\",\"rates\":[{\"limit\":2000000,\"remaining\":1500000,"
	    "\"reset\":\"2026-12-08T07:00:00.250Z\",\"timeWindow\":86400}]},"
	    "{\"name\":\"sell.inventory.bulk\",\"rates\":[{\"limit\":1000,\"remaining\":200,"
	    "\"reset\":\"2026-12-07T23:30:00Z\",\"timeWindow\":3600},"
	    "{\"limit\":100,\"remaining\":90,\"timeWindow\":60}]}]}]}";
	struct analytics_rate r;
	struct buf why = BUF_INIT;

	(void)state;
	assert_int_equal(parse(body, &r, &why), ERR_OK);
	assert_int_equal(r.limit, 100);
	assert_int_equal(r.remaining, 90);
	assert_int_equal(r.reset_ms, 0); /* not said */
	assert_string_equal(r.resource, "sell.inventory.bulk");
	/* Names compare without case; the context must match too. */
	assert_int_equal(analytics_parse(body, strlen(body), "SELL", "Inventory", &r, &why),
			 ERR_OK);
	assert_int_equal(analytics_parse(body, strlen(body), "buy", "inventory", &r, &why),
			 ERR_NOTFOUND);
	assert_int_equal(analytics_parse(body, strlen(body), "buy", "browse", &r, &why), ERR_OK);
	assert_int_equal(r.remaining, 1);
	assert_int_equal(r.reset_ms, 1767225600000LL);
	buf_release(&why);
}

static void test_one_rate(void **state)
{
	struct analytics_rate r;
	struct buf why = BUF_INIT;

	(void)state;
	assert_int_equal(
	    parse("{\"rateLimits\":[{\"apiContext\":\"sell\",\"apiName\":\"inventory\","
		  "\"resources\":[{\"name\":\"sell.inventory\",\"rates\":[{\"limit\":"
		  "2000000,\"remaining\":0,\"reset\":\"2026-12-08T07:00:00.250Z\","
		  "\"timeWindow\":86400}]}]}]}",
		  &r, &why),
	    ERR_OK);
	assert_int_equal(r.limit, 2000000);
	assert_int_equal(r.remaining, 0);
	assert_int_equal(r.window_s, 86400);
	assert_int_equal(r.reset_ms, 1796713200250LL);
	buf_release(&why);
}

struct bad {
	const char *body;
	enum error err;
	const char *says;
};

static void test_hostile_answers(void **state)
{
#define API  "{\"rateLimits\":[{\"apiContext\":\"sell\",\"apiName\":\"inventory\",\"resources\":"
#define R(x) API "[{\"name\":\"n\",\"rates\":[" x "]}]}]}"
	static const struct bad cases[] = {
	    {"", ERR_PARSE, "not a JSON object"},
	    {"[]", ERR_PARSE, "not a JSON object"},
	    {"{\"rateLimits\":", ERR_PARSE, "not a JSON object"},
	    {"<html>oops</html>", ERR_PARSE, "not a JSON object"},
	    {"{\"rateLimits\":{}}", ERR_PARSE, "not an array"},
	    {"{\"rateLimits\":[1]}", ERR_PARSE, "lacks a string apiContext"},
	    {"{\"rateLimits\":[{\"apiContext\":7,\"apiName\":\"inventory\"}]}", ERR_PARSE,
	     "lacks a string apiContext"},
	    {API "{}}]}", ERR_PARSE, "resources is not an array"},
	    {API "[7]}]}", ERR_PARSE, "is not a resource"},
	    {API "[{\"rates\":{}}]}]}", ERR_PARSE, "is not a resource"},
	    {R("7"), ERR_PARSE, "a rate is not an object"},
	    {R("{\"limit\":\"5\",\"remaining\":1}"), ERR_PARSE, "not a whole number"},
	    {R("{\"limit\":5.5,\"remaining\":1}"), ERR_PARSE, "not a whole number"},
	    {R("{\"limit\":5,\"remaining\":-1}"), ERR_PARSE, "not a whole number"},
	    {R("{\"limit\":5}"), ERR_PARSE, "not a whole number"},
	    {R("{\"limit\":99999999999,\"remaining\":1}"), ERR_PARSE, "not a whole number"},
	    {R("{\"limit\":5,\"remaining\":6}"), ERR_PARSE, "more calls remaining (6)"},
	    {R("{\"limit\":5,\"remaining\":1,\"reset\":\"tomorrow\"}"), ERR_PARSE, "ISO 8601"},
	    {R("{\"limit\":5,\"remaining\":1,\"reset\":7}"), ERR_PARSE, "ISO 8601"},
	    {R("{\"limit\":5,\"remaining\":1,\"reset\":\"2026-12-08T07:00:00+01:00\"}"), ERR_PARSE,
	     "ISO 8601"},
	    {R("{\"limit\":5,\"remaining\":1,\"timeWindow\":\"day\"}"), ERR_PARSE, "timeWindow"},
	    {"{\"rateLimits\":[],\"rateLimits\":[]}", ERR_PARSE, "not a JSON object"},
	    {"{}", ERR_NOTFOUND, "say nothing of the sell inventory API"},
	    {"{\"rateLimits\":[]}", ERR_NOTFOUND, "say nothing"},
	    {API "[]}]}", ERR_NOTFOUND, "say nothing"},
	    {R(""), ERR_NOTFOUND, "say nothing"},
	};
	struct analytics_rate r;
	struct buf why = BUF_INIT;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum error err = parse(cases[i].body, &r, &why);

		if (err != cases[i].err || !strstr(buf_str(&why), cases[i].says))
			fail_msg("case %zu (%s): %s '%s', want %s '%s'", i, cases[i].body,
				 error_strerror(err), buf_str(&why), error_strerror(cases[i].err),
				 cases[i].says);
	}
	/* A NUL inside the body, and a body cut short. */
	assert_int_equal(
	    analytics_parse("{\"rateLimits\":[]}\0{", 19, "sell", "inventory", &r, &why),
	    ERR_PARSE);
	assert_int_equal(analytics_parse("{\"rateLimits\":[]}", 10, "sell", "inventory", &r, &why),
			 ERR_PARSE);
	buf_release(&why);
#undef R
#undef API
}

static void test_times(void **state)
{
	(void)state;
	assert_int_equal(analytics_parse_time("1970-01-01T00:00:00Z"), 0);
	assert_int_equal(analytics_parse_time("2018-08-04T07:09:00.000Z"), 1533366540000LL);
	assert_int_equal(analytics_parse_time("2018-08-04T07:09:00.5Z"), 1533366540500LL);
	assert_int_equal(analytics_parse_time("2018-08-04T07:09:00.123456Z"), 1533366540123LL);
	assert_int_equal(analytics_parse_time(NULL), -1);
	assert_int_equal(analytics_parse_time(""), -1);
	assert_int_equal(analytics_parse_time("2018-08-04 07:09:00.000Z"), -1);
	assert_int_equal(analytics_parse_time("2018-08-04T07:09:00.000"), -1);
	assert_int_equal(analytics_parse_time("2018-13-04T07:09:00.000Z"), -1);
	assert_int_equal(analytics_parse_time("2018-08-04T25:09:00.000Z"), -1);
	assert_int_equal(analytics_parse_time("+018-08-04T07:09:00.000Z"), -1);
	assert_int_equal(analytics_parse_time("2018-08-04T07:09:00.Z"), -1);
	assert_int_equal(analytics_parse_time("2018-08-04T07:09:00.000Zjunk"), -1);
	assert_int_equal(analytics_parse_time("1969-12-31T23:59:59.000Z"), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_picks_the_binding_rate),
	    cmocka_unit_test(test_one_rate),
	    cmocka_unit_test(test_hostile_answers),
	    cmocka_unit_test(test_times),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
