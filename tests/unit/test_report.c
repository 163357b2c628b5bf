/*
 * The Active Inventory Report reader (src/report.c): good reports, single
 * and multi-variation listings, and every way a report can be bad (a cut or
 * damaged archive, broken XML, missing fields, absurd numbers) refused with
 * a message that names what is wrong; odd SKUs (entities, CDATA, unicode)
 * come out byte for byte. Archives are made here with libzip, a library the
 * reader does not use.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zip.h>

#include <cmocka.h>

#include "buf.h"
#include "report.h"
#include "sim_catalog.h"
#include "sim_feed.h"
#include "testutil.h"
#include "xalloc.h"

#define HEAD                                                                                       \
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"                                             \
	"<BulkDataExchangeResponses xmlns=\"urn:ebay:apis:eBLBaseComponents\">"                    \
	"<ActiveInventoryReport><Timestamp>2024-01-01T00:00:00.000Z</Timestamp>"                   \
	"<Ack>Success</Ack><Version>1355</Version>"
#define TAIL "</ActiveInventoryReport></BulkDataExchangeResponses>\n"

/* A zip archive of one file holding text (malloc'd). */
static unsigned char *zip_of(const char *name, const char *text, size_t text_len, size_t *len)
{
	zip_error_t ze;
	zip_source_t *mem, *file;
	zip_stat_t st;
	zip_t *za;
	unsigned char *out;

	zip_error_init(&ze);
	mem = zip_source_buffer_create(NULL, 0, 0, &ze);
	assert_non_null(mem);
	zip_source_keep(mem);
	za = zip_open_from_source(mem, ZIP_TRUNCATE, &ze);
	assert_non_null(za);
	file = zip_source_buffer(za, text, text_len, 0);
	assert_non_null(file);
	assert_true(zip_file_add(za, name, file, ZIP_FL_ENC_UTF_8) >= 0);
	assert_int_equal(zip_close(za), 0);
	assert_int_equal(zip_source_stat(mem, &st), 0);
	assert_int_equal(zip_source_open(mem), 0);
	out = xmalloc(st.size + 1);
	assert_int_equal(zip_source_read(mem, out, st.size), (zip_int64_t)st.size);
	zip_source_close(mem);
	zip_source_free(mem);
	zip_error_fini(&ze);
	*len = st.size;
	return out;
}

struct rows {
	size_t n;
	char line[64][400];
	enum error fail_at_err;
	size_t fail_at;
};

/* Each row as "sku|item|price|currency|qty|parent". */
static enum error collect(void *ctx, const struct report_row *r, struct buf *why)
{
	struct rows *rs = ctx;

	if (rs->fail_at_err && rs->n == rs->fail_at) {
		buf_adds(why, "the store said no");
		return rs->fail_at_err;
	}
	if (rs->n < 64)
		snprintf(rs->line[rs->n], sizeof(rs->line[0]), "%s|%s|%s|%s|%lld|%s", r->sku,
			 r->item_id, r->price, r->currency, r->quantity,
			 r->parent_sku ? r->parent_sku : "-");
	rs->n++;
	return ERR_OK;
}

/* Reads xml zipped; returns the error, rows in rs, the message in why. */
static enum error read_xml(const char *xml, struct rows *rs, struct report_summary *sum,
			   struct buf *why)
{
	size_t len;
	unsigned char *zip = zip_of("ActiveInventoryReport.xml", xml, strlen(xml), &len);
	enum error err;

	memset(rs, 0, sizeof(*rs));
	buf_reset(why);
	err = report_read_memory(zip, len, collect, rs, sum, why);
	free(zip);
	return err;
}

/* Expects xml to be refused with a message containing want. */
static void refused(const char *xml, const char *want)
{
	struct buf why = BUF_INIT;
	struct rows rs;
	enum error err = read_xml(xml, &rs, NULL, &why);

	if (err == ERR_OK || !strstr(buf_str(&why), want))
		fail_msg("want an error with '%s', got %s: '%s'", want, error_strerror(err),
			 buf_str(&why));
	buf_release(&why);
}

