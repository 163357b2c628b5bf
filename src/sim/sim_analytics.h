/*
 * eBay's Developer Analytics API as the simulator plays it: getRateLimits
 * (GET /developer/analytics/v1_beta/rate_limit/, an application token from
 * the client_credentials grant) and getUserRateLimits
 * (.../user_rate_limit/, a user token), shaped as the contract's
 * RateLimitsResponse and computed from the simulator's own counters: the
 * Inventory API's limit is --daily-quota (eBay's 2,000,000 when none is
 * set, then not enforced), remaining is the limit less the calls the quota
 * window took, reset is when that window ends. The simulator has one quota
 * pool for the Inventory and Feed APIs, and reports it as sell/inventory;
 * getUserRateLimits reports the same pool (its users share it). These
 * calls are not rate limited and not counted against the quota.
 */
#ifndef SIM_ANALYTICS_H
#define SIM_ANALYTICS_H

#include "sim.h"
#include "sim_reply.h"

#define SIM_ANALYTICS_BASE	"/developer/analytics/v1_beta"
#define SIM_ANALYTICS_APP_PATH	SIM_ANALYTICS_BASE "/rate_limit/"
#define SIM_ANALYTICS_USER_PATH SIM_ANALYTICS_BASE "/user_rate_limit/"
/* The limit reported without --daily-quota: eBay's Inventory API default. */
#define SIM_ANALYTICS_DEFAULT_LIMIT 2000000LL

/*
 * Answers getRateLimits (user 0) or getUserRateLimits (user 1): 400/401
 * for a missing or unknown token, 403 errorId 1100 for the wrong kind of
 * token, 204 when the api_context/api_name filters match nothing, else 200
 * with the rate limits. now_wall_ms dates the reset.
 */
void sim_analytics_serve(struct sim *s, const struct sim_config *cfg, int user,
			 const struct sim_request *rq, long long now_wall_ms,
			 struct sim_reply *out);

#endif
