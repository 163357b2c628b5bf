/*
 * Unit tests of mapping.c: every row of the design document's data mapping
 * table, every eBay condition, the status rule, both item shapes (eBay's and
 * the document's), offers, applying offers to items, and hostile SKUs.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "mapping.h"
#include "xalloc.h"

/* Parses JSON text that the test itself wrote; aborts the test if broken. */
static json_t *parse(const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, 0, &e);

	if (!j)
		fail_msg("test JSON does not parse: %s: %s", e.text, text);
	return j;
}

/* Maps item text; asserts success. */
static void map_ok(const char *text, struct item_row *row, struct buf *warn)
{
	json_t *j = parse(text);
	struct buf why;
	enum error err;

	buf_init(&why, 0);
	err = mapping_item_from_json(j, row, warn, &why);
	if (err)
		fail_msg("mapping failed (%s): %s", error_strerror(err), buf_str(&why));
	json_decref(j);
	buf_release(&why);
}

/* Maps item j; asserts ERR_PARSE with a reason that contains needle. */
static void map_refused(json_t *j, const char *needle)
{
	struct item_row row;
	struct buf why;

	buf_init(&why, 0);
	assert_int_equal(mapping_item_from_json(j, &row, NULL, &why), ERR_PARSE);
	if (!strstr(buf_str(&why), needle))
		fail_msg("reason '%s' does not contain '%s'", buf_str(&why), needle);
	assert_null(row.sku);
	assert_null(row.raw_payload);
	buf_release(&why);
}

static const char real_item[] =
    "{\"sku\":\"GP-HERO12\",\"locale\":\"en_US\",\"condition\":\"USED_EXCELLENT\","
    "\"conditionDescription\":\"light scratches\","
    "\"availability\":{\"shipToLocationAvailability\":{\"quantity\":7}},"
    "\"product\":{\"title\":\"GoPro HERO12 Black\",\"brand\":\"GoPro\",\"mpn\":\"CHDHX-121\","
    "\"aspects\":{\"Brand\":[\"GoPro\"],\"Part Number\":[\"PN-1\",\"PN-2\"],"
    "\"Model\":[\"HERO12 Black\"]},"
    "\"imageUrls\":[\"https://i.example/1.jpg\",\"https://i.example/2.jpg\","
    "\"https://i.example/3.jpg\"]},\"groupIds\":[\"G1\"]}";

static void test_real_item_every_row(void **state)
{
	struct item_row row;
	struct buf warn;

	buf_init(&warn, 0);
	map_ok(real_item, &row, &warn);
	assert_string_equal(row.sku, "GP-HERO12");
	assert_string_equal(row.title, "GoPro HERO12 Black");
	assert_string_equal(row.condition, "USED_EXCELLENT");
	assert_int_equal(row.quantity, 7);
	assert_string_equal(row.part_number, "PN-1");
	assert_string_equal(row.model, "HERO12 Black");
	assert_int_equal(row.photo_count, 3);
	/* eBay's real item has no price, offers or category: left for offers. */
	assert_null(row.category);
	assert_null(row.price_value);
	assert_null(row.price_currency);
	assert_null(row.ebay_listing_id);
	assert_null(row.ebay_status);
	assert_int_equal(row.offer_fields_known, 0);
	/* The whole item, compact, keys in the order received. */
	assert_string_equal(row.raw_payload, real_item);
	assert_int_equal(warn.len, 0);
	item_row_release(&row);
	buf_release(&warn);
}

static void test_raw_payload_keeps_key_order(void **state)
{
	struct item_row row;

	map_ok("{ \"zeta\": 1, \"sku\": \"K\", \"alpha\": [1, 2.5, \"x\"], \"mid\": {\"b\": null, "
	       "\"a\": true} }",
	       &row, NULL);
	assert_string_equal(row.raw_payload,
			    "{\"zeta\":1,\"sku\":\"K\",\"alpha\":[1,2.5,\"x\"],\"mid\":{\"b\":null,"
			    "\"a\":true}}");
	item_row_release(&row);
}

static void test_minimal_item_defaults(void **state)
{
	struct item_row row;
	struct buf warn;

	buf_init(&warn, 0);
	map_ok("{\"sku\":\"ONLY\"}", &row, &warn);
	assert_string_equal(row.sku, "ONLY");
	assert_null(row.title);
	assert_null(row.condition);
	assert_null(row.part_number);
	assert_null(row.model);
	assert_int_equal(row.quantity, -1);
	assert_int_equal(row.photo_count, 0);
	assert_int_equal(row.offer_fields_known, 0);
	assert_int_equal(warn.len, 0); /* an absent condition is not unknown */
	item_row_release(&row);
	buf_release(&warn);
}

