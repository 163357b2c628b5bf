/*
 * The inventory phase of the sync engine: walking getInventoryItems from the
 * first page to the last (sync_pages.c). Called by the driver (sync.c).
 */
#ifndef SYNC_PAGES_H
#define SYNC_PAGES_H

#include "error.h"

struct sync_run;

/*
 * Walks getInventoryItems from the first page to the last, adding every
 * distinct SKU to r->skus. With store_items set, maps each page and hands
 * it to the writer (the inventory sync); otherwise only collects SKUs (Step
 * 1 of the offers sync). Returns ERR_OK, ERR_CANCELLED or the failure.
 */
enum error sync_pages(struct sync_run *r, int store_items);

#endif
