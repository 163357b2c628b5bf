/*
 * The simulator's Sell Feed API, for eBay's Active Inventory Report
 * (LMS_ACTIVE_INVENTORY_REPORT): createInventoryTask (POST
 * /sell/feed/v1/inventory_task, 202 and the task's URL in Location),
 * getInventoryTask (GET .../inventory_task/{task_id}: CREATED, QUEUED,
 * IN_PROCESS, then COMPLETED, or COMPLETED_WITH_ERROR or FAILED as a fault,
 * over cfg->feed_delay_ms) and getResultFile (GET
 * .../task/{task_id}/download_result_file: a zip archive holding the report
 * XML in eBay's BulkDataExchangeResponses wrapper).
 *
 * The report is built from the catalog when a task is first seen complete,
 * and that moment is its completionDate: one SKUDetails per active listing
 * (an offer PUBLISHED with listingStatus ACTIVE), its price the offer's
 * price, or for an auction the Buy It Now price where one is set and the
 * start price otherwise, as eBay documents. Offers of several SKUs that share
 * a listing id are one multi-variation listing: one SKUDetails with
 * Variations. Tasks per 24 hours are capped (cfg->feed_daily_cap; past it
 * 409 errorId 160025), and the feed_* fault rates fail tasks and cut or
 * damage downloads. docs/simulator.md has the user's view.
 */
#ifndef SIM_FEED_H
#define SIM_FEED_H

#include <stddef.h>

#include "sim_catalog.h"
#include "sim_config.h"
#include "sim_reply.h"
#include "sim_stats.h"

#define SIM_FEED_BASE "/sell/feed/v1"

struct sim_feed;

/* No tasks, a fresh daily window. Free with sim_feed_free(). */
struct sim_feed *sim_feed_new(void);
void sim_feed_free(struct sim_feed *f);
/* Forgets every task and restarts the daily window (POST /sim/reset). */
void sim_feed_reset(struct sim_feed *f);

/*
 * 1 when path is under the Feed API, with *ep the endpoint and *allowed 0
 * when the method is not the endpoint's (405); 0 for any other path.
 */
int sim_feed_route(const char *method, const char *path, enum sim_endpoint *ep, int *allowed);

/* Answers one Feed API call of endpoint ep, on catalog c. */
void sim_feed_serve(struct sim_feed *f, struct sim_catalog *c, const struct sim_config *cfg,
		    enum sim_endpoint ep, const struct sim_request *rq, struct sim_reply *out);

/*
 * The report archive of catalog c as it is now (listing_format NULL, or
 * "FIXED_PRICE" or "AUCTION" to keep one format): a malloc'd zip of *len
 * bytes, and the number of rows (listings plus variations) in *rows. For
 * the tests and the benchmark; sim_feed_serve builds the same.
 */
unsigned char *sim_feed_build_report(struct sim_catalog *c, const char *listing_format, size_t *len,
				     long long *rows);

#endif
