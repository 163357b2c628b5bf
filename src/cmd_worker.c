/*
 * `ebaysync worker`: a process of worker slots (worker.h) that claims runs
 * from the job queue in the database and executes them (runs.h), as
 * `ebaysync serve` does with its own slots, without serving anything. Run
 * as many as the database and eBay's rate allow, on any machines that
 * reach the database (docs/queue.md).
 *
 * On SIGINT or SIGTERM it claims no more jobs, hands its runs back to the
 * queue at their next safe point (another worker resumes them) and exits 0.
 */
#include "cli.h"

#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "account.h"
#include "ebay.h"
#include "queue.h"
#include "runs.h"
#include "secret.h"
#include "storepool.h"
#include "timeutil.h"
#include "worker.h"
#include "xalloc.h"
#include "banned.h"

#define WORKER_STOP_WAIT_MS 60000

struct worker_opts {
	const char *db, *api_base, *env, *marketplace;
	long slots, concurrency;
	long long lease_ms, poll_ms;
	double max_rps;
	int quiet;
};

static void usage(FILE *f)
{
	fputs(
	    "usage: ebaysync worker [options]\n"
	    "\n"
	    "Claims queued sync runs from the database and executes them.\n"
	    "\n"
	    "  --db URL               SQLite file or postgres:// URL (DATABASE_URL, ebaysync.db)\n"
	    "  --slots N              runs executed at once (2)\n"
	    "  --api-base URL         eBay API base URL, e.g. the simulator's (EBAY_API_BASE)\n"
	    "  --env NAME             production, sandbox or simulator (EBAY_ENV; production)\n"
	    "  --marketplace ID       X-EBAY-C-MARKETPLACE-ID (EBAY_MARKETPLACE_ID; EBAY_US)\n"
	    "  --concurrency N        getOffers requests in flight per run (8)\n"
	    "  --max-rps R            ceiling on eBay requests per second per run (none)\n"
	    "  --lease-ms MS          a job's lease, renewed while it runs (30000)\n"
	    "  --poll-ms MS           how often an idle slot looks for a job (300)\n"
	    "  --quiet                do not print run starts and ends\n"
	    "\n"
	    "Secrets: EBAYSYNC_SECRET_KEY (or secret.key) opens users' eBay tokens, as for\n"
	    "`ebaysync serve`.\n",
	    f);
}

/* Applies option c; 0 to go on, 1 after the help, 2 on a usage error. */
static int apply_opt(int c, struct worker_opts *o)
{
	long n;

	switch (c) {
	case 'd':
		o->db = optarg;
		return 0;
	case 'a':
		o->api_base = optarg;
		return 0;
	case 'e':
		o->env = optarg;
		return 0;
	case 'm':
		o->marketplace = optarg;
		return 0;
	case 's':
		return cli_parse_long("--slots", optarg, 1, 256, &o->slots) ? 2 : 0;
	case 'c':
		return cli_parse_long("--concurrency", optarg, 1, 256, &o->concurrency) ? 2 : 0;
	case 'r':
		return cli_parse_double("--max-rps", optarg, 0.1, 100000, &o->max_rps) ? 2 : 0;
	case 'L':
	case 'P':
		if (cli_parse_long(c == 'L' ? "--lease-ms" : "--poll-ms", optarg,
				   c == 'L' ? 200 : 10, 3600000, &n))
			return 2;
		*(c == 'L' ? &o->lease_ms : &o->poll_ms) = n;
		return 0;
	case 'q':
		o->quiet = 1;
		return 0;
	case 'h':
		usage(stdout);
		return 1;
	default:
		usage(stderr);
		return 2;
	}
}

