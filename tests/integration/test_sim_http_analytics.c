/*
 * ebaysync-sim's Developer Analytics API over HTTP: getRateLimits with an
 * application token (client_credentials) and getUserRateLimits with a user
 * token, computed from the simulator's own counters: the limit is
 * --daily-quota, remaining falls by one per Inventory API call and not for
 * the analytics calls themselves, the filters, the wrong token kinds, the
 * quota running out, and /sim/reset and /sim/config.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "testutil.h"
#include "timeutil.h"
#include "xalloc.h"

/* base64("ebaysync-sim-client:ebaysync-sim-secret"), the default client. */
#define BASIC "Authorization: Basic ZWJheXN5bmMtc2ltLWNsaWVudDplYmF5c3luYy1zaW0tc2VjcmV0"
#define QUOTA 40

static struct testutil_proc sim;

static int setup(void **state)
{
	char *argv[] = {TESTUTIL_SIM_BIN, "--skus", "30", "--token", "dev",
			"--daily-quota",  "40",	    NULL};

	(void)state;
	return testutil_spawn(&sim, argv, NULL);
}

static int teardown(void **state)
{
	(void)state;
	if (sim.pid > 0)
		testutil_stop(&sim, SIGTERM);
	return 0;
}

/* A request; returns the status, the parsed body in *json (if given). */
static long call(const char *method, const char *path, const char *bearer, const char *body,
		 json_t **json)
{
	char *url = xasprintf("%s%s", sim.base_url, path);
	char *auth = bearer ? xasprintf("Authorization: Bearer %s", bearer) : NULL;
	const char *hdrs[] = {auth ? auth : "X-None: 1", "Content-Type: application/json", NULL};
	struct testutil_http r;
	long status;

	assert_int_equal(testutil_http(method, url, body, hdrs, &r), 0);
	status = r.status;
	if (json)
		*json = json_loadb(r.body, r.len, 0, NULL);
	testutil_http_release(&r);
	free(url);
	free(auth);
	return status;
}

static char *app_token(void)
{
	char *url = xasprintf("%s/identity/v1/oauth2/token", sim.base_url);
	const char *hdrs[] = {"Content-Type: application/x-www-form-urlencoded", BASIC, NULL};
	struct testutil_http r;
	json_t *j;
	char *tok;

	assert_int_equal(testutil_http("POST", url,
				       "grant_type=client_credentials&scope=https%3A%2F%2Fapi.ebay."
				       "com%2Foauth%2Fapi_scope",
				       hdrs, &r),
			 0);
	assert_int_equal(r.status, 200);
	j = json_loadb(r.body, r.len, 0, NULL);
	assert_string_equal(json_string_value(json_object_get(j, "token_type")),
			    "Application Access Token");
	tok = xstrdup(json_string_value(json_object_get(j, "access_token")));
	json_decref(j);
	testutil_http_release(&r);
	free(url);
	return tok; /* the caller frees it */
}

/* The one rate of sell/inventory in an answer, checked for shape. */
static json_t *inventory_rate(json_t *root)
{
	json_t *rl = json_object_get(root, "rateLimits"), *api, *res, *rate;

	assert_true(json_is_array(rl));
	assert_int_equal(json_array_size(rl), 1);
	api = json_array_get(rl, 0);
	assert_string_equal(json_string_value(json_object_get(api, "apiContext")), "sell");
	assert_string_equal(json_string_value(json_object_get(api, "apiName")), "inventory");
	assert_string_equal(json_string_value(json_object_get(api, "apiVersion")), "v1");
	res = json_array_get(json_object_get(api, "resources"), 0);
	assert_string_equal(json_string_value(json_object_get(res, "name")), "sell.inventory");
	rate = json_array_get(json_object_get(res, "rates"), 0);
	assert_int_equal(json_integer_value(json_object_get(rate, "timeWindow")), 86400);
	return rate;
}

static long long remaining_of(const char *path, const char *bearer)
{
	json_t *j = NULL;
	long long left;

	assert_int_equal(call("GET", path, bearer, NULL, &j), 200);
	left = json_integer_value(json_object_get(inventory_rate(j), "remaining"));
	json_decref(j);
	return left;
}

#define APP  "/developer/analytics/v1_beta/rate_limit/"
#define USER "/developer/analytics/v1_beta/user_rate_limit/"

