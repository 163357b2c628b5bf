/*
 * ebaysync-sim over HTTP, started as a real process: paging by next links
 * in both offset modes, limit and offset validation, the auth errors, every
 * SKU (hostile ones included) round-tripping through URL encoding to the
 * same item and offers as GET /sim/catalog, getOffer, bulk_get, the
 * no-offers-404 mode, stats, config and reset, and a clean exit on SIGTERM.
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

#include "buf.h"
#include "testutil.h"
#include "xalloc.h"

#define SKUS 537

static struct testutil_proc sim;

static int setup(void **state)
{
	char *argv[] = {TESTUTIL_SIM_BIN, "--skus", "537",	 "--seed", "3",
			"--token",	  "T",	    "--threads", "2",	   NULL};

	curl_global_init(CURL_GLOBAL_DEFAULT);
	return testutil_spawn(&sim, argv, NULL);
}

static int teardown(void **state)
{
	if (sim.pid > 0)
		testutil_stop(&sim, SIGTERM);
	curl_global_cleanup();
	return 0;
}

/* Last: SIGTERM ends the simulator cleanly (exit 0, and no leak under ASan). */
static void test_clean_exit(void **state)
{
	int status = testutil_stop(&sim, SIGTERM);

	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* An HTTP call on the simulator; path may be a full URL. The body is parsed
 * into *json when it is JSON (else NULL). Returns the status. */
static long call(const char *method, const char *path, const char *bearer, const char *body,
		 json_t **json)
{
	char *url =
	    strncmp(path, "http", 4) ? xasprintf("%s%s", sim.base_url, path) : xstrdup(path);
	char *auth = bearer ? xasprintf("Authorization: Bearer %s", bearer) : NULL;
	const char *hdrs[] = {"Content-Type: application/json", auth, NULL};
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

static long error_id(const json_t *body)
{
	return (long)json_integer_value(
	    json_object_get(json_array_get(json_object_get(body, "errors"), 0), "errorId"));
}

static void expect_error(const char *method, const char *path, const char *bearer, const char *body,
			 long status, long id)
{
	json_t *j = NULL;
	long got = call(method, path, bearer, body, &j);

	if (got != status || error_id(j) != id)
		fail_msg("%s %s: got %ld errorId %ld, want %ld errorId %ld", method, path, got,
			 error_id(j), status, id);
	/* Every error has eBay's shape. */
	assert_non_null(json_string_value(
	    json_object_get(json_array_get(json_object_get(j, "errors"), 0), "domain")));
	assert_non_null(json_string_value(
	    json_object_get(json_array_get(json_object_get(j, "errors"), 0), "category")));
	assert_non_null(json_string_value(
	    json_object_get(json_array_get(json_object_get(j, "errors"), 0), "message")));
	json_decref(j);
}

/* GET /sim/catalog as an array of {"sku","item","offers"}. */
static json_t *catalog(void)
{
	char *url = xasprintf("%s/sim/catalog", sim.base_url);
	struct testutil_http r;
	json_t *rows = json_array();
	char *line, *save = NULL;

	assert_int_equal(testutil_http("GET", url, NULL, NULL, &r), 0);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.headers, "application/x-ndjson"));
	for (line = strtok_r(r.body, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		json_t *row = json_loads(line, 0, NULL);
		assert_non_null(row);
		json_array_append_new(rows, row);
	}
	testutil_http_release(&r);
	free(url);
	return rows;
}

static void configure(const char *json)
{
	json_t *j = NULL;

	if (call("POST", "/sim/config", NULL, json, &j) != 200)
		fail_msg("config %s refused: %s", json,
			 json_string_value(json_object_get(j, "error")));
	json_decref(j);
}

/* Walks getInventoryItems from first by next links; returns the SKUs. */
static json_t *walk(const char *first, long long want_total, long long limit, int page_mode)
{
	json_t *skus = json_array();
	char *url = xstrdup(first);
	int pages = 0;

	while (url) {
		json_t *page = NULL, *items, *item;
		const char *next;
		size_t i;
		char want_next[64];

		assert_int_equal(call("GET", url, "T", NULL, &page), 200);
		assert_int_equal(json_integer_value(json_object_get(page, "total")), want_total);
		assert_int_equal(json_integer_value(json_object_get(page, "limit")), limit);
		assert_int_equal(json_integer_value(json_object_get(page, "size")),
				 (want_total + limit - 1) / limit);
		assert_string_equal(json_string_value(json_object_get(page, "href")), url);
		items = json_object_get(page, "inventoryItems");
		json_array_foreach(items, i, item)
		    json_array_append(skus, json_object_get(item, "sku"));
		next = json_string_value(json_object_get(page, "next"));
		snprintf(want_next, sizeof(want_next), "offset=%lld",
			 page_mode ? pages + 1 : (pages + 1) * limit);
		if (next) {
			assert_int_equal(strncmp(next, sim.base_url, strlen(sim.base_url)), 0);
			assert_non_null(strstr(next, want_next));
		}
		if (pages == 0)
			assert_null(json_object_get(page, "prev"));
		else
			assert_non_null(json_object_get(page, "prev"));
		free(url);
		url = next ? xstrdup(next) : NULL;
		json_decref(page);
		assert_true(++pages <= 100);
	}
	return skus;
}

static void test_paging_both_modes(void **state)
{
	json_t *rows = catalog(), *want = json_array(), *row, *got;
	size_t i;

	assert_int_equal(json_array_size(rows), SKUS);
	json_array_foreach(rows, i, row) json_array_append(want, json_object_get(row, "sku"));

	{
		char *first =
		    xasprintf("%s/sell/inventory/v1/inventory_item?limit=50", sim.base_url);
		char *href = xasprintf("%s&offset=0", first);
		json_t *page = NULL;
		/* The href names the offset even when the request did not. */
		assert_int_equal(call("GET", first, "T", NULL, &page), 200);
		assert_string_equal(json_string_value(json_object_get(page, "href")), href);
		json_decref(page);
		free(href);
		got = walk(href = xasprintf("%s&offset=0", first), SKUS, 50, 0);
		assert_true(json_equal(got, want));
		json_decref(got);
		free(href);

		configure("{\"offset_mode\":\"page\"}");
		got = walk(href = xasprintf("%s&offset=0", first), SKUS, 50, 1);
		assert_true(json_equal(got, want));
		json_decref(got);
		free(href);
		/* The last page in page mode: offset 10 holds records 500..536. */
		href = xasprintf("%s&offset=10", first);
		assert_int_equal(call("GET", href, "T", NULL, &page), 200);
		assert_int_equal(json_array_size(json_object_get(page, "inventoryItems")), 37);
		assert_null(json_object_get(page, "next"));
		assert_non_null(
		    strstr(json_string_value(json_object_get(page, "prev")), "offset=9"));
		json_decref(page);
		free(href);
		configure("{\"offset_mode\":\"record\"}");
		/* Past the end: an empty page, no next. */
		href = xasprintf("%s&offset=600", first);
		assert_int_equal(call("GET", href, "T", NULL, &page), 200);
		assert_int_equal(json_array_size(json_object_get(page, "inventoryItems")), 0);
		assert_null(json_object_get(page, "next"));
		json_decref(page);
		free(href);
		free(first);
	}
	json_decref(want);
	json_decref(rows);
}

static void test_limit_validation(void **state)
{
	const char *bad[] = {
	    "limit=0",	 "limit=201", "limit=abc",	     "limit=-1",  "limit=1.5", "limit=",
	    "offset=-1", "offset=x",  "limit=25&offset=1e3", "limit=%2B5"};
	json_t *page = NULL;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *path = xasprintf("/sell/inventory/v1/inventory_item?%s", bad[i]);
		expect_error("GET", path, "T", NULL, 400, 25706);
		free(path);
		path = xasprintf("/sell/inventory/v1/offer?sku=SKU-000002&%s", bad[i]);
		expect_error("GET", path, "T", NULL, 400, 25706);
		free(path);
	}
	assert_int_equal(
	    call("GET", "/sell/inventory/v1/inventory_item?limit=200", "T", NULL, &page), 200);
	assert_int_equal(json_array_size(json_object_get(page, "inventoryItems")), 200);
	json_decref(page);
	assert_int_equal(call("GET", "/sell/inventory/v1/inventory_item", "T", NULL, &page), 200);
	assert_int_equal(json_array_size(json_object_get(page, "inventoryItems")), 25);
	json_decref(page);
}

