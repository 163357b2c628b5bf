/*
 * The API of API keys (see apikey.h and docs/api.md):
 *
 *   POST   /auth/keys       {"name", "scope"?, "expires_days"?}: 201 and the
 *                           key, shown this once
 *   GET    /auth/keys       the caller's keys (never a key or its hash)
 *   DELETE /auth/keys/{id}  revokes a key at once
 *
 * server.c lets only a logged-in caller (JWT or cookie) here, never a key.
 */
#include "api.h"

#include <stdlib.h>
#include <string.h>

#include "apikey.h"
#include "secret.h"
#include "store.h"
#include "timeutil.h"
#include "banned.h"

void api_keys_create(struct api *api, const struct api_req *req, struct api_res *res)
{
	json_error_t jerr;
	json_t *body = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr), *j;
	json_t *scope_v, *exp_v;
	struct buf why = BUF_INIT;
	struct apikey_row row;
	struct store *s = NULL;
	char *key = NULL;
	enum error err = ERR_OK;

	memset(&row, 0, sizeof(row));
	scope_v = json_object_get(body, "scope");
	exp_v = json_object_get(body, "expires_days");
	if (!json_is_object(body) || !json_is_string(json_object_get(body, "name")) ||
	    (scope_v && !json_is_string(scope_v)) || (exp_v && !json_is_integer(exp_v))) {
		api_res_error(res, 400, "bad_request",
			      "body must be {\"name\": string, \"scope\": \"read\"|\"sync\", "
			      "\"expires_days\": integer} (scope and expires_days optional)");
		goto out;
	}
	s = api_store_get(api, res);
	if (!s)
		goto out;
	err = apikey_create(s, req->user, json_string_value(json_object_get(body, "name")),
			    json_string_value(scope_v), exp_v ? json_integer_value(exp_v) : 0,
			    timeutil_wall_ms(), &key, &row, &why);
	if (err == ERR_INVALID) {
		api_res_error(res, 400, "bad_request", "%s", buf_str(&why));
		goto out;
	}
	if (err) {
		api_res_error(res, 500, "internal", "%s", buf_str(&why));
		goto out;
	}
	j = apikey_json(&row);
	json_object_set_new(j, "key", json_string(key));
	api_res_json(res, 201, j);
out:
	if (s)
		api_store_put(api, s, err);
	apikey_row_release(&row);
	secret_free(key);
	json_decref(body);
	buf_release(&why);
}

void api_keys_list(struct api *api, const struct api_req *req, struct api_res *res)
{
	struct apikey_row *rows = NULL;
	struct store *s = api_store_get(api, res);
	size_t n = 0, i;
	enum error err;
	json_t *arr;

	if (!s)
		return;
	err = store_apikey_list(s, req->user, &rows, &n);
	if (err) {
		api_db_error(res, s, err);
	} else {
		arr = json_array();
		for (i = 0; i < n; i++)
			json_array_append_new(arr, apikey_json(&rows[i]));
		api_res_json(res, 200, json_pack("{s:o}", "keys", arr));
	}
	for (i = 0; i < n; i++)
		apikey_row_release(&rows[i]);
	free(rows);
	api_store_put(api, s, err);
}

void api_keys_revoke(struct api *api, const struct api_req *req, struct api_res *res)
{
	struct store *s = api_store_get(api, res);
	enum error err;

	if (!s)
		return;
	err = store_apikey_revoke(s, req->user, req->param, timeutil_wall_ms());
	if (err == ERR_NOTFOUND)
		api_res_error(res, 404, "not_found", "no API key '%.64s'", req->param);
	else if (err)
		api_db_error(res, s, err);
	else
		api_res_json(res, 200,
			     json_pack("{s:s,s:s}", "id", req->param, "status", "revoked"));
	api_store_put(api, s, err);
}
