/*
 * Step 2 of the offers sync: getOffers for every SKU the run collected
 * (sync_offers.c). Called by the driver (sync.c) and by the SKU sync
 * (sync_skus.c).
 */
#ifndef SYNC_OFFERS_H
#define SYNC_OFFERS_H

#include <jansson.h>

#include "error.h"

struct sync_run;

/* Step 2 of the offers sync: getOffers for every SKU in r->skus. Returns
 * ERR_OK (even with per-SKU failures, which are counted and recorded),
 * ERR_CANCELLED or the failure that ends the run. */
enum error sync_offers_step2(struct sync_run *r);

/*
 * Step 2 for some SKUs only: skus (an array of strings, each in r->seen;
 * borrowed), after the SKUs of r->skus that failed in earlier runs. Used by
 * the refresh (sync_refresh.c) for the SKUs its report cannot settle. It
 * neither reads nor moves the offers sync's resume position, and leaves
 * r->summary to the caller.
 */
enum error sync_offers_fetch(struct sync_run *r, json_t *skus);

#endif
