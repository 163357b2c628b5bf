/*
 * The simulator's settings (see sim_config.h). Every option is one row of
 * the table below: its name, its type, where it lives in struct sim_config,
 * its bounds and whether it may change at run time. The command line parser
 * and the JSON applier both walk that table.
 */
#include "sim_config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xalloc.h"
#include "banned.h"

enum opt_kind {
	OPT_U64,
	OPT_INT,
	OPT_DOUBLE,
	OPT_BOOL,
	OPT_STR,
	OPT_ENUM,
};

struct opt {
	const char *name; /* command-line spelling, without the dashes */
	enum opt_kind kind;
	size_t offset;
	size_t size;		    /* OPT_STR: the char array's size */
	double min, max;	    /* OPT_INT, OPT_DOUBLE */
	const char *const *choices; /* OPT_ENUM: NULL-terminated names */
	unsigned effects;	    /* SIM_CONFIG_* */
	const char *metavar;
	const char *help;
};

static const char *const offset_modes[] = {"record", "page", NULL};
static const char *const rate_scopes[] = {"global", "token", NULL};

#define F(field) offsetof(struct sim_config, field), sizeof(((struct sim_config *)0)->field)

static const struct opt opts[] = {
    {"listen", OPT_STR, F(listen), 0, 0, NULL, SIM_CONFIG_STARTUP, "HOST:PORT",
     "address to listen on: IPv4, [IPv6] or localhost; port 0 picks a free port (default "
     "127.0.0.1:0)"},
    {"threads", OPT_INT, F(threads), 1, 256, NULL, SIM_CONFIG_STARTUP, "N",
     "worker threads serving connections (default: number of CPUs, at least 2)"},
    {"seed", OPT_U64, F(seed), 0, 0, NULL, SIM_CONFIG_REBUILD, "N",
     "seed of the generated catalog (default 1)"},
    {"skus", OPT_INT, F(skus), 0, 10000000, NULL, SIM_CONFIG_REBUILD, "N",
     "number of SKUs in the generated catalog (default 1000)"},
    {"catalog", OPT_STR, F(catalog), 0, 0, NULL, SIM_CONFIG_REBUILD, "FILE",
     "load the catalog from FILE (JSON lines as GET /sim/catalog gives, or "
     "{\"inventoryItems\":[...],\"offers\":[...]}) instead of generating it"},
    {"offset-mode", OPT_ENUM, F(offset_mode), 0, 0, offset_modes, 0, "record|page",
     "whether offset counts records (as eBay's next links do) or pages (as the "
     "contract says) (default record)"},
    {"token", OPT_STR, F(token), 0, 0, NULL, 0, "T",
     "an access token that is always valid, besides issued ones"},
    {"refresh-token", OPT_STR, F(refresh_token), 0, 0, NULL, 0, "T",
     "a refresh token that is valid until revoked, as if a consent had happened"},
    {"token-ttl", OPT_INT, F(token_ttl), 1, 1e9, NULL, 0, "S",
     "lifetime of issued access tokens in seconds (default 7200)"},
    {"code-ttl", OPT_INT, F(code_ttl), 1, 86400, NULL, 0, "S",
     "lifetime of authorization codes in seconds (default 300)"},
    {"client-id", OPT_STR, F(client_id), 0, 0, NULL, 0, "ID",
     "OAuth client id (default ebaysync-sim-client)"},
    {"client-secret", OPT_STR, F(client_secret), 0, 0, NULL, 0, "SECRET",
     "OAuth client secret (default ebaysync-sim-secret)"},
    {"redirect-uri", OPT_STR, F(redirect_uri), 0, 0, NULL, 0, "URL",
     "the registered redirect URL of the consent flow (default: none)"},
    {"latency-ms", OPT_INT, F(latency_ms), 0, 600000, NULL, 0, "MS",
     "fixed delay before every API and token answer (default 0)"},
    {"jitter-ms", OPT_INT, F(jitter_ms), 0, 600000, NULL, 0, "MS",
     "random extra delay, uniform in 0..MS (default 0)"},
    {"rps", OPT_DOUBLE, F(rps), 0, 1e9, NULL, SIM_CONFIG_LIMITER, "N",
     "rate limit in API calls a second; over it, 429 errorId 2001 (default 0: none)"},
    {"burst", OPT_DOUBLE, F(burst), 0, 1e9, NULL, SIM_CONFIG_LIMITER, "M",
     "token bucket size of the rate limit (default max(1, rps))"},
    {"rate-scope", OPT_ENUM, F(rate_scope), 0, 0, rate_scopes, SIM_CONFIG_LIMITER, "global|token",
     "one bucket for all callers or one per access token (default global)"},
    {"retry-after", OPT_BOOL, F(retry_after), 0, 0, NULL, 0, NULL,
     "send Retry-After on 429 answers (default: none, as eBay)"},
    {"daily-quota", OPT_INT, F(daily_quota), 0, 1e15, NULL, SIM_CONFIG_LIMITER, "N",
     "API calls allowed per 24 hours from start or reset (default 0: unlimited)"},
    {"fault-rate", OPT_DOUBLE, F(fault_rate), 0, 1, NULL, 0, "P",
     "share of API calls that get a fault, spread over the enabled kinds (those "
     "with a --fail-* rate, else all but stall)"},
    {"fail-500", OPT_DOUBLE, F(fail_500), 0, 1, NULL, 0, "P", "rate of 500 errorId 25001 answers"},
    {"fail-25025", OPT_DOUBLE, F(fail_25025), 0, 1, NULL, 0, "P",
     "rate of 500 errorId 25025 (concurrent access) answers"},
    {"fail-reset", OPT_DOUBLE, F(fail_reset), 0, 1, NULL, 0, "P",
     "rate of connections reset without an answer"},
    {"fail-truncate", OPT_DOUBLE, F(fail_truncate), 0, 1, NULL, 0, "P",
     "rate of bodies cut in the middle"},
    {"fail-malformed", OPT_DOUBLE, F(fail_malformed), 0, 1, NULL, 0, "P",
     "rate of 200 answers with malformed JSON"},
    {"fail-stall", OPT_DOUBLE, F(fail_stall), 0, 1, NULL, 0, "P",
     "rate of answers that stall for --stall-ms"},
    {"stall-ms", OPT_INT, F(stall_ms), 1, 3600000, NULL, 0, "MS",
     "how long a stalled answer waits (default 120000)"},
    {"churn", OPT_DOUBLE, F(churn), 0, 1e6, NULL, 0, "R",
     "catalog edits a second while serving: adds, removes and edits (default 0)"},
    {"no-offers-404", OPT_BOOL, F(no_offers_404), 0, 0, NULL, 0, NULL,
     "answer getOffers for a SKU without offers with 404 errorId 25713"},
    {"feed-delay-ms", OPT_INT, F(feed_delay_ms), 0, 86400000, NULL, 0, "MS",
     "time an inventory report task takes from CREATED to COMPLETED (default 2000)"},
    {"feed-daily-cap", OPT_INT, F(feed_daily_cap), 0, 1e9, NULL, 0, "N",
     "report tasks a seller may create per 24 hours; past it, 409 errorId 160025 "
     "(default 25, eBay's; 0: none)"},
    {"feed-fail", OPT_DOUBLE, F(feed_fail), 0, 1, NULL, 0, "P",
     "share of report tasks that end FAILED"},
    {"feed-partial", OPT_DOUBLE, F(feed_partial), 0, 1, NULL, 0, "P",
     "share of report tasks that end COMPLETED_WITH_ERROR"},
    {"feed-cut", OPT_DOUBLE, F(feed_cut), 0, 1, NULL, 0, "P",
     "share of report downloads cut off halfway"},
    {"feed-corrupt", OPT_DOUBLE, F(feed_corrupt), 0, 1, NULL, 0, "P",
     "share of report downloads whose archive is damaged"},
};