static void test_auth_errors(void **state)
{
	json_t *j = NULL;

	expect_error("GET", "/sell/inventory/v1/inventory_item", NULL, NULL, 400, 1002);
	expect_error("GET", "/sell/inventory/v1/offer?sku=x", "wrong", NULL, 401, 1001);
	call("GET", "/sell/inventory/v1/offer?sku=x", "wrong", NULL, &j);
	assert_string_equal(json_string_value(json_object_get(
				json_array_get(json_object_get(j, "errors"), 0), "domain")),
			    "OAuth");
	assert_string_equal(json_string_value(json_object_get(
				json_array_get(json_object_get(j, "errors"), 0), "message")),
			    "Invalid access token");
	json_decref(j);
	{
		/* A Basic header is no Bearer token. */
		char *url = xasprintf("%s/sell/inventory/v1/inventory_item", sim.base_url);
		const char *hdrs[] = {"Authorization: Basic YTpi", NULL};
		struct testutil_http r;
		assert_int_equal(testutil_http("GET", url, NULL, hdrs, &r), 0);
		assert_int_equal(r.status, 400);
		assert_non_null(strstr(r.body, "1002"));
		testutil_http_release(&r);
		free(url);
	}
}

static int is_hostile(const char *sku)
{
	for (const char *p = sku; *p; p++)
		if (strchr(" /#%+?&\"'\\;,", *p) || (unsigned char)*p >= 0x80)
			return 1;
	return strlen(sku) == 50;
}

