/*
 * The Inventory API of the simulator (see sim_api.h). Paged answers follow
 * the contract's InventoryItems and Offers shapes; the offset counts records
 * or pages as cfg->offset_mode says, and next/prev are absolute URLs on the
 * host the client called, present only when there is such a page. Error
 * bodies and errorIds are eBay's (EBAY-API-NOTES.md and the contract's
 * x-response-codes).
 */
#include "sim_api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "encoding.h"
#include "sim_analytics.h"
#include "timeutil.h"
#include "xalloc.h"
#include "banned.h"

#define INV	   "API_INVENTORY"
#define ITEMS_PATH SIM_API_BASE "/inventory_item"
#define OFFER_PATH SIM_API_BASE "/offer"
#define BULK_PATH  SIM_API_BASE "/bulk_get_inventory_item"
#define MAX_LIMIT  200
#define MAX_OFFSET 1000000000000LL
#define BULK_MAX   25

static const char *const marketplaces[] = {
    "EBAY_US", "EBAY_GB", "EBAY_DE", "EBAY_AU", "EBAY_CA", "EBAY_FR", "EBAY_IT",     "EBAY_ES",
    "EBAY_AT", "EBAY_BE", "EBAY_CH", "EBAY_IE", "EBAY_NL", "EBAY_PL", "EBAY_MOTORS", NULL,
};

enum sim_endpoint sim_api_route(const char *method, const char *path, int *allowed)
{
	int get = !strcmp(method, "GET"), post = !strcmp(method, "POST");
	enum sim_endpoint ep = SIM_EP_OTHER;
	int ok = 0;

	if (!strcmp(path, ITEMS_PATH)) {
		ep = SIM_EP_GET_INVENTORY_ITEMS;
		ok = get;
	} else if (!strncmp(path, ITEMS_PATH "/", strlen(ITEMS_PATH) + 1)) {
		ep = SIM_EP_GET_INVENTORY_ITEM;
		ok = get;
	} else if (!strcmp(path, BULK_PATH)) {
		ep = SIM_EP_BULK_GET_INVENTORY_ITEM;
		ok = post;
	} else if (!strcmp(path, OFFER_PATH)) {
		ep = SIM_EP_GET_OFFERS;
		ok = get;
	} else if (!strncmp(path, OFFER_PATH "/", strlen(OFFER_PATH) + 1)) {
		ep = SIM_EP_GET_OFFER;
		ok = get;
	} else if (sim_feed_route(method, path, &ep, &ok)) {
		/* the Feed API (sim_feed.c) */
	} else if (!strncmp(path, SIM_API_BASE "/", strlen(SIM_API_BASE) + 1)) {
		ep = SIM_EP_API_OTHER;
		ok = 1;
	} else if (!strcmp(path, SIM_ANALYTICS_APP_PATH)) {
		ep = SIM_EP_ANALYTICS_APP;
		ok = get;
	} else if (!strcmp(path, SIM_ANALYTICS_USER_PATH)) {
		ep = SIM_EP_ANALYTICS_USER;
		ok = get;
	} else if (!strcmp(path, "/identity/v1/oauth2/token")) {
		ep = SIM_EP_TOKEN;
		ok = post;
	} else if (!strcmp(path, "/oauth2/authorize")) {
		ep = SIM_EP_AUTHORIZE;
		ok = get || post;
	} else if (!strcmp(path, "/sim/revoke")) {
		ep = SIM_EP_REVOKE;
		ok = post;
	} else if (!strncmp(path, "/sim/", 5)) {
		ep = SIM_EP_CONTROL;
		ok = 1; /* sim_control.c checks its own methods */
	} else {
		ok = 1;
	}
	*allowed = ok;
	return ep;
}

