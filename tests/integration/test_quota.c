/*
 * eBay's daily quota end to end, on SQLite and PostgreSQL, against the
 * simulator: a sync leaves in the ledger exactly the calls the simulator
 * counted (/sim/stats), with some of them retried (injected 500s) and a
 * refresh's Feed API calls; the Developer Analytics client reads what is
 * left from the simulator (getRateLimits with an application token,
 * getUserRateLimits with the user's), equal to --daily-quota minus the
 * calls; struct quota uses it, and falls back to the configured quota
 * minus the ledger, saying why, where eBay's API is not there; and
 * `ebaysync user set-share` stores a user's weight.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "analytics.h"
#include "ledger.h"
#include "oauth.h"
#include "quota.h"
#include "store.h"
#include "storepool.h"
#include "testutil.h"
#include "timeutil.h"
#include "xalloc.h"

#define TOKEN "quota-token"
#define QUOTA 50000

static struct testutil_proc sim;

static int run_cli(char *const argv[])
{
	char *out = NULL;
	int code = testutil_run(argv, NULL, &out);

	if (code != 0)
		fprintf(stderr, "%s %s exited %d:\n%s\n", argv[1], argv[2], code, out ? out : "");
	free(out);
	return code;
}

static int run_sync(const char *db, const char *kind)
{
	char *argv[] = {TESTUTIL_APP_BIN,
			"sync",
			(char *)kind,
			"--db",
			(char *)db,
			"--user",
			"alice",
			"--env",
			"simulator",
			"--api-base",
			sim.base_url,
			"--token",
			TOKEN,
			"--quiet",
			"--report-wait",
			"20",
			NULL};

	return run_cli(argv);
}

static json_t *sim_call(const char *method, const char *path, const char *body)
{
	char *url = xasprintf("%s%s", sim.base_url, path);
	const char *h[] = {"Content-Type: application/json", NULL};
	struct testutil_http r;
	json_t *j;

	assert_int_equal(testutil_http(method, url, body, h, &r), 0);
	if (r.status != 200)
		fail_msg("%s %s: %ld %s", method, path, r.status, r.body);
	j = json_loads(r.body, 0, NULL);
	assert_non_null(j);
	testutil_http_release(&r);
	free(url);
	return j;
}

/* The simulator's count of calls to the endpoints named, every status. */
static long long sim_calls(json_t *stats, const char *const *endpoints)
{
	long long sum = 0;

	for (size_t i = 0; endpoints[i]; i++) {
		const char *status;
		json_t *v;

		json_object_foreach(json_object_get(json_object_get(stats, "calls"), endpoints[i]),
				    status, v) sum += json_integer_value(v);
	}
	return sum;
}

static const char *const inventory_eps[] = {"getInventoryItems",
					    "getInventoryItem",
					    "bulkGetInventoryItem",
					    "getOffers",
					    "getOffer",
					    "inventoryOther",
					    NULL};
static const char *const feed_eps[] = {"createInventoryTask", "getInventoryTask", "getResultFile",
				       NULL};

/* The ledger's calls of api for user (NULL: every user) today. */
static long long ledger_calls(const char *db, const char *api, const char *user)
{
	struct quota_count *rows = NULL;
	struct store *s = NULL;
	char day[11];
	long long sum = 0;
	size_t n = 0;

	assert_int_equal(store_open(db, &s, NULL), ERR_OK);
	ledger_day(timeutil_wall_ms(), day);
	assert_int_equal(store_quota_day(s, day, &rows, &n), ERR_OK);
	for (size_t i = 0; i < n; i++)
		if (!strcmp(rows[i].api, api) && (!user || !strcmp(rows[i].user_id, user)))
			sum += rows[i].calls;
	free(rows);
	store_close(s);
	return sum;
}

static enum error fixed_token(void *ctx, int refresh, char **token, struct buf *why)
{
	(void)refresh;
	(void)why;
	*token = xstrdup(ctx);
	return ERR_OK;
}

static void sim_oauth_config(struct oauth_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->client_id = xstrdup("ebaysync-sim-client");
	cfg->client_secret = xstrdup("ebaysync-sim-secret");
	cfg->api_base = xstrdup(sim.base_url);
	cfg->auth_base = xstrdup(sim.base_url);
	cfg->scope = xstrdup(OAUTH_SCOPE_READONLY);
}

