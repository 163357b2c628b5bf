/*
 * Tests for pacer_share.c: the division of the install's rate (fair parts,
 * demand, weights, stale peers), a wall posted by one process lowering the
 * others, and whole runs of three processes against one server-wide limit
 * on a fake clock, with the pacer_peers table as an array: with sharing,
 * the three stay under the limit together; without it, they do not.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pacer.h"
#include "pacer_share.h"
#include "pacers.h"
#include "xalloc.h"

#define CLOSE(a, b) (fabs((a) - (b)) < 1e-6)

/* ---- the division ---- */

static void test_divides_fairly(void **state)
{
	double w[3] = {1, 1, 1}, d[3] = {-1, -1, -1}, out[3];

	(void)state;
	pacer_share_divide(w, d, 3, 90, out);
	assert_true(CLOSE(out[0], 30) && CLOSE(out[1], 30) && CLOSE(out[2], 30));
}

static void test_divides_by_demand_and_weight(void **state)
{
	double w[3] = {1, 1, 1}, d[3] = {10, -1, -1}, out[3];

	(void)state;
	/* A peer asking for 10 gets 10; the others split the rest. */
	pacer_share_divide(w, d, 3, 90, out);
	assert_true(CLOSE(out[0], 10) && CLOSE(out[1], 40) && CLOSE(out[2], 40));
	/* A peer with no runs asks for nothing and gets nothing. */
	d[0] = 0;
	pacer_share_divide(w, d, 3, 90, out);
	assert_true(CLOSE(out[0], 0) && CLOSE(out[1], 45) && CLOSE(out[2], 45));
	/* Two runs weigh twice one. */
	w[1] = 2;
	pacer_share_divide(w, d, 3, 90, out);
	assert_true(CLOSE(out[1], 60) && CLOSE(out[2], 30));
	/* Everyone satisfied: the rest is spread by weight. */
	w[0] = w[1] = w[2] = 1;
	d[0] = 10;
	d[1] = 20;
	d[2] = 30;
	pacer_share_divide(w, d, 3, 90, out);
	assert_true(CLOSE(out[0], 20) && CLOSE(out[1], 30) && CLOSE(out[2], 40));
	/* Asking more than a fair part: capped at it. */
	d[0] = 5;
	d[1] = 100;
	d[2] = 100;
	pacer_share_divide(w, d, 3, 90, out);
	assert_true(CLOSE(out[0], 5) && CLOSE(out[1], 42.5) && CLOSE(out[2], 42.5));
}

/* ---- the table: an array of rows, written over by owner ---- */

#define TABLE_MAX 8

struct table {
	struct pacer_peer_row rows[TABLE_MAX];
	size_t n;
};

static void table_put(struct table *t, const struct pacer_peer_row *r)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		if (!strcmp(t->rows[i].owner, r->owner))
			break;
	assert_true(i < TABLE_MAX);
	if (i == t->n)
		t->n++;
	else
		pacer_peer_row_release(&t->rows[i]);
	t->rows[i] = *r;
	t->rows[i].scope = xstrdup(r->scope);
	t->rows[i].owner = xstrdup(r->owner);
}

static void table_release(struct table *t)
{
	for (size_t i = 0; i < t->n; i++)
		pacer_peer_row_release(&t->rows[i]);
	t->n = 0;
}

/* What pacers.c does at each tick: write, read, apply. */
static void sync_peer(struct table *t, struct pacer_share *ps, struct pacer *p, int users,
		      long long wall_ms, long long mono_ms)
{
	table_put(t, pacer_share_prepare(ps, p, users, wall_ms, mono_ms));
	pacer_share_apply(ps, p, t->rows, t->n, wall_ms, mono_ms);
}

