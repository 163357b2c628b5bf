/*
 * The Developer Analytics API of the simulator (see sim_analytics.h).
 */
#include "sim_analytics.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "sim_oauth.h"
#include "banned.h"

/* "YYYY-MM-DDTHH:MM:SS.SSSZ", the contract's format. */
static void iso_time(long long wall_ms, char *out, size_t size)
{
	time_t t = (time_t)(wall_ms / 1000);
	struct tm tm;
	char base[32];

	gmtime_r(&t, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, size, "%s.%03lldZ", base, wall_ms % 1000);
}

/* A filter value matches when absent or equal, case aside. */
static int matches(const char *filter, const char *value)
{
	return !filter || !strcasecmp(filter, value);
}

void sim_analytics_serve(struct sim *s, const struct sim_config *cfg, int user,
			 const struct sim_request *rq, long long now_wall_ms, struct sim_reply *out)
{
	const char *ctx = rq->arg(rq->arg_ctx, "api_context");
	const char *name = rq->arg(rq->arg_ctx, "api_name");
	long long calls, reset_in, limit, remaining;
	enum sim_token_kind kind;
	char reset[40];
	json_t *rate, *resource, *api, *root;

	if (!sim_oauth_bearer(rq->authorization)) {
		sim_reply_error(out, 400, 1002, "OAuth", "REQUEST", "Missing access token",
				"Access token is missing in the Authorization HTTP request header.",
				NULL, NULL);
		return;
	}
	kind = sim_oauth_kind(s->oauth, cfg, rq->authorization, rq->now_ms);
	if (kind == SIM_TOKEN_NONE) {
		sim_reply_error(out, 401, 1001, "OAuth", "REQUEST", "Invalid access token",
				"Invalid access token. Check the value of the Authorization HTTP "
				"request header.",
				NULL, NULL);
		return;
	}
	if (kind != (user ? SIM_TOKEN_USER : SIM_TOKEN_APP)) {
		sim_reply_error(out, 403, 1100, "ACCESS", "REQUEST",
				"Insufficient permissions to fulfill the request.",
				user ? "getUserRateLimits needs a user access token."
				     : "getRateLimits needs an application access token "
				       "(client credentials grant).",
				NULL, NULL);
		return;
	}
	if (!matches(ctx, "sell") || !matches(name, "inventory")) {
		sim_reply_text(out, 204, "application/json", "");
		return;
	}
	sim_limiter_window(s->limiter, rq->now_ms, &calls, &reset_in);
	limit = cfg->daily_quota > 0 ? cfg->daily_quota : SIM_ANALYTICS_DEFAULT_LIMIT;
	/* The contract's counts are int32. */
	if (limit > 2147483647LL)
		limit = 2147483647LL;
	remaining = limit > calls ? limit - calls : 0;
	iso_time(now_wall_ms + reset_in, reset, sizeof(reset));
	rate = json_pack("{s:I, s:I, s:s, s:I}", "limit", (json_int_t)limit, "remaining",
			 (json_int_t)remaining, "reset", reset, "timeWindow",
			 (json_int_t)(SIM_LIMITER_DAY_MS / 1000));
	resource = json_pack("{s:s, s:[o]}", "name", "sell.inventory", "rates", rate);
	api = json_pack("{s:s, s:s, s:s, s:[o]}", "apiContext", "sell", "apiName", "inventory",
			"apiVersion", "v1", "resources", resource);
	root = json_pack("{s:[o]}", "rateLimits", api);
	sim_reply_json(out, 200, root);
}
