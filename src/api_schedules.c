/*
 * The API of schedules (see scheduler.h and docs/schedules.md):
 *
 *   POST   /ebay/schedules        {"kind", "interval_s" | "times", "tz"?,
 *                                 "enabled"?}: 201 and the schedule
 *   GET    /ebay/schedules        the caller's schedules
 *   GET    /ebay/schedules/{id}   one of them
 *   PATCH  /ebay/schedules/{id}   any of the fields above
 *   DELETE /ebay/schedules/{id}
 *
 * times is a list of "HH:MM" strings (or one string "HH:MM,HH:MM") in the
 * IANA zone tz. A bad field is a 400 with code "invalid_schedule" and a
 * message that says what to send.
 */
#include "api.h"

#include <stdlib.h>
#include <string.h>

#include "jsonutil.h"
#include "schedule.h"
#include "scheduler.h"
#include "store.h"
#include "timeutil.h"
#include "xalloc.h"
#include "banned.h"

#define FIELD_MAX 256 /* bytes of a string field */

static json_t *str_or_null(const char *v)
{
	return v ? json_string(v) : json_null();
}

static json_t *schedule_json(const struct schedule_row *r)
{
	json_t *times = json_null();
	char *dup, *p, *save = NULL;

	if (r->times) {
		times = json_array();
		dup = xstrdup(r->times);
		for (p = strtok_r(dup, ",", &save); p; p = strtok_r(NULL, ",", &save))
			json_array_append_new(times, json_string(p));
		free(dup);
	}
	return json_pack(
	    "{s:s,s:s,s:o,s:o,s:s,s:b,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:I,s:o,s:o}", "id", r->id,
	    "kind", r->kind, "interval_s",
	    r->interval_s > 0 ? json_integer(r->interval_s) : json_null(), "times", times, "tz",
	    r->tz, "enabled", r->enabled, "next_due_at",
	    r->enabled && !r->paused_reason ? jsonutil_iso_or_null(r->next_due_ms) : json_null(),
	    "paused_reason", str_or_null(r->paused_reason), "last_run_id",
	    str_or_null(r->last_run_id), "last_result", str_or_null(r->last_result), "last_error",
	    str_or_null(r->last_error), "last_error_code", str_or_null(r->last_code), "last_run_at",
	    jsonutil_iso_or_null(r->last_run_ms), "failures", (json_int_t)r->failures, "created_at",
	    jsonutil_iso_or_null(r->created_ms), "updated_at", jsonutil_iso_or_null(r->updated_ms));
}

static void bad(struct api_res *res, const char *msg)
{
	api_res_error(res, 400, "invalid_schedule", "%s", msg);
}

/* The settings in body into *in (strings borrowed from body, times joined
 * into times_buf). create: kind and a cadence are required. Returns 0, or
 * -1 after a 400 in res. */
static int settings_from(json_t *body, int create, struct schedule_settings *in,
			 struct buf *times_buf, struct api_res *res)
{
	static const char *const known[] = {"kind", "interval_s", "times", "tz", "enabled"};
	json_t *kind = json_object_get(body, "kind"), *iv = json_object_get(body, "interval_s");
	json_t *times = json_object_get(body, "times"), *tz = json_object_get(body, "tz");
	json_t *enabled = json_object_get(body, "enabled"), *v;
	const char *key;
	size_t i, k;

