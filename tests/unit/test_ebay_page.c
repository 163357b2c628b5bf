/*
 * Tests for what ebay_page.c does with hostile counts on a page (issue 13):
 * a total beyond eBay's int32 is refused, a nonsense limit or size is only
 * reported, and the pager's bound neither overflows nor trusts a limit that
 * the records contradict. The rest of the page parser and the pager are
 * tested in test_ebay.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ebay.h"
#include "xalloc.h"

#define FIRST "https://api.ebay.com/sell/inventory/v1/inventory_item?limit=2&offset=0"

static json_t *parse(const char *text)
{
	json_t *j = json_loads(text, 0, NULL);

	assert_non_null(j);
	return j;
}

static void test_total_beyond_int32_is_refused(void **state)
{
	static const struct {
		const char *json, *reason;
	} bad[] = {
	    {"{\"offers\":[],\"total\":9223372036854775807}",
	     "page field 'total' is 9223372036854775807, beyond eBay's int32 range"},
	    {"{\"offers\":[],\"total\":1000000000000000}",
	     "page field 'total' is 1000000000000000, beyond eBay's int32 range"},
	    {"{\"offers\":[],\"total\":\"2147483648\"}",
	     "page field 'total' is 2147483648, beyond eBay's int32 range"},
	};
	struct buf why = BUF_INIT;
	struct ebay_page pg;
	json_t *j;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		j = parse(bad[i].json);
		assert_int_equal(ebay_parse_page(j, "offers", &pg, &why), ERR_PARSE);
		assert_string_equal(buf_str(&why), bad[i].reason);
		json_decref(j);
	}
	j = parse("{\"offers\":[],\"total\":2147483647}");
	assert_int_equal(ebay_parse_page(j, "offers", &pg, &why), ERR_OK);
	assert_int_equal(pg.total, 2147483647);
	json_decref(j);
	buf_release(&why);
}

static void test_nonsense_limit_and_size_are_ignored(void **state)
{
	static const struct {
		const char *json, *warning;
		long long limit; /* what is kept */
	} cases[] = {
	    {"{\"offers\":[],\"limit\":-5}",
	     "page field 'limit' is ignored: it is a number, not a whole number", -1},
	    {"{\"offers\":[],\"limit\":0}",
	     "page field 'limit' is ignored: 0 is not within 1..1000", -1},
	    {"{\"offers\":[],\"limit\":1000000000000}",
	     "page field 'limit' is ignored: 1000000000000 is not within 1..1000", -1},
	    {"{\"offers\":[],\"limit\":true}",
	     "page field 'limit' is ignored: it is a boolean, not a whole number", -1},
	    {"{\"offers\":[],\"size\":\"lots\"}",
	     "page field 'size' is ignored: \"lots\" is not a whole number", -1},
	    {"{\"offers\":[],\"size\":[]}",
	     "page field 'size' is ignored: it is an array, not a whole number", -1},
	    {"{\"offers\":[],\"limit\":1.5,\"size\":99999999999}",
	     "page field 'limit' is ignored: it is a number, not a whole number; page field "
	     "'size' is ignored: 99999999999 is not within 0..2147483647",
	     -1},
	    {"{\"offers\":[],\"limit\":200,\"size\":0}", "", 200},
	};
	struct buf why = BUF_INIT;
	struct ebay_page pg;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *j = parse(cases[i].json);

		assert_int_equal(ebay_parse_page(j, "offers", &pg, &why), ERR_OK);
		if (strcmp(pg.warning, cases[i].warning))
			fail_msg("%s: warning '%s', want '%s'", cases[i].json, pg.warning,
				 cases[i].warning);
		assert_int_equal(pg.limit, cases[i].limit);
		json_decref(j);
	}
	buf_release(&why);
}

/* A limit that claims more than the page holds does not shrink the bound:
 * the records of the page set it. */
static void test_pager_bound_from_records(void **state)
{
	struct buf why = BUF_INIT;
	struct ebay_pager p;
	json_t *two = parse("[{\"sku\":\"a\"},{\"sku\":\"b\"}]");
	struct ebay_page pg = {.records = two, .total = 14, .limit = 1000};
	char next[128], *url;

	(void)state;
	ebay_pager_init(&p, FIRST);
	/* 14 items, 2 a page: 7 pages plus the margin of 2 */
	for (int i = 1; i < 9; i++) {
		snprintf(next, sizeof(next), "/sell/inventory/v1/inventory_item?offset=%d", i * 2);
		pg.next = next;
		assert_int_equal(ebay_pager_next(&p, &pg, &url, &why), ERR_OK);
		free(url);
	}
	pg.next = "/sell/inventory/v1/inventory_item?offset=99";
	assert_int_equal(ebay_pager_next(&p, &pg, &url, &why), ERR_PARSE);
	assert_string_equal(buf_str(&why), "next link would be page 10, past the 9 pages that "
					   "total 14 and records a page of 2 allow");
	ebay_pager_release(&p);
	json_decref(two);
	buf_release(&why);
}

/* The largest total and a limit of 1 do not overflow the bound, and the
 * hard cap still holds. */
static void test_pager_hard_cap_under_a_huge_total(void **state)
{
	struct buf why = BUF_INIT;
	struct ebay_pager p;
	struct ebay_page pg = {.next = "/sell/inventory/v1/inventory_item?offset=last",
			       .total = EBAY_TOTAL_MAX,
			       .limit = 1};
	char *url;

	(void)state;
	ebay_pager_init(&p, FIRST);
	p.seen = xrealloc(p.seen, EBAY_PAGER_HARD_CAP * sizeof(*p.seen));
	for (size_t i = 1; i < EBAY_PAGER_HARD_CAP; i++)
		p.seen[i] = xasprintf("https://api.ebay.com/p%zu", i);
	p.n_seen = EBAY_PAGER_HARD_CAP;
	assert_int_equal(ebay_pager_next(&p, &pg, &url, &why), ERR_PARSE);
	assert_null(url);
	assert_string_equal(buf_str(&why),
			    "next link would be page 100001, past the cap of 100000 pages");
	assert_int_equal(p.max_pages, EBAY_TOTAL_MAX + 2);
	ebay_pager_release(&p);
	buf_release(&why);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_total_beyond_int32_is_refused),
	    cmocka_unit_test(test_nonsense_limit_and_size_are_ignored),
	    cmocka_unit_test(test_pager_bound_from_records),
	    cmocka_unit_test(test_pager_hard_cap_under_a_huge_total),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
