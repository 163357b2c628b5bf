/*
 * Tests for pacer.c: the bucket, the start-up that climbs while answers
 * are clean and fast, the cut below the wall measured at a 429, the probes
 * that do not run back into it, Retry-After, the ceiling and the lock.
 * Time is passed in explicitly: nothing sleeps. The rate-finding tests
 * drive the pacer with a model of the client (a number of slots, a fixed
 * latency, retries with full-jitter backoff) in front of a model of the
 * simulator's limiter (a token bucket checked when the answer goes out),
 * all on a fake clock.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "pacer.h"

#define NEAR(a, b) ((a) - (b) < 1e-9 && (b) - (a) < 1e-9)

static void test_starts_low_with_a_small_burst(void **state)
{
	struct pacer *p = pacer_new(0);

	(void)state;
	assert_true(NEAR(pacer_rate(p), 25));
	assert_true(NEAR(pacer_wall(p), 0));
	/* Two tokens, then one every 40 ms at 25/s; a refusal takes nothing. */
	assert_int_equal(pacer_acquire(p, 0), 0);
	assert_int_equal(pacer_acquire(p, 0), 0);
	assert_int_equal(pacer_acquire(p, 0), 40);
	assert_int_equal(pacer_acquire(p, 30), 10);
	assert_int_equal(pacer_acquire(p, 40), 0);
	assert_int_equal(pacer_acquire(p, 40), 40);
	pacer_free(p);
}

/* Grants over `ms` of a caller that always waits exactly what it is told
 * and never hears back. */
static int grants_over(struct pacer *p, long long from, long long ms)
{
	long long now = from, wait;
	int n = 0;

	while (now < from + ms) {
		wait = pacer_acquire(p, now);
		if (wait == 0)
			n++;
		else
			now += wait;
	}
	return n;
}

static void test_no_answers_no_growth(void **state)
{
	struct pacer *p = pacer_new(0);
	int n;

	(void)state;
	/* 10 s at 25/s plus the two tokens it starts with: without answers
	 * there is nothing to say the rate may grow. */
	n = grants_over(p, 0, 10000);
	assert_true(n >= 251 && n <= 252);
	assert_true(NEAR(pacer_rate(p), 25));
	pacer_free(p);
}

static void test_clock_going_back_earns_nothing(void **state)
{
	struct pacer *p = pacer_new(10);

	(void)state;
	assert_int_equal(pacer_acquire(p, 5000), 0);
	assert_int_equal(pacer_acquire(p, 5000), 0);
	assert_true(pacer_acquire(p, 1000) > 0);
	assert_int_equal(pacer_acquire(p, 5100), 0);
	pacer_free(p);
}

/*
 * A caller that wants to send as fast as allowed, every request answered
 * rtt ms later with success. Runs from `from` for `ms` and returns the
 * requests sent.
 */
static int drive_clean(struct pacer *p, long long from, long long ms, long long rtt)
{
	static long long sent[1 << 16];
	int head = 0, tail = 0, n = 0;
	long long t;

	for (t = from; t < from + ms; t++) {
		while (tail < head && sent[tail % (1 << 16)] + rtt <= t)
			pacer_succeeded(p, t, sent[tail++ % (1 << 16)]);
		while (head - tail < (1 << 16) && pacer_acquire(p, t) == 0) {
			sent[head++ % (1 << 16)] = t;
			n++;
		}
	}
	return n;
}

static void test_climbs_while_clean_and_fast(void **state)
{
	struct pacer *p = pacer_new(0);

	(void)state;
	/* Doubling every round (two round trips of 20 ms): past 1,000 a
	 * second within half a second. */
	drive_clean(p, 0, 500, 20);
	assert_true(pacer_rate(p) > 1000);
	assert_true(NEAR(pacer_wall(p), 0));
	pacer_free(p);
}

static void test_slow_answers_hold_the_rate(void **state)
{
	struct pacer *p = pacer_new(0);
	double r;

	(void)state;
	drive_clean(p, 0, 200, 20);
	/* The answers now take ten times as long: a queue is building up at
	 * eBay. Once the round that was fast is over, the rate stays where it
	 * is. */
	drive_clean(p, 200, 100, 200);
	r = pacer_rate(p);
	assert_true(r > 100);
	drive_clean(p, 300, 3000, 200);
	assert_true(NEAR(pacer_rate(p), r));
	/* Fast again: it climbs again. */
	drive_clean(p, 3300, 500, 20);
	assert_true(pacer_rate(p) > 2 * r);
	pacer_free(p);
}