static void test_document_shape(void **state)
{
	struct item_row row;

	map_ok("{\"sku\":\"DOC1\",\"product\":{\"title\":\"Doc item\",\"categoryId\":\"31388\","
	       "\"aspects\":{\"Brand\":\"Acme\",\"Model\":\"M-1\",\"Part Number\":\"P-9\"},"
	       "\"imageUrls\":[\"a\",\"b\"]},\"condition\":\"NEW\","
	       "\"availability\":{\"shipToLocationAvailability\":{\"quantity\":\"3\"}},"
	       "\"pricingSummary\":{\"price\":{\"value\":\"19.90\",\"currency\":\"USD\"}},"
	       "\"offers\":[{\"offerId\":\"O-1\",\"status\":\"ENDED\",\"listingId\":\"L-1\"},"
	       "{\"offerId\":\"O-2\",\"status\":\"PUBLISHED\",\"listingId\":\"L-2\"}]}",
	       &row, NULL);
	assert_string_equal(row.title, "Doc item");
	assert_string_equal(row.condition, "NEW");
	assert_int_equal(row.quantity, 3);
	assert_string_equal(row.part_number, "P-9");
	assert_string_equal(row.model, "M-1");
	assert_string_equal(row.category, "31388");
	assert_string_equal(row.price_value, "19.90"); /* exactly as sent */
	assert_string_equal(row.price_currency, "USD");
	assert_string_equal(row.ebay_listing_id, "L-1"); /* offers[0] */
	assert_string_equal(row.ebay_status, "ACTIVE");	 /* any PUBLISHED */
	assert_int_equal(row.photo_count, 2);
	assert_int_equal(row.offer_fields_known, 1);
	item_row_release(&row);
}

static void test_document_shape_listing_id_fallbacks(void **state)
{
	struct item_row row;

	/* offers[0].listing.listingId when there is no listingId. */
	map_ok("{\"sku\":\"D2\",\"offers\":[{\"offerId\":\"O-7\",\"status\":\"UNPUBLISHED\","
	       "\"listing\":{\"listingId\":\"L-7\"}}]}",
	       &row, NULL);
	assert_string_equal(row.ebay_listing_id, "L-7");
	assert_string_equal(row.ebay_status, "ENDED");
	item_row_release(&row);

	/* else the offer id, as the document's table says. */
	map_ok("{\"sku\":\"D3\",\"offers\":[{\"offerId\":\"O-8\",\"status\":\"ENDED\"}]}", &row,
	       NULL);
	assert_string_equal(row.ebay_listing_id, "O-8");
	assert_string_equal(row.ebay_status, "ENDED");
	assert_null(row.price_value);
	item_row_release(&row);

	/* A price without offers: status UNKNOWN, no listing. */
	map_ok("{\"sku\":\"D4\",\"pricingSummary\":{\"price\":{\"value\":19.99,"
	       "\"currency\":\"EUR\"}}}",
	       &row, NULL);
	assert_string_equal(row.price_value, "19.99"); /* a JSON number, shortest text */
	assert_string_equal(row.price_currency, "EUR");
	assert_null(row.ebay_listing_id);
	assert_string_equal(row.ebay_status, "UNKNOWN");
	assert_int_equal(row.offer_fields_known, 1);
	item_row_release(&row);

	/* An empty offers array: UNKNOWN. */
	map_ok("{\"sku\":\"D5\",\"offers\":[],\"pricingSummary\":{\"price\":{\"value\":20}}}", &row,
	       NULL);
	assert_string_equal(row.price_value, "20");
	assert_string_equal(row.ebay_status, "UNKNOWN");
	item_row_release(&row);

	/* product.categoryId alone is the document's shape too. */
	map_ok("{\"sku\":\"D6\",\"product\":{\"categoryId\":177}}", &row, NULL);
	assert_string_equal(row.category, "177");
	assert_int_equal(row.offer_fields_known, 1);
	assert_string_equal(row.ebay_status, "UNKNOWN");
	item_row_release(&row);
}

static const char *const all_conditions[] = {
    "NEW",
    "LIKE_NEW",
    "NEW_OTHER",
    "NEW_WITH_DEFECTS",
    "CERTIFIED_REFURBISHED",
    "EXCELLENT_REFURBISHED",
    "VERY_GOOD_REFURBISHED",
    "GOOD_REFURBISHED",
    "SELLER_REFURBISHED",
    "USED_EXCELLENT",
    "USED_VERY_GOOD",
    "USED_GOOD",
    "USED_ACCEPTABLE",
    "FOR_PARTS_OR_NOT_WORKING",
    "PRE_OWNED_EXCELLENT",
    "PRE_OWNED_FAIR",
};