static void test_every_sku_round_trips(void **state)
{
	json_t *rows = catalog(), *row;
	CURL *h = curl_easy_init();
	size_t i, hostile = 0, with_offers = 0;

	json_array_foreach(rows, i, row)
	{
		const char *sku = json_string_value(json_object_get(row, "sku"));
		char *enc = curl_easy_escape(h, sku, 0), *path;
		json_t *item = NULL, *offers = NULL, *bulk_item;

		hostile += is_hostile(sku);
		path = xasprintf("/sell/inventory/v1/inventory_item/%s", enc);
		assert_int_equal(call("GET", path, "T", NULL, &item), 200);
		if (!json_equal(item, json_object_get(row, "item")))
			fail_msg("item of SKU '%s' differs from /sim/catalog", sku);
		free(path);
		path = xasprintf("/sell/inventory/v1/offer?sku=%s", enc);
		assert_int_equal(call("GET", path, "T", NULL, &offers), 200);
		if (!json_equal(json_object_get(offers, "offers"), json_object_get(row, "offers")))
			fail_msg("offers of SKU '%s' differ from /sim/catalog", sku);
		assert_int_equal(json_integer_value(json_object_get(offers, "total")),
				 json_array_size(json_object_get(row, "offers")));
		assert_int_equal(json_integer_value(json_object_get(offers, "size")),
				 json_array_size(json_object_get(row, "offers")));
		with_offers += json_array_size(json_object_get(row, "offers")) > 0;
		/* getOffer by each offerId gives the same offer. */
		for (size_t k = 0; k < json_array_size(json_object_get(row, "offers")); k++) {
			json_t *want = json_array_get(json_object_get(row, "offers"), k),
			       *one = NULL;
			char *p = xasprintf("/sell/inventory/v1/offer/%s",
					    json_string_value(json_object_get(want, "offerId")));
			assert_int_equal(call("GET", p, "T", NULL, &one), 200);
			assert_true(json_equal(one, want));
			json_decref(one);
			free(p);
		}
		/* bulk_get returns the item without groupIds. */
		if (i % 10 == 0 || is_hostile(sku)) {
			json_t *req = json_pack("{s:[{s:s}]}", "requests", "sku", sku),
			       *resp = NULL;
			char *body = json_dumps(req, 0);
			assert_int_equal(call("POST", "/sell/inventory/v1/bulk_get_inventory_item",
					      "T", body, &resp),
					 200);
			bulk_item = json_deep_copy(json_object_get(row, "item"));
			json_object_del(bulk_item, "groupIds");
			assert_true(json_equal(
			    json_object_get(json_array_get(json_object_get(resp, "responses"), 0),
					    "inventoryItem"),
			    bulk_item));
			json_decref(bulk_item);
			json_decref(resp);
			json_decref(req);
			free(body);
		}
		json_decref(item);
		json_decref(offers);
		free(path);
		curl_free(enc);
	}
	assert_true(hostile >= 5);
	assert_true(with_offers > 0);
	curl_easy_cleanup(h);
	json_decref(rows);
}

