/*
 * The SKU sync: the items of given SKUs by bulkGetInventoryItem, then their
 * offers (sync_skus.c). Called by the driver (sync.c).
 */
#ifndef SYNC_SKUS_H
#define SYNC_SKUS_H

#include "error.h"

struct sync_run;

/* The SKU sync: the items of r->wanted by bulkGetInventoryItem, then Step 2
 * of the offers sync for those found. Returns ERR_OK, ERR_CANCELLED or the
 * failure. */
enum error sync_skus(struct sync_run *r);

#endif
