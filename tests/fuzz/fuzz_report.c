/*
 * libFuzzer target for the Active Inventory Report reader (report.c), what
 * ebaysync reads from eBay's download. An input that starts with "PK" is
 * read as the archive itself (libarchive's zip reader); any other input is
 * taken as the XML and zipped here first (with libzip, stored or deflated by
 * its first byte), so that the fuzzer reaches the XML walk. Besides not
 * crashing, it checks what the callers rely on: a refusal always says why,
 * and every row handed out is within report.h's promises.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zip.h>

#include "mapping.h"
#include "report.h"
#include "xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int digits(const char *s, size_t max)
{
	size_t n = strspn(s, "0123456789");

	return n > 0 && n <= max && !s[n];
}

static enum error check_row(void *ctx, const struct report_row *r, struct buf *why)
{
	long long *n = ctx;

	if (!r->sku || !*r->sku || strlen(r->sku) > REPORT_SKU_MAX)
		abort();
	if (!digits(r->item_id, 19) || !mapping_is_decimal(r->price))
		abort();
	if (strlen(r->currency) != 3 || strspn(r->currency, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != 3)
		abort();
	if (r->quantity < 0 || r->quantity > 2147483647LL)
		abort();
	++*n;
	return ERR_OK;
}

/* data zipped into a malloc'd archive, or NULL. */
static unsigned char *zip_of(const uint8_t *data, size_t size, int store, size_t *len)
{
	zip_error_t ze;
	zip_source_t *mem, *file;
	zip_stat_t st;
	zip_t *za;
	unsigned char *out = NULL;

	zip_error_init(&ze);
	mem = zip_source_buffer_create(NULL, 0, 0, &ze);
	if (!mem)
		return NULL;
	zip_source_keep(mem);
	za = zip_open_from_source(mem, ZIP_TRUNCATE, &ze);
	if (!za)
		goto out;
	file = zip_source_buffer(za, data, size, 0);
	if (!file || zip_file_add(za, "r.xml", file, 0) < 0) {
		zip_source_free(file);
		zip_discard(za);
		goto out;
	}
	if (store)
		zip_set_file_compression(za, 0, ZIP_CM_STORE, 0);
	if (zip_close(za) < 0) {
		zip_discard(za);
		goto out;
	}
	if (zip_source_stat(mem, &st) < 0 || zip_source_open(mem) < 0)
		goto out;
	out = xmalloc(st.size + 1);
	if (zip_source_read(mem, out, st.size) != (zip_int64_t)st.size)
		FREE_AND_NULL(out);
	*len = st.size;
	zip_source_close(mem);
out:
	zip_source_free(mem);
	zip_error_fini(&ze);
	return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf why = BUF_INIT;
	struct report_summary sum;
	unsigned char *zip = NULL;
	const void *in = data;
	size_t len = size;
	long long rows = 0;
	enum error err;

	if (size < 2 || data[0] != 'P' || data[1] != 'K') {
		zip = zip_of(data, size, size && (data[0] & 1), &len);
		if (!zip)
			return 0;
		in = zip;
	}
	err = report_read_memory(in, len, check_row, &rows, &sum, &why);
	if (err != ERR_OK && !why.len)
		abort(); /* a refusal always says why */
	if (err == ERR_OK && (sum.rows != rows || sum.variations > sum.rows))
		abort();
	free(zip);
	buf_release(&why);
	return 0;
}
