/*
 * JSON readers: every type has its name for messages; a whole number is
 * read from an integer, an integral real or a string of digits, absent from
 * NULL and null, and refused as anything else (negative, fractional, too
 * large, signed or empty strings, strings holding a NUL); a time is ISO
 * text, or null when it never happened.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>

#include "jsonutil.h"

static void test_type_name(void **state)
{
	json_t *v[] = {json_object(),  json_array(), json_string("x"), json_integer(1),
		       json_real(1.5), json_true(),  json_false(),     json_null()};
	const char *want[] = {"an object", "an array",	"a string",  "a number",
			      "a number",  "a boolean", "a boolean", "null"};

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		assert_string_equal(jsonutil_type_name(v[i]), want[i]);
		json_decref(v[i]);
	}
}

static void test_whole_number(void **state)
{
	static const struct {
		const char *json;
		int result;
		long long want;
	} cases[] = {
	    {"7", 1, 7},
	    {"0", 1, 0},
	    {"5.0", 1, 5},
	    {"9e15", 1, 9000000000000000LL},
	    {"\"12\"", 1, 12},
	    {"\"007\"", 1, 7},
	    {"\"9223372036854775807\"", 1, 9223372036854775807LL},
	    {"null", 0, -1},
	    {"-3", -1, -1},
	    {"2.5", -1, -1},
	    {"1e16", -1, -1},
	    {"-0.5", -1, -1},
	    {"\"\"", -1, -1},
	    {"\"-1\"", -1, -1},
	    {"\"+1\"", -1, -1},
	    {"\" 1\"", -1, -1},
	    {"\"1.0\"", -1, -1},
	    {"\"9223372036854775808\"", -1, -1},
	    {"\"99999999999999999999\"", -1, -1},
	    {"\"1\\u00002\"", -1, -1},
	    {"true", -1, -1},
	    {"[1]", -1, -1},
	    {"{}", -1, -1},
	};
	long long out;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *v = json_loads(cases[i].json, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
		int r;

		assert_non_null(v);
		out = -1;
		r = jsonutil_whole_number(v, &out);
		if (r != cases[i].result || out != cases[i].want)
			fail_msg("%s read as %d (%lld), want %d (%lld)", cases[i].json, r, out,
				 cases[i].result, cases[i].want);
		json_decref(v);
	}
	out = 42;
	assert_int_equal(jsonutil_whole_number(NULL, &out), 0);
	assert_int_equal(out, 42);
}

static void test_iso_or_null(void **state)
{
	json_t *v = jsonutil_iso_or_null(1714557600123LL);

	assert_string_equal(json_string_value(v), "2024-05-01T10:00:00.123Z");
	json_decref(v);
	v = jsonutil_iso_or_null(0);
	assert_true(json_is_null(v));
	json_decref(v);
	v = jsonutil_iso_or_null(-5);
	assert_true(json_is_null(v));
	json_decref(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_type_name),
	    cmocka_unit_test(test_whole_number),
	    cmocka_unit_test(test_iso_or_null),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
