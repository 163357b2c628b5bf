/*
 * Retry delays for the eBay client: capped exponential backoff with full
 * jitter (each delay is drawn uniformly from [0, min(cap, base * 2^(n-1))],
 * as in AWS's "Exponential Backoff and Jitter"), so that many requests
 * failing together do not come back together; and the parsing of an HTTP
 * Retry-After header (delta-seconds or an HTTP-date, RFC 9110 10.2.3).
 *
 * The random source is the caller's seeded generator (random.h) so that
 * tests can seed it and check exact bounds.
 */
#ifndef BACKOFF_H
#define BACKOFF_H

#include "random.h"

/*
 * The ceiling of the delay before retry number `attempt` (1 for the first
 * retry): min(max_ms, base_ms * 2^(attempt-1)), without overflow. base_ms
 * and max_ms below 1 count as 1.
 */
long long backoff_ceiling_ms(long base_ms, long max_ms, int attempt);
/* A delay drawn uniformly from [0, backoff_ceiling_ms(...)] (full jitter). */
long long backoff_delay_ms(struct random_rng *r, long base_ms, long max_ms, int attempt);

/*
 * Reads a Retry-After value: delta-seconds ("120") or an HTTP-date in any
 * of the three forms HTTP allows ("Sun, 06 Nov 1994 08:49:37 GMT",
 * "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994"). Returns
 * the wait in milliseconds from now_wall_ms (Unix epoch milliseconds), 0
 * for a date already past, or -1 when the value is neither form. Huge
 * values are clamped to a day; the caller applies its own cap.
 */
long long backoff_retry_after_ms(const char *value, long long now_wall_ms);

#endif
