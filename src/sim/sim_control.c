/*
 * Control calls of the simulator (see sim_control.h). The catalog dump is
 * streamed from a snapshot of (id, version) pairs, 8 bytes a SKU, rendered
 * line by line as the client reads, so dumping a million SKUs needs neither
 * the catalog's lock for long nor the whole text in memory.
 */
#include "sim_control.h"

#include <stdlib.h>
#include <string.h>

#include "xalloc.h"
#include "banned.h"

struct catalog_stream {
	struct sim_entry *entries;
	size_t n, next;
	char *line; /* the rendered line being sent, or NULL */
	size_t len, off;
};

static char *render_line(const struct sim_entry *e)
{
	char sku[SIM_GEN_SKU_MAX + 1];
	json_t *row;
	char *text, *line;
	size_t len;

	sim_gen_sku(e, sku);
	row = json_pack("{s:s,s:o,s:o}", "sku", sku, "item", sim_gen_item(e, 0), "offers",
			sim_gen_offers(e));
	text = json_dumps(row, JSON_COMPACT);
	json_decref(row);
	if (!text)
		return NULL;
	len = strlen(text);
	line = xrealloc(text, len + 2);
	line[len] = '\n';
	line[len + 1] = '\0';
	return line;
}

static ssize_t catalog_read(void *ctx, char *out, size_t max)
{
	struct catalog_stream *cs = ctx;
	size_t done = 0;

	while (done < max) {
		size_t n;

		if (!cs->line) {
			if (cs->next >= cs->n)
				break;
			cs->line = render_line(&cs->entries[cs->next++]);
			if (!cs->line)
				return -1;
			cs->len = strlen(cs->line);
			cs->off = 0;
		}
		n = cs->len - cs->off < max - done ? cs->len - cs->off : max - done;
		memcpy(out + done, cs->line + cs->off, n);
		done += n;
		cs->off += n;
		if (cs->off == cs->len)
			FREE_AND_NULL(cs->line);
	}
	return (ssize_t)done;
}

static void catalog_free(void *ctx)
{
	struct catalog_stream *cs = ctx;

	free(cs->entries);
	free(cs->line);
	free(cs);
}

void sim_control_catalog_stream(struct sim *s, struct sim_reply *out)
{
	struct catalog_stream *cs = xcalloc(1, sizeof(*cs));

	cs->entries = sim_catalog_snapshot(s->catalog, &cs->n);
	out->status = 200;
	out->content_type = "application/x-ndjson";
	out->stream = catalog_read;
	out->stream_ctx = cs;
	out->stream_free = catalog_free;
}

static void control_error(struct sim_reply *out, int status, const char *message)
{
	sim_reply_json(out, status, json_pack("{s:s}", "error", message));
}

/* A SKU's content as getInventoryItem and getOffers answer it. */
static json_t *content_json(const struct sim_entry *e)
{
	return json_pack("{s:o,s:o}", "item", sim_gen_item(e, 0), "offers", sim_gen_offers(e));
}

/* Applies n changes of op (to the SKUs named in skus first, then to
 * random ones) and appends the simulator's own record of each to out. */
static void mutate_some(struct sim *s, enum sim_churn_op op, long long n, const json_t *skus,
			struct random_rng *rng, json_t *out)
{
	static const char *const names[] = {"add", "remove", "edit"};
	struct sim_entry before, after;
	char sku[SIM_GEN_SKU_MAX + 1];
	size_t i;
	const json_t *v;