static void test_not_found_and_invalid(void **state)
{
	expect_error("GET", "/sell/inventory/v1/inventory_item/NOPE-1", "T", NULL, 404, 25702);
	expect_error("GET", "/sell/inventory/v1/inventory_item/", "T", NULL, 400, 25709);
	expect_error("GET", "/sell/inventory/v1/offer?sku=NOPE-1", "T", NULL, 404, 25702);
	expect_error("GET", "/sell/inventory/v1/offer", "T", NULL, 400, 25709);
	expect_error("GET", "/sell/inventory/v1/offer?sku=", "T", NULL, 400, 25709);
	expect_error("GET", "/sell/inventory/v1/offer?sku=SKU-000002&format=BOTH", "T", NULL, 400,
		     25709);
	expect_error("GET", "/sell/inventory/v1/offer?sku=SKU-000002&marketplace_id=EBAY_XX", "T",
		     NULL, 400, 25709);
	expect_error("GET", "/sell/inventory/v1/offer/999", "T", NULL, 400, 25713);
	expect_error("GET", "/sell/inventory/v1/offer/5000999999", "T", NULL, 400, 25713);
	expect_error("GET", "/sell/inventory/v1/nothing_here", "T", NULL, 404, 2002);
	expect_error("DELETE", "/sell/inventory/v1/inventory_item/x", "T", NULL, 405, 2004);
}

/* A SKU of the catalog with n offers, one of them AUCTION when n is 2. */
static char *sku_with_offers(json_t *rows, size_t n)
{
	json_t *row;
	size_t i;

	json_array_foreach(rows, i, row)
	{
		if (json_array_size(json_object_get(row, "offers")) == n)
			return xstrdup(json_string_value(json_object_get(row, "sku")));
	}
	fail_msg("no SKU with %zu offers", n);
	return NULL;
}

static void test_offers_paging_filters_and_404_mode(void **state)
{
	json_t *rows = catalog(), *page = NULL;
	char *two = sku_with_offers(rows, 2), *none = sku_with_offers(rows, 0);
	CURL *h = curl_easy_init();
	char *enc2 = curl_easy_escape(h, two, 0), *enc0 = curl_easy_escape(h, none, 0), *path;
	const char *next;

	path = xasprintf("/sell/inventory/v1/offer?sku=%s&limit=1", enc2);
	assert_int_equal(call("GET", path, "T", NULL, &page), 200);
	assert_int_equal(json_array_size(json_object_get(page, "offers")), 1);
	assert_int_equal(json_integer_value(json_object_get(page, "total")), 2);
	next = json_string_value(json_object_get(page, "next"));
	assert_non_null(next);
	{
		json_t *second = NULL;
		assert_int_equal(call("GET", next, "T", NULL, &second), 200);
		assert_string_equal(
		    json_string_value(json_object_get(
			json_array_get(json_object_get(second, "offers"), 0), "format")),
		    "AUCTION");
		assert_null(json_object_get(second, "next"));
		json_decref(second);
	}
	json_decref(page);
	free(path);
	path = xasprintf("/sell/inventory/v1/offer?sku=%s&format=AUCTION", enc2);
	assert_int_equal(call("GET", path, "T", NULL, &page), 200);
	assert_int_equal(json_integer_value(json_object_get(page, "total")), 1);
	json_decref(page);
	free(path);

	path = xasprintf("/sell/inventory/v1/offer?sku=%s", enc0);
	assert_int_equal(call("GET", path, "T", NULL, &page), 200);
	assert_int_equal(json_integer_value(json_object_get(page, "total")), 0);
	assert_int_equal(json_array_size(json_object_get(page, "offers")), 0);
	json_decref(page);
	configure("{\"no_offers_404\":true}");
	expect_error("GET", path, "T", NULL, 404, 25713);
	configure("{\"no_offers_404\":false}");
	free(path);
	curl_free(enc2);
	curl_free(enc0);
	curl_easy_cleanup(h);
	free(two);
	free(none);
	json_decref(rows);
}

static void test_bulk(void **state)
{
	json_t *resp = NULL;
	struct buf body = BUF_INIT;
	const char *url = "/sell/inventory/v1/bulk_get_inventory_item";

	assert_int_equal(call("POST", url, "T",
			      "{\"requests\":[{\"sku\":\"SKU-000002\"},{\"sku\":\"NOPE\"}]}",
			      &resp),
			 207);
	assert_int_equal(json_integer_value(json_object_get(
			     json_array_get(json_object_get(resp, "responses"), 0), "statusCode")),
			 200);
	assert_int_equal(json_integer_value(json_object_get(
			     json_array_get(json_object_get(resp, "responses"), 1), "statusCode")),
			 404);
	assert_int_equal(error_id(json_array_get(json_object_get(resp, "responses"), 1)), 25702);
	json_decref(resp);
	buf_adds(&body, "{\"requests\":[");
	for (int i = 0; i < 26; i++)
		buf_addf(&body, "%s{\"sku\":\"S%d\"}", i ? "," : "", i);
	buf_adds(&body, "]}");
	expect_error("POST", url, "T", buf_str(&body), 400, 25727);
	expect_error("POST", url, "T", "{\"requests\":[{\"sku\":\"a\"},{\"sku\":\"a\"}]}", 400,
		     25734);
	expect_error("POST", url, "T", "{\"requests\":[{\"sku\":\"\"}]}", 400, 25708);
	expect_error("POST", url, "T", "not json", 400, 25709);
	expect_error("POST", url, "T", "{\"requests\":[]}", 400, 25709);
	expect_error("GET", url, "T", NULL, 405, 2004);
	buf_release(&body);
}