static void test_ledger_matches_the_simulator(void **state)
{
	char *urls[2];
	const char *names[2];
	int n = testutil_backends(urls, names);

	(void)state;
	for (int b = 0; b < n; b++) {
		json_t *stats;
		long long inv, feed;

		/* A sync with retried calls (500s), then a refresh (the Feed API). */
		json_decref(sim_call("POST", "/sim/reset", "{}"));
		json_decref(sim_call("POST", "/sim/config", "{\"fail_500\": 0.05}"));
		assert_int_equal(run_sync(urls[b], "all"), 0);
		json_decref(sim_call("POST", "/sim/config", "{\"fail_500\": 0}"));
		assert_int_equal(run_sync(urls[b], "refresh"), 0);
		stats = sim_call("GET", "/sim/stats", NULL);
		inv = sim_calls(stats, inventory_eps);
		feed = sim_calls(stats, feed_eps);
		if (json_integer_value(json_object_get(json_object_get(stats, "faults"), "500")) ==
		    0)
			fail_msg("%s: no call was retried: the test proves less than it says",
				 names[b]);
		assert_true(inv > 300 && feed >= 3);
		/* Every call the simulator saw is in the ledger, under alice. */
		if (ledger_calls(urls[b], LEDGER_API_INVENTORY, "alice") != inv)
			fail_msg("%s: ledger sell.inventory %lld, simulator %lld", names[b],
				 ledger_calls(urls[b], LEDGER_API_INVENTORY, "alice"), inv);
		assert_int_equal(ledger_calls(urls[b], LEDGER_API_FEED, "alice"), feed);
		assert_int_equal(ledger_calls(urls[b], LEDGER_API_INVENTORY, NULL), inv);
		json_decref(stats);
	}
	testutil_backends_release(urls, n);
}

static void test_analytics_reads_the_simulator(void **state)
{
	struct oauth_config app;
	struct analytics *user_a, *app_a, *missing;
	struct analytics_rate rate;
	struct buf why = BUF_INIT;
	char *missing_base = xasprintf("%s/nothing", sim.base_url);
	json_t *stats;
	long long taken;

	(void)state;
	json_decref(sim_call("POST", "/sim/reset", "{}"));
	json_decref(sim_call("POST", "/sim/config", "{\"fail_500\": 0}"));
	{
		char *tmp = testutil_tmpdir(), *db = xasprintf("%s/a.db", tmp);
		assert_int_equal(run_sync(db, "inventory"), 0);
		testutil_rmrf(tmp);
		free(db);
		free(tmp);
	}
	stats = sim_call("GET", "/sim/stats", NULL);
	taken = sim_calls(stats, inventory_eps);
	json_decref(stats);
	assert_true(taken > 1);

	/* getUserRateLimits with the user's token. */
	user_a = analytics_new(&(struct analytics_config){
	    .api_base = sim.base_url, .user_scope = 1, .token = fixed_token, .token_ctx = TOKEN});
	assert_int_equal(analytics_read(user_a, &rate, &why), ERR_OK);
	assert_int_equal(rate.limit, QUOTA);
	assert_int_equal(rate.remaining, QUOTA - taken);
	assert_string_equal(rate.resource, "sell.inventory");
	assert_true(rate.reset_ms > timeutil_wall_ms() &&
		    rate.reset_ms <= timeutil_wall_ms() + 24 * 3600 * 1000LL);
	/* getRateLimits with an application token minted by client credentials. */
	sim_oauth_config(&app);
	app_a = analytics_new(&(struct analytics_config){
	    .api_base = sim.base_url, .token = analytics_app_token, .token_ctx = &app});
	assert_int_equal(analytics_read(app_a, &rate, &why), ERR_OK);
	assert_int_equal(rate.remaining, QUOTA - taken);
	/* The user's token where the application's is needed: 403, said so. */
	analytics_free(user_a);
	user_a = analytics_new(&(struct analytics_config){
	    .api_base = sim.base_url, .token = fixed_token, .token_ctx = TOKEN});
	assert_int_equal(analytics_read(user_a, &rate, &why), ERR_AUTH);
	assert_non_null(strstr(buf_str(&why), "an application token"));
	/* Nothing there: 404. */
	buf_reset(&why);
	missing = analytics_new(&(struct analytics_config){
	    .api_base = missing_base, .token = fixed_token, .token_ctx = TOKEN});
	assert_int_equal(analytics_read(missing, &rate, &why), ERR_NOTFOUND);
	assert_non_null(strstr(buf_str(&why), "HTTP 404"));

	/* struct quota: eBay's figures where it answers, else the ledger's. */
	{
		char *tmp = testutil_tmpdir(), *db = xasprintf("%s/q.db", tmp);
		struct storepool *pool;
		struct quota *q;
		struct quota_status st;
		struct store *s;

		assert_int_equal(store_open(db, &s, NULL), ERR_OK);
		store_close(s);
		assert_int_equal(storepool_new(db, 2, &pool, &why), ERR_OK);
		q = quota_new(pool, &(struct quota_config){.daily_quota = 700, .analytics = app_a});
		assert_int_equal(quota_status(q, "alice", timeutil_wall_ms(), &st, &why), ERR_OK);
		assert_int_equal(st.from_ebay, 1);
		assert_int_equal(st.limit, QUOTA);
		assert_int_equal(st.remaining, QUOTA - taken);
		quota_free(q);
		q = quota_new(pool,
			      &(struct quota_config){.daily_quota = 700, .analytics = missing});
		assert_int_equal(quota_status(q, "alice", timeutil_wall_ms(), &st, &why), ERR_OK);
		assert_int_equal(st.from_ebay, 0);
		assert_int_equal(st.limit, 700);
		assert_non_null(strstr(st.source_why, "HTTP 404"));
		quota_free(q);
		storepool_free(pool);
		testutil_rmrf(tmp);
		free(db);
		free(tmp);
	}
	analytics_free(user_a);
	user_a = analytics_new(&(struct analytics_config){
	    .api_base = sim.base_url, .user_scope = 1, .token = fixed_token, .token_ctx = TOKEN});
	assert_int_equal(analytics_read(user_a, &rate, &why), ERR_OK);
	assert_int_equal(rate.limit, QUOTA);
	/* Cached for a minute: a new limit (which restarts the simulator's
	 * quota window) is not seen until the cache is dropped. */
	json_decref(sim_call("POST", "/sim/config", "{\"daily_quota\": 1000}"));
	assert_int_equal(analytics_read(user_a, &rate, &why), ERR_OK);
	assert_int_equal(rate.limit, QUOTA);
	analytics_invalidate(user_a);
	assert_int_equal(analytics_read(user_a, &rate, &why), ERR_OK);
	assert_int_equal(rate.limit, 1000);

	json_decref(sim_call("POST", "/sim/config", "{\"daily_quota\": 50000}"));
	analytics_free(user_a);
	analytics_free(app_a);
	analytics_free(missing);
	oauth_config_release(&app);
	free(missing_base);
	buf_release(&why);
}

