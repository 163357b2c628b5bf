/*
 * Fuzzes what analytics.c reads from eBay: a RateLimitsResponse body and
 * the reset times in it. Besides not crashing, the reader keeps its
 * promises: an accepted rate has 0 <= remaining <= limit <= 2^31-1 and a
 * reset that is 0 or a time after 1970; a refusal always says why.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "analytics.h"
#include "xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct analytics_rate r;
	struct buf why = BUF_INIT;
	char *text = xmalloc(size + 1);
	enum error err;

	memcpy(text, data, size);
	text[size] = '\0';
	err = analytics_parse((const char *)data, size, "sell", "inventory", &r, &why);
	if (!err &&
	    (r.remaining < 0 || r.remaining > r.limit || r.limit > 2147483647LL || r.reset_ms < 0))
		abort();
	if (err && !buf_str(&why)[0])
		abort();
	if (analytics_parse_time(text) < -1)
		abort();
	buf_release(&why);
	free(text);
	return 0;
}
