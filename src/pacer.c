/*
 * The pacer (see pacer.h and docs/rate-limiting.md): a token bucket whose
 * rate the pacer looks for, the way TCP looks for a path's bandwidth.
 *
 * Time is cut into rounds (two round trips, at least 20 ms). A round in
 * which the bucket held a request back, no 429 came and the answers stayed
 * fast lets the rate grow: doubled in the start-up, along a cubic curve
 * afterwards. A 429 is read against a measuring window (the last 250 ms,
 * never reaching back past the last cut): the rate eBay accepted there,
 * sends times the share of answers that were not 429, is the wall, and the
 * rate is cut to PACER_SETTLE of it. After a cut the pacer waits for
 * PACER_MIN_SAMPLES answers to requests sent at the new rate: if some of
 * them were refused too, the window now measures what eBay accepts while
 * refusing, which is its limit, and the pacer cuts again to just below
 * that; 429s for requests sent before a cut say nothing about the new rate
 * and are not counted.
 *
 * The cubic curve (TCP CUBIC's, in rate rather than window) starts at the
 * rate of the cut, rises fast, flattens out at the wall after
 * PACER_PROBE_MS of growing rounds (twice that after each further
 * crossing, up to PACER_PROBE_DOUBLINGS times), and only then probes past
 * it, slowly at first and at most PACER_STEP past: a run spends most of
 * its time just under the wall instead of climbing back into it. Growth is
 * also held to PACER_HEADROOM times the rate actually sent, so that a run
 * held back by its concurrency (or by having nothing to send) does not
 * build up a rate it never tried.
 */
#include "pacer.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

#include "banned.h"

#define PACER_START_RPS	      25.0   /* the first rate: the old fixed default */
#define PACER_FLOOR_RPS	      0.5    /* never slower, unless the ceiling is */
#define PACER_BURST_MS	      50     /* the bucket holds 50 ms of the rate, */
#define PACER_BURST_MIN	      2.0    /* and at least two tokens */
#define PACER_ROUND_MS	      20     /* the shortest round */
#define PACER_SLOT_MS	      25     /* the measuring window: */
#define PACER_SLOTS	      10     /* 10 slots of 25 ms */
#define PACER_SETTLE	      0.95   /* a cut goes to this share of the wall */
#define PACER_PROBE_MS	      2500.0 /* from PACER_SETTLE x wall back to the wall */
#define PACER_MIN_SAMPLES     20     /* answers that make a measurement */
#define PACER_MAX_DROP	      0.5    /* one cut at most halves the rate */
#define PACER_PROBE_DOUBLINGS 4	     /* the way back to the wall is 2.5 s to 20 s */
#define PACER_STEP	      1.25   /* a probe goes at most 25% past the wall */
#define PACER_STEP_AFTER      2.0    /* and is taken after twice the way back */
#define PACER_HEADROOM	      2.0    /* growth stays within 2x the rate sent */
#define PACER_SLOW_RATIO      2.0    /* an answer slower than 2x the fastest */
#define PACER_SLOW_SLACK_MS   20     /* (plus 20 ms) is slow */
#define PACER_MIN_RTT_AGE     10000  /* forget the fastest answer after 10 s */
#define PACER_MAX_HOLD_MS     300000 /* the longest Retry-After obeyed */

/* Counts of one slot of the measuring window. */
struct slot {
	long long start; /* ms; -1: unused */
	int sends;	 /* tokens taken */
	int ok;		 /* answers (to requests sent since the cut) */
	int refused;	 /* 429s (to requests sent since the cut) */
};

struct pacer {
	pthread_mutex_t lock;
	double ceiling; /* 0: none */
	double share;	/* the ceiling of this process's share (pacer_set_share); 0: none */
	double rate;
	double tokens;
	long long now_ms;	 /* the latest time seen; -1 before the first call */
	long long start_ms;	 /* the first time seen */
	long long hold_until_ms; /* Retry-After: nothing goes before */

