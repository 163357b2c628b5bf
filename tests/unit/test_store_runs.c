/*
 * The store tests of runs and their event logs, on every backend
 * (store_fixture.h): a run's row from insert to update, listing and stop;
 * stale runs marked interrupted; at most one running run of a kind per user,
 * and the migration that brings an older database to that rule; events
 * appended once however often a writer retries; runs counted by status.
 */
#include "store_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>

#include "buf.h"
#include "timeutil.h"

static void test_runs(void **state)
{
	struct store *s = ((struct store_fixture *)*state)->s;
	struct run_row r1 = sf_run("offers_1_a", "alice", 1000, 1000, "h:1");
	struct run_row r2 = sf_run("offers_3_b", "alice", 3000, 3000, "h:1");
	struct run_row r3 = sf_run("offers_2_c", "bob", 2000, 2000, "h:2");
	struct run_row got, *list;
	size_t n;
	long long total;

	r2.kind = (char *)"all"; /* one running run of a kind per user */
	CHECK(s, store_run_insert(s, &r1));
	CHECK(s, store_run_insert(s, &r2));
	CHECK(s, store_run_insert(s, &r3));
	assert_int_equal(store_run_insert(s, &r1), ERR_CONFLICT);

	CHECK(s, store_run_get(s, "alice", "offers_1_a", &got));
	assert_string_equal(got.id, "offers_1_a");
	assert_string_equal(got.user_id, "alice");
	assert_string_equal(got.kind, "offers");
	assert_string_equal(got.status, "running");
	assert_int_equal(got.started_ms, 1000);
	assert_int_equal(got.heartbeat_ms, 1000);
	assert_int_equal(got.finished_ms, 0);
	assert_int_equal(got.fetched + got.stored + got.failed + got.total, 0);
	assert_int_equal(got.stop_requested, 0);
	assert_null(got.error);
	assert_string_equal(got.owner, "h:1");
	run_row_release(&got);

	r1.status = (char *)STORE_RUN_FAILED;
	r1.fetched = 10;
	r1.stored = 8;
	r1.failed = 2;
	r1.total = 12;
	r1.heartbeat_ms = 4000;
	r1.finished_ms = 4500;
	r1.error = (char *)"eBay answered 401: Invalid access token";
	CHECK(s, store_run_update(s, &r1));
	CHECK(s, store_run_get(s, NULL, "offers_1_a", &got));
	assert_string_equal(got.status, "failed");
	assert_int_equal(got.fetched, 10);
	assert_int_equal(got.stored, 8);
	assert_int_equal(got.failed, 2);
	assert_int_equal(got.total, 12);
	assert_int_equal(got.heartbeat_ms, 4000);
	assert_int_equal(got.finished_ms, 4500);
	assert_string_equal(got.error, "eBay answered 401: Invalid access token");
	assert_int_equal(got.started_ms, 1000); /* not an updated column */
	run_row_release(&got);
	r3.id = (char *)"no_such_run";
	assert_int_equal(store_run_update(s, &r3), ERR_NOTFOUND);
	r3.id = (char *)"offers_2_c";

	/* Newest first, paged, with the total. */
	CHECK(s, store_run_list(s, "alice", 0, 0, &list, &n, &total));
	assert_int_equal(n, 2);
	assert_int_equal(total, 2);
	assert_string_equal(list[0].id, "offers_3_b");
	assert_string_equal(list[1].id, "offers_1_a");
	assert_string_equal(list[1].status, "failed");
	while (n)
		run_row_release(&list[--n]);
	free(list);
	CHECK(s, store_run_list(s, "alice", 1, 1, &list, &n, &total));
	assert_int_equal(n, 1);
	assert_int_equal(total, 2);
	assert_string_equal(list[0].id, "offers_1_a");
	run_row_release(&list[0]);
	free(list);

	/* Another user's run is not found, by get and by stop. */
	assert_int_equal(store_run_get(s, "alice", "offers_2_c", &got), ERR_NOTFOUND);
	assert_int_equal(store_run_get(s, "alice", "nope", &got), ERR_NOTFOUND);
	assert_int_equal(store_run_request_stop(s, "alice", "offers_2_c"), ERR_NOTFOUND);
	CHECK(s, store_run_get(s, "bob", "offers_2_c", &got));
	assert_int_equal(got.stop_requested, 0);
	run_row_release(&got);

	CHECK(s, store_run_request_stop(s, "alice", "offers_3_b"));
	CHECK(s, store_run_request_stop(s, "alice", "offers_3_b")); /* again: fine */
	CHECK(s, store_run_get(s, "alice", "offers_3_b", &got));
	assert_int_equal(got.stop_requested, 1);
	assert_string_equal(got.status, "running");
	run_row_release(&got);
	/* A finished run cannot be stopped; a later update keeps the flag. */
	assert_int_equal(store_run_request_stop(s, "alice", "offers_1_a"), ERR_CONFLICT);
	r2.heartbeat_ms = 3500;
	CHECK(s, store_run_update(s, &r2));
	CHECK(s, store_run_get(s, "alice", "offers_3_b", &got));
	assert_int_equal(got.stop_requested, 1);
	run_row_release(&got);
}

