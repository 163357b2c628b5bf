/*
 * Login throttling: a failure count per key (a client address, a user
 * name), with a lockout that doubles with each failure past the first few.
 * A password guesser from one address, or against one user from many, is
 * answered 429 without a password hash being computed, so guessing costs
 * the server almost nothing and the guesser a growing wait. A key is
 * forgotten after THROTTLE_FORGET_MS without a failure, or when its login
 * succeeds.
 *
 * The table has a fixed size (memory does not grow with the number of
 * guessers): a key evicts the stalest entry of its bucket. It lives in the
 * memory of one process; several servers each keep their own, which
 * multiplies what a guesser may try by their number, not more.
 */
#ifndef THROTTLE_H
#define THROTTLE_H

#include <stddef.h>

#define THROTTLE_FREE	   5	   /* failures allowed before the first lockout */
#define THROTTLE_LOCK_MS   1000	   /* the first lockout; each next one doubles */
#define THROTTLE_MAX_MS	   900000  /* the longest lockout: 15 minutes */
#define THROTTLE_FORGET_MS 3600000 /* a key without failures for an hour is forgotten */
#define THROTTLE_KEY_MAX   96	   /* bytes of a key kept (longer keys are cut) */
#define THROTTLE_SLOTS	   8192	   /* keys remembered */

struct throttle;

/* A table of THROTTLE_SLOTS keys; free with throttle_free(). */
struct throttle *throttle_new(void);
void throttle_free(struct throttle *t);

/* Milliseconds key must still wait at now_ms before it may try again (0:
 * it may now). Thread-safe, as are the two below. */
long long throttle_wait_ms(struct throttle *t, const char *key, long long now_ms);
/* Counts a failure of key at now_ms; past THROTTLE_FREE it locks the key. */
void throttle_fail(struct throttle *t, const char *key, long long now_ms);
/* Forgets key (its login succeeded). */
void throttle_reset(struct throttle *t, const char *key);

#endif
