/*
 * Tests of paging through the eBay client (ebay_page.c): a page's fields
 * in both number forms and the shapes refused (a total beyond int32 too),
 * a nonsense limit or size only reported, the pager's guards on next links
 * (repeats, other hosts, schemes, page caps from total without overflow,
 * from the records when limit says more, and a hard cap), and a walk of next links against the
 * scripted server, relative and absolute.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ebay.h"
#include "ebay_fixture.h"
#include "xalloc.h"

static json_t *parse(const char *text)
{
	json_t *j = json_loads(text, 0, NULL);

	assert_non_null(j);
	return j;
}

static void test_parse_page_accepts_both_number_forms(void **state)
{
	struct buf why = BUF_INIT;
	struct ebay_page pg;
	json_t *j;

	(void)state;
	j = parse("{\"inventoryItems\":[{\"sku\":\"a\"},{\"sku\":\"b\"}],\"total\":\"5\","
		  "\"limit\":2,\"size\":\"3\",\"next\":\"/x?offset=2\"}");
	assert_int_equal(ebay_parse_page(j, "inventoryItems", &pg, &why), ERR_OK);
	assert_int_equal(json_array_size(pg.records), 2);
	assert_int_equal(pg.total, 5);
	assert_int_equal(pg.limit, 2);
	assert_string_equal(pg.next, "/x?offset=2");
	json_decref(j);

	j = parse("{\"offers\":[],\"total\":7.0,\"limit\":\"100\",\"next\":null}");
	assert_int_equal(ebay_parse_page(j, "offers", &pg, &why), ERR_OK);
	assert_int_equal(pg.total, 7);
	assert_int_equal(pg.limit, 100);
	assert_null(pg.next);
	json_decref(j);

	/* Missing array and counts: an empty page of unknown size. */
	j = parse("{\"href\":\"/x\",\"next\":\"\"}");
	assert_int_equal(ebay_parse_page(j, "offers", &pg, &why), ERR_OK);
	assert_true(json_is_array(pg.records));
	assert_int_equal(json_array_size(pg.records), 0);
	assert_int_equal(pg.total, -1);
	assert_int_equal(pg.limit, -1);
	assert_null(pg.next);
	json_decref(j);
	buf_release(&why);
}

static void test_parse_page_rejects_wrong_shapes(void **state)
{
	static const struct {
		const char *json, *reason;
	} bad[] = {
	    {"[1,2]", "page is an array, not a JSON object"},
	    {"\"page\"", "page is a string, not a JSON object"},
	    {"{\"offers\":{}}", "page field 'offers' is an object, not an array"},
	    {"{\"offers\":\"none\"}", "page field 'offers' is a string, not an array"},
	    {"{\"offers\":[],\"total\":\"12abc\"}",
	     "page field 'total' is not a whole number: \"12abc\""},
	    {"{\"offers\":[],\"total\":-1}", "page field 'total' is a number, not a whole number"},
	    {"{\"offers\":[],\"total\":\"\"}", "page field 'total' is not a whole number: \"\""},
	    {"{\"offers\":[],\"total\":\"99999999999999999999\"}",
	     "page field 'total' is not a whole number: \"99999999999999999999\""},
	    {"{\"offers\":[],\"next\":5}", "page field 'next' is a number, not a string"},
	};
	struct buf why = BUF_INIT;
	struct ebay_page pg;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *j = json_loads(bad[i].json, JSON_DECODE_ANY, NULL);

		assert_non_null(j);
		assert_int_equal(ebay_parse_page(j, "offers", &pg, &why), ERR_PARSE);
		if (strcmp(buf_str(&why), bad[i].reason))
			fail_msg("%s: got reason '%s'", bad[i].json, buf_str(&why));
		json_decref(j);
	}
	assert_int_equal(ebay_parse_page(NULL, "offers", &pg, NULL), ERR_PARSE);
	buf_release(&why);
}

static void test_parse_page_total_beyond_int32(void **state)
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

static void test_parse_page_ignores_nonsense_limit_and_size(void **state)
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

#define FIRST "https://api.ebay.com/sell/inventory/v1/inventory_item?limit=2&offset=0"

#define NEXT "/sell/inventory/v1/inventory_item?limit=2&offset="

/*
 * Gives the pager the page just read (its next link, total and limit),
 * checks that the answer is want and returns the URL to follow (malloc'd;
 * NULL at the end of the walk, and always after a refusal).
 */
static char *offer(struct ebay_pager *p, const char *next, long long total, long long limit,
		   enum error want, struct buf *why)
{
	struct ebay_page pg = {.next = next, .total = total, .limit = limit};
	char *url = (char *)"untouched";

	assert_int_equal(ebay_pager_next(p, &pg, &url, why), want);
	if (want != ERR_OK)
		assert_null(url);
	return url;
}

