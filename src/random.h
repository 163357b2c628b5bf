/*
 * Randomness, of the two kinds the programs need and kept apart: tokens
 * nobody can guess (OpenSSL's generator, for OAuth states, nonces, codes and
 * access tokens), and one small deterministic generator (splitmix64, Steele,
 * Lea and Flood, "Fast splittable pseudorandom number generators", 2014) for
 * what must be repeatable from a seed: retry jitter that tests can bound and
 * the simulator's catalogs. The second is never for secrets.
 */
#ifndef RANDOM_H
#define RANDOM_H

#include <stddef.h>
#include <stdint.h>

/* A splitmix64 stream: one add and a mix per draw. */
struct random_rng {
	uint64_t state;
};

/* Seeds the generator; any seed (0 too) is fine. */
void random_rng_seed(struct random_rng *r, uint64_t seed);
/* The next 64 random bits. */
uint64_t random_rng_next(struct random_rng *r);
/* Uniform in [0, n) for n >= 1 (multiply-shift, no division). */
uint32_t random_rng_below(struct random_rng *r, uint32_t n);
/* Uniform in [0, 1), 53 bits. */
double random_rng_unit(struct random_rng *r);

/*
 * splitmix64 as a hash: the first draw of a generator seeded with x. Mixes
 * every bit of x into every bit of the result, so seeds that differ in one
 * bit give unrelated streams.
 */
uint64_t random_mix(uint64_t x);

/*
 * nbytes from OpenSSL's random generator as base64url without padding: a
 * token, nonce or state nobody can guess (48 bytes give 64 characters).
 * Returns a malloc'd string; aborts if the generator fails.
 */
char *random_token(size_t nbytes);

#endif
