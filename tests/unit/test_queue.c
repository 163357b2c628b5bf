/*
 * The job queue's policy (queue.c): options to JSON and back, with hostile
 * option texts refused; the state a job ends in; when an attempt resumes;
 * worker names.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "queue.h"
#include "store.h"

static void test_opts_round_trip(void **state)
{
	const char *const skus[] = {"A-1", "B \"2\"", "ü"};
	struct buf why = BUF_INIT;
	struct queue_opts o;
	char *text;

	(void)state;
	text = queue_opts_json(1, skus, 3, 1);
	assert_int_equal(queue_opts_parse(text, &o, &why), ERR_OK);
	assert_int_equal(o.resume, 1);
	assert_int_equal(o.report_only, 1);
	assert_int_equal(o.n_skus, 3);
	assert_string_equal(o.skus[1], "B \"2\"");
	assert_string_equal(o.skus[2], "ü");
	queue_opts_release(&o);
	free(text);
	text = queue_opts_json(0, NULL, 0, 0);
	assert_int_equal(queue_opts_parse(text, &o, &why), ERR_OK);
	assert_int_equal(o.resume, 0);
	assert_int_equal(o.n_skus, 0);
	queue_opts_release(&o);
	free(text);
	buf_release(&why);
}

static void test_opts_refused(void **state)
{
	static const char *const bad[] = {
	    NULL, "", "[]", "{", "{\"skus\": 3}", "{\"skus\": [1]}", "{\"skus\": [\"\"]}",
	};
	struct buf why = BUF_INIT;
	struct queue_opts o;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		buf_reset(&why);
		assert_int_equal(queue_opts_parse(bad[i], &o, &why), ERR_PARSE);
		assert_true(why.len > 0);
		assert_null(o.skus);
	}
	buf_release(&why);
}

static void test_outcomes(void **state)
{
	(void)state;
	assert_string_equal(queue_final_state(ERR_OK), STORE_JOB_DONE);
	assert_string_equal(queue_final_state(ERR_CANCELLED), STORE_JOB_CANCELLED);
	assert_string_equal(queue_final_state(ERR_EBAY), STORE_JOB_FAILED);
	assert_string_equal(queue_final_state(ERR_DB), STORE_JOB_FAILED);
	/* A run that ran before resumes its offers step; a fresh one not,
	 * unless it asked; inventory walks start over. */
	assert_true(queue_resumes(SYNC_OFFERS, 1, 0));
	assert_true(queue_resumes(SYNC_ALL, 1, 0));
	assert_false(queue_resumes(SYNC_OFFERS, 0, 0));
	assert_true(queue_resumes(SYNC_OFFERS, 0, 1));
	assert_false(queue_resumes(SYNC_INVENTORY, 1, 0));
	assert_false(queue_resumes(SYNC_REFRESH, 1, 0));
}

static void test_names(void **state)
{
	char *n = queue_worker_name("host:42", 3);

	(void)state;
	assert_string_equal(n, "host:42:3");
	free(n);
	assert_true(store_run_active("queued"));
	assert_true(store_run_active("running"));
	assert_false(store_run_active("done"));
	assert_false(store_run_active(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_opts_round_trip),
	    cmocka_unit_test(test_opts_refused),
	    cmocka_unit_test(test_outcomes),
	    cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
