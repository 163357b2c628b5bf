/*
 * Tests for quota.c: a job's cost, the weighted max-min fair allocation,
 * and the admission decision as a pure function of (limit, remaining,
 * per-user use and work, weights, cost), table-driven with a fixed clock;
 * and struct quota over a real store (both backends), with the job queue
 * faked by a callback.
 */
#include <stdlib.h>
#include <string.h>

#include "ledger.h"
#include "quota.h"
#include "store_fixture.h"
#include "storepool.h"
#include "xalloc.h"

#define NOW   1765000000000LL /* 2025-12-06T05:46:40Z */
#define RESET 1765065600000LL /* the next UTC midnight */
#define MIN   60000LL

static void test_job_cost(void **state)
{
	(void)state;
	/* inventory: ceil(skus/200) + 1 pages, plus 2% for retries. */
	assert_int_equal(quota_job_cost(SYNC_INVENTORY, 0), 1 + 1);
	assert_int_equal(quota_job_cost(SYNC_INVENTORY, 200), 2 + 1);
	assert_int_equal(quota_job_cost(SYNC_INVENTORY, 201), 3 + 1);
	assert_int_equal(quota_job_cost(SYNC_INVENTORY, 100000), 501 + 11);
	/* offers and all: the pages and one call a SKU. */
	assert_int_equal(quota_job_cost(SYNC_OFFERS, 500), 504 + 11);
	assert_int_equal(quota_job_cost(SYNC_ALL, 500), quota_job_cost(SYNC_OFFERS, 500));
	assert_int_equal(quota_job_cost(SYNC_OFFERS, 500000), 502501 + 10051);
	/* refresh: a report, the pages and 5% of the SKUs. */
	assert_int_equal(quota_job_cost(SYNC_REFRESH, 10000), 8 + 51 + 500 + 12);
	/* unknown catalog: the default estimate. */
	assert_int_equal(quota_job_cost(SYNC_OFFERS, -1),
			 quota_job_cost(SYNC_OFFERS, QUOTA_DEFAULT_SKUS));
	assert_true(quota_job_cost(SYNC_SKUS, 5) > 0);
}

struct fair_case {
	const char *name;
	long long capacity;
	size_t n;
	long long demand[6];
	double weight[6];
	long long want[6];
};

static void test_fair_shares(void **state)
{
	static const struct fair_case cases[] = {
	    {"all fit", 100, 3, {10, 20, 30}, {1, 1, 1}, {10, 20, 30}},
	    {"even split", 90, 3, {100, 100, 100}, {1, 1, 1}, {30, 30, 30}},
	    {"small ones first, big takes the rest",
	     1000,
	     3,
	     {10, 20, 5000},
	     {1, 1, 1},
	     {10, 20, 970}},
	    {"weights", 300, 2, {1000, 1000}, {2, 1}, {200, 100}},
	    {"weight with a small one", 300, 3, {1000, 50, 1000}, {2, 1, 1}, {166, 50, 83}},
	    {"water level rises twice", 100, 4, {10, 20, 40, 40}, {1, 1, 1, 1}, {10, 20, 35, 35}},
	    {"zero weight counts as one", 100, 2, {100, 100}, {0, -3}, {50, 50}},
	    {"no capacity", 0, 2, {10, 10}, {1, 1}, {0, 0}},
	    {"no demand", 100, 2, {0, 0}, {1, 1}, {0, 0}},
	};

	(void)state;
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		long long got[6] = {0};

		quota_fair_shares(cases[c].capacity, cases[c].demand, cases[c].weight, cases[c].n,
				  got);
		for (size_t i = 0; i < cases[c].n; i++)
			if (got[i] != cases[c].want[i])
				fail_msg("%s: user %zu got %lld, want %lld", cases[c].name, i,
					 got[i], cases[c].want[i]);
	}
}

struct decide_case {
	const char *name;
	long long limit, remaining, cost;
	const char *user;
	size_t n;
	struct quota_user users[4];
	enum quota_reason want;
	long long want_retry; /* 0: not checked */
	const char *want_text;
};

