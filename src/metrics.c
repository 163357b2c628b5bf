/* Process-wide counters (see metrics.h). */
#include "metrics.h"

#include <pthread.h>
#include <stdio.h>
#include <stdatomic.h>
#include <string.h>

#include "banned.h"

#define MAX_CALL_SERIES 64

static _Atomic long long counters[METRIC__COUNT];

static struct {
	char endpoint[32];
	long status;
	long long count;
} calls[MAX_CALL_SERIES];
static size_t n_calls;
static pthread_mutex_t calls_lock = PTHREAD_MUTEX_INITIALIZER;

static const struct {
	const char *name, *help, *type;
} info[METRIC__COUNT] = {
    [METRIC_EBAY_RETRIES] = {"ebaysync_ebay_retries_total", "eBay requests retried", "counter"},
    [METRIC_EBAY_THROTTLED] = {"ebaysync_ebay_throttled_total", "429 answers from eBay", "counter"},
    [METRIC_TOKEN_REFRESHES] = {"ebaysync_token_refreshes_total",
				"access tokens minted from refresh tokens", "counter"},
    [METRIC_ITEMS_STORED] = {"ebaysync_items_stored_total", "inventory rows written", "counter"},
    [METRIC_OFFERS_STORED] = {"ebaysync_offers_stored_total", "offer rows written", "counter"},
    [METRIC_SSE_CLIENTS] = {"ebaysync_sse_clients", "open event streams", "gauge"},
    [METRIC_HTTP_REQUESTS] = {"ebaysync_http_requests_total", "API requests served", "counter"},
};

void metrics_add(enum metric m, long long n)
{
	atomic_fetch_add(&counters[m], n);
}

long long metrics_get(enum metric m)
{
	return atomic_load(&counters[m]);
}

void metrics_ebay_call(const char *endpoint, long status)
{
	size_t i;

	pthread_mutex_lock(&calls_lock);
	for (i = 0; i < n_calls; i++)
		if (calls[i].status == status && !strcmp(calls[i].endpoint, endpoint))
			break;
	if (i == n_calls && n_calls < MAX_CALL_SERIES) {
		snprintf(calls[i].endpoint, sizeof(calls[i].endpoint), "%s", endpoint);
		calls[i].status = status;
		n_calls++;
	}
	if (i < n_calls)
		calls[i].count++;
	pthread_mutex_unlock(&calls_lock);
}

void metrics_render(struct buf *out)
{
	size_t i;

	for (i = 0; i < METRIC__COUNT; i++)
		buf_addf(out, "# HELP %s %s\n# TYPE %s %s\n%s %lld\n", info[i].name, info[i].help,
			 info[i].name, info[i].type, info[i].name, metrics_get(i));
	buf_adds(out, "# HELP ebaysync_ebay_calls_total eBay API calls by endpoint and status\n"
		      "# TYPE ebaysync_ebay_calls_total counter\n");
	pthread_mutex_lock(&calls_lock);
	for (i = 0; i < n_calls; i++)
		buf_addf(out, "ebaysync_ebay_calls_total{endpoint=\"%s\",status=\"%ld\"} %lld\n",
			 calls[i].endpoint, calls[i].status, calls[i].count);
	pthread_mutex_unlock(&calls_lock);
}
