/*
 * The simulator's catalog: which SKUs exist right now and in what order.
 * It stores 8 bytes per SKU (id and version, see sim_gen.h for the content)
 * in an array of slots with gaps, a Fenwick tree to find the SKU at a given
 * position in O(log n), and a hash index from SKU string to id. Churn
 * removes SKUs (later ones move up a position), adds new ones into gaps (later
 * ones move down) and edits others, so that offset paging skips or repeats
 * rows as it does on eBay.
 *
 * All functions are thread-safe (one reader-writer lock inside).
 */
#ifndef SIM_CATALOG_H
#define SIM_CATALOG_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "error.h"
#include "sim_gen.h"

struct sim_catalog;

/* An empty catalog. Free with sim_catalog_free(). */
struct sim_catalog *sim_catalog_new(void);
void sim_catalog_free(struct sim_catalog *c);

/*
 * (Re)builds the catalog in its starting state: skus generated SKUs from
 * seed, or, when file is not empty, the SKUs of that file (JSON lines of
 * {"sku","item","offers"} as GET /sim/catalog writes them, or one object
 * {"inventoryItems":[...],"offers":[...]} in the contract's shapes). On
 * error the catalog is unchanged and why says what is wrong with the file.
 */
enum error sim_catalog_build(struct sim_catalog *c, uint64_t seed, long long skus, const char *file,
			     struct buf *why);

/* The number of SKUs now. */
size_t sim_catalog_count(struct sim_catalog *c);

/* Copies up to n entries from position pos on into out; returns how many and
 * stores the SKU count at that moment in *total. */
size_t sim_catalog_page(struct sim_catalog *c, size_t pos, size_t n, struct sim_entry *out,
			size_t *total);

/* Finds a SKU (len bytes, any content); returns 0 and fills out, or -1. */
int sim_catalog_find_sku(struct sim_catalog *c, const char *sku, size_t len, struct sim_entry *out);

/* Finds the SKU holding offerId; returns 0 and fills out and its slot *k,
 * or -1. The offer may still be absent from that SKU (check its mask). */
int sim_catalog_find_offer(struct sim_catalog *c, const char *offer_id, struct sim_entry *out,
			   int *k);

/* Every SKU in catalog order, consistent at one instant (malloc'd; *n set). */
struct sim_entry *sim_catalog_snapshot(struct sim_catalog *c, size_t *n);

enum sim_churn_op {
	SIM_CHURN_ADD,
	SIM_CHURN_REMOVE,
	SIM_CHURN_EDIT,
};

/* Applies one random change chosen by rng; returns which. */
enum sim_churn_op sim_catalog_churn(struct sim_catalog *c, struct random_rng *rng);

/*
 * Applies one change of kind op, as churn does, for POST /sim/mutate: an
 * add of a new SKU, or an edit or a removal of sku (NULL: of a random one).
 * *before is the SKU as it was (zeroed for an add), *after as it is now
 * (zeroed for a removal).
 * Returns -1 when there is nothing to change (no such SKU, an empty
 * catalog, no id left).
 */
int sim_catalog_apply(struct sim_catalog *c, enum sim_churn_op op, struct random_rng *rng,
		      const char *sku, struct sim_entry *before, struct sim_entry *after);

/*
 * Applies one field mutation (see sim_gen.h) to exactly n distinct SKUs
 * chosen by rng (all of them when n is larger), in one step under the lock.
 * *out gets the mutated entries, after the change (malloc'd; the caller
 * frees it). Returns how many.
 */
size_t sim_catalog_mutate(struct sim_catalog *c, size_t n, struct random_rng *rng,
			  struct sim_entry **out);

/* Counts of changes since the last build, for /sim/stats. */
void sim_catalog_churn_counts(struct sim_catalog *c, long long counts[3]);

/* Parses the text of a catalog file into a source (for the fuzzer and
 * sim_catalog_build). Returns NULL with a reason in why. */
struct sim_source *sim_catalog_parse_source(const char *text, size_t len, struct buf *why);
void sim_catalog_source_free(struct sim_source *s);

#endif
