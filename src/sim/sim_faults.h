/*
 * The simulator's bad days: latency, the rate limit (token buckets, global
 * or per access token) with a daily quota, and the choice of injected
 * faults. The choices are pure functions of the settings and a uniform
 * random draw, so they can be tested without a clock or a network; the
 * limiter takes the time as an argument for the same reason.
 */
#ifndef SIM_FAULTS_H
#define SIM_FAULTS_H

#include "sim_config.h"

enum sim_fault {
	SIM_FAULT_NONE = -1,
	SIM_FAULT_500,	     /* 500 errorId 25001 "A system error has occurred" */
	SIM_FAULT_25025,     /* 500 errorId 25025 concurrent access */
	SIM_FAULT_RESET,     /* the connection is reset, no answer */
	SIM_FAULT_TRUNCATE,  /* the body stops halfway and the connection closes */
	SIM_FAULT_MALFORMED, /* 200 with a body that is not JSON */
	SIM_FAULT_STALL,     /* the answer waits stall_ms */
	SIM_FAULT__COUNT
};

/* "500", "25025", "reset", "truncate", "malformed", "stall". */
const char *sim_faults_name(enum sim_fault f);

/*
 * The fault for one API call, given u uniform in [0, 1). With fault_rate
 * P > 0 a call has a fault with probability P, of a kind chosen in
 * proportion to the --fail-* rates (or evenly among all kinds but stall
 * when none is set). With P = 0 each kind k fires with its own rate.
 */
enum sim_fault sim_faults_pick(const struct sim_config *cfg, double u);

/* The delay before answering one call: latency_ms + u * jitter_ms. */
long long sim_faults_latency(const struct sim_config *cfg, double u);

enum sim_limit {
	SIM_LIMIT_OK,
	SIM_LIMIT_RATE,	 /* over the token bucket */
	SIM_LIMIT_QUOTA, /* over the daily quota */
};

struct sim_limiter;

struct sim_limiter *sim_limiter_new(void);
void sim_limiter_free(struct sim_limiter *l);
/* Forgets every bucket and restarts the quota window at now_ms. */
void sim_limiter_reset(struct sim_limiter *l, long long now_ms);

/*
 * Takes one call's worth from the bucket of key (the access token when
 * rate_scope is per token; ignored when global) and from the daily quota.
 * On SIM_LIMIT_RATE or SIM_LIMIT_QUOTA nothing is taken and *retry_ms says
 * when a call would pass.
 */
enum sim_limit sim_limiter_take(struct sim_limiter *l, const struct sim_config *cfg,
				const char *key, long long now_ms, long long *retry_ms);

/* The quota window's length: a day from its first call. */
#define SIM_LIMITER_DAY_MS (24LL * 3600 * 1000)

/*
 * The calls taken in the current quota window (counted whether or not a
 * daily quota is set; calls refused are not counted), and the time until
 * the window resets (a whole day when no call started one yet).
 */
void sim_limiter_window(struct sim_limiter *l, long long now_ms, long long *calls,
			long long *reset_in_ms);

#endif