	int startup;	   /* doubling: no 429 yet */
	double wall;	   /* what eBay accepted at the last 429; 0 unknown */
	long long cut_ms;  /* when the rate was last cut; -1 never */
	int answered;	   /* answers to requests sent since the cut */
	int refused;	   /* of which 429 */
	double probe_ms;   /* growing time since the cut */
	double probe_k_ms; /* where the cubic reaches the wall */
	double cubic_c;	   /* its steepness */
	int crossings;	   /* of the wall so far, up to PACER_PROBE_DOUBLINGS */
	long long min_rtt; /* fastest answer; -1 unknown */
	long long min_rtt_at;

	long long round_start_ms;
	int round_blocked; /* the bucket held a request back */
	int round_refused; /* a 429 came */
	int round_answers;
	int round_sends;
	long long round_rtt_sum;

	struct slot slots[PACER_SLOTS];

	/* For pacer_stats(): counts since the start. */
	long long sends_total;
	long long ok_total;
	long long refused_total;
	long long held_total;
	long long wall_changes; /* by the pacer itself: a cut, a probe kept */
	long long cuts;		/* of them, cuts at 429s */
};

/* The measured rates of the window. */
struct measure {
	double sent;	 /* requests a second */
	double accepted; /* sent times the share of answers that were not 429 */
	int answers;
};

struct pacer *pacer_new(double ceiling_rps)
{
	struct pacer *p = xcalloc(1, sizeof(*p));
	int i;

	pthread_mutex_init(&p->lock, NULL);
	p->ceiling = ceiling_rps > 0 ? ceiling_rps : 0;
	p->rate = p->ceiling > 0 && p->ceiling < PACER_START_RPS ? p->ceiling : PACER_START_RPS;
	p->tokens = p->rate * PACER_BURST_MS / 1000.0;
	if (p->tokens < PACER_BURST_MIN)
		p->tokens = PACER_BURST_MIN;
	p->now_ms = -1;
	p->startup = 1;
	p->cut_ms = -1;
	p->min_rtt = -1;
	for (i = 0; i < PACER_SLOTS; i++)
		p->slots[i].start = -1;
	return p;
}

void pacer_free(struct pacer *p)
{
	if (!p)
		return;
	pthread_mutex_destroy(&p->lock);
	free(p);
}

static double burst_of(const struct pacer *p)
{
	double b = p->rate * PACER_BURST_MS / 1000.0;

	return b > PACER_BURST_MIN ? b : PACER_BURST_MIN;
}

/* The ceiling that binds now: the fixed one or the share, the lower. */
static double ceiling_of(const struct pacer *p)
{
	if (p->share > 0 && (p->ceiling <= 0 || p->share < p->ceiling))
		return p->share;
	return p->ceiling;
}

/* Sets the rate within the floor and the ceiling. */
static void set_rate(struct pacer *p, double rate)
{
	double floor_rps = PACER_FLOOR_RPS, ceiling = ceiling_of(p);

	if (ceiling > 0 && ceiling < floor_rps)
		floor_rps = ceiling;
	if (ceiling > 0 && rate > ceiling)
		rate = ceiling;
	if (rate < floor_rps)
		rate = floor_rps;
	p->rate = rate;
	if (p->tokens > burst_of(p))
		p->tokens = burst_of(p);
}

/* Moves the pacer's clock to now_ms and adds the tokens earned since; a
 * clock that steps back earns nothing and stays where it was. Returns the
 * time to use. Called with the lock held, as is everything below. */
static long long advance(struct pacer *p, long long now_ms)
{
	if (p->now_ms < 0) {
		p->now_ms = p->start_ms = p->round_start_ms = now_ms;
		return now_ms;
	}
	if (now_ms <= p->now_ms)
		return p->now_ms;
	p->tokens += (double)(now_ms - p->now_ms) * p->rate / 1000.0;
	if (p->tokens > burst_of(p))
		p->tokens = burst_of(p);
	p->now_ms = now_ms;
	return now_ms;
}

/* The window's slot for now, emptied if it last served an older slot. */
static struct slot *slot_at(struct pacer *p, long long now)
{
	long long start = now - now % PACER_SLOT_MS;
	struct slot *s = &p->slots[(start / PACER_SLOT_MS) % PACER_SLOTS];