#define N_OPTS (sizeof(opts) / sizeof(opts[0]))

void sim_config_defaults(struct sim_config *cfg)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->listen, sizeof(cfg->listen), "127.0.0.1:0");
	cfg->seed = 1;
	cfg->skus = 1000;
	cfg->offset_mode = SIM_OFFSET_RECORD;
	cfg->token_ttl = 7200;
	cfg->code_ttl = 300;
	snprintf(cfg->client_id, sizeof(cfg->client_id), "ebaysync-sim-client");
	snprintf(cfg->client_secret, sizeof(cfg->client_secret), "ebaysync-sim-secret");
	cfg->stall_ms = 120000;
	cfg->feed_delay_ms = 2000;
	cfg->feed_daily_cap = 25;
	cfg->threads = cpus > 2 ? (int)(cpus > 64 ? 64 : cpus) : 2;
}

static const struct opt *find_opt(const char *name, size_t len, int underscores)
{
	for (size_t i = 0; i < N_OPTS; i++) {
		const char *o = opts[i].name;
		size_t j;

		if (strlen(o) != len)
			continue;
		for (j = 0; j < len; j++) {
			char c = name[j];
			if (underscores && c == '_')
				c = '-';
			else if (underscores && c == '-')
				break; /* JSON spells names with underscores only */
			if (c != o[j])
				break;
		}
		if (j == len)
			return &opts[i];
	}
	return NULL;
}

static void json_name(const struct opt *o, char *out, size_t size)
{
	size_t i;

	for (i = 0; o->name[i] && i + 1 < size; i++)
		out[i] = o->name[i] == '-' ? '_' : o->name[i];
	out[i] = '\0';
}