static void test_every_known_condition(void **state)
{
	size_t i;

	assert_int_equal(sizeof(all_conditions) / sizeof(all_conditions[0]), 16);
	for (i = 0; i < 16; i++) {
		char *text =
		    xasprintf("{\"sku\":\"C%zu\",\"condition\":\"%s\"}", i, all_conditions[i]);
		struct item_row row;
		struct buf warn;

		buf_init(&warn, 0);
		assert_string_equal(mapping_condition(all_conditions[i]), all_conditions[i]);
		map_ok(text, &row, &warn);
		assert_non_null(row.condition);
		assert_string_equal(row.condition, all_conditions[i]);
		assert_int_equal(warn.len, 0);
		item_row_release(&row);
		buf_release(&warn);
		free(text);
	}
	/* The exported list (the simulator generates from it) is this one. */
	assert_int_equal(mapping_n_conditions, 16);
	for (i = 0; i < 16; i++)
		assert_string_equal(mapping_conditions[i], all_conditions[i]);
}

static void test_deprecated_condition(void **state)
{
	struct item_row row;
	struct buf warn;

	buf_init(&warn, 0);
	assert_string_equal(mapping_condition("MANUFACTURER_REFURBISHED"), "CERTIFIED_REFURBISHED");
	map_ok("{\"sku\":\"R1\",\"condition\":\"MANUFACTURER_REFURBISHED\"}", &row, &warn);
	assert_string_equal(row.condition, "CERTIFIED_REFURBISHED");
	assert_int_equal(warn.len, 0);
	item_row_release(&row);
	buf_release(&warn);
}

static void test_unknown_condition_warns(void **state)
{
	struct item_row row;
	struct buf warn;

	buf_init(&warn, 0);
	assert_null(mapping_condition("BROKEN"));
	assert_null(mapping_condition("new")); /* eBay's values are upper case */
	assert_null(mapping_condition(NULL));
	map_ok("{\"sku\":\"U-1\",\"condition\":\"BROKEN\",\"product\":{\"title\":\"t\"}}", &row,
	       &warn);
	assert_null(row.condition);
	assert_string_equal(row.title, "t");			/* still mapped */
	assert_non_null(strstr(row.raw_payload, "\"BROKEN\"")); /* kept in the payload */
	assert_string_equal(buf_str(&warn), "unknown condition 'BROKEN' for SKU 'U-1'");
	item_row_release(&row);

	/* Warnings accumulate, separated; a non-string condition is unknown too. */
	map_ok("{\"sku\":\"U-2\",\"condition\":3000}", &row, &warn);
	assert_null(row.condition);
	assert_string_equal(buf_str(&warn), "unknown condition 'BROKEN' for SKU 'U-1'; "
					    "unknown condition '3000' for SKU 'U-2'");
	item_row_release(&row);

	/* A hostile value is cut short and control characters are masked. */
	buf_reset(&warn);
	map_ok("{\"sku\":\"U-3\",\"condition\":\"bad\\nvalue-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	       "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}",
	       &row, &warn);
	assert_null(strchr(buf_str(&warn), '\n'));
	assert_non_null(strstr(buf_str(&warn), "'bad?value-aaa"));
	assert_non_null(strstr(buf_str(&warn), "...' for SKU 'U-3'"));
	item_row_release(&row);

	/* No warn buffer: still mapped, no crash. */
	map_ok("{\"sku\":\"U-4\",\"condition\":\"WHATEVER\"}", &row, NULL);
	assert_null(row.condition);
	item_row_release(&row);
	buf_release(&warn);
}

static void test_aspects_arrays_and_strings(void **state)
{
	struct item_row row;

	map_ok("{\"sku\":\"A1\",\"product\":{\"aspects\":{\"Part Number\":[\"X1\",\"X2\"],"
	       "\"Model\":\"plain\"}}}",
	       &row, NULL);
	assert_string_equal(row.part_number, "X1");
	assert_string_equal(row.model, "plain");
	item_row_release(&row);

	/* Empty arrays, empty strings and non-strings count as absent. */
	map_ok("{\"sku\":\"A2\",\"product\":{\"aspects\":{\"Part Number\":[],\"MPN\":[\"\"],"
	       "\"Brand Part Number\":[7],\"Model\":\"\",\"Model Number\":[\"MN\"]},"
	       "\"mpn\":\"FALLBACK\"}}",
	       &row, NULL);
	assert_string_equal(row.part_number, "FALLBACK");
	assert_string_equal(row.model, "MN");
	item_row_release(&row);

	/* aspects that is not an object is ignored. */
	map_ok("{\"sku\":\"A3\",\"product\":{\"aspects\":\"Model: X\"}}", &row, NULL);
	assert_null(row.part_number);
	assert_null(row.model);
	item_row_release(&row);
}