	if (s->start != start) {
		memset(s, 0, sizeof(*s));
		s->start = start;
	}
	return s;
}

/* Sums the window: its slots that are recent, measured from the later of
 * their start, the last cut and the first call. */
static struct measure measure(struct pacer *p, long long now)
{
	long long newest = now - now % PACER_SLOT_MS, from, t;
	long long sends = 0, ok = 0, refused = 0, elapsed;
	struct measure m;
	const struct slot *s;
	int i;

	for (i = 0; i < PACER_SLOTS; i++) {
		t = newest - (long long)i * PACER_SLOT_MS;
		s = &p->slots[(t / PACER_SLOT_MS) % PACER_SLOTS];
		if (s->start != t)
			continue;
		sends += s->sends;
		ok += s->ok;
		refused += s->refused;
	}
	from = newest - (long long)(PACER_SLOTS - 1) * PACER_SLOT_MS;
	if (from < p->cut_ms)
		from = p->cut_ms;
	if (from < p->start_ms)
		from = p->start_ms;
	elapsed = now - from > 0 ? now - from : 1;
	m.sent = (double)sends * 1000.0 / (double)elapsed;
	m.answers = (int)(ok + refused);
	m.accepted = m.answers ? m.sent * (double)ok / (double)m.answers : m.sent;
	return m;
}

/* Cuts the rate to PACER_SETTLE of what eBay accepted in the window, and
 * starts a new measurement from now. A crossing is a first 429 after a
 * clean stretch; otherwise the cut measures 429s that kept coming after
 * the last cut. */
static void cut(struct pacer *p, long long now, const struct measure *m, int crossing)
{
	double accepted = m->accepted, rate, k;
	int i;

	/* Refused at or below the wall: the wall is lower than thought, or
	 * the window still had eBay's burst in it. Aim a little lower (TCP
	 * CUBIC's fast convergence). */
	if (crossing && p->wall > 0 && accepted <= p->wall)
		accepted *= (1.0 + PACER_SETTLE) / 2;
	/* One measurement may be off (a clump of 429s): at most halve. */
	if (accepted < PACER_MAX_DROP * p->rate)
		accepted = PACER_MAX_DROP * p->rate;
	p->wall = accepted > PACER_FLOOR_RPS ? accepted : PACER_FLOOR_RPS;
	p->wall_changes++;
	p->cuts++;
	rate = PACER_SETTLE * p->wall;
	if (rate > p->rate)
		rate = p->rate; /* the window saw a faster past: never cut up */
	set_rate(p, rate);
	/* What was saved up at the old rate must not go out in a burst into a
	 * server that just refused. */
	if (p->tokens > 1.0)
		p->tokens = 1.0;
	/* Each crossing of the same wall makes the way back to it longer:
	 * the probes past it come less and less often. */
	if (crossing && p->crossings < PACER_PROBE_DOUBLINGS)
		p->crossings++;
	k = PACER_PROBE_MS * (double)(1 << (p->crossings > 0 ? p->crossings - 1 : 0));
	p->cubic_c = (1.0 - PACER_SETTLE) / (k * k * k);
	p->probe_k_ms = cbrt((1.0 - p->rate / p->wall) / p->cubic_c);
	p->probe_ms = 0;
	p->startup = 0;
	p->cut_ms = now;
	p->answered = 0;
	p->refused = 0;
	for (i = 0; i < PACER_SLOTS; i++) {
		memset(&p->slots[i], 0, sizeof(p->slots[i]));
		p->slots[i].start = -1;
	}
}

/* One round of growth (elapsed ms of it, sent a second in it): double
 * in the start-up, else follow the cubic. */
