/*
 * The API of eBay's daily quota (see quota.h and docs/quota.md):
 *
 *   GET /ebay/quota  today's eBay calls of the install (by API), the
 *                    Inventory API's limit, what is left and when it
 *                    resets (eBay's figures where Developer Analytics
 *                    answers, else the configured quota minus the ledger),
 *                    and the caller's own calls and share weight
 *
 * and the quota's lines of /metrics.
 */
#include "api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger.h"
#include "quota.h"
#include "store.h"
#include "storepool.h"
#include "timeutil.h"
#include "banned.h"

/* Today's ledger counts summed by API, as a JSON object (new reference),
 * or NULL with the error answered. */
static json_t *by_api(struct api *api, struct api_res *res, long long now)
{
	struct quota_count *rows = NULL;
	struct store *s = api_store_get(api, res);
	json_t *apis;
	char day[11];
	size_t n = 0;
	enum error err;

	if (!s)
		return NULL;
	ledger_day(now, day);
	err = store_quota_day(s, day, &rows, &n);
	if (err) {
		api_db_error(res, s, err);
		api_store_put(api, s, err);
		return NULL;
	}
	api_store_put(api, s, err);
	apis = json_object();
	for (size_t i = 0; i < n; i++) {
		json_t *v = json_object_get(apis, rows[i].api);
		json_object_set_new(apis, rows[i].api,
				    json_integer((v ? json_integer_value(v) : 0) + rows[i].calls));
	}
	free(rows);
	return apis;
}

void api_quota_get(struct api *api, const struct api_req *req, struct api_res *res)
{
	struct quota_status st;
	struct buf why = BUF_INIT;
	long long now = timeutil_wall_ms();
	char day[11], reset[40];
	json_t *apis, *j;

	if (!api->quota) {
		api_res_error(res, 404, "not_found", "this server does not keep the eBay quota");
		goto out;
	}
	if (quota_status(api->quota, req->user, now, &st, &why)) {
		api_res_error(res, 503, "database_unavailable", "%s", buf_str(&why));
		goto out;
	}
	apis = by_api(api, res, now);
	if (!apis)
		goto out;
	ledger_day(now, day);
	timeutil_iso(st.reset_ms, reset, sizeof(reset));
	j = json_pack("{s:s, s:s, s:I, s:I, s:I, s:s, s:s, s:o, s:{s:s, s:I, s:f}}", "day", day,
		      "api", LEDGER_API_INVENTORY, "limit", (json_int_t)st.limit, "used",
		      (json_int_t)st.used, "remaining", (json_int_t)st.remaining, "reset", reset,
		      "source", st.from_ebay ? "ebay" : "ledger", "calls_by_api", apis, "user",
		      "id", req->user, "used", (json_int_t)st.user_used, "weight", st.user_weight);
	if (st.source_why[0])
		json_object_set_new(j, "source_note", json_string(st.source_why));
	api_res_json(res, 200, j);
out:
	buf_release(&why);
}