static void test_part_number_fallbacks(void **state)
{
	static const struct {
		const char *json, *want;
	} cases[] = {
	    {"{\"sku\":\"P\",\"product\":{\"aspects\":{\"MPN\":[\"M\"],\"Part Number\":[\"PN\"],"
	     "\"Brand Part Number\":[\"B\"]},\"mpn\":\"X\"}}",
	     "PN"},
	    {"{\"sku\":\"P\",\"product\":{\"aspects\":{\"Brand Part Number\":[\"B\"],"
	     "\"MPN\":[\"M\"]},\"mpn\":\"X\"}}",
	     "M"},
	    {"{\"sku\":\"P\",\"product\":{\"aspects\":{\"Brand Part Number\":[\"B\"]},"
	     "\"mpn\":\"X\"}}",
	     "B"},
	    {"{\"sku\":\"P\",\"product\":{\"aspects\":{\"Brand\":[\"Z\"]},\"mpn\":\"X\"}}", "X"},
	    {"{\"sku\":\"P\",\"product\":{\"aspects\":{\"Brand\":[\"Z\"]}}}", NULL},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct item_row row;

		map_ok(cases[i].json, &row, NULL);
		if (cases[i].want)
			assert_string_equal(row.part_number, cases[i].want);
		else
			assert_null(row.part_number);
		item_row_release(&row);
	}
}

static void test_model_fallbacks(void **state)
{
	struct item_row row;

	map_ok("{\"sku\":\"M\",\"product\":{\"aspects\":{\"Model Number\":[\"MN\"],"
	       "\"Model\":[\"MO\"]}}}",
	       &row, NULL);
	assert_string_equal(row.model, "MO");
	item_row_release(&row);
	map_ok("{\"sku\":\"M\",\"product\":{\"aspects\":{\"Model Number\":[\"MN\"]}}}", &row, NULL);
	assert_string_equal(row.model, "MN");
	item_row_release(&row);
	map_ok("{\"sku\":\"M\",\"product\":{\"aspects\":{\"model\":[\"lower\"]}}}", &row, NULL);
	assert_null(row.model); /* aspect names are matched exactly */
	item_row_release(&row);
}

static void test_quantity_forms(void **state)
{
	static const struct {
		const char *value;
		long long want;
		int warns;
	} cases[] = {
	    {"5", 5, 0},     {"\"12\"", 12, 0}, {"0", 0, 0},	    {"5.0", 5, 0},
	    {"null", -1, 0}, {"-3", -1, 1},	{"\"abc\"", -1, 1}, {"\"\"", -1, 1},
	    {"2.5", -1, 1},  {"[1]", -1, 1},	{"\"-1\"", -1, 1},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *text = xasprintf("{\"sku\":\"Q\",\"availability\":"
				       "{\"shipToLocationAvailability\":{\"quantity\":%s}}}",
				       cases[i].value);
		struct item_row row;
		struct buf warn;

		buf_init(&warn, 0);
		map_ok(text, &row, &warn);
		if (row.quantity != cases[i].want)
			fail_msg("quantity %s mapped to %lld, want %lld", cases[i].value,
				 row.quantity, cases[i].want);
		assert_int_equal(warn.len > 0, cases[i].warns);
		if (cases[i].warns)
			assert_non_null(strstr(buf_str(&warn), "invalid quantity"));
		item_row_release(&row);
		buf_release(&warn);
		free(text);
	}
}

/* A price is kept only as a plain decimal amount; anything else is NULL
 * with a warning that names the price and the SKU, in the item's document
 * shape and in an offer alike. */
static const struct {
	const char *value; /* JSON */
	const char *want;  /* NULL: dropped */
	const char *warning;
} price_cases[] = {
    {"\"19.99\"", "19.99", NULL},
    {"\"20\"", "20", NULL},
    {"\"0.5\"", "0.5", NULL},
    {"\"25.0\"", "25.0", NULL},
    {"19.99", "19.99", NULL},
    {"7", "7", NULL},
    {"null", NULL, NULL},
    {"\"N/A\"", NULL, "price 'N/A' of SKU 'P' is not a decimal amount"},
    {"\"\"", NULL, "price '' of SKU 'P' is not a decimal amount"},
    {"\"-1.00\"", NULL, "price '-1.00' of SKU 'P' is not a decimal amount"},
    {"-3", NULL, "price '-3' of SKU 'P' is not a decimal amount"},
    {"\"1e3\"", NULL, "price '1e3' of SKU 'P' is not a decimal amount"},
    {"1e300", NULL, "price '1e+300' of SKU 'P' is not a decimal amount"},
    {"\".5\"", NULL, "price '.5' of SKU 'P' is not a decimal amount"},
    {"\"12.\"", NULL, "price '12.' of SKU 'P' is not a decimal amount"},
    {"\"19,99\"", NULL, "price '19,99' of SKU 'P' is not a decimal amount"},
    {"\" 19.99\"", NULL, "price ' 19.99' of SKU 'P' is not a decimal amount"},
    {"true", NULL, "price 'true' of SKU 'P' is not a decimal amount"},
    {"{\"amount\":1}", NULL, "price '{\"amount\":1}' of SKU 'P' is not a decimal amount"},
};

static void check_price(size_t i, const char *got, const struct buf *warn)
{
	if (price_cases[i].want)
		assert_string_equal(got, price_cases[i].want);
	else
		assert_null(got);
	if (price_cases[i].warning)
		assert_string_equal(buf_str(warn), price_cases[i].warning);
	else
		assert_int_equal(warn->len, 0);
}

