/*
 * The simulator's settings: defaults, the command line, run-time JSON
 * changes (all or nothing, with their effects), and the round trip through
 * GET /sim/config's JSON.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "sim_config.h"

static enum error parse(struct sim_config *cfg, struct buf *why, int argc, char **argv)
{
	buf_reset(why);
	return sim_config_parse_argv(cfg, argc, argv, why);
}

static void test_defaults(void **state)
{
	struct sim_config cfg;

	sim_config_defaults(&cfg);
	assert_string_equal(cfg.listen, "127.0.0.1:0");
	assert_int_equal(cfg.seed, 1);
	assert_int_equal(cfg.skus, 1000);
	assert_int_equal(cfg.offset_mode, SIM_OFFSET_RECORD);
	assert_int_equal(cfg.token_ttl, 7200);
	assert_int_equal(cfg.stall_ms, 120000);
	assert_true(cfg.threads >= 2);
	assert_true(cfg.rps == 0 && cfg.fault_rate == 0 && cfg.churn == 0);
	assert_string_equal(cfg.token, "");
}

static void test_argv(void **state)
{
	struct sim_config cfg;
	struct buf why = BUF_INIT;
	char *argv[] = {"sim",
			"--seed",
			"18446744073709551615",
			"--skus",
			"1000000",
			"--offset-mode=page",
			"--token",
			"v^1.1#t^abc",
			"--token-ttl",
			"5",
			"--latency-ms",
			"50",
			"--jitter-ms=20",
			"--rps",
			"12.5",
			"--burst",
			"3",
			"--retry-after",
			"--daily-quota",
			"100",
			"--fault-rate",
			"0.25",
			"--fail-stall",
			"0.1",
			"--churn",
			"100",
			"--threads",
			"4",
			"--no-offers-404",
			"--rate-scope",
			"token",
			"--listen",
			"127.0.0.1:8089",
			"--redirect-uri",
			"http://127.0.0.1:1/cb"};

	sim_config_defaults(&cfg);
	assert_int_equal(parse(&cfg, &why, sizeof(argv) / sizeof(argv[0]), argv), ERR_OK);
	assert_true(cfg.seed == UINT64_MAX);
	assert_int_equal(cfg.skus, 1000000);
	assert_int_equal(cfg.offset_mode, SIM_OFFSET_PAGE);
	assert_string_equal(cfg.token, "v^1.1#t^abc");
	assert_int_equal(cfg.token_ttl, 5);
	assert_int_equal(cfg.latency_ms, 50);
	assert_int_equal(cfg.jitter_ms, 20);
	assert_true(cfg.rps == 12.5 && cfg.burst == 3);
	assert_int_equal(cfg.retry_after, 1);
	assert_int_equal(cfg.daily_quota, 100);
	assert_true(cfg.fault_rate == 0.25 && cfg.fail_stall == 0.1);
	assert_true(cfg.churn == 100);
	assert_int_equal(cfg.threads, 4);
	assert_int_equal(cfg.no_offers_404, 1);
	assert_int_equal(cfg.rate_scope, SIM_RATE_TOKEN);
	assert_string_equal(cfg.listen, "127.0.0.1:8089");
	assert_string_equal(cfg.redirect_uri, "http://127.0.0.1:1/cb");
	buf_release(&why);
}

static void test_argv_errors(void **state)
{
	struct {
		char *argv[3];
		const char *want;
	} cases[] = {
	    {{"sim", "--nope", NULL}, "unknown option '--nope'"},
	    {{"sim", "--skus", NULL}, "option '--skus' needs a value"},
	    {{"sim", "--skus", "ten"},
	     "invalid value for --skus: 'ten' (want an integer from 0 to"},
	    {{"sim", "--skus", "-1"}, "invalid value for --skus: '-1'"},
	    {{"sim", "--skus", "20000000"}, "invalid value for --skus"},
	    {{"sim", "--fault-rate", "1.5"}, "want a number from 0 to 1"},
	    {{"sim", "--offset-mode", "pages"}, "want one of record, page"},
	    {{"sim", "--seed", "-3"}, "want an unsigned integer"},
	    {{"sim", "--retry-after=maybe", NULL}, "want true or false"},
	    {{"sim", "seed", NULL}, "unexpected argument 'seed'"},
	    {{"sim", "--latency-ms", "1e3"}, "invalid value for --latency-ms"},
	};
	struct buf why = BUF_INIT;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sim_config cfg;
		int argc = cases[i].argv[2] ? 3 : 2;

		sim_config_defaults(&cfg);
		assert_int_equal(parse(&cfg, &why, argc, cases[i].argv), ERR_INVALID);
		if (!strstr(buf_str(&why), cases[i].want))
			fail_msg("case %zu: got '%s', want '%s'", i, buf_str(&why), cases[i].want);
	}
	{
		/* A string over its field's size is refused, not cut. */
		static char longval[SIM_CONFIG_TOKEN_MAX + 10];
		char *argv[] = {"sim", "--token", longval};
		struct sim_config cfg;
		memset(longval, 'x', sizeof(longval) - 1);
		sim_config_defaults(&cfg);
		assert_int_equal(parse(&cfg, &why, 3, argv), ERR_INVALID);
		assert_non_null(strstr(buf_str(&why), "want a string of at most 1023 bytes"));
	}
	buf_release(&why);
}