static void test_decide_table(void **state)
{
	static const struct decide_case cases[] = {
	    {"fresh day, alone", 10000, 10000, 500, "a", 0, {{0}}, QUOTA_OK, 0, NULL},
	    {"spent",
	     10000,
	     0,
	     5,
	     "a",
	     1,
	     {{"a", 1, 10000, 0, 0}},
	     QUOTA_SPENT,
	     RESET,
	     "the daily eBay quota is spent (10000 calls); resets at 2025-12-07T00:00:00.000Z"},
	    {"over the remaining",
	     10000,
	     400,
	     500,
	     "a",
	     1,
	     {{"a", 1, 9600, 0, 0}},
	     QUOTA_TOO_BIG,
	     RESET,
	     "this job needs about 500 eBay calls and 400 are left"},
	    {"over the whole day",
	     10000,
	     10000,
	     20000,
	     "big",
	     0,
	     {{0}},
	     QUOTA_TOO_BIG,
	     RESET,
	     "more than the whole daily quota of 10000"},
	    {"running jobs hold what is left",
	     10000,
	     1000,
	     500,
	     "a",
	     2,
	     {{"a", 1, 0, 0, 0}, {"b", 1, 9000, 800, 0}},
	     QUOTA_BUSY,
	     NOW + MIN,
	     "800 are promised to running jobs"},
	    {"alone may take more than half",
	     10000,
	     4000,
	     3000,
	     "big",
	     2,
	     {{"big", 1, 5000, 0, 0}, {"small", 1, 1000, 0, 0}},
	     QUOTA_OK,
	     0,
	     NULL},
	    {"big goes when the small ones need little",
	     10000,
	     4000,
	     3000,
	     "big",
	     3,
	     {{"big", 1, 5000, 0, 0}, {"s1", 1, 500, 0, 500}, {"s2", 1, 500, 0, 500}},
	     QUOTA_OK,
	     0,
	     NULL},
	    {"big waits while small ones have work",
	     10000,
	     4000,
	     3000,
	     "big",
	     3,
	     {{"big", 1, 5000, 0, 0}, {"s1", 1, 500, 0, 2000}, {"s2", 1, 500, 0, 2000}},
	     QUOTA_SHARE,
	     NOW + MIN,
	     "this seller's share of today's eBay quota is 5000 calls"},
	    {"small one admitted under the big one's use",
	     10000,
	     4000,
	     500,
	     "s1",
	     2,
	     {{"big", 1, 5500, 0, 100000}, {"s1", 1, 500, 0, 0}},
	     QUOTA_OK,
	     0,
	     NULL},
	    {"a weight of 3 is not enough",
	     10000,
	     4000,
	     3000,
	     "big",
	     3,
	     {{"big", 3, 5000, 0, 0}, {"s1", 1, 500, 0, 2000}, {"s2", 1, 500, 0, 2000}},
	     QUOTA_SHARE,
	     NOW + MIN,
	     NULL},
	    {"weight 1: big waits",
	     12000,
	     6000,
	     3000,
	     "big",
	     3,
	     {{"big", 1, 5000, 0, 0}, {"s1", 1, 500, 0, 2000}, {"s2", 1, 500, 0, 2000}},
	     QUOTA_SHARE,
	     NOW + MIN,
	     NULL},
	    {"weight 6: big goes",
	     12000,
	     6000,
	     3000,
	     "big",
	     3,
	     {{"big", 6, 5000, 0, 0}, {"s1", 1, 500, 0, 2000}, {"s2", 1, 500, 0, 2000}},
	     QUOTA_OK,
	     0,
	     NULL},
	    {"equal users, one over its half",
	     10000,
	     5000,
	     2000,
	     "a",
	     2,
	     {{"a", 1, 4000, 0, 0}, {"b", 1, 1000, 0, 5000}},
	     QUOTA_SHARE,
	     NOW + MIN,
	     NULL},
	    {"equal users, both within half",
	     10000,
	     5000,
	     1000,
	     "a",
	     2,
	     {{"a", 1, 4000, 0, 0}, {"b", 1, 1000, 0, 5000}},
	     QUOTA_OK,
	     0,
	     NULL},
	};

	(void)state;
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		const struct decide_case *k = &cases[c];
		struct quota_ask a = {
		    .limit = k->limit,
		    .remaining = k->remaining,
		    .reset_ms = RESET,
		    .now_ms = NOW,
		    .recheck_ms = MIN,
		    .user = k->user,
		    .cost = k->cost,
		    .users = k->users,
		    .n_users = k->n,
		};
		struct quota_decision d;

		quota_decide(&a, &d);
		if (d.reason != k->want)
			fail_msg("%s: %s (%s), want %s", k->name, quota_reason_code(d.reason),
				 d.why, quota_reason_code(k->want));
		if (k->want == QUOTA_OK && (d.retry_at_ms || d.why[0]))
			fail_msg("%s: admitted with a retry or a reason", k->name);
		if (k->want_retry && d.retry_at_ms != k->want_retry)
			fail_msg("%s: retry at %lld, want %lld", k->name, d.retry_at_ms,
				 k->want_retry);
		if (k->want_text && !strstr(d.why, k->want_text))
			fail_msg("%s: '%s' lacks '%s'", k->name, d.why, k->want_text);
	}
}

