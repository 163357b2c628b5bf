/*
 * PostgreSQL goes away in the middle of an offers sync: the real
 * `ebaysync sync offers` against the real `ebaysync-sim` (2,000 SKUs, with
 * latency so the run lasts several seconds), and the server killed
 * (immediate shutdown, as a crash) once rows are being committed.
 *
 * An inventory sync runs first, to the end; the offers sync then updates
 * the inventory rows' offer fields in the same batches as the offers.
 *
 *   - Back after 2 s, within the store's reconnect budget: the run ends
 *     done, and the database holds every SKU and every offer of the
 *     simulator's catalog exactly once, equal to it.
 *   - Down for longer than the budget (EBAYSYNC_PG_RECONNECT_S=2): the run
 *     fails with a message naming the server, and every row committed
 *     before the outage is intact: no offer twice, each equal to the
 *     catalog's, and no SKU with only part of its batch.
 *
 * Runs when ES_TEST_PG_URL says PostgreSQL is available, on a throwaway
 * cluster of its own (scripts/pg-temp.sh); skipped otherwise, unless
 * ES_TEST_REQUIRE_PG=1.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <libpq-fe.h>

#include "store.h"
#include "testutil.h"
#include "timeutil.h"
#include "xalloc.h"

#define TOKEN "pg-restart-token"
#define SKUS  "2000"

static int have_pg(void)
{
	const char *url = getenv("ES_TEST_PG_URL"), *dir = getenv("ES_TEST_PG_DIR");
	const char *req = getenv("ES_TEST_REQUIRE_PG");

	if (url && *url && dir && *dir)
		return 1;
	if (req && !strcmp(req, "1"))
		fail_msg("ES_TEST_REQUIRE_PG=1 but ES_TEST_PG_URL or ES_TEST_PG_DIR is not set");
	return 0;
}

/* ---- the simulator and the sync ------------------------------------------------ */

static void start_sim(struct testutil_proc *sim)
{
	char *argv[] = {
	    TESTUTIL_SIM_BIN, "--listen", "127.0.0.1:0",  "--seed", "11", "--skus", SKUS,
	    "--token",	      TOKEN,	  "--latency-ms", "25",	    NULL};

	assert_int_equal(testutil_spawn(sim, argv, NULL), 0);
}

/* Starts `ebaysync sync KIND` with its output in log; returns its pid. */
static pid_t start_sync(const char *kind, const char *db, const char *api, const char *log,
			const char *env_extra)
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
			(char *)api,
			"--token",
			TOKEN,
			"--concurrency",
			"8",
			"--max-rps",
			"5000",
			"--quiet",
			NULL};
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		dup2(fd, 1);
		dup2(fd, 2);
		close(fd);
		if (env_extra)
			putenv((char *)env_extra);
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

/* The exit code of pid, waiting up to timeout_ms (then killing it: -1). */
static int wait_exit(pid_t pid, long long timeout_ms)
{
	long long deadline = timeutil_mono_ms() + timeout_ms;
	int status;

	while (timeutil_mono_ms() < deadline) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		timeutil_sleep_ms(50);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return -1;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	struct buf b = BUF_INIT;
	char chunk[4096];
	size_t n;

	if (!f)
		return xstrdup("");
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_add(&b, chunk, n);
	fclose(f);
	return b.data ? buf_detach(&b, NULL) : xstrdup("");
}

/* The inventory sync, to the end, before the offers sync that is hit. */
static void sync_inventory(const char *db, const char *api, const char *log)
{
	int code = wait_exit(start_sync("inventory", db, api, log, NULL), 120000);

	if (code != 0) {
		char *out = slurp(log);

		fail_msg("sync inventory exited %d:\n%s", code, out);
	}
}

/* The number of offers committed so far, or -1 when the server does not
 * answer. */
static long long committed_offers(const char *db)
{
	PGconn *c = PQconnectdb(db);
	long long n = -1;

	if (PQstatus(c) == CONNECTION_OK) {
		PGresult *r = PQexec(c, "SELECT count(*) FROM offers");

		if (PQresultStatus(r) == PGRES_TUPLES_OK)
			n = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
		PQclear(r);
	}
	PQfinish(c);
	return n;
}

