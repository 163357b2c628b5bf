/*
 * The simulator's control calls, for tests and benchmarks (never on eBay):
 *   GET  /sim/catalog  the catalog now, one JSON line per SKU in catalog
 *                      order: {"sku","item","offers"}, exactly what
 *                      getInventoryItem and getOffers would answer;
 *   GET  /sim/stats    counters (sim_stats.h) and the catalog's size;
 *   GET  /sim/config   the settings; POST /sim/config changes them;
 *   POST /sim/reset    catalog back to its seed state, counters zeroed;
 *   POST /sim/mutate   adds, removes and edits SKUs now and answers the
 *                      record of each: the SKU before and after;
 *   GET  /sim/health   {"ok":true}.
 * (POST /sim/revoke is OAuth's: sim_oauth.h.)
 */
#ifndef SIM_CONTROL_H
#define SIM_CONTROL_H

#include "sim.h"
#include "sim_reply.h"

void sim_control_serve(struct sim *s, const struct sim_request *rq, struct sim_reply *out);

/*
 * The body of GET /sim/catalog as a stream over a snapshot of the catalog
 * taken now; set into out (its stream, stream_ctx and stream_free).
 */
void sim_control_catalog_stream(struct sim *s, struct sim_reply *out);

#endif
