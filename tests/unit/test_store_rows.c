/*
 * The store tests of writing inventory and offer rows, on every backend
 * (store_fixture.h): every column read back as written, updates that keep
 * what they must (rec_created, the offer-derived columns), rows without a
 * payload from an offers sync, prices that are not decimal amounts, two
 * users with one SKU, a batch of 1000, and batches that are atomic.
 */
#include "store_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "timeutil.h"
#include "xalloc.h"

/* The columns of sf_full_item with sf_full_offer applied, written in run-1
 * (raw_payload and the times apart). */
static void expect_full_item_columns(const json_t *row)
{
	assert_string_equal(sf_str(row, "title"), "GoPro HERO12 \xc3\xa9\xe5\x95\x86");
	assert_string_equal(sf_str(row, "condition"), "USED_EXCELLENT");
	assert_string_equal(sf_str(row, "part_number"), "PN-1");
	assert_string_equal(sf_str(row, "model"), "HERO12");
	assert_string_equal(sf_str(row, "category"), "31388");
	assert_string_equal(sf_str(row, "price_value"), "329.99");
	assert_string_equal(sf_str(row, "price_currency"), "USD");
	assert_int_equal(sf_num(row, "quantity"), 7);
	assert_string_equal(sf_str(row, "ebay_listing_id"), "110551234567");
	assert_string_equal(sf_str(row, "ebay_status"), "ACTIVE");
	assert_int_equal(sf_num(row, "photo_count"), 3);
	assert_string_equal(sf_str(row, "last_seen_run"), "run-1");
}

static void test_insert_read_back(void **state)
{
	struct store *s = ((struct store_fixture *)*state)->s;
	struct item_row it = sf_item("%s", sf_full_item);
	struct offer_row of = sf_offer("%s", sf_full_offer);
	json_t *row, *want;

	mapping_item_apply_offers(&it, &of, 1);
	CHECK(s, store_write_batch(s, "alice", "run-1", &it, 1, &of, 1));

	row = sf_get_item(s, "alice", "GP-HERO12");
	assert_non_null(row);
	assert_int_equal(json_object_size(row), 18); /* every column, removed_at too */
	assert_string_equal(sf_str(row, "user_id"), "alice");
	assert_string_equal(sf_str(row, "sku_code"), "GP-HERO12");
	expect_full_item_columns(row);
	sf_assert_iso_time(sf_str(row, "rec_created"));
	assert_string_equal(sf_str(row, "rec_created"), sf_str(row, "rec_updated"));
	want = sf_parse(sf_full_item);
	assert_true(json_is_object(json_object_get(row, "raw_payload")));
	assert_true(json_equal(json_object_get(row, "raw_payload"), want));
	json_decref(want);
	json_decref(row);

	row = sf_get_offer(s, "alice", "5005317010");
	assert_non_null(row);
	assert_int_equal(json_object_size(row), 20); /* auction_start_price and removed_at too */
	assert_string_equal(sf_str(row, "user_id"), "alice");
	assert_string_equal(sf_str(row, "sku_code"), "GP-HERO12");
	assert_string_equal(sf_str(row, "marketplace_id"), "EBAY_US");
	assert_string_equal(sf_str(row, "format"), "FIXED_PRICE");
	assert_string_equal(sf_str(row, "status"), "PUBLISHED");
	assert_string_equal(sf_str(row, "listing_id"), "110551234567");
	assert_string_equal(sf_str(row, "listing_status"), "ACTIVE");
	assert_string_equal(sf_str(row, "price_value"), "329.99");
	assert_string_equal(sf_str(row, "price_currency"), "USD");
	assert_int_equal(sf_num(row, "available_quantity"), 4);
	assert_int_equal(sf_num(row, "sold_quantity"), 2);
	assert_string_equal(sf_str(row, "category_id"), "31388");
	assert_string_equal(sf_str(row, "listing_start_date"), "2024-05-01T10:00:00.000Z");
	assert_string_equal(sf_str(row, "last_seen_run"), "run-1");
	sf_assert_iso_time(sf_str(row, "rec_created"));
	want = sf_parse(sf_full_offer);
	assert_true(json_equal(json_object_get(row, "raw_payload"), want));
	json_decref(want);
	json_decref(row);

	/* Absent values read back as null. */
	sf_put_item(s, "alice", "run-1", sf_item("{\"sku\":\"BARE\"}"));
	row = sf_get_item(s, "alice", "BARE");
	sf_assert_null_col(row, "title");
	sf_assert_null_col(row, "condition");
	sf_assert_null_col(row, "quantity");
	sf_assert_null_col(row, "price_value");
	sf_assert_null_col(row, "category");
	assert_string_equal(sf_str(row, "ebay_status"), "UNKNOWN");
	assert_int_equal(sf_num(row, "photo_count"), 0);
	json_decref(row);
	item_row_release(&it);
	offer_row_release(&of);
}

