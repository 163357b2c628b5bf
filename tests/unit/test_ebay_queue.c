/*
 * Tests of the eBay client's queue (ebay.c): the concurrency limit and the
 * pacing as the server sees them, callbacks that submit, cancel or block,
 * ebay_poll()'s deadline under load, cancelling and freeing with work
 * pending. The contexts the callbacks write to are static, so that the
 * teardown's ebay_client_free() after a failed check cancels into live
 * memory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "ebay.h"
#include "ebay_fixture.h"
#include "timeutil.h"

static const struct ebay_fixture_answer slow = {.delay_ms = 40};

/* Submits n GETs of fx->url with outcomes o and waits for them all. */
static void submit_all(struct ebay_fixture *fx, struct ebay_fixture_outcome *o, int n)
{
	int i;

	memset(o, 0, (size_t)n * sizeof(*o));
	for (i = 0; i < n; i++)
		assert_int_equal(ebay_submit(fx->client, EBAY_REQ_OFFERS, fx->url, "A",
					     ebay_fixture_done, &o[i]),
				 ERR_OK);
	assert_int_equal(ebay_pending(fx->client), n);
	ebay_fixture_drain(fx->client, 10000);
	for (i = 0; i < n; i++)
		assert_int_equal(o[i].err, ERR_OK);
	ebay_fixture_outcomes_release(o, (size_t)n);
	assert_int_equal(ebay_fixture_hits(), n);
}

/* The most transfers the client's own log shows at once. */
static int max_in_flight_logged(const struct ebay_fixture *fx)
{
	int i, now = 0, most = 0;

	for (i = 0; i < fx->n_logs; i++) {
		if (strstr(fx->logs[i].event, "_request"))
			now++;
		else
			now--;
		most = now > most ? now : most;
	}
	return most;
}

static void test_concurrency_never_exceeds_limit(void **state)
{
	static struct ebay_fixture_outcome o[40];
	struct ebay_fixture *fx = *state;

	ebay_fixture_serve_answer(&slow);
	ebay_fixture_client(fx);
	submit_all(fx, o, 40);
	/* At most the 4 slots, and it did use them. */
	assert_int_equal(ebay_fixture_max_inflight(), 4);
	assert_int_equal(max_in_flight_logged(fx), 4);
}

static void test_pacing_holds_max_rps(void **state)
{
	static struct ebay_fixture_outcome o[25];
	struct ebay_fixture *fx = *state;
	long long span;
	int i, j, most = 0;

	fx->cfg.max_rps = 20;
	fx->cfg.concurrency = 8;
	ebay_fixture_client(fx);
	submit_all(fx, o, 25);
	/* 25 requests at 20/s with a burst of two: 23 gaps of 50 ms. */
	span = ebay_fixture_hit(24)->at_ms - ebay_fixture_hit(0)->at_ms;
	if (span < 1050 || span > 1800)
		fail_msg("25 requests at 20/s took %lld ms", span);
	/* No 500 ms window holds more than the burst and 10 more. */
	for (i = 0; i < 25; i++) {
		int n = 0;

		for (j = i; j < 25 && ebay_fixture_hit(j)->at_ms - ebay_fixture_hit(i)->at_ms < 500;
		     j++)
			n++;
		most = n > most ? n : most;
	}
	assert_true(most <= 12);
}

static void test_high_max_rps_is_not_capped_by_the_clock(void **state)
{
	static struct ebay_fixture_outcome o[1500];
	struct ebay_fixture *fx = *state;
	long long t0, took;

	fx->cfg.max_rps = 20000;
	fx->cfg.concurrency = 8;
	ebay_fixture_client(fx);
	t0 = timeutil_mono_ms();
	submit_all(fx, o, 1500);
	took = timeutil_mono_ms() - t0;
	/* One request per millisecond would take 1500 ms. */
	if (took >= 1200)
		fail_msg("1500 requests at max_rps 20000 took %lld ms", took);
}

