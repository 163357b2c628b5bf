/*
 * The API of webhooks (see webhook.h and docs/api.md):
 *
 *   POST   /ebay/webhooks          {"url", "events"?, "enabled"?}: 201 and the
 *                                  signing secret, shown this once
 *   GET    /ebay/webhooks          the caller's endpoints (never a secret)
 *   PATCH  /ebay/webhooks/{id}     {"enabled": bool}
 *   DELETE /ebay/webhooks/{id}     the endpoint and its deliveries
 *   GET    /ebay/webhooks/deliveries?webhook_id=&limit=
 *   POST   /ebay/webhooks/deliveries/{id}/redeliver
 */
#include "api.h"

#include <stdlib.h>
#include <string.h>

#include "secret.h"
#include "store.h"
#include "timeutil.h"
#include "webhook.h"
#include "banned.h"

#define EVENTS_MAX 8

static json_t *body_object(const struct api_req *req, struct api_res *res)
{
	json_error_t jerr;
	json_t *j = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);

	if (!json_is_object(j)) {
		api_res_error(res, 400, "bad_request", "the body must be a JSON object%s%s",
			      j ? "" : ": ", j ? "" : jerr.text);
		json_decref(j);
		return NULL;
	}
	return j;
}

/* "a,b" from ["a", "b"] into out; -1 with a 400 in res. */
static int events_list(json_t *v, struct api_res *res, struct buf *out)
{
	json_t *e;
	size_t i;

	if (!v) {
		buf_adds(out, WEBHOOK_EVENT_RUN_FINISHED);
		return 0;
	}
	if (!json_is_array(v) || json_array_size(v) == 0 || json_array_size(v) > EVENTS_MAX)
		goto bad;
	json_array_foreach(v, i, e)
	{
		if (!json_is_string(e) || strchr(json_string_value(e), ','))
			goto bad;
		buf_addf(out, "%s%s", i ? "," : "", json_string_value(e));
	}
	return 0;
bad:
	api_res_error(
	    res, 400, "bad_request",
	    "\"events\" must be a list of event names, e.g. [\"" WEBHOOK_EVENT_RUN_FINISHED "\"]");
	return -1;
}

void api_webhooks_create(struct api *api, const struct api_req *req, struct api_res *res)
{
	json_t *body = body_object(req, res), *enabled, *j;
	struct buf events = BUF_INIT, why = BUF_INIT;
	struct webhook_row row;
	struct store *s = NULL;
	char *secret = NULL;
	enum error err = ERR_OK;

	memset(&row, 0, sizeof(row));
	if (!body)
		return;
	enabled = json_object_get(body, "enabled");
	if (!json_is_string(json_object_get(body, "url")) ||
	    (enabled && !json_is_boolean(enabled))) {
		api_res_error(res, 400, "bad_request",
			      "body must be {\"url\": string, \"events\": [string], \"enabled\": "
			      "bool} (events and enabled optional)");
		goto out;
	}
	if (events_list(json_object_get(body, "events"), res, &events))
		goto out;
	s = api_store_get(api, res);
	if (!s)
		goto out;
	err = webhook_create(s, api->key, req->user,
			     json_string_value(json_object_get(body, "url")), buf_str(&events),
			     api->allow_private_webhooks, timeutil_wall_ms(), &row, &secret, &why);
	if (!err && enabled && !json_is_true(enabled)) {
		err = store_webhook_set_enabled(s, req->user, row.id, 0);
		row.enabled = 0;
	}
	if (err == ERR_INVALID) {
		api_res_error(res, 400, "bad_request", "%s", buf_str(&why));
	} else if (err) {
		api_res_error(res, 500, "internal", "%s",
			      why.len ? buf_str(&why) : store_errmsg(s));
	} else {
		j = webhook_json(&row);
		json_object_set_new(j, "secret", json_string(secret));
		api_res_json(res, 201, j);
	}
out:
	if (s)
		api_store_put(api, s, err);
	webhook_row_release(&row);
	secret_free(secret);
	json_decref(body);
	buf_release(&events);
	buf_release(&why);
}