static void test_update_keeps_rec_created(void **state)
{
	struct store *s = ((struct store_fixture *)*state)->s;
	struct offer_row of =
	    sf_offer("{\"offerId\":\"O1\",\"sku\":\"U1\",\"status\":\"UNPUBLISHED\"}");
	json_t *before, *after;
	char *created;

	sf_put_item(s, "u", "run-1",
		    sf_item("{\"sku\":\"U1\",\"product\":{\"title\":\"old\"},\"availability\":"
			    "{\"shipToLocationAvailability\":{\"quantity\":1}}}"));
	CHECK(s, store_write_batch(s, "u", "run-1", NULL, 0, &of, 1));
	offer_row_release(&of);
	before = sf_get_item(s, "u", "U1");
	created = xstrdup(sf_str(before, "rec_created"));
	timeutil_sleep_ms(15);

	sf_put_item(s, "u", "run-2", sf_item("{\"sku\":\"U1\",\"product\":{\"title\":\"new\"}}"));
	after = sf_get_item(s, "u", "U1");
	assert_string_equal(sf_str(after, "title"), "new");
	sf_assert_null_col(after, "quantity"); /* no longer sent: updated to absent */
	assert_string_equal(sf_str(after, "rec_created"), created);
	assert_true(strcmp(sf_str(after, "rec_updated"), created) > 0);
	assert_string_equal(sf_str(after, "last_seen_run"), "run-2");
	json_decref(before);
	json_decref(after);
	free(created);

	of = sf_offer("{\"offerId\":\"O1\",\"sku\":\"U1\",\"status\":\"PUBLISHED\"}");
	before = sf_get_offer(s, "u", "O1");
	CHECK(s, store_write_batch(s, "u", "run-2", NULL, 0, &of, 1));
	offer_row_release(&of);
	after = sf_get_offer(s, "u", "O1");
	assert_string_equal(sf_str(after, "status"), "PUBLISHED");
	assert_string_equal(sf_str(after, "rec_created"), sf_str(before, "rec_created"));
	assert_true(strcmp(sf_str(after, "rec_updated"), sf_str(before, "rec_updated")) > 0);
	assert_string_equal(sf_str(after, "last_seen_run"), "run-2");
	json_decref(before);
	json_decref(after);
}

static void test_unknown_offer_fields_keep_derived(void **state)
{
	struct store *s = ((struct store_fixture *)*state)->s;
	struct offer_row of = sf_offer("%s", sf_full_offer);
	struct item_row it = sf_item("{\"sku\":\"GP-HERO12\",\"product\":{\"title\":\"t1\"}}");
	json_t *row;

	mapping_item_apply_offers(&it, &of, 1);
	sf_put_item(s, "u", "run-1", it);
	offer_row_release(&of);

	/* The inventory sync knows nothing of offers: the five columns stay. */
	sf_put_item(
	    s, "u", "run-2",
	    sf_item("{\"sku\":\"GP-HERO12\",\"product\":{\"title\":\"t2\"},\"availability\":"
		    "{\"shipToLocationAvailability\":{\"quantity\":9}}}"));
	row = sf_get_item(s, "u", "GP-HERO12");
	assert_string_equal(sf_str(row, "title"), "t2");
	assert_int_equal(sf_num(row, "quantity"), 9);
	assert_string_equal(sf_str(row, "price_value"), "329.99");
	assert_string_equal(sf_str(row, "price_currency"), "USD");
	assert_string_equal(sf_str(row, "ebay_listing_id"), "110551234567");
	assert_string_equal(sf_str(row, "ebay_status"), "ACTIVE");
	assert_string_equal(sf_str(row, "category"), "31388");
	json_decref(row);

	/* Known again with no offers: the store takes UNKNOWN and nulls. */
	it = sf_item("{\"sku\":\"GP-HERO12\"}");
	mapping_item_apply_offers(&it, NULL, 0);
	sf_put_item(s, "u", "run-3", it);
	row = sf_get_item(s, "u", "GP-HERO12");
	assert_string_equal(sf_str(row, "ebay_status"), "UNKNOWN");
	sf_assert_null_col(row, "price_value");
	sf_assert_null_col(row, "ebay_listing_id");
	sf_assert_null_col(row, "category");
	json_decref(row);

	/* A new row that knows nothing gets NULLs and UNKNOWN, even if the
	 * caller left values in the offer columns. */
	it = sf_item("{\"sku\":\"FRESH\"}");
	it.price_value = xstrdup("1.00");
	it.ebay_status = xstrdup("ACTIVE");
	sf_put_item(s, "u", "run-3", it);
	row = sf_get_item(s, "u", "FRESH");
	sf_assert_null_col(row, "price_value");
	assert_string_equal(sf_str(row, "ebay_status"), "UNKNOWN");
	json_decref(row);
}

