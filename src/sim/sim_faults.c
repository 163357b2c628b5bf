/*
 * Latency, rate limit, quota and fault choice of the simulator (see
 * sim_faults.h). The per-token buckets live in a small fixed table keyed
 * by a 64-bit hash of the token; when it fills up it is cleared, which only
 * hands every caller a full bucket again, so memory stays bounded whatever
 * tokens callers make up.
 */
#include "sim_faults.h"

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "random.h"
#include "xalloc.h"
#include "banned.h"

#define BUCKETS 4096 /* a power of two */
#define DAY_MS	SIM_LIMITER_DAY_MS

static const char *const fault_names[SIM_FAULT__COUNT] = {
    [SIM_FAULT_500] = "500",
    [SIM_FAULT_25025] = "25025",
    [SIM_FAULT_RESET] = "reset",
    [SIM_FAULT_TRUNCATE] = "truncate",
    [SIM_FAULT_MALFORMED] = "malformed",
    [SIM_FAULT_STALL] = "stall",
};

const char *sim_faults_name(enum sim_fault f)
{
	return f >= 0 && f < SIM_FAULT__COUNT ? fault_names[f] : "none";
}

static void rates_of(const struct sim_config *cfg, double r[SIM_FAULT__COUNT])
{
	r[SIM_FAULT_500] = cfg->fail_500;
	r[SIM_FAULT_25025] = cfg->fail_25025;
	r[SIM_FAULT_RESET] = cfg->fail_reset;
	r[SIM_FAULT_TRUNCATE] = cfg->fail_truncate;
	r[SIM_FAULT_MALFORMED] = cfg->fail_malformed;
	r[SIM_FAULT_STALL] = cfg->fail_stall;
}

enum sim_fault sim_faults_pick(const struct sim_config *cfg, double u)
{
	double r[SIM_FAULT__COUNT], sum = 0, acc = 0;
	int k;

	rates_of(cfg, r);
	for (k = 0; k < SIM_FAULT__COUNT; k++)
		sum += r[k];
	if (cfg->fault_rate > 0) {
		if (u >= cfg->fault_rate)
			return SIM_FAULT_NONE;
		u /= cfg->fault_rate; /* uniform in [0, 1) again */
		if (sum <= 0) {
			/* No kind chosen: every kind but the slow stall, evenly. */
			k = (int)(u * (SIM_FAULT__COUNT - 1));
			return k < SIM_FAULT__COUNT - 1 ? (enum sim_fault)k : SIM_FAULT_MALFORMED;
		}
		for (k = 0; k < SIM_FAULT__COUNT; k++) {
			acc += r[k] / sum;
			if (u < acc)
				return (enum sim_fault)k;
		}
		for (k = SIM_FAULT__COUNT - 1; k > 0 && r[k] <= 0; k--)
			;
		return (enum sim_fault)k; /* rounding left u just above the sum */
	}
	for (k = 0; k < SIM_FAULT__COUNT; k++) {
		acc += r[k];
		if (u < acc)
			return (enum sim_fault)k;
	}
	return SIM_FAULT_NONE;
}

long long sim_faults_latency(const struct sim_config *cfg, double u)
{
	return cfg->latency_ms + (long long)(u * (double)(cfg->jitter_ms + 1));
}

struct bucket {
	uint64_t key; /* 0: free */
	int started;
	double tokens;
	long long last_ms;
};

struct sim_limiter {
	pthread_mutex_t lock;
	struct bucket global;
	struct bucket *table; /* BUCKETS */
	size_t used;
	long long window_start_ms;
	long long window_calls;
};

struct sim_limiter *sim_limiter_new(void)
{
	struct sim_limiter *l = xcalloc(1, sizeof(*l));

	pthread_mutex_init(&l->lock, NULL);
	l->table = xcalloc(BUCKETS, sizeof(*l->table));
	l->window_start_ms = -1;
	return l;
}

