/*
 * The pacer: one token bucket shared by every request of a run (or of the
 * whole process) whose rate the pacer finds by itself, since eBay publishes
 * no per-second limit. It starts at a modest rate and doubles it while the
 * answers stay fast and free of 429 (a slow start); the first 429 marks the
 * wall, and the pacer settles just below the rate eBay accepted there, then
 * probes past it again only slowly (a cubic curve around the wall, as TCP
 * CUBIC does), so a run does not keep running into it. An optional ceiling
 * caps the rate. Process-local and thread-safe. See docs/rate-limiting.md.
 *
 * Time is passed in by the caller (monotonic milliseconds): nothing here
 * reads a clock or sleeps, which is how the tests drive it.
 */
#ifndef PACER_H
#define PACER_H

struct pacer;

/* A pacer that never goes faster than ceiling_rps requests a second, or
 * with no ceiling when ceiling_rps is 0 (or negative). Free with
 * pacer_free(). */
struct pacer *pacer_new(double ceiling_rps);
void pacer_free(struct pacer *p);

/* Takes one token and returns 0 if a request may go at now_ms; otherwise
 * takes nothing and returns the milliseconds to wait. */
long long pacer_acquire(struct pacer *p, long long now_ms);

/* eBay answered a request sent at sent_ms (its pacer_acquire() time) with
 * success at now_ms: feeds the round-trip time and the rate measurements. */
void pacer_succeeded(struct pacer *p, long long now_ms, long long sent_ms);

/* eBay answered a request sent at sent_ms with 429. retry_after_ms is the
 * wait eBay asked for (-1 if none): no request goes before it has passed.
 * A 429 for a request sent before the pacer last lowered its rate says
 * nothing about the new rate and changes only that wait. */
void pacer_throttled(struct pacer *p, long long now_ms, long long sent_ms,
		     long long retry_after_ms);

/* The current rate in requests a second. */
double pacer_rate(const struct pacer *p);
/* The rate eBay is thought to accept (found at the last 429), 0 before the
 * first 429. */
double pacer_wall(const struct pacer *p);

/*
 * For a pacer shared with other processes (pacer_share.h, pacers.h):
 *
 * pacer_set_share() sets a second ceiling, this process's share of an
 * install-wide maximum (0: none); the lower of it and pacer_new()'s binds.
 *
 * pacer_set_wall() makes wall_rps the wall, as if this pacer had found it
 * at now_ms: a wall learned by another process, or this process's share of
 * the install's. A rate above PACER_SETTLE of it is cut there at once (and
 * 429s for requests sent before are not counted); a rate below climbs
 * towards it (at most doubling at once) and then along the cubic curve.
 * The start-up ends.
 */
void pacer_set_share(struct pacer *p, double ceiling_rps);
void pacer_set_wall(struct pacer *p, double wall_rps, long long now_ms);

struct pacer_stats {
	double rate;
	double wall;		/* 0: none yet */
	long long sends;	/* tokens taken since pacer_new() */
	long long ok;		/* answers that were not 429 */
	long long refused;	/* 429s */
	long long held;		/* pacer_acquire() calls the bucket held back */
	long long wall_changes; /* walls the pacer found itself (not set_wall's) */
	long long cuts;		/* of them, found at a 429 */
};

void pacer_stats(const struct pacer *p, struct pacer_stats *out);

#endif