static void describe_range(const struct opt *o, struct buf *why)
{
	switch (o->kind) {
	case OPT_U64:
		buf_adds(why, "want an unsigned integer");
		break;
	case OPT_INT:
		buf_addf(why, "want an integer from %.0f to %.0f", o->min, o->max);
		break;
	case OPT_DOUBLE:
		buf_addf(why, "want a number from %g to %g", o->min, o->max);
		break;
	case OPT_BOOL:
		buf_adds(why, "want true or false");
		break;
	case OPT_STR:
		buf_addf(why, "want a string of at most %zu bytes", o->size - 1);
		break;
	case OPT_ENUM:
		buf_adds(why, "want one of");
		for (size_t i = 0; o->choices[i]; i++)
			buf_addf(why, "%s %s", i ? "," : "", o->choices[i]);
		break;
	}
}

/* Parses text for option o into cfg; returns 0 or -1 when it does not fit. */
static int set_from_text(struct sim_config *cfg, const struct opt *o, const char *text)
{
	char *field = (char *)cfg + o->offset;
	char *end;

	errno = 0;
	switch (o->kind) {
	case OPT_U64: {
		unsigned long long v;
		if (!*text || *text == '-')
			return -1;
		v = strtoull(text, &end, 10);
		if (errno || *end)
			return -1;
		*(uint64_t *)field = v;
		return 0;
	}
	case OPT_INT: {
		long long v = strtoll(text, &end, 10);
		if (!*text || errno || *end || v < (long long)o->min || v > (long long)o->max)
			return -1;
		if (o->size == sizeof(int))
			*(int *)field = (int)v;
		else
			*(long long *)field = v;
		return 0;
	}
	case OPT_DOUBLE: {
		double v = strtod(text, &end);
		if (!*text || errno || *end || !isfinite(v) || v < o->min || v > o->max)
			return -1;
		*(double *)field = v;
		return 0;
	}
	case OPT_BOOL:
		if (!strcmp(text, "1") || !strcmp(text, "true") || !strcmp(text, "yes"))
			*(int *)field = 1;
		else if (!strcmp(text, "0") || !strcmp(text, "false") || !strcmp(text, "no"))
			*(int *)field = 0;
		else
			return -1;
		return 0;
	case OPT_STR:
		if (strlen(text) >= o->size)
			return -1;
		memcpy(field, text, strlen(text) + 1);
		return 0;
	case OPT_ENUM:
		for (int i = 0; o->choices[i]; i++) {
			if (!strcmp(text, o->choices[i])) {
				*(int *)field = i;
				return 0;
			}
		}
		return -1;
	}
	return -1;
}

enum error sim_config_parse_argv(struct sim_config *cfg, int argc, char **argv, struct buf *why)
{
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i], *name, *eq, *value;
		const struct opt *o;
		size_t len;

		if (strncmp(arg, "--", 2) != 0 || !arg[2]) {
			buf_addf(why,
				 "unexpected argument '%s' (options start with --; see --help)",
				 arg);
			return ERR_INVALID;
		}
		name = arg + 2;
		eq = strchr(name, '=');
		len = eq ? (size_t)(eq - name) : strlen(name);
		o = find_opt(name, len, 0);
		if (!o) {
			buf_addf(why, "unknown option '--%.*s' (see --help)", (int)len, name);
			return ERR_INVALID;
		}
		if (eq) {
			value = eq + 1;
		} else if (o->kind == OPT_BOOL) {
			value = "1";
		} else if (i + 1 < argc) {
			value = argv[++i];
		} else {
			buf_addf(why, "option '--%s' needs a value (%s)", o->name, o->metavar);
			return ERR_INVALID;
		}
		if (set_from_text(cfg, o, value)) {
			buf_addf(why, "invalid value for --%s: '%s' (", o->name, value);
			describe_range(o, why);
			buf_adds(why, ")");
			return ERR_INVALID;
		}
	}
	return ERR_OK;
}

