/*
 * A run's SKU list in the store (store_skus_*), on every backend through
 * the same interface: appending keeps each SKU once at the position of its
 * first arrival, says which were new, reads back in order by position, and
 * is dropped per run or for every run no longer running. SKUs with the
 * bytes a PostgreSQL array literal escapes go through intact.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store.h"
#include "testutil.h"
#include "timeutil.h"
#include "xalloc.h"

static void free_list(char **skus, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(skus[i]);
	free(skus);
}

static void insert_run(struct store *s, const char *id, const char *status)
{
	struct run_row r = {.id = (char *)id,
			    .user_id = (char *)"u1",
			    .kind = (char *)(strcmp(status, "running") ? "inventory" : "offers"),
			    .status = (char *)status,
			    .started_ms = timeutil_wall_ms(),
			    .heartbeat_ms = timeutil_wall_ms(),
			    .owner = (char *)"here:1"};

	assert_int_equal(store_run_insert(s, &r), ERR_OK);
}

static void on_backend(const char *url, const char *name)
{
	static const char *const page1[] = {"b", "a\"q", "b", "c\\d", "{e,f}"};
	static const char *const page2[] = {"a\"q", "g h", "NULL", "é"};
	unsigned char is_new[5];
	struct store *s = NULL;
	char **got = NULL;
	size_t n = 0;
	long long count = -1, pos = -1;

	print_message("[ %s ]\n", name);
	assert_int_equal(store_open(url, &s, NULL), ERR_OK);
	insert_run(s, "r1", "running");
	insert_run(s, "r2", "done");

	assert_int_equal(store_skus_add(s, "r1", page1, 5, is_new, &count), ERR_OK);
	assert_int_equal(count, 4);
	assert_memory_equal(is_new, ((unsigned char[]){1, 1, 0, 1, 1}), 5);
	assert_int_equal(store_skus_add(s, "r1", page2, 4, is_new, &count), ERR_OK);
	assert_int_equal(count, 7);
	assert_memory_equal(is_new, ((unsigned char[]){0, 1, 1, 1}), 4);
	/* nothing new: the length stays */
	assert_int_equal(store_skus_add(s, "r1", page2, 2, is_new, &count), ERR_OK);
	assert_int_equal(count, 7);
	assert_memory_equal(is_new, ((unsigned char[]){0, 0}), 2);
	/* another run's list is its own */
	assert_int_equal(store_skus_add(s, "r2", page2, 1, is_new, &count), ERR_OK);
	assert_int_equal(count, 1);
	assert_int_equal(is_new[0], 1);

	assert_int_equal(store_skus_range(s, "r1", 0, 100, &got, &n), ERR_OK);
	assert_int_equal(n, 7);
	assert_string_equal(got[0], "b");
	assert_string_equal(got[1], "a\"q");
	assert_string_equal(got[2], "c\\d");
	assert_string_equal(got[3], "{e,f}");
	assert_string_equal(got[4], "g h");
	assert_string_equal(got[5], "NULL");
	assert_string_equal(got[6], "é");
	free_list(got, n);
	assert_int_equal(store_skus_range(s, "r1", 5, 1, &got, &n), ERR_OK);
	assert_int_equal(n, 1);
	assert_string_equal(got[0], "NULL");
	free_list(got, n);
	assert_int_equal(store_skus_range(s, "r1", 7, 10, &got, &n), ERR_OK);
	assert_int_equal(n, 0);
	free_list(got, n);

	assert_int_equal(store_skus_find(s, "r1", "{e,f}", &pos), ERR_OK);
	assert_int_equal(pos, 3);
	assert_int_equal(store_skus_find(s, "r1", "zz", &pos), ERR_NOTFOUND);
	assert_int_equal(store_skus_find(s, "r2", "b", &pos), ERR_NOTFOUND);
	{
		/* Many at once, odd SKUs and a repeat included; absent ones -1. */
		const char *many[] = {"é", "zz", "{e,f}", "a\"q", "é", "c\\d", "NULL"};
		long long at[7];

		assert_int_equal(store_skus_positions(s, "r1", many, 7, at), ERR_OK);
		assert_int_equal(at[0], 6);
		assert_int_equal(at[1], -1);
		assert_int_equal(at[2], 3);
		assert_int_equal(at[3], 1);
		assert_int_equal(at[4], 6);
		assert_int_equal(at[5], 2);
		assert_int_equal(at[6], 5);
		assert_int_equal(store_skus_positions(s, "r2", many, 1, at), ERR_OK);
		assert_int_equal(at[0], -1);
		assert_int_equal(store_skus_positions(s, NULL, many, 1, at), ERR_INVALID);
	}

	/* NULL: the lists of runs not running (r2) go, r1's stays */
	assert_int_equal(store_skus_clear(s, NULL), ERR_OK);
	assert_int_equal(store_skus_find(s, "r2", "a\"q", &pos), ERR_NOTFOUND);
	assert_int_equal(store_skus_find(s, "r1", "a\"q", &pos), ERR_OK);
	assert_int_equal(pos, 1);
	assert_int_equal(store_skus_clear(s, "r1"), ERR_OK);
	assert_int_equal(store_skus_range(s, "r1", 0, 10, &got, &n), ERR_OK);
	assert_int_equal(n, 0);
	free_list(got, n);
	/* a new list starts at position 0 */
	assert_int_equal(store_skus_add(s, "r1", page2 + 1, 1, NULL, &count), ERR_OK);
	assert_int_equal(count, 1);
	store_close(s);
}

static void test_sku_list(void **state)
{
	char *urls[2];
	const char *names[2];
	int n = testutil_backends(urls, names);

	(void)state;
	for (int b = 0; b < n; b++)
		on_backend(urls[b], names[b]);
	testutil_backends_release(urls, n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sku_list),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
