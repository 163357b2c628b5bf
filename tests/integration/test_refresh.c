/*
 * The refresh end to end: the real `ebaysync sync refresh` against the real
 * `ebaysync-sim`, on every backend. A full sync, then the simulator's
 * /sim/mutate changes prices, quantities and listing statuses of a share of
 * the SKUs, and the refresh must leave the database equal to GET
 * /sim/catalog field by field (the same check as test_sync.c, copied so
 * that the two files stay independent), for far fewer eBay calls than a
 * full sync (counted by /sim/stats). Without the report (the daily cap, a
 * failed task, a damaged or cut archive) it falls back to getOffers for
 * every SKU, or with --report-only fails with the reason and stores nothing
 * from the report; a STOP keeps what was written.
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

#include "mapping.h"
#include "store.h"
#include "testutil.h"
#include "timeutil.h"
#include "xalloc.h"

#define TOKEN "test-token-1"
#define SKUS  "2000"

struct env {
	struct testutil_proc sim;
	char *urls[2];
	const char *names[2];
	int n_backends;
};

static int start_sim(struct env *e, const char *const extra[])
{
	char *argv[64] = {TESTUTIL_SIM_BIN, "--listen", "127.0.0.1:0", "--seed", "42",
			  "--skus",	    SKUS,	"--token",     TOKEN};
	int n = 9;

	for (int i = 0; extra && extra[i]; i++)
		argv[n++] = (char *)extra[i];
	argv[n] = NULL;
	return testutil_spawn(&e->sim, argv, NULL);
}

/* Runs `ebaysync sync KIND` against the simulator; returns its exit code. */
static int run_sync(struct env *e, const char *db, const char *user, const char *kind,
		    const char *const extra[])
{
	char *argv[64] = {
	    TESTUTIL_APP_BIN, "sync",	       (char *)kind, "--db",	  (char *)db,
	    "--user",	      (char *)user,    "--env",	     "simulator", "--api-base",
	    e->sim.base_url,  "--token",       TOKEN,	     "--json",	  "--max-rps",
	    "5000",	      "--concurrency", "16"};
	int n = 18;
	char *out = NULL;
	int code;

	for (int i = 0; extra && extra[i]; i++)
		argv[n++] = (char *)extra[i];
	argv[n] = NULL;
	code = testutil_run(argv, NULL, &out);
	if (code != 0 && code != 130) {
		size_t len = out ? strlen(out) : 0;
		fprintf(stderr, "sync %s exited %d; last output:\n%s\n", kind, code,
			out ? out + (len > 3000 ? len - 3000 : 0) : "");
	}
	free(out);
	return code;
}

