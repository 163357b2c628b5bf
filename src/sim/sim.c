/*
 * The simulator's lifecycle (see sim.h): building its parts, the churn
 * thread and run-time reconfiguration. The program around it (command line,
 * signals, HTTP) is sim_main.c.
 */
#include "sim.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "random.h"
#include "timeutil.h"
#include "xalloc.h"
#include "banned.h"

#define CHURN_TICK_MS	   10
#define CHURN_MAX_PER_TICK 100000

static void *churn_main(void *arg)
{
	struct sim *s = arg;
	struct random_rng rng;
	double owed = 0;
	long long last = timeutil_mono_ms();

	pthread_mutex_lock(&s->lock);
	sim_gen_rng_init(&rng, s->cfg.seed, (uint64_t)last, 0xc4u);
	pthread_mutex_unlock(&s->lock);
	pthread_mutex_lock(&s->churn_lock);
	while (!s->churn_stop) {
		struct timespec until;
		double rate;
		long long now;

		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_nsec += CHURN_TICK_MS * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&s->churn_cond, &s->churn_lock, &until);
		if (s->churn_stop)
			break;
		pthread_mutex_unlock(&s->churn_lock);

		pthread_mutex_lock(&s->lock);
		rate = s->cfg.churn;
		pthread_mutex_unlock(&s->lock);
		now = timeutil_mono_ms();
		owed = rate > 0 ? owed + rate * (double)(now - last) / 1000.0 : 0;
		last = now;
		for (int n = 0; owed >= 1.0 && n < CHURN_MAX_PER_TICK; n++) {
			sim_catalog_churn(s->catalog, &rng);
			owed -= 1.0;
		}
		if (owed > CHURN_MAX_PER_TICK)
			owed = 0; /* fell behind: do not try to catch up in a burst */

		pthread_mutex_lock(&s->churn_lock);
	}
	pthread_mutex_unlock(&s->churn_lock);
	return NULL;
}

struct sim *sim_new(const struct sim_config *cfg, struct buf *why)
{
	struct sim *s = xcalloc(1, sizeof(*s));
	pthread_condattr_t ca;

	s->cfg = *cfg;
	s->catalog = sim_catalog_new();
	if (sim_catalog_build(s->catalog, cfg->seed, cfg->skus, cfg->catalog, why)) {
		sim_catalog_free(s->catalog);
		free(s);
		return NULL;
	}
	pthread_mutex_init(&s->lock, NULL);
	pthread_mutex_init(&s->config_lock, NULL);
	pthread_mutex_init(&s->churn_lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->churn_cond, &ca);
	pthread_condattr_destroy(&ca);
	s->oauth = sim_oauth_new();
	s->limiter = sim_limiter_new();
	s->feed = sim_feed_new();
	if (pthread_create(&s->churn_thread, NULL, churn_main, s)) {
		fprintf(stderr, "ebaysync-sim: cannot start the churn thread\n");
		abort();
	}
	return s;
}

void sim_free(struct sim *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->churn_lock);
	s->churn_stop = 1;
	pthread_cond_signal(&s->churn_cond);
	pthread_mutex_unlock(&s->churn_lock);
	pthread_join(s->churn_thread, NULL);
	sim_catalog_free(s->catalog);
	sim_oauth_free(s->oauth);
	sim_limiter_free(s->limiter);
	sim_feed_free(s->feed);
	pthread_cond_destroy(&s->churn_cond);
	pthread_mutex_destroy(&s->churn_lock);
	pthread_mutex_destroy(&s->config_lock);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

void sim_get_config(struct sim *s, struct sim_config *out)
{
	pthread_mutex_lock(&s->lock);
	*out = s->cfg;
	pthread_mutex_unlock(&s->lock);
}

enum error sim_configure(struct sim *s, const char *json, size_t len, struct buf *why)
{
	struct sim_config next;
	unsigned effects = 0;
	enum error err;

	pthread_mutex_lock(&s->config_lock);
	sim_get_config(s, &next);
	err = sim_config_apply_json(&next, json, len, &effects, why);
	if (err)
		goto out;
	/* Rebuild first: a catalog file that does not load leaves all unchanged. */
	if (effects & SIM_CONFIG_REBUILD) {
		err = sim_catalog_build(s->catalog, next.seed, next.skus, next.catalog, why);
		if (err)
			goto out;
	}
	pthread_mutex_lock(&s->lock);
	s->cfg = next;
	pthread_mutex_unlock(&s->lock);
	if (effects & SIM_CONFIG_LIMITER)
		sim_limiter_reset(s->limiter, timeutil_mono_ms());
out:
	pthread_mutex_unlock(&s->config_lock);
	return err;
}

enum error sim_reset(struct sim *s, struct buf *why)
{
	struct sim_config cfg;
	enum error err;

	pthread_mutex_lock(&s->config_lock);
	sim_get_config(s, &cfg);
	err = sim_catalog_build(s->catalog, cfg.seed, cfg.skus, cfg.catalog, why);
	if (!err) {
		sim_stats_reset(&s->stats);
		sim_limiter_reset(s->limiter, timeutil_mono_ms());
		sim_feed_reset(s->feed);
	}
	pthread_mutex_unlock(&s->config_lock);
	return err;
}