static void test_good_report(void **state)
{
	struct buf why = BUF_INIT;
	struct report_summary sum;
	struct rows rs;

	assert_int_equal(
	    read_xml(HEAD "<SKUDetails><SKU>A-1</SKU><ItemID>110000000001</ItemID>"
			  "<Price currencyID=\"USD\">19.99</Price><Quantity>3</Quantity>"
			  "</SKUDetails>\n"
			  "<SKUDetails>\n  <BidCount>2</BidCount>\n  <SKU>B-2</SKU>\n"
			  "  <ItemID> 110000000002 </ItemID>\n"
			  "  <Price currencyID=\"GBP\">7</Price>\n  <Quantity>0</Quantity>\n"
			  "  <ReserveMet>false</ReserveMet>\n</SKUDetails>"
			  "<SKUDetails><Quantity>2147483647</Quantity>"
			  "<Price currencyID=\"EUR\">1250.0</Price>"
			  "<ItemID>9</ItemID><SKU>C</SKU></SKUDetails>" TAIL,
		     &rs, &sum, &why),
	    ERR_OK);
	assert_int_equal(rs.n, 3);
	assert_string_equal(rs.line[0], "A-1|110000000001|19.99|USD|3|-");
	assert_string_equal(rs.line[1], "B-2|110000000002|7|GBP|0|-");
	assert_string_equal(rs.line[2], "C|9|1250.0|EUR|2147483647|-");
	assert_int_equal(sum.listings, 3);
	assert_int_equal(sum.rows, 3);
	assert_int_equal(sum.variations, 0);
	assert_int_equal(sum.no_sku, 0);
	assert_string_equal(sum.ack, "Success");

	/* An empty report is a good report with no rows. */
	assert_int_equal(read_xml(HEAD TAIL, &rs, &sum, &why), ERR_OK);
	assert_int_equal(rs.n, 0);
	assert_int_equal(sum.listings, 0);

	/* A validation pass: no callback, same counts. */
	{
		const char *xml = HEAD "<SKUDetails><SKU>A</SKU><ItemID>1</ItemID><Price "
				       "currencyID=\"USD\">1</Price><Quantity>1</Quantity>"
				       "</SKUDetails>" TAIL;
		size_t len;
		unsigned char *zip = zip_of("r.xml", xml, strlen(xml), &len);
		assert_int_equal(report_read_memory(zip, len, NULL, NULL, &sum, &why), ERR_OK);
		assert_int_equal(sum.rows, 1);
		free(zip);
	}
	buf_release(&why);
}

