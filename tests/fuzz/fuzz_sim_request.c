/*
 * Fuzzes the Inventory API handlers of the simulator with what a client
 * controls: the path (SKU or offerId in it), the query arguments (limit,
 * offset, sku, format, marketplace_id), the Authorization header and the
 * body of bulk_get_inventory_item. The input is split at newlines:
 *   path-after-/sell/inventory/v1/ \n limit \n offset \n sku \n format \n
 *   marketplace_id \n authorization \n body...
 * An empty line means the argument is absent. Every answer must be JSON with
 * a status the API documents.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"
#include "sim_api.h"
#include "xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FIELDS 7

static struct sim *sim;

struct args {
	const char *v[FIELDS];
};

static const char *arg(void *ctx, const char *name)
{
	static const char *const names[] = {"",	      "limit",		"offset", "sku",
					    "format", "marketplace_id", ""};
	struct args *a = ctx;

	for (int i = 1; i < FIELDS - 1; i++)
		if (!strcmp(names[i], name))
			return a->v[i];
	return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = xstrndup((const char *)data, size), *p = text, *path;
	struct args a = {{NULL}};
	struct sim_config cfg;
	struct sim_request rq;
	struct sim_reply out;
	int allowed;
	enum sim_endpoint ep;
	json_t *j;

	if (!sim) {
		struct buf why = BUF_INIT;
		sim_config_defaults(&cfg);
		cfg.skus = 300;
		snprintf(cfg.token, sizeof(cfg.token), "T");
		sim = sim_new(&cfg, &why); /* kept for the process' life */
		buf_release(&why);
	}
	for (int i = 0; i < FIELDS; i++) {
		char *nl = strchr(p, '\n');
		if (!nl)
			break;
		*nl = '\0';
		a.v[i] = *p ? p : NULL;
		p = nl + 1;
	}
	path = xasprintf(SIM_API_BASE "/%s", a.v[0] ? a.v[0] : "");
	sim_get_config(sim, &cfg);
	cfg.offset_mode = size & 1 ? SIM_OFFSET_PAGE : SIM_OFFSET_RECORD;
	cfg.no_offers_404 = (size >> 1) & 1;
	memset(&rq, 0, sizeof(rq));
	rq.method = (size >> 2) & 1 ? "POST" : "GET";
	rq.path = path;
	rq.arg = arg;
	rq.arg_ctx = &a;
	rq.authorization = a.v[6];
	rq.host = "127.0.0.1:1";
	rq.body = p;
	rq.body_len = strlen(p);
	rq.now_ms = 1;
	ep = sim_api_route(rq.method, path, &allowed);
	sim_reply_init(&out);
	if (sim_api_gate(sim, &cfg, &rq, &out) == SIM_API_GATE_OK && allowed) {
		sim_api_serve(sim, &cfg, ep, &rq, &out);
		if (out.status != 200 && out.status != 207 && out.status != 400 &&
		    out.status != 404)
			abort();
	}
	j = json_loadb(out.body, out.len, 0, NULL);
	if (out.status && !j)
		abort(); /* every answer of the API is JSON */
	json_decref(j);
	sim_reply_release(&out);
	free(path);
	free(text);
	return 0;
}