static void test_item_without_payload_updates_offer_fields(void **state)
{
	struct store *s = ((struct store_fixture *)*state)->s;
	struct store_query q = {.user_id = "u"};
	struct offer_row of = sf_offer("%s", sf_full_offer);
	struct item_row it;
	json_t *row, *want;
	char *created;

	sf_put_item(s, "u", "run-1", sf_item("%s", sf_full_item));
	row = sf_get_item(s, "u", "GP-HERO12");
	created = xstrdup(sf_str(row, "rec_created"));
	json_decref(row);
	timeutil_sleep_ms(15);

	/* The offers sync: offer columns change, everything else stays. */
	it = sf_bare_item("GP-HERO12");
	mapping_item_apply_offers(&it, &of, 1);
	CHECK(s, store_write_batch(s, "u", "run-2", &it, 1, &of, 1));
	item_row_release(&it);
	row = sf_get_item(s, "u", "GP-HERO12");
	expect_full_item_columns(row);
	assert_string_equal(sf_str(row, "rec_created"), created);
	assert_true(strcmp(sf_str(row, "rec_updated"), created) > 0);
	want = sf_parse(sf_full_item);
	assert_true(json_equal(json_object_get(row, "raw_payload"), want));
	json_decref(want);
	json_decref(row);
	sf_expect_offers(s, &q, "5005317010", 1);
	free(created);

	/* No offers any more: UNKNOWN and NULLs; the category, which no offer
	 * names now, stays; nothing else changes. */
	it = sf_bare_item("GP-HERO12");
	mapping_item_apply_offers(&it, NULL, 0);
	CHECK(s, store_write_batch(s, "u", "run-3", &it, 1, NULL, 0));
	item_row_release(&it);
	row = sf_get_item(s, "u", "GP-HERO12");
	assert_string_equal(sf_str(row, "ebay_status"), "UNKNOWN");
	sf_assert_null_col(row, "price_value");
	sf_assert_null_col(row, "price_currency");
	sf_assert_null_col(row, "ebay_listing_id");
	assert_string_equal(sf_str(row, "category"), "31388");
	assert_string_equal(sf_str(row, "condition"), "USED_EXCELLENT");
	assert_int_equal(sf_num(row, "quantity"), 7);
	json_decref(row);

	/* No row for the SKU (or only another user's): none is created. */
	sf_put_item(s, "other", "run-1", sf_item("{\"sku\":\"ELSEWHERE\"}"));
	it = sf_bare_item("ELSEWHERE");
	mapping_item_apply_offers(&it, &of, 1);
	CHECK(s, store_write_batch(s, "u", "run-3", &it, 1, NULL, 0));
	item_row_release(&it);
	sf_expect_items(s, &q, "GP-HERO12", 1);
	row = sf_get_item(s, "other", "ELSEWHERE");
	assert_string_equal(sf_str(row, "ebay_status"), "UNKNOWN");
	json_decref(row);
	offer_row_release(&of);
}

/* A price that is not a decimal amount, written straight to the store (as
 * item, offer and offer-derived row): every backend stores NULL, the rest
 * of the row as given; a decimal one is stored as written. */