static int parse_opts(int argc, char **argv, struct worker_opts *o)
{
	static const struct option longopts[] = {
	    {"db", required_argument, NULL, 'd'},
	    {"api-base", required_argument, NULL, 'a'},
	    {"env", required_argument, NULL, 'e'},
	    {"marketplace", required_argument, NULL, 'm'},
	    {"slots", required_argument, NULL, 's'},
	    {"concurrency", required_argument, NULL, 'c'},
	    {"max-rps", required_argument, NULL, 'r'},
	    {"lease-ms", required_argument, NULL, 'L'},
	    {"poll-ms", required_argument, NULL, 'P'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int c, ret;

	memset(o, 0, sizeof(*o));
	o->db = cli_default_db();
	o->api_base = cli_env("EBAY_API_BASE", NULL);
	o->env = cli_env("EBAY_ENV", NULL);
	o->marketplace = cli_env("EBAY_MARKETPLACE_ID", "EBAY_US");
	o->slots = 2;
	if (cli_env_long("EBAYSYNC_CONCURRENCY", 1, 256, &o->concurrency) ||
	    cli_env_double("EBAYSYNC_MAX_RPS", 0.1, 100000, &o->max_rps))
		return 2;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		ret = apply_opt(c, o);
		if (ret)
			return ret;
	}
	if (optind < argc) {
		fprintf(stderr, "ebaysync worker: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	return cli_ebay_target("worker", &o->env, &o->api_base) ? 2 : 0;
}

/* Waits for SIGINT or SIGTERM (blocked in every thread). */
static void wait_stop(const sigset_t *set)
{
	int sig = 0;

	while (sigwait(set, &sig) != 0)
		;
	printf("%s: stopping: handing running runs back to the queue\n",
	       sig == SIGINT ? "SIGINT" : "SIGTERM");
	fflush(stdout);
}

static int serve_jobs(const struct worker_opts *o, const sigset_t *set)
{
	struct storepool *pool = NULL;
	struct accounts *accounts = NULL;
	struct secret_key key;
	struct runs_config rc;
	struct runs *runs = NULL;
	struct worker *w;
	struct buf why = BUF_INIT;
	long long deadline;
	int rc_exit = 1;

	memset(&key, 0, sizeof(key));
	if (storepool_new(o->db, 2 * (size_t)o->slots + 2, &pool, &why) ||
	    secret_key_load(o->db, &key, &why) ||
	    accounts_from_env(o->env, o->api_base, pool, &key, &accounts, &why) == ERR_INVALID) {
		fprintf(stderr, "ebaysync worker: %s\n", buf_str(&why));
		goto out;
	}
	memset(&rc, 0, sizeof(rc));
	rc.env_name = o->env;
	rc.ebay.api_base = o->api_base;
	rc.ebay.marketplace_id = o->marketplace;
	rc.ebay.concurrency = (int)o->concurrency;
	rc.ebay.max_rps = o->max_rps;
	rc.key = &key;
	rc.accounts = accounts;
	rc.quiet = o->quiet;
	runs = runs_new(&rc, pool);
	w = worker_start(&(struct worker_config){.runs = runs,
						 .pool = pool,
						 .slots = (int)o->slots,
						 .lease_ms = o->lease_ms,
						 .poll_ms = o->poll_ms});
	printf("worker ready: %ld slot%s on %s\n", o->slots, o->slots == 1 ? "" : "s",
	       storepool_backend(pool));
	fflush(stdout);
	wait_stop(set);
	worker_quiesce(w);
	deadline = timeutil_mono_ms() + WORKER_STOP_WAIT_MS;
	while (!runs_shutdown(runs, 200))
		if (timeutil_mono_ms() > deadline) {
			fprintf(stderr, "ebaysync worker: exiting with runs still going\n");
			exit(1); /* their threads still use everything */
		}
	worker_stop(w);
	rc_exit = 0;
out:
	runs_free(runs);
	accounts_free(accounts);
	memset(&key, 0, sizeof(key));
	if (pool)
		storepool_free(pool);
	buf_release(&why);
	return rc_exit;
}

int cmd_worker(int argc, char **argv)
{
	struct worker_opts o;
	sigset_t set;
	int rc;

	rc = parse_opts(argc, argv, &o);
	if (rc)
		return rc == 1 ? 0 : rc;
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	return serve_jobs(&o, &set);
}
