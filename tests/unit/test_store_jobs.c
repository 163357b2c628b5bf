/*
 * The store tests of the job queue (store.h, store/jobs.c), on every
 * backend (store_fixture.h): enqueue with its one-run-of-a-kind rule,
 * claim (oldest due first, one claimer per job), renew, finish, requeue,
 * reap of expired leases (back to the queue, then failed after the last
 * attempt), cancel of a queued run, stats and worker heartbeats.
 */
#include <stdlib.h>
#include <string.h>

#include "store_fixture.h"
#include "xalloc.h"

static void enqueue(struct store *s, const char *id, const char *user, const char *kind,
		    long long created, long long max_attempts)
{
	struct run_row run = {.id = (char *)id,
			      .user_id = (char *)user,
			      .kind = (char *)kind,
			      .status = (char *)STORE_RUN_QUEUED};
	struct job_row job = {.options = (char *)"{\"resume\":false}",
			      .max_attempts = max_attempts,
			      .created_ms = created};

	CHECK(s, store_job_enqueue(s, &run, &job));
}

static const char *run_status(struct store *s, const char *id, struct run_row *row)
{
	run_row_release(row);
	CHECK(s, store_run_get(s, NULL, id, row));
	return row->status;
}

static void test_enqueue_and_claim(void **state)
{
	struct store *s = ((struct store_fixture *)*state)->s;
	struct run_row run = {.id = (char *)"r3",
			      .user_id = (char *)"alice",
			      .kind = (char *)"offers",
			      .status = (char *)STORE_RUN_QUEUED};
	struct job_row job = {.options = (char *)"{}", .created_ms = 5}, got;
	struct run_row row = {0};

	enqueue(s, "r1", "alice", "offers", 1000, 0);
	enqueue(s, "r2", "bob", "offers", 900, 0);
	/* A second offers run of alice while r1 is queued: refused, naming r1. */
	assert_int_equal(store_job_enqueue(s, &run, &job), ERR_CONFLICT);
	assert_non_null(strstr(store_errmsg(s), "r1"));
	assert_int_equal(store_run_get(s, NULL, "r3", &row), ERR_NOTFOUND);
	assert_string_equal(run_status(s, "r1", &row), "queued");

	/* Oldest first; not before now. */
	CHECK(s, store_job_claim(s, "w:1:0", 2000, 5000, &got));
	assert_string_equal(got.run_id, "r2");
	assert_string_equal(got.state, "running");
	assert_string_equal(got.worker, "w:1:0");
	assert_int_equal(got.attempts, 1);
	assert_int_equal(got.max_attempts, 3);
	assert_int_equal(got.lease_until_ms, 5000);
	assert_int_equal(got.last_seq, 0);
	job_row_release(&got);
	CHECK(s, store_job_claim(s, "w:1:1", 2000, 5000, &got));
	assert_string_equal(got.run_id, "r1");
	assert_string_equal(got.options, "{\"resume\":false}");
	job_row_release(&got);
	assert_int_equal(store_job_claim(s, "w:1:0", 2000, 5000, &got), ERR_NOTFOUND);

	/* The run becomes running under its worker; a running one holds its kind too. */
	CHECK(s, store_job_run_started(s, "r1", "w:1:1", 2100));
	assert_string_equal(run_status(s, "r1", &row), "running");
	assert_string_equal(row.owner, "w:1:1");
	assert_int_equal(store_job_enqueue(s, &run, &job), ERR_CONFLICT);

	/* Renew and finish only by the holder. */
	CHECK(s, store_job_renew(s, "r1", "w:1:1", 9000));
	assert_int_equal(store_job_renew(s, "r1", "w:9:9", 9000), ERR_NOTFOUND);
	assert_int_equal(store_job_finish(s, "r1", "w:9:9", STORE_JOB_DONE, 3000), ERR_NOTFOUND);
	CHECK(s, store_job_finish(s, "r1", "w:1:1", STORE_JOB_DONE, 3000));
	CHECK(s, store_job_get(s, "r1", &got));
	assert_string_equal(got.state, "done");
	assert_int_equal(got.lease_until_ms, 9000);
	job_row_release(&got);
	assert_int_equal(store_job_get(s, "nope", &got), ERR_NOTFOUND);
	run_row_release(&row);
}