static void test_non_decimal_price_is_null(void **state)
{
	static const char *const bad[] = {"N/A", "", "-1.00", "1e3", ".5", "19,99", "12.", "0x1F"};
	struct store *s = ((struct store_fixture *)*state)->s;
	json_t *row;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct item_row it = sf_item("{\"sku\":\"P-%zu\"}", i), derived;
		struct offer_row of = sf_offer("{\"offerId\":\"O-%zu\",\"sku\":\"P-%zu\"}", i, i);
		char sku[16], id[16];

		snprintf(sku, sizeof(sku), "P-%zu", i);
		snprintf(id, sizeof(id), "O-%zu", i);
		it.price_value = xstrdup(bad[i]);
		it.price_currency = xstrdup("USD");
		it.ebay_status = xstrdup("ACTIVE");
		it.offer_fields_known = 1;
		of.price_value = xstrdup(bad[i]);
		CHECK(s, store_write_batch(s, "u", "run-1", &it, 1, &of, 1));
		row = sf_get_item(s, "u", sku);
		sf_assert_null_col(row, "price_value");
		assert_string_equal(sf_str(row, "price_currency"), "USD");
		assert_string_equal(sf_str(row, "ebay_status"), "ACTIVE");
		json_decref(row);
		row = sf_get_offer(s, "u", id);
		assert_non_null(row);
		sf_assert_null_col(row, "price_value");
		json_decref(row);

		/* The offers sync's row for the SKU, after a decimal price. */
		derived = sf_bare_item(sku);
		derived.price_value = xstrdup("5.00");
		derived.offer_fields_known = 1;
		CHECK(s, store_write_batch(s, "u", "run-2", &derived, 1, NULL, 0));
		row = sf_get_item(s, "u", sku);
		assert_string_equal(sf_str(row, "price_value"), "5.00");
		json_decref(row);
		free(derived.price_value);
		derived.price_value = xstrdup(bad[i]);
		CHECK(s, store_write_batch(s, "u", "run-3", &derived, 1, NULL, 0));
		row = sf_get_item(s, "u", sku);
		sf_assert_null_col(row, "price_value");
		json_decref(row);
		item_row_release(&derived);
		item_row_release(&it);
		offer_row_release(&of);
	}
}

static void test_two_users_same_sku(void **state)
{
	struct store *s = ((struct store_fixture *)*state)->s;
	const char *users[] = {"alice", "bob"};
	json_t *row;
	int i;

	for (i = 0; i < 2; i++) {
		struct item_row it =
		    sf_item("{\"sku\":\"SAME\",\"product\":{\"title\":\"%s's\"}}", users[i]);
		struct offer_row of =
		    sf_offer("{\"offerId\":\"777\",\"sku\":\"SAME\",\"pricingSummary\":"
			     "{\"price\":{\"value\":\"%d.00\",\"currency\":\"USD\"}}}",
			     10 + i);
		CHECK(s, store_write_batch(s, users[i], "r", &it, 1, &of, 1));
		item_row_release(&it);
		offer_row_release(&of);
	}
	for (i = 0; i < 2; i++) {
		char want[32];
		struct store_query q = {.user_id = users[i]};

		row = sf_get_item(s, users[i], "SAME");
		snprintf(want, sizeof(want), "%s's", users[i]);
		assert_string_equal(sf_str(row, "title"), want);
		assert_string_equal(sf_str(row, "user_id"), users[i]);
		json_decref(row);
		row = sf_get_offer(s, users[i], "777");
		snprintf(want, sizeof(want), "%d.00", 10 + i);
		assert_string_equal(sf_str(row, "price_value"), want);
		json_decref(row);
		sf_expect_items(s, &q, "SAME", 1);
		sf_expect_offers(s, &q, "777", 1);
	}
	assert_null(sf_get_item(s, "carol", "SAME"));
}

static void test_batch_of_1000(void **state)
{
	const struct store_fixture *f = *state;
	struct store *s = f->s;
	enum { N = 1000 };
	struct item_row *items = xcalloc(N, sizeof(*items));
	struct offer_row *offers = xcalloc(N, sizeof(*offers));
	struct store_query q = {.user_id = "bulk", .limit = 1};
	long long t0, ms, total;
	json_t *rows, *row;
	int i;

	for (i = 0; i < N; i++) {
		items[i] =
		    sf_item("{\"sku\":\"BULK-%04d\",\"product\":{\"title\":\"Item %d\"},"
			    "\"availability\":{\"shipToLocationAvailability\":{\"quantity\":%d}}}",
			    i, i, i);
		offers[i] = sf_offer("{\"offerId\":\"OF-%04d\",\"sku\":\"BULK-%04d\",\"status\":"
				     "\"PUBLISHED\",\"availableQuantity\":%d}",
				     i, i, i);
	}
	t0 = timeutil_mono_ms();
	CHECK(s, store_write_batch(s, "bulk", "r1", items, N, offers, N));
	ms = timeutil_mono_ms() - t0;
	print_message("[ %s ] 1000 items + 1000 offers in one batch: %lld ms\n", f->backend, ms);

	CHECK(s, store_list_items(s, &q, &rows, &total));
	assert_int_equal(total, N);
	assert_int_equal(json_array_size(rows), 1);
	json_decref(rows);
	CHECK(s, store_list_offers(s, &q, &rows, &total));
	assert_int_equal(total, N);
	json_decref(rows);
	row = sf_get_item(s, "bulk", "BULK-0999");
	assert_string_equal(sf_str(row, "title"), "Item 999");
	assert_int_equal(sf_num(row, "quantity"), 999);
	json_decref(row);

	/* The same batch again: upserts, still 1000 rows. */
	CHECK(s, store_write_batch(s, "bulk", "r2", items, N, offers, N));
	CHECK(s, store_list_items(s, &q, &rows, &total));
	assert_int_equal(total, N);
	json_decref(rows);
	sf_release_items(items, N);
	sf_release_offers(offers, N);
	free(items);
	free(offers);
}

