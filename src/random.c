/*
 * Randomness (see random.h): splitmix64 for repeatable streams, OpenSSL's
 * RAND_bytes for tokens. Both programs link this file, so the simulator's
 * catalogs and the client's jitter come from the same generator.
 */
#include "random.h"

#include <limits.h>
#include <stdlib.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "encoding.h"
#include "xalloc.h"
#include "banned.h"

#define GOLDEN_GAMMA 0x9e3779b97f4a7c15ULL

/* splitmix64's output function: a bijection of the 64-bit state. */
static uint64_t finalize(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void random_rng_seed(struct random_rng *r, uint64_t seed)
{
	r->state = seed;
}

uint64_t random_rng_next(struct random_rng *r)
{
	r->state += GOLDEN_GAMMA;
	return finalize(r->state);
}

uint32_t random_rng_below(struct random_rng *r, uint32_t n)
{
	return (uint32_t)((random_rng_next(r) >> 32) * n >> 32);
}

double random_rng_unit(struct random_rng *r)
{
	return (double)(random_rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

uint64_t random_mix(uint64_t x)
{
	return finalize(x + GOLDEN_GAMMA);
}

char *random_token(size_t nbytes)
{
	unsigned char *raw = xmalloc(nbytes ? nbytes : 1);
	char *token;

	if (nbytes > INT_MAX || RAND_bytes(raw, (int)nbytes) != 1)
		abort();
	token = encoding_b64url_encode(raw, nbytes);
	OPENSSL_cleanse(raw, nbytes);
	free(raw);
	return token;
}