	json_array_foreach(skus, i, v)
	{
		if ((long long)i >= n)
			break;
		if (!json_is_string(v) ||
		    sim_catalog_apply(s->catalog, op, rng, json_string_value(v), &before, &after))
			continue;
		sim_gen_sku(&before, sku);
		json_array_append_new(
		    out, json_pack("{s:s,s:s,s:o,s:o}", "op", names[op], "sku", sku, "before",
				   content_json(&before), "after",
				   op == SIM_CHURN_REMOVE ? json_null() : content_json(&after)));
	}
	for (i = json_array_size(skus); (long long)i < n; i++) {
		if (sim_catalog_apply(s->catalog, op, rng, NULL, &before, &after))
			break;
		sim_gen_sku(op == SIM_CHURN_ADD ? &after : &before, sku);
		json_array_append_new(
		    out,
		    json_pack("{s:s,s:s,s:o,s:o}", "op", names[op], "sku", sku, "before",
			      op == SIM_CHURN_ADD ? json_null() : content_json(&before), "after",
			      op == SIM_CHURN_REMOVE ? json_null() : content_json(&after)));
	}
}

/*
 * POST /sim/mutate {"add": n, "remove": n, "edit": n, "edit_skus": [...],
 * "remove_skus": [...], "seed": n}: applies the changes now (edits bump the
 * SKU's version, as churn does) and answers the record of each,
 * {"changes": [{"op", "sku", "before", "after"}]}, with before and after
 * the SKU's content as getInventoryItem and getOffers answer it (null for
 * an add's before and a removal's after).
 */
static int mutate_churn(struct sim *s, const struct sim_request *rq, json_t *body,
			struct sim_reply *out, struct buf *why)
{
	json_t *changes;
	struct random_rng rng;
	json_int_t seed;

	if (!json_is_object(body)) {
		buf_adds(why, "the body must be a JSON object such as {\"edit\": 10}");
		return -1;
	}
	seed = json_integer_value(json_object_get(body, "seed"));
	sim_gen_rng_init(&rng, (uint64_t)seed, 0x6d757461, (uint64_t)rq->body_len);
	changes = json_array();
	mutate_some(s, SIM_CHURN_EDIT, json_integer_value(json_object_get(body, "edit")),
		    json_object_get(body, "edit_skus"), &rng, changes);
	mutate_some(s, SIM_CHURN_REMOVE, json_integer_value(json_object_get(body, "remove")),
		    json_object_get(body, "remove_skus"), &rng, changes);
	mutate_some(s, SIM_CHURN_ADD, json_integer_value(json_object_get(body, "add")), NULL, &rng,
		    changes);
	sim_reply_json(out, 200, json_pack("{s:o}", "changes", changes));
	return 0;
}

static json_t *stats_json(struct sim *s)
{
	json_t *root = sim_stats_json(&s->stats);
	long long churned[3];

	sim_catalog_churn_counts(s->catalog, churned);
	json_object_set_new(root, "catalog",
			    json_pack("{s:I,s:I,s:I,s:I}", "skus",
				      (json_int_t)sim_catalog_count(s->catalog), "added",
				      (json_int_t)churned[SIM_CHURN_ADD], "removed",
				      (json_int_t)churned[SIM_CHURN_REMOVE], "edited",
				      (json_int_t)churned[SIM_CHURN_EDIT]));
	return root;
}

/*
 * POST /sim/mutate {"fraction": 0.01, "seed": N}: one field mutation (a
 * price, a quantity, an end, a withdrawal or a publication, see sim_gen.h)
 * on exactly round(fraction * SKUs) distinct SKUs, or {"count": N} SKUs.
 * Answers {"mutated": n, "skus": [...]}. The same seed on the same catalog
 * picks the same SKUs.
 */