enum sim_api_gate sim_api_gate(struct sim *s, const struct sim_config *cfg,
			       const struct sim_request *rq, struct sim_reply *out)
{
	long long retry_ms;
	enum sim_limit lim;

	switch (sim_oauth_check(s->oauth, cfg, rq->authorization, rq->now_ms)) {
	case SIM_AUTH_OK:
		break;
	case SIM_AUTH_MISSING:
		sim_reply_error(out, 400, 1002, "OAuth", "REQUEST", "Missing access token",
				"Access token is missing in the Authorization HTTP request header.",
				NULL, NULL);
		return SIM_API_GATE_AUTH;
	case SIM_AUTH_INVALID:
		sim_reply_error(out, 401, 1001, "OAuth", "REQUEST", "Invalid access token",
				"Invalid access token. Check the value of the Authorization HTTP "
				"request header.",
				NULL, NULL);
		return SIM_API_GATE_AUTH;
	}
	lim = sim_limiter_take(s->limiter, cfg, sim_oauth_bearer(rq->authorization), rq->now_ms,
			       &retry_ms);
	if (lim == SIM_LIMIT_OK)
		return SIM_API_GATE_OK;
	if (lim == SIM_LIMIT_RATE) {
		sim_reply_error(out, 429, 2001, "ACCESS", "REQUEST", "Too many requests",
				"The request limit has been reached for the resource.", NULL, NULL);
	} else {
		char msg[128];
		snprintf(msg, sizeof(msg),
			 "The daily call limit of %lld has been reached for the resource.",
			 cfg->daily_quota);
		sim_reply_error(out, 429, 2001, "ACCESS", "REQUEST", "Too many requests", msg, NULL,
				NULL);
	}
	if (cfg->retry_after)
		out->retry_after_s = retry_ms <= 0 ? 1 : (retry_ms + 999) / 1000;
	return lim == SIM_LIMIT_RATE ? SIM_API_GATE_RATE : SIM_API_GATE_QUOTA;
}

void sim_api_fault_reply(enum sim_fault f, struct sim_reply *out)
{
	if (f == SIM_FAULT_25025)
		sim_reply_error(out, 500, 25025, INV, "APPLICATION",
				"Concurrent access of Inventory or InventoryItemGroup. Please try "
				"again later",
				NULL, NULL, NULL);
	else
		sim_reply_error(out, 500, 25001, INV, "APPLICATION",
				"A system error has occurred. Please try again later.",
				"A system error has occurred.", NULL, NULL);
}