static void test_variations(void **state)
{
	struct buf why = BUF_INIT;
	struct report_summary sum;
	struct rows rs;

	/* ItemID after the Variations, as the schema's order allows. */
	assert_int_equal(
	    read_xml(HEAD "<SKUDetails><SKU>GRP-1</SKU><Variations>"
			  "<Variation><SKU>GRP-1-RED</SKU><Price currencyID=\"USD\">5.50</Price>"
			  "<Quantity>4</Quantity></Variation>"
			  "<Variation><Quantity>0</Quantity><SKU>GRP-1-BLUE</SKU>"
			  "<Price currencyID=\"USD\">6</Price></Variation>"
			  "<Variation><Price currencyID=\"USD\">6</Price><Quantity>1</Quantity>"
			  "</Variation>"
			  "</Variations><ItemID>120000000001</ItemID></SKUDetails>"
			  "<SKUDetails><ItemID>120000000002</ItemID><Variations><Variation>"
			  "<SKU>V-ONLY</SKU><Price currencyID=\"AUD\">1.00</Price>"
			  "<Quantity>9</Quantity></Variation></Variations></SKUDetails>"
			  "<SKUDetails><ItemID>120000000003</ItemID><Price currencyID=\"USD\">2"
			  "</Price><Quantity>1</Quantity></SKUDetails>" TAIL,
		     &rs, &sum, &why),
	    ERR_OK);
	assert_int_equal(rs.n, 3);
	assert_string_equal(rs.line[0], "GRP-1-RED|120000000001|5.50|USD|4|GRP-1");
	assert_string_equal(rs.line[1], "GRP-1-BLUE|120000000001|6|USD|0|GRP-1");
	assert_string_equal(rs.line[2], "V-ONLY|120000000002|1.00|AUD|9|-");
	assert_int_equal(sum.listings, 3);
	assert_int_equal(sum.rows, 3);
	assert_int_equal(sum.variations, 3);
	/* The variation without a SKU and the listing without one. */
	assert_int_equal(sum.no_sku, 2);

	refused(HEAD "<SKUDetails><SKU>G</SKU><ItemID>1</ItemID><Variations/></SKUDetails>" TAIL,
		"listing 1 (SKU 'G') has an empty Variations element");
	refused(HEAD "<SKUDetails><ItemID>1</ItemID><Variations><Variation><SKU>G-1</SKU>"
		     "<Price currencyID=\"USD\">1</Price></Variation></Variations>"
		     "</SKUDetails>" TAIL,
		"listing 1, variation 1 (SKU 'G-1') has no Quantity");
	buf_release(&why);
}

/* A report of n listings, zipped. */
static unsigned char *big_zip(int n, size_t *len)
{
	struct buf xml = BUF_INIT;
	unsigned char *zip;

	buf_adds(&xml, HEAD);
	for (int i = 0; i < n; i++)
		buf_addf(&xml,
			 "<SKUDetails><SKU>SKU-%06d</SKU><ItemID>%d</ItemID><Price "
			 "currencyID=\"USD\">%d.%02d</Price><Quantity>%d</Quantity></SKUDetails>\n",
			 i, 110000000 + i, i % 500, i % 100, i % 7);
	buf_adds(&xml, TAIL);
	zip = zip_of("ActiveInventoryReport.xml", xml.data, xml.len, len);
	buf_release(&xml);
	return zip;
}

static void test_truncated_zip(void **state)
{
	struct buf why = BUF_INIT;
	struct report_summary sum;
	size_t len;
	unsigned char *zip = big_zip(5000, &len);
	const size_t cuts[] = {0,	10,	 29,	    100,      1000,
			       len / 3, len / 2, len - 100, len - 23, len - 1};

	assert_int_equal(report_read_memory(zip, len, NULL, NULL, &sum, &why), ERR_OK);
	assert_int_equal(sum.rows, 5000);
	for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		enum error err;

		buf_reset(&why);
		err = report_read_memory(zip, cuts[i], NULL, NULL, &sum, &why);
		if (err == ERR_OK)
			fail_msg("a zip cut at %zu of %zu bytes was accepted (%lld rows)", cuts[i],
				 len, sum.rows);
		assert_int_equal(err, ERR_PARSE);
		assert_true(strstr(buf_str(&why), "archive") || strstr(buf_str(&why), "XML"));
	}
	/* Damaged compressed data: refused too, never read as a shorter report. */
	zip[len / 2] ^= 0x55;
	zip[len / 2 + 1] ^= 0xaa;
	buf_reset(&why);
	assert_int_equal(report_read_memory(zip, len, NULL, NULL, &sum, &why), ERR_PARSE);
	free(zip);

	/* Not a zip at all, and a zip with nothing in it. */
	buf_reset(&why);
	assert_int_equal(report_read_memory(HEAD TAIL, strlen(HEAD TAIL), NULL, NULL, NULL, &why),
			 ERR_PARSE);
	assert_non_null(strstr(buf_str(&why), "not a zip archive"));
	{
		/* An empty zip is its end-of-central-directory record alone. */
		static const unsigned char empty[22] = {'P', 'K', 5, 6};
		buf_reset(&why);
		assert_int_equal(report_read_memory(empty, sizeof(empty), NULL, NULL, NULL, &why),
				 ERR_PARSE);
		if (!strstr(buf_str(&why), "holds no file") && !strstr(buf_str(&why), "zip"))
			fail_msg("an empty zip: '%s'", buf_str(&why));
	}
	buf_reset(&why);
	assert_int_equal(report_read_file("/nonexistent/report.zip", NULL, NULL, NULL, &why),
			 ERR_IO);
	assert_non_null(strstr(buf_str(&why), "/nonexistent/report.zip"));
	buf_release(&why);
}

