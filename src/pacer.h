/*
 * The pacer: one token bucket shared by every request of a run (or of the
 * whole process), so that the rate sent to eBay stays under a ceiling. The
 * rate starts at the ceiling, halves when eBay answers 429, and creeps back
 * (additively) after a quiet stretch with no 429: AIMD, as TCP does.
 * Thread-safe. See docs/rate-limiting.md.
 */
#ifndef PACER_H
#define PACER_H

struct pacer;

/* A pacer of at most max_rps requests a second (> 0) with a burst of burst
 * requests (>= 1). Free with pacer_free(). */
struct pacer *pacer_new(double max_rps, double burst);
void pacer_free(struct pacer *p);

/* Takes one token and returns 0 if a request may go at now_ms (monotonic);
 * otherwise takes nothing and returns the milliseconds to wait. */
long long pacer_acquire(struct pacer *p, long long now_ms);
/* eBay said 429: halve the rate (not below a floor of 0.5 rps). */
void pacer_throttled(struct pacer *p, long long now_ms);
/* A request succeeded: after a quiet stretch the rate creeps back up. */
void pacer_succeeded(struct pacer *p, long long now_ms);
/* The current rate in requests a second. */
double pacer_rate(const struct pacer *p);

#endif
