/*
 * The store tests of the listings behind the page's tables, on every
 * backend (store_fixture.h): search, filters, sort and paging of inventory
 * and offers, driven by tables of "query -> rows and total", and
 * count_unseen.
 */
#include "store_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ALL_EIGHT "50%_off,50x-off,SKU-001,SKU-002,a_b,axb,back\\slash,sku-003"

/* One listing and what it must return: the key column of the rows, joined
 * with ',' (see sf_expect_items), and the total. user NULL: "lister". */
struct list_case {
	const char *user, *search, *status, *condition, *sku, *sort;
	int desc;
	long long limit, offset;
	const char *want;
	long long total;
};

static void run_cases(struct store *s, int offers, const struct list_case *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct store_query q = {.user_id = c[i].user ? c[i].user : "lister",
					.search = c[i].search,
					.status = c[i].status,
					.condition = c[i].condition,
					.sku = c[i].sku,
					.sort = c[i].sort,
					.desc = c[i].desc,
					.limit = c[i].limit,
					.offset = c[i].offset};

		if (offers)
			sf_expect_offers(s, &q, c[i].want, c[i].total);
		else
			sf_expect_items(s, &q, c[i].want, c[i].total);
	}
}

#define RUN_CASES(s, offers, cases) run_cases(s, offers, cases, sizeof(cases) / sizeof((cases)[0]))

static void seed_list(struct store *s)
{
	static const struct {
		const char *sku, *title, *cond, *status;
		int qty;
		const char *price;
	} rows[] = {
	    {"SKU-001", "Red Widget", "NEW", "PUBLISHED", 5, "9.99"},
	    {"SKU-002", "blue WIDGET", "USED_GOOD", "UNPUBLISHED", 1, "10.00"},
	    {"sku-003", "Gadget", "NEW", "UNPUBLISHED", 3, "100.50"},
	    {"50%_off", "Sale", "NEW", NULL, 0, NULL},
	    {"50x-off", "Decoy one", "USED_GOOD", NULL, 0, NULL},
	    {"a_b", "Under score", "NEW", NULL, 0, NULL},
	    {"axb", "Decoy two", "NEW", NULL, 0, NULL},
	    {"back\\slash", "Back slash", "NEW", NULL, 0, NULL},
	};
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		json_t *j =
		    json_pack("{s:s, s:s, s:{s:s}, s:{s:{s:i}}}", "sku", rows[i].sku, "condition",
			      rows[i].cond, "product", "title", rows[i].title, "availability",
			      "shipToLocationAvailability", "quantity", rows[i].qty);
		char *text = json_dumps(j, JSON_COMPACT);
		struct item_row it = sf_item("%s", text);

		if (rows[i].status) {
			struct offer_row of =
			    sf_offer("{\"offerId\":\"O-%zu\",\"sku\":\"x\",\"status\":\"%s\","
				     "\"pricingSummary\":{\"price\":{\"value\":\"%s\",\"currency\":"
				     "\"USD\"}}}",
				     i, rows[i].status, rows[i].price);
			mapping_item_apply_offers(&it, &of, 1);
			offer_row_release(&of);
		}
		sf_put_item(s, "lister", "r", it);
		free(text);
		json_decref(j);
	}
	/* Another user's rows never show up. */
	sf_put_item(s, "other", "r",
		    sf_item("{\"sku\":\"SKU-001\",\"product\":{\"title\":\"Red\"}}"));
}

static const struct list_case filter_cases[] = {
    {.want = ALL_EIGHT, .total = 8},
    /* Case-insensitive substring of the title or the SKU. */
    {.search = "widget", .want = "SKU-001,SKU-002", .total = 2},
    {.search = "WiDgEt", .want = "SKU-001,SKU-002", .total = 2},
    {.search = "sku-00", .want = "SKU-001,SKU-002,sku-003", .total = 3},
    {.search = "decoy", .want = "50x-off,axb", .total = 2},
    /* The user's % and _ are literal characters, not wildcards. */
    {.search = "%", .want = "50%_off", .total = 1},
    {.search = "0%_o", .want = "50%_off", .total = 1},
    {.search = "_", .want = "50%_off,a_b", .total = 2},
    {.search = "a_b", .want = "a_b", .total = 1},
    {.search = "\\", .want = "back\\slash", .total = 1},
    {.search = "nothing-like-this", .want = "", .total = 0},
    {.search = "", .want = ALL_EIGHT, .total = 8},
    /* Status, condition and exact SKU, alone and together. */
    {.status = "ACTIVE", .want = "SKU-001", .total = 1},
    {.status = "ENDED", .want = "SKU-002,sku-003", .total = 2},
    {.status = "UNKNOWN", .want = "50%_off,50x-off,a_b,axb,back\\slash", .total = 5},
    {.condition = "USED_GOOD", .want = "50x-off,SKU-002", .total = 2},
    {.condition = "USED_GOOD", .search = "widget", .want = "SKU-002", .total = 1},
    {.sku = "SKU-001", .want = "SKU-001", .total = 1},
    {.sku = "sku-001", .want = "", .total = 0}, /* exact, case and all */
    {.sku = "50%_off", .want = "50%_off", .total = 1},
    /* Another user's rows, and a user without rows. */
    {.user = "other", .want = "SKU-001", .total = 1},
    {.user = "nobody", .want = "", .total = 0},
};

