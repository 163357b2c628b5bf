/*
 * Process-wide counters for /metrics (Prometheus text format). Cheap enough
 * for hot paths: atomics, and a small fixed table for eBay calls by endpoint
 * and status. Run counts by status come from the store, not from here.
 */
#ifndef METRICS_H
#define METRICS_H

#include "buf.h"

enum metric {
	METRIC_EBAY_RETRIES,	/* retries scheduled after a failed attempt */
	METRIC_EBAY_THROTTLED,	/* 429 answers received */
	METRIC_TOKEN_REFRESHES, /* access tokens minted from a refresh token */
	METRIC_ITEMS_STORED,	/* inventory rows written */
	METRIC_OFFERS_STORED,	/* offer rows written */
	METRIC_SSE_CLIENTS,	/* a gauge: open event streams */
	METRIC_HTTP_REQUESTS,	/* requests served by ebaysync serve */
	METRIC__COUNT
};

void metrics_add(enum metric m, long long n);
long long metrics_get(enum metric m);
/* One eBay call finished: endpoint is "getInventoryItems", "getOffers",
 * "token" ...; status is the HTTP status or 0 for transport errors. */
void metrics_ebay_call(const char *endpoint, long status);
/* Appends every counter in Prometheus text format. */
void metrics_render(struct buf *out);

#endif
