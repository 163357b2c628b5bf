/*
 * The store tests of what is kept per user between syncs, on every backend
 * (store_fixture.h): the SKUs that failed (sync_failures), the cursors a
 * sync resumes from, and the users themselves.
 */
#include "store_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "timeutil.h"

static void test_failures(void **state)
{
	struct store *s = ((struct store_fixture *)*state)->s;
	char **skus;
	size_t n;
	json_t *arr, *want;

	CHECK(s, store_failure_add(s, "u", "offers", "r1", "SKU-A", "HTTP 500", 3));
	timeutil_sleep_ms(5);
	CHECK(s, store_failure_add(s, "u", "offers", "r1", "SKU-B", "reset", 8));
	timeutil_sleep_ms(5);
	CHECK(s, store_failure_add(s, "u", "offers", "r2", "SKU-A", "timeout", 5));
	CHECK(s, store_failure_add(s, "u", "inventory", "r2", "SKU-C", "bad", 1));
	CHECK(s, store_failure_add(s, "v", "offers", "r3", "SKU-A", "other user", 1));

	/* Oldest first: A failed first, and failing again keeps its place. */
	CHECK(s, store_failure_list(s, "u", "offers", &skus, &n));
	assert_int_equal(n, 2);
	assert_string_equal(skus[0], "SKU-A");
	assert_string_equal(skus[1], "SKU-B");
	while (n)
		free(skus[--n]);
	free(skus);

	CHECK(s, store_run_failures(s, "r2", &arr));
	want = sf_parse("[{\"sku\":\"SKU-A\",\"error\":\"timeout\",\"attempts\":5},"
			"{\"sku\":\"SKU-C\",\"error\":\"bad\",\"attempts\":1}]");
	if (!json_equal(arr, want)) {
		char *got = json_dumps(arr, JSON_COMPACT);
		fail_msg("run_failures(r2) = %s", got);
	}
	json_decref(arr);
	json_decref(want);
	CHECK(s, store_run_failures(s, "r1", &arr));
	want = sf_parse("[{\"sku\":\"SKU-B\",\"error\":\"reset\",\"attempts\":8}]");
	assert_true(json_equal(arr, want));
	json_decref(arr);
	json_decref(want);

	CHECK(s, store_failure_clear(s, "u", "offers", "SKU-A"));
	CHECK(s, store_failure_clear(s, "u", "offers", "SKU-A")); /* already gone: fine */
	CHECK(s, store_failure_list(s, "u", "offers", &skus, &n));
	assert_int_equal(n, 1);
	assert_string_equal(skus[0], "SKU-B");
	free(skus[0]);
	free(skus);
	CHECK(s, store_failure_list(s, "v", "offers", &skus, &n));
	assert_int_equal(n, 1);
	free(skus[0]);
	free(skus);
	CHECK(s, store_failure_list(s, "w", "offers", &skus, &n));
	assert_int_equal(n, 0);
	free(skus);
	CHECK(s, store_run_failures(s, "r9", &arr));
	assert_int_equal(json_array_size(arr), 0);
	json_decref(arr);
}

static void test_cursors(void **state)
{
	struct store *s = ((struct store_fixture *)*state)->s;
	char *v = (char *)1;

	assert_int_equal(store_cursor_get(s, "u", "inventory_offset", &v), ERR_NOTFOUND);
	assert_null(v);
	CHECK(s, store_cursor_set(s, "u", "inventory_offset", "200"));
	CHECK(s, store_cursor_get(s, "u", "inventory_offset", &v));
	assert_string_equal(v, "200");
	free(v);
	CHECK(s, store_cursor_set(s, "u", "inventory_offset", "400"));
	CHECK(s, store_cursor_get(s, "u", "inventory_offset", &v));
	assert_string_equal(v, "400");
	free(v);
	assert_int_equal(store_cursor_get(s, "other", "inventory_offset", &v), ERR_NOTFOUND);
	assert_int_equal(store_cursor_get(s, "u", "other_name", &v), ERR_NOTFOUND);
}

static void test_users(void **state)
{
	struct store *s = ((struct store_fixture *)*state)->s;
	struct user_row u = {(char *)"zed",
			     (char *)"$6$salt$hash",
			     (char *)"sealed-token",
			     (char *)"sealed-refresh",
			     99000,
			     1000,
			     77000};
	struct user_row a = {(char *)"amy", (char *)"$6$x$y", NULL, NULL, 0, 2000, 0};
	struct user_row got, *list;
	size_t n;

	assert_int_equal(store_user_get(s, "zed", &got), ERR_NOTFOUND);
	CHECK(s, store_user_put(s, &u));
	CHECK(s, store_user_get(s, "zed", &got));
	assert_string_equal(got.id, "zed");
	assert_string_equal(got.password_hash, "$6$salt$hash");
	assert_string_equal(got.ebay_token, "sealed-token");
	assert_string_equal(got.ebay_refresh_token, "sealed-refresh");
	assert_int_equal(got.refresh_expires_ms, 99000);
	assert_int_equal(got.created_ms, 1000);
	assert_int_equal(got.ebay_token_expires_ms, 77000);
	user_row_release(&got);

	/* Update: new values, but created_ms stays. */
	u.password_hash = (char *)"$6$new$hash";
	u.ebay_token = NULL;
	u.created_ms = 5000;
	CHECK(s, store_user_put(s, &u));
	CHECK(s, store_user_get(s, "zed", &got));
	assert_string_equal(got.password_hash, "$6$new$hash");
	assert_null(got.ebay_token);
	assert_int_equal(got.created_ms, 1000);
	user_row_release(&got);

	CHECK(s, store_user_put(s, &a));
	CHECK(s, store_user_list(s, &list, &n));
	assert_int_equal(n, 2);
	assert_string_equal(list[0].id, "amy");
	assert_null(list[0].ebay_refresh_token);
	assert_int_equal(list[0].refresh_expires_ms, 0);
	assert_string_equal(list[1].id, "zed");
	while (n)
		user_row_release(&list[--n]);
	free(list);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    STORE_FIXTURE_TEST(test_failures),
	    STORE_FIXTURE_TEST(test_cursors),
	    STORE_FIXTURE_TEST(test_users),
	};

	return STORE_FIXTURE_RUN(tests);
}