static void test_does_not_grow_past_what_it_sends(void **state)
{
	struct pacer *p = pacer_new(0);
	long long t;

	(void)state;
	/* Ten requests a second, each answered at once: the bucket never
	 * holds one back, so 25/s is never shown to be too slow. */
	for (t = 0; t < 10000; t += 100) {
		assert_int_equal(pacer_acquire(p, t), 0);
		pacer_succeeded(p, t + 20, t);
	}
	assert_true(NEAR(pacer_rate(p), 25));
	pacer_free(p);
}

static void test_respects_the_ceiling(void **state)
{
	struct pacer *p = pacer_new(30);
	int n;

	(void)state;
	assert_true(NEAR(pacer_rate(p), 25));
	drive_clean(p, 0, 2000, 5);
	assert_true(NEAR(pacer_rate(p), 30));
	/* 10 s more at the ceiling: 300 requests (and the odd token). */
	n = drive_clean(p, 2000, 10000, 5);
	assert_true(n >= 299 && n <= 302);
	pacer_free(p);

	/* A ceiling under the start is the start. */
	p = pacer_new(4);
	assert_true(NEAR(pacer_rate(p), 4));
	pacer_free(p);
}

static void test_cuts_below_the_wall_and_ignores_stale_429s(void **state)
{
	struct pacer *p = pacer_new(100);
	double rate;
	int i;

	(void)state;
	/* Two clean seconds at the ceiling of 100 a second... */
	drive_clean(p, 0, 2000, 10);
	assert_true(NEAR(pacer_rate(p), 100));
	assert_true(NEAR(pacer_wall(p), 0));
	/* ...then a 429: eBay accepted about 100 a second in the window, and
	 * the pacer goes to 95% of that. */
	pacer_throttled(p, 2000, 1995, -1);
	assert_true(pacer_wall(p) > 90 && pacer_wall(p) <= 100);
	rate = pacer_rate(p);
	assert_true(NEAR(rate, 0.95 * pacer_wall(p)));
	/* 429s for requests sent before the cut say nothing new. */
	for (i = 0; i < 20; i++)
		pacer_throttled(p, 2001 + i, 1999, -1);
	assert_true(NEAR(pacer_rate(p), rate));
	pacer_free(p);
}

static void test_still_refused_after_a_cut_measures_the_limit(void **state)
{
	struct pacer *p = pacer_new(100);
	long long t, sent;
	int i;

	(void)state;
	drive_clean(p, 0, 2000, 10);
	pacer_throttled(p, 2000, 1995, -1);
	assert_true(pacer_rate(p) > 85 && pacer_rate(p) < 100);
	/* Sent at that rate, one request in two is still refused: eBay
	 * accepts half of it, and once twenty answers are in the pacer settles
	 * just below that. */
	t = 2001;
	for (i = 0; i < 20; i++) {
		while (pacer_acquire(p, t) > 0)
			t++;
		sent = t;
		t += 10;
		if (i % 2)
			pacer_throttled(p, t, sent, -1);
		else
			pacer_succeeded(p, t, sent);
	}
	assert_true(pacer_wall(p) > 38 && pacer_wall(p) < 50);
	assert_true(NEAR(pacer_rate(p), 0.95 * pacer_wall(p)));
	pacer_free(p);
}

static void test_honours_retry_after(void **state)
{
	struct pacer *p = pacer_new(0);

	(void)state;
	assert_int_equal(pacer_acquire(p, 1000), 0);
	pacer_throttled(p, 1010, 1000, 2000);
	/* Nothing goes before 3010, whatever the bucket holds. */
	assert_int_equal(pacer_acquire(p, 1500), 1510);
	assert_int_equal(pacer_acquire(p, 3009), 1);
	assert_int_equal(pacer_acquire(p, 3010), 0);
	/* A shorter Retry-After does not shorten a longer one; an absurd one
	 * is held to five minutes. */
	pacer_throttled(p, 4000, 3010, 10000);
	pacer_throttled(p, 4001, 3010, 10);
	assert_int_equal(pacer_acquire(p, 5000), 9000);
	pacer_throttled(p, 20000, 3010, 86400000);
	assert_int_equal(pacer_acquire(p, 20000), 300000);
	pacer_free(p);
}