static void test_list_filters_and_search(void **state)
{
	struct store *s = ((struct store_fixture *)*state)->s;

	seed_list(s);
	RUN_CASES(s, 0, filter_cases);
}

static const struct list_case sort_cases[] = {
    /* Gadget, Red Widget, blue WIDGET. */
    {.search = "sku-", .sort = "title", .want = "sku-003,SKU-001,SKU-002", .total = 3},
    {.search = "sku-", .sort = "title", .desc = 1, .want = "SKU-002,SKU-001,sku-003", .total = 3},
    {.search = "sku-", .sort = "quantity", .want = "SKU-002,sku-003,SKU-001", .total = 3},
    /* Numerically: 9.99 < 10.00 < 100.50. */
    {.search = "sku-", .sort = "price_value", .want = "SKU-001,SKU-002,sku-003", .total = 3},
    {.search = "sku-",
     .sort = "price_value",
     .desc = 1,
     .want = "sku-003,SKU-002,SKU-001",
     .total = 3},
    /* NULLs last in both directions; ties broken by SKU. */
    {.sort = "price_value",
     .want = "SKU-001,SKU-002,sku-003,50%_off,50x-off,a_b,axb,back\\slash",
     .total = 8},
    {.sort = "price_value",
     .desc = 1,
     .want = "sku-003,SKU-002,SKU-001,back\\slash,axb,a_b,50x-off,50%_off",
     .total = 8},
    /* Paging (by sku_code, the default): total counts all matches. */
    {.limit = 3, .want = "50%_off,50x-off,SKU-001", .total = 8},
    {.limit = 3, .offset = 3, .want = "SKU-002,a_b,axb", .total = 8},
    {.limit = 3, .offset = 6, .want = "back\\slash,sku-003", .total = 8},
    {.limit = 3, .offset = 100, .want = "", .total = 8},
    {.limit = 2, .condition = "NEW", .want = "50%_off,SKU-001", .total = 6},
    {.sort = "sku_code", .want = ALL_EIGHT, .total = 8},
};

/* Only allow-listed columns sort; message NULL: any message. */
static const struct {
	const char *sort, *message;
} bad_sorts[] = {
    {"bogus", "cannot sort by 'bogus'"},
    {"title; DROP TABLE inventory", "cannot sort by 'title; DROP TABLE inventory'"},
    {"raw_payload", NULL},
    {"offer_id", NULL}, /* an offers column */
};

static void test_list_sort_and_paging(void **state)
{
	struct store *s = ((struct store_fixture *)*state)->s;
	struct store_query q = {.user_id = "lister", .limit = 2, .condition = "NEW"};
	json_t *rows = (json_t *)1;
	long long total = -1;

	seed_list(s);
	RUN_CASES(s, 0, sort_cases);

	for (size_t i = 0; i < sizeof(bad_sorts) / sizeof(bad_sorts[0]); i++) {
		q.sort = bad_sorts[i].sort;
		rows = (json_t *)1;
		assert_int_equal(store_list_items(s, &q, &rows, &total), ERR_INVALID);
		if (bad_sorts[i].message)
			assert_string_equal(store_errmsg(s), bad_sorts[i].message);
		assert_null(rows);
	}

	q.sort = "sku_code";
	q.condition = NULL;
	q.limit = 0;
	q.user_id = NULL;
	assert_int_equal(store_list_items(s, &q, &rows, &total), ERR_INVALID);
	assert_int_equal(store_list_offers(s, &q, &rows, &total), ERR_INVALID);
}

static const struct list_case offer_cases[] = {
    {.user = "u", .want = "1,2,3,4", .total = 4},
    {.user = "u", .search = "cam", .want = "1,2", .total = 2},
    {.user = "u", .search = "s_2", .want = "3", .total = 1},
    {.user = "u", .status = "PUBLISHED", .want = "1,3,4", .total = 3},
    {.user = "u", .sku = "CAM-1", .want = "1,2", .total = 2},
    {.user = "u", .sort = "price_value", .want = "2,1,3,4", .total = 4},
    {.user = "u", .sort = "available_quantity", .desc = 1, .want = "3,1,2,4", .total = 4},
    {.user = "u",
     .sort = "available_quantity",
     .desc = 1,
     .limit = 1,
     .offset = 1,
     .want = "1",
     .total = 4},
};