static void test_requeue_and_reap(void **state)
{
	struct store *s = ((struct store_fixture *)*state)->s;
	struct run_row row = {0};
	struct job_row got;
	long long requeued = -1, failed = -1;

	enqueue(s, "r1", "alice", "all", 1000, 2);
	CHECK(s, store_job_claim(s, "w:1:0", 1000, 2000, &got));
	job_row_release(&got);
	CHECK(s, store_job_run_started(s, "r1", "w:1:0", 1000));
	/* Handed back with a refund: queued again, due later, with a reason. */
	CHECK(s, store_job_requeue(s, "r1", "w:1:0", 1500, "quota spent", 1, 1100));
	assert_string_equal(run_status(s, "r1", &row), "queued");
	CHECK(s, store_job_get(s, "r1", &got));
	assert_string_equal(got.state, "queued");
	assert_null(got.worker);
	assert_string_equal(got.wait_reason, "quota spent");
	assert_int_equal(got.attempts, 0);
	job_row_release(&got);
	assert_int_equal(store_job_requeue(s, "r1", "w:1:0", 0, NULL, 0, 0), ERR_NOTFOUND);
	assert_int_equal(store_job_claim(s, "w:1:0", 1400, 5000, &got), ERR_NOTFOUND);

	/* Claimed, its worker dies: the lease runs out and reap requeues it. */
	CHECK(s, store_job_claim(s, "w:2:0", 1500, 3000, &got));
	job_row_release(&got);
	CHECK(s, store_job_run_started(s, "r1", "w:2:0", 1500));
	CHECK(s, store_job_reap(s, 2999, &requeued, &failed));
	assert_int_equal(requeued, 0);
	CHECK(s, store_job_reap(s, 3001, &requeued, &failed));
	assert_int_equal(requeued, 1);
	assert_int_equal(failed, 0);
	assert_string_equal(run_status(s, "r1", &row), "queued");
	CHECK(s, store_job_get(s, "r1", &got));
	assert_non_null(strstr(got.wait_reason, "w:2:0"));
	job_row_release(&got);
	/* The lost worker can no longer renew nor finish it. */
	assert_int_equal(store_job_renew(s, "r1", "w:2:0", 9000), ERR_NOTFOUND);

	/* Second claim, lost again: that was its last attempt, it fails. */
	CHECK(s, store_job_claim(s, "w:3:0", 3100, 4000, &got));
	assert_int_equal(got.attempts, 2);
	job_row_release(&got);
	CHECK(s, store_job_reap(s, 4001, &requeued, &failed));
	assert_int_equal(requeued, 0);
	assert_int_equal(failed, 1);
	assert_string_equal(run_status(s, "r1", &row), "failed");
	assert_string_equal(row.error_code, "worker_lost");
	assert_true(row.finished_ms > 0);
	CHECK(s, store_job_get(s, "r1", &got));
	assert_string_equal(got.state, "failed");
	job_row_release(&got);
	/* Its kind is free again. */
	enqueue(s, "r2", "alice", "all", 5000, 0);
	run_row_release(&row);
}

static void test_cancel_and_stats(void **state)
{
	struct store *s = ((struct store_fixture *)*state)->s;
	struct run_row row = {0};
	struct job_row got;
	struct job_stats st;
	long long requeued;

	enqueue(s, "r1", "alice", "offers", 1000, 0);
	enqueue(s, "r2", "bob", "offers", 1000, 0);
	enqueue(s, "r3", "carol", "offers", 1000, 0);
	assert_int_equal(store_job_cancel(s, "bob", "r1", 1500), ERR_NOTFOUND); /* not bob's */
	CHECK(s, store_job_cancel(s, "alice", "r1", 1500));
	assert_string_equal(run_status(s, "r1", &row), "cancelled");
	assert_int_equal(store_job_cancel(s, "alice", "r1", 1500), ERR_NOTFOUND);
	CHECK(s, store_job_claim(s, "w:1:0", 2000, 9000, &got));
	assert_string_equal(got.run_id, "r2");
	assert_int_equal(store_job_cancel(s, "bob", "r2", 2100), ERR_NOTFOUND); /* running */
	job_row_release(&got);
	CHECK(s, store_job_claim(s, "w:1:1", 2000, 9000, &got));
	CHECK(s, store_job_requeue(s, got.run_id, "w:1:1", 50000, "later", 1, 2000));
	job_row_release(&got);

	CHECK(s, store_worker_beat(s, "w:1", 2, 1000));
	CHECK(s, store_worker_beat(s, "w:2", 2, 1000));
	CHECK(s, store_worker_beat(s, "w:1", 3, 5000)); /* again: updates */
	CHECK(s, store_job_stats(s, 4000, 3000, &st));
	assert_int_equal(st.queued, 1);
	assert_int_equal(st.waiting, 1);
	assert_int_equal(st.running, 1);
	assert_int_equal(st.cancelled, 1);
	assert_int_equal(st.done, 0);
	assert_int_equal(st.workers, 1);
	CHECK(s, store_worker_gone(s, "w:1"));
	CHECK(s, store_job_stats(s, 0, 3000, &st));
	assert_int_equal(st.workers, 1);
	/* Nothing expired yet. */
	CHECK(s, store_job_reap(s, 8000, &requeued, NULL));
	assert_int_equal(requeued, 0);
	run_row_release(&row);
}

/* Runs of a job are not "interrupted" by the stale-run sweep: their lease
 * decides. */
static void test_stale_sweep_spares_jobs(void **state)
{
	struct store *s = ((struct store_fixture *)*state)->s;
	struct run_row row = {0};
	struct job_row got;
	long long n = -1;

	enqueue(s, "r1", "alice", "offers", 1000, 0);
	CHECK(s, store_job_claim(s, "w:1:0", 1000, 2000, &got));
	job_row_release(&got);
	CHECK(s, store_job_run_started(s, "r1", "w:1:0", 1000));
	CHECK(s, store_runs_interrupt_stale(s, NULL, 1, &n));
	assert_int_equal(n, 0);
	CHECK(s, store_runs_interrupt_stale(s, "w:1:0", 1, &n));
	assert_int_equal(n, 0);
	assert_string_equal(run_status(s, "r1", &row), "running");
	run_row_release(&row);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    STORE_FIXTURE_TEST(test_enqueue_and_claim),
	    STORE_FIXTURE_TEST(test_requeue_and_reap),
	    STORE_FIXTURE_TEST(test_cancel_and_stats),
	    STORE_FIXTURE_TEST(test_stale_sweep_spares_jobs),
	};

	return STORE_FIXTURE_RUN(tests);
}
