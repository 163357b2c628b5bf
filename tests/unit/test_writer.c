/* The batching writer on every backend: rows land, events are persisted in
 * order, the done callback counts, and a refused batch is an error that
 * sticks (later batches are not written). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store.h"
#include "testutil.h"
#include "writer.h"
#include "xalloc.h"

struct counts {
	size_t items, offers, calls;
};

static void done(void *ctx, size_t n_items, size_t n_offers, long long ms, long long tag)
{
	struct counts *c = ctx;

	c->items += n_items;
	c->offers += n_offers;
	c->calls++;
}

static struct item_row *items(int from, int n)
{
	struct item_row *rows = xcalloc((size_t)n, sizeof(*rows));

	for (int i = 0; i < n; i++) {
		rows[i].sku = xasprintf("SKU-%05d", from + i);
		rows[i].title = xasprintf("Item %d", from + i);
		rows[i].quantity = from + i;
		rows[i].ebay_status = xstrdup("UNKNOWN");
		rows[i].raw_payload = xasprintf("{\"sku\":\"SKU-%05d\"}", from + i);
	}
	return rows;
}

static void test_batches_and_events(void **state)
{
	char *urls[2];
	const char *names[2];
	int nb = testutil_backends(urls, names);

	for (int b = 0; b < nb; b++) {
		struct counts c = {0};
		struct runlog *log = runlog_new("inventory_1_aaa");
		struct writer *w = NULL;
		struct store *s = NULL;
		struct store_query q = {.user_id = "u"};
		struct event_row *ev = NULL;
		json_t *rows = NULL;
		long long total = 0;
		size_t n = 0;

		assert_int_equal(
		    writer_start(urls[b], "u", "inventory_1_aaa", log, done, &c, &w, NULL), ERR_OK);
		for (int i = 0; i < 50; i++) {
			runlog_emit(log, EVENT_INFO, NULL, "batch %d", i);
			assert_int_equal(writer_submit(w, items(i * 40, 40), 40, NULL, 0, i),
					 ERR_OK);
		}
		assert_int_equal(writer_flush(w), ERR_OK);
		runlog_emit(log, EVENT_DONE, NULL, "done");
		assert_int_equal(writer_finish(w, NULL), ERR_OK);
		assert_int_equal(c.items, 2000);
		assert_int_equal(c.calls, 50);

		assert_int_equal(store_open(urls[b], &s, NULL), ERR_OK);
		assert_int_equal(store_list_items(s, &q, &rows, &total), ERR_OK);
		assert_int_equal(json_array_size(rows), 2000);
		assert_int_equal(total, 2000);
		json_decref(rows);
		assert_int_equal(store_events_list(s, "inventory_1_aaa", 0, 1000, &ev, &n), ERR_OK);
		assert_int_equal(n, 51);
		for (size_t i = 0; i < n; i++) {
			assert_int_equal(ev[i].seq, (long long)i + 1);
			event_row_release(&ev[i]);
		}
		free(ev);
		store_close(s);
		runlog_free(log);
	}
	testutil_backends_release(urls, nb);
}

static void test_refused_batch_sticks(void **state)
{
	char *urls[2];
	const char *names[2];
	int nb = testutil_backends(urls, names);

	for (int b = 0; b < nb; b++) {
		struct counts c = {0};
		struct writer *w = NULL;
		struct item_row *bad = items(0, 2);
		struct buf msg = BUF_INIT;

		FREE_AND_NULL(bad[1].sku); /* a row without a key is refused */
		assert_int_equal(writer_start(urls[b], "u", "r1", NULL, done, &c, &w, NULL),
				 ERR_OK);
		assert_int_equal(writer_submit(w, bad, 2, NULL, 0, 0), ERR_OK);
		assert_int_not_equal(writer_flush(w), ERR_OK);
		assert_int_not_equal(writer_submit(w, items(10, 5), 5, NULL, 0, 0), ERR_OK);
		assert_int_not_equal(writer_finish(w, &msg), ERR_OK);
		assert_non_null(strstr(buf_str(&msg), "no sku"));
		assert_int_equal(c.calls, 0);
		buf_release(&msg);
	}
	testutil_backends_release(urls, nb);
}

static void test_bad_database(void **state)
{
	struct writer *w = NULL;
	struct buf msg = BUF_INIT;

	assert_int_not_equal(
	    writer_start("/nonexistent-dir/x/y.db", "u", "r", NULL, NULL, NULL, &w, &msg), ERR_OK);
	assert_null(w);
	assert_true(msg.len > 0);
	buf_release(&msg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_batches_and_events),
	    cmocka_unit_test(test_refused_batch_sticks),
	    cmocka_unit_test(test_bad_database),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