static void test_price_forms_item(void **state)
{
	for (size_t i = 0; i < sizeof(price_cases) / sizeof(price_cases[0]); i++) {
		char *text = xasprintf("{\"sku\":\"P\",\"pricingSummary\":{\"price\":"
				       "{\"value\":%s,\"currency\":\"USD\"}}}",
				       price_cases[i].value);
		struct item_row row;
		struct buf warn = BUF_INIT;

		map_ok(text, &row, &warn);
		check_price(i, row.price_value, &warn);
		assert_string_equal(row.price_currency, "USD");
		assert_int_equal(row.offer_fields_known, 1);
		item_row_release(&row);
		buf_release(&warn);
		free(text);
	}
}

static void test_price_forms_offer(void **state)
{
	for (size_t i = 0; i < sizeof(price_cases) / sizeof(price_cases[0]); i++) {
		char *text = xasprintf("{\"offerId\":\"O-1\",\"sku\":\"P\",\"pricingSummary\":"
				       "{\"price\":{\"value\":%s,\"currency\":\"USD\"}}}",
				       price_cases[i].value);
		json_t *j = parse(text);
		struct offer_row o;
		struct buf warn = BUF_INIT, why = BUF_INIT;

		assert_int_equal(mapping_offer_from_json(j, &o, &warn, &why), ERR_OK);
		check_price(i, o.price_value, &warn);
		assert_string_equal(o.price_currency, "USD");
		offer_row_release(&o);
		json_decref(j);
		buf_release(&warn);
		buf_release(&why);
		free(text);
	}
}

/* An offer without a sku of its own is named by its id; the document's
 * offer shape (price at the top) is read the same way; the warning of an
 * item without offer fields of its own never mentions a price. */
static void test_price_warning_names(void **state)
{
	json_t *j = parse("{\"offerId\":\"O-9\",\"price\":{\"value\":\"TBD\"}}");
	struct buf warn = BUF_INIT, why = BUF_INIT;
	struct offer_row o;
	struct item_row row;

	assert_int_equal(mapping_offer_from_json(j, &o, &warn, &why), ERR_OK);
	assert_null(o.price_value);
	assert_string_equal(buf_str(&warn), "price 'TBD' of offer 'O-9' is not a decimal amount");
	offer_row_release(&o);
	json_decref(j);
	buf_reset(&warn);
	map_ok("{\"sku\":\"W\",\"condition\":\"MINT\",\"pricingSummary\":{\"price\":"
	       "{\"value\":\"free\"}}}",
	       &row, &warn);
	assert_string_equal(buf_str(&warn), "unknown condition 'MINT' for SKU 'W'; price 'free' of "
					    "SKU 'W' is not a decimal amount");
	item_row_release(&row);
	buf_release(&warn);
	buf_release(&why);
	assert_true(mapping_is_decimal("0"));
	assert_true(mapping_is_decimal("123456789012345678901234.5678"));
	assert_false(mapping_is_decimal(NULL));
	assert_false(mapping_is_decimal("1.2.3"));
	/* MAPPING_PRICE_MAX bytes is the most a price may have. */
	{
		char long_price[MAPPING_PRICE_MAX + 2];

		memset(long_price, '9', sizeof(long_price));
		long_price[MAPPING_PRICE_MAX - 2] = '.';
		long_price[MAPPING_PRICE_MAX] = '\0';
		assert_true(mapping_is_decimal(long_price));
		long_price[MAPPING_PRICE_MAX] = '9';
		long_price[MAPPING_PRICE_MAX + 1] = '\0';
		assert_false(mapping_is_decimal(long_price));
	}
}

static void test_photo_count(void **state)
{
	struct item_row row;

	map_ok("{\"sku\":\"PH\",\"product\":{\"imageUrls\":[]}}", &row, NULL);
	assert_int_equal(row.photo_count, 0);
	item_row_release(&row);
	map_ok("{\"sku\":\"PH\",\"product\":{\"imageUrls\":\"one.jpg\"}}", &row, NULL);
	assert_int_equal(row.photo_count, 0);
	item_row_release(&row);
	map_ok("{\"sku\":\"PH\",\"product\":{\"imageUrls\":[\"1\",\"2\",\"3\",\"4\",\"5\",\"6\","
	       "\"7\",\"8\",\"9\",\"10\",\"11\",\"12\"]}}",
	       &row, NULL);
	assert_int_equal(row.photo_count, 12);
	item_row_release(&row);
}

static void test_status_rule(void **state)
{
	const char *published[] = {"UNPUBLISHED", "PUBLISHED"};
	const char *in_progress[] = {"PUBLISHED_IN_PROGRESS"};
	const char *unpublished[] = {"UNPUBLISHED", "UNPUBLISHED"};
	const char *ended[] = {"ENDED", NULL};

	assert_string_equal(mapping_status(published, 2), "ACTIVE");
	assert_string_equal(mapping_status(in_progress, 1), "ACTIVE");
	assert_string_equal(mapping_status(unpublished, 2), "ENDED");
	assert_string_equal(mapping_status(ended, 2), "ENDED");
	assert_string_equal(mapping_status(NULL, 0), "UNKNOWN");
	assert_string_equal(mapping_status(published, 0), "UNKNOWN");
}