static void grow(struct pacer *p, long long elapsed, double sent)
{
	double rate, d;

	if (p->startup) {
		rate = p->rate * 2;
	} else {
		p->probe_ms += (double)elapsed;
		d = p->probe_ms - p->probe_k_ms;
		rate = p->wall * (1.0 + p->cubic_c * d * d * d);
		/* Past the wall, one step of PACER_STEP at most: a server
		 * with credit saved up says 429 only once it is spent, and
		 * the rate must not be far over by then. A step held without
		 * a 429 until the cubic would be well past it becomes the
		 * new wall (a wall set too low, a limit that was raised). */
		if (rate > PACER_STEP * p->wall) {
			rate = PACER_STEP * p->wall;
			if (d > PACER_STEP_AFTER * p->probe_k_ms) {
				p->wall = rate;
				p->probe_ms = p->probe_k_ms;
				p->wall_changes++;
			}
		}
	}
	if (rate > PACER_HEADROOM * sent)
		rate = PACER_HEADROOM * sent;
	if (rate > p->rate)
		set_rate(p, rate);
}

/* Ends the round if it is over, growing the rate if the round was held
 * back by the bucket, free of 429s and fast. */
static void end_round(struct pacer *p, long long now)
{
	long long len = PACER_ROUND_MS, elapsed = now - p->round_start_ms;
	double sent;
	int fast;

	if (p->min_rtt > 0 && 2 * p->min_rtt > len)
		len = 2 * p->min_rtt;
	if (elapsed < len)
		return;
	sent = (double)p->round_sends * 1000.0 / (double)elapsed;
	if (elapsed > 2 * len)
		elapsed = len; /* an idle stretch is not time spent probing */
	fast =
	    p->round_answers > 0 && (double)p->round_rtt_sum / p->round_answers <=
					PACER_SLOW_RATIO * (double)p->min_rtt + PACER_SLOW_SLACK_MS;
	if (p->round_blocked && !p->round_refused && fast)
		grow(p, elapsed, sent);
	p->round_start_ms = now;
	p->round_blocked = 0;
	p->round_refused = 0;
	p->round_answers = 0;
	p->round_sends = 0;
	p->round_rtt_sum = 0;
}

/* After a cut, once enough answers to requests sent at the new rate are
 * in and some were refused, the rate is still too high and the window
 * says by how much. */
static void check_measurement(struct pacer *p, long long now)
{
	struct measure m;

	if (p->refused == 0 || p->answered < PACER_MIN_SAMPLES)
		return;
	m = measure(p, now);
	cut(p, now, &m, 0);
}

long long pacer_acquire(struct pacer *p, long long now_ms)
{
	long long wait = 0, now;

	pthread_mutex_lock(&p->lock);
	now = advance(p, now_ms);
	end_round(p, now);
	if (now < p->hold_until_ms) {
		wait = p->hold_until_ms - now;
	} else if (p->tokens >= 1.0) {
		p->tokens -= 1.0;
		slot_at(p, now)->sends++;
		p->round_sends++;
		p->sends_total++;
	} else {
		wait = (long long)ceil((1.0 - p->tokens) * 1000.0 / p->rate);
		if (wait < 1)
			wait = 1;
		p->round_blocked = 1;
		p->held_total++;
	}
	pthread_mutex_unlock(&p->lock);
	return wait;
}

void pacer_succeeded(struct pacer *p, long long now_ms, long long sent_ms)
{
	long long now, rtt;

	pthread_mutex_lock(&p->lock);
	now = advance(p, now_ms);
	rtt = now - sent_ms > 0 ? now - sent_ms : 0;
	if (p->min_rtt < 0 || rtt <= p->min_rtt || now - p->min_rtt_at > PACER_MIN_RTT_AGE) {
		p->min_rtt = rtt;
		p->min_rtt_at = now;
	}
	p->round_answers++;
	p->round_rtt_sum += rtt;
	p->ok_total++;
	if (sent_ms >= p->cut_ms) {
		slot_at(p, now)->ok++;
		p->answered++;
		check_measurement(p, now);
	}
	end_round(p, now);
	pthread_mutex_unlock(&p->lock);
}

