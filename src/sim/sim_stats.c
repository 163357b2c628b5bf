/* Counters of the simulator (see sim_stats.h). */
#include "sim_stats.h"

#include <stdatomic.h>
#include <stdio.h>

#include "banned.h"

static const char *const endpoint_names[SIM_EP__COUNT] = {
    [SIM_EP_GET_INVENTORY_ITEMS] = "getInventoryItems",
    [SIM_EP_GET_INVENTORY_ITEM] = "getInventoryItem",
    [SIM_EP_BULK_GET_INVENTORY_ITEM] = "bulkGetInventoryItem",
    [SIM_EP_GET_OFFERS] = "getOffers",
    [SIM_EP_GET_OFFER] = "getOffer",
    [SIM_EP_FEED_CREATE_TASK] = "createInventoryTask",
    [SIM_EP_FEED_GET_TASK] = "getInventoryTask",
    [SIM_EP_FEED_DOWNLOAD] = "getResultFile",
    [SIM_EP_API_OTHER] = "inventoryOther",
    [SIM_EP_ANALYTICS_APP] = "getRateLimits",
    [SIM_EP_ANALYTICS_USER] = "getUserRateLimits",
    [SIM_EP_TOKEN] = "token",
    [SIM_EP_AUTHORIZE] = "authorize",
    [SIM_EP_REVOKE] = "revoke",
    [SIM_EP_CONTROL] = "control",
    [SIM_EP_OTHER] = "other",
};

void sim_stats_reset(struct sim_stats *s)
{
	for (int e = 0; e < SIM_EP__COUNT; e++)
		for (int st = 0; st < SIM_STATS_STATUS_MAX; st++)
			atomic_store(&s->calls[e][st], 0);
	atomic_store(&s->requests, 0);
	atomic_store(&s->throttled, 0);
	atomic_store(&s->quota_exceeded, 0);
	atomic_store(&s->tokens_issued, 0);
	for (int f = 0; f < SIM_FAULT__COUNT; f++)
		atomic_store(&s->faults[f], 0);
	atomic_store(&s->max_concurrency, atomic_load(&s->inflight));
}

void sim_stats_call(struct sim_stats *s, enum sim_endpoint ep, int status)
{
	if (ep == SIM_EP_CONTROL)
		return;
	if (status < 0 || status >= SIM_STATS_STATUS_MAX)
		status = 0;
	atomic_fetch_add_explicit(&s->calls[ep][status], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->requests, 1, memory_order_relaxed);
}

void sim_stats_enter(struct sim_stats *s)
{
	int now = atomic_fetch_add(&s->inflight, 1) + 1;
	int max = atomic_load(&s->max_concurrency);

	while (now > max && !atomic_compare_exchange_weak(&s->max_concurrency, &max, now))
		;
}

void sim_stats_leave(struct sim_stats *s)
{
	atomic_fetch_sub(&s->inflight, 1);
}

json_t *sim_stats_json(struct sim_stats *s)
{
	json_t *root = json_object(), *calls = json_object(), *faults = json_object();

	for (int e = 0; e < SIM_EP__COUNT; e++) {
		json_t *by_status = NULL;
		for (int st = 0; st < SIM_STATS_STATUS_MAX; st++) {
			long long n = atomic_load(&s->calls[e][st]);
			char key[8];
			if (!n)
				continue;
			if (!by_status)
				by_status = json_object();
			snprintf(key, sizeof(key), "%d", st);
			json_object_set_new(by_status, key, json_integer(n));
		}
		if (by_status)
			json_object_set_new(calls, endpoint_names[e], by_status);
	}
	for (int f = 0; f < SIM_FAULT__COUNT; f++)
		json_object_set_new(faults, sim_faults_name((enum sim_fault)f),
				    json_integer(atomic_load(&s->faults[f])));
	json_object_set_new(root, "calls", calls);
	json_object_set_new(root, "requests", json_integer(atomic_load(&s->requests)));
	json_object_set_new(root, "max_concurrency",
			    json_integer(atomic_load(&s->max_concurrency)));
	json_object_set_new(root, "inflight", json_integer(atomic_load(&s->inflight)));
	json_object_set_new(root, "throttled", json_integer(atomic_load(&s->throttled)));
	json_object_set_new(root, "quota_exceeded", json_integer(atomic_load(&s->quota_exceeded)));
	json_object_set_new(root, "tokens_issued", json_integer(atomic_load(&s->tokens_issued)));
	json_object_set_new(root, "faults", faults);
	return root;
}
