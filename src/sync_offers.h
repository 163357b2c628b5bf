/*
 * Step 2 of the offers sync: getOffers for every SKU the run collected
 * (sync_offers.c). Called by the driver (sync.c) and by the SKU sync
 * (sync_skus.c).
 */
#ifndef SYNC_OFFERS_H
#define SYNC_OFFERS_H

#include "error.h"

struct sync_run;

/* Step 2 of the offers sync: getOffers for every SKU in r->skus. Returns
 * ERR_OK (even with per-SKU failures, which are counted and recorded),
 * ERR_CANCELLED or the failure that ends the run. */
enum error sync_offers_step2(struct sync_run *r);

#endif
