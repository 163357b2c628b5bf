/* Requests, replies and eBay error bodies of the simulator (see sim_reply.h). */
#include "sim_reply.h"

#include <stdlib.h>
#include <string.h>

#include "xalloc.h"
#include "banned.h"

void sim_reply_init(struct sim_reply *r)
{
	memset(r, 0, sizeof(*r));
	r->retry_after_s = -1;
	r->content_type = "application/json";
}

void sim_reply_release(struct sim_reply *r)
{
	free(r->body);
	free(r->location);
	free(r->disposition);
	if (r->stream_free)
		r->stream_free(r->stream_ctx);
	sim_reply_init(r);
}

void sim_reply_json(struct sim_reply *r, int status, json_t *body)
{
	free(r->body);
	r->status = status;
	r->content_type = "application/json";
	r->body = json_dumps(body, JSON_COMPACT);
	if (!r->body) {
		/* Only an invalid UTF-8 string can get here: a simulator bug. */
		r->status = 500;
		r->body = xstrdup("{\"errors\":[{\"errorId\":25001,\"domain\":\"API_INVENTORY\","
				  "\"category\":\"APPLICATION\",\"message\":\"A system error has "
				  "occurred.\"}]}");
	}
	r->len = strlen(r->body);
	json_decref(body);
}

void sim_reply_text(struct sim_reply *r, int status, const char *content_type, const char *text)
{
	free(r->body);
	r->status = status;
	r->content_type = content_type;
	r->body = xstrdup(text);
	r->len = strlen(text);
}

/* A JSON string of s, or a placeholder when s is not valid UTF-8 (a SKU
 * echoed from a request may not be). */
static json_t *text_json(const char *s)
{
	json_t *v = json_string(s ? s : "");

	return v ? v : json_string("(not valid UTF-8)");
}

json_t *sim_reply_error_json(long error_id, const char *domain, const char *category,
			     const char *message, const char *long_message, const char *param_name,
			     const char *param_value)
{
	json_t *err = json_object();

	json_object_set_new(err, "errorId", json_integer(error_id));
	json_object_set_new(err, "domain", json_string(domain));
	json_object_set_new(err, "category", json_string(category));
	json_object_set_new(err, "message", text_json(message));
	if (long_message)
		json_object_set_new(err, "longMessage", text_json(long_message));
	if (param_name) {
		json_t *p = json_object();

		json_object_set_new(p, "name", json_string(param_name));
		json_object_set_new(p, "value", text_json(param_value));
		json_object_set_new(err, "parameters", json_pack("[o]", p));
	}
	return json_pack("{s:[o]}", "errors", err);
}

void sim_reply_error(struct sim_reply *r, int status, long error_id, const char *domain,
		     const char *category, const char *message, const char *long_message,
		     const char *param_name, const char *param_value)
{
	sim_reply_json(r, status,
		       sim_reply_error_json(error_id, domain, category, message, long_message,
					    param_name, param_value));
	r->error_id = error_id;
}
