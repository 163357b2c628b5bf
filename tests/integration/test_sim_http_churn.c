/*
 * ebaysync-sim's churn over HTTP: a catalog that changes while it is read
 * makes offset paging skip and repeat SKUs, as on eBay, and /sim/catalog
 * stays the ground truth: once churn stops, a walk of the pages and the
 * per-SKU answers agree with it exactly.
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

#include <cmocka.h>

#include "testutil.h"
#include "timeutil.h"
#include "xalloc.h"

static struct testutil_proc sim;

static int setup(void **state)
{
	char *argv[] = {TESTUTIL_SIM_BIN, "--skus", "2000", "--seed", "5", "--token", "T", NULL};

	return testutil_spawn(&sim, argv, NULL);
}

static int teardown(void **state)
{
	if (sim.pid > 0)
		testutil_stop(&sim, SIGTERM);
	return 0;
}

/* Last: SIGTERM ends the simulator cleanly (exit 0, and no leak under ASan). */
static void test_clean_exit(void **state)
{
	int status = testutil_stop(&sim, SIGTERM);

	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void configure(const char *json)
{
	char *url = xasprintf("%s/sim/config", sim.base_url);
	struct testutil_http r;

	assert_int_equal(testutil_http("POST", url, json, NULL, &r), 0);
	assert_int_equal(r.status, 200);
	testutil_http_release(&r);
	free(url);
}

/* The SKUs of /sim/catalog, in order, as a JSON array; rows in *rows. */
static json_t *catalog_skus(json_t **rows)
{
	char *url = xasprintf("%s/sim/catalog", sim.base_url);
	struct testutil_http r;
	json_t *skus = json_array();
	char *line, *save = NULL;

	if (rows)
		*rows = json_array();
	assert_int_equal(testutil_http("GET", url, NULL, NULL, &r), 0);
	for (line = strtok_r(r.body, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		json_t *row = json_loads(line, 0, NULL);
		assert_non_null(row);
		json_array_append(skus, json_object_get(row, "sku"));
		if (rows)
			json_array_append(*rows, row);
		json_decref(row);
	}
	testutil_http_release(&r);
	free(url);
	return skus;
}

/* Walks every page (limit 200) by next links, pausing pause_ms between. */
static json_t *walk(long pause_ms)
{
	char *url =
	    xasprintf("%s/sell/inventory/v1/inventory_item?limit=200&offset=0", sim.base_url);
	json_t *skus = json_array();

	for (int pages = 0; url; pages++) {
		json_t *page = testutil_get_json(url, "T"), *item;
		const char *next;
		size_t i;

		assert_non_null(page);
		json_array_foreach(json_object_get(page, "inventoryItems"), i, item)
		    json_array_append(skus, json_object_get(item, "sku"));
		next = json_string_value(json_object_get(page, "next"));
		free(url);
		url = next ? xstrdup(next) : NULL;
		json_decref(page);
		assert_true(pages < 100);
		if (url && pause_ms)
			timeutil_sleep_ms(pause_ms);
	}
	return skus;
}

static int contains(const json_t *list, const json_t *sku)
{
	size_t i;
	json_t *v;

	json_array_foreach(list, i, v) if (json_equal(v, sku)) return 1;
	return 0;
}

static void test_quiet_walk_matches_catalog(void **state)
{
	json_t *want = catalog_skus(NULL), *got = walk(0);

	assert_int_equal(json_array_size(want), 2000);
	assert_true(json_equal(want, got));
	json_decref(want);
	json_decref(got);
}

static void test_churn_moves_pages(void **state)
{
	json_t *first_page, *again, *seen, *after, *before, *v, *stats;
	char *page0 =
	    xasprintf("%s/sell/inventory/v1/inventory_item?limit=200&offset=0", sim.base_url);
	size_t i, repeats = 0, missed = 0;
	char *url = xasprintf("%s/sim/stats", sim.base_url);

	first_page = testutil_get_json(page0, "T");
	before = catalog_skus(NULL);
	configure("{\"churn\":2000}");
	timeutil_sleep_ms(300);
	again = testutil_get_json(page0, "T");
	/* The same page read twice is not the same any more. */
	assert_false(json_equal(json_object_get(first_page, "inventoryItems"),
				json_object_get(again, "inventoryItems")));

	seen = walk(40);
	configure("{\"churn\":0}");
	after = catalog_skus(NULL);
	/* Paging under churn repeats some SKUs and misses others that were
	 * there all along. */
	json_array_foreach(seen, i, v)
	{
		for (size_t j = i + 1; j < json_array_size(seen); j++)
			if (json_equal(v, json_array_get(seen, j))) {
				repeats++;
				break;
			}
	}
	json_array_foreach(after, i, v) missed += contains(before, v) && !contains(seen, v);
	print_message("walk under churn: %zu SKUs read, %zu repeated, %zu of %zu missed\n",
		      json_array_size(seen), repeats, missed, json_array_size(after));
	assert_true(repeats + missed > 0);
	assert_true(missed > 0);

	stats = testutil_get_json(url, NULL);
	assert_true(
	    json_integer_value(json_object_get(json_object_get(stats, "catalog"), "added")) > 0);
	assert_true(
	    json_integer_value(json_object_get(json_object_get(stats, "catalog"), "removed")) > 0);
	assert_true(
	    json_integer_value(json_object_get(json_object_get(stats, "catalog"), "edited")) > 0);
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(stats, "catalog"), "skus")),
	    json_array_size(after));
	json_decref(stats);
	json_decref(first_page);
	json_decref(again);
	json_decref(seen);
	json_decref(after);
	json_decref(before);
	free(page0);
	free(url);
}

static void test_ground_truth_after_churn(void **state)
{
	json_t *rows, *skus = catalog_skus(&rows), *walked = walk(0), *row;
	CURL *h = curl_easy_init();
	size_t i;
	int edited = 0;

	/* Quiet again: the pages are the catalog. */
	assert_true(json_equal(skus, walked));
	/* And every 20th SKU answers exactly its /sim/catalog line. */
	json_array_foreach(rows, i, row)
	{
		const char *sku = json_string_value(json_object_get(row, "sku"));
		char *enc, *url;
		json_t *item, *offers;

		if (i % 20)
			continue;
		enc = curl_easy_escape(h, sku, 0);
		url = xasprintf("%s/sell/inventory/v1/inventory_item/%s", sim.base_url, enc);
		item = testutil_get_json(url, "T");
		assert_true(json_equal(item, json_object_get(row, "item")));
		free(url);
		url = xasprintf("%s/sell/inventory/v1/offer?sku=%s", sim.base_url, enc);
		offers = testutil_get_json(url, "T");
		assert_true(
		    json_equal(json_object_get(offers, "offers"), json_object_get(row, "offers")));
		edited +=
		    strstr(json_string_value(json_object_get(
			       json_object_get(json_object_get(row, "item"), "product"), "title")),
			   "(v") != NULL;
		json_decref(item);
		json_decref(offers);
		free(url);
		curl_free(enc);
	}
	print_message("%d sampled titles show an edit\n", edited);
	curl_easy_cleanup(h);
	json_decref(rows);
	json_decref(skus);
	json_decref(walked);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_quiet_walk_matches_catalog),
	    cmocka_unit_test(test_churn_moves_pages),
	    cmocka_unit_test(test_ground_truth_after_churn),
	    cmocka_unit_test(test_clean_exit),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
