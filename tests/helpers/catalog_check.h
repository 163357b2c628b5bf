/*
 * The simulator's catalog as ground truth, shared by the integration tests
 * that sync against ebaysync-sim (test_sync.c, test_refresh.c): start the
 * simulator, run `ebaysync sync`, fetch GET /sim/catalog, and assert that
 * what a user's database holds equals it field by field. The expected values
 * are worked out here from the catalog JSON, independently of src/mapping.c.
 */
#ifndef CATALOG_CHECK_H
#define CATALOG_CHECK_H

#include <jansson.h>

#include "store.h"
#include "testutil.h"

#define CATALOG_TOKEN "test-token-1"
#define CATALOG_SKUS  "2000"

/* A simulator and the test databases (one a backend). */
struct catalog_env {
	struct testutil_proc sim;
	char *urls[2];
	const char *names[2];
	int n_backends;
};

/* Starts ebaysync-sim (seed 42, CATALOG_SKUS SKUs, CATALOG_TOKEN) with the
 * extra flags (NULL-terminated, or NULL). Returns 0 on success. */
int catalog_start_sim(struct catalog_env *e, const char *const extra[]);
/* Runs `ebaysync sync KIND` against the simulator; returns its exit code
 * (and prints the tail of its output when that is neither 0 nor 130). */
int catalog_run_sync(struct catalog_env *e, const char *db, const char *user, const char *kind,
		     const char *const extra[]);
/* The simulator's catalog as {sku: {"item":..., "offers":[...]}}; the
 * caller decrefs it. */
json_t *catalog_fetch(struct catalog_env *e);
/* The string at a dotted path of o, or NULL (borrowed from o). */
const char *catalog_str_at(json_t *o, const char *path);
/* The offer whose price and listing the inventory row shows: the first
 * PUBLISHED one, else the first (borrowed). */
json_t *catalog_lead_offer(json_t *offers);
/* The ebay_status the inventory row of a SKU with these offers must have. */
const char *catalog_expected_status(json_t *offers);
/* Asserts that an inventory row equals the catalog's entry want ({item,
 * offers}), with the offer-derived fields when with_offers. */
void catalog_check_item(const char *sku, json_t *want, json_t *row, int with_offers);
/* The rows as an object keyed by each row's key column (new reference). */
json_t *catalog_by_key(json_t *rows, const char *key);
/* Asserts that an offers row equals the catalog's offer want, field by field. */
void catalog_check_offer(const char *sku, json_t *want, json_t *row);
/* Asserts the store holds exactly the catalog for user: every item (with
 * offer-derived fields when with_offers) and every offer, nothing else, and
 * no SKU left in sync_failures. */
void catalog_assert_db_equals(const char *db, const char *user, json_t *cat, int with_offers);
/* The newest run of user (release it with run_row_release()). */
void catalog_newest_run(const char *db, const char *user, struct run_row *out);
/* 1 when the newest run of user logged a line containing text. */
int catalog_newest_run_logged(const char *db, const char *user, const char *text);

#endif
