/* Capped buffers: growth, the cap, formatting and detaching. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "error.h"

static void test_grow_and_format(void **state)
{
	struct buf b;

	buf_init(&b, 0);
	assert_string_equal(buf_str(&b), "");
	for (int i = 0; i < 1000; i++)
		assert_int_equal(buf_addf(&b, "%d,", i), ERR_OK);
	assert_int_equal(b.len, strlen(b.data));
	assert_memory_equal(b.data, "0,1,2,", 6);
	assert_int_equal(buf_addch(&b, 'x'), ERR_OK);
	assert_int_equal(b.data[b.len - 1], 'x');
	buf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_string_equal(buf_str(&b), "");
	buf_release(&b);
}

static void test_cap_is_hard(void **state)
{
	struct buf b;

	buf_init(&b, 10);
	assert_int_equal(buf_adds(&b, "0123456789"), ERR_OK);
	assert_int_equal(buf_adds(&b, "x"), ERR_TOOBIG);
	assert_int_equal(buf_addf(&b, "%s", "y"), ERR_TOOBIG);
	assert_int_equal(b.len, 10);
	assert_string_equal(b.data, "0123456789");
	buf_release(&b);
	buf_init(&b, 4);
	assert_int_equal(buf_add(&b, "abcdefgh", (size_t)-1), ERR_TOOBIG);
	assert_int_equal(b.len, 0);
	buf_release(&b);
}

static void test_detach(void **state)
{
	struct buf b;
	size_t len;
	char *p;

	buf_init(&b, 0);
	p = buf_detach(&b, &len);
	assert_string_equal(p, "");
	assert_int_equal(len, 0);
	free(p);
	buf_adds(&b, "hello");
	p = buf_detach(&b, &len);
	assert_string_equal(p, "hello");
	assert_int_equal(len, 5);
	assert_null(b.data);
	free(p);
}

/* Every character HTML gives meaning to is escaped, the rest kept as it is;
 * the cap holds here too. */
static void test_add_html(void **state)
{
	struct buf b = BUF_INIT, small;

	assert_int_equal(buf_add_html(&b, "<a href=\"x\">Tom & Jerry's</a> \xc3\xa9"), ERR_OK);
	assert_string_equal(buf_str(&b),
			    "&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt; \xc3\xa9");
	assert_int_equal(buf_add_html(&b, NULL), ERR_OK);
	buf_release(&b);
	buf_init(&small, 8);
	assert_int_equal(buf_add_html(&small, "a&b&c"), ERR_TOOBIG);
	assert_true(small.len <= 8);
	buf_release(&small);
}

static void test_strerror(void **state)
{
	assert_string_equal(error_strerror(ERR_OK), "success");
	assert_string_equal(error_strerror(ERR_TOOBIG), "data too large");
	assert_string_equal(error_strerror((enum error)999), "unknown error");
}

/* The codes are the API's contract: each value has its own, made of
 * [a-z_], and the ones clients act on keep their spelling. */
static void test_code_names(void **state)
{
	for (int i = 0; i < ERR__COUNT; i++) {
		const char *c = error_code_name((enum error)i);

		assert_true(strlen(c) > 0 && strspn(c, "abcdefghijklmnopqrstuvwxyz_") == strlen(c));
		assert_string_not_equal(c, "unknown");
		for (int k = 0; k < i; k++)
			assert_string_not_equal(c, error_code_name((enum error)k));
	}
	assert_string_equal(error_code_name(ERR_OK), "ok");
	assert_string_equal(error_code_name(ERR_RELINK), "ebay_relink");
	assert_string_equal(error_code_name(ERR_AUTH), "auth");
	assert_string_equal(error_code_name(ERR_CONFLICT), "conflict");
	assert_string_equal(error_code_name((enum error)999), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_grow_and_format), cmocka_unit_test(test_cap_is_hard),
	    cmocka_unit_test(test_detach),	    cmocka_unit_test(test_add_html),
	    cmocka_unit_test(test_strerror),	    cmocka_unit_test(test_code_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
