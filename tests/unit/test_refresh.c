/* The refresh's comparison rules (sync_refresh.h): which report rows the
 * stored offers already agree with, which the report settles, and which
 * need getOffers; the payload and amount comparisons; the patch. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "sync_refresh.h"
#include "xalloc.h"

static struct offer_row offer(const char *id, const char *format, const char *status,
			      const char *listing, const char *listing_status, const char *price,
			      long long qty, const char *raw)
{
	struct offer_row o = {0};

	o.offer_id = xstrdup(id);
	o.sku = xstrdup("A-1");
	o.format = xstrdup(format);
	o.status = xstrdup(status);
	o.listing_id = listing ? xstrdup(listing) : NULL;
	o.listing_status = listing_status ? xstrdup(listing_status) : NULL;
	o.price_value = price ? xstrdup(price) : NULL;
	o.price_currency = xstrdup("USD");
	o.available_quantity = qty;
	o.raw_payload = xstrdup(raw ? raw : "{}");
	return o;
}

static const struct report_row row_a = {"A-1", "110", "19.99", "USD", 3, NULL};

static void test_amounts(void **state)
{
	assert_true(refresh_amount_same("25.0", "25"));
	assert_true(refresh_amount_same("25.00", "25.0"));
	assert_true(refresh_amount_same("007.50", "7.5"));
	assert_true(refresh_amount_same("0.5", "0.50"));
	assert_true(refresh_amount_same("100", "100.000"));
	assert_false(refresh_amount_same("100", "10"));
	assert_false(refresh_amount_same("10.01", "10.1"));
	assert_false(refresh_amount_same("1e3", "1000"));
	assert_false(refresh_amount_same(NULL, "1"));
	assert_false(refresh_amount_same("", ""));
}

static void test_payloads(void **state)
{
	/* PostgreSQL gives jsonb back reordered and spaced. */
	assert_true(refresh_payload_same("{\"a\":1,\"b\":[\"x\"]}", "{\"b\": [\"x\"], \"a\": 1}"));
	assert_true(refresh_payload_same("{\"a\":1.5}", "{\"a\": 1.5}"));
	assert_false(refresh_payload_same("{\"a\":1}", "{\"a\":2}"));
	assert_false(refresh_payload_same("{\"a\":1}", "{\"a\":1,\"c\":null}"));
	assert_false(refresh_payload_same("{\"a\":1}", "not json"));
	assert_false(refresh_payload_same("{\"a\":1}", NULL));
}

static void release(struct offer_row *o, size_t n)
{
	for (size_t i = 0; i < n; i++)
		offer_row_release(&o[i]);
}

static void test_fixed_price(void **state)
{
	struct offer_row o[1];
	long m;

	o[0] = offer("1", "FIXED_PRICE", "PUBLISHED", "110", "ACTIVE", "19.990", 3, NULL);
	assert_int_equal(refresh_judge(&row_a, o, 1, &m), REFRESH_SAME);
	assert_int_equal(m, 0);
	o[0].available_quantity = 4; /* a quantity moved */
	assert_int_equal(refresh_judge(&row_a, o, 1, &m), REFRESH_WRITE);
	o[0].available_quantity = 3;
	free(o[0].price_value);
	o[0].price_value = xstrdup("18.00"); /* a price moved */
	assert_int_equal(refresh_judge(&row_a, o, 1, &m), REFRESH_WRITE);
	free(o[0].price_currency);
	o[0].price_currency = xstrdup("GBP");
	free(o[0].price_value);
	o[0].price_value = xstrdup("19.99"); /* the currency moved */
	assert_int_equal(refresh_judge(&row_a, o, 1, &m), REFRESH_WRITE);
	o[0].available_quantity = -1; /* no quantity of its own: cannot tell */
	assert_int_equal(refresh_judge(&row_a, o, 1, &m), REFRESH_FETCH);
	release(o, 1);
}