/* Waits until at least n offers are committed (the run is midway). */
static void wait_for_offers(const char *db, long long n)
{
	long long deadline = timeutil_mono_ms() + 60000, have = -1;

	while (timeutil_mono_ms() < deadline) {
		have = committed_offers(db);
		if (have >= n)
			return;
		timeutil_sleep_ms(30);
	}
	fail_msg("only %lld offers were committed after 60 s", have);
}

/* ---- the catalog and the comparison -------------------------------------------- */

/* The simulator's catalog as {sku: {"item":..., "offers":[...]}}. */
static json_t *sim_catalog(const struct testutil_proc *sim)
{
	char *url = xasprintf("%s/sim/catalog", sim->base_url);
	struct testutil_http r;
	json_t *cat = json_object();
	char *line, *save = NULL;

	assert_int_equal(testutil_http("GET", url, NULL, NULL, &r), 0);
	assert_int_equal(r.status, 200);
	for (line = strtok_r(r.body, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		json_t *o = json_loads(line, 0, NULL);

		assert_non_null(o);
		json_object_set(cat, json_string_value(json_object_get(o, "sku")), o);
		json_decref(o);
	}
	testutil_http_release(&r);
	free(url);
	return cat;
}

/* The offer whose price and listing the inventory row shows: the first
 * PUBLISHED one, else the first. */
static json_t *lead_offer(json_t *offers)
{
	json_t *o;
	size_t i;

	json_array_foreach(offers, i, o)
	{
		const char *st = json_string_value(json_object_get(o, "status"));

		if (st && !strcmp(st, "PUBLISHED"))
			return o;
	}
	return json_array_get(offers, 0);
}

static const char *expected_status(json_t *offers)
{
	json_t *o;
	size_t i;

	json_array_foreach(offers, i, o)
	{
		const char *st = json_string_value(json_object_get(o, "status"));

		if (st && (!strcmp(st, "PUBLISHED") || !strcmp(st, "PUBLISHED_IN_PROGRESS")))
			return "ACTIVE";
	}
	return json_array_size(offers) ? "ENDED" : "UNKNOWN";
}

/* {offerId: [sku, offer]} of the whole catalog. */
static json_t *catalog_offers(json_t *cat)
{
	json_t *m = json_object(), *entry, *o;
	const char *sku;
	size_t i;

	json_object_foreach(cat, sku, entry)
	{
		json_array_foreach(json_object_get(entry, "offers"), i, o)
		    json_object_set_new(m, json_string_value(json_object_get(o, "offerId")),
					json_pack("[s, O]", sku, o));
	}
	return m;
}

static const char *str_at(json_t *o, const char *a, const char *b)
{
	json_t *v = json_object_get(o, a);

	return json_string_value(b ? json_object_get(v, b) : v);
}

static void same_str(const char *what, const char *id, const char *want, const char *got)
{
	if ((want == NULL) != (got == NULL) || (want && strcmp(want, got)))
		fail_msg("%s of offer '%s': want '%s', got '%s'", what, id, want ? want : "(null)",
			 got ? got : "(null)");
}

/*
 * Every offer row and inventory row of alice is the catalog's, and no key
 * appears twice. A SKU's offers and its inventory row's offer fields travel
 * in one batch: when any offer of a SKU is stored, all of them are, and
 * its inventory row shows the lead offer's price, listing and status.
 * Returns how many offers are stored.
 */
static size_t check_rows_intact(const char *db, json_t *cat)
{
	struct store_query q = {.user_id = "alice"};
	json_t *offers = NULL, *items = NULL, *want = catalog_offers(cat), *row, *seen;
	json_t *stored_skus = json_object(), *seen_offers;
	struct store *s = NULL;
	long long total = 0;
	size_t i, n;

	assert_int_equal(store_open(db, &s, NULL), ERR_OK);
	assert_int_equal(store_list_offers(s, &q, &offers, &total), ERR_OK);
	assert_int_equal(store_list_items(s, &q, &items, NULL), ERR_OK);
	seen = json_object();
	json_array_foreach(offers, i, row)
	{
		const char *id = json_string_value(json_object_get(row, "offer_id"));
		json_t *pair = json_object_get(want, id), *o;

		if (!pair)
			fail_msg("offer '%s' is stored but not in the catalog", id);
		if (json_object_get(seen, id))
			fail_msg("offer '%s' is stored twice", id);
		json_object_set_new(seen, id, json_true());
		json_object_set_new(stored_skus, json_string_value(json_array_get(pair, 0)),
				    json_true());
		o = json_array_get(pair, 1);
		same_str("sku", id, json_string_value(json_array_get(pair, 0)),
			 json_string_value(json_object_get(row, "sku_code")));
		same_str("status", id, str_at(o, "status", NULL),
			 json_string_value(json_object_get(row, "status")));
		same_str(
		    "price_value", id,
		    json_string_value(json_object_get(
			json_object_get(json_object_get(o, "pricingSummary"), "price"), "value")),
		    json_string_value(json_object_get(row, "price_value")));
		same_str("listing_id", id, str_at(o, "listing", "listingId"),
			 json_string_value(json_object_get(row, "listing_id")));
		if (!json_equal(o, json_object_get(row, "raw_payload")))
			fail_msg("raw_payload of offer '%s' differs from the catalog's", id);
	}
	seen_offers = seen;
	seen = json_object();
	json_array_foreach(items, i, row)
	{
		const char *sku = json_string_value(json_object_get(row, "sku_code"));
		json_t *entry = json_object_get(cat, sku);

		if (!entry)
			fail_msg("SKU '%s' is stored but not in the catalog", sku);
		if (json_object_get(seen, sku))
			fail_msg("SKU '%s' is stored twice", sku);
		json_object_set_new(seen, sku, json_true());
		if (!json_equal(json_object_get(entry, "item"),
				json_object_get(row, "raw_payload")))
			fail_msg("raw_payload of SKU '%s' differs from the catalog's", sku);
		if (json_object_get(stored_skus, sku)) {
			json_t *all = json_object_get(entry, "offers"), *lead = lead_offer(all), *o;
			const char *price;
			size_t k;

			json_array_foreach(all, k, o)
			{
				const char *id = json_string_value(json_object_get(o, "offerId"));

				if (!json_object_get(seen_offers, id))
					fail_msg("offer '%s' of SKU '%s' is missing, but other "
						 "offers of the SKU are stored: half a batch",
						 id, sku);
			}
			/* Its Buy It Now price, else (an auction without one) its
			 * start price, as eBay's own report shows it. */
			price = json_string_value(json_object_get(
			    json_object_get(json_object_get(lead, "pricingSummary"), "price"),
			    "value"));
			if (!price)
				price = json_string_value(json_object_get(
				    json_object_get(json_object_get(lead, "pricingSummary"),
						    "auctionStartPrice"),
				    "value"));
			same_str("inventory price_value", sku, price,
				 json_string_value(json_object_get(row, "price_value")));
			same_str("inventory ebay_listing_id", sku,
				 str_at(lead, "listing", "listingId"),
				 json_string_value(json_object_get(row, "ebay_listing_id")));
			same_str("inventory ebay_status", sku, expected_status(all),
				 json_string_value(json_object_get(row, "ebay_status")));
		}
	}
	assert_int_equal((long long)json_array_size(offers), total);
	n = json_array_size(offers);
	json_decref(seen);
	json_decref(seen_offers);
	json_decref(stored_skus);
	json_decref(want);
	json_decref(offers);
	json_decref(items);
	store_close(s);
	return n;
}

static struct run_row newest_run(const char *db)
{
	struct store *s = NULL;
	struct run_row *runs = NULL, r;
	size_t n = 0;

	assert_int_equal(store_open(db, &s, NULL), ERR_OK);
	assert_int_equal(store_run_list(s, "alice", 1, 0, &runs, &n, NULL), ERR_OK);
	assert_int_equal(n, 1);
	r = runs[0];
	free(runs);
	store_close(s);
	return r;
}

/* ---- the tests --------------------------------------------------------------------- */

/* Killed once 300 offers are in, back 2 s later: the run goes on. */
static void test_restart_midway_run_completes(void **state)
{
	struct testutil_proc sim;
	char *db, *dir, *log, *out;
	json_t *cat, *want;
	struct run_row run;
	long long t_kill;
	size_t stored;
	pid_t pid;
	int code;

	(void)state;
	if (!have_pg()) {
		skip();
		return;
	}
	start_sim(&sim);
	db = testutil_pg_fresh_db();
	assert_non_null(db);
	dir = testutil_tmpdir();
	log = xasprintf("%s/sync.log", dir);

	sync_inventory(db, sim.base_url, log);
	pid = start_sync("offers", db, sim.base_url, log, NULL);
	wait_for_offers(db, 300);
	assert_int_equal(testutil_pg_ctl("kill"), 0);
	t_kill = timeutil_mono_ms();
	assert_true(committed_offers(db) < 0); /* really down */
	timeutil_sleep_ms(2000);
	assert_int_equal(testutil_pg_ctl("restart"), 0);
	fprintf(stderr, "server down for %lld ms\n", timeutil_mono_ms() - t_kill);
	code = wait_exit(pid, 300000);
	out = slurp(log);
	if (code != 0)
		fail_msg("sync exited %d after the restart; output:\n%s", code, out);

	run = newest_run(db);
	assert_string_equal(run.status, "done");
	assert_null(run.error);
	cat = sim_catalog(&sim);
	want = catalog_offers(cat);
	stored = check_rows_intact(db, cat);
	/* Every offer of the catalog, each once; every SKU, each once. */
	assert_int_equal(stored, json_object_size(want));
	{
		struct store *s = NULL;
		struct store_query q = {.user_id = "alice", .limit = 1};
		json_t *rows = NULL;
		long long total = 0;
		char **fails = NULL;
		size_t n_fails = 0;

		assert_int_equal(store_open(db, &s, NULL), ERR_OK);
		assert_int_equal(store_list_items(s, &q, &rows, &total), ERR_OK);
		assert_int_equal(total, (long long)json_object_size(cat));
		assert_int_equal(store_failure_list(s, "alice", "offers", &fails, &n_fails),
				 ERR_OK);
		assert_int_equal(n_fails, 0);
		free(fails);
		json_decref(rows);
		store_close(s);
	}
	fprintf(stderr, "run done: %zu offers of %zu SKUs, each once\n", stored,
		json_object_size(cat));
	run_row_release(&run);
	json_decref(want);
	json_decref(cat);
	free(out);
	free(log);
	testutil_rmrf(dir);
	free(dir);
	free(db);
	testutil_stop(&sim, 0);
}

/* Down for longer than a 2 s reconnect budget: the run fails clearly, and
 * what it committed before is intact. */
static void test_down_too_long_fails_clearly(void **state)
{
	struct testutil_proc sim;
	char *db, *dir, *log, *out;
	json_t *cat;
	struct run_row run;
	size_t stored;
	pid_t pid;
	int code;

	(void)state;
	if (!have_pg()) {
		skip();
		return;
	}
	start_sim(&sim);
	db = testutil_pg_fresh_db();
	assert_non_null(db);
	dir = testutil_tmpdir();
	log = xasprintf("%s/sync.log", dir);

	sync_inventory(db, sim.base_url, log);
	pid = start_sync("offers", db, sim.base_url, log, "EBAYSYNC_PG_RECONNECT_S=2");
	wait_for_offers(db, 300);
	assert_int_equal(testutil_pg_ctl("kill"), 0);
	/* The sync gives up after its 2 s (per connection) and exits. */
	code = wait_exit(pid, 120000);
	assert_int_equal(testutil_pg_ctl("restart"), 0);
	out = slurp(log);
	if (code != 1 || !strstr(out, "cannot reach PostgreSQL at 127.0.0.1:") ||
	    !strstr(out, " after 2 s: "))
		fail_msg("want exit 1 and 'cannot reach PostgreSQL at 127.0.0.1:... after 2 s: "
			 "...', got exit %d and:\n%s",
			 code, out);
	fprintf(stderr, "sync said: %s", strstr(out, "cannot reach PostgreSQL"));

	cat = sim_catalog(&sim);
	stored = check_rows_intact(db, cat);
	assert_true(stored >= 300);
	run = newest_run(db);
	/* Its last update could not be written: failed, or still running
	 * until runs_interrupt_stale finds it. */
	assert_true(!strcmp(run.status, "failed") || !strcmp(run.status, "running"));
	fprintf(stderr, "%zu offers committed before the outage are intact; run is %s\n", stored,
		run.status);
	run_row_release(&run);
	json_decref(cat);
	free(out);
	free(log);
	testutil_rmrf(dir);
	free(dir);
	free(db);
	testutil_stop(&sim, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_restart_midway_run_completes),
	    cmocka_unit_test(test_down_too_long_fails_clearly),
	};

	return cmocka_run_group_tests(tests, testutil_pg_own_start, testutil_pg_own_stop);
}