static void test_rate_limits_follow_the_calls(void **state)
{
	char *app = app_token();
	json_t *j = NULL, *rate;
	const char *reset;
	char now_iso[40], day_iso[40], offers[128];
	long long now = timeutil_wall_ms();

	(void)state;
	assert_int_equal(call("POST", "/sim/reset", NULL, "", NULL), 200);
	assert_int_equal(call("GET", APP, app, NULL, &j), 200);
	rate = inventory_rate(j);
	assert_int_equal(json_integer_value(json_object_get(rate, "limit")), QUOTA);
	assert_int_equal(json_integer_value(json_object_get(rate, "remaining")), QUOTA);
	/* The window resets within a day from now, in eBay's format. */
	reset = json_string_value(json_object_get(rate, "reset"));
	assert_non_null(reset);
	assert_int_equal(strlen(reset), 24);
	timeutil_iso(now - 2000, now_iso, sizeof(now_iso));
	timeutil_iso(now + 24 * 3600 * 1000LL + 2000, day_iso, sizeof(day_iso));
	assert_true(strcmp(reset, now_iso) > 0 && strcmp(reset, day_iso) < 0);
	json_decref(j);

	/* Seven Inventory API calls: seven fewer; the analytics calls cost nothing. */
	assert_int_equal(call("GET", "/sell/inventory/v1/inventory_item?limit=5", "dev", NULL, &j),
			 200);
	snprintf(offers, sizeof(offers), "/sell/inventory/v1/offer?sku=%s",
		 json_string_value(json_object_get(
		     json_array_get(json_object_get(j, "inventoryItems"), 0), "sku")));
	json_decref(j);
	for (int i = 0; i < 6; i++)
		assert_int_equal(call("GET", offers, "dev", NULL, NULL), 200);
	assert_int_equal(remaining_of(APP, app), QUOTA - 7);
	assert_int_equal(remaining_of(APP, app), QUOTA - 7);
	assert_int_equal(remaining_of(USER, "dev"), QUOTA - 7);

	/* Filters: either matches, case aside; anything else is 204. */
	assert_int_equal(remaining_of(APP "?api_context=SELL&api_name=inventory", app), QUOTA - 7);
	assert_int_equal(call("GET", APP "?api_name=browse", app, NULL, NULL), 204);
	assert_int_equal(call("GET", USER "?api_context=buy", "dev", NULL, NULL), 204);

	/* The wrong kind of token, none, an unknown one. */
	assert_int_equal(call("GET", APP, "dev", NULL, &j), 403);
	assert_int_equal(json_integer_value(json_object_get(
			     json_array_get(json_object_get(j, "errors"), 0), "errorId")),
			 1100);
	json_decref(j);
	assert_int_equal(call("GET", USER, app, NULL, NULL), 403);
	assert_int_equal(call("GET", APP, NULL, NULL, NULL), 400);
	assert_int_equal(call("GET", APP, "nobody", NULL, NULL), 401);
	assert_int_equal(call("POST", APP, app, "{}", NULL), 405);
	/* An application token does not call the Inventory API. */
	assert_int_equal(call("GET", offers, app, NULL, NULL), 401);

	/* Spend the rest: 0 left and a 429; /sim/reset gives the day back. */
	for (int i = 0; i < QUOTA - 7; i++)
		assert_int_equal(call("GET", offers, "dev", NULL, NULL), 200);
	assert_int_equal(call("GET", offers, "dev", NULL, NULL), 429);
	assert_int_equal(remaining_of(APP, app), 0);
	assert_int_equal(call("GET", "/sim/stats", NULL, NULL, &j), 200);
	assert_int_equal(json_integer_value(json_object_get(
			     json_object_get(json_object_get(j, "calls"), "getRateLimits"), "200")),
			 5);
	json_decref(j);
	assert_int_equal(call("POST", "/sim/reset", NULL, "", NULL), 200);
	assert_int_equal(remaining_of(APP, app), QUOTA);

	/* The limit follows /sim/config; without a quota, eBay's default. */
	assert_int_equal(call("POST", "/sim/config", NULL, "{\"daily_quota\": 25}", NULL), 200);
	assert_int_equal(call("GET", APP, app, NULL, &j), 200);
	assert_int_equal(json_integer_value(json_object_get(inventory_rate(j), "limit")), 25);
	json_decref(j);
	assert_int_equal(call("POST", "/sim/config", NULL, "{\"daily_quota\": 0}", NULL), 200);
	assert_int_equal(call("GET", APP, app, NULL, &j), 200);
	assert_int_equal(json_integer_value(json_object_get(inventory_rate(j), "limit")), 2000000);
	json_decref(j);
	assert_int_equal(call("POST", "/sim/config", NULL, "{\"daily_quota\": 40}", NULL), 200);
	free(app);
}

static void test_clean_exit(void **state)
{
	int status = testutil_stop(&sim, SIGTERM);

	(void)state;
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rate_limits_follow_the_calls),
	    cmocka_unit_test(test_clean_exit),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
