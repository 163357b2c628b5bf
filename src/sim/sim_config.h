/*
 * The simulator's knobs: one table of options that serves both the command
 * line (--rps 5) and POST /sim/config ({"rps": 5}), so the two can never
 * drift apart. A struct sim_config is plain data with fixed-size strings, so
 * a request handler can copy the whole thing under a lock and read it
 * without holding one.
 */
#ifndef SIM_CONFIG_H
#define SIM_CONFIG_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "error.h"

enum sim_offset_mode {
	SIM_OFFSET_RECORD, /* offset counts records (what eBay's next links show) */
	SIM_OFFSET_PAGE,   /* offset counts pages (the contract's words) */
};

enum sim_rate_scope {
	SIM_RATE_GLOBAL, /* one token bucket for every caller */
	SIM_RATE_TOKEN,	 /* one token bucket per access token */
};

#define SIM_CONFIG_TOKEN_MAX 1024
#define SIM_CONFIG_NAME_MAX  256
#define SIM_CONFIG_PATH_MAX  4096

struct sim_config {
	char listen[128];
	uint64_t seed;
	long long skus;
	int offset_mode; /* enum sim_offset_mode */
	char token[SIM_CONFIG_TOKEN_MAX];
	char refresh_token[SIM_CONFIG_TOKEN_MAX];
	long long token_ttl; /* seconds */
	long long code_ttl;  /* seconds an authorization code stays usable */
	char client_id[SIM_CONFIG_NAME_MAX];
	char client_secret[SIM_CONFIG_NAME_MAX];
	char redirect_uri[SIM_CONFIG_TOKEN_MAX];
	long long latency_ms;
	long long jitter_ms;
	double rps;	/* 0: no rate limit */
	double burst;	/* 0: max(1, rps) */
	int rate_scope; /* enum sim_rate_scope */
	int retry_after;
	long long daily_quota; /* 0: none */
	double fault_rate;
	double fail_500;
	double fail_25025;
	double fail_reset;
	double fail_truncate;
	double fail_malformed;
	double fail_stall;
	long long stall_ms;
	double churn; /* catalog edits a second */
	char catalog[SIM_CONFIG_PATH_MAX];
	int threads;
	int no_offers_404;
	/* The Feed API's Active Inventory Report (sim_feed.h). */
	long long feed_delay_ms;  /* from a task's creation to its completion */
	long long feed_daily_cap; /* report tasks a day; 0: none */
	double feed_fail;	  /* share of tasks that end FAILED */
	double feed_partial;	  /* share of tasks that end COMPLETED_WITH_ERROR */
	double feed_cut;	  /* share of downloads cut short */
	double feed_corrupt;	  /* share of downloads with a damaged archive */
};

/* What a change of settings asks the simulator to do besides storing them. */
#define SIM_CONFIG_REBUILD 1u /* the catalog must be rebuilt (seed, skus, catalog) */
#define SIM_CONFIG_LIMITER 2u /* the rate limiter must forget its buckets */
#define SIM_CONFIG_STARTUP 4u /* only meaningful at start (listen, threads) */

/* Fills cfg with the defaults (see docs/simulator.md). */
void sim_config_defaults(struct sim_config *cfg);

/*
 * Applies command-line arguments argv[1..argc-1] to cfg. Accepts "--name
 * value", "--name=value" and bare "--flag" for booleans. On ERR_INVALID, why
 * says which argument is wrong and cfg may be half-updated. "--help" is not
 * handled here (see sim_config_usage).
 */
enum error sim_config_parse_argv(struct sim_config *cfg, int argc, char **argv, struct buf *why);

/*
 * Applies a JSON object of settings (names without dashes, underscores for
 * dashes: {"latency_ms": 50}) to cfg, all or nothing: on any error cfg is
 * unchanged and why names the setting. *effects (may be NULL) receives the
 * SIM_CONFIG_* bits of the settings that changed value. Settings marked
 * start-only are refused.
 */
enum error sim_config_apply_json(struct sim_config *cfg, const char *json, size_t len,
				 unsigned *effects, struct buf *why);

/* The settings as a JSON object (new reference; the caller decrefs). The
 * client secret is included: the simulator holds no real secrets. */
json_t *sim_config_to_json(const struct sim_config *cfg);

/* Appends the --help text. */
void sim_config_usage(struct buf *out);

#endif