/* The caller's endpoints as JSON; only (when id is given) the one with id,
 * NULL when there is none. */
static json_t *hooks_json(struct store *s, const char *user, const char *id, enum error *err)
{
	struct webhook_row *rows = NULL;
	size_t n = 0, i;
	json_t *arr = NULL;

	*err = store_webhook_list(s, user, &rows, &n);
	if (!*err)
		arr = json_array();
	for (i = 0; i < n; i++) {
		if (!id || !strcmp(rows[i].id, id))
			json_array_append_new(arr, webhook_json(&rows[i]));
		webhook_row_release(&rows[i]);
	}
	free(rows);
	return arr;
}

void api_webhooks_list(struct api *api, const struct api_req *req, struct api_res *res)
{
	struct store *s = api_store_get(api, res);
	enum error err;
	json_t *arr;

	if (!s)
		return;
	arr = hooks_json(s, req->user, NULL, &err);
	if (err)
		api_db_error(res, s, err);
	else
		api_res_json(res, 200, json_pack("{s:o}", "webhooks", arr));
	api_store_put(api, s, err);
}

void api_webhooks_update(struct api *api, const struct api_req *req, struct api_res *res)
{
	json_t *body = body_object(req, res), *arr;
	struct store *s = NULL;
	enum error err = ERR_OK;

	if (!body)
		return;
	if (!json_is_boolean(json_object_get(body, "enabled"))) {
		api_res_error(res, 400, "bad_request", "body must be {\"enabled\": true|false}");
		goto out;
	}
	s = api_store_get(api, res);
	if (!s)
		goto out;
	err = store_webhook_set_enabled(s, req->user, req->param,
					json_is_true(json_object_get(body, "enabled")));
	arr = err ? NULL : hooks_json(s, req->user, req->param, &err);
	if (err)
		api_db_error(res, s, err);
	else
		api_res_json(res, 200, json_incref(json_array_get(arr, 0)));
	json_decref(arr);
out:
	if (s)
		api_store_put(api, s, err);
	json_decref(body);
}

void api_webhooks_delete(struct api *api, const struct api_req *req, struct api_res *res)
{
	struct store *s = api_store_get(api, res);
	enum error err;

	if (!s)
		return;
	err = store_webhook_delete(s, req->user, req->param);
	if (err)
		api_db_error(res, s, err);
	else
		api_res_json(res, 200,
			     json_pack("{s:s,s:s}", "id", req->param, "status", "deleted"));
	api_store_put(api, s, err);
}

void api_webhooks_deliveries(struct api *api, const struct api_req *req, struct api_res *res)
{
	const char *hook = request_param(req->target, "webhook_id");
	struct delivery_row *rows = NULL;
	struct buf why = BUF_INIT;
	long long limit;
	size_t n = 0, i;
	struct store *s;
	enum error err;
	json_t *arr;

	if (request_param_int(req->target, "limit", 50, 1, 500, &limit, &why)) {
		api_res_error(res, 400, "bad_request", "%s", buf_str(&why));
		buf_release(&why);
		return;
	}
	s = api_store_get(api, res);
	if (!s)
		return;
	err = store_delivery_list(s, req->user, hook && *hook ? hook : NULL, limit, &rows, &n);
	if (err) {
		api_db_error(res, s, err);
	} else {
		arr = json_array();
		for (i = 0; i < n; i++)
			json_array_append_new(arr, webhook_delivery_json(&rows[i]));
		api_res_json(res, 200, json_pack("{s:o}", "deliveries", arr));
	}
	for (i = 0; i < n; i++)
		delivery_row_release(&rows[i]);
	free(rows);
	api_store_put(api, s, err);
}

void api_webhooks_redeliver(struct api *api, const struct api_req *req, struct api_res *res)
{
	struct store *s = api_store_get(api, res);
	enum error err;

	if (!s)
		return;
	err = store_delivery_redeliver(s, req->user, req->param, timeutil_wall_ms());
	if (err)
		api_db_error(res, s, err);
	else
		api_res_json(res, 202,
			     json_pack("{s:s,s:s}", "id", req->param, "status", "pending"));
	api_store_put(api, s, err);
}
