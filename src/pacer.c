/*
 * The pacer (see pacer.h and docs/rate-limiting.md): a token bucket whose
 * refill rate follows AIMD. Tokens accrue continuously at `rate` per
 * second up to `burst`; a request takes one. A 429 halves the rate (once
 * per PACER_THROTTLE_WINDOW_MS, so the burst of 429s that one overloaded
 * second produces counts once); after PACER_QUIET_MS without a 429 every
 * success raises the rate by PACER_RAISE_FRACTION of the ceiling per second
 * of quiet, up to the ceiling. Time is passed in by the caller (monotonic
 * milliseconds), which keeps the arithmetic testable without sleeping.
 */
#include "pacer.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>

#include "xalloc.h"

#include "banned.h"

#define PACER_FLOOR_RPS		 0.5
#define PACER_THROTTLE_WINDOW_MS 1000
#define PACER_QUIET_MS		 5000
#define PACER_RAISE_FRACTION	 0.05

struct pacer {
	pthread_mutex_t lock;
	double max_rps;
	double rate;
	double burst;
	double tokens;
	long long last_refill_ms;   /* -1 before the first call */
	long long last_throttle_ms; /* -1 when never throttled */
	long long last_raise_ms;    /* when the additive increase last ran */
};

struct pacer *pacer_new(double max_rps, double burst)
{
	struct pacer *p = xcalloc(1, sizeof(*p));

	pthread_mutex_init(&p->lock, NULL);
	p->max_rps = max_rps > 0 ? max_rps : 1;
	p->rate = p->max_rps;
	p->burst = burst >= 1 ? burst : 1;
	p->tokens = p->burst;
	p->last_refill_ms = -1;
	p->last_throttle_ms = -1;
	p->last_raise_ms = -1;
	return p;
}

void pacer_free(struct pacer *p)
{
	if (!p)
		return;
	pthread_mutex_destroy(&p->lock);
	free(p);
}

/* Adds the tokens earned since the last call; a clock that steps back
 * earns nothing. Called with the lock held. */
static void refill(struct pacer *p, long long now_ms)
{
	if (p->last_refill_ms >= 0 && now_ms > p->last_refill_ms) {
		p->tokens += (double)(now_ms - p->last_refill_ms) * p->rate / 1000.0;
		if (p->tokens > p->burst)
			p->tokens = p->burst;
	}
	if (p->last_refill_ms < 0 || now_ms > p->last_refill_ms)
		p->last_refill_ms = now_ms;
}

long long pacer_acquire(struct pacer *p, long long now_ms)
{
	long long wait = 0;

	pthread_mutex_lock(&p->lock);
	refill(p, now_ms);
	if (p->tokens >= 1.0) {
		p->tokens -= 1.0;
	} else {
		wait = (long long)ceil((1.0 - p->tokens) * 1000.0 / p->rate);
		if (wait < 1)
			wait = 1;
	}
	pthread_mutex_unlock(&p->lock);
	return wait;
}

void pacer_throttled(struct pacer *p, long long now_ms)
{
	double floor_rps;

	pthread_mutex_lock(&p->lock);
	refill(p, now_ms);
	if (p->last_throttle_ms < 0 || now_ms - p->last_throttle_ms >= PACER_THROTTLE_WINDOW_MS) {
		floor_rps = p->max_rps < PACER_FLOOR_RPS ? p->max_rps : PACER_FLOOR_RPS;
		p->rate /= 2;
		if (p->rate < floor_rps)
			p->rate = floor_rps;
		/* What was saved up at the old rate must not go out in a burst
		 * into a server that just said it is overloaded. */
		if (p->tokens > 1.0)
			p->tokens = 1.0;
		p->last_throttle_ms = now_ms;
	}
	pthread_mutex_unlock(&p->lock);
}

void pacer_succeeded(struct pacer *p, long long now_ms)
{
	long long quiet_from, from;

	pthread_mutex_lock(&p->lock);
	if (p->rate < p->max_rps && p->last_throttle_ms >= 0) {
		quiet_from = p->last_throttle_ms + PACER_QUIET_MS;
		if (now_ms > quiet_from) {
			from = p->last_raise_ms > quiet_from ? p->last_raise_ms : quiet_from;
			if (now_ms > from) {
				/* Settle the tokens at the old rate before it changes. */
				refill(p, now_ms);
				p->rate += PACER_RAISE_FRACTION * p->max_rps *
					   (double)(now_ms - from) / 1000.0;
				if (p->rate > p->max_rps)
					p->rate = p->max_rps;
				p->last_raise_ms = now_ms;
			}
		}
	}
	pthread_mutex_unlock(&p->lock);
}

double pacer_rate(const struct pacer *p)
{
	struct pacer *mp = (struct pacer *)p;
	double rate;

	pthread_mutex_lock(&mp->lock);
	rate = mp->rate;
	pthread_mutex_unlock(&mp->lock);
	return rate;
}