static void test_set_share(void **state)
{
	char *tmp = testutil_tmpdir(), *db = xasprintf("%s/s.db", tmp),
	     *pw = xasprintf("%s/pw", tmp);
	char *add[] = {TESTUTIL_APP_BIN, "user", "add", "bob", "--password-file", pw,
		       "--db",		 db,	 NULL};
	char *set[] = {TESTUTIL_APP_BIN, "user", "set-share", "bob", "2.5", "--db", db, NULL};
	char *bad[] = {TESTUTIL_APP_BIN, "user", "set-share", "bob", "lots", "--db", db, NULL};
	char *nobody[] = {TESTUTIL_APP_BIN, "user", "set-share", "eve", "2", "--db", db, NULL};
	struct store *s;
	char **users;
	double *w;
	size_t n;

	(void)state;
	{
		FILE *f = fopen(pw, "w");
		fputs("correct horse battery staple\n", f);
		fclose(f);
	}
	assert_int_equal(run_cli(add), 0);
	assert_int_equal(run_cli(set), 0);
	assert_int_equal(testutil_run(bad, NULL, NULL), 2);
	assert_int_equal(testutil_run(nobody, NULL, NULL), 1);
	assert_int_equal(store_open(db, &s, NULL), ERR_OK);
	assert_int_equal(store_quota_shares(s, &users, &w, &n), ERR_OK);
	assert_int_equal(n, 1);
	assert_string_equal(users[0], "bob");
	assert_true(w[0] == 2.5);
	free(users[0]);
	free(users);
	free(w);
	store_close(s);
	testutil_rmrf(tmp);
	free(pw);
	free(db);
	free(tmp);
}

static int setup(void **state)
{
	char *argv[] = {TESTUTIL_SIM_BIN, "--listen", "127.0.0.1:0", "--seed", "9",
			"--skus",	  "450",      "--token",     TOKEN,    "--daily-quota",
			"50000",	  NULL};

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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ledger_matches_the_simulator),
	    cmocka_unit_test(test_analytics_reads_the_simulator),
	    cmocka_unit_test(test_set_share),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