/* ---- callbacks that submit, block, cancel ---- */

struct chain {
	struct ebay_client *c;
	const char *url;
	int done;
	int left;
	enum error last;
};

static void chain_done(void *ctx, const struct ebay_response *r)
{
	struct chain *ch = ctx;

	ch->done++;
	ch->last = r->err;
	if (r->err == ERR_OK && ch->left > 0) {
		ch->left--;
		assert_int_equal(
		    ebay_submit(ch->c, EBAY_REQ_OFFERS, ch->url, "next", chain_done, ch), ERR_OK);
	}
}

static void test_callback_submits_next(void **state)
{
	static struct chain ch;
	struct ebay_fixture *fx = *state;

	ch = (struct chain){ebay_fixture_client(fx), fx->url, 0, 9, ERR_INTERNAL};
	ebay_submit(ch.c, EBAY_REQ_OFFERS, ch.url, "first", chain_done, &ch);
	ebay_fixture_drain(ch.c, 10000);
	assert_int_equal(ch.done, 10);
	assert_int_equal(ch.last, ERR_OK);
	assert_int_equal(ebay_fixture_hits(), 10);
}

static void test_poll_returns_by_its_deadline_under_load(void **state)
{
	static struct chain ch[4];
	struct ebay_fixture *fx = *state;
	struct ebay_client *c = ebay_fixture_client(fx);
	long long t0, took;
	int i, done = 0;

	/* Four endless chains: there is always a completion to handle. */
	for (i = 0; i < 4; i++) {
		ch[i] = (struct chain){c, fx->url, 0, 1000000, ERR_OK};
		ebay_submit(c, EBAY_REQ_OFFERS, fx->url, "chain", chain_done, &ch[i]);
	}
	t0 = timeutil_mono_ms();
	assert_int_equal(ebay_poll(c, 150), ERR_OK);
	took = timeutil_mono_ms() - t0;
	for (i = 0; i < 4; i++)
		done += ch[i].done;
	assert_true(done > 4);
	if (took < 150 || took >= 600)
		fail_msg("ebay_poll(150) returned after %lld ms", took);
	assert_int_equal(ebay_pending(c), 4);
}

struct canceller {
	struct ebay_client *c;
	int seen;
	int cancelled;
	int ok;
};

static void cancel_on_first(void *ctx, const struct ebay_response *r)
{
	struct canceller *k = ctx;

	k->seen++;
	if (r->err == ERR_CANCELLED)
		k->cancelled++;
	if (r->err == ERR_OK) {
		k->ok++;
		if (k->ok == 1)
			ebay_cancel_all(k->c);
	}
}

static void test_cancel_all_from_a_callback(void **state)
{
	static struct canceller k;
	struct ebay_fixture *fx = *state;
	int i;

	fx->cfg.concurrency = 2;
	ebay_fixture_serve_answer(&slow);
	memset(&k, 0, sizeof(k));
	k.c = ebay_fixture_client(fx);
	for (i = 0; i < 12; i++)
		ebay_submit(k.c, EBAY_REQ_OFFERS, fx->url, "A", cancel_on_first, &k);
	ebay_fixture_drain(k.c, 10000);
	assert_int_equal(k.seen, 12);
	assert_true(k.ok >= 1 && k.ok <= 2);
	assert_int_equal(k.cancelled, 12 - k.ok);
	assert_true(ebay_fixture_hits() <= 3);
}

struct resubmitter {
	struct ebay_client *c;
	const char *url;
	int cancelled;
	int refused;
};

static void resubmit_on_cancel(void *ctx, const struct ebay_response *r)
{
	struct resubmitter *s = ctx;

	if (r->err == ERR_CANCELLED) {
		s->cancelled++;
		/* What the engine does with a request it still wants. */
		if (ebay_submit(s->c, EBAY_REQ_OFFERS, s->url, "again", resubmit_on_cancel, s) ==
		    ERR_CANCELLED)
			s->refused++;
	}
}