/* The share wait never outlasts the reset. */
static void test_share_wait_capped_by_reset(void **state)
{
	struct quota_user users[] = {{"a", 1, 6000, 0, 0}, {"b", 1, 0, 0, 6000}};
	struct quota_ask a = {.limit = 12000,
			      .remaining = 6000,
			      .reset_ms = NOW + 1000,
			      .now_ms = NOW,
			      .recheck_ms = MIN,
			      .user = "a",
			      .cost = 500,
			      .users = users,
			      .n_users = 2};
	struct quota_decision d;

	(void)state;
	quota_decide(&a, &d);
	assert_int_equal(d.reason, QUOTA_SHARE);
	assert_int_equal(d.retry_at_ms, NOW + 1000);
}

/*
 * The 500,000-SKU seller against ten 500-SKU ones with three offers jobs
 * each queued, a day simulated in admissions: each admitted job spends its
 * cost at once; the big one asks first every round. Returns how many jobs
 * the big one had admitted; fails the test when a small job is refused.
 */
static int simulate_day(long long limit)
{
	struct quota_user users[11];
	char names[11][8];
	long long used_all = 0, big_cost = quota_job_cost(SYNC_OFFERS, 500000);
	long long small_cost = quota_job_cost(SYNC_OFFERS, 500);
	int small_done[10] = {0}, big_done = 0;

	memset(users, 0, sizeof(users));
	for (int i = 0; i < 11; i++) {
		snprintf(names[i], sizeof(names[i]), i ? "s%d" : "big", i);
		users[i].user = names[i];
		users[i].weight = 1;
	}
	for (int round = 0; round < 5; round++) {
		for (int i = 0; i < 11; i++) {
			long long cost = i ? small_cost : big_cost;
			struct quota_ask a = {.limit = limit,
					      .remaining = limit - used_all,
					      .reset_ms = RESET,
					      .now_ms = NOW,
					      .user = names[i],
					      .cost = cost,
					      .users = users,
					      .n_users = 11};
			struct quota_decision d;

			if (i ? small_done[i - 1] >= 3 : big_done >= 1)
				continue;
			/* The queue: every job not done yet, but the one asking. */
			for (int j = 1; j < 11; j++)
				users[j].queued = (3 - small_done[j - 1] - (j == i)) * small_cost;
			users[0].queued = i && !big_done ? big_cost : 0;
			quota_decide(&a, &d);
			if (d.reason != QUOTA_OK) {
				if (i)
					fail_msg("limit %lld: small seller %s refused: %s", limit,
						 names[i], d.why);
				continue;
			}
			users[i].used += cost;
			used_all += cost;
			if (i)
				small_done[i - 1]++;
			else
				big_done++;
		}
	}
	for (int j = 0; j < 10; j++)
		if (small_done[j] != 3)
			fail_msg("limit %lld: %s had %d jobs", limit, names[j + 1], small_done[j]);
	if (used_all > limit)
		fail_msg("limit %lld: %lld calls spent", limit, used_all);
	return big_done;
}

static void test_big_seller_cannot_starve_small_ones(void **state)
{
	(void)state;
	/* Room for everyone: the big job goes too. */
	assert_int_equal(simulate_day(600000), 1);
	/* Not enough for the big job and the small ones' 15,420 calls: the
	 * small ones all go, and the big job, which would leave them short,
	 * never starts (it could not finish in what they leave). */
	assert_int_equal(simulate_day(520000), 0);
}

/* ---- struct quota over a store -------------------------------------------- */

static struct quota_job *fake_jobs;
static size_t fake_n;

static enum error jobs_cb(void *ctx, struct quota_job **jobs, size_t *n)
{
	(void)ctx;
	*jobs = xcalloc(fake_n ? fake_n : 1, sizeof(**jobs));
	for (size_t i = 0; i < fake_n; i++) {
		(*jobs)[i] = fake_jobs[i];
		(*jobs)[i].user = xstrdup(fake_jobs[i].user);
	}
	*n = fake_n;
	return ERR_OK;
}