/* Every user's runs counted by status in one object; statuses with no run
 * are absent. */
static void test_run_counts(void **state)
{
	struct store *s = ((struct store_fixture *)*state)->s;
	struct run_row r1 = sf_run("offers_1_a", "alice", 1000, 1000, "h:1");
	struct run_row r2 = sf_run("all_2_b", "alice", 2000, 2000, "h:1");
	struct run_row r3 = sf_run("offers_3_c", "bob", 3000, 3000, "h:2");
	struct run_row r4 = sf_run("inventory_4_d", "carol", 4000, 4000, "h:2");
	json_t *counts;

	CHECK(s, store_run_counts(s, &counts));
	assert_int_equal(json_object_size(counts), 0);
	json_decref(counts);
	r2.kind = (char *)"all";
	r4.kind = (char *)"inventory";
	CHECK(s, store_run_insert(s, &r1));
	CHECK(s, store_run_insert(s, &r2));
	CHECK(s, store_run_insert(s, &r3));
	CHECK(s, store_run_insert(s, &r4));
	r1.status = (char *)STORE_RUN_DONE;
	r1.finished_ms = 1500;
	CHECK(s, store_run_update(s, &r1));
	r3.status = (char *)STORE_RUN_DONE;
	r3.finished_ms = 3500;
	CHECK(s, store_run_update(s, &r3));
	r4.status = (char *)STORE_RUN_FAILED;
	r4.finished_ms = 4500;
	r4.error = (char *)"eBay answered 500";
	CHECK(s, store_run_update(s, &r4));

	CHECK(s, store_run_counts(s, &counts));
	assert_int_equal(json_object_size(counts), 3);
	assert_int_equal(json_integer_value(json_object_get(counts, "done")), 2);
	assert_int_equal(json_integer_value(json_object_get(counts, "running")), 1);
	assert_int_equal(json_integer_value(json_object_get(counts, "failed")), 1);
	assert_null(json_object_get(counts, "cancelled"));
	json_decref(counts);

	/* The counters follow every way a status changes: an update that
	 * keeps the status counts nothing, a refused insert nothing, and the
	 * bulk update that interrupts stale runs moves each one. */
	CHECK(s, store_run_update(s, &r3));
	r2.id = (char *)"all_5_e";
	assert_int_equal(store_run_insert(s, &r2), ERR_CONFLICT);
	CHECK(s, store_runs_interrupt_stale(s, NULL, 1, NULL));
	CHECK(s, store_run_counts(s, &counts));
	assert_int_equal(json_object_size(counts), 3);
	assert_int_equal(json_integer_value(json_object_get(counts, "done")), 2);
	assert_int_equal(json_integer_value(json_object_get(counts, "interrupted")), 1);
	assert_int_equal(json_integer_value(json_object_get(counts, "failed")), 1);
	assert_null(json_object_get(counts, "running"));
	json_decref(counts);
}

