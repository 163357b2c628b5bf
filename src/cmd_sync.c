/*
 * `ebaysync sync inventory|offers|all|refresh|skus`: the sync engine from the command
 * line. Prints the run's log as it happens ("[HH:MM:SS] line", or JSON
 * lines with --json), keeps a progress line with rate and ETA at the bottom
 * of a terminal, stops cleanly on Ctrl-C at the next cancellation point,
 * and exits 0 (done), 130 (cancelled) or 1 with a one-line reason.
 */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "account.h"
#include "buf.h"
#include "sync.h"
#include "timeutil.h"
#include "xalloc.h"
#include "banned.h"

static const char usage_text[] =
    "usage: ebaysync sync inventory|offers|all|refresh [options]\n"
    "       ebaysync sync skus SKU... [--sku-file F] [options]\n"
    "\n"
    "skus refreshes the given SKUs only: their items by bulkGetInventoryItem (25 a call),\n"
    "then their offers. refresh walks the inventory pages storing what changed, compares\n"
    "eBay's Active Inventory Report with the stored offers, and calls getOffers only for\n"
    "the SKUs the report cannot settle (without the report: for every SKU).\n"
    "\n"
    "  --db PATH|URL        SQLite file or postgres:// URL (EBAYSYNC_DB, DATABASE_URL;\n"
    "                       default ebaysync.db)\n"
    "  --user ID            whose rows these are (EBAYSYNC_USER; default 'default')\n"
    "  --env NAME           production, sandbox or simulator (EBAY_ENV; default production)\n"
    "  --api-base URL       eBay API base URL; overrides --env (EBAY_API_BASE)\n"
    "  --token T            eBay user access token (EBAY_TOKEN)\n"
    "  --token-file F       read the access token from F (EBAY_TOKEN_FILE)\n"
    "                       (without either: the user's linked eBay account, see\n"
    "                       `ebaysync account`; it mints access tokens as needed)\n"
    "  --marketplace ID     X-EBAY-C-MARKETPLACE-ID (EBAY_MARKETPLACE_ID; default EBAY_US)\n"
    "  --concurrency N      getOffers calls at once, 1-64 (EBAYSYNC_CONCURRENCY; default 8)\n"
    "  --max-rps R          ceiling on requests a second for the whole install: the\n"
    "                       processes on the database share it (EBAYSYNC_MAX_RPS; default\n"
    "                       none: the rate eBay accepts is found as the sync goes, and\n"
    "                       shared with them; EBAYSYNC_PACER_SHARE=0: not shared)\n"
    "  --page-size N        inventory items per page, 1-200 (default 200)\n"
    "  --timeout S          whole-request timeout in seconds (default 60)\n"
    "  --max-attempts N     tries per request before a SKU counts as failed (default 8)\n"
    "  --sku-file F         skus: read SKUs from F, one a line\n"
    "  --resume             offers: skip the SKUs that the last stopped (cancelled,\n"
    "                       interrupted or failed) offers run already stored\n"
    "  --report-only        refresh: fail when the report cannot be had, instead of\n"
    "                       calling getOffers for every SKU\n"
    "  --report-wait S      refresh: wait for eBay to build the report at most S seconds\n"
    "                       (default 3600)\n"
    "  --request-log FILE   append the eBay request log (JSON lines) to FILE\n"
    "  --json               print the run's events as JSON lines\n"
    "  --quiet              print only warnings, errors, the progress line and the summary\n"
    "  --help               this text\n"
    "\n"
    "Exit status: 0 done (failed SKUs are listed and recorded), 130 cancelled (Ctrl-C),\n"
    "1 failed, 2 usage error.\n";

static struct sync_run *volatile current_run;
static volatile sig_atomic_t interrupts;

static void on_signal(int sig)
{
	if (++interrupts > 1)
		_exit(CLI_EXIT_CANCELLED); /* a second Ctrl-C: leave now */
	if (current_run)
		sync_run_cancel(current_run);
}

struct printer {
	int json;
	int quiet;
	int tty;
	long long t0;
	int status_shown;
};

