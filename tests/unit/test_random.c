/*
 * Tests for random.c: the splitmix64 stream against the published values of
 * the reference implementation, seeding and mixing, the range helpers'
 * bounds and spread, and tokens as base64url of fresh random bytes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "encoding.h"
#include "random.h"

static void test_reference_values(void **state)
{
	/* The reference splitmix64.c (Vigna) from seed 0 and from 12345. */
	static const uint64_t seed0[] = {0xe220a8397b1dcdafULL, 0x6e789e6aa1b965f4ULL,
					 0x06c45d188009454fULL, 0xf88bb8a8724c81ecULL};
	struct random_rng r;

	(void)state;
	random_rng_seed(&r, 0);
	for (size_t i = 0; i < sizeof(seed0) / sizeof(seed0[0]); i++)
		assert_true(random_rng_next(&r) == seed0[i]);
	random_rng_seed(&r, 12345);
	assert_true(random_rng_next(&r) == 0x22118258a9d111a0ULL);
	assert_true(random_rng_next(&r) == 0x346edce5f713f8edULL);
}

static void test_seeded_rng_is_deterministic(void **state)
{
	struct random_rng a, b, c;
	int i, differ = 0;

	(void)state;
	random_rng_seed(&a, 12345);
	random_rng_seed(&b, 12345);
	random_rng_seed(&c, 12346);
	for (i = 0; i < 100; i++) {
		uint64_t x = random_rng_next(&a);

		assert_true(x == random_rng_next(&b));
		differ += x != random_rng_next(&c);
	}
	assert_true(differ > 95);
}

/* random_mix(x) is the first draw from seed x, and one flipped input bit
 * changes about half the output bits. */
static void test_mix(void **state)
{
	struct random_rng r;
	int flipped = 0;

	(void)state;
	for (uint64_t x = 0; x < 64; x++) {
		random_rng_seed(&r, x * 0x1234567ULL);
		assert_true(random_mix(x * 0x1234567ULL) == random_rng_next(&r));
	}
	for (int bit = 0; bit < 64; bit++)
		flipped += __builtin_popcountll(random_mix(42) ^ random_mix(42 ^ (1ULL << bit)));
	assert_in_range(flipped / 64, 24, 40);
}

static void test_below_and_unit(void **state)
{
	struct random_rng r;
	int counts[10] = {0};
	double sum = 0;

	(void)state;
	random_rng_seed(&r, 99);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(random_rng_below(&r, 1), 0);
	for (int i = 0; i < 100000; i++) {
		uint32_t v = random_rng_below(&r, 10);

		assert_true(v < 10);
		counts[v]++;
	}
	for (int i = 0; i < 10; i++)
		assert_in_range(counts[i], 9500, 10500);
	assert_true(random_rng_below(&r, UINT32_MAX) < UINT32_MAX);
	for (int i = 0; i < 100000; i++) {
		double u = random_rng_unit(&r);

		assert_true(u >= 0.0 && u < 1.0);
		sum += u;
	}
	assert_true(sum / 100000 > 0.49 && sum / 100000 < 0.51);
}

/* Tokens are base64url of fresh random bytes: the right length, the url
 * alphabet, and never the same twice. */
static void test_random_token(void **state)
{
	char *a = random_token(48), *b = random_token(48), *c = random_token(1);
	unsigned char *raw;
	size_t n;

	(void)state;
	assert_int_equal(strlen(a), 64);
	assert_true(encoding_is_b64(a, strlen(a), ENCODING_B64URL));
	assert_null(strchr(a, '='));
	assert_string_not_equal(a, b);
	assert_int_equal(encoding_b64_decode(a, strlen(a), ENCODING_B64URL, &raw, &n), ERR_OK);
	assert_int_equal(n, 48);
	free(raw);
	assert_int_equal(strlen(c), 2);
	free(a);
	free(b);
	free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_reference_values),
	    cmocka_unit_test(test_seeded_rng_is_deterministic),
	    cmocka_unit_test(test_mix),
	    cmocka_unit_test(test_below_and_unit),
	    cmocka_unit_test(test_random_token),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