void sim_limiter_free(struct sim_limiter *l)
{
	if (!l)
		return;
	pthread_mutex_destroy(&l->lock);
	free(l->table);
	free(l);
}

void sim_limiter_reset(struct sim_limiter *l, long long now_ms)
{
	pthread_mutex_lock(&l->lock);
	memset(&l->global, 0, sizeof(l->global));
	memset(l->table, 0, BUCKETS * sizeof(*l->table));
	l->used = 0;
	l->window_start_ms = now_ms;
	l->window_calls = 0;
	pthread_mutex_unlock(&l->lock);
}

static struct bucket *bucket_of(struct sim_limiter *l, const char *key)
{
	uint64_t h = 1469598103934665603ULL;
	size_t i;

	for (const char *p = key ? key : ""; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	h = random_mix(h) | 1; /* never 0, the free mark */
	for (i = h & (BUCKETS - 1);; i = (i + 1) & (BUCKETS - 1)) {
		if (l->table[i].key == h)
			return &l->table[i];
		if (!l->table[i].key)
			break;
	}
	if (l->used * 4 >= BUCKETS * 3) {
		memset(l->table, 0, BUCKETS * sizeof(*l->table));
		l->used = 0;
		i = h & (BUCKETS - 1);
	}
	l->used++;
	l->table[i].key = h;
	return &l->table[i];
}

/* Starts the quota window at the first call, and again a day later. */
static void roll_window(struct sim_limiter *l, long long now_ms)
{
	if (l->window_start_ms < 0 || now_ms - l->window_start_ms >= DAY_MS) {
		l->window_start_ms = now_ms;
		l->window_calls = 0;
	}
}

void sim_limiter_window(struct sim_limiter *l, long long now_ms, long long *calls,
			long long *reset_in_ms)
{
	pthread_mutex_lock(&l->lock);
	if (l->window_start_ms >= 0 && now_ms - l->window_start_ms >= DAY_MS) {
		l->window_start_ms = -1; /* the next call starts a new window */
		l->window_calls = 0;
	}
	*calls = l->window_calls;
	*reset_in_ms =
	    l->window_start_ms < 0 ? SIM_LIMITER_DAY_MS : l->window_start_ms + DAY_MS - now_ms;
	pthread_mutex_unlock(&l->lock);
}

enum sim_limit sim_limiter_take(struct sim_limiter *l, const struct sim_config *cfg,
				const char *key, long long now_ms, long long *retry_ms)
{
	enum sim_limit result = SIM_LIMIT_OK;
	struct bucket *b = NULL;

	*retry_ms = 0;
	pthread_mutex_lock(&l->lock);
	if (cfg->rps > 0) {
		double burst = cfg->burst > 0 ? cfg->burst : (cfg->rps > 1 ? cfg->rps : 1);

		b = cfg->rate_scope == SIM_RATE_TOKEN ? bucket_of(l, key) : &l->global;
		if (!b->started) {
			b->started = 1;
			b->tokens = burst; /* a new bucket starts full */
		} else if (now_ms > b->last_ms) {
			b->tokens += (double)(now_ms - b->last_ms) * cfg->rps / 1000.0;
		}
		if (b->tokens > burst)
			b->tokens = burst;
		b->last_ms = now_ms;
		if (b->tokens < 1.0) {
			*retry_ms = (long long)ceil((1.0 - b->tokens) * 1000.0 / cfg->rps);
			result = SIM_LIMIT_RATE;
			goto out;
		}
	}
	/* The day's calls are counted with or without a quota, for the
	 * Developer Analytics answers (sim_analytics.c). */
	roll_window(l, now_ms);
	if (cfg->daily_quota > 0 && l->window_calls >= cfg->daily_quota) {
		*retry_ms = l->window_start_ms + DAY_MS - now_ms;
		result = SIM_LIMIT_QUOTA;
		goto out;
	}
	l->window_calls++;
	if (b)
		b->tokens -= 1.0;
out:
	pthread_mutex_unlock(&l->lock);
	return result;
}