static void test_json(void **state)
{
	struct sim_config cfg, before;
	struct buf why = BUF_INIT;
	unsigned fx = 0;
	const char *ok =
	    "{\"latency_ms\":50,\"rps\":5,\"retry_after\":true,\"offset_mode\":\"page\","
	    "\"skus\":20,\"fail_500\":0.5,\"token\":\"T\"}";

	sim_config_defaults(&cfg);
	assert_int_equal(sim_config_apply_json(&cfg, ok, strlen(ok), &fx, &why), ERR_OK);
	assert_int_equal(cfg.latency_ms, 50);
	assert_true(cfg.rps == 5);
	assert_int_equal(cfg.retry_after, 1);
	assert_int_equal(cfg.offset_mode, SIM_OFFSET_PAGE);
	assert_int_equal(cfg.skus, 20);
	assert_true(cfg.fail_500 == 0.5);
	assert_string_equal(cfg.token, "T");
	assert_true(fx & SIM_CONFIG_REBUILD);
	assert_true(fx & SIM_CONFIG_LIMITER);

	/* Same values again: nothing to rebuild. */
	assert_int_equal(sim_config_apply_json(&cfg, ok, strlen(ok), &fx, &why), ERR_OK);
	assert_int_equal(fx, 0);

	before = cfg;
	{
		const char *bad[][2] = {
		    {"{\"latency_ms\":10,\"nope\":1}", "unknown setting 'nope'"},
		    {"{\"latency_ms\":10,\"threads\":4}", "setting 'threads' can only be given on"},
		    {"{\"listen\":\"127.0.0.1:1\"}", "can only be given on the command line"},
		    {"{\"latency-ms\":10}", "unknown setting 'latency-ms'"},
		    {"{\"skus\":\"many\"}", "invalid value for 'skus'"},
		    {"{\"skus\":1.5}", "invalid value for 'skus'"},
		    {"{\"fault_rate\":2}", "want a number from 0 to 1"},
		    {"{\"retry_after\":\"yes\"}", "want true or false"},
		    {"{\"offset_mode\":3}", "invalid value for 'offset_mode'"},
		    {"[1]", "config must be a JSON object"},
		    {"{\"rps\":", "config is not valid JSON"},
		    {"{\"rps\":1,\"rps\":2}", "config is not valid JSON"},
		};
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			buf_reset(&why);
			assert_int_equal(
			    sim_config_apply_json(&cfg, bad[i][0], strlen(bad[i][0]), &fx, &why),
			    ERR_INVALID);
			if (!strstr(buf_str(&why), bad[i][1]))
				fail_msg("case %zu: got '%s'", i, buf_str(&why));
			/* All or nothing: the latency_ms before the bad key did not stick. */
			assert_memory_equal(&cfg, &before, sizeof(cfg));
		}
	}
	buf_release(&why);
}

static void test_json_round_trip(void **state)
{
	struct sim_config a, b;
	struct buf why = BUF_INIT;
	char *argv[] = {"sim", "--seed",	"9",	"--churn",
			"2.5", "--offset-mode", "page", "--no-offers-404"};
	json_t *j, *k;
	char *text;

	sim_config_defaults(&a);
	assert_int_equal(parse(&a, &why, 8, argv), ERR_OK);
	j = sim_config_to_json(&a);
	assert_int_equal(json_integer_value(json_object_get(j, "seed")), 9);
	assert_string_equal(json_string_value(json_object_get(j, "offset_mode")), "page");
	assert_true(json_is_true(json_object_get(j, "no_offers_404")));
	json_object_del(j, "listen");
	json_object_del(j, "threads");
	text = json_dumps(j, 0);
	sim_config_defaults(&b);
	assert_int_equal(sim_config_apply_json(&b, text, strlen(text), NULL, &why), ERR_OK);
	k = sim_config_to_json(&b);
	json_object_del(k, "listen");
	json_object_del(k, "threads");
	assert_true(json_equal(j, k));
	free(text);
	json_decref(j);
	json_decref(k);
	buf_release(&why);
}

static void test_usage(void **state)
{
	struct buf b = BUF_INIT;

	sim_config_usage(&b);
	assert_non_null(strstr(buf_str(&b), "--fail-25025 P"));
	assert_non_null(strstr(buf_str(&b), "--no-offers-404"));
	assert_non_null(strstr(buf_str(&b), "[start only]"));
	buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),	    cmocka_unit_test(test_argv),
	    cmocka_unit_test(test_argv_errors),	    cmocka_unit_test(test_json),
	    cmocka_unit_test(test_json_round_trip), cmocka_unit_test(test_usage),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
