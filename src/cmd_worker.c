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
#include "quota.h"
#include "runs.h"
#include "secret.h"
#include "storepool.h"
#include "timeutil.h"
#include "worker.h"
#include "xalloc.h"
#include "banned.h"

#define WORKER_STOP_WAIT_MS 60000

struct worker_opts {
	struct cli_run_opts run; /* shared with `ebaysync serve` */
	long slots;
	long long poll_ms;
};

static void usage(FILE *f)
{
	fputs("usage: ebaysync worker [options]\n"
	      "\n"
	      "Claims queued sync runs from the database and executes them.\n"
	      "\n"
	      "  --slots N              runs executed at once (2)\n"
	      "  --poll-ms MS           how often an idle slot looks for a job (300)\n",
	      f);
	fputs(cli_run_usage, f);
	fputs("\n"
	      "Secrets: EBAYSYNC_SECRET_KEY (or secret.key) opens users' eBay tokens, as for\n"
	      "`ebaysync serve`.\n",
	      f);
}

/* Applies option c; 0 to go on, 1 after the help, 2 on a usage error. */
static int apply_opt(int c, struct worker_opts *o)
{
	long n;
	int ret = cli_run_opt(c, optarg, &o->run);

	if (ret >= 0)
		return ret;
	switch (c) {
	case 's':
		return cli_parse_long("--slots", optarg, 1, 256, &o->slots) ? 2 : 0;
	case 'P':
		if (cli_parse_long("--poll-ms", optarg, 10, 3600000, &n))
			return 2;
		o->poll_ms = n;
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
	    CLI_RUN_LONGOPTS,
	    {"slots", required_argument, NULL, 's'},
	    {"poll-ms", required_argument, NULL, 'P'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int c, ret;

	memset(o, 0, sizeof(*o));
	o->slots = 2;
	if (cli_run_opts_init(&o->run))
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
	return cli_ebay_target("worker", &o->run.env, &o->run.api_base) ? 2 : 0;
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
	struct quota *quota = NULL;
	struct buf why = BUF_INIT;
	long long deadline;
	long daily = 0;
	int rc_exit = 1;

	memset(&key, 0, sizeof(key));
	if (storepool_new(o->run.db, 2 * (size_t)o->slots + 2, &pool, &why) ||
	    secret_key_load(o->run.db, &key, &why) ||
	    accounts_from_env(o->run.env, o->run.api_base, pool, &key, &accounts, &why) ==
		ERR_INVALID) {
		fprintf(stderr, "ebaysync worker: %s\n", buf_str(&why));
		goto out;
	}
	memset(&rc, 0, sizeof(rc));
	rc.env_name = o->run.env;
	rc.ebay.api_base = o->run.api_base;
	rc.ebay.marketplace_id = o->run.marketplace;
	rc.ebay.concurrency = (int)o->run.concurrency;
	rc.ebay.max_rps = o->run.max_rps;
	rc.key = &key;
	rc.accounts = accounts;
	rc.quiet = o->run.quiet;
	runs = runs_new(&rc, pool);
	/* The install's daily eBay quota, from the ledger every process keeps
	 * (serve also reads eBay's Developer Analytics when it can). */
	if (cli_env_long("EBAYSYNC_DAILY_QUOTA", 1, 2000000000L, &daily))
		goto out;
	quota = quota_new(pool, &(struct quota_config){.daily_quota = daily,
						       .jobs = quota_jobs_from_queue,
						       .jobs_ctx = pool});
	w = worker_start(&(struct worker_config){.runs = runs,
						 .pool = pool,
						 .slots = (int)o->slots,
						 .lease_ms = o->run.lease_ms,
						 .poll_ms = o->poll_ms,
						 .admit = quota_worker_admit,
						 .admit_ctx = quota});
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
	quota_free(quota);
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
