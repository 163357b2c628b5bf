/* The low-water mark: out-of-order finishes, batches that finish only when
 * they commit, in the order they were closed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "mark.h"

static void test_out_of_order(void **state)
{
	struct mark *m = mark_new(5);

	assert_int_equal(mark_low(m), 0);
	mark_finish(m, 1);
	mark_finish(m, 3);
	assert_int_equal(mark_low(m), 0);
	mark_finish(m, 0);
	assert_int_equal(mark_low(m), 2);
	mark_finish(m, 2);
	assert_int_equal(mark_low(m), 4);
	mark_finish(m, 4);
	mark_finish(m, 99); /* out of range: ignored */
	assert_int_equal(mark_low(m), 5);
	mark_free(m);
}

static void test_batches_finish_on_commit(void **state)
{
	struct mark *m = mark_new(6);

	mark_add(m, 0);
	mark_add(m, 2);
	mark_close_batch(m);
	mark_add(m, 1);
	mark_close_batch(m);
	mark_add(m, 3); /* still filling */
	assert_int_equal(mark_low(m), 0);
	mark_commit_batch(m);
	assert_int_equal(mark_low(m), 1);
	mark_commit_batch(m);
	assert_int_equal(mark_low(m), 3);
	mark_commit_batch(m); /* nothing closed: no change */
	assert_int_equal(mark_low(m), 3);
	mark_free(m); /* frees the batch being filled */
}

static void test_empty(void **state)
{
	struct mark *m = mark_new(0);

	assert_int_equal(mark_low(m), 0);
	mark_close_batch(m);
	mark_commit_batch(m);
	assert_int_equal(mark_low(m), 0);
	mark_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_out_of_order),
	    cmocka_unit_test(test_batches_finish_on_commit),
	    cmocka_unit_test(test_empty),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
