/*
 * Fuzzes --catalog FILE: the parser of catalog files, then rendering every
 * SKU it accepted (items, offers, offer ids) as the simulator would serve them.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sim_catalog.h"
#include "sim_gen.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf why = BUF_INIT;
	struct sim_source *src = sim_catalog_parse_source((const char *)data, size, &why);

	if (!src) {
		if (why.len == 0)
			abort(); /* a refusal always says why */
		buf_release(&why);
		return 0;
	}
	for (size_t i = 0; i < src->n && i < 64; i++) {
		struct sim_entry e = {src, 1, (uint32_t)i, (uint32_t)(i % 3)};
		char sku[SIM_GEN_SKU_MAX + 1];
		json_t *item = sim_gen_item(&e, (int)(i & 1)), *offers = sim_gen_offers(&e);
		char *text;

		if (sim_gen_sku(&e, sku) > SIM_GEN_SKU_MAX || !item || !offers)
			abort();
		text = json_dumps(item, JSON_COMPACT);
		free(text);
		json_decref(item);
		json_decref(offers);
	}
	sim_catalog_source_free(src);
	buf_release(&why);
	return 0;
}
