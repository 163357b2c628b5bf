/*
 * Tests for pacer.c: the token bucket, the halving on 429 (once per
 * window, never below the floor), the additive creep back after a quiet
 * stretch, and the lock. Time is passed in explicitly: nothing sleeps.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "pacer.h"

#define NEAR(a, b) ((a) - (b) < 1e-9 && (b) - (a) < 1e-9)

static void test_starts_at_ceiling_with_burst(void **state)
{
	struct pacer *p = pacer_new(10, 3);

	(void)state;
	assert_true(NEAR(pacer_rate(p), 10));
	assert_int_equal(pacer_acquire(p, 0), 0);
	assert_int_equal(pacer_acquire(p, 0), 0);
	assert_int_equal(pacer_acquire(p, 0), 0);
	/* Bucket empty: one token at 10/s takes 100 ms; nothing was taken. */
	assert_int_equal(pacer_acquire(p, 0), 100);
	assert_int_equal(pacer_acquire(p, 40), 60);
	assert_int_equal(pacer_acquire(p, 100), 0);
	assert_int_equal(pacer_acquire(p, 100), 100);
	pacer_free(p);
}

/* Grants over `ms` of a caller that always waits exactly what it is told. */
static int grants_over(struct pacer *p, long long from, long long ms)
{
	long long now = from, wait;
	int n = 0;

	while (now < from + ms) {
		wait = pacer_acquire(p, now);
		if (wait == 0)
			n++;
		else
			now += wait;
	}
	return n;
}

static void test_steady_rate_matches_ceiling(void **state)
{
	struct pacer *p = pacer_new(20, 1);

	(void)state;
	/* 10 s at 20/s: 200 grants plus the initial token. */
	int n = grants_over(p, 0, 10000);

	assert_true(n >= 200 && n <= 201);
	pacer_free(p);
	p = pacer_new(3.5, 1);
	n = grants_over(p, 0, 10000);
	assert_true(n >= 35 && n <= 36);
	pacer_free(p);
}

static void test_bucket_does_not_overfill(void **state)
{
	struct pacer *p = pacer_new(100, 5);
	int n = 0;

	(void)state;
	assert_int_equal(pacer_acquire(p, 0), 0);
	/* A minute idle earns at most the burst. */
	while (pacer_acquire(p, 60000) == 0)
		n++;
	assert_int_equal(n, 5);
	pacer_free(p);
}

static void test_clock_going_back_earns_nothing(void **state)
{
	struct pacer *p = pacer_new(10, 1);

	(void)state;
	assert_int_equal(pacer_acquire(p, 5000), 0);
	assert_true(pacer_acquire(p, 1000) > 0);
	assert_int_equal(pacer_acquire(p, 5100), 0);
	pacer_free(p);
}

static void test_throttle_halves_once_per_window(void **state)
{
	struct pacer *p = pacer_new(20, 1);
	int i;

	(void)state;
	pacer_throttled(p, 1000);
	assert_true(NEAR(pacer_rate(p), 10));
	/* The rest of the same burst of 429s changes nothing. */
	for (i = 0; i < 50; i++)
		pacer_throttled(p, 1000 + i * 10);
	assert_true(NEAR(pacer_rate(p), 10));
	pacer_throttled(p, 2000);
	assert_true(NEAR(pacer_rate(p), 5));
	pacer_throttled(p, 3000);
	pacer_throttled(p, 4000);
	pacer_throttled(p, 5000);
	assert_true(NEAR(pacer_rate(p), 0.625));
	pacer_throttled(p, 6000);
	assert_true(NEAR(pacer_rate(p), 0.5));
	pacer_throttled(p, 7000);
	assert_true(NEAR(pacer_rate(p), 0.5));
	pacer_free(p);

	/* A ceiling under the floor is its own floor. */
	p = pacer_new(0.2, 1);
	pacer_throttled(p, 0);
	assert_true(NEAR(pacer_rate(p), 0.2));
	pacer_free(p);
}