static void test_stale_peers_stop_counting(void **state)
{
	struct table t = {0};
	struct pacer_share a, b, c;
	struct pacer *pa = pacer_new(0), *pb = pacer_new(0), *pc = pacer_new(0);
	long long wall = 1700000000000LL;

	(void)state;
	pacer_share_init(&a, "http://sim", "h:1", 0);
	pacer_share_init(&b, "http://sim", "h:2", 0);
	pacer_share_init(&c, "http://sim", "h:3", 0);
	/* c knows the install's wall: 90 a second. */
	sync_peer(&t, &c, pc, 1, wall, 0);
	t.rows[0].wall = 90;
	t.rows[0].wall_seq = 1;
	t.rows[0].wall_ms = wall;
	sync_peer(&t, &a, pa, 1, wall, 0);
	sync_peer(&t, &b, pb, 1, wall, 0);
	assert_int_equal(b.live, 3);
	assert_true(CLOSE(b.install_wall, 90));
	assert_true(CLOSE(pacer_wall(pb), 30));
	assert_true(pacer_rate(pb) <= 0.95 * 30 + 1e-9);
	/* c stops writing: 3 s later it no longer counts, its wall still does. */
	sync_peer(&t, &a, pa, 1, wall + 3500, 3500);
	sync_peer(&t, &b, pb, 1, wall + 3500, 3500);
	assert_int_equal(b.live, 2);
	assert_true(CLOSE(b.install_wall, 90));
	assert_true(CLOSE(pacer_wall(pb), 45));
	/* a has no runs any more: b gets all of it. */
	sync_peer(&t, &a, pa, 0, wall + 3800, 3800);
	sync_peer(&t, &b, pb, 1, wall + 3800, 3800);
	assert_true(CLOSE(pacer_wall(pb), 90));
	/* After ten minutes the wall is forgotten too. */
	sync_peer(&t, &b, pb, 1, wall + PACER_SHARE_WALL_TTL_MS + 1, 4100);
	assert_true(CLOSE(b.install_wall, 0));
	pacer_share_release(&a);
	pacer_share_release(&b);
	pacer_share_release(&c);
	pacer_free(pa);
	pacer_free(pb);
	pacer_free(pc);
	table_release(&t);
}

static void test_a_429_posted_by_one_lowers_the_others(void **state)
{
	struct table t = {0};
	struct pacer_share a, b;
	struct pacer *pa = pacer_new(0), *pb = pacer_new(0);
	long long wall = 1700000000000LL, now;
	double before;
	int i;

	(void)state;
	pacer_share_init(&a, "http://sim", "h:1", 0);
	pacer_share_init(&b, "http://sim", "h:2", 0);
	sync_peer(&t, &a, pa, 1, wall, 0);
	sync_peer(&t, &b, pb, 1, wall, 0);
	/* a and b send 10 a second each (starting up together, they may not
	 * go much faster), answered; then a gets a 429. */
	for (now = 0; now < 2400; now += 100) {
		if (now > 0 && now % 300 == 0) {
			sync_peer(&t, &a, pa, 1, wall + now, now);
			sync_peer(&t, &b, pb, 1, wall + now, now);
		}
		assert_int_equal(pacer_acquire(pa, now), 0);
		pacer_succeeded(pa, now + 20, now);
		assert_int_equal(pacer_acquire(pb, now), 0);
		pacer_succeeded(pb, now + 20, now);
	}
	assert_true(CLOSE(b.install_wall, 0)); /* nothing learned yet */
	before = pacer_rate(pb);
	assert_int_equal(pacer_acquire(pa, 2400), 0);
	pacer_throttled(pa, 2420, 2400, -1);
	assert_true(pacer_wall(pa) > 0);
	/* a posts its wall and what eBay accepted of b: about 20 a second. */
	sync_peer(&t, &a, pa, 1, wall + 2400, 2400);
	assert_true(a.install_wall > 17 && a.install_wall < 23);
	assert_true(t.rows[0].wall_seq == 1);
	/* b reads it at its next tick: its part is half, its rate below it. */
	sync_peer(&t, &b, pb, 1, wall + 2400, 2400);
	assert_true(CLOSE(b.install_wall, a.install_wall));
	assert_true(CLOSE(pacer_wall(pb), a.install_wall / 2));
	assert_true(pacer_rate(pb) <= 0.95 * a.install_wall / 2 + 1e-9);
	assert_true(pacer_rate(pb) < before);
	/* and a comes down to its half too. */
	sync_peer(&t, &a, pa, 1, wall + 2700, 2700);
	assert_true(CLOSE(pacer_wall(pa), a.install_wall / 2));
	/* Nothing new: nothing moves. */
	before = pacer_rate(pb);
	for (i = 0; i < 2; i++)
		sync_peer(&t, i ? &b : &a, i ? pb : pa, 1, wall + 3000, 3000);
	assert_true(CLOSE(pacer_rate(pb), before));
	pacer_share_release(&a);
	pacer_share_release(&b);
	pacer_free(pa);
	pacer_free(pb);
	table_release(&t);
}

