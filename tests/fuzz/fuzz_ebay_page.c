/*
 * libFuzzer target for what the eBay client reads from the network: a
 * response body goes through ebay_parse_error(), and, when it is JSON,
 * through ebay_parse_page() for both array keys and the pager's guards;
 * its first bytes also go through the Retry-After parser. Besides not
 * crashing, it checks the guarantees the sync engine relies on: a next
 * URL the pager hands out stays on the first URL's origin, and the same
 * page cannot be walked twice.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backoff.h"
#include "ebay.h"
#include "xalloc.h"

#define FIRST "https://api.ebay.com/sell/inventory/v1/inventory_item?limit=200&offset=0"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void walk(const json_t *root, const char *key)
{
	struct buf why = BUF_INIT;
	struct ebay_pager p;
	struct ebay_page pg;
	char *url = NULL;
	int i, taken = 0;

	if (ebay_parse_page(root, key, &pg, &why) != ERR_OK) {
		if (!why.len)
			abort(); /* a refusal always says why */
		buf_release(&why);
		return;
	}
	if (!json_is_array(pg.records) || pg.total < -1 || pg.limit < -1)
		abort();
	ebay_pager_init(&p, FIRST);
	for (i = 0; i < 3; i++) {
		if (ebay_pager_next(&p, &pg, &url, &why) != ERR_OK) {
			if (url || !why.len)
				abort();
			break;
		}
		if (!url)
			break;
		if (strncmp(url, "https://api.ebay.com/", 21))
			abort(); /* left the origin */
		free(url);
		url = NULL;
		taken++;
	}
	if (taken > 1)
		abort(); /* the same next link was followed twice */
	ebay_pager_release(&p);
	buf_release(&why);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char msg[128];
	json_t *root;
	char *text;

	ebay_parse_error((const char *)data, size, msg, sizeof(msg));
	if (strlen(msg) >= sizeof(msg))
		abort();
	root = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
	if (root) {
		walk(root, "inventoryItems");
		walk(root, "offers");
		json_decref(root);
	}
	text = xstrndup((const char *)data, size < 256 ? size : 256);
	if (backoff_retry_after_ms(text, 0) > 86400000LL)
		abort();
	free(text);
	return 0;
}
