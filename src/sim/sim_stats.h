/*
 * What the simulator has served, for GET /sim/stats: calls per endpoint and
 * HTTP status, the highest number of API calls in flight at once, 429s,
 * tokens issued and faults injected. Plain atomics: the hot path adds to
 * them without a lock. Control calls under /sim/ are not counted.
 */
#ifndef SIM_STATS_H
#define SIM_STATS_H

#include <jansson.h>

#include "sim_faults.h"

enum sim_endpoint {
	SIM_EP_GET_INVENTORY_ITEMS,
	SIM_EP_GET_INVENTORY_ITEM,
	SIM_EP_BULK_GET_INVENTORY_ITEM,
	SIM_EP_GET_OFFERS,
	SIM_EP_GET_OFFER,
	SIM_EP_FEED_CREATE_TASK, /* Feed API: createInventoryTask (sim_feed.h) */
	SIM_EP_FEED_GET_TASK,	 /* getInventoryTask */
	SIM_EP_FEED_DOWNLOAD,	 /* getResultFile */
	SIM_EP_API_OTHER,	 /* any other path under /sell/inventory/v1 */
	SIM_EP_ANALYTICS_APP,	 /* Developer Analytics: getRateLimits (sim_analytics.h) */
	SIM_EP_ANALYTICS_USER,	 /* getUserRateLimits */
	SIM_EP_TOKEN,
	SIM_EP_AUTHORIZE,
	SIM_EP_REVOKE,
	SIM_EP_CONTROL, /* /sim/...: not counted */
	SIM_EP_OTHER,
	SIM_EP__COUNT
};

/* Inventory and Feed API endpoints: authenticated, rate limited, faulty. */
#define SIM_EP_IS_API(ep) ((ep) <= SIM_EP_API_OTHER)

/* Statuses 0 (no answer: reset) to 599 are counted. */
#define SIM_STATS_STATUS_MAX 600

struct sim_stats {
	_Atomic long long calls[SIM_EP__COUNT][SIM_STATS_STATUS_MAX];
	_Atomic long long requests;
	_Atomic long long throttled;	  /* 429s served (rate limit and quota) */
	_Atomic long long quota_exceeded; /* 429s for the daily quota */
	_Atomic long long tokens_issued;  /* access tokens minted */
	_Atomic long long faults[SIM_FAULT__COUNT];
	_Atomic int inflight;
	_Atomic int max_concurrency;
};

/* Zeroes every counter but the calls in flight now. */
void sim_stats_reset(struct sim_stats *s);
/* One call of ep ended with status (0: no answer). */
void sim_stats_call(struct sim_stats *s, enum sim_endpoint ep, int status);
/* An API call starts (updates the highest concurrency) or ends. */
void sim_stats_enter(struct sim_stats *s);
void sim_stats_leave(struct sim_stats *s);

/* {"calls":{ep:{status:n}},"max_concurrency","inflight","throttled",
 * "quota_exceeded","tokens_issued","faults":{kind:n},"requests"} (new
 * reference). */
json_t *sim_stats_json(struct sim_stats *s);

#endif