static void test_max_rps_is_the_install_s(void **state)
{
	struct table t = {0};
	struct pacer_share ps[3];
	struct pacer *p[3];
	char owner[16];
	long long wall = 1700000000000LL, now;
	int i, k, sent[3] = {0};

	(void)state;
	for (i = 0; i < 3; i++) {
		snprintf(owner, sizeof(owner), "h:%d", i);
		pacer_share_init(&ps[i], "http://sim", owner, 30);
		p[i] = pacer_new(0);
		sync_peer(&t, &ps[i], p[i], 1, wall, 0);
	}
	/* Eager for 10 s, answered at once: together 30 a second at most. */
	for (now = 0; now < 10000; now++) {
		for (i = 0; i < 3; i++)
			for (k = 0; k < 4 && pacer_acquire(p[i], now) == 0; k++) {
				pacer_succeeded(p[i], now, now);
				sent[i] += now >= 1000;
			}
		if (now % 300 == 0)
			for (i = 0; i < 3; i++)
				sync_peer(&t, &ps[i], p[i], 1, wall + now, now);
	}
	for (i = 0; i < 3; i++) {
		assert_true(CLOSE(ps[i].part_max, 10));
		assert_true(sent[i] <= 9 * 10 + 3);
	}
	for (i = 0; i < 3; i++) {
		pacer_share_release(&ps[i]);
		pacer_free(p[i]);
	}
	table_release(&t);
}

/* ---- three processes in front of one server-wide limit ---- */

#define PEERS 3
#define SLOTS 8

struct peer {
	struct pacer *p;
	struct pacer_share ps;
	long long sent_at[SLOTS], done_at[SLOTS];
	int busy[SLOTS];
	int left;     /* requests still to complete (a refused one is sent again) */
	int inflight; /* of them, sent and not answered */
};

struct outcome {
	long long calls, refused, refused_early, elapsed_ms;
	double peak_rate; /* the most calls in a second, over the run after 2 s */
};

static void model_peers(int share, double limit, int n_each, struct outcome *o)
{
	struct peer peers[PEERS];
	struct table t = {0};
	double tokens = limit, burst = limit;
	long long now, last = 0, per_second[120] = {0};
	char owner[16];
	int i, j, left = PEERS * n_each;

	memset(peers, 0, sizeof(peers));
	memset(o, 0, sizeof(*o));
	for (i = 0; i < PEERS; i++) {
		peers[i].p = pacer_new(0);
		peers[i].left = n_each;
		snprintf(owner, sizeof(owner), "h:%d", i);
		pacer_share_init(&peers[i].ps, "http://sim", owner, 0);
	}
	for (now = 0; left > 0 && now < 120000; now++) {
		for (i = 0; i < PEERS; i++) {
			struct peer *pe = &peers[i];

			for (j = 0; j < SLOTS; j++) {
				if (!pe->busy[j] || pe->done_at[j] != now)
					continue;
				pe->busy[j] = 0;
				pe->inflight--;
				o->calls++;
				per_second[now / 1000]++;
				tokens += (double)(now - last) * limit / 1000.0;
				tokens = tokens > burst ? burst : tokens;
				last = now;
				if (tokens >= 1.0) {
					tokens -= 1.0;
					pacer_succeeded(pe->p, now, pe->sent_at[j]);
					pe->left--;
					left--;
				} else {
					o->refused++;
					o->refused_early += now < 3000;
					pacer_throttled(pe->p, now, pe->sent_at[j], -1);
				}
			}
			for (j = 0; j < SLOTS && pe->left - pe->inflight > 0; j++) {
				if (pe->busy[j])
					continue;
				if (pacer_acquire(pe->p, now) > 0)
					break;
				pe->busy[j] = 1;
				pe->inflight++;
				pe->sent_at[j] = now;
				pe->done_at[j] = now + 20;
			}
		}
		for (i = 0; share && i < PEERS; i++)
			if (pacer_share_due(&peers[i].ps, peers[i].p, now))
				sync_peer(&t, &peers[i].ps, peers[i].p, peers[i].left > 0 ? 1 : 0,
					  1700000000000LL + now, now);
	}
	o->elapsed_ms = now;
	for (i = 2; i < 120 && i < now / 1000; i++)
		if ((double)per_second[i] > o->peak_rate)
			o->peak_rate = (double)per_second[i];
	for (i = 0; i < PEERS; i++) {
		pacer_share_release(&peers[i].ps);
		pacer_free(peers[i].p);
	}
	table_release(&t);
}