static void test_list_offers(void **state)
{
	struct store *s = ((struct store_fixture *)*state)->s;
	struct offer_row of[4];
	/* After the cases, a sort by a column offers do not have. */
	struct store_query q = {
	    .user_id = "u", .sort = "title", .desc = 1, .limit = 1, .offset = 1};
	json_t *rows = NULL;
	long long total;

	of[0] = sf_offer(
	    "{\"offerId\":\"1\",\"sku\":\"CAM-1\",\"status\":\"PUBLISHED\","
	    "\"availableQuantity\":5,\"pricingSummary\":{\"price\":{\"value\":\"20.00\"}}}");
	of[1] = sf_offer(
	    "{\"offerId\":\"2\",\"sku\":\"CAM-1\",\"status\":\"UNPUBLISHED\","
	    "\"availableQuantity\":1,\"pricingSummary\":{\"price\":{\"value\":\"3.50\"}}}");
	of[2] =
	    sf_offer("{\"offerId\":\"3\",\"sku\":\"lens_2\",\"status\":\"PUBLISHED\","
		     "\"availableQuantity\":9,\"pricingSummary\":{\"price\":{\"value\":\"100\"}}}");
	of[3] = sf_offer("{\"offerId\":\"4\",\"sku\":\"lensx2\",\"status\":\"PUBLISHED\"}");
	CHECK(s, store_write_batch(s, "u", "r", NULL, 0, of, 4));
	sf_release_offers(of, 4);

	RUN_CASES(s, 1, offer_cases);
	assert_int_equal(store_list_offers(s, &q, &rows, &total), ERR_INVALID);
	assert_string_equal(store_errmsg(s), "cannot sort by 'title'");
}

static void test_hostile_skus_round_trip(void **state)
{
	struct store *s = ((struct store_fixture *)*state)->s;
	static const char *const skus[] = {
	    "A B  C",
	    "a/b",
	    "#1",
	    "100%",
	    "a+b",
	    "it's \"quoted\"",
	    "Ünï-商品-🚀",
	    "'; DROP TABLE inventory; --",
	    "01234567890123456789012345678901234567890123456789",
	};
	size_t i;

	for (i = 0; i < sizeof(skus) / sizeof(skus[0]); i++) {
		json_t *j = json_pack("{s:s}", "sku", skus[i]);
		char *text = json_dumps(j, JSON_COMPACT);
		struct store_query q = {.user_id = "h", .search = skus[i]};
		json_t *row;

		sf_put_item(s, "h", "r", sf_item("%s", text));
		row = sf_get_item(s, "h", skus[i]);
		if (!row)
			fail_msg("sku '%s' not found by exact match", skus[i]);
		assert_string_equal(sf_str(row, "sku_code"), skus[i]);
		json_decref(row);
		sf_expect_items(s, &q, skus[i], 1);
		free(text);
		json_decref(j);
	}
}

static void test_count_unseen(void **state)
{
	struct store *s = ((struct store_fixture *)*state)->s;
	struct item_row items[2] = {sf_item("{\"sku\":\"A\"}"), sf_item("{\"sku\":\"B\"}")};
	struct offer_row offers[2] = {sf_offer("{\"offerId\":\"1\",\"sku\":\"A\"}"),
				      sf_offer("{\"offerId\":\"2\",\"sku\":\"B\"}")};
	long long count = -1;

	CHECK(s, store_write_batch(s, "u", "run-1", items, 2, offers, 2));
	CHECK(s, store_write_batch(s, "u", "run-2", items, 1, offers, 1));
	CHECK(s, store_count_unseen(s, "u", "inventory", "run-2", &count));
	assert_int_equal(count, 1);
	CHECK(s, store_count_unseen(s, "u", "offers", "run-2", &count));
	assert_int_equal(count, 1);
	CHECK(s, store_count_unseen(s, "u", "inventory", "run-1", &count));
	assert_int_equal(count, 1);
	CHECK(s, store_count_unseen(s, "u", "inventory", "run-3", &count));
	assert_int_equal(count, 2);
	CHECK(s, store_count_unseen(s, "nobody", "inventory", "run-3", &count));
	assert_int_equal(count, 0);
	assert_int_equal(store_count_unseen(s, "u", "users", "run-2", &count), ERR_INVALID);
	assert_non_null(strstr(store_errmsg(s), "'users'"));
	sf_release_items(items, 2);
	sf_release_offers(offers, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    STORE_FIXTURE_TEST(test_list_filters_and_search),
	    STORE_FIXTURE_TEST(test_list_sort_and_paging),
	    STORE_FIXTURE_TEST(test_list_offers),
	    STORE_FIXTURE_TEST(test_hostile_skus_round_trip),
	    STORE_FIXTURE_TEST(test_count_unseen),
	};

	return STORE_FIXTURE_RUN(tests);
}