/* The simulator's catalog as {sku: {"item":..., "offers":[...]}}. */
static json_t *sim_catalog(struct env *e)
{
	char *url = xasprintf("%s/sim/catalog", e->sim.base_url);
	struct testutil_http r;
	json_t *cat = json_object();
	char *line, *save = NULL;

	assert_int_equal(testutil_http("GET", url, NULL, NULL, &r), 0);
	assert_int_equal(r.status, 200);
	for (line = strtok_r(r.body, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		json_error_t jerr;
		json_t *o = json_loads(line, 0, &jerr);

		if (!o)
			fail_msg("bad /sim/catalog line: %s", jerr.text);
		json_object_set(cat, json_string_value(json_object_get(o, "sku")), o);
		json_decref(o);
	}
	testutil_http_release(&r);
	free(url);
	return cat;
}

static const char *str_at(json_t *o, const char *path)
{
	char *copy = xstrdup(path), *part, *save = NULL;
	json_t *cur = o;
	const char *v;

	for (part = strtok_r(copy, ".", &save); part && cur; part = strtok_r(NULL, ".", &save))
		cur = json_object_get(cur, part);
	free(copy);
	v = json_string_value(cur);
	return v;
}

static void assert_str_eq(const char *what, const char *sku, const char *want, const char *got)
{
	if ((want == NULL) != (got == NULL) || (want && strcmp(want, got)))
		fail_msg("%s of SKU '%s': want '%s', got '%s'", what, sku, want ? want : "(null)",
			 got ? got : "(null)");
}

static void assert_int_eq(const char *what, const char *sku, long long want, long long got)
{
	if (want != got)
		fail_msg("%s of SKU '%s': want %lld, got %lld", what, sku, want, got);
}

static long long int_or_null(json_t *v)
{
	if (json_is_integer(v))
		return json_integer_value(v);
	if (json_is_string(v))
		return strtoll(json_string_value(v), NULL, 10);
	return -1;
}

/* First value of an aspect (arrays of strings on eBay). */
static const char *aspect(json_t *item, const char *name)
{
	json_t *a =
	    json_object_get(json_object_get(json_object_get(item, "product"), "aspects"), name);

	if (json_is_array(a))
		return json_string_value(json_array_get(a, 0));
	return json_string_value(a);
}

/* The offer whose price and listing the inventory row shows: the first
 * PUBLISHED one, else the first. */
static json_t *lead_offer(json_t *offers)
{
	size_t i;
	json_t *o;

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
	size_t i;
	json_t *o;

	if (json_array_size(offers) == 0)
		return "UNKNOWN";
	json_array_foreach(offers, i, o)
	{
		const char *st = json_string_value(json_object_get(o, "status"));
		if (st && (!strcmp(st, "PUBLISHED") || !strcmp(st, "PUBLISHED_IN_PROGRESS")))
			return "ACTIVE";
	}
	return "ENDED";
}

/* An offer's price as the rows show it: its Buy It Now price, else (an
 * auction without one) its start price, as eBay's own report does. */
static const char *shown_price(json_t *offer, const char *what)
{
	char path[64];
	const char *v;

	snprintf(path, sizeof(path), "pricingSummary.price.%s", what);
	v = str_at(offer, path);
	if (!str_at(offer, "pricingSummary.price.value")) {
		snprintf(path, sizeof(path), "pricingSummary.auctionStartPrice.%s", what);
		v = str_at(offer, path);
	}
	return v;
}

static void check_item(const char *sku, json_t *want, json_t *row, int with_offers)
{
	json_t *item = json_object_get(want, "item");
	json_t *offers = json_object_get(want, "offers");
	json_t *lead = lead_offer(offers);
	const char *pn = aspect(item, "Part Number");
	const char *model = aspect(item, "Model");

	if (!pn)
		pn = aspect(item, "MPN");
	if (!pn)
		pn = aspect(item, "Brand Part Number");
	if (!pn)
		pn = str_at(item, "product.mpn");
	if (!model)
		model = aspect(item, "Model Number");

	assert_str_eq("title", sku, str_at(item, "product.title"),
		      json_string_value(json_object_get(row, "title")));
	assert_str_eq("condition", sku,
		      mapping_condition(json_string_value(json_object_get(item, "condition"))),
		      json_string_value(json_object_get(row, "condition")));
	assert_str_eq("part_number", sku, pn,
		      json_string_value(json_object_get(row, "part_number")));
	assert_str_eq("model", sku, model, json_string_value(json_object_get(row, "model")));
	assert_int_eq(
	    "quantity", sku,
	    int_or_null(json_object_get(json_object_get(json_object_get(item, "availability"),
							"shipToLocationAvailability"),
					"quantity")),
	    int_or_null(json_object_get(row, "quantity")));
	assert_int_eq("photo_count", sku,
		      (long long)json_array_size(
			  json_object_get(json_object_get(item, "product"), "imageUrls")),
		      json_integer_value(json_object_get(row, "photo_count")));
	if (!json_equal(item, json_object_get(row, "raw_payload")))
		fail_msg("raw_payload of SKU '%s' differs from the simulator's item", sku);
	if (!with_offers)
		return;
	assert_str_eq("ebay_status", sku, expected_status(offers),
		      json_string_value(json_object_get(row, "ebay_status")));
	assert_str_eq("price_value", sku, lead ? shown_price(lead, "value") : NULL,
		      json_string_value(json_object_get(row, "price_value")));
	assert_str_eq("price_currency", sku, lead ? shown_price(lead, "currency") : NULL,
		      json_string_value(json_object_get(row, "price_currency")));
	assert_str_eq("ebay_listing_id", sku, lead ? str_at(lead, "listing.listingId") : NULL,
		      json_string_value(json_object_get(row, "ebay_listing_id")));
	assert_str_eq("category", sku, lead ? str_at(lead, "categoryId") : NULL,
		      json_string_value(json_object_get(row, "category")));
}

static void check_offer(const char *sku, json_t *want, json_t *row)
{
	const char *id = json_string_value(json_object_get(want, "offerId"));
	json_t *listing = json_object_get(want, "listing");

	assert_str_eq("offer sku", id, sku, json_string_value(json_object_get(row, "sku_code")));
	assert_str_eq("marketplace_id", id, str_at(want, "marketplaceId"),
		      json_string_value(json_object_get(row, "marketplace_id")));
	assert_str_eq("format", id, str_at(want, "format"),
		      json_string_value(json_object_get(row, "format")));
	assert_str_eq("status", id, str_at(want, "status"),
		      json_string_value(json_object_get(row, "status")));
	assert_str_eq("listing_id", id, listing ? str_at(want, "listing.listingId") : NULL,
		      json_string_value(json_object_get(row, "listing_id")));
	assert_str_eq("listing_status", id, listing ? str_at(want, "listing.listingStatus") : NULL,
		      json_string_value(json_object_get(row, "listing_status")));
	assert_str_eq("price_value", id, str_at(want, "pricingSummary.price.value"),
		      json_string_value(json_object_get(row, "price_value")));
	assert_str_eq("price_currency", id, shown_price(want, "currency"),
		      json_string_value(json_object_get(row, "price_currency")));
	assert_int_eq("available_quantity", id,
		      int_or_null(json_object_get(want, "availableQuantity")),
		      int_or_null(json_object_get(row, "available_quantity")));
	assert_int_eq("sold_quantity", id, int_or_null(json_object_get(listing, "soldQuantity")),
		      int_or_null(json_object_get(row, "sold_quantity")));
	assert_str_eq("category_id", id, str_at(want, "categoryId"),
		      json_string_value(json_object_get(row, "category_id")));
	assert_str_eq("listing_start_date", id, str_at(want, "listingStartDate"),
		      json_string_value(json_object_get(row, "listing_start_date")));
	if (!json_equal(want, json_object_get(row, "raw_payload")))
		fail_msg("raw_payload of offer '%s' differs from the simulator's", id);
}

/* Index rows by a key column. */
static json_t *by_key(json_t *rows, const char *key)
{
	json_t *m = json_object(), *row;
	size_t i;

	json_array_foreach(rows, i, row)
	    json_object_set(m, json_string_value(json_object_get(row, key)), row);
	return m;
}

/*
 * Asserts the store holds exactly the catalog for user: every item (with
 * offer-derived fields when with_offers) and every offer, and nothing else.
 */
static void assert_db_equals_catalog(const char *db, const char *user, json_t *cat, int with_offers)
{
	struct store *s = NULL;
	struct store_query q = {.user_id = user};
	json_t *items = NULL, *offers = NULL, *imap, *omap, *entry;
	long long total = 0;
	size_t n_offers = 0;
	const char *sku;
	char **fails = NULL;
	size_t n_fails = 0;

	assert_int_equal(store_open(db, &s, NULL), ERR_OK);
	assert_int_equal(store_list_items(s, &q, &items, &total), ERR_OK);
	assert_int_equal(store_list_offers(s, &q, &offers, &total), ERR_OK);
	imap = by_key(items, "sku_code");
	omap = by_key(offers, "offer_id");
	assert_int_equal(json_object_size(imap), json_object_size(cat));
	json_object_foreach(cat, sku, entry)
	{
		json_t *row = json_object_get(imap, sku), *o;
		size_t i;

		if (!row)
			fail_msg("SKU '%s' of the catalog is not in the inventory table", sku);
		check_item(sku, entry, row, with_offers);
		json_array_foreach(json_object_get(entry, "offers"), i, o)
		{
			json_t *orow =
			    json_object_get(omap, json_string_value(json_object_get(o, "offerId")));
			n_offers++;
			if (with_offers && !orow)
				fail_msg("offer %s of SKU '%s' is not in the offers table",
					 json_string_value(json_object_get(o, "offerId")), sku);
			if (with_offers)
				check_offer(sku, o, orow);
		}
	}
	if (with_offers)
		assert_int_equal(json_object_size(omap), n_offers);
	assert_int_equal(store_failure_list(s, user, "offers", &fails, &n_fails), ERR_OK);
	for (size_t i = 0; i < n_fails; i++) {
		fprintf(stderr, "left in sync_failures: %s\n", fails[i]);
		free(fails[i]);
	}
	free(fails);
	assert_int_equal(n_fails, 0);
	json_decref(imap);
	json_decref(omap);
	json_decref(items);
	json_decref(offers);
	store_close(s);
}

/* The newest run of user: its status and counts. */
static void newest_run(const char *db, const char *user, struct run_row *out)
{
	struct store *s = NULL;
	struct run_row *runs = NULL;
	size_t n = 0;
	long long total = 0;

	assert_int_equal(store_open(db, &s, NULL), ERR_OK);
	assert_int_equal(store_run_list(s, user, 1, 0, &runs, &n, &total), ERR_OK);
	assert_true(n == 1);
	*out = runs[0];
	free(runs);
	store_close(s);
}

/* 1 when the newest run of user logged a line containing text. */
static int newest_run_logged(const char *db, const char *user, const char *text)
{
	struct store *s = NULL;
	struct run_row run;
	struct event_row *ev = NULL;
	size_t n = 0;
	int found = 0;

	newest_run(db, user, &run);
	assert_int_equal(store_open(db, &s, NULL), ERR_OK);
	assert_int_equal(store_events_list(s, run.id, 0, 1000000, &ev, &n), ERR_OK);
	for (size_t i = 0; i < n; i++) {
		if (strstr(ev[i].line, text))
			found = 1;
		event_row_release(&ev[i]);
	}
	free(ev);
	store_close(s);
	run_row_release(&run);
	return found;
}

static void sim_post(struct env *e, const char *path, const char *json, json_t **answer)
{
	const char *headers[] = {"Content-Type: application/json", NULL};
	char *url = xasprintf("%s%s", e->sim.base_url, path);
	struct testutil_http r;

	assert_int_equal(testutil_http("POST", url, json, headers, &r), 0);
	if (r.status != 200)
		fail_msg("POST %s %s: %ld %s", path, json, r.status, r.body);
	if (answer)
		*answer = json_loads(r.body, 0, NULL);
	testutil_http_release(&r);
	free(url);
}

/* Mutates a share of the catalog; returns how many SKUs changed. */
static long long mutate(struct env *e, double fraction, int seed)
{
	char *body = xasprintf("{\"fraction\":%g,\"seed\":%d}", fraction, seed);
	json_t *a = NULL;
	long long n;

	sim_post(e, "/sim/mutate", body, &a);
	n = json_integer_value(json_object_get(a, "mutated"));
	assert_int_equal((size_t)n, json_array_size(json_object_get(a, "skus")));
	json_decref(a);
	free(body);
	return n;
}

/* Calls the simulator answered so far: one name ("getOffers"), or all. */
static long long calls(struct env *e, const char *name)
{
	char *url = xasprintf("%s/sim/stats", e->sim.base_url);
	json_t *st = testutil_get_json(url, NULL), *by, *v;
	const char *k, *status;
	long long n = 0;

	assert_non_null(st);
	json_object_foreach(json_object_get(st, "calls"), k, by)
	{
		if (name && strcmp(k, name))
			continue;
		json_object_foreach(by, status, v) n += json_integer_value(v);
	}
	json_decref(st);
	free(url);
	return n;
}

/* Every offer of user as its JSON row, by offer id (text). */
static char *offers_text(const char *db, const char *user)
{
	struct store *s = NULL;
	struct store_query q = {.user_id = user, .sort = "offer_id"};
	json_t *rows = NULL;
	long long total;
	size_t i;
	json_t *r;
	char *text;

	assert_int_equal(store_open(db, &s, NULL), ERR_OK);
	assert_int_equal(store_list_offers(s, &q, &rows, &total), ERR_OK);
	json_array_foreach(rows, i, r) json_object_del(r, "rec_updated");
	text = json_dumps(rows, JSON_SORT_KEYS);
	json_decref(rows);
	store_close(s);
	return text;
}

static const char *const quiet_feed[] = {"--feed-delay-ms", "200", NULL};

/*
 * Full sync, mutate 5% of the SKUs, refresh: the database equals the
 * catalog, for the pages, four Feed calls and at most one getOffers per
 * mutated SKU (a full sync makes one per SKU); a second refresh of an
 * unchanged catalog calls getOffers for none and stores nothing.
 */
static void test_refresh_equals_catalog(void **state)
{
	struct env e = {0};

	assert_int_equal(start_sim(&e, quiet_feed), 0);
	e.n_backends = testutil_backends(e.urls, e.names);
	for (int b = 0; b < e.n_backends; b++) {
		long long all_calls, c0, offers0, mutated, refresh_calls, refresh_offers;
		struct run_row run;
		json_t *cat;

		fprintf(stderr, "backend %s\n", e.names[b]);
		c0 = calls(&e, NULL);
		assert_int_equal(run_sync(&e, e.urls[b], "alice", "all", NULL), 0);
		all_calls = calls(&e, NULL) - c0;
		mutated = mutate(&e, 0.05, b + 1);
		assert_int_equal(mutated, 100);

		c0 = calls(&e, NULL);
		offers0 = calls(&e, "getOffers");
		assert_int_equal(run_sync(&e, e.urls[b], "alice", "refresh", NULL), 0);
		refresh_calls = calls(&e, NULL) - c0;
		refresh_offers = calls(&e, "getOffers") - offers0;
		fprintf(stderr,
			"sync all: %lld calls; refresh after %lld mutations: %lld calls, "
			"%lld getOffers\n",
			all_calls, mutated, refresh_calls, refresh_offers);
		cat = sim_catalog(&e);
		assert_db_equals_catalog(e.urls[b], "alice", cat, 1);
		json_decref(cat);
		assert_true(refresh_offers > 0);
		assert_true(refresh_offers <= mutated);
		assert_true(refresh_calls <= 10 + 4 + mutated);
		assert_true(refresh_calls * 10 < all_calls);
		newest_run(e.urls[b], "alice", &run);
		assert_string_equal(run.kind, "refresh");
		assert_string_equal(run.status, "done");
		run_row_release(&run);
		assert_true(newest_run_logged(e.urls[b], "alice", "written from it"));

		/* Nothing changed since: no getOffers, nothing stored. */
		offers0 = calls(&e, "getOffers");
		assert_int_equal(run_sync(&e, e.urls[b], "alice", "refresh", NULL), 0);
		assert_int_equal(calls(&e, "getOffers") - offers0, 0);
		newest_run(e.urls[b], "alice", &run);
		assert_int_equal(run.stored, 0);
		run_row_release(&run);
		assert_true(newest_run_logged(e.urls[b], "alice", "0 changed, 2000 unchanged"));
		cat = sim_catalog(&e);
		assert_db_equals_catalog(e.urls[b], "alice", cat, 1);
		json_decref(cat);
	}
	testutil_backends_release(e.urls, e.n_backends);
	testutil_stop(&e.sim, 0);
}

/*
 * Each way of having no report: the refresh says why in one line and
 * fetches every SKU's offers (the database ends equal to the catalog);
 * with --report-only it fails with the reason, and the offers table is
 * exactly as before (nothing stored from the report).
 */
static void no_report_case(struct env *e, const char *db, const char *user, const char *config,
			   const char *reason, int seed)
{
	const char *report_only[] = {"--report-only", NULL};
	long long offers0;
	struct run_row run;
	char *before, *after;
	json_t *cat;

	fprintf(stderr, "  %s\n", config);
	sim_post(e, "/sim/config", config, NULL);
	mutate(e, 0.05, seed);
	before = offers_text(db, user);
	assert_int_equal(run_sync(e, db, user, "refresh", report_only), 1);
	newest_run(db, user, &run);
	assert_string_equal(run.status, "failed");
	if (!strstr(run.error, reason) || !strstr(run.error, "--report-only"))
		fail_msg("want '%s' in the reason, got '%s'", reason, run.error);
	run_row_release(&run);
	after = offers_text(db, user);
	assert_string_equal(before, after);
	free(before);
	free(after);

	offers0 = calls(e, "getOffers");
	assert_int_equal(run_sync(e, db, user, "refresh", NULL), 0);
	assert_int_equal(calls(e, "getOffers") - offers0, 2000);
	assert_true(newest_run_logged(db, user, "No Active Inventory Report"));
	assert_true(newest_run_logged(db, user, reason));
	cat = sim_catalog(e);
	assert_db_equals_catalog(db, user, cat, 1);
	json_decref(cat);
}

static void test_no_report_falls_back(void **state)
{
	struct env e = {0};
	const char *sim[] = {"--feed-delay-ms", "200", "--feed-daily-cap", "1000", NULL};

	assert_int_equal(start_sim(&e, sim), 0);
	e.n_backends = testutil_backends(e.urls, e.names);
	for (int b = 0; b < e.n_backends; b++) {
		const char *off = "{\"feed_fail\":0,\"feed_partial\":0,\"feed_cut\":0,"
				  "\"feed_corrupt\":0,\"feed_daily_cap\":1000}";

		fprintf(stderr, "backend %s\n", e.names[b]);
		assert_int_equal(run_sync(&e, e.urls[b], "bob", "all", NULL), 0);
		no_report_case(&e, e.urls[b], "bob", "{\"feed_fail\":1}", "FAILED", 10 * b + 1);
		sim_post(&e, "/sim/config", off, NULL);
		no_report_case(&e, e.urls[b], "bob", "{\"feed_partial\":1}", "COMPLETED_WITH_ERROR",
			       10 * b + 2);
		sim_post(&e, "/sim/config", off, NULL);
		no_report_case(&e, e.urls[b], "bob", "{\"feed_corrupt\":1}", "was refused",
			       10 * b + 3);
		sim_post(&e, "/sim/config", off, NULL);
		no_report_case(&e, e.urls[b], "bob", "{\"feed_cut\":1}", "was refused", 10 * b + 4);
		sim_post(&e, "/sim/config", off, NULL);
		/* The cap: every task of the day is used up. */
		no_report_case(&e, e.urls[b], "bob", "{\"feed_daily_cap\":1}", "daily cap",
			       10 * b + 5);
		sim_post(&e, "/sim/config", off, NULL);
	}
	testutil_backends_release(e.urls, e.n_backends);
	testutil_stop(&e.sim, 0);
}

/* Starts a refresh without waiting; returns its pid. */
static pid_t spawn_refresh(struct env *e, const char *db, const char *user)
{
	char *argv[] = {TESTUTIL_APP_BIN, "sync",	"refresh", "--db",	    (char *)db,
			"--user",	  (char *)user, "--env",   "simulator",	    "--api-base",
			e->sim.base_url,  "--token",	TOKEN,	   "--concurrency", "2",
			"--quiet",	  NULL};
	pid_t pid = fork();

	if (pid == 0) {
		int out = open("/dev/null", O_WRONLY);

		if (out < 0)
			_exit(127);
		dup2(out, 1);
		dup2(out, 2);
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

/*
 * STOP (SIGINT) while the refresh fetches offers: exit 130, the run
 * cancelled with what it stored counted, and the next refresh completes
 * the mirror from there.
 */
static void test_stop_keeps_what_was_written(void **state)
{
	struct env e = {0};

	assert_int_equal(start_sim(&e, quiet_feed), 0);
	e.n_backends = testutil_backends(e.urls, e.names);
	for (int b = 0; b < e.n_backends; b++) {
		long long offers0;
		struct run_row run;
		pid_t pid;
		int status;
		json_t *cat;

		fprintf(stderr, "backend %s\n", e.names[b]);
		assert_int_equal(run_sync(&e, e.urls[b], "carol", "all", NULL), 0);
		mutate(&e, 0.2, b + 7);
		/* Slow answers: the getOffers step takes seconds. */
		sim_post(&e, "/sim/config", "{\"latency_ms\":150}", NULL);
		offers0 = calls(&e, "getOffers");
		pid = spawn_refresh(&e, e.urls[b], "carol");
		while (calls(&e, "getOffers") - offers0 < 20)
			timeutil_sleep_ms(50);
		kill(pid, SIGINT);
		waitpid(pid, &status, 0);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 130);
		newest_run(e.urls[b], "carol", &run);
		assert_string_equal(run.kind, "refresh");
		assert_string_equal(run.status, "cancelled");
		assert_true(run.stored > 0);
		run_row_release(&run);
		sim_post(&e, "/sim/config", "{\"latency_ms\":0}", NULL);

		assert_int_equal(run_sync(&e, e.urls[b], "carol", "refresh", NULL), 0);
		cat = sim_catalog(&e);
		assert_db_equals_catalog(e.urls[b], "carol", cat, 1);
		json_decref(cat);
	}
	testutil_backends_release(e.urls, e.n_backends);
	testutil_stop(&e.sim, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_refresh_equals_catalog),
	    cmocka_unit_test(test_no_report_falls_back),
	    cmocka_unit_test(test_stop_keeps_what_was_written),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
