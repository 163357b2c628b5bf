/*
 * The simulator's bad days without a network: how faults are shared out,
 * the latency range, and the token buckets and daily quota with a clock
 * the test controls.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "sim_faults.h"

#define DRAWS 100000

/* How often each fault comes up over evenly spaced draws of u. */
static void tally(const struct sim_config *cfg, int counts[SIM_FAULT__COUNT], int *none)
{
	memset(counts, 0, SIM_FAULT__COUNT * sizeof(int));
	*none = 0;
	for (int i = 0; i < DRAWS; i++) {
		enum sim_fault f = sim_faults_pick(cfg, (i + 0.5) / DRAWS);
		if (f == SIM_FAULT_NONE)
			(*none)++;
		else
			counts[f]++;
	}
}

static void assert_near(int got, double want, double tolerance)
{
	if (got < want - tolerance || got > want + tolerance)
		fail_msg("got %d, want %.0f +- %.0f", got, want, tolerance);
}

static void test_pick(void **state)
{
	struct sim_config cfg;
	int counts[SIM_FAULT__COUNT], none;

	sim_config_defaults(&cfg);
	tally(&cfg, counts, &none);
	assert_int_equal(none, DRAWS);

	/* A total rate and no kind: all kinds but stall, evenly. */
	cfg.fault_rate = 0.3;
	tally(&cfg, counts, &none);
	assert_near(none, DRAWS * 0.7, 10);
	for (int k = 0; k < SIM_FAULT_STALL; k++)
		assert_near(counts[k], DRAWS * 0.06, 10);
	assert_int_equal(counts[SIM_FAULT_STALL], 0);

	/* A total rate and kinds: shared in proportion to their rates. */
	cfg.fail_reset = 1;
	cfg.fail_truncate = 3;
	tally(&cfg, counts, &none);
	assert_near(counts[SIM_FAULT_RESET], DRAWS * 0.075, 10);
	assert_near(counts[SIM_FAULT_TRUNCATE], DRAWS * 0.225, 10);
	assert_int_equal(counts[SIM_FAULT_500], 0);

	/* Every call, one kind. */
	cfg.fault_rate = 1;
	cfg.fail_reset = 0;
	cfg.fail_truncate = 0;
	cfg.fail_stall = 0.01;
	tally(&cfg, counts, &none);
	assert_int_equal(counts[SIM_FAULT_STALL], DRAWS);

	/* No total: each kind at its own rate. */
	sim_config_defaults(&cfg);
	cfg.fail_500 = 0.1;
	cfg.fail_25025 = 0.05;
	cfg.fail_malformed = 0.02;
	tally(&cfg, counts, &none);
	assert_near(counts[SIM_FAULT_500], DRAWS * 0.1, 10);
	assert_near(counts[SIM_FAULT_25025], DRAWS * 0.05, 10);
	assert_near(counts[SIM_FAULT_MALFORMED], DRAWS * 0.02, 10);
	assert_near(none, DRAWS * 0.83, 10);
	assert_string_equal(sim_faults_name(SIM_FAULT_25025), "25025");
	assert_string_equal(sim_faults_name(SIM_FAULT_STALL), "stall");
}

static void test_latency(void **state)
{
	struct sim_config cfg;
	long long lo = 1 << 30, hi = 0;

	sim_config_defaults(&cfg);
	assert_int_equal(sim_faults_latency(&cfg, 0.7), 0);
	cfg.latency_ms = 50;
	cfg.jitter_ms = 20;
	for (int i = 0; i < 1000; i++) {
		long long d = sim_faults_latency(&cfg, i / 1000.0);
		lo = d < lo ? d : lo;
		hi = d > hi ? d : hi;
	}
	assert_int_equal(lo, 50);
	assert_int_equal(hi, 70);
}

static void test_bucket(void **state)
{
	struct sim_limiter *l = sim_limiter_new();
	struct sim_config cfg;
	long long retry, t = 1000;
	int passed = 0;

	sim_config_defaults(&cfg);
	assert_int_equal(sim_limiter_take(l, &cfg, "a", t, &retry), SIM_LIMIT_OK);
	cfg.rps = 10;
	cfg.burst = 5;
	for (int i = 0; i < 8; i++)
		passed += sim_limiter_take(l, &cfg, "a", t, &retry) == SIM_LIMIT_OK;
	assert_int_equal(passed, 5);
	assert_int_equal(sim_limiter_take(l, &cfg, "a", t, &retry), SIM_LIMIT_RATE);
	assert_int_equal(retry, 100);
	/* 100 ms later one token is back, not two. */
	assert_int_equal(sim_limiter_take(l, &cfg, "a", t + 100, &retry), SIM_LIMIT_OK);
	assert_int_equal(sim_limiter_take(l, &cfg, "a", t + 100, &retry), SIM_LIMIT_RATE);
	/* Over ten seconds: the burst plus 10 a second, whatever is asked. */
	passed = 0;
	for (long long ms = 0; ms < 10000; ms++)
		passed += sim_limiter_take(l, &cfg, "a", t + 200 + ms, &retry) == SIM_LIMIT_OK;
	assert_true(passed >= 99 && passed <= 101);

	/* Global scope: another token shares the bucket. */
	assert_int_equal(sim_limiter_take(l, &cfg, "b", t + 200 + 9999, &retry), SIM_LIMIT_RATE);
	/* Per-token scope: it has its own. */
	cfg.rate_scope = SIM_RATE_TOKEN;
	sim_limiter_reset(l, t);
	for (int i = 0; i < 5; i++)
		assert_int_equal(sim_limiter_take(l, &cfg, "a", t, &retry), SIM_LIMIT_OK);
	assert_int_equal(sim_limiter_take(l, &cfg, "a", t, &retry), SIM_LIMIT_RATE);
	assert_int_equal(sim_limiter_take(l, &cfg, "b", t, &retry), SIM_LIMIT_OK);
	/* Made-up tokens by the thousand do not grow memory or break buckets. */
	for (int i = 0; i < 20000; i++) {
		char key[32];
		snprintf(key, sizeof(key), "tok-%d", i);
		assert_int_equal(sim_limiter_take(l, &cfg, key, t, &retry), SIM_LIMIT_OK);
	}
	/* Default burst: max(1, rps). */
	cfg.rate_scope = SIM_RATE_GLOBAL;
	cfg.burst = 0;
	cfg.rps = 0.5;
	sim_limiter_reset(l, t);
	assert_int_equal(sim_limiter_take(l, &cfg, NULL, t, &retry), SIM_LIMIT_OK);
	assert_int_equal(sim_limiter_take(l, &cfg, NULL, t, &retry), SIM_LIMIT_RATE);
	assert_int_equal(retry, 2000);
	sim_limiter_free(l);
}