static void test_unsettled(void **state)
{
	struct offer_row o[2];
	long m;

	/* A listing the mirror does not know: relisted, or published since. */
	o[0] = offer("1", "FIXED_PRICE", "PUBLISHED", "999", "ACTIVE", "19.99", 3, NULL);
	assert_int_equal(refresh_judge(&row_a, o, 1, &m), REFRESH_FETCH);
	assert_int_equal(m, -1);
	assert_int_equal(refresh_judge(&row_a, o, 0, &m), REFRESH_FETCH);
	release(o, 1);
	/* Stored as ended, listed now. */
	o[0] = offer("1", "FIXED_PRICE", "PUBLISHED", "110", "ENDED", "19.99", 3, NULL);
	assert_int_equal(refresh_judge(&row_a, o, 1, &m), REFRESH_FETCH);
	assert_int_equal(m, 0);
	release(o, 1);
	/* Two offers claiming one listing. */
	o[0] = offer("1", "FIXED_PRICE", "PUBLISHED", "110", "ACTIVE", "19.99", 3, NULL);
	o[1] = offer("2", "FIXED_PRICE", "PUBLISHED", "110", "ACTIVE", "19.99", 3, NULL);
	assert_int_equal(refresh_judge(&row_a, o, 2, &m), REFRESH_FETCH);
	assert_int_equal(m, -1);
	release(o, 2);
}

static void test_several_offers(void **state)
{
	struct offer_row o[2];
	long m;

	/* The row is the second offer's listing; the first one is left alone. */
	o[0] = offer("1", "FIXED_PRICE", "PUBLISHED", "111", "ACTIVE", "5.00", 1, NULL);
	o[1] = offer("2", "FIXED_PRICE", "PUBLISHED", "110", "ACTIVE", "19.99", 2, NULL);
	assert_int_equal(refresh_judge(&row_a, o, 2, &m), REFRESH_WRITE);
	assert_int_equal(m, 1);
	release(o, 2);
}

static void test_auction(void **state)
{
	struct offer_row o[1];
	struct report_row r = row_a;
	long m;

	/* No Buy It Now price: the report shows the start price. */
	o[0] = offer("1", "AUCTION", "PUBLISHED", "110", "ACTIVE", NULL, 3,
		     "{\"pricingSummary\":{\"auctionStartPrice\":{\"value\":\"19.99\","
		     "\"currency\":\"USD\"}}}");
	assert_int_equal(refresh_judge(&r, o, 1, &m), REFRESH_SAME);
	r.price = "21.00";
	assert_int_equal(refresh_judge(&r, o, 1, &m), REFRESH_FETCH);
	release(o, 1);
	/* With one: the report shows it. */
	o[0] = offer("1", "AUCTION", "PUBLISHED", "110", "ACTIVE", "21.0", 3,
		     "{\"pricingSummary\":{\"auctionStartPrice\":{\"value\":\"19.99\","
		     "\"currency\":\"USD\"},\"price\":{\"value\":\"21.0\",\"currency\":\"USD\"}}}");
	assert_int_equal(refresh_judge(&r, o, 1, &m), REFRESH_SAME);
	r.quantity = 0;
	assert_int_equal(refresh_judge(&r, o, 1, &m), REFRESH_FETCH);
	release(o, 1);
}

static void test_patch(void **state)
{
	struct offer_row o = offer("1", "FIXED_PRICE", "PUBLISHED", "110", "ACTIVE", "5.00", 1,
				   "{\"offerId\":\"1\",\"availableQuantity\":1,\"pricingSummary\":"
				   "{\"price\":{\"value\":\"5.00\",\"currency\":\"USD\"}},"
				   "\"listing\":{\"listingId\":\"110\",\"soldQuantity\":4}}");
	json_t *want = json_loads("{\"offerId\":\"1\",\"availableQuantity\":3,\"pricingSummary\":"
				  "{\"price\":{\"value\":\"19.99\",\"currency\":\"USD\"}},"
				  "\"listing\":{\"listingId\":\"110\",\"soldQuantity\":4}}",
				  0, NULL);
	json_t *got;
	long m;

	refresh_patch_offer(&o, &row_a);
	assert_string_equal(o.price_value, "19.99");
	assert_string_equal(o.price_currency, "USD");
	assert_int_equal(o.available_quantity, 3);
	got = json_loads(o.raw_payload, 0, NULL);
	assert_true(json_equal(want, got));
	/* Once patched, the row agrees. */
	assert_int_equal(refresh_judge(&row_a, &o, 1, &m), REFRESH_SAME);
	json_decref(got);
	json_decref(want);
	offer_row_release(&o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_amounts),	   cmocka_unit_test(test_payloads),
	    cmocka_unit_test(test_fixed_price),	   cmocka_unit_test(test_unsettled),
	    cmocka_unit_test(test_several_offers), cmocka_unit_test(test_auction),
	    cmocka_unit_test(test_patch),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