static const char real_offer[] =
    "{\"offerId\":\"5005317010\",\"sku\":\"GP-HERO12\",\"marketplaceId\":\"EBAY_US\","
    "\"format\":\"FIXED_PRICE\",\"availableQuantity\":4,\"categoryId\":\"31388\","
    "\"listingDescription\":\"desc\",\"listingPolicies\":{\"fulfillmentPolicyId\":\"1\"},"
    "\"pricingSummary\":{\"price\":{\"value\":\"329.99\",\"currency\":\"USD\"}},"
    "\"listing\":{\"listingId\":\"110551234567\",\"listingStatus\":\"ACTIVE\","
    "\"soldQuantity\":2},\"status\":\"PUBLISHED\","
    "\"listingStartDate\":\"2024-05-01T10:00:00.000Z\",\"merchantLocationKey\":\"WH1\"}";

static void map_offer_ok(const char *text, struct offer_row *row)
{
	json_t *j = parse(text);
	struct buf why;
	enum error err;

	buf_init(&why, 0);
	err = mapping_offer_from_json(j, row, NULL, &why);
	if (err)
		fail_msg("offer mapping failed: %s", buf_str(&why));
	json_decref(j);
	buf_release(&why);
}

static void test_offer_every_field(void **state)
{
	struct offer_row o;

	map_offer_ok(real_offer, &o);
	assert_string_equal(o.offer_id, "5005317010");
	assert_string_equal(o.sku, "GP-HERO12");
	assert_string_equal(o.marketplace_id, "EBAY_US");
	assert_string_equal(o.format, "FIXED_PRICE");
	assert_string_equal(o.status, "PUBLISHED");
	assert_string_equal(o.listing_id, "110551234567");
	assert_string_equal(o.listing_status, "ACTIVE");
	assert_string_equal(o.price_value, "329.99");
	assert_string_equal(o.price_currency, "USD");
	assert_int_equal(o.available_quantity, 4);
	assert_int_equal(o.sold_quantity, 2);
	assert_string_equal(o.category_id, "31388");
	assert_string_equal(o.listing_start_date, "2024-05-01T10:00:00.000Z");
	assert_string_equal(o.raw_payload, real_offer);
	offer_row_release(&o);
}

static void test_offer_unpublished_and_forms(void **state)
{
	struct offer_row o;

	/* Unpublished: no listing object at all. Numbers may come as strings. */
	map_offer_ok("{\"offerId\":\"9\",\"sku\":\"S\",\"status\":\"UNPUBLISHED\","
		     "\"format\":\"AUCTION\",\"availableQuantity\":\"11\",\"categoryId\":625}",
		     &o);
	assert_string_equal(o.status, "UNPUBLISHED");
	assert_null(o.listing_id);
	assert_null(o.listing_status);
	assert_int_equal(o.sold_quantity, -1);
	assert_int_equal(o.available_quantity, 11);
	assert_string_equal(o.category_id, "625");
	assert_null(o.price_value);
	assert_null(o.marketplace_id);
	assert_null(o.listing_start_date);
	offer_row_release(&o);

	/* The document's offer shape: listingId and price at the top. */
	map_offer_ok(
	    "{\"offerId\":\"10\",\"listingId\":\"L10\",\"sku\":\"S\","
	    "\"status\":\"PUBLISHED\",\"price\":{\"value\":\"5.00\",\"currency\":\"GBP\"}}",
	    &o);
	assert_string_equal(o.listing_id, "L10");
	assert_string_equal(o.price_value, "5.00");
	assert_string_equal(o.price_currency, "GBP");
	offer_row_release(&o);

	/* No sku: left to the caller, who asked for one SKU's offers. */
	map_offer_ok("{\"offerId\":\"11\"}", &o);
	assert_null(o.sku);
	assert_int_equal(o.available_quantity, -1);
	offer_row_release(&o);
}

static void test_offer_refused(void **state)
{
	static const struct {
		const char *json, *needle;
	} cases[] = {
	    {"{\"sku\":\"S\"}", "offerId field is missing"},
	    {"{\"offerId\":\"\"}", "offerId is empty"},
	    {"{\"offerId\":[1]}", "offerId is an array"},
	    {"{\"offerId\":\"a\\u0001b\"}", "control character"},
	    {"{\"offerId\":\"1\",\"sku\":\"\"}", "offer '1' has no usable sku: sku is empty"},
	    {"[1,2]", "offer is an array"},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *j = parse(cases[i].json);
		struct offer_row o;
		struct buf why;

		buf_init(&why, 0);
		assert_int_equal(mapping_offer_from_json(j, &o, NULL, &why), ERR_PARSE);
		if (!strstr(buf_str(&why), cases[i].needle))
			fail_msg("reason '%s' lacks '%s'", buf_str(&why), cases[i].needle);
		assert_null(o.offer_id);
		json_decref(j);
		buf_release(&why);
	}
}