static void test_corrupt_xml(void **state)
{
	/* Cut inside the XML, in a zip that is itself fine. */
	refused(HEAD "<SKUDetails><SKU>A</SKU><ItemID>1</ItemID><Price currencyID=\"USD\">1",
		"the XML is broken at line");
	refused(HEAD "<SKUDetails><SKU>A</SKU></ItemID></SKUDetails>" TAIL,
		"the XML is broken at line 2");
	refused("not xml at all", "the XML is broken");
	refused("", "the XML is broken");
	refused("<?xml version=\"1.0\"?><GetSellerListResponse/>",
		"the document is <GetSellerListResponse>");
	refused("<BulkDataExchangeResponses><OrderReport/></BulkDataExchangeResponses>",
		"no <ActiveInventoryReport>");
	/* Entity expansion tricks are refused before anything expands. */
	refused("<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY a \"aaaaaaaaaa\">"
		"<!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">]>"
		"<BulkDataExchangeResponses><ActiveInventoryReport><SKUDetails><SKU>&b;</SKU>"
		"</SKUDetails></ActiveInventoryReport></BulkDataExchangeResponses>",
		"DOCTYPE");
	refused(HEAD "<Ack>Failure</Ack>" TAIL, "Ack Failure");
	refused(HEAD "<SKUDetails><SKU>A\x01</SKU></SKUDetails>" TAIL, "the XML is broken");
}

static void test_missing_fields(void **state)
{
	refused(HEAD "<SKUDetails><SKU>A</SKU><Price currencyID=\"USD\">1</Price>"
		     "<Quantity>1</Quantity></SKUDetails>" TAIL,
		"listing 1 (SKU 'A') has no ItemID");
	refused(HEAD "<SKUDetails><SKU>A</SKU><ItemID>1</ItemID><Quantity>1</Quantity>"
		     "</SKUDetails>" TAIL,
		"listing 1 (SKU 'A') has no Price");
	refused(HEAD "<SKUDetails><SKU>A</SKU><ItemID>1</ItemID><Price>1</Price>"
		     "<Quantity>1</Quantity></SKUDetails>" TAIL,
		"has a Price without a currencyID");
	refused(HEAD "<SKUDetails><SKU>A</SKU><ItemID>1</ItemID><Price currencyID=\"USD\">1"
		     "</Price></SKUDetails>" TAIL,
		"has no Quantity");
	refused(HEAD "<SKUDetails><SKU>A</SKU><ItemID>1</ItemID><Price currencyID=\"USD\"/>"
		     "<Quantity>1</Quantity></SKUDetails>" TAIL,
		"has a Price that is not a plain decimal amount");
	refused(HEAD "<SKUDetails><SKU>A</SKU><SKU>B</SKU></SKUDetails>" TAIL, "has two SKU");
	/* The second listing is named by its position. */
	refused(HEAD "<SKUDetails><SKU>A</SKU><ItemID>1</ItemID><Price currencyID=\"USD\">1"
		     "</Price><Quantity>1</Quantity></SKUDetails>"
		     "<SKUDetails><ItemID>77</ItemID></SKUDetails>" TAIL,
		"listing 2 (ItemID 77) has no Price");
}