static void test_batch_is_atomic(void **state)
{
	struct store_fixture *f = *state;
	struct store *s = f->s;
	struct item_row items[2];
	struct offer_row of;
	struct store_query q = {.user_id = "u"};

	/* The database refuses one row in the middle of a batch: nothing of the
	 * batch stays, and the message names the table and the SKU. */
	store_fixture_exec(
	    f,
	    "CREATE TRIGGER boom BEFORE INSERT ON inventory WHEN NEW.sku_code = 'BOOM' "
	    "BEGIN SELECT RAISE(ABORT, 'boom refused'); END",
	    "CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
	    "IF NEW.sku_code = 'BOOM' THEN RAISE EXCEPTION 'boom refused'; END IF; "
	    "RETURN NEW; END $$; CREATE TRIGGER boom BEFORE INSERT ON inventory "
	    "FOR EACH ROW EXECUTE FUNCTION boom()");
	items[0] = sf_item("{\"sku\":\"FIRST\"}");
	items[1] = sf_item("{\"sku\":\"BOOM\"}");
	of = sf_offer("{\"offerId\":\"OF-1\",\"sku\":\"FIRST\"}");
	assert_int_equal(store_write_batch(s, "u", "r", items, 2, &of, 1), ERR_DB);
	assert_non_null(strstr(store_errmsg(s), "inventory row for sku 'BOOM'"));
	assert_non_null(strstr(store_errmsg(s), "boom refused"));
	sf_expect_items(s, &q, "", 0);
	sf_expect_offers(s, &q, "", 0);
	CHECK(s, store_write_batch(s, "u", "r", items, 1, &of, 1));
	sf_expect_items(s, &q, "FIRST", 1);
	sf_expect_offers(s, &q, "OF-1", 1);
	sf_release_items(items, 2);
	offer_row_release(&of);
	q.user_id = "v";

	items[0] = sf_item("{\"sku\":\"GOOD\"}");
	items[1] = sf_item("{\"sku\":\"BAD\"}");
	FREE_AND_NULL(items[1].sku);
	assert_int_equal(store_write_batch(s, "v", "r", items, 2, NULL, 0), ERR_INVALID);
	assert_non_null(strstr(store_errmsg(s), "inventory row"));
	sf_expect_items(s, &q, "", 0);

	of = sf_offer("{\"offerId\":\"NOSKU\"}");
	assert_int_equal(store_write_batch(s, "v", "r", items, 1, &of, 1), ERR_INVALID);
	assert_non_null(strstr(store_errmsg(s), "offer 'NOSKU'"));
	sf_expect_items(s, &q, "", 0);
	assert_int_equal(store_write_batch(s, NULL, "r", items, 1, NULL, 0), ERR_INVALID);
	sf_expect_items(s, &q, "", 0);

	/* And after the refusals, the connection still works. */
	CHECK(s, store_write_batch(s, "v", "r", items, 1, NULL, 0));
	sf_expect_items(s, &q, "GOOD", 1);
	assert_string_equal(store_errmsg(s), "");
	sf_release_items(items, 2);
	offer_row_release(&of);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    STORE_FIXTURE_TEST(test_insert_read_back),
	    STORE_FIXTURE_TEST(test_update_keeps_rec_created),
	    STORE_FIXTURE_TEST(test_unknown_offer_fields_keep_derived),
	    STORE_FIXTURE_TEST(test_item_without_payload_updates_offer_fields),
	    STORE_FIXTURE_TEST(test_non_decimal_price_is_null),
	    STORE_FIXTURE_TEST(test_two_users_same_sku),
	    STORE_FIXTURE_TEST(test_batch_of_1000),
	    STORE_FIXTURE_TEST(test_batch_is_atomic),
	};

	return STORE_FIXTURE_RUN(tests);
}