static void mutate_fields(struct sim *s, json_t *body, struct sim_reply *out)
{
	json_t *fr = json_object_get(body, "fraction"), *cnt = json_object_get(body, "count");
	json_t *sd = json_object_get(body, "seed"), *skus;
	struct sim_entry *entries = NULL;
	struct random_rng rng;
	size_t n, got, live = sim_catalog_count(s->catalog);
	char sku[SIM_GEN_SKU_MAX + 1];

	if (!json_is_object(body) || (fr && !json_is_number(fr)) ||
	    (cnt && !json_is_integer(cnt)) || (sd && !json_is_integer(sd)) || (!fr == !cnt) ||
	    (fr && (json_number_value(fr) < 0 || json_number_value(fr) > 1)) ||
	    (cnt && json_integer_value(cnt) < 0)) {
		control_error(out, 400,
			      "mutate wants a JSON object with \"fraction\" (0 to 1) or "
			      "\"count\" (>= 0), and an optional integer \"seed\"");
		return;
	}
	n = fr ? (size_t)(json_number_value(fr) * (double)live + 0.5)
	       : (size_t)json_integer_value(cnt);
	sim_gen_rng_init(&rng, s->cfg.seed, sd ? (uint64_t)json_integer_value(sd) : 1, 0x3a7au);
	got = sim_catalog_mutate(s->catalog, n, &rng, &entries);
	skus = json_array();
	for (size_t i = 0; i < got; i++) {
		sim_gen_sku(&entries[i], sku);
		json_array_append_new(skus, json_string(sku));
	}
	sim_reply_json(out, 200, json_pack("{s:I,s:o}", "mutated", (json_int_t)got, "skus", skus));
	free(entries);
}

/* POST /sim/mutate: field mutations when the body names "fraction" or
 * "count", else churn ("add", "remove", "edit"). The body is parsed once. */
static int mutate(struct sim *s, const struct sim_request *rq, struct sim_reply *out,
		  struct buf *why)
{
	json_t *body = json_loadb(rq->body ? rq->body : "", rq->body_len, 0, NULL);
	int rc = 0;

	if (json_is_object(body) &&
	    (json_object_get(body, "fraction") || json_object_get(body, "count")))
		mutate_fields(s, body, out);
	else
		rc = mutate_churn(s, rq, body, out, why);
	json_decref(body);
	return rc;
}

void sim_control_serve(struct sim *s, const struct sim_request *rq, struct sim_reply *out)
{
	int get = !strcmp(rq->method, "GET"), post = !strcmp(rq->method, "POST");
	struct buf why = BUF_INIT;

	if (!strcmp(rq->path, "/sim/catalog") && get) {
		sim_control_catalog_stream(s, out);
	} else if (!strcmp(rq->path, "/sim/stats") && get) {
		sim_reply_json(out, 200, stats_json(s));
	} else if (!strcmp(rq->path, "/sim/config") && (get || post)) {
		struct sim_config cfg;

		if (post && sim_configure(s, rq->body ? rq->body : "", rq->body_len, &why)) {
			control_error(out, 400, buf_str(&why));
			goto out;
		}
		sim_get_config(s, &cfg);
		sim_reply_json(out, 200, sim_config_to_json(&cfg));
	} else if (!strcmp(rq->path, "/sim/reset") && post) {
		if (sim_reset(s, &why)) {
			control_error(out, 500, buf_str(&why));
			goto out;
		}
		sim_reply_json(out, 200,
			       json_pack("{s:b,s:I}", "reset", 1, "skus",
					 (json_int_t)sim_catalog_count(s->catalog)));
	} else if (!strcmp(rq->path, "/sim/mutate") && post) {
		if (mutate(s, rq, out, &why))
			control_error(out, 400, buf_str(&why));
	} else if (!strcmp(rq->path, "/sim/health") && get) {
		sim_reply_json(out, 200, json_pack("{s:b}", "ok", 1));
	} else if (!strcmp(rq->path, "/sim/catalog") || !strcmp(rq->path, "/sim/stats") ||
		   !strcmp(rq->path, "/sim/reset") || !strcmp(rq->path, "/sim/health") ||
		   !strcmp(rq->path, "/sim/mutate")) {
		control_error(out, 405, "method not allowed");
	} else {
		control_error(out, 404,
			      "unknown control call; try /sim/catalog, /sim/stats, /sim/config, "
			      "/sim/reset, /sim/mutate, /sim/revoke or /sim/health");
	}
out:
	buf_release(&why);
}