/* ---- a model of the client in front of the simulator's limiter ---- */

struct model {
	int n;		 /* requests to complete */
	int concurrency; /* at most 64 */
	int latency_ms;
	double limit; /* the server's rate, 0: none */
	double burst; /* its bucket, 0: a second of the rate */
	/* results */
	long long elapsed_ms;
	int calls;
	int refused;
	int drops_after_5s; /* times the rate went down after 5 s */
	double min_rate_after_5s;
};

static uint64_t rng_state;

static unsigned draw(unsigned n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (unsigned)(rng_state % (n + 1ULL));
}

static void model_run(struct pacer *p, struct model *m)
{
	long long done_at[64], sent_at[64], *due, t, server_last = 0, backoff;
	int busy[64], attempt[64], *due_attempt;
	int n_due = 0, started = 0, done = 0, active = 0, i, j, k;
	double tokens = m->burst > 0 ? m->burst : m->limit, burst = tokens, prev;

	rng_state = 88172645463325252ULL;
	due = calloc((size_t)m->n, sizeof(*due));
	due_attempt = calloc((size_t)m->n, sizeof(*due_attempt));
	assert_non_null(due);
	assert_non_null(due_attempt);
	m->calls = m->refused = m->drops_after_5s = 0;
	m->min_rate_after_5s = 1e9;
	prev = pacer_rate(p);
	for (i = 0; i < m->concurrency; i++)
		busy[i] = 0;
	for (t = 0; done < m->n && t < 3600000; t++) {
		/* Answers: the limiter decides when the answer goes out. */
		for (i = 0; i < m->concurrency; i++) {
			if (!busy[i] || done_at[i] != t)
				continue;
			busy[i] = 0;
			active--;
			m->calls++;
			if (m->limit > 0) {
				tokens += (double)(t - server_last) * m->limit / 1000.0;
				tokens = tokens > burst ? burst : tokens;
				server_last = t;
			}
			if (m->limit <= 0 || tokens >= 1.0) {
				tokens -= 1.0;
				pacer_succeeded(p, t, sent_at[i]);
				done++;
				continue;
			}
			m->refused++;
			pacer_throttled(p, t, sent_at[i], -1);
			backoff = 200LL << (attempt[i] - 1);
			due[n_due] = t + draw((unsigned)(backoff < 30000 ? backoff : 30000));
			due_attempt[n_due++] = attempt[i];
		}
		/* Starts: a due retry first, then the next new request. */
		for (i = 0; i < m->concurrency && active < m->concurrency; i++) {
			if (busy[i])
				continue;
			for (k = -1, j = 0; j < n_due; j++)
				if (due[j] <= t && (k < 0 || due[j] < due[k]))
					k = j;
			if (k < 0 && started >= m->n)
				break;
			if (pacer_acquire(p, t) > 0)
				break;
			if (k >= 0) {
				attempt[i] = due_attempt[k] + 1;
				due[k] = due[--n_due];
				due_attempt[k] = due_attempt[n_due];
			} else {
				attempt[i] = 1;
				started++;
			}
			busy[i] = 1;
			sent_at[i] = t;
			done_at[i] = t + (m->latency_ms > 0 ? m->latency_ms : 1);
			active++;
		}
		if (t >= 5000) {
			if (pacer_rate(p) < m->min_rate_after_5s)
				m->min_rate_after_5s = pacer_rate(p);
			if (pacer_rate(p) < prev)
				m->drops_after_5s++;
		}
		prev = pacer_rate(p);
	}
	m->elapsed_ms = t;
	free(due);
	free(due_attempt);
}

/* The benchmark's scenarios (bench/pacer.sh) on the model: 3,000 requests
 * at 20 ms, eight at once, a limit of 100 or 200 a second unknown to the
 * pacer. */