static void test_runs_interrupt_stale(void **state)
{
	struct store *s = ((struct store_fixture *)*state)->s;
	long long now = timeutil_wall_ms();
	struct run_row stale = sf_run("stale", "u", now - 7200000, now - 3600000, "h:9");
	struct run_row fresh = sf_run("fresh", "u", now, now, "h:1");
	struct run_row mine = sf_run("mine", "u", now, now, "h:2");
	struct run_row done = sf_run("done", "u", now - 7200000, now - 3600000, "h:9");
	struct run_row got;
	long long count = -1;

	/* One running run of a kind per user. */
	fresh.kind = (char *)"inventory";
	mine.kind = (char *)"all";
	done.status = (char *)STORE_RUN_DONE;
	done.finished_ms = now - 3600000;
	CHECK(s, store_run_insert(s, &stale));
	CHECK(s, store_run_insert(s, &fresh));
	CHECK(s, store_run_insert(s, &mine));
	CHECK(s, store_run_insert(s, &done));

	CHECK(s, store_runs_interrupt_stale(s, NULL, 60000, &count));
	assert_int_equal(count, 1);
	CHECK(s, store_run_get(s, NULL, "stale", &got));
	assert_string_equal(got.status, "interrupted");
	assert_true(got.finished_ms >= now);
	run_row_release(&got);
	sf_expect_status(s, "fresh", "running");
	sf_expect_status(s, "done", "done");

	/* With an owner: that owner's running runs too, however fresh. */
	CHECK(s, store_runs_interrupt_stale(s, "h:2", 60000, &count));
	assert_int_equal(count, 1);
	sf_expect_status(s, "mine", "interrupted");
	sf_expect_status(s, "fresh", "running");
	CHECK(s, store_runs_interrupt_stale(s, NULL, 60000, &count));
	assert_int_equal(count, 0);
}

/* At most one run of a kind runs for a user, per the schema: a second
 * running insert is refused and names the first; another kind, another
 * user, or the same kind once the first has ended are fine. */
static void test_one_running_run(void **state)
{
	struct store *s = ((struct store_fixture *)*state)->s;
	struct run_row first = sf_run("offers_1_a", "alice", 1000, 1000, "h:1");
	struct run_row second = sf_run("offers_2_b", "alice", 2000, 2000, "h:2");
	struct run_row inventory = sf_run("inventory_2_c", "alice", 2000, 2000, "h:2");
	struct run_row bob = sf_run("offers_2_d", "bob", 2000, 2000, "h:2");
	struct run_row third = sf_run("offers_3_e", "alice", 3000, 3000, "h:3");
	struct run_row got;
	long long count;

	inventory.kind = (char *)"inventory";
	CHECK(s, store_run_insert(s, &first));
	assert_int_equal(store_run_insert(s, &second), ERR_CONFLICT);
	assert_string_equal(store_errmsg(s),
			    "an offers sync is already running for alice (run offers_1_a)");
	assert_int_equal(store_run_get(s, NULL, "offers_2_b", &got), ERR_NOTFOUND);
	/* A finished run of that kind being inserted is not running. */
	second.status = (char *)STORE_RUN_FAILED;
	second.finished_ms = 2500;
	CHECK(s, store_run_insert(s, &second));
	CHECK(s, store_run_insert(s, &inventory));
	CHECK(s, store_run_insert(s, &bob));
	third.kind = (char *)"inventory";
	assert_int_equal(store_run_insert(s, &third), ERR_CONFLICT);
	assert_string_equal(store_errmsg(s),
			    "an inventory sync is already running for alice (run inventory_2_c)");
	third.kind = (char *)"offers";

	/* The first ends: another may start. */
	first.status = (char *)STORE_RUN_DONE;
	first.finished_ms = 2600;
	CHECK(s, store_run_update(s, &first));
	CHECK(s, store_run_insert(s, &third));
	CHECK(s, store_run_get(s, "alice", "offers_3_e", &got));
	assert_string_equal(got.status, "running");
	run_row_release(&got);

	/* A run marked interrupted (its process died) no longer blocks. */
	CHECK(s, store_runs_interrupt_stale(s, "h:3", LLONG_MAX, &count));
	assert_int_equal(count, 1);
	first.id = (char *)"offers_4_f";
	first.status = (char *)STORE_RUN_RUNNING;
	first.finished_ms = 0;
	CHECK(s, store_run_insert(s, &first));
	/* A taken id is still a taken id. */
	assert_int_equal(store_run_insert(s, &bob), ERR_CONFLICT);
	assert_null(strstr(store_errmsg(s), "already running"));
}

/* A database of an older version may hold two running runs of a kind for a
 * user (left by crashed processes): migration 0003 keeps the newest running,
 * marks the others interrupted, and then guards. */