static void test_quota(void **state)
{
	struct sim_limiter *l = sim_limiter_new();
	struct sim_config cfg;
	long long retry, day = 24LL * 3600 * 1000;

	sim_config_defaults(&cfg);
	cfg.daily_quota = 3;
	for (int i = 0; i < 3; i++)
		assert_int_equal(sim_limiter_take(l, &cfg, "a", 5000 + i, &retry), SIM_LIMIT_OK);
	assert_int_equal(sim_limiter_take(l, &cfg, "a", 6000, &retry), SIM_LIMIT_QUOTA);
	assert_int_equal(retry, day - 1000);
	assert_int_equal(sim_limiter_take(l, &cfg, "a", 5000 + day, &retry), SIM_LIMIT_OK);
	/* A call refused by the rate limit does not use quota. */
	cfg.rps = 1;
	cfg.burst = 1;
	cfg.daily_quota = 2;
	sim_limiter_reset(l, 0);
	assert_int_equal(sim_limiter_take(l, &cfg, "a", 0, &retry), SIM_LIMIT_OK);
	assert_int_equal(sim_limiter_take(l, &cfg, "a", 0, &retry), SIM_LIMIT_RATE);
	assert_int_equal(sim_limiter_take(l, &cfg, "a", 1000, &retry), SIM_LIMIT_OK);
	assert_int_equal(sim_limiter_take(l, &cfg, "a", 2000, &retry), SIM_LIMIT_QUOTA);
	sim_limiter_free(l);
}

/* The window the Developer Analytics answers report (sim_analytics.c). */
static void test_window(void **state)
{
	struct sim_limiter *l = sim_limiter_new();
	struct sim_config cfg;
	long long retry, calls, reset_in, day = SIM_LIMITER_DAY_MS;

	(void)state;
	sim_config_defaults(&cfg);
	/* No call yet: nothing taken, a whole day to go. */
	sim_limiter_window(l, 100, &calls, &reset_in);
	assert_int_equal(calls, 0);
	assert_int_equal(reset_in, day);
	/* Counted without a quota too; the window runs from its first call. */
	for (int i = 0; i < 5; i++)
		assert_int_equal(sim_limiter_take(l, &cfg, "a", 1000 + i, &retry), SIM_LIMIT_OK);
	sim_limiter_window(l, 4000, &calls, &reset_in);
	assert_int_equal(calls, 5);
	assert_int_equal(reset_in, day - 3000);
	/* Refused calls are not taken. */
	cfg.daily_quota = 6;
	assert_int_equal(sim_limiter_take(l, &cfg, "a", 5000, &retry), SIM_LIMIT_OK);
	assert_int_equal(sim_limiter_take(l, &cfg, "a", 5000, &retry), SIM_LIMIT_QUOTA);
	sim_limiter_window(l, 5000, &calls, &reset_in);
	assert_int_equal(calls, 6);
	/* A day later the window is over, before any new call. */
	sim_limiter_window(l, 1000 + day, &calls, &reset_in);
	assert_int_equal(calls, 0);
	assert_int_equal(reset_in, day);
	assert_int_equal(sim_limiter_take(l, &cfg, "a", 2000 + day, &retry), SIM_LIMIT_OK);
	sim_limiter_window(l, 2500 + day, &calls, &reset_in);
	assert_int_equal(calls, 1);
	assert_int_equal(reset_in, day - 500);
	/* A reset starts the window again. */
	sim_limiter_reset(l, 3000 + day);
	sim_limiter_window(l, 3000 + day, &calls, &reset_in);
	assert_int_equal(calls, 0);
	sim_limiter_free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pick),   cmocka_unit_test(test_latency),
	    cmocka_unit_test(test_bucket), cmocka_unit_test(test_quota),
	    cmocka_unit_test(test_window),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