static void absurd(const char *item, const char *price, const char *cur, const char *qty,
		   const char *want)
{
	char xml[2048];

	snprintf(xml, sizeof(xml),
		 HEAD "<SKUDetails><SKU>A</SKU><ItemID>%s</ItemID><Price currencyID=\"%s\">%s"
		      "</Price><Quantity>%s</Quantity></SKUDetails>" TAIL,
		 item, cur, price, qty);
	refused(xml, want);
}

static void test_absurd_numbers(void **state)
{
	char long_price[200];
	const char *bad_prices[] = {"-1", "1e308", "NaN", "Infinity", "12.34.5", "0x10",
				    ".5", "1,00",  "",	  "  ",	      "+3"};

	for (size_t i = 0; i < sizeof(bad_prices) / sizeof(bad_prices[0]); i++)
		absurd("1", bad_prices[i], "USD", "1", "not a plain decimal amount");
	memset(long_price, '9', sizeof(long_price) - 1);
	long_price[sizeof(long_price) - 1] = '\0';
	absurd("1", long_price, "USD", "1", "not a plain decimal amount");
	absurd("1", "1", "usd", "1", "currencyID that is not three capital letters");
	absurd("1", "1", "DOLLARS", "1", "currencyID that is not three capital letters");
	absurd("1", "1", "USD", "-3", "Quantity that is not a whole number");
	absurd("1", "1", "USD", "3.5", "Quantity that is not a whole number");
	absurd("1", "1", "USD", "99999999999", "Quantity that is not a whole number");
	absurd("1", "1", "USD", "2147483648", "Quantity over 2147483647");
	absurd("abc", "1", "USD", "1", "ItemID that is not 1 to 19 digits");
	absurd("-5", "1", "USD", "1", "ItemID that is not 1 to 19 digits");
	absurd("12345678901234567890", "1", "USD", "1", "ItemID that is not 1 to 19 digits");
}

static void test_odd_skus(void **state)
{
	struct buf why = BUF_INIT, xml = BUF_INIT;
	struct rows rs;
	char sku[REPORT_SKU_MAX + 2];

	assert_int_equal(
	    read_xml(HEAD
		     "<SKUDetails><SKU>A&amp;B &lt;x&gt; &quot;q&quot; &apos;</SKU>"
		     "<ItemID>1</ItemID><Price currencyID=\"USD\">1</Price><Quantity>1"
		     "</Quantity></SKUDetails>"
		     "<SKUDetails><SKU>Größe-日本-&#x1F600;</SKU><ItemID>2</ItemID>"
		     "<Price currencyID=\"USD\">1</Price><Quantity>1</Quantity></SKUDetails>"
		     "<SKUDetails><SKU><![CDATA[<raw & cdata>]]></SKU><ItemID>3</ItemID>"
		     "<Price currencyID=\"USD\">1</Price><Quantity>1</Quantity></SKUDetails>"
		     "<SKUDetails><SKU> padded </SKU><ItemID>4</ItemID>"
		     "<Price currencyID=\"USD\">1</Price><Quantity>1</Quantity></SKUDetails>"
		     "<SKUDetails><SKU>a<!-- c -->b</SKU><ItemID>5</ItemID>"
		     "<Price currencyID=\"USD\">1</Price><Quantity>1</Quantity></SKUDetails>" TAIL,
		     &rs, NULL, &why),
	    ERR_OK);
	assert_int_equal(rs.n, 5);
	assert_string_equal(rs.line[0], "A&B <x> \"q\" '|1|1|USD|1|-");
	assert_string_equal(rs.line[1], "Größe-日本-\xf0\x9f\x98\x80|2|1|USD|1|-");
	assert_string_equal(rs.line[2], "<raw & cdata>|3|1|USD|1|-");
	assert_string_equal(rs.line[3], " padded |4|1|USD|1|-");
	assert_string_equal(rs.line[4], "ab|5|1|USD|1|-");

	/* A SKU of 200 bytes is kept; 201 is refused. */
	memset(sku, 'x', REPORT_SKU_MAX);
	sku[REPORT_SKU_MAX] = '\0';
	buf_addf(&xml,
		 HEAD "<SKUDetails><SKU>%s</SKU><ItemID>1</ItemID><Price currencyID=\"USD\">1"
		      "</Price><Quantity>1</Quantity></SKUDetails>" TAIL,
		 sku);
	assert_int_equal(read_xml(buf_str(&xml), &rs, NULL, &why), ERR_OK);
	assert_int_equal(rs.n, 1);
	buf_reset(&xml);
	sku[REPORT_SKU_MAX] = 'x';
	sku[REPORT_SKU_MAX + 1] = '\0';
	buf_addf(&xml, HEAD "<SKUDetails><SKU>%s</SKU></SKUDetails>" TAIL, sku);
	refused(buf_str(&xml), "has a SKU over 200 bytes");
	buf_release(&xml);
	buf_release(&why);
}

