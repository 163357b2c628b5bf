/*
 * Tests for backoff.c: the bounds of capped exponential backoff with full
 * jitter (with a seeded generator, so every run draws the same delays),
 * and Retry-After in its delta-seconds and three HTTP-date forms.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "backoff.h"
#include "random.h"

static void test_ceiling_doubles_then_caps(void **state)
{
	(void)state;
	assert_int_equal(backoff_ceiling_ms(100, 1000, 1), 100);
	assert_int_equal(backoff_ceiling_ms(100, 1000, 2), 200);
	assert_int_equal(backoff_ceiling_ms(100, 1000, 3), 400);
	assert_int_equal(backoff_ceiling_ms(100, 1000, 4), 800);
	assert_int_equal(backoff_ceiling_ms(100, 1000, 5), 1000);
	assert_int_equal(backoff_ceiling_ms(100, 1000, 60), 1000);
	/* Below 1 counts as the first retry; nonsense inputs stay sane. */
	assert_int_equal(backoff_ceiling_ms(100, 1000, 0), 100);
	assert_int_equal(backoff_ceiling_ms(0, 0, 3), 1);
	assert_int_equal(backoff_ceiling_ms(5000, 1000, 1), 1000);
	/* No overflow on the way to a huge cap. */
	assert_int_equal(backoff_ceiling_ms(1, LONG_MAX, INT_MAX), LONG_MAX);
}

static void test_delay_within_full_jitter_bounds(void **state)
{
	struct random_rng rng;
	int attempt, i;

	(void)state;
	random_rng_seed(&rng, 42);
	for (attempt = 1; attempt <= 12; attempt++) {
		long long ceiling = backoff_ceiling_ms(200, 30000, attempt);
		long long lo = LLONG_MAX, hi = -1;

		for (i = 0; i < 2000; i++) {
			long long d = backoff_delay_ms(&rng, 200, 30000, attempt);

			assert_true(d >= 0);
			assert_true(d <= ceiling);
			lo = d < lo ? d : lo;
			hi = d > hi ? d : hi;
		}
		/* Full jitter spreads over the whole range, not near the top. */
		assert_true(lo <= ceiling / 10);
		assert_true(hi >= ceiling - ceiling / 10);
	}
}

static void test_delay_mean_is_half_the_ceiling(void **state)
{
	struct random_rng rng;
	double sum = 0;
	int i;

	(void)state;
	random_rng_seed(&rng, 7);
	for (i = 0; i < 20000; i++)
		sum += (double)backoff_delay_ms(&rng, 1000, 1000, 1);
	assert_true(sum / 20000 > 470 && sum / 20000 < 530);
}

static void test_retry_after_delta_seconds(void **state)
{
	(void)state;
	assert_int_equal(backoff_retry_after_ms("120", 0), 120000);
	assert_int_equal(backoff_retry_after_ms("0", 0), 0);
	assert_int_equal(backoff_retry_after_ms(" 5 \t", 0), 5000);
	assert_int_equal(backoff_retry_after_ms("007", 0), 7000);
	/* Clamped to a day, however many digits. */
	assert_int_equal(backoff_retry_after_ms("99999999999999999999999", 0), 86400000LL);
	assert_int_equal(backoff_retry_after_ms("86401", 0), 86400000LL);
	assert_int_equal(backoff_retry_after_ms("-1", 0), -1);
	assert_int_equal(backoff_retry_after_ms("1.5", 0), -1);
	assert_int_equal(backoff_retry_after_ms("5s", 0), -1);
	assert_int_equal(backoff_retry_after_ms("", 0), -1);
	assert_int_equal(backoff_retry_after_ms("   ", 0), -1);
	assert_int_equal(backoff_retry_after_ms("soon", 0), -1);
	assert_int_equal(backoff_retry_after_ms(NULL, 0), -1);
}

/* 1994-11-06 08:49:37 UTC, the RFC's example. */
#define EXAMPLE_MS 784111777000LL

static void test_retry_after_http_dates(void **state)
{
	(void)state;
	assert_int_equal(backoff_retry_after_ms("Sun, 06 Nov 1994 08:49:37 GMT", EXAMPLE_MS - 3000),
			 3000);
	assert_int_equal(
	    backoff_retry_after_ms("Sunday, 06-Nov-94 08:49:37 GMT", EXAMPLE_MS - 2500), 2500);
	assert_int_equal(backoff_retry_after_ms("Sun Nov  6 08:49:37 1994", EXAMPLE_MS - 1000),
			 1000);
	assert_int_equal(backoff_retry_after_ms(" Sun, 06 Nov 1994 08:49:37 GMT ", EXAMPLE_MS), 0);
	/* A date in the past means now. */
	assert_int_equal(
	    backoff_retry_after_ms("Sun, 06 Nov 1994 08:49:37 GMT", EXAMPLE_MS + 99000), 0);
	/* Two-digit years below 70 are this century. */
	assert_int_equal(
	    backoff_retry_after_ms("Thursday, 01-Jan-26 00:00:00 GMT", 1767225600000LL - 4000),
	    4000);
	/* Far future: clamped to a day. */
	assert_int_equal(backoff_retry_after_ms("Fri, 31 Dec 2100 23:59:59 GMT", EXAMPLE_MS),
			 86400000LL);
}

static void test_retry_after_rejects_bad_dates(void **state)
{
	static const char *const bad[] = {
	    "Sun, 32 Nov 1994 08:49:37 GMT", /* day 32 */
	    "Sun, 06 Foo 1994 08:49:37 GMT", /* month */
	    "Sun, 06 Nov 1994 24:49:37 GMT", /* hour */
	    "Sun, 06 Nov 1994 08:60:37 GMT", /* minute */
	    "Sun, 06 Nov 1994 08:49:37 PST", /* zone */
	    "Sun, 06 Nov 1994 08:49:37 GMT x",
	    "Sun, 6 Nov 1994 08:49:37 GMT", /* one-digit day in IMF-fixdate */
	    "Sun, 06 Nov 94 08:49:37 GMT",  /* two-digit year in IMF-fixdate */
	    "Xyz, 06 Nov 1994 08:49:37 GMT",
	    "sun, 06 nov 1994 08:49:37 gmt",
	    "Sunday, 06-Nov-1994 08:49:37 GMT",
	    "Sun Nov 6 08:49:37 1994",
	    "Sun Nov  6 08:49 1994",
	    "Sun, 06 Nov 1994 08:49:37",
	    "Sun, 06 Nov",
	    "Sun",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (backoff_retry_after_ms(bad[i], 0) != -1)
			fail_msg("accepted '%s'", bad[i]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ceiling_doubles_then_caps),
	    cmocka_unit_test(test_delay_within_full_jitter_bounds),
	    cmocka_unit_test(test_delay_mean_is_half_the_ceiling),
	    cmocka_unit_test(test_retry_after_delta_seconds),
	    cmocka_unit_test(test_retry_after_http_dates),
	    cmocka_unit_test(test_retry_after_rejects_bad_dates),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