static void test_ledger_store_ops(void **state)
{
	struct store_fixture *f = *state;
	struct quota_count c[3] = {{"2025-12-06", "sell.inventory", "alice", 10},
				   {"2025-12-06", "sell.inventory", "bob", 5},
				   {"2025-12-06", "identity", "", 2}};
	struct quota_count *rows;
	char **users;
	double *w;
	size_t n, done;

	CHECK(f->s, store_quota_add(f->s, c, 3, &done));
	assert_int_equal(done, 3);
	c[0].calls = 7;
	CHECK(f->s, store_quota_add(f->s, c, 1, &done));
	CHECK(f->s, store_quota_day(f->s, "2025-12-06", &rows, &n));
	assert_int_equal(n, 3);
	assert_string_equal(rows[0].api, "identity");
	assert_int_equal(rows[0].calls, 2);
	assert_string_equal(rows[1].user_id, "alice");
	assert_int_equal(rows[1].calls, 17);
	assert_string_equal(rows[2].user_id, "bob");
	assert_int_equal(rows[2].calls, 5);
	free(rows);
	CHECK(f->s, store_quota_day(f->s, "2025-12-07", &rows, &n));
	assert_int_equal(n, 0);
	free(rows);
	/* A bad day is refused, with how many went in before it. */
	c[1].day[4] = '/';
	assert_int_equal(store_quota_add(f->s, c, 2, &done), ERR_INVALID);
	assert_int_equal(done, 1);
	assert_int_equal(store_quota_day(f->s, "06-12-2025", &rows, &n), ERR_INVALID);

	CHECK(f->s, store_quota_share_set(f->s, "bob", 2.5));
	CHECK(f->s, store_quota_share_set(f->s, "carol", 3));
	CHECK(f->s, store_quota_share_set(f->s, "carol", 4));
	CHECK(f->s, store_quota_shares(f->s, &users, &w, &n));
	assert_int_equal(n, 2);
	assert_string_equal(users[0], "bob");
	assert_true(w[0] == 2.5);
	assert_true(w[1] == 4);
	for (size_t i = 0; i < n; i++)
		free(users[i]);
	free(users);
	free(w);
	CHECK(f->s, store_quota_share_set(f->s, "carol", 0));
	CHECK(f->s, store_quota_shares(f->s, &users, &w, &n));
	assert_int_equal(n, 1);
	free(users[0]);
	free(users);
	free(w);
	assert_int_equal(store_quota_share_set(f->s, "bob", -1), ERR_INVALID);
}

static void test_ledger_flush_batches(void **state)
{
	struct store_fixture *f = *state;
	struct quota_count *rows;
	char day[11];
	size_t n;

	ledger_clear();
	for (int i = 0; i < 1000; i++)
		ledger_note_at("sell.inventory", i % 2 ? "alice" : "bob", 1, NOW);
	ledger_note_at("identity", NULL, 3, NOW);
	ledger_note_at("sell.inventory", "alice", 4, NOW + 24 * 3600 * 1000LL);
	assert_int_equal(ledger_pending(), 1007);
	CHECK(f->s, ledger_flush(f->s));
	assert_int_equal(ledger_pending(), 0);
	ledger_day(NOW, day);
	assert_string_equal(day, "2025-12-06");
	CHECK(f->s, store_quota_day(f->s, day, &rows, &n));
	assert_int_equal(n, 3);
	assert_int_equal(rows[0].calls, 3);
	assert_int_equal(rows[1].calls, 500);
	assert_int_equal(rows[2].calls, 500);
	free(rows);
	CHECK(f->s, store_quota_day(f->s, "2025-12-07", &rows, &n));
	assert_int_equal(n, 1);
	assert_int_equal(rows[0].calls, 4);
	free(rows);
	assert_string_equal(ledger_api_of("http://h:1/sell/inventory/v1/offer?sku=x"),
			    "sell.inventory");
	assert_string_equal(ledger_api_of("https://api.ebay.com/sell/feed/v1/task"), "sell.feed");
	assert_string_equal(ledger_api_of("/identity/v1/oauth2/token"), "identity");
	assert_string_equal(ledger_api_of("http://h/elsewhere"), "other");
	assert_string_equal(ledger_api_of("http://h"), "other");
}

