/*
 * CSV cells and rows (src/csv.c): RFC 4180 quoting and the defusing of
 * cells a spreadsheet would run as formulas.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <jansson.h>

#include "buf.h"
#include "csv.h"

static void expect_cell(const char *in, const char *want)
{
	struct buf b = BUF_INIT;

	csv_cell(&b, in, 1);
	assert_string_equal(buf_str(&b), want);
	buf_release(&b);
}

static void test_cells(void **state)
{
	(void)state;
	expect_cell("plain", "plain");
	expect_cell(NULL, "");
	expect_cell("", "");
	expect_cell("a,b", "\"a,b\"");
	expect_cell("say \"hi\"", "\"say \"\"hi\"\"\"");
	expect_cell("two\r\nlines", "\"two\r\nlines\"");
	/* Formulas are defused: a leading quote, and the cell quoted. */
	expect_cell("=SUM(A1:A9)", "\"'=SUM(A1:A9)\"");
	expect_cell("+1", "\"'+1\"");
	expect_cell("-2+3", "\"'-2+3\"");
	expect_cell("@cmd", "\"'@cmd\"");
	expect_cell("\tx", "\"'\tx\"");
	expect_cell("=\"a\",b", "\"'=\"\"a\"\",b\"");
	expect_cell("a=b", "a=b");
}

static void test_row(void **state)
{
	static const char *const cols[] = {"sku", "n", "price", "none", "gone", "obj", NULL};
	json_t *row = json_pack("{s:s, s:I, s:s, s:n, s:{s:i}}", "sku", "A,1", "n", (json_int_t)-5,
				"price", "12.50", "none", "obj", "k", 1);
	struct buf b = BUF_INIT;

	(void)state;
	csv_header(&b, cols);
	csv_row(&b, row, cols);
	/* Numbers stay numbers (-5 is no formula); null and absent are empty. */
	assert_string_equal(buf_str(&b), "sku,n,price,none,gone,obj\r\n"
					 "\"A,1\",-5,12.50,,,\"{\"\"k\"\":1}\"\r\n");
	buf_release(&b);
	json_decref(row);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cells),
	    cmocka_unit_test(test_row),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