void pacer_throttled(struct pacer *p, long long now_ms, long long sent_ms, long long retry_after_ms)
{
	long long now;
	struct measure m;
	int clean;

	pthread_mutex_lock(&p->lock);
	now = advance(p, now_ms);
	if (retry_after_ms >= 0) {
		if (retry_after_ms > PACER_MAX_HOLD_MS)
			retry_after_ms = PACER_MAX_HOLD_MS;
		if (now + retry_after_ms > p->hold_until_ms)
			p->hold_until_ms = now + retry_after_ms;
		if (p->tokens > 1.0)
			p->tokens = 1.0;
	}
	p->round_refused = 1;
	p->refused_total++;
	if (sent_ms < p->cut_ms)
		goto out; /* sent at a rate already given up */
	/* A first 429 after a clean stretch: the rate just crossed the wall,
	 * cut at once. A 429 soon after a cut: wait for enough answers to
	 * measure what eBay accepts at the new rate. */
	clean = p->refused == 0 && p->answered >= PACER_MIN_SAMPLES;
	slot_at(p, now)->refused++;
	p->answered++;
	p->refused++;
	if (clean) {
		m = measure(p, now);
		cut(p, now, &m, 1);
	} else {
		check_measurement(p, now);
	}
out:
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

double pacer_wall(const struct pacer *p)
{
	struct pacer *mp = (struct pacer *)p;
	double wall;

	pthread_mutex_lock(&mp->lock);
	wall = mp->wall;
	pthread_mutex_unlock(&mp->lock);
	return wall;
}

void pacer_set_share(struct pacer *p, double ceiling_rps)
{
	pthread_mutex_lock(&p->lock);
	p->share = ceiling_rps > 0 ? ceiling_rps : 0;
	if (ceiling_of(p) > 0 && p->rate > ceiling_of(p))
		set_rate(p, p->rate);
	pthread_mutex_unlock(&p->lock);
}

/* Sets the cubic curve's way back to the wall from the rate now. */
static void restart_cubic(struct pacer *p)
{
	double k = PACER_PROBE_MS * (double)(1 << (p->crossings > 0 ? p->crossings - 1 : 0));

	p->cubic_c = (1.0 - PACER_SETTLE) / (k * k * k);
	p->probe_k_ms = p->rate < p->wall ? cbrt((1.0 - p->rate / p->wall) / p->cubic_c) : 0;
	p->probe_ms = 0;
}

void pacer_set_wall(struct pacer *p, double wall_rps, long long now_ms)
{
	long long now;
	double rate;
	int i;

	if (!(wall_rps > 0))
		return;
	pthread_mutex_lock(&p->lock);
	now = advance(p, now_ms);
	if (wall_rps < PACER_FLOOR_RPS)
		wall_rps = PACER_FLOOR_RPS;
	p->wall = wall_rps;
	p->startup = 0;
	rate = PACER_SETTLE * wall_rps;
	if (p->rate > rate) {
		/* Lower for everyone: as a cut, from now on. */
		set_rate(p, rate);
		if (p->tokens > 1.0)
			p->tokens = 1.0;
		p->cut_ms = now;
		p->answered = 0;
		p->refused = 0;
		for (i = 0; i < PACER_SLOTS; i++) {
			memset(&p->slots[i], 0, sizeof(p->slots[i]));
			p->slots[i].start = -1;
		}
	} else if (rate > p->rate) {
		/* A larger share of a wall the install knows: go there, not
		 * past twice the rate of now (the growth rule's headroom). */
		set_rate(p, rate < PACER_HEADROOM * p->rate ? rate : PACER_HEADROOM * p->rate);
	}
	restart_cubic(p);
	pthread_mutex_unlock(&p->lock);
}

void pacer_stats(const struct pacer *p, struct pacer_stats *out)
{
	struct pacer *mp = (struct pacer *)p;

	pthread_mutex_lock(&mp->lock);
	out->rate = mp->rate;
	out->wall = mp->wall;
	out->sends = mp->sends_total;
	out->ok = mp->ok_total;
	out->refused = mp->refused_total;
	out->held = mp->held_total;
	out->wall_changes = mp->wall_changes;
	out->cuts = mp->cuts;
	pthread_mutex_unlock(&mp->lock);
}