static void test_three_processes_share_one_limit(void **state)
{
	struct outcome on, off;

	(void)state;
	model_peers(1, 90, 1500, &on);
	model_peers(0, 90, 1500, &off);
	print_message(
	    "shared: %lld calls, %lld refused (%lld early, %.2f%%), %lld ms, peak %.0f/s\n",
	    on.calls, on.refused, on.refused_early, 100.0 * (double)on.refused / (double)on.calls,
	    on.elapsed_ms, on.peak_rate);
	print_message(
	    "alone:  %lld calls, %lld refused (%lld early, %.2f%%), %lld ms, peak %.0f/s\n",
	    off.calls, off.refused, off.refused_early,
	    100.0 * (double)off.refused / (double)off.calls, off.elapsed_ms, off.peak_rate);
	/* 4,500 calls at 90 a second: 50 s at best. */
	assert_true(on.refused * 100 < 3 * on.calls);
	assert_true((double)on.elapsed_ms < 1.15 * 50000);
	assert_true(2 * off.refused > 3 * on.refused);
}

/* ---- within a process: one pacer per scope, reference-counted ---- */

static void test_runs_of_a_process_share_one_pacer(void **state)
{
	struct pacer *a, *b, *c, *d;
	char *scope;

	(void)state;
	unsetenv("EBAY_CLIENT_ID");
	/* No database: shared within the process only. */
	a = pacers_get("http://127.0.0.1:9/", NULL, 0);
	b = pacers_get("http://127.0.0.1:9", NULL, 0);
	c = pacers_get("http://127.0.0.1:10", NULL, 0);
	assert_ptr_equal(a, b); /* the same API base, however spelled */
	assert_ptr_not_equal(a, c);
	/* Taking a token from one is taking it from the other. */
	while (pacer_acquire(a, 0) == 0)
		;
	assert_true(pacer_acquire(b, 0) > 0);
	pacers_put(a);
	d = pacers_get("http://127.0.0.1:9", NULL, 0);
	assert_ptr_equal(d, b); /* b still holds it */
	pacers_put(d);
	pacers_put(b);
	pacers_put(c);
	scope = pacers_scope(NULL);
	assert_string_equal(scope, "https://api.ebay.com");
	free(scope);
	/* The limit is the application's: its id is part of the scope. */
	setenv("EBAY_CLIENT_ID", "App-1", 1);
	scope = pacers_scope("https://api.ebay.com/");
	assert_string_equal(scope, "https://api.ebay.com app=App-1");
	free(scope);
	unsetenv("EBAY_CLIENT_ID");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_runs_of_a_process_share_one_pacer),
	    cmocka_unit_test(test_divides_fairly),
	    cmocka_unit_test(test_divides_by_demand_and_weight),
	    cmocka_unit_test(test_stale_peers_stop_counting),
	    cmocka_unit_test(test_a_429_posted_by_one_lowers_the_others),
	    cmocka_unit_test(test_max_rps_is_the_install_s),
	    cmocka_unit_test(test_three_processes_share_one_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
