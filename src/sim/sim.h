/*
 * The eBay simulator (ebaysync-sim): a Sell Inventory API look-alike for the
 * tests, the demo and the benchmarks. struct sim ties its parts together:
 * the settings (sim_config.h), the catalog (sim_catalog.h, sim_gen.h),
 * OAuth (sim_oauth.h), the rate limiter and faults (sim_faults.h) and the
 * counters (sim_stats.h). sim_api.c answers the Inventory API, sim_control.c
 * the /sim/ control calls, sim_http.c serves them all over HTTP with
 * libmicrohttpd, and sim_main.c is the program around them.
 *
 * The simulator is a program of its own, like curl's tests/server/: it
 * links only the small shared pieces (ebaysync_base: buffers, errors,
 * encodings, times, JSON helpers, random.h, netaddr.h) and includes no
 * header of the product, so the oracle of the tests shares no code or data
 * with what they test. docs/simulator.md describes it for users.
 */
#ifndef SIM_H
#define SIM_H

#include <pthread.h>

#include "buf.h"
#include "error.h"
#include "sim_catalog.h"
#include "sim_config.h"
#include "sim_faults.h"
#include "sim_feed.h"
#include "sim_oauth.h"
#include "sim_stats.h"

struct sim {
	pthread_mutex_t lock; /* guards cfg */
	struct sim_config cfg;
	pthread_mutex_t config_lock; /* serializes sim_configure and sim_reset */
	struct sim_catalog *catalog;
	struct sim_oauth *oauth;
	struct sim_limiter *limiter;
	struct sim_feed *feed; /* the Feed API's report tasks */
	struct sim_stats stats;

	/* The churn thread: applies cfg.churn catalog changes a second. */
	pthread_t churn_thread;
	pthread_mutex_t churn_lock;
	pthread_cond_t churn_cond;
	int churn_stop;
};

/*
 * A simulator for cfg (copied): builds the catalog and starts the churn
 * thread. NULL with a reason in why when the catalog cannot be built.
 * Free with sim_free().
 */
struct sim *sim_new(const struct sim_config *cfg, struct buf *why);
void sim_free(struct sim *s);

/* A consistent copy of the current settings. */
void sim_get_config(struct sim *s, struct sim_config *out);

/* Applies a JSON object of settings (see sim_config_apply_json), rebuilding
 * the catalog or the limiter when they change. All or nothing. */
enum error sim_configure(struct sim *s, const char *json, size_t len, struct buf *why);

/* Back to the starting state: the catalog of the current seed (or file),
 * zeroed counters, full rate-limit buckets. Issued tokens stay valid. */
enum error sim_reset(struct sim *s, struct buf *why);

#endif
