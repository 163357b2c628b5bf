/*
 * The Feed API client (src/feed.c) and report reader (src/report.c) against
 * the real simulator over HTTP: a task moves through its statuses, the
 * downloaded report holds exactly the simulator's active listings (compared
 * field by field with GET /sim/catalog), a multi-variation listing comes out
 * as its variations, and the bad days are refused with a reason: the daily
 * cap (409 errorId 160025), a FAILED or COMPLETED_WITH_ERROR task, a
 * download cut short, a damaged archive, a task slower than the deadline,
 * and a refused token (one refresh, then it goes through).
 */
#include <curl/curl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "buf.h"
#include "feed.h"
#include "report.h"
#include "testutil.h"
#include "xalloc.h"

static struct testutil_proc sim;
static char *dir;

/* ---- the simulator's knobs ---- */

static void sim_post(const char *path, const char *body)
{
	const char *headers[] = {"Content-Type: application/json", NULL};
	char *url = xasprintf("%s%s", sim.base_url, path);
	struct testutil_http res;

	assert_int_equal(testutil_http("POST", url, body, headers, &res), 0);
	if (res.status != 200)
		fail_msg("POST %s %s: %ld %s", path, body, res.status, res.body);
	testutil_http_release(&res);
	free(url);
}

/* Back to a clean simulator: seed catalog, no tasks, quick tasks. */
static void sim_clean(void)
{
	sim_post("/sim/config", "{\"catalog\":\"\",\"feed_delay_ms\":300,\"feed_daily_cap\":25,"
				"\"feed_fail\":0,\"feed_partial\":0,\"feed_cut\":0,"
				"\"feed_corrupt\":0}");
	sim_post("/sim/reset", "{}");
}

/* ---- the client ---- */

struct tokens {
	int asked, refreshed;
	const char *first; /* what the source gives before any refresh */
};

static enum error token_source(void *ctx, int refresh, char **token, struct buf *why)
{
	struct tokens *t = ctx;

	t->asked++;
	if (refresh)
		t->refreshed++;
	*token = xstrdup(t->refreshed || !t->first ? "T" : t->first);
	return ERR_OK;
}

static struct feed_client *client(struct tokens *t, long long deadline_ms)
{
	struct feed_config cfg = {
	    .api_base = sim.base_url,
	    .poll_first_ms = 50,
	    .poll_max_ms = 200,
	    .deadline_ms = deadline_ms ? deadline_ms : 30000,
	    .max_attempts = 3,
	    .backoff_base_ms = 20,
	    .backoff_max_ms = 100,
	    .tmp_dir = dir,
	};

	memset(t, 0, sizeof(*t));
	return feed_client_new(&cfg, NULL, token_source, t, NULL, NULL);
}

/* ---- rows as comparable lines ---- */

struct lines {
	char **v;
	size_t n, cap;
};