int sim_api_parse_count(const char *text, long long def, long long min, long long max,
			long long *out)
{
	long long v = 0;

	if (!text) {
		*out = def;
		return 0;
	}
	if (!*text || strlen(text) > 18)
		return -1;
	for (const char *p = text; *p; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		v = v * 10 + (*p - '0');
	}
	if (v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

static void bad_pagination(struct sim_reply *out, const char *name, const char *value,
			   const char *why)
{
	char msg[160];

	snprintf(msg, sizeof(msg), "You have provided invalid pagination values. %s.", why);
	sim_reply_error(out, 400, 25706, INV, "REQUEST", msg, msg, name, value);
}

/* Reads limit and offset; returns 0 or -1 with out filled. */
static int paging_args(const struct sim_request *rq, long long def_limit, long long *limit,
		       long long *offset, struct sim_reply *out)
{
	const char *l = rq->arg(rq->arg_ctx, "limit"), *o = rq->arg(rq->arg_ctx, "offset");

	if (sim_api_parse_count(l, def_limit, 1, MAX_LIMIT, limit)) {
		bad_pagination(out, "limit", l, "The limit value should be between 1 and 200");
		return -1;
	}
	if (sim_api_parse_count(o, 0, 0, MAX_OFFSET, offset)) {
		bad_pagination(out, "offset", o,
			       "The offset value should be a number greater than or equal to 0");
		return -1;
	}
	return 0;
}

/* The first record of the page, and the offsets of the next and previous
 * pages (-1 when there is none). */
static long long page_window(const struct sim_config *cfg, long long limit, long long offset,
			     long long total, long long *next, long long *prev)
{
	long long first = cfg->offset_mode == SIM_OFFSET_PAGE ? offset * limit : offset;

	if (cfg->offset_mode == SIM_OFFSET_PAGE) {
		*next = first + limit < total ? offset + 1 : -1;
		*prev = offset > 0 ? offset - 1 : -1;
	} else {
		*next = first + limit < total ? offset + limit : -1;
		*prev = offset > 0 ? (offset > limit ? offset - limit : 0) : -1;
	}
	return first;
}

static void get_inventory_items(struct sim *s, const struct sim_config *cfg,
				const struct sim_request *rq, struct sim_reply *out)
{
	struct sim_entry entries[MAX_LIMIT];
	long long limit, offset, next, prev, first;
	size_t total, got = 0;
	json_t *root, *items;

	if (paging_args(rq, 25, &limit, &offset, out))
		return;
	total = sim_catalog_count(s->catalog);
	first = page_window(cfg, limit, offset, (long long)total, &next, &prev);
	if (first < (long long)total)
		got = sim_catalog_page(s->catalog, (size_t)first, (size_t)limit, entries, &total);
	/* Churn may have moved the total between the two calls: use the newer. */
	page_window(cfg, limit, offset, (long long)total, &next, &prev);
	items = json_array();
	for (size_t i = 0; i < got; i++)
		json_array_append_new(items, sim_gen_item(&entries[i], 0));
	root = json_object();
	json_object_set_new(root, "href",
			    json_sprintf("http://%s%s?limit=%lld&offset=%lld", rq->host, ITEMS_PATH,
					 limit, offset));
	json_object_set_new(root, "inventoryItems", items);
	json_object_set_new(root, "limit", json_integer(limit));
	if (next >= 0)
		json_object_set_new(root, "next",
				    json_sprintf("http://%s%s?limit=%lld&offset=%lld", rq->host,
						 ITEMS_PATH, limit, next));
	if (prev >= 0)
		json_object_set_new(root, "prev",
				    json_sprintf("http://%s%s?limit=%lld&offset=%lld", rq->host,
						 ITEMS_PATH, limit, prev));
	/* On InventoryItems, size is the number of pages (the contract's words). */
	json_object_set_new(root, "size", json_integer(((long long)total + limit - 1) / limit));
	json_object_set_new(root, "total", json_integer((long long)total));
	sim_reply_json(out, 200, root);
}

static json_t *sku_not_found_json(const char *sku)
{
	char msg[160];

	snprintf(msg, sizeof(msg), "SKU %s could not be found or is not available in the system.",
		 sku);
	return sim_reply_error_json(25702, INV, "REQUEST", msg, NULL, "skuValue", sku);
}

static void sku_not_found(struct sim_reply *out, const char *sku)
{
	sim_reply_json(out, 404, sku_not_found_json(sku));
	out->error_id = 25702;
}

static void invalid_value(struct sim_reply *out, const char *field, const char *value)
{
	char msg[96];

	snprintf(msg, sizeof(msg), "Invalid value for %s.", field);
	sim_reply_error(out, 400, 25709, INV, "REQUEST", msg, NULL, field, value);
}

static void get_inventory_item(struct sim *s, const struct sim_request *rq, struct sim_reply *out)
{
	const char *sku = rq->path + strlen(ITEMS_PATH) + 1;
	struct sim_entry e;

	if (!*sku) {
		invalid_value(out, "sku", sku);
		return;
	}
	if (sim_catalog_find_sku(s->catalog, sku, strlen(sku), &e)) {
		sku_not_found(out, sku);
		return;
	}
	sim_reply_json(out, 200, sim_gen_item(&e, 0));
}

static void bulk_get(struct sim *s, const struct sim_request *rq, struct sim_reply *out)
{
	json_t *body = json_loadb(rq->body ? rq->body : "", rq->body_len, 0, NULL);
	json_t *requests = json_object_get(body, "requests"), *responses, *r;
	size_t i, j, missing = 0;

	if (!json_is_array(requests) || json_array_size(requests) == 0) {
		sim_reply_error(out, 400, 25709, INV, "REQUEST",
				"Invalid request. Invalid value for field requests", NULL,
				"requests", NULL);
		goto out;
	}
	if (json_array_size(requests) > BULK_MAX) {
		sim_reply_error(out, 400, 25727, INV, "REQUEST",
				"The number of InventoryItems in the request cannot exceed 25.",
				NULL, "requests", NULL);
		goto out;
	}
	json_array_foreach(requests, i, r)
	{
		const char *sku = json_string_value(json_object_get(r, "sku"));
		if (!sku || !*sku ||
		    json_string_length(json_object_get(r, "sku")) > SIM_GEN_SKU_MAX) {
			sim_reply_error(out, 400, 25708, INV, "REQUEST", "Invalid SKU.", NULL,
					"sku", sku);
			goto out;
		}
		for (j = 0; j < i; j++) {
			if (json_equal(json_object_get(json_array_get(requests, j), "sku"),
				       json_object_get(r, "sku"))) {
				sim_reply_error(out, 400, 25734, INV, "REQUEST",
						"SKU should be unique in the request.", NULL, "sku",
						sku);
				goto out;
			}
		}
	}
	responses = json_array();
	json_array_foreach(requests, i, r)
	{
		json_t *sku = json_object_get(r, "sku"), *one = json_object();
		struct sim_entry e;

		if (!sim_catalog_find_sku(s->catalog, json_string_value(sku),
					  json_string_length(sku), &e)) {
			json_object_set_new(one, "statusCode", json_integer(200));
			json_object_set(one, "sku", sku);
			json_object_set_new(one, "inventoryItem", sim_gen_item(&e, 1));
		} else {
			json_t *err = sku_not_found_json(json_string_value(sku));

			json_object_set_new(one, "statusCode", json_integer(404));
			json_object_set(one, "sku", sku);
			json_object_set(one, "errors", json_object_get(err, "errors"));
			json_decref(err);
			missing++;
		}
		json_array_append_new(responses, one);
	}
	sim_reply_json(out, missing ? 207 : 200, json_pack("{s:o}", "responses", responses));
out:
	json_decref(body);
}

static int str_is(const json_t *v, const char *s)
{
	return json_is_string(v) && !strcmp(json_string_value(v), s);
}

static int known_marketplace(const char *m)
{
	for (int i = 0; marketplaces[i]; i++)
		if (!strcmp(m, marketplaces[i]))
			return 1;
	return 0;
}

static void offers_url(struct buf *b, const struct sim_request *rq, const char *sku_enc,
		       long long limit, long long offset)
{
	const char *m = rq->arg(rq->arg_ctx, "marketplace_id"), *f = rq->arg(rq->arg_ctx, "format");

	buf_reset(b);
	buf_addf(b, "http://%s%s?sku=%s", rq->host, OFFER_PATH, sku_enc);
	if (m)
		buf_addf(b, "&marketplace_id=%s", m); /* checked: letters and '_' */
	if (f)
		buf_addf(b, "&format=%s", f);
	buf_addf(b, "&limit=%lld&offset=%lld", limit, offset);
}

static void get_offers(struct sim *s, const struct sim_config *cfg, const struct sim_request *rq,
		       struct sim_reply *out)
{
	const char *sku = rq->arg(rq->arg_ctx, "sku"), *m = rq->arg(rq->arg_ctx, "marketplace_id");
	const char *format = rq->arg(rq->arg_ctx, "format");
	long long limit, offset, next, prev, first, total;
	struct sim_entry e;
	struct buf url = BUF_INIT;
	json_t *all, *page, *root;
	char *enc;

	if (!sku || !*sku || strlen(sku) > SIM_GEN_SKU_MAX) {
		invalid_value(out, "sku", sku);
		return;
	}
	if (m && !known_marketplace(m)) {
		invalid_value(out, "marketplace_id", m);
		return;
	}
	if (format && strcmp(format, "FIXED_PRICE") && strcmp(format, "AUCTION")) {
		invalid_value(out, "format", format);
		return;
	}
	if (paging_args(rq, 100, &limit, &offset, out))
		return;
	if (sim_catalog_find_sku(s->catalog, sku, strlen(sku), &e)) {
		sku_not_found(out, sku);
		return;
	}
	all = sim_gen_offers(&e);
	for (size_t i = json_array_size(all); i-- > 0;) {
		json_t *o = json_array_get(all, i);
		if ((m && !str_is(json_object_get(o, "marketplaceId"), m)) ||
		    (format && !str_is(json_object_get(o, "format"), format)))
			json_array_remove(all, i);
	}
	total = (long long)json_array_size(all);
	if (total == 0 && cfg->no_offers_404) {
		json_decref(all);
		sim_reply_error(out, 404, 25713, INV, "REQUEST", "This Offer is not available.",
				NULL, "sku", sku);
		return;
	}
	first = page_window(cfg, limit, offset, total, &next, &prev);
	page = json_array();
	for (long long i = first; i < total && i < first + limit; i++)
		json_array_append(page, json_array_get(all, (size_t)i));
	enc = encoding_percent_encode(sku);
	root = json_object();
	offers_url(&url, rq, enc, limit, offset);
	json_object_set_new(root, "href", json_string(buf_str(&url)));
	json_object_set_new(root, "limit", json_integer(limit));
	if (next >= 0) {
		offers_url(&url, rq, enc, limit, next);
		json_object_set_new(root, "next", json_string(buf_str(&url)));
	}
	if (prev >= 0) {
		offers_url(&url, rq, enc, limit, prev);
		json_object_set_new(root, "prev", json_string(buf_str(&url)));
	}
	/* On Offers, size is the number of offers on this page. */
	json_object_set_new(root, "size", json_integer((long long)json_array_size(page)));
	json_object_set_new(root, "offers", page);
	json_object_set_new(root, "total", json_integer(total));
	sim_reply_json(out, 200, root);
	json_decref(all);
	free(enc);
	buf_release(&url);
}

static void get_offer(struct sim *s, const struct sim_request *rq, struct sim_reply *out)
{
	const char *id = rq->path + strlen(OFFER_PATH) + 1;
	struct sim_entry e;
	json_t *offer = NULL;
	int k;

	if (!*id) {
		invalid_value(out, "offerId", id);
		return;
	}
	if (!sim_catalog_find_offer(s->catalog, id, &e, &k))
		offer = sim_gen_offer(&e, k);
	if (!offer) {
		char msg[160];
		snprintf(msg, sizeof(msg), "This Offer is not available : %.100s.", id);
		sim_reply_error(out, 400, 25713, INV, "REQUEST", msg, NULL, "offerId", id);
		return;
	}
	sim_reply_json(out, 200, offer);
}

void sim_api_serve(struct sim *s, const struct sim_config *cfg, enum sim_endpoint ep,
		   const struct sim_request *rq, struct sim_reply *out)
{
	switch (ep) {
	case SIM_EP_GET_INVENTORY_ITEMS:
		get_inventory_items(s, cfg, rq, out);
		break;
	case SIM_EP_GET_INVENTORY_ITEM:
		get_inventory_item(s, rq, out);
		break;
	case SIM_EP_BULK_GET_INVENTORY_ITEM:
		bulk_get(s, rq, out);
		break;
	case SIM_EP_GET_OFFERS:
		get_offers(s, cfg, rq, out);
		break;
	case SIM_EP_GET_OFFER:
		get_offer(s, rq, out);
		break;
	case SIM_EP_FEED_CREATE_TASK:
	case SIM_EP_FEED_GET_TASK:
	case SIM_EP_FEED_DOWNLOAD:
		sim_feed_serve(s->feed, s->catalog, cfg, ep, rq, out);
		break;
	default:
		sim_reply_error(out, 404, 2002, "ACCESS", "REQUEST", "Resource not found",
				"The requested resource does not exist in the simulator.", NULL,
				NULL);
		break;
	}
}
