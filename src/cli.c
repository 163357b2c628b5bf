/*
 * The ebaysync command line (see cli.h): the table of subcommands, help,
 * and the small parsing helpers every subcommand shares.
 */
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "ebay.h"
#include "secret.h"
#include "store.h"
#include "xalloc.h"
#include "banned.h"

#define SECRET_FILE_MAX (64 * 1024)

struct cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
};

static const struct cmd commands[] = {
    {"sync", cmd_sync, "sync inventory, offers or all from eBay into the database"},
    {"serve", cmd_serve, "serve the API, the live sync log and the web page"},
    {"worker", cmd_worker, "execute queued sync runs (the job queue's worker)"},
    {"user", cmd_user, "add and list users, set their eBay tokens"},
    {"token", cmd_token, "print a login token (JWT) for a user, for scripts"},
    {"account", cmd_account, "link users' eBay accounts (OAuth) and show when tokens expire"},
    {"apikey", cmd_apikey, "create, list and revoke API keys for scripts"},
    {"webhook", cmd_webhook, "add, list and remove webhook endpoints"},
    {"schedule", cmd_schedule, "add, list, remove and switch sync schedules"},
};

static void usage(FILE *out)
{
	fprintf(out, "usage: ebaysync <command> [options]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].help);
	fprintf(out, "\n'ebaysync <command> --help' explains a command's options.\n");
}

int cli_main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return CLI_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return CLI_EXIT_OK;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("ebaysync 0.1.0\n");
		return CLI_EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "ebaysync: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return CLI_EXIT_USAGE;
}

int cli_parse_long(const char *flag, const char *value, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = value ? strtol(value, &end, 10) : 0;
	if (!value || !*value || *end || errno || v < min || v > max) {
		fprintf(stderr, "ebaysync: %s needs a whole number from %ld to %ld, not '%s'\n",
			flag, min, max, value ? value : "");
		return -1;
	}
	*out = v;
	return 0;
}

int cli_parse_double(const char *flag, const char *value, double min, double max, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = value ? strtod(value, &end) : 0;
	if (!value || !*value || *end || errno || !(v >= min && v <= max)) {
		fprintf(stderr, "ebaysync: %s needs a number from %g to %g, not '%s'\n", flag, min,
			max, value ? value : "");
		return -1;
	}
	*out = v;
	return 0;
}

const char *cli_env(const char *name, const char *def)
{
	const char *v = getenv(name);

	return v && *v ? v : def;
}

char *cli_read_secret_file(const char *path)
{
	FILE *f = fopen(path, "r");
	struct buf b;
	char chunk[4096];
	size_t n;

	if (!f) {
		fprintf(stderr, "ebaysync: cannot read '%s': %s\n", path, strerror(errno));
		return NULL;
	}
	buf_init(&b, SECRET_FILE_MAX);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (buf_add(&b, chunk, n)) {
			fprintf(stderr, "ebaysync: '%s' is larger than %d bytes\n", path,
				SECRET_FILE_MAX);
			fclose(f);
			buf_release(&b);
			return NULL;
		}
	}
	fclose(f);
	while (b.len && (b.data[b.len - 1] == '\n' || b.data[b.len - 1] == '\r'))
		b.data[--b.len] = '\0';
	return buf_detach(&b, NULL);
}

const char *cli_default_db(void)
{
	return cli_env("EBAYSYNC_DB", cli_env("DATABASE_URL", "ebaysync.db"));
}

int cli_env_long(const char *name, long min, long max, long *out)
{
	const char *v = cli_env(name, NULL);

	return v ? cli_parse_long(name, v, min, max, out) : 0;
}

int cli_env_double(const char *name, double min, double max, double *out)
{
	const char *v = cli_env(name, NULL);

	return v ? cli_parse_double(name, v, min, max, out) : 0;
}

const char cli_run_usage[] =
    "  --db URL               SQLite file or postgres:// URL (DATABASE_URL, ebaysync.db)\n"
    "  --api-base URL         eBay API base URL, e.g. the simulator's (EBAY_API_BASE)\n"
    "  --env NAME             production, sandbox or simulator (EBAY_ENV; production)\n"
    "  --marketplace ID       X-EBAY-C-MARKETPLACE-ID (EBAY_MARKETPLACE_ID; EBAY_US)\n"
    "  --concurrency N        getOffers requests in flight per run (8)\n"
    "  --max-rps R            ceiling on eBay requests per second of the install, shared\n"
    "                         by its runs and processes (none: found)\n"
    "  --lease-ms MS          a job's lease, renewed by its worker; a job whose worker\n"
    "                         stopped goes back to the queue after it (30000)\n"
    "  --quiet                do not print run starts and ends\n";

int cli_run_opts_init(struct cli_run_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->db = cli_default_db();
	o->api_base = cli_env("EBAY_API_BASE", NULL);
	o->env = cli_env("EBAY_ENV", NULL);
	o->marketplace = cli_env("EBAY_MARKETPLACE_ID", "EBAY_US");
	if (cli_env_long("EBAYSYNC_CONCURRENCY", 1, 256, &o->concurrency) ||
	    cli_env_double("EBAYSYNC_MAX_RPS", 0.1, 100000, &o->max_rps))
		return 2;
	return 0;
}

int cli_run_opt(int c, const char *arg, struct cli_run_opts *o)
{
	long n;

	switch (c) {
	case 'd':
		o->db = arg;
		return 0;
	case 'a':
		o->api_base = arg;
		return 0;
	case 'e':
		o->env = arg;
		return 0;
	case 'm':
		o->marketplace = arg;
		return 0;
	case 'c':
		return cli_parse_long("--concurrency", arg, 1, 256, &o->concurrency) ? 2 : 0;
	case 'r':
		return cli_parse_double("--max-rps", arg, 0.1, 100000, &o->max_rps) ? 2 : 0;
	case 'L':
		if (cli_parse_long("--lease-ms", arg, 200, 3600000, &n))
			return 2;
		o->lease_ms = n;
		return 0;
	case 'q':
		o->quiet = 1;
		return 0;
	default:
		return -1;
	}
}

int cli_ebay_target(const char *cmd, const char **env, const char **api_base)
{
	if (!*env)
		*env = *api_base ? "simulator" : "production";
	if (strcmp(*env, "production") && strcmp(*env, "sandbox") && strcmp(*env, "simulator")) {
		fprintf(stderr,
			"ebaysync %s: --env must be production, sandbox or simulator, not '%s'\n",
			cmd, *env);
		return -1;
	}
	if (!*api_base && !strcmp(*env, "simulator")) {
		fprintf(stderr,
			"ebaysync %s: --env simulator needs --api-base (the simulator's URL)\n",
			cmd);
		return -1;
	}
	if (!*api_base)
		*api_base = strcmp(*env, "sandbox") ? EBAY_API_PRODUCTION : EBAY_API_SANDBOX;
	return 0;
}

int cli_open_store(const char *cmd, const char *db, struct store **s, struct secret_key *key)
{
	struct buf why = BUF_INIT;
	int rc = 0;

	if (store_open(db, s, &why)) {
		fprintf(stderr, "ebaysync %s: cannot open database '%s': %s\n", cmd, db,
			buf_str(&why));
		rc = 1;
	} else if (key && secret_key_load(db, key, &why)) {
		fprintf(stderr, "ebaysync %s: %s\n", cmd, buf_str(&why));
		store_close(*s);
		*s = NULL;
		rc = 1;
	}
	buf_release(&why);
	return rc;
}