static void test_one_running_migration(void **state)
{
	static const char undo[] =
	    "DROP INDEX sync_runs_one_running; "
	    "DELETE FROM schema_migrations WHERE version = 3; "
	    "INSERT INTO sync_runs (id, user_id, kind, status, started_ms, "
	    "heartbeat_ms) VALUES ('old', 'u', 'offers', 'running', 1000, 1500), "
	    "('new', 'u', 'offers', 'running', 2000, 2500), "
	    "('inv', 'u', 'inventory', 'running', 1000, 1500)";
	struct store_fixture *f = *state;
	struct run_row got, again = sf_run("again", "u", 3000, 3000, "h:1");
	struct buf why = BUF_INIT;

	store_close(f->s);
	f->s = NULL;
	store_fixture_exec(f, undo, undo);
	if (store_open(f->url, &f->s, &why))
		fail_msg("cannot open the store again: %s", buf_str(&why));
	CHECK(f->s, store_run_get(f->s, NULL, "old", &got));
	assert_string_equal(got.status, "interrupted");
	assert_int_equal(got.finished_ms, 1500);
	run_row_release(&got);
	CHECK(f->s, store_run_get(f->s, NULL, "new", &got));
	assert_string_equal(got.status, "running");
	run_row_release(&got);
	CHECK(f->s, store_run_get(f->s, NULL, "inv", &got));
	assert_string_equal(got.status, "running");
	run_row_release(&got);
	assert_int_equal(store_run_insert(f->s, &again), ERR_CONFLICT);
	assert_string_equal(store_errmsg(f->s),
			    "an offers sync is already running for u (run new)");
	buf_release(&why);
}

static void test_events(void **state)
{
	struct store *s = ((struct store_fixture *)*state)->s;
	struct event_row ev[3] = {
	    {1, (char *)"start", 100, (char *)"Starting Offers sync from eBay (production)",
	     (char *)"{\"n\":1}"},
	    {2, (char *)"info", 200,
	     (char *)"Step 1: Fetching all inventory items to get SKU "
		     "list...",
	     (char *)"{\"n\":2}"},
	    {3, (char *)"progress", 300, (char *)"\xe2\x86\x92 [1/50] SKU 'q\"x'", NULL},
	};
	struct event_row retry[2] = {
	    {3, (char *)"info", 999, (char *)"a retried copy must not replace", (char *)"{}"},
	    {4, (char *)"done", 400, (char *)"Offers sync completed", (char *)"{\"n\":4}"},
	};
	struct event_row other = {1, (char *)"start", 1, (char *)"other run", (char *)"{}"};
	struct event_row *got;
	size_t n;

	CHECK(s, store_events_append(s, "run-e", ev, 3));
	CHECK(s, store_events_append(s, "run-e", ev, 3)); /* the writer retried */
	CHECK(s, store_events_append(s, "run-e", retry, 2));
	CHECK(s, store_events_append(s, "run-other", &other, 1));

	CHECK(s, store_events_list(s, "run-e", 0, 0, &got, &n));
	assert_int_equal(n, 4);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(got[i].seq, (long long)i + 1);
	assert_string_equal(got[0].type, "start");
	assert_int_equal(got[0].ts_ms, 100);
	assert_string_equal(got[0].line, "Starting Offers sync from eBay (production)");
	assert_string_equal(got[0].data, "{\"n\":1}");
	assert_string_equal(got[2].type, "progress");
	assert_string_equal(got[2].line, "\xe2\x86\x92 [1/50] SKU 'q\"x'");
	assert_string_equal(got[2].data, "{}"); /* NULL data is stored as {} */
	assert_string_equal(got[3].type, "done");
	while (n)
		event_row_release(&got[--n]);
	free(got);

	CHECK(s, store_events_list(s, "run-e", 1, 1, &got, &n));
	assert_int_equal(n, 1);
	assert_int_equal(got[0].seq, 2);
	event_row_release(&got[0]);
	free(got);
	CHECK(s, store_events_list(s, "run-e", 4, 10, &got, &n));
	assert_int_equal(n, 0);
	free(got);
	CHECK(s, store_events_list(s, "run-other", 0, 10, &got, &n));
	assert_int_equal(n, 1);
	assert_string_equal(got[0].line, "other run");
	event_row_release(&got[0]);
	free(got);
	CHECK(s, store_events_list(s, "no-such-run", 0, 10, &got, &n));
	assert_int_equal(n, 0);
	free(got);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    STORE_FIXTURE_TEST(test_runs),
	    STORE_FIXTURE_TEST(test_run_counts),
	    STORE_FIXTURE_TEST(test_runs_interrupt_stale),
	    STORE_FIXTURE_TEST(test_one_running_run),
	    STORE_FIXTURE_TEST(test_one_running_migration),
	    STORE_FIXTURE_TEST(test_events),
	};

	return STORE_FIXTURE_RUN(tests);
}