/* Applies one JSON value; returns 0 or -1 when it does not fit. */
static int set_from_json(struct sim_config *cfg, const struct opt *o, const json_t *v)
{
	char *field = (char *)cfg + o->offset;
	char text[64];

	switch (o->kind) {
	case OPT_U64:
		if (json_is_integer(v) && json_integer_value(v) >= 0) {
			*(uint64_t *)field = (uint64_t)json_integer_value(v);
			return 0;
		}
		return json_is_string(v) ? set_from_text(cfg, o, json_string_value(v)) : -1;
	case OPT_INT:
		if (json_is_real(v)) {
			double d = json_real_value(v);
			if (d != floor(d) || fabs(d) > 1e15)
				return -1;
			snprintf(text, sizeof(text), "%.0f", d);
		} else if (json_is_integer(v)) {
			snprintf(text, sizeof(text), "%lld", (long long)json_integer_value(v));
		} else {
			return -1;
		}
		return set_from_text(cfg, o, text);
	case OPT_DOUBLE:
		if (!json_is_number(v))
			return -1;
		snprintf(text, sizeof(text), "%.17g", json_number_value(v));
		return set_from_text(cfg, o, text);
	case OPT_BOOL:
		if (json_is_boolean(v)) {
			*(int *)field = json_is_true(v);
			return 0;
		}
		if (json_is_integer(v) &&
		    (json_integer_value(v) == 0 || json_integer_value(v) == 1)) {
			*(int *)field = (int)json_integer_value(v);
			return 0;
		}
		return -1;
	case OPT_STR:
	case OPT_ENUM:
		if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
			return -1;
		return set_from_text(cfg, o, json_string_value(v));
	}
	return -1;
}

enum error sim_config_apply_json(struct sim_config *cfg, const char *json, size_t len,
				 unsigned *effects, struct buf *why)
{
	struct sim_config next = *cfg;
	json_error_t jerr;
	json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	const char *key;
	json_t *value;
	unsigned fx = 0;
	enum error err = ERR_OK;

	if (!root) {
		buf_addf(why, "config is not valid JSON: %s at line %d column %d", jerr.text,
			 jerr.line, jerr.column);
		return ERR_INVALID;
	}
	if (!json_is_object(root)) {
		buf_adds(why, "config must be a JSON object of settings, e.g. {\"rps\": 5}");
		err = ERR_INVALID;
		goto out;
	}
	json_object_foreach(root, key, value)
	{
		const struct opt *o = find_opt(key, strlen(key), 1);

		if (!o) {
			buf_addf(why, "unknown setting '%s'", key);
			err = ERR_INVALID;
			goto out;
		}
		if (o->effects & SIM_CONFIG_STARTUP) {
			buf_addf(why, "setting '%s' can only be given on the command line", key);
			err = ERR_INVALID;
			goto out;
		}
		if (set_from_json(&next, o, value)) {
			buf_addf(why, "invalid value for '%s' (", key);
			describe_range(o, why);
			buf_adds(why, ")");
			err = ERR_INVALID;
			goto out;
		}
		if (o->kind == OPT_STR
			? strcmp((char *)&next + o->offset, (char *)cfg + o->offset)
			: memcmp((char *)&next + o->offset, (char *)cfg + o->offset, o->size))
			fx |= o->effects;
	}
	*cfg = next;
	if (effects)
		*effects = fx;
out:
	json_decref(root);
	return err;
}

json_t *sim_config_to_json(const struct sim_config *cfg)
{
	json_t *obj = json_object();

	for (size_t i = 0; i < N_OPTS; i++) {
		const struct opt *o = &opts[i];
		const char *field = (const char *)cfg + o->offset;
		char name[64];
		json_t *v = NULL;

		json_name(o, name, sizeof(name));
		switch (o->kind) {
		case OPT_U64:
			/* JSON integers are signed 64-bit in jansson: a huge seed goes as text. */
			if (*(const uint64_t *)field <= (uint64_t)INT64_MAX)
				v = json_integer((json_int_t) * (const uint64_t *)field);
			else
				v = json_sprintf("%llu",
						 (unsigned long long)*(const uint64_t *)field);
			break;
		case OPT_INT:
			v = json_integer(o->size == sizeof(int) ? *(const int *)field
								: *(const long long *)field);
			break;
		case OPT_DOUBLE:
			v = json_real(*(const double *)field);
			break;
		case OPT_BOOL:
			v = json_boolean(*(const int *)field);
			break;
		case OPT_STR:
			v = json_string(field);
			break;
		case OPT_ENUM:
			v = json_string(o->choices[*(const int *)field]);
			break;
		}
		json_object_set_new(obj, name, v ? v : json_null());
	}
	return obj;
}

void sim_config_usage(struct buf *out)
{
	buf_adds(out, "usage: ebaysync-sim [--OPTION VALUE]...\n"
		      "An eBay Sell Inventory API simulator. Every option can also be "
		      "changed while running:\n"
		      "POST /sim/config {\"option_name\": value} (underscores for dashes).\n\n");
	for (size_t i = 0; i < N_OPTS; i++) {
		const struct opt *o = &opts[i];
		char left[64];

		snprintf(left, sizeof(left), "--%s%s%s", o->name, o->metavar ? " " : "",
			 o->metavar ? o->metavar : "");
		buf_addf(out, "  %-28s %s%s\n", left, o->help,
			 o->effects & SIM_CONFIG_STARTUP ? " [start only]" : "");
	}
}
