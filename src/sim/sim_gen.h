/*
 * The simulator's catalog content, computed rather than stored: every SKU,
 * inventory item and offer is a pure function of (seed, id, version), so a
 * catalog of a million SKUs costs a few bytes per SKU. The id fixes what
 * does not change (the SKU string, brand, model, marketplace, images); the
 * version, bumped by each edit, drives what does (quantities, prices,
 * statuses). SKUs loaded from a file (struct sim_source) are rendered from
 * their stored JSON instead.
 *
 * Every function here is thread-safe and allocation is the caller's to free.
 */
#ifndef SIM_GEN_H
#define SIM_GEN_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "random.h"

/* eBay's SKU limit: 50 characters; ours are at most 50 bytes. */
#define SIM_GEN_SKU_MAX 50
/* Offer slot 0 is the FIXED_PRICE offer, slot 1 the AUCTION one. */
#define SIM_GEN_MAX_OFFERS 2

/*
 * A catalog loaded from a file: immutable once built, shared by every entry
 * that points at it, freed with the catalog that loaded it.
 */
struct sim_source {
	size_t n;
	char **skus;	 /* n NUL-terminated SKUs */
	json_t **items;	 /* n inventory items, "sku" included */
	json_t **offers; /* n arrays of offer objects (0..SIM_GEN_MAX_OFFERS each) */
};

/*
 * A SKU's version holds two counts. Its low SIM_GEN_MUTATION_SHIFT bits
 * count churn edits, each of which draws quantities, prices and statuses
 * anew (and sometimes the title and the offers). Its high bits count field
 * mutations (/sim/mutate, at most SIM_GEN_MUTATIONS_MAX): each changes one
 * thing a seller or buyer changes on a live eBay listing, on the SKU's
 * first offer, and nothing else: a live listing's price or quantity, its
 * end or withdrawal, or the publication of an offer that was not live (a
 * SKU without offers: its item quantity). Each shows in the Active
 * Inventory Report or in the inventory pages, as such changes do on eBay.
 */
#define SIM_GEN_MUTATION_SHIFT 24
#define SIM_GEN_EDITS_MASK     ((1u << SIM_GEN_MUTATION_SHIFT) - 1)
#define SIM_GEN_MUTATIONS_MAX  255u

/* One SKU of the catalog, enough to render it without the catalog's lock. */
struct sim_entry {
	const struct sim_source *src; /* the file it came from, or NULL */
	uint64_t seed;
	uint32_t id;	  /* stable for the SKU's life; ids of removed SKUs are not reused */
	uint32_t version; /* 0 when created, +1 per edit */
};

/*
 * Seeds r (random.h's splitmix64) for one stream of the catalog: seed is the
 * catalog's, a and b tell the streams of one SKU apart (its id, a salt).
 */
void sim_gen_rng_init(struct random_rng *r, uint64_t seed, uint64_t a, uint64_t b);

/* True when e's SKU comes from its file source rather than the generator. */
int sim_gen_is_file(const struct sim_entry *e);

/* The SKU of e into out (NUL-terminated); returns its length in bytes. */
size_t sim_gen_sku(const struct sim_entry *e, char out[SIM_GEN_SKU_MAX + 1]);

/* Whether the generated SKU of id is one of the ~2% hostile ones. */
int sim_gen_is_hostile(uint64_t seed, uint32_t id);

/*
 * The inventory item of e (new reference): the contract's
 * InventoryItemWithSkuLocaleGroupid, or with bulk set, the
 * InventoryItemWithSkuLocaleGroupKeys of bulk_get_inventory_item (no
 * groupIds).
 */
json_t *sim_gen_item(const struct sim_entry *e, int bulk);

/* Bit k set when offer slot k exists for e. */
unsigned sim_gen_offer_mask(const struct sim_entry *e);
/* Offer slot k of e (new reference), or NULL when there is none. */
json_t *sim_gen_offer(const struct sim_entry *e, int k);
/* Every offer of e in slot order (new reference to an array). */
json_t *sim_gen_offers(const struct sim_entry *e);

/* The offerId of a generated SKU's slot k into out (at least 24 bytes). */
void sim_gen_offer_id(uint32_t id, int k, char *out, size_t size);
/* Decodes a generated offerId; returns 0 and fills id and k, or -1. */
int sim_gen_parse_offer_id(const char *s, uint32_t *id, int *k);

#endif