static void check_finds_limit(double limit)
{
	struct pacer *p = pacer_new(0);
	struct model m = {.n = 3000, .concurrency = 8, .latency_ms = 20, .limit = limit};
	double bound_ms = 3000 * 1000.0 / limit;

	model_run(p, &m);
	if ((double)m.elapsed_ms > 1.15 * bound_ms)
		fail_msg("limit %.0f: %lld ms, bound %.0f ms", limit, m.elapsed_ms, bound_ms);
	if (m.refused * 50 >= m.calls)
		fail_msg("limit %.0f: %d of %d calls refused", limit, m.refused, m.calls);
	assert_true(pacer_wall(p) > 0.85 * limit && pacer_wall(p) < 1.15 * limit);
	/* Settled: never far below the limit once found. */
	assert_true(m.min_rate_after_5s > 0.75 * limit);
	pacer_free(p);
}

static void test_finds_a_limit_of_100(void **state)
{
	(void)state;
	check_finds_limit(100);
}

static void test_finds_a_limit_of_200(void **state)
{
	(void)state;
	check_finds_limit(200);
}

static void test_no_limit_reaches_the_latency_bound(void **state)
{
	struct pacer *p = pacer_new(0);
	struct model m = {.n = 3000, .concurrency = 8, .latency_ms = 20};

	(void)state;
	model_run(p, &m);
	/* 3,000 x 20 ms / 8 = 7.5 s. */
	if (m.elapsed_ms > 8250)
		fail_msg("no limit: %lld ms, bound 7500 ms", m.elapsed_ms);
	assert_int_equal(m.refused, 0);
	pacer_free(p);
}

static void test_does_not_keep_running_into_the_wall(void **state)
{
	struct pacer *p = pacer_new(0);
	struct model m = {.n = 20000, .concurrency = 8, .latency_ms = 100, .limit = 50};

	(void)state;
	/* 400 s at a limit of 50: AIMD would halve at every 429 and climb
	 * back into the wall; here the probes get rarer, the rate stays near
	 * the wall and few calls are refused. */
	model_run(p, &m);
	if ((double)m.elapsed_ms > 1.10 * 400000)
		fail_msg("limit 50: %lld ms, bound 400000 ms", m.elapsed_ms);
	if (m.refused * 200 >= m.calls)
		fail_msg("limit 50: %d of %d calls refused", m.refused, m.calls);
	assert_true(m.min_rate_after_5s > 0.7 * 50);
	assert_true(m.drops_after_5s < 40);
	pacer_free(p);
}

struct race {
	struct pacer *p;
	int granted;
};

static void *race_thread(void *arg)
{
	struct race *r = arg;
	int i;

	for (i = 0; i < 20000; i++) {
		if (pacer_acquire(r->p, 0) == 0)
			r->granted++;
		pacer_succeeded(r->p, 0, 0);
	}
	return NULL;
}

static void test_threads_share_the_bucket(void **state)
{
	struct pacer *p = pacer_new(0);
	struct race r[4];
	pthread_t th[4];
	int i, total = 0;

	(void)state;
	for (i = 0; i < 4; i++) {
		r[i].p = p;
		r[i].granted = 0;
		assert_int_equal(pthread_create(&th[i], NULL, race_thread, &r[i]), 0);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		total += r[i].granted;
	}
	/* The clock never moves: exactly the two tokens it starts with,
	 * however the threads race. */
	assert_int_equal(total, 2);
	pacer_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_starts_low_with_a_small_burst),
	    cmocka_unit_test(test_no_answers_no_growth),
	    cmocka_unit_test(test_clock_going_back_earns_nothing),
	    cmocka_unit_test(test_climbs_while_clean_and_fast),
	    cmocka_unit_test(test_slow_answers_hold_the_rate),
	    cmocka_unit_test(test_does_not_grow_past_what_it_sends),
	    cmocka_unit_test(test_respects_the_ceiling),
	    cmocka_unit_test(test_cuts_below_the_wall_and_ignores_stale_429s),
	    cmocka_unit_test(test_still_refused_after_a_cut_measures_the_limit),
	    cmocka_unit_test(test_honours_retry_after),
	    cmocka_unit_test(test_finds_a_limit_of_100),
	    cmocka_unit_test(test_finds_a_limit_of_200),
	    cmocka_unit_test(test_no_limit_reaches_the_latency_bound),
	    cmocka_unit_test(test_does_not_keep_running_into_the_wall),
	    cmocka_unit_test(test_threads_share_the_bucket),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
