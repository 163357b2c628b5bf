/* The catalog checks shared by the sync integration tests (catalog_check.h). */
#include "catalog_check.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "xalloc.h"

int catalog_start_sim(struct catalog_env *e, const char *const extra[])
{
	char *argv[64] = {TESTUTIL_SIM_BIN, "--listen",	  "127.0.0.1:0", "--seed",     "42",
			  "--skus",	    CATALOG_SKUS, "--token",	 CATALOG_TOKEN};
	int n = 9;

	for (int i = 0; extra && extra[i]; i++)
		argv[n++] = (char *)extra[i];
	argv[n] = NULL;
	return testutil_spawn(&e->sim, argv, NULL);
}

/* Runs `ebaysync sync KIND` against the simulator; returns its exit code. */
int catalog_run_sync(struct catalog_env *e, const char *db, const char *user, const char *kind,
		     const char *const extra[])
{
	char *argv[64] = {
	    TESTUTIL_APP_BIN, "sync",	(char *)kind, "--db",	    (char *)db,	     "--user",
	    (char *)user,     "--env",	"simulator",  "--api-base", e->sim.base_url, "--token",
	    CATALOG_TOKEN,    "--json", "--max-rps",  "5000",	    "--concurrency", "16"};
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
json_t *catalog_fetch(struct catalog_env *e)
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

const char *catalog_str_at(json_t *o, const char *path)
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
json_t *catalog_lead_offer(json_t *offers)
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

const char *catalog_expected_status(json_t *offers)
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
	v = catalog_str_at(offer, path);
	if (!catalog_str_at(offer, "pricingSummary.price.value")) {
		snprintf(path, sizeof(path), "pricingSummary.auctionStartPrice.%s", what);
		v = catalog_str_at(offer, path);
	}
	return v;
}

void catalog_check_item(const char *sku, json_t *want, json_t *row, int with_offers)
{
	json_t *item = json_object_get(want, "item");
	json_t *offers = json_object_get(want, "offers");
	json_t *lead = catalog_lead_offer(offers);
	const char *pn = aspect(item, "Part Number");
	const char *model = aspect(item, "Model");

	if (!pn)
		pn = aspect(item, "MPN");
	if (!pn)
		pn = aspect(item, "Brand Part Number");
	if (!pn)
		pn = catalog_str_at(item, "product.mpn");
	if (!model)
		model = aspect(item, "Model Number");

	assert_str_eq("title", sku, catalog_str_at(item, "product.title"),
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
	assert_str_eq("ebay_status", sku, catalog_expected_status(offers),
		      json_string_value(json_object_get(row, "ebay_status")));
	assert_str_eq("price_value", sku, lead ? shown_price(lead, "value") : NULL,
		      json_string_value(json_object_get(row, "price_value")));
	assert_str_eq("price_currency", sku, lead ? shown_price(lead, "currency") : NULL,
		      json_string_value(json_object_get(row, "price_currency")));
	assert_str_eq("ebay_listing_id", sku,
		      lead ? catalog_str_at(lead, "listing.listingId") : NULL,
		      json_string_value(json_object_get(row, "ebay_listing_id")));
	assert_str_eq("category", sku, lead ? catalog_str_at(lead, "categoryId") : NULL,
		      json_string_value(json_object_get(row, "category")));
}

void catalog_check_offer(const char *sku, json_t *want, json_t *row)
{
	const char *id = json_string_value(json_object_get(want, "offerId"));
	json_t *listing = json_object_get(want, "listing");

	assert_str_eq("offer sku", id, sku, json_string_value(json_object_get(row, "sku_code")));
	assert_str_eq("marketplace_id", id, catalog_str_at(want, "marketplaceId"),
		      json_string_value(json_object_get(row, "marketplace_id")));
	assert_str_eq("format", id, catalog_str_at(want, "format"),
		      json_string_value(json_object_get(row, "format")));
	assert_str_eq("status", id, catalog_str_at(want, "status"),
		      json_string_value(json_object_get(row, "status")));
	assert_str_eq("listing_id", id, listing ? catalog_str_at(want, "listing.listingId") : NULL,
		      json_string_value(json_object_get(row, "listing_id")));
	assert_str_eq("listing_status", id,
		      listing ? catalog_str_at(want, "listing.listingStatus") : NULL,
		      json_string_value(json_object_get(row, "listing_status")));
	assert_str_eq("price_value", id, catalog_str_at(want, "pricingSummary.price.value"),
		      json_string_value(json_object_get(row, "price_value")));
	assert_str_eq("price_currency", id, shown_price(want, "currency"),
		      json_string_value(json_object_get(row, "price_currency")));
	assert_str_eq("auction_start_price", id,
		      catalog_str_at(want, "pricingSummary.auctionStartPrice.value"),
		      json_string_value(json_object_get(row, "auction_start_price")));
	assert_int_eq("available_quantity", id,
		      int_or_null(json_object_get(want, "availableQuantity")),
		      int_or_null(json_object_get(row, "available_quantity")));
	assert_int_eq("sold_quantity", id, int_or_null(json_object_get(listing, "soldQuantity")),
		      int_or_null(json_object_get(row, "sold_quantity")));
	assert_str_eq("category_id", id, catalog_str_at(want, "categoryId"),
		      json_string_value(json_object_get(row, "category_id")));
	assert_str_eq("listing_start_date", id, catalog_str_at(want, "listingStartDate"),
		      json_string_value(json_object_get(row, "listing_start_date")));
	if (!json_equal(want, json_object_get(row, "raw_payload")))
		fail_msg("raw_payload of offer '%s' differs from the simulator's", id);
}

/* Index rows by a key column. */
json_t *catalog_by_key(json_t *rows, const char *key)
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
void catalog_assert_db_equals(const char *db, const char *user, json_t *cat, int with_offers)
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
	imap = catalog_by_key(items, "sku_code");
	omap = catalog_by_key(offers, "offer_id");
	assert_int_equal(json_object_size(imap), json_object_size(cat));
	json_object_foreach(cat, sku, entry)
	{
		json_t *row = json_object_get(imap, sku), *o;
		size_t i;

		if (!row)
			fail_msg("SKU '%s' of the catalog is not in the inventory table", sku);
		catalog_check_item(sku, entry, row, with_offers);
		json_array_foreach(json_object_get(entry, "offers"), i, o)
		{
			json_t *orow =
			    json_object_get(omap, json_string_value(json_object_get(o, "offerId")));
			n_offers++;
			if (with_offers && !orow)
				fail_msg("offer %s of SKU '%s' is not in the offers table",
					 json_string_value(json_object_get(o, "offerId")), sku);
			if (with_offers)
				catalog_check_offer(sku, o, orow);
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
void catalog_newest_run(const char *db, const char *user, struct run_row *out)
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

int catalog_newest_run_logged(const char *db, const char *user, const char *text)
{
	struct store *s = NULL;
	struct run_row run;
	struct event_row *ev = NULL;
	size_t n = 0;
	int found = 0;

	catalog_newest_run(db, user, &run);
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

/*
 * Runs an offers sync whose Step 2 meets 30% of 500s with one attempt per
 * request: the faults are switched on once Step 1 (the inventory pages) is
 * complete, by watching the run's JSON lines. Returns the exit code.
 */