static void status_line(struct printer *p, const struct event *e)
{
	json_t *d = json_loads(e->data, 0, NULL);
	json_t *c = json_object_get(d, "counts");
	long long fetched = json_integer_value(json_object_get(c, "fetched"));
	long long stored = json_integer_value(json_object_get(c, "stored"));
	long long failed = json_integer_value(json_object_get(c, "failed"));
	long long cur = json_integer_value(json_object_get(c, "current"));
	long long total = json_integer_value(json_object_get(c, "total"));
	const char *unit = json_string_value(json_object_get(c, "unit"));
	double secs = (double)(timeutil_mono_ms() - p->t0) / 1000.0;
	double rate = secs > 0 ? (double)cur / secs : 0;

	fprintf(stderr, "\r\033[KFetched: %lld, Stored: %lld, Failed: %lld | %s %lld/%lld", fetched,
		stored, failed, unit && !strcmp(unit, "sku") ? "SKU" : "page", cur, total);
	if (rate > 0 && total > cur)
		fprintf(stderr, " | %.1f/s | ETA %.0fs", rate, (double)(total - cur) / rate);
	p->status_shown = 1;
	json_decref(d);
}

static void print_event(void *ctx, const struct event *e)
{
	struct printer *p = ctx;
	char hms[16];
	int loud = e->type == EVENT_WARNING || e->type == EVENT_ERROR ||
		   event_type_final(e->type) || e->type == EVENT_START;

	if (p->json) {
		printf("%s\n", e->data);
		fflush(stdout);
		return;
	}
	if (p->tty && p->status_shown)
		fprintf(stderr, "\r\033[K");
	if (!p->quiet || loud) {
		timeutil_hms(e->ts_ms, hms, sizeof(hms));
		printf("[%s] %s\n", hms, e->line);
		fflush(stdout);
	}
	if (p->tty && !event_type_final(e->type))
		status_line(p, e);
}

struct sku_list {
	char **items;
	size_t n;
	char *file_data; /* the --sku-file contents the items point into */
};

#define SKU_FILE_MAX (16 * 1024 * 1024)

/* The SKUs of `sync skus`: the arguments, then the lines of the file. */
static int gather_skus(char **args, size_t n_args, const char *file, struct sku_list *out)
{
	struct buf b;
	size_t cap = n_args + 16;
	char *line, *save = NULL;
	FILE *f;

	out->items = xcalloc(cap, sizeof(*out->items));
	for (size_t i = 0; i < n_args; i++)
		out->items[out->n++] = args[i];
	if (file) {
		char chunk[65536];
		size_t got;

		f = fopen(file, "r");
		if (!f) {
			fprintf(stderr, "ebaysync: cannot read the SKU file '%s': %s\n", file,
				strerror(errno));
			goto fail;
		}
		buf_init(&b, SKU_FILE_MAX);
		while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0) {
			if (buf_add(&b, chunk, got)) {
				fprintf(stderr, "ebaysync: the SKU file '%s' is over %d bytes\n",
					file, SKU_FILE_MAX);
				fclose(f);
				buf_release(&b);
				goto fail;
			}
		}
		fclose(f);
		out->file_data = buf_detach(&b, NULL);
		for (line = strtok_r(out->file_data, "\n", &save); line;
		     line = strtok_r(NULL, "\n", &save)) {
			size_t len = strlen(line);

			if (len && line[len - 1] == '\r')
				line[--len] = '\0';
			if (!len)
				continue;
			if (out->n == cap) {
				cap *= 2;
				out->items = xrealloc(out->items, cap * sizeof(*out->items));
			}
			out->items[out->n++] = line;
		}
	}
	if (out->n == 0) {
		fprintf(stderr, "ebaysync: sync skus needs at least one SKU (as arguments or with "
				"--sku-file)\n");
		goto fail;
	}
	return 0;
fail:
	FREE_AND_NULL(out->items);
	FREE_AND_NULL(out->file_data);
	out->n = 0;
	return -1;
}

static int run_sync(struct sync_opts *opts, struct printer *pr)
{
	struct sync_run *run = sync_run_new(opts, NULL);
	struct sigaction sa;
	enum error err;
	int code;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	runlog_set_sink(sync_run_log(run), print_event, pr);
	if (opts->token == account_token)
		account_source_set_run(opts->token_ctx, run);
	current_run = run;
	err = sync_run_execute(run);
	current_run = NULL;
	if (pr->tty && pr->status_shown)
		fprintf(stderr, "\r\033[K");
	if (err == ERR_OK) {
		code = CLI_EXIT_OK;
	} else if (err == ERR_CANCELLED) {
		code = CLI_EXIT_CANCELLED;
	} else if (err == ERR_CONFLICT) {
		/* Refused before it started: "an offers sync is already running
		 * for alice (run ...)". */
		fprintf(stderr, "ebaysync: %s\n", sync_run_error(run));
		code = CLI_EXIT_FAILED;
	} else {
		fprintf(stderr, "ebaysync: sync failed: %s\n",
			sync_run_error(run) ? sync_run_error(run) : error_strerror(err));
		code = CLI_EXIT_FAILED;
	}
	sync_run_free(run);
	return code;
}