static void test_callback_stops(void **state)
{
	struct buf why = BUF_INIT;
	size_t len;
	unsigned char *zip = big_zip(100, &len);
	struct rows rs;

	memset(&rs, 0, sizeof(rs));
	rs.fail_at_err = ERR_DB;
	rs.fail_at = 10;
	assert_int_equal(report_read_memory(zip, len, collect, &rs, NULL, &why), ERR_DB);
	assert_int_equal(rs.n, 10);
	assert_string_equal(buf_str(&why), "the store said no");
	free(zip);
	buf_release(&why);
}

/* Through a file descriptor, as feed.c hands it over. */
static void test_read_fd(void **state)
{
	char *dir = testutil_tmpdir();
	char *path = xasprintf("%s/r.zip", dir);
	struct buf why = BUF_INIT;
	struct report_summary sum;
	size_t len;
	unsigned char *zip = big_zip(20000, &len);
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(zip, 1, len, f), len);
	fclose(f);
	assert_int_equal(report_read_file(path, NULL, NULL, &sum, &why), ERR_OK);
	assert_int_equal(sum.rows, 20000);
	assert_int_equal(sum.listings, 20000);
	free(zip);
	free(path);
	testutil_rmrf(dir);
	free(dir);
	buf_release(&why);
}

/* The simulator's report reads back with one row per active listing. */
static void test_sim_report(void **state)
{
	struct sim_catalog *cat = sim_catalog_new();
	struct buf why = BUF_INIT;
	struct report_summary sum;
	unsigned char *zip;
	size_t len;
	long long rows, fixed, auction;

	assert_int_equal(sim_catalog_build(cat, 7, 2000, "", &why), ERR_OK);
	zip = sim_feed_build_report(cat, NULL, &len, &rows);
	assert_true(rows > 100);
	assert_int_equal(report_read_memory(zip, len, NULL, NULL, &sum, &why), ERR_OK);
	assert_int_equal(sum.rows, rows);
	assert_int_equal(sum.no_sku, 0);
	free(zip);
	zip = sim_feed_build_report(cat, "FIXED_PRICE", &len, &fixed);
	free(zip);
	zip = sim_feed_build_report(cat, "AUCTION", &len, &auction);
	free(zip);
	assert_true(fixed > 0 && auction > 0);
	assert_int_equal(fixed + auction, rows);
	sim_catalog_free(cat);
	buf_release(&why);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_good_report),	   cmocka_unit_test(test_variations),
	    cmocka_unit_test(test_truncated_zip),  cmocka_unit_test(test_corrupt_xml),
	    cmocka_unit_test(test_missing_fields), cmocka_unit_test(test_absurd_numbers),
	    cmocka_unit_test(test_odd_skus),	   cmocka_unit_test(test_callback_stops),
	    cmocka_unit_test(test_read_fd),	   cmocka_unit_test(test_sim_report),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
