/*
 * libFuzzer target for mapping.c, the first code that reads eBay's JSON.
 *
 * Input: JSON text (capped at 1 MiB). An object is mapped both as an
 * inventory item and as an offer; an array's first element as an item and
 * the rest as its offers, then applied. An input starting with byte 0x01 is
 * instead taken as raw SKU bytes (which JSON text could never carry as
 * invalid UTF-8), to reach the SKU checks and the message quoting directly.
 *
 * Besides not crashing or leaking, every successful mapping must keep the
 * promises of mapping.h; a broken promise aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mapping.h"

#define FUZZ_MAX_INPUT (1 << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void require(int ok)
{
	if (!ok)
		abort();
}

static void check_item(const struct item_row *row)
{
	json_t *back;

	require(row->sku && *row->sku && strlen(row->sku) <= MAPPING_SKU_MAX);
	require(row->raw_payload != NULL);
	back = json_loads(row->raw_payload, 0, NULL);
	require(back != NULL);
	json_decref(back);
	require(!row->condition || mapping_condition(row->condition) != NULL);
	require(!row->ebay_status || !strcmp(row->ebay_status, "ACTIVE") ||
		!strcmp(row->ebay_status, "ENDED") || !strcmp(row->ebay_status, "UNKNOWN"));
	require(row->quantity >= -1 && row->photo_count >= 0);
	require(row->offer_fields_known == 0 || row->ebay_status != NULL);
	require(!row->price_value || mapping_is_decimal(row->price_value));
}

static void check_offer(const struct offer_row *row)
{
	require(row->offer_id && *row->offer_id && row->raw_payload);
	require(!row->sku || strlen(row->sku) <= MAPPING_SKU_MAX);
	require(row->available_quantity >= -1 && row->sold_quantity >= -1);
	require(!row->price_value || mapping_is_decimal(row->price_value));
}

/* Maps items[0] as an item and the rest as its offers. */
static void map_group(json_t *const *elems, size_t n)
{
	struct buf warn, why;
	struct item_row item;
	struct offer_row *offers = calloc(n ? n : 1, sizeof(*offers));
	size_t k = 0, i;
	int have_item;

	buf_init(&warn, 4096);
	buf_init(&why, 4096);
	have_item = mapping_item_from_json(elems[0], &item, &warn, &why) == ERR_OK;
	if (have_item)
		check_item(&item);
	else
		require(why.len > 0);
	for (i = 1; i < n; i++) {
		buf_reset(&why);
		if (mapping_offer_from_json(elems[i], &offers[k], &warn, &why) == ERR_OK)
			check_offer(&offers[k++]);
		else
			require(why.len > 0);
	}
	if (have_item) {
		int known = item.offer_fields_known;

		mapping_item_apply_offers(&item, offers, k);
		require(item.offer_fields_known == 1 && item.ebay_status != NULL);
		require(known || k > 0 || !strcmp(item.ebay_status, "UNKNOWN"));
		item_row_release(&item);
	}
	for (i = 0; i < k; i++)
		offer_row_release(&offers[i]);
	free(offers);
	buf_release(&warn);
	buf_release(&why);
}

static void raw_sku(const uint8_t *data, size_t size)
{
	json_t *item = json_object();
	struct item_row row;
	struct buf why;

	buf_init(&why, 4096);
	json_object_set_new(item, "sku", json_stringn_nocheck((const char *)data, size));
	json_object_set_new(item, "condition", json_stringn_nocheck((const char *)data, size));
	if (mapping_item_from_json(item, &row, &why, &why) == ERR_OK) {
		require(row.sku && strlen(row.sku) == size && size <= MAPPING_SKU_MAX);
		item_row_release(&row);
	} else {
		require(why.len > 0);
	}
	json_decref(item);
	buf_release(&why);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *root;

	if (size > FUZZ_MAX_INPUT)
		return 0;
	if (size > 0 && data[0] == 0x01) {
		raw_sku(data + 1, size - 1);
		return 0;
	}
	root = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
	if (!root)
		return 0;
	if (json_is_array(root) && json_array_size(root) > 0) {
		size_t n = json_array_size(root), i;
		json_t **elems = calloc(n, sizeof(*elems));

		for (i = 0; i < n; i++)
			elems[i] = json_array_get(root, i);
		map_group(elems, n);
		free(elems);
	} else {
		json_t *pair[2] = {root, root};

		map_group(pair, 2);
	}
	json_decref(root);
	return 0;
}