static void test_free_with_pending_work(void **state)
{
	static struct resubmitter s;
	struct ebay_fixture *fx = *state;
	int i;

	ebay_fixture_serve_answer(&slow);
	s = (struct resubmitter){ebay_fixture_client(fx), fx->url, 0, 0};
	for (i = 0; i < 10; i++)
		ebay_submit(s.c, EBAY_REQ_OFFERS, s.url, "A", resubmit_on_cancel, &s);
	/* Some in flight, some queued. */
	ebay_poll(s.c, 10);
	assert_int_equal(ebay_pending(s.c), 10);
	ebay_client_free(s.c);
	fx->client = NULL;
	assert_int_equal(s.cancelled, 10);
	assert_int_equal(s.refused, 10);
}

static void test_cancel_all_then_reuse(void **state)
{
	static struct ebay_fixture_outcome o[5];
	struct ebay_fixture *fx = *state;
	struct ebay_client *c;
	int i;

	ebay_fixture_serve_answer(&slow);
	memset(o, 0, sizeof(o));
	c = ebay_fixture_client(fx);
	for (i = 0; i < 5; i++)
		ebay_submit(c, EBAY_REQ_OFFERS, fx->url, "A", ebay_fixture_done, &o[i]);
	ebay_poll(c, 5);
	ebay_cancel_all(c);
	assert_int_equal(ebay_pending(c), 0);
	for (i = 0; i < 5; i++) {
		assert_int_equal(o[i].called, 1);
		assert_int_equal(o[i].err, ERR_CANCELLED);
		assert_string_equal(o[i].message, "cancelled");
	}
	/* The client still works afterwards. */
	assert_int_equal(ebay_fixture_get(fx, fx->url)->err, ERR_OK);
}

static void get_inside(void *ctx, const struct ebay_response *r)
{
	struct chain *ch = ctx;
	struct ebay_response inner;

	(void)r;
	ch->last = ebay_get(ch->c, EBAY_REQ_OTHER, ch->url, "inner", &inner);
	ebay_response_release(&inner);
	ch->done++;
}

static void test_poll_edges(void **state)
{
	static struct chain ch;
	struct ebay_fixture *fx = *state;
	long long t0;

	ch = (struct chain){ebay_fixture_client(fx), fx->url, 0, 0, ERR_OK};
	/* Nothing pending: returns at once, whatever the timeout. */
	t0 = timeutil_mono_ms();
	assert_int_equal(ebay_poll(ch.c, 5000), ERR_OK);
	assert_true(timeutil_mono_ms() - t0 < 100);
	/* A blocking get from inside a callback is refused, not deadlocked. */
	ebay_submit(ch.c, EBAY_REQ_OFFERS, ch.url, "outer", get_inside, &ch);
	ebay_fixture_drain(ch.c, 5000);
	assert_int_equal(ch.done, 1);
	assert_int_equal(ch.last, ERR_INTERNAL);
	assert_int_equal(ebay_submit(ch.c, EBAY_REQ_OFFERS, "", "x", NULL, NULL), ERR_INVALID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    EBAY_FIXTURE_TEST(test_concurrency_never_exceeds_limit),
	    EBAY_FIXTURE_TEST(test_pacing_holds_max_rps),
	    EBAY_FIXTURE_TEST(test_high_max_rps_is_not_capped_by_the_clock),
	    EBAY_FIXTURE_TEST(test_callback_submits_next),
	    EBAY_FIXTURE_TEST(test_poll_returns_by_its_deadline_under_load),
	    EBAY_FIXTURE_TEST(test_cancel_all_from_a_callback),
	    EBAY_FIXTURE_TEST(test_free_with_pending_work),
	    EBAY_FIXTURE_TEST(test_cancel_all_then_reuse),
	    EBAY_FIXTURE_TEST(test_poll_edges),
	};

	return cmocka_run_group_tests(tests, ebay_fixture_group_setup, ebay_fixture_group_teardown);
}