static void test_quota_admit_from_store(void **state)
{
	struct store_fixture *f = *state;
	struct storepool *pool;
	struct buf why = BUF_INIT;
	struct quota_count c[2] = {{"", "sell.inventory", "big", 9000},
				   {"", "sell.inventory", "small", 1000}};
	struct quota_job jobs[2] = {{"small", SYNC_OFFERS, 0, 0}, {"big", SYNC_OFFERS, 0, 0}};
	struct quota_config cfg = {.daily_quota = 12000, .jobs = jobs_cb};
	struct quota_decision d;
	struct quota_status st;
	struct quota *q;
	long long retry;

	ledger_clear();
	ledger_day(NOW, c[0].day);
	ledger_day(NOW, c[1].day);
	CHECK(f->s, store_quota_add(f->s, c, 2, NULL));
	if (storepool_new(f->url, 2, &pool, &why))
		fail_msg("pool: %s", buf_str(&why));
	q = quota_new(pool, &cfg);

	/* The install: 12000 - 10000 left; the user's own use. */
	assert_int_equal(quota_status(q, "big", NOW, &st, &why), ERR_OK);
	assert_int_equal(st.limit, 12000);
	assert_int_equal(st.used, 10000);
	assert_int_equal(st.remaining, 2000);
	assert_int_equal(st.user_used, 9000);
	assert_int_equal(st.reset_ms, RESET);
	assert_int_equal(st.from_ebay, 0);

	/* big (no rows: the default 1000 SKUs, 1027 calls) while small has
	 * work queued: big's 10027 is over its share (12000 - 2027). */
	fake_jobs = jobs;
	fake_n = 2;
	assert_int_equal(quota_admit(q, "big", SYNC_OFFERS, NOW, &d, &why), ERR_OK);
	assert_int_equal(d.reason, QUOTA_SHARE);
	/* small's own job is in the queue's list: it does not count twice. */
	assert_int_equal(quota_admit(q, "small", SYNC_OFFERS, NOW, &d, &why), ERR_OK);
	assert_int_equal(d.reason, QUOTA_OK);
	/* With small's work gone, big may use what is left. */
	fake_n = 0;
	assert_int_equal(quota_admit(q, "big", SYNC_OFFERS, NOW, &d, &why), ERR_OK);
	assert_int_equal(d.reason, QUOTA_OK);
	/* A weight lifts big's share over small's queued work. */
	fake_n = 2;
	CHECK(f->s, store_quota_share_set(f->s, "big", 40));
	assert_int_equal(quota_admit(q, "big", SYNC_OFFERS, NOW, &d, &why), ERR_OK);
	assert_int_equal(d.reason, QUOTA_OK);
	/* Calls noted in the process count once flushed by the next read. */
	ledger_note_at("sell.inventory", "small", 2000, NOW);
	assert_int_equal(quota_admit(q, "small", SYNC_INVENTORY, NOW, &d, &why), ERR_OK);
	assert_int_equal(d.reason, QUOTA_SPENT);
	assert_int_equal(d.retry_at_ms, RESET);
	/* The hook, on today's clock: spent, wait for the next midnight. */
	ledger_note("sell.inventory", "small", 12000);
	buf_reset(&why);
	assert_int_equal(quota_admit_hook(q, "small", SYNC_INVENTORY, &retry, &why), 0);
	assert_true(retry > 0 && retry <= 24 * 3600 * 1000LL);
	assert_non_null(strstr(buf_str(&why), "quota_spent: the daily eBay quota is spent"));

	quota_free(q);
	storepool_free(pool);
	buf_release(&why);
}

int main(void)
{
	const struct CMUnitTest pure[] = {
	    cmocka_unit_test(test_job_cost),
	    cmocka_unit_test(test_fair_shares),
	    cmocka_unit_test(test_decide_table),
	    cmocka_unit_test(test_share_wait_capped_by_reset),
	    cmocka_unit_test(test_big_seller_cannot_starve_small_ones),
	};
	const struct CMUnitTest stored[] = {
	    STORE_FIXTURE_TEST(test_ledger_store_ops),
	    STORE_FIXTURE_TEST(test_ledger_flush_batches),
	    STORE_FIXTURE_TEST(test_quota_admit_from_store),
	};
	int failed = cmocka_run_group_tests_name("quota decisions", pure, NULL, NULL);

	return failed + STORE_FIXTURE_RUN(stored);
}