static struct offer_row make_offer(const char *id, const char *status, const char *price,
				   const char *listing, const char *category)
{
	struct offer_row o;

	memset(&o, 0, sizeof(o));
	o.offer_id = xstrdup(id);
	o.sku = xstrdup("AP");
	o.status = xstrdup(status);
	o.price_value = xstrdup(price);
	o.price_currency = xstrdup(price ? "USD" : NULL);
	o.listing_id = xstrdup(listing);
	o.category_id = xstrdup(category);
	o.available_quantity = -1;
	o.sold_quantity = -1;
	return o;
}

static void test_apply_offers(void **state)
{
	struct offer_row offers[3];
	struct item_row row;
	size_t i;

	offers[0] = make_offer("O1", "UNPUBLISHED", "10.00", NULL, NULL);
	offers[1] = make_offer("O2", "PUBLISHED", "20.00", "L2", "9355");
	offers[2] = make_offer("O3", "PUBLISHED", "30.00", "L3", "1");

	/* The first PUBLISHED offer gives price, listing and category. */
	map_ok("{\"sku\":\"AP\"}", &row, NULL);
	mapping_item_apply_offers(&row, offers, 3);
	assert_string_equal(row.price_value, "20.00");
	assert_string_equal(row.price_currency, "USD");
	assert_string_equal(row.ebay_listing_id, "L2");
	assert_string_equal(row.category, "9355");
	assert_string_equal(row.ebay_status, "ACTIVE");
	assert_int_equal(row.offer_fields_known, 1);
	/* Applying again to a known row changes nothing. */
	mapping_item_apply_offers(&row, offers, 1);
	assert_string_equal(row.price_value, "20.00");
	item_row_release(&row);

	/* None published: the first offer; status ENDED. */
	map_ok("{\"sku\":\"AP\"}", &row, NULL);
	mapping_item_apply_offers(&row, offers, 1);
	assert_string_equal(row.price_value, "10.00");
	assert_null(row.ebay_listing_id);
	assert_null(row.category);
	assert_string_equal(row.ebay_status, "ENDED");
	item_row_release(&row);

	/* PUBLISHED_IN_PROGRESS counts as active but is not the price source. */
	free(offers[0].status);
	offers[0].status = xstrdup("PUBLISHED_IN_PROGRESS");
	map_ok("{\"sku\":\"AP\"}", &row, NULL);
	mapping_item_apply_offers(&row, offers, 1);
	assert_string_equal(row.ebay_status, "ACTIVE");
	assert_string_equal(row.price_value, "10.00");
	item_row_release(&row);

	/* The category comes from any offer when the chosen one has none. */
	map_ok("{\"sku\":\"AP\"}", &row, NULL);
	mapping_item_apply_offers(&row, offers, 2);
	assert_string_equal(row.category, "9355");
	item_row_release(&row);

	/* No offers: UNKNOWN, no price, but known (so the store writes it). */
	map_ok("{\"sku\":\"AP\"}", &row, NULL);
	mapping_item_apply_offers(&row, NULL, 0);
	assert_string_equal(row.ebay_status, "UNKNOWN");
	assert_null(row.price_value);
	assert_null(row.ebay_listing_id);
	assert_int_equal(row.offer_fields_known, 1);
	item_row_release(&row);

	/* An item with its own offer fields (document shape) is left alone. */
	map_ok("{\"sku\":\"AP\",\"pricingSummary\":{\"price\":{\"value\":\"1.00\"}}}", &row, NULL);
	mapping_item_apply_offers(&row, offers, 3);
	assert_string_equal(row.price_value, "1.00");
	assert_string_equal(row.ebay_status, "UNKNOWN");
	item_row_release(&row);

	for (i = 0; i < 3; i++)
		offer_row_release(&offers[i]);
}

static void test_hostile_skus_accepted(void **state)
{
	static const char *const skus[] = {
	    "A B  C",
	    "a/b/c",
	    "#1",
	    "50%_off",
	    "a+b=c",
	    "quote\"s'",
	    "back\\slash",
	    "Ünïcødé-商品-🚀",
	    "<script>",
	    "?x=1&y=2",
	    " lead",
	    "trail ",
	    "SELECT *",
	    /* exactly 50 bytes, ASCII */
	    "01234567890123456789012345678901234567890123456789",
	    /* exactly 50 bytes with multi-byte characters (16 x 3 + 2) */
	    "商商商商商商商商商商商商商商商商ab",
	};
	size_t i;

	assert_int_equal(strlen(skus[13]), 50);
	assert_int_equal(strlen(skus[14]), 50);
	for (i = 0; i < sizeof(skus) / sizeof(skus[0]); i++) {
		json_t *j = json_pack("{s:s}", "sku", skus[i]);
		struct item_row row;
		struct buf why;
		json_t *back;

		buf_init(&why, 0);
		assert_non_null(j);
		if (mapping_item_from_json(j, &row, NULL, &why))
			fail_msg("sku '%s' refused: %s", skus[i], buf_str(&why));
		assert_string_equal(row.sku, skus[i]);
		back = json_loads(row.raw_payload, 0, NULL);
		assert_string_equal(json_string_value(json_object_get(back, "sku")), skus[i]);
		json_decref(back);
		item_row_release(&row);
		json_decref(j);
		buf_release(&why);
	}
}