	in->kind = NULL;
	in->interval_s = -1;
	in->times = NULL;
	in->tz = NULL;
	in->enabled = create ? 1 : -1;
	json_object_foreach(body, key, v)
	{
		for (k = 0; k < sizeof(known) / sizeof(known[0]) && strcmp(key, known[k]); k++)
			;
		if (k == sizeof(known) / sizeof(known[0])) {
			api_res_error(res, 400, "invalid_schedule",
				      "unknown field '%.40s': a schedule has kind, interval_s, "
				      "times, tz and enabled",
				      key);
			return -1;
		}
	}
	if (kind && (!json_is_string(kind) || json_string_length(kind) > 32))
		return bad(res, "kind must be one of inventory, offers, all, refresh"), -1;
	if (iv && iv != json_null() &&
	    (!json_is_integer(iv) || json_integer_value(iv) < 1 ||
	     json_integer_value(iv) > SCHEDULE_INTERVAL_MAX_S))
		return bad(res, "interval_s must be a whole number of seconds"), -1;
	if (tz && (!json_is_string(tz) || json_string_length(tz) > FIELD_MAX))
		return bad(res, "tz must be an IANA time zone name, e.g. \"Europe/Berlin\""), -1;
	if (enabled && !json_is_boolean(enabled))
		return bad(res, "enabled must be true or false"), -1;
	if (times && json_is_string(times) && json_string_length(times) <= FIELD_MAX) {
		buf_adds(times_buf, json_string_value(times));
	} else if (json_is_array(times) && json_array_size(times) >= 1 &&
		   json_array_size(times) <= SCHEDULE_TIMES_MAX) {
		json_array_foreach(times, i, v)
		{
			if (!json_is_string(v) || json_string_length(v) > 8 ||
			    strchr(json_string_value(v), ','))
				return bad(res, "times must be a list of \"HH:MM\" strings"), -1;
			buf_addf(times_buf, "%s%s", i ? "," : "", json_string_value(v));
		}
	} else if (times && times != json_null()) {
		return bad(res, "times must be a list of 1 to 24 \"HH:MM\" strings"), -1;
	}
	if (create && !kind)
		return bad(res, "kind is required: inventory, offers, all or refresh"), -1;
	if (create && !json_is_integer(iv) && !times_buf->len)
		return bad(res, "give interval_s (seconds) or times ([\"HH:MM\", ...])"), -1;
	in->kind = kind ? json_string_value(kind) : NULL;
	if (json_is_integer(iv))
		in->interval_s = json_integer_value(iv);
	in->times = times_buf->len ? buf_str(times_buf) : NULL;
	in->tz = tz ? json_string_value(tz) : NULL;
	if (enabled)
		in->enabled = json_is_true(enabled);
	return 0;
}

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

/* The answer to a failed scheduler_add or scheduler_change. */
static void change_error(struct api_res *res, struct store *s, enum error err,
			 const struct buf *why)
{
	if (err == ERR_INVALID)
		bad(res, buf_str(why));
	else
		api_db_error(res, s, err);
}

static void save(struct api *api, const struct api_req *req, struct api_res *res, int create)
{
	json_t *body = body_object(req, res);
	struct buf times = BUF_INIT, why = BUF_INIT;
	struct schedule_settings in;
	struct schedule_row row;
	struct store *s = NULL;
	enum error err = ERR_OK;

	memset(&row, 0, sizeof(row));
	if (!body || settings_from(body, create, &in, &times, res))
		goto out;
	s = api_store_get(api, res);
	if (!s)
		goto out;
	err = create ? scheduler_add(s, req->user, &in, api->schedule_min_s, timeutil_wall_ms(),
				     &row, &why)
		     : scheduler_change(s, req->user, req->param, &in, api->schedule_min_s,
					timeutil_wall_ms(), &row, &why);
	if (err)
		change_error(res, s, err, &why);
	else
		api_res_json(res, create ? 201 : 200, schedule_json(&row));
out:
	if (s)
		api_store_put(api, s, err);
	schedule_row_release(&row);
	json_decref(body);
	buf_release(&times);
	buf_release(&why);
}

void api_schedules_create(struct api *api, const struct api_req *req, struct api_res *res)
{
	save(api, req, res, 1);
}

void api_schedules_update(struct api *api, const struct api_req *req, struct api_res *res)
{
	save(api, req, res, 0);
}

void api_schedules_list(struct api *api, const struct api_req *req, struct api_res *res)
{
	struct store *s = api_store_get(api, res);
	struct schedule_row *rows = NULL;
	size_t n = 0, i;
	enum error err;
	json_t *arr;

	if (!s)
		return;
	err = store_schedule_list(s, req->user, &rows, &n);
	if (err) {
		api_db_error(res, s, err);
	} else {
		arr = json_array();
		for (i = 0; i < n; i++)
			json_array_append_new(arr, schedule_json(&rows[i]));
		api_res_json(res, 200, json_pack("{s:o}", "schedules", arr));
	}
	for (i = 0; i < n; i++)
		schedule_row_release(&rows[i]);
	free(rows);
	api_store_put(api, s, err);
}

void api_schedules_get(struct api *api, const struct api_req *req, struct api_res *res)
{
	struct store *s = api_store_get(api, res);
	struct schedule_row row;
	enum error err;

	if (!s)
		return;
	err = store_schedule_get(s, req->user, req->param, &row);
	if (err)
		api_db_error(res, s, err);
	else
		api_res_json(res, 200, schedule_json(&row));
	schedule_row_release(&row);
	api_store_put(api, s, err);
}

void api_schedules_delete(struct api *api, const struct api_req *req, struct api_res *res)
{
	struct store *s = api_store_get(api, res);
	enum error err;

	if (!s)
		return;
	err = store_schedule_delete(s, req->user, req->param);
	if (err)
		api_db_error(res, s, err);
	else
		api_res_json(res, 200,
			     json_pack("{s:s,s:s}", "id", req->param, "status", "deleted"));
	api_store_put(api, s, err);
}
