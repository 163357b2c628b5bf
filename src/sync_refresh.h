/*
 * The refresh (sync_refresh.c): keeping a mirror current for a few eBay
 * calls. It requests eBay's Active Inventory Report, walks the inventory
 * pages storing only the items that changed, compares every row of the
 * report with the stored offers, writes what the report settles, and calls
 * getOffers only for the SKUs it cannot settle. Called by the driver
 * (sync.c). docs/pipeline.md tells the rules.
 *
 * The comparison rules are plain functions, declared here for the unit
 * test (tests/unit/test_refresh.c).
 */
#ifndef SYNC_REFRESH_H
#define SYNC_REFRESH_H

#include <stddef.h>

#include "error.h"
#include "mapping.h"
#include "report.h"

struct sync_run;

/* The refresh run. Returns ERR_OK, ERR_CANCELLED or the failure (with
 * --report-only, the reason the report could not be had). */
enum error sync_refresh(struct sync_run *r);

/* 1 when the two item payloads (JSON texts: eBay's, and the stored one,
 * which PostgreSQL gives back reformatted) hold the same JSON value. */
int refresh_payload_same(const char *a, const char *b);

/* 1 when two decimal amounts are the same number ("25.0" and "25.00"),
 * 0 when not or when either is not a plain decimal. */
int refresh_amount_same(const char *a, const char *b);

enum refresh_verdict {
	REFRESH_SAME,  /* the stored offer says what the report says */
	REFRESH_WRITE, /* a fixed-price offer whose price, currency or quantity moved:
			  the report settles it (refresh_patch_offer) */
	REFRESH_FETCH, /* the report cannot settle it: getOffers */
};

/*
 * Judges one report row against the n stored offers of its SKU. The row
 * is matched to the offer with its listing id (*match gets its index, or -1
 * when there is none or more than one: a listing the mirror does not know,
 * REFRESH_FETCH). A matched offer that is not stored as live (PUBLISHED,
 * listing ACTIVE) was published or relisted since: REFRESH_FETCH. An
 * auction (the report shows its Buy It Now price, else its start price,
 * which only the stored payload holds) is REFRESH_SAME or REFRESH_FETCH. A
 * fixed-price offer is REFRESH_SAME or REFRESH_WRITE.
 */
enum refresh_verdict refresh_judge(const struct report_row *row, const struct offer_row *offers,
				   size_t n, long *match);

/* Sets the price, currency and available quantity of o (and of its
 * raw_payload, the offer as eBay sent it) to the report row's. */
void refresh_patch_offer(struct offer_row *o, const struct report_row *row);

#endif