static void test_hostile_skus_refused(void **state)
{
	json_t *j;

	j = json_pack("{s:s}", "sku", "012345678901234567890123456789012345678901234567890");
	map_refused(j, "item has no usable sku: sku '0123");
	map_refused(j, "is 51 bytes, over eBay's limit of 50");
	json_decref(j);

	/* 51 bytes because the last character is multi-byte. */
	j = json_pack("{s:s}", "sku", "0123456789012345678901234567890123456789012345678é");
	map_refused(j, "is 51 bytes");
	json_decref(j);

	j = json_pack("{s:s}", "sku", "");
	map_refused(j, "item has no usable sku: sku is empty");
	json_decref(j);

	j = json_object();
	json_object_set_new(j, "sku", json_stringn_nocheck("ab\xff\xfe", 4));
	map_refused(j,
		    "item has no usable sku: sku is not valid UTF-8 (bad byte 0xFF at offset 2)");
	json_decref(j);

	j = json_object();
	json_object_set_new(j, "sku", json_stringn_nocheck("\xc0\xaf", 2)); /* overlong '/' */
	map_refused(j, "not valid UTF-8");
	json_decref(j);

	j = json_object();
	json_object_set_new(j, "sku", json_stringn_nocheck("\xe0\x80\xaf", 3)); /* overlong */
	map_refused(j, "not valid UTF-8");
	json_decref(j);

	j = json_object();
	json_object_set_new(j, "sku", json_stringn_nocheck("\xf4\x90\x80\x80", 4)); /* > U+10FFFF */
	map_refused(j, "not valid UTF-8");
	json_decref(j);

	j = json_object();
	json_object_set_new(j, "sku", json_stringn_nocheck("\xed\xa0\x80", 3)); /* surrogate */
	map_refused(j, "not valid UTF-8");
	json_decref(j);

	j = json_pack("{s:i}", "sku", 12345);
	map_refused(j, "item has no usable sku: sku is a number, not a string");
	json_decref(j);

	j = json_pack("{s:n}", "sku");
	map_refused(j, "sku is null, not a string");
	json_decref(j);

	j = json_pack("{s:s}", "title", "no sku");
	map_refused(j, "item has no usable sku: the sku field is missing");
	json_decref(j);

	j = json_pack("{s:s}", "sku", "line\nbreak");
	map_refused(j, "sku contains a control character (U+000A at offset 4)");
	json_decref(j);

	j = json_object();
	json_object_set_new(j, "sku", json_stringn("nul\0byte", 8));
	map_refused(j, "control character (U+0000 at offset 3)");
	json_decref(j);

	j = json_pack("{s:s}", "sku", "c1\xc2\x85next"); /* U+0085, a C1 control */
	map_refused(j, "control character (U+0085");
	json_decref(j);

	j = json_array();
	map_refused(j, "item is an array, not a JSON object");
	json_decref(j);
	map_refused(NULL, "item is missing");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_real_item_every_row),
	    cmocka_unit_test(test_raw_payload_keeps_key_order),
	    cmocka_unit_test(test_minimal_item_defaults),
	    cmocka_unit_test(test_document_shape),
	    cmocka_unit_test(test_document_shape_listing_id_fallbacks),
	    cmocka_unit_test(test_every_known_condition),
	    cmocka_unit_test(test_deprecated_condition),
	    cmocka_unit_test(test_unknown_condition_warns),
	    cmocka_unit_test(test_aspects_arrays_and_strings),
	    cmocka_unit_test(test_part_number_fallbacks),
	    cmocka_unit_test(test_model_fallbacks),
	    cmocka_unit_test(test_quantity_forms),
	    cmocka_unit_test(test_price_forms_item),
	    cmocka_unit_test(test_price_forms_offer),
	    cmocka_unit_test(test_price_warning_names),
	    cmocka_unit_test(test_photo_count),
	    cmocka_unit_test(test_status_rule),
	    cmocka_unit_test(test_offer_every_field),
	    cmocka_unit_test(test_offer_unpublished_and_forms),
	    cmocka_unit_test(test_offer_refused),
	    cmocka_unit_test(test_apply_offers),
	    cmocka_unit_test(test_hostile_skus_accepted),
	    cmocka_unit_test(test_hostile_skus_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