static void test_pager_follows_relative_and_absolute(void **state)
{
	struct buf why = BUF_INIT;
	struct ebay_pager p;
	char *url;

	(void)state;
	ebay_pager_init(&p, FIRST);
	url = offer(&p, NEXT "2", 5, 2, ERR_OK, &why);
	assert_string_equal(
	    url, "https://api.ebay.com/sell/inventory/v1/inventory_item?limit=2&offset=2");
	free(url);
	url =
	    offer(&p, "https://API.ebay.com:443/sell/inventory/v1/inventory_item?limit=2&offset=4",
		  5, 2, ERR_OK, &why);
	assert_non_null(strstr(url, "offset=4"));
	free(url);
	assert_null(offer(&p, NULL, 5, 2, ERR_OK, &why));
	assert_int_equal(p.n_seen, 3);
	assert_int_equal(p.max_pages, 5);
	ebay_pager_release(&p);
	buf_release(&why);
}

/* Next links the pager refuses after page 1, and a part of the reason. */
static const struct {
	const char *next, *reason_part;
} refused[] = {
    {FIRST, "repeats page 1"},
    {NEXT "0", "repeats page 1"},
    {"https://evil.example.com/sell/inventory/v1/inventory_item?offset=2",
     "leaves https://api.ebay.com:443 for https://evil.example.com:443"},
    {"//evil.example.com/x", "leaves https://api.ebay.com:443"},
    {"https://api.ebay.com:8443/sell/inventory/v1/inventory_item?offset=2",
     "for https://api.ebay.com:8443"},
    {"http://api.ebay.com/sell/inventory/v1/inventory_item?offset=2", "for http://api.ebay.com:80"},
    {"ftp://api.ebay.com/x", "not a url"},
    {"javascript:alert(1)", "not a url"},
    {"not a url", "not a url"},
    {"sell/inventory/v1/inventory_item?offset=2", "not a url"},
    {"/sell/inventory\r\nX-Injected: 1", "not a url"},
    {"https://", "not an http(s) url"},
};

static void test_pager_guards(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		struct buf why = BUF_INIT;
		struct ebay_pager p;

		ebay_pager_init(&p, FIRST);
		offer(&p, refused[i].next, 100, 2, ERR_PARSE, &why);
		if (!strstr(buf_str(&why), refused[i].reason_part))
			fail_msg("next '%s': reason '%s' lacks '%s'", refused[i].next,
				 buf_str(&why), refused[i].reason_part);
		ebay_pager_release(&p);
		buf_release(&why);
	}
}

static void test_pager_repeat_of_any_earlier_page(void **state)
{
	struct buf why = BUF_INIT;
	struct ebay_pager p;

	(void)state;
	ebay_pager_init(&p, FIRST);
	free(offer(&p, NEXT "2", -1, -1, ERR_OK, &why));
	free(offer(&p, NEXT "4", -1, -1, ERR_OK, &why));
	/* A loop back to page 2, not just to the previous page. */
	offer(&p, NEXT "2", -1, -1, ERR_PARSE, &why);
	assert_non_null(strstr(buf_str(&why), "repeats page 2"));
	ebay_pager_release(&p);
	buf_release(&why);
}

static void test_pager_caps_pages_from_total(void **state)
{
	struct buf why = BUF_INIT;
	struct ebay_pager p;
	char next[128];
	int i;

	(void)state;
	ebay_pager_init(&p, FIRST);
	/* total 4, limit 2: 2 pages, plus a margin of 2. */
	for (i = 1; i <= 3; i++) {
		snprintf(next, sizeof(next), NEXT "%d", i * 2);
		free(offer(&p, next, 4, 2, ERR_OK, &why));
	}
	offer(&p, NEXT "8", 4, 2, ERR_PARSE, &why);
	assert_string_equal(buf_str(&why), "next link would be page 5, past the 4 pages that total "
					   "4 and limit 2 allow");
	ebay_pager_release(&p);

	/* total 0: an empty catalog may still link once or twice, not more. */
	ebay_pager_init(&p, FIRST);
	free(offer(&p, "/a", 0, 200, ERR_OK, &why));
	offer(&p, "/b", 0, 200, ERR_PARSE, &why);
	ebay_pager_release(&p);
	buf_release(&why);
}