/* The token source of the command line: one fixed token. */
static enum error fixed_token(void *ctx, int refresh, char **token, struct buf *why)
{
	if (refresh) {
		buf_adds(why, "eBay rejected the access token (expired or revoked): get a new one "
			      "and pass it with --token or --token-file");
		return ERR_AUTH;
	}
	*token = xstrdup(ctx);
	return ERR_OK;
}

/* The command line of `ebaysync sync`, before the token is resolved. */
struct sync_args {
	struct sync_opts opts;
	struct printer pr; /* json and quiet; the rest is set before the run */
	const char *env, *api_base, *token, *token_file, *request_log, *sku_file;
};

/* The defaults, then the environment, into a. Returns -1 to go on, or
 * CLI_EXIT_USAGE after reporting a bad value. */
static int env_args(struct sync_args *a)
{
	struct sync_opts *opts = &a->opts;
	long l;

	memset(a, 0, sizeof(*a));
	a->env = cli_env("EBAY_ENV", NULL);
	a->api_base = cli_env("EBAY_API_BASE", NULL);
	a->token = cli_env("EBAY_TOKEN", NULL);
	a->token_file = cli_env("EBAY_TOKEN_FILE", NULL);
	opts->db_url = cli_default_db();
	opts->user_id = cli_env("EBAYSYNC_USER", "default");
	opts->ebay.marketplace_id = cli_env("EBAY_MARKETPLACE_ID", "EBAY_US");
	opts->ebay.concurrency = 8;
	opts->ebay.max_rps = 0; /* no ceiling */
	l = opts->ebay.concurrency;
	if (cli_env_long("EBAYSYNC_CONCURRENCY", 1, 64, &l) ||
	    cli_env_double("EBAYSYNC_MAX_RPS", 0.1, 100000, &opts->ebay.max_rps))
		return CLI_EXIT_USAGE;
	opts->ebay.concurrency = (int)l;
	return -1;
}

/* Applies option c (its argument in optarg) to a. Returns -1 to go on, or
 * the exit status to return at once (--help, a usage error it reported). */
static int apply_arg(int c, struct sync_args *a)
{
	struct sync_opts *opts = &a->opts;
	long l;

	switch (c) {
	case 'd':
		opts->db_url = optarg;
		return -1;
	case 'u':
		opts->user_id = optarg;
		return -1;
	case 'e':
		a->env = optarg;
		return -1;
	case 'a':
		a->api_base = optarg;
		return -1;
	case 't':
		a->token = optarg;
		return -1;
	case 'T':
		a->token_file = optarg;
		a->token = NULL;
		return -1;
	case 'm':
		opts->ebay.marketplace_id = optarg;
		return -1;
	case 'c':
		if (cli_parse_long("--concurrency", optarg, 1, 64, &l))
			return CLI_EXIT_USAGE;
		opts->ebay.concurrency = (int)l;
		return -1;
	case 'r':
		if (cli_parse_double("--max-rps", optarg, 0.1, 100000, &opts->ebay.max_rps))
			return CLI_EXIT_USAGE;
		return -1;
	case 'p':
		if (cli_parse_long("--page-size", optarg, 1, 200, &l))
			return CLI_EXIT_USAGE;
		opts->page_limit = (int)l;
		return -1;
	case 'o':
		if (cli_parse_long("--timeout", optarg, 1, 3600, &l))
			return CLI_EXIT_USAGE;
		opts->ebay.request_timeout_ms = l * 1000;
		return -1;
	case 'R':
		opts->resume = 1;
		return -1;
	case 'S':
		a->sku_file = optarg;
		return -1;
	case 'O':
		opts->report_only = 1;
		return -1;
	case 'W':
		if (cli_parse_long("--report-wait", optarg, 1, 86400, &l))
			return CLI_EXIT_USAGE;
		opts->report_deadline_ms = l * 1000;
		return -1;
	case 'A':
		if (cli_parse_long("--max-attempts", optarg, 1, 100, &l))
			return CLI_EXIT_USAGE;
		opts->ebay.max_attempts = (int)l;
		return -1;
	case 'l':
		a->request_log = optarg;
		return -1;
	case 'j':
		a->pr.json = 1;
		return -1;
	case 'q':
		a->pr.quiet = 1;
		return -1;
	case 'h':
		fputs(usage_text, stdout);
		return CLI_EXIT_OK;
	default:
		fputs(usage_text, stderr);
		return CLI_EXIT_USAGE;
	}
}

/*
 * Reads the environment, then the options and the kind into a. Returns -1
 * to go on, or the exit status to return at once (--help, a usage error,
 * which it has reported). The strings of a point into argv or environ.
 */