static void lines_add(struct lines *l, char *line)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 256;
		l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
	}
	l->v[l->n++] = line;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void lines_free(struct lines *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static enum error add_row(void *ctx, const struct report_row *r, struct buf *why)
{
	lines_add(ctx, xasprintf("%s\t%s\t%s\t%s\t%lld\t%s", r->sku, r->item_id, r->price,
				 r->currency, r->quantity, r->parent_sku ? r->parent_sku : "-"));
	return ERR_OK;
}

static const char *str_at(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/*
 * What the report must hold, from GET /sim/catalog: one line per offer that
 * is PUBLISHED with listing ACTIVE; an auction at its Buy It Now price when
 * set, else its start price. parent is "-" (no variation listings here).
 * *auctions counts the auction lines at their start price.
 */
static void expected_rows(struct lines *out, int *auctions)
{
	char *url = xasprintf("%s/sim/catalog", sim.base_url);
	struct testutil_http res;
	char *line, *save = NULL;

	*auctions = 0;
	assert_int_equal(testutil_http("GET", url, NULL, NULL, &res), 0);
	assert_int_equal(res.status, 200);
	for (line = strtok_r(res.body, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		json_t *rec = json_loads(line, 0, NULL), *o;
		size_t i;

		assert_non_null(rec);
		json_array_foreach(json_object_get(rec, "offers"), i, o)
		{
			const json_t *listing = json_object_get(o, "listing");
			const json_t *pricing = json_object_get(o, "pricingSummary");
			const json_t *amount = json_object_get(pricing, "price");
			const char *st = str_at(o, "status"),
				   *lst = str_at(listing, "listingStatus");

			if (!st || strcmp(st, "PUBLISHED") || !lst || strcmp(lst, "ACTIVE"))
				continue;
			if (!strcmp(str_at(o, "format"), "AUCTION") && !amount) {
				amount = json_object_get(pricing, "auctionStartPrice");
				++*auctions;
			}
			lines_add(out,
				  xasprintf("%s\t%s\t%s\t%s\t%lld\t-", str_at(o, "sku"),
					    str_at(listing, "listingId"), str_at(amount, "value"),
					    str_at(amount, "currency"),
					    (long long)json_integer_value(
						json_object_get(o, "availableQuantity"))));
		}
		json_decref(rec);
	}
	testutil_http_release(&res);
	free(url);
}

static void assert_same(struct lines *got, struct lines *want)
{
	qsort(got->v, got->n, sizeof(char *), cmp_str);
	qsort(want->v, want->n, sizeof(char *), cmp_str);
	for (size_t i = 0; i < got->n && i < want->n; i++)
		if (strcmp(got->v[i], want->v[i]))
			fail_msg("row %zu differs:\n  report:  %s\n  catalog: %s", i, got->v[i],
				 want->v[i]);
	if (got->n != want->n)
		fail_msg("the report has %zu rows, the catalog's active listings %zu", got->n,
			 want->n);
}

/* ---- tests ---- */

static void test_report_equals_catalog(void **state)
{
	struct tokens t;
	struct feed_client *c = client(&t, 0);
	struct buf why = BUF_INIT;
	struct report_summary sum;
	struct lines got = {0}, want = {0};
	enum feed_status st;
	char *id = NULL;
	int fd = -1, auctions;

	sim_clean();
	assert_int_equal(feed_create_task(c, &id, &why), ERR_OK);
	assert_non_null(strstr(id, "task-"));
	assert_int_equal(feed_last_status(c), 202);
	/* Fresh: not done yet (300 ms to go). */
	assert_int_equal(feed_get_task(c, id, &st, &why), ERR_OK);
	assert_true(st == FEED_CREATED || st == FEED_QUEUED || st == FEED_IN_PROCESS);
	/* No file before it is done. */
	assert_int_equal(feed_download(c, id, &fd, NULL, &why), ERR_EBAY);
	assert_int_equal(feed_last_status(c), 404);
	assert_int_equal(feed_last_error_id(c), FEED_ERR_NO_FILE);
	assert_int_equal(fd, -1);
	buf_reset(&why);

	assert_int_equal(feed_wait_task(c, id, &why), ERR_OK);
	assert_int_equal(feed_get_task(c, id, &st, &why), ERR_OK);
	assert_int_equal(st, FEED_COMPLETED);
	if (feed_download(c, id, &fd, &sum, &why))
		fail_msg("download: %s", buf_str(&why));
	assert_true(fd >= 0);
	assert_int_equal(report_read_fd(fd, add_row, &got, NULL, &why), ERR_OK);
	close(fd);

	expected_rows(&want, &auctions);
	assert_true(want.n > 500); /* 3000 SKUs: plenty of active listings */
	assert_true(auctions > 0); /* the start-price rule is exercised */
	assert_int_equal(sum.rows, (long long)want.n);
	assert_int_equal(sum.no_sku, 0);
	assert_string_equal(sum.ack, "Success");
	assert_same(&got, &want);

	/* An unknown task. */
	buf_reset(&why);
	assert_int_equal(feed_get_task(c, "task-9-9", &st, &why), ERR_EBAY);
	assert_int_equal(feed_last_error_id(c), FEED_ERR_NO_TASK);
	assert_non_null(strstr(buf_str(&why), "does not exist"));

	lines_free(&got);
	lines_free(&want);
	free(id);
	feed_client_free(c);
	buf_release(&why);
}

/* A listing that several SKUs share is read as its variations. */
static void test_variations(void **state)
{
	static const char *const recs[] = {
	    "{\"sku\":\"V-RED\",\"item\":{\"sku\":\"V-RED\",\"inventoryItemGroupKeys\":[\"GRP-V\"]}"
	    ","
	    "\"offers\":[{\"offerId\":\"1\",\"sku\":\"V-RED\",\"format\":\"FIXED_PRICE\","
	    "\"status\":\"PUBLISHED\",\"availableQuantity\":4,\"pricingSummary\":{\"price\":"
	    "{\"value\":\"5.50\",\"currency\":\"USD\"}},\"listing\":{\"listingId\":"
	    "\"130000000001\",\"listingStatus\":\"ACTIVE\"}}]}",
	    "{\"sku\":\"V-BLUE\",\"item\":{\"sku\":\"V-BLUE\",\"inventoryItemGroupKeys\":[\"GRP-"
	    "V\"]},"
	    "\"offers\":[{\"offerId\":\"2\",\"sku\":\"V-BLUE\",\"format\":\"FIXED_PRICE\","
	    "\"status\":\"PUBLISHED\",\"availableQuantity\":0,\"pricingSummary\":{\"price\":"
	    "{\"value\":\"6\",\"currency\":\"USD\"}},\"listing\":{\"listingId\":"
	    "\"130000000001\",\"listingStatus\":\"ACTIVE\"}}]}",
	    "{\"sku\":\"A&B <Größe>\",\"item\":{\"sku\":\"A&B <Größe>\"},"
	    "\"offers\":[{\"offerId\":\"3\",\"sku\":\"A&B <Größe>\",\"format\":\"AUCTION\","
	    "\"status\":\"PUBLISHED\",\"availableQuantity\":1,\"pricingSummary\":{"
	    "\"auctionStartPrice\":{\"value\":\"0.99\",\"currency\":\"GBP\"}},\"listing\":{"
	    "\"listingId\":\"130000000002\",\"listingStatus\":\"ACTIVE\"}}]}",
	    "{\"sku\":\"ENDED\",\"item\":{\"sku\":\"ENDED\"},\"offers\":[{\"offerId\":\"4\","
	    "\"sku\":\"ENDED\",\"format\":\"FIXED_PRICE\",\"status\":\"PUBLISHED\","
	    "\"availableQuantity\":2,\"pricingSummary\":{\"price\":{\"value\":\"1\",\"currency\":"
	    "\"USD\"}},\"listing\":{\"listingId\":\"130000000003\",\"listingStatus\":\"ENDED\"}}]}",
	    "{\"sku\":\"DRAFT\",\"item\":{\"sku\":\"DRAFT\"},\"offers\":[{\"offerId\":\"5\","
	    "\"sku\":\"DRAFT\",\"format\":\"FIXED_PRICE\",\"status\":\"UNPUBLISHED\","
	    "\"availableQuantity\":2,\"pricingSummary\":{\"price\":{\"value\":\"1\",\"currency\":"
	    "\"USD\"}}}]}",
	};
	char *path = xasprintf("%s/catalog.jsonl", dir), *body;
	FILE *f = fopen(path, "w");
	struct tokens t;
	struct feed_client *c;
	struct buf why = BUF_INIT;
	struct report_summary sum;
	struct lines got = {0};
	int fd = -1;

	assert_non_null(f);
	for (size_t i = 0; i < sizeof(recs) / sizeof(recs[0]); i++)
		fprintf(f, "%s\n", recs[i]);
	fclose(f);
	sim_clean();
	body = xasprintf("{\"catalog\":\"%s\",\"feed_delay_ms\":0}", path);
	sim_post("/sim/config", body);
	c = client(&t, 0);
	if (feed_fetch_report(c, &fd, &sum, NULL, &why))
		fail_msg("fetch: %s", buf_str(&why));
	assert_int_equal(report_read_fd(fd, add_row, &got, NULL, &why), ERR_OK);
	close(fd);
	assert_int_equal(got.n, 3);
	qsort(got.v, got.n, sizeof(char *), cmp_str);
	assert_string_equal(got.v[0], "A&B <Größe>\t130000000002\t0.99\tGBP\t1\t-");
	assert_string_equal(got.v[1], "V-BLUE\t130000000001\t6\tUSD\t0\tGRP-V");
	assert_string_equal(got.v[2], "V-RED\t130000000001\t5.50\tUSD\t4\tGRP-V");
	assert_int_equal(sum.listings, 2);
	assert_int_equal(sum.variations, 2);
	sim_clean();
	lines_free(&got);
	feed_client_free(c);
	free(body);
	free(path);
	buf_release(&why);
}

static void test_daily_cap(void **state)
{
	struct tokens t;
	struct feed_client *c = client(&t, 0);
	struct buf why = BUF_INIT;
	char *id = NULL;

	sim_clean();
	sim_post("/sim/config", "{\"feed_daily_cap\":2}");
	for (int i = 0; i < 2; i++) {
		assert_int_equal(feed_create_task(c, &id, &why), ERR_OK);
		free(id);
	}
	assert_int_equal(feed_create_task(c, &id, &why), ERR_EBAY);
	assert_null(id);
	assert_int_equal(feed_last_status(c), 409);
	assert_int_equal(feed_last_error_id(c), FEED_ERR_DAILY_CAP);
	assert_non_null(strstr(buf_str(&why), "inventory report task could not be created"));
	assert_non_null(strstr(buf_str(&why), "exceeded the maximum number"));
	print_message("cap: %s\n", buf_str(&why));
	/* A reset starts a new day. */
	sim_post("/sim/reset", "{}");
	buf_reset(&why);
	assert_int_equal(feed_create_task(c, &id, &why), ERR_OK);
	free(id);
	sim_clean();
	feed_client_free(c);
	buf_release(&why);
}

static void test_failed_task(void **state)
{
	struct tokens t;
	struct feed_client *c = client(&t, 0);
	struct buf why = BUF_INIT;
	char *id = NULL;
	int fd = -1;

	sim_clean();
	sim_post("/sim/config", "{\"feed_fail\":1}");
	assert_int_equal(feed_fetch_report(c, &fd, NULL, &id, &why), ERR_EBAY);
	assert_int_equal(fd, -1);
	assert_non_null(id);
	assert_non_null(strstr(buf_str(&why), "ended FAILED"));
	/* A failed task has no file. */
	buf_reset(&why);
	assert_int_equal(feed_download(c, id, &fd, NULL, &why), ERR_EBAY);
	assert_int_equal(feed_last_error_id(c), FEED_ERR_NO_FILE);
	free(id);

	sim_post("/sim/config", "{\"feed_fail\":0,\"feed_partial\":1}");
	buf_reset(&why);
	assert_int_equal(feed_fetch_report(c, &fd, NULL, NULL, &why), ERR_EBAY);
	assert_non_null(strstr(buf_str(&why), "ended COMPLETED_WITH_ERROR"));
	assert_int_equal(fd, -1);
	sim_clean();
	feed_client_free(c);
	buf_release(&why);
}

static void test_cut_and_damaged_download(void **state)
{
	struct tokens t;
	struct feed_client *c = client(&t, 0);
	struct buf why = BUF_INIT;
	char *id = NULL;
	int fd = -1;

	sim_clean();
	sim_post("/sim/config", "{\"feed_cut\":1}");
	assert_int_equal(feed_create_task(c, &id, &why), ERR_OK);
	assert_int_equal(feed_wait_task(c, id, &why), ERR_OK);
	assert_int_equal(feed_download(c, id, &fd, NULL, &why), ERR_HTTP);
	assert_int_equal(fd, -1);
	assert_non_null(strstr(buf_str(&why), "cannot download the inventory report"));
	assert_non_null(strstr(buf_str(&why), "cut short"));
	assert_non_null(strstr(buf_str(&why), "after retries"));
	print_message("cut: %s\n", buf_str(&why));

	/* The same task's file, damaged on the way. */
	sim_post("/sim/config", "{\"feed_cut\":0,\"feed_corrupt\":1}");
	buf_reset(&why);
	assert_int_equal(feed_download(c, id, &fd, NULL, &why), ERR_PARSE);
	assert_int_equal(fd, -1);
	assert_non_null(strstr(buf_str(&why), "is refused"));
	print_message("damaged: %s\n", buf_str(&why));

	/* And whole again. */
	sim_post("/sim/config", "{\"feed_corrupt\":0}");
	buf_reset(&why);
	assert_int_equal(feed_download(c, id, &fd, NULL, &why), ERR_OK);
	assert_true(fd >= 0);
	close(fd);
	free(id);
	sim_clean();
	feed_client_free(c);
	buf_release(&why);
}

static void test_deadline(void **state)
{
	struct tokens t;
	struct feed_client *c = client(&t, 400);
	struct buf why = BUF_INIT;
	int fd = -1;

	sim_clean();
	sim_post("/sim/config", "{\"feed_delay_ms\":60000}");
	assert_int_equal(feed_fetch_report(c, &fd, NULL, NULL, &why), ERR_TIMEOUT);
	assert_non_null(strstr(buf_str(&why), "gave up waiting"));
	sim_clean();
	feed_client_free(c);
	buf_release(&why);
}

/* A refused token: one refresh from the token source, then it goes on. */
static void test_token_refresh(void **state)
{
	struct tokens t;
	struct feed_client *c = client(&t, 0);
	struct buf why = BUF_INIT;
	char *id = NULL;

	sim_clean();
	t.first = "STALE";
	assert_int_equal(feed_create_task(c, &id, &why), ERR_OK);
	assert_int_equal(t.refreshed, 1);
	free(id);
	feed_client_free(c);
	buf_release(&why);
}

static int setup(void **state)
{
	char *argv[] = {TESTUTIL_SIM_BIN, "--skus", "3000",	 "--seed", "11",
			"--token",	  "T",	    "--threads", "2",	   NULL};

	curl_global_init(CURL_GLOBAL_DEFAULT);
	dir = testutil_tmpdir();
	return testutil_spawn(&sim, argv, NULL);
}

static int teardown(void **state)
{
	if (sim.pid > 0)
		testutil_stop(&sim, SIGTERM);
	testutil_rmrf(dir);
	free(dir);
	curl_global_cleanup();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_report_equals_catalog),
	    cmocka_unit_test(test_variations),
	    cmocka_unit_test(test_daily_cap),
	    cmocka_unit_test(test_failed_task),
	    cmocka_unit_test(test_cut_and_damaged_download),
	    cmocka_unit_test(test_deadline),
	    cmocka_unit_test(test_token_refresh),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