static void test_pager_hard_cap_without_total(void **state)
{
	static const char last[] = "/sell/inventory/v1/inventory_item?offset=last";
	struct buf why = BUF_INIT;
	struct ebay_pager p;
	size_t i;

	(void)state;
	ebay_pager_init(&p, FIRST);
	/* Pretend 99,999 more pages were walked. */
	p.seen = xrealloc(p.seen, 100000 * sizeof(*p.seen));
	for (i = 1; i < 100000; i++)
		p.seen[i] = xasprintf("https://api.ebay.com/p%zu", i);
	p.n_seen = 100000;
	offer(&p, last, -1, -1, ERR_PARSE, &why);
	assert_string_equal(buf_str(&why),
			    "next link would be page 100001, past the cap of 100000 pages");
	/* One page fewer, and it goes. */
	free(p.seen[99999]);
	p.n_seen = 99999;
	free(offer(&p, last, -1, -1, ERR_OK, &why));
	ebay_pager_release(&p);
	buf_release(&why);
}

static void test_pager_bad_first_url(void **state)
{
	struct buf why = BUF_INIT;
	struct ebay_pager p;

	(void)state;
	ebay_pager_init(&p, "nonsense");
	offer(&p, "/x", -1, -1, ERR_PARSE, &why);
	assert_non_null(strstr(buf_str(&why), "first page url is not an http(s) url"));
	/* The end of a walk is fine whatever the first URL. */
	assert_null(offer(&p, NULL, -1, -1, ERR_OK, &why));
	ebay_pager_release(&p);
	buf_release(&why);
}

/* Pages of 2 from 5 items: relative next, then absolute, then none. */
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

static void script_pages(const struct ebay_fixture_hit *h, struct ebay_fixture_reply *r)
{
	long off = strtol(h->offset, NULL, 10);

	if (off == 0)
		snprintf(r->body, sizeof(r->body),
			 "{\"inventoryItems\":[{\"sku\":\"s1\"},{\"sku\":\"s2\"}],\"total\":\"5\","
			 "\"limit\":\"2\",\"next\":\"/sell/inventory/v1/"
			 "inventory_item?limit=2&offset=2\"}");
	else if (off == 2)
		snprintf(r->body, sizeof(r->body),
			 "{\"inventoryItems\":[{\"sku\":\"s3\"},{\"sku\":\"s4\"}],\"total\":5,"
			 "\"limit\":2,\"next\":\"%s/sell/inventory/v1/"
			 "inventory_item?limit=2&offset=4\"}",
			 ebay_fixture_base());
	else
		snprintf(r->body, sizeof(r->body),
			 "{\"inventoryItems\":[{\"sku\":\"s5\"}],\"total\":5,\"limit\":2}");
}

static void test_next_links_are_followed(void **state)
{
	struct ebay_fixture *fx = *state;
	struct buf why = BUF_INIT, skus = BUF_INIT;
	struct ebay_client *c = ebay_fixture_client(fx);
	struct ebay_pager p;
	char *url = ebay_inventory_url(&fx->cfg, 2, 0);
	int pages = 0;

	ebay_fixture_serve(script_pages);
	ebay_pager_init(&p, url);
	while (url) {
		struct ebay_response r;
		struct ebay_page pg;
		size_t i;
		json_t *item;

		assert_int_equal(ebay_get(c, EBAY_REQ_INVENTORY, url, "page", &r), ERR_OK);
		assert_int_equal(ebay_parse_page(r.json, "inventoryItems", &pg, &why), ERR_OK);
		json_array_foreach(pg.records, i, item)
		    buf_addf(&skus, "%s,", json_string_value(json_object_get(item, "sku")));
		free(url);
		assert_int_equal(ebay_pager_next(&p, &pg, &url, &why), ERR_OK);
		ebay_response_release(&r);
		pages++;
	}
	assert_int_equal(pages, 3);
	assert_string_equal(buf_str(&skus), "s1,s2,s3,s4,s5,");
	assert_string_equal(ebay_fixture_hit(1)->offset, "2");
	assert_string_equal(ebay_fixture_hit(2)->offset, "4");
	ebay_pager_release(&p);
	buf_release(&why);
	buf_release(&skus);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_page_accepts_both_number_forms),
	    cmocka_unit_test(test_parse_page_rejects_wrong_shapes),
	    cmocka_unit_test(test_parse_page_total_beyond_int32),
	    cmocka_unit_test(test_parse_page_ignores_nonsense_limit_and_size),
	    cmocka_unit_test(test_pager_follows_relative_and_absolute),
	    cmocka_unit_test(test_pager_guards),
	    cmocka_unit_test(test_pager_repeat_of_any_earlier_page),
	    cmocka_unit_test(test_pager_caps_pages_from_total),
	    cmocka_unit_test(test_pager_hard_cap_without_total),
	    cmocka_unit_test(test_pager_bad_first_url),
	    cmocka_unit_test(test_pager_bound_from_records),
	    cmocka_unit_test(test_pager_hard_cap_under_a_huge_total),
	    EBAY_FIXTURE_TEST(test_next_links_are_followed),
	};

	return cmocka_run_group_tests(tests, ebay_fixture_group_setup, ebay_fixture_group_teardown);
}