static int parse_args(int argc, char **argv, struct sync_args *a)
{
	static const struct option longopts[] = {
	    {"db", required_argument, NULL, 'd'},
	    {"user", required_argument, NULL, 'u'},
	    {"env", required_argument, NULL, 'e'},
	    {"api-base", required_argument, NULL, 'a'},
	    {"token", required_argument, NULL, 't'},
	    {"token-file", required_argument, NULL, 'T'},
	    {"marketplace", required_argument, NULL, 'm'},
	    {"concurrency", required_argument, NULL, 'c'},
	    {"max-rps", required_argument, NULL, 'r'},
	    {"page-size", required_argument, NULL, 'p'},
	    {"timeout", required_argument, NULL, 'o'},
	    {"max-attempts", required_argument, NULL, 'A'},
	    {"resume", no_argument, NULL, 'R'},
	    {"sku-file", required_argument, NULL, 'S'},
	    {"report-only", no_argument, NULL, 'O'},
	    {"report-wait", required_argument, NULL, 'W'},
	    {"request-log", required_argument, NULL, 'l'},
	    {"json", no_argument, NULL, 'j'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct sync_opts *opts = &a->opts;
	int c, code;

	code = env_args(a);
	if (code >= 0)
		return code;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		code = apply_arg(c, a);
		if (code >= 0)
			return code;
	}
	if (optind >= argc || sync_kind_parse(argv[optind], &opts->kind) ||
	    (opts->kind != SYNC_SKUS && optind != argc - 1)) {
		fprintf(stderr,
			"ebaysync: sync needs one of inventory, offers, all, refresh or skus%s%s\n",
			optind < argc ? ", not " : "", optind < argc ? argv[optind] : "");
		fputs(usage_text, stderr);
		return CLI_EXIT_USAGE;
	}
	return -1;
}

/*
 * Sets a->opts.token and token_ctx: the token given (--token, --token-file,
 * EBAY_TOKEN...), else the user's linked eBay account for env and
 * given_base (the --api-base asked for, before --env filled it in). On
 * success the caller frees *token_buf and closes *linked after the run.
 * Returns 0, or -1 after reporting why there is no token.
 */
static int resolve_token(struct sync_args *a, const char *given_base, char **token_buf,
			 struct account_linked **linked)
{
	struct buf why = BUF_INIT;
	const char *token = a->token;
	int ret = -1;

	if (!token && a->token_file) {
		token = *token_buf = cli_read_secret_file(a->token_file);
		if (!token)
			goto out;
	}
	if ((!token || !*token) && account_linked_open(a->opts.db_url, a->env, given_base,
						       a->opts.user_id, linked, &why)) {
		fprintf(stderr,
			"ebaysync: no eBay access token: pass --token, --token-file, or set "
			"EBAY_TOKEN; %s\n",
			buf_str(&why));
		goto out;
	}
	a->opts.token = *linked ? account_token : fixed_token;
	a->opts.token_ctx = *linked ? (void *)account_linked_source(*linked) : (void *)token;
	ret = 0;
out:
	buf_release(&why);
	return ret;
}

int cmd_sync(int argc, char **argv)
{
	struct sync_args a;
	const char *given_base;
	char *token_buf = NULL;
	struct account_linked *linked = NULL;
	FILE *rlog = NULL;
	struct sku_list skus = {0};
	int code = parse_args(argc, argv, &a);

	if (code >= 0)
		return code;
	code = CLI_EXIT_USAGE; /* until the run */
	if (a.opts.kind == SYNC_SKUS) {
		if (gather_skus(argv + optind + 1, (size_t)(argc - optind - 1), a.sku_file, &skus))
			return CLI_EXIT_USAGE;
		a.opts.skus = (const char *const *)skus.items;
		a.opts.n_skus = skus.n;
	}
	given_base = a.api_base;
	if (cli_ebay_target("sync", &a.env, &a.api_base))
		goto out;
	a.opts.env_name = a.env;
	a.opts.ebay.api_base = a.api_base;
	if (resolve_token(&a, given_base, &token_buf, &linked))
		goto out;
	if (a.request_log) {
		rlog = fopen(a.request_log, "a");
		if (!rlog) {
			perror(a.request_log);
			goto out;
		}
		a.opts.request_log = rlog;
	}
	a.pr.tty = isatty(STDERR_FILENO) && !a.pr.json;
	a.pr.t0 = timeutil_mono_ms();
	code = run_sync(&a.opts, &a.pr);
out:
	free(skus.items);
	free(skus.file_data);
	if (rlog)
		fclose(rlog);
	free(token_buf);
	account_linked_close(linked);
	return code;
}