static void test_throttle_drops_saved_burst(void **state)
{
	struct pacer *p = pacer_new(100, 50);
	int n = 0;

	(void)state;
	assert_int_equal(pacer_acquire(p, 0), 0);
	pacer_throttled(p, 1000);
	while (pacer_acquire(p, 1000) == 0)
		n++;
	assert_int_equal(n, 1);
	/* And the next token comes at the halved rate: 1/50 s. */
	assert_int_equal(pacer_acquire(p, 1000), 20);
	pacer_free(p);
}

static void test_recovers_additively_after_quiet(void **state)
{
	struct pacer *p = pacer_new(20, 1);

	(void)state;
	pacer_throttled(p, 0);
	assert_true(NEAR(pacer_rate(p), 10));
	/* Not quiet for 5 s yet. */
	pacer_succeeded(p, 1000);
	pacer_succeeded(p, 4999);
	assert_true(NEAR(pacer_rate(p), 10));
	/* 1 s into the quiet: +5% of 20. */
	pacer_succeeded(p, 6000);
	assert_true(NEAR(pacer_rate(p), 11));
	pacer_succeeded(p, 6500);
	assert_true(NEAR(pacer_rate(p), 11.5));
	/* Never past the ceiling. */
	pacer_succeeded(p, 60000);
	assert_true(NEAR(pacer_rate(p), 20));
	pacer_succeeded(p, 70000);
	assert_true(NEAR(pacer_rate(p), 20));
	/* A new 429 halves and restarts the quiet clock. */
	pacer_throttled(p, 70000);
	assert_true(NEAR(pacer_rate(p), 10));
	pacer_succeeded(p, 74000);
	assert_true(NEAR(pacer_rate(p), 10));
	pacer_succeeded(p, 77000);
	assert_true(NEAR(pacer_rate(p), 12));
	pacer_free(p);
}

static void test_recovery_paces_the_bucket(void **state)
{
	struct pacer *p = pacer_new(10, 1);
	int n;

	(void)state;
	pacer_throttled(p, 0);
	pacer_throttled(p, 1000);
	assert_true(NEAR(pacer_rate(p), 2.5));
	/* At 2.5/s a 10 s stretch grants about 25, not 100. */
	n = grants_over(p, 1000, 10000);
	assert_true(n >= 24 && n <= 26);
	pacer_free(p);
}

struct race {
	struct pacer *p;
	int granted;
};

static void *race_thread(void *arg)
{
	struct race *r = arg;
	int i;

	for (i = 0; i < 20000; i++)
		if (pacer_acquire(r->p, 0) == 0)
			r->granted++;
	return NULL;
}

static void test_threads_share_the_bucket(void **state)
{
	struct pacer *p = pacer_new(5, 64);
	struct race r[4];
	pthread_t th[4];
	int i, total = 0;

	(void)state;
	for (i = 0; i < 4; i++) {
		r[i].p = p;
		r[i].granted = 0;
		assert_int_equal(pthread_create(&th[i], NULL, race_thread, &r[i]), 0);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		total += r[i].granted;
	}
	/* The clock never moves: exactly the burst, however the threads race. */
	assert_int_equal(total, 64);
	pacer_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_starts_at_ceiling_with_burst),
	    cmocka_unit_test(test_steady_rate_matches_ceiling),
	    cmocka_unit_test(test_bucket_does_not_overfill),
	    cmocka_unit_test(test_clock_going_back_earns_nothing),
	    cmocka_unit_test(test_throttle_halves_once_per_window),
	    cmocka_unit_test(test_throttle_drops_saved_burst),
	    cmocka_unit_test(test_recovers_additively_after_quiet),
	    cmocka_unit_test(test_recovery_paces_the_bucket),
	    cmocka_unit_test(test_threads_share_the_bucket),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