static long long stat_calls(json_t *stats, const char *ep, const char *status)
{
	return json_integer_value(
	    json_object_get(json_object_get(json_object_get(stats, "calls"), ep), status));
}

static void test_stats_config_reset(void **state)
{
	json_t *stats = NULL, *cfg = NULL;

	assert_int_equal(call("POST", "/sim/reset", NULL, "", NULL), 200);
	for (int i = 0; i < 7; i++)
		assert_int_equal(
		    call("GET", "/sell/inventory/v1/offer?sku=SKU-000002", "T", NULL, NULL), 200);
	call("GET", "/sell/inventory/v1/offer?sku=NOPE", "T", NULL, NULL);
	call("GET", "/sell/inventory/v1/inventory_item", NULL, NULL, NULL);
	assert_int_equal(call("GET", "/sim/stats", NULL, NULL, &stats), 200);
	assert_int_equal(stat_calls(stats, "getOffers", "200"), 7);
	assert_int_equal(stat_calls(stats, "getOffers", "404"), 1);
	assert_int_equal(stat_calls(stats, "getInventoryItems", "400"), 1);
	assert_int_equal(json_integer_value(json_object_get(stats, "requests")), 9);
	assert_true(json_integer_value(json_object_get(stats, "max_concurrency")) >= 1);
	assert_int_equal(json_integer_value(json_object_get(stats, "throttled")), 0);
	assert_int_equal(json_integer_value(json_object_get(stats, "tokens_issued")), 0);
	assert_true(json_is_object(json_object_get(stats, "faults")));
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(stats, "catalog"), "skus")), SKUS);
	json_decref(stats);

	/* Config: a new catalog size, refused bad values, then reset. */
	configure("{\"skus\":40,\"seed\":3}");
	assert_int_equal(call("GET", "/sim/config", NULL, NULL, &cfg), 200);
	assert_int_equal(json_integer_value(json_object_get(cfg, "skus")), 40);
	json_decref(cfg);
	{
		json_t *page = NULL, *err = NULL;
		call("GET", "/sell/inventory/v1/inventory_item", "T", NULL, &page);
		assert_int_equal(json_integer_value(json_object_get(page, "total")), 40);
		json_decref(page);
		assert_int_equal(call("POST", "/sim/config", NULL, "{\"skus\":-5}", &err), 400);
		assert_non_null(strstr(json_string_value(json_object_get(err, "error")), "skus"));
		json_decref(err);
		assert_int_equal(
		    call("POST", "/sim/config", NULL, "{\"catalog\":\"/nonexistent\"}", &err), 400);
		assert_non_null(strstr(json_string_value(json_object_get(err, "error")),
				       "cannot open catalog file"));
		json_decref(err);
	}
	configure("{\"skus\":537}");
	assert_int_equal(call("POST", "/sim/reset", NULL, "", NULL), 200);
	assert_int_equal(call("GET", "/sim/stats", NULL, NULL, &stats), 200);
	assert_int_equal(json_integer_value(json_object_get(stats, "requests")), 0);
	json_decref(stats);
	assert_int_equal(call("GET", "/sim/nothing", NULL, NULL, NULL), 404);
	assert_int_equal(call("POST", "/sim/stats", NULL, "", NULL), 405);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_paging_both_modes),
	    cmocka_unit_test(test_limit_validation),
	    cmocka_unit_test(test_auth_errors),
	    cmocka_unit_test(test_every_sku_round_trips),
	    cmocka_unit_test(test_not_found_and_invalid),
	    cmocka_unit_test(test_offers_paging_filters_and_404_mode),
	    cmocka_unit_test(test_bulk),
	    cmocka_unit_test(test_stats_config_reset),
	    cmocka_unit_test(test_clean_exit),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
