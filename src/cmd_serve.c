/*
 * `ebaysync serve`: the HTTP API, the live event streams and the web page
 * (server.c, api.c, sse.c), with runs executed in this process (runs.c).
 *
 * Signals are taken synchronously: SIGINT and SIGTERM are blocked in every
 * thread and the main thread waits for them with sigwait(). On the first one
 * the server stops accepting connections, cancels its runs, waits for each
 * to end at its next safe point (the engine then records it cancelled), lets
 * event streams send those last events, and exits 0. A second signal while
 * waiting gives up waiting.
 */
#include "cli.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/resource.h>
#include <time.h>

#include "account.h"
#include "api.h"
#include "auth.h"
#include "ebay.h"
#include "runs.h"
#include "secret.h"
#include "server.h"
#include "sse.h"
#include "store.h"
#include "storepool.h"
#include "throttle.h"
#include "timeutil.h"
#include "webhook_send.h"
#include "users.h"
#include "xalloc.h"
#include "banned.h"

#define SHUTDOWN_WAIT_MS 60000

struct serve_opts {
	const char *listen, *db, *api_base, *env, *marketplace;
	const char *demo_user, *demo_token;
	long long token_ttl, heartbeat_s;
	long conns, per_addr, streams, user_streams, login_threads; /* limits; 0: default */
	int concurrency, threads, cookie_secure, quiet, allow_private_webhooks;
	long long webhook_retry_ms;
	double max_rps;
};

static void usage(FILE *f)
{
	fputs(
	    "usage: ebaysync serve [options]\n"
	    "\n"
	    "Serves the API, the live sync log (Server-Sent Events) and the web page.\n"
	    "\n"
	    "  --listen ADDR:PORT     where to listen (127.0.0.1:8080; port 0 picks a free one)\n"
	    "  --db URL               SQLite file or postgres:// URL (DATABASE_URL, ebaysync.db)\n"
	    "  --api-base URL         eBay API base URL, e.g. the simulator's (EBAY_API_BASE)\n"
	    "  --env NAME             production, sandbox or simulator (EBAY_ENV; production)\n"
	    "  --marketplace ID       X-EBAY-C-MARKETPLACE-ID (EBAY_MARKETPLACE_ID; EBAY_US)\n"
	    "  --concurrency N        getOffers requests in flight per run (8)\n"
	    "  --max-rps R            ceiling on eBay requests per second of the install, shared\n"
	    "                         by its runs and processes (none: found)\n"
	    "  --token-ttl SECONDS    lifetime of a login (43200)\n"
	    "  --threads N            HTTP worker threads (4)\n"
	    "  --sse-heartbeat SECONDS  keepalive comment interval of event streams (15)\n"
	    "  --cookie-secure        mark the login cookie Secure (behind HTTPS)\n"
	    "  --max-connections N    connections open at once (4096)\n"
	    "  --max-connections-per-address N  of them from one address (256)\n"
	    "  --max-streams N        event streams open at once (2048)\n"
	    "  --max-streams-per-user N  of them for one user (128)\n"
	    "  --login-threads N      threads hashing login passwords (1)\n"
	    "  --demo-user NAME:PASSWORD  create or update this user at start\n"
	    "  --demo-ebay-token T    and set their eBay token (for demos and tests)\n"
	    "  --quiet                do not print run starts and ends\n"
	    "  --allow-private-webhooks  let webhooks reach loopback, private and link-local\n"
	    "                         addresses (refused by default)\n"
	    "  --webhook-retry-ms MS  first webhook retry delay, then x4 each (30000)\n"
	    "\n"
	    "Secrets: EBAYSYNC_JWT_SECRET (or the key file jwt.key) signs logins;\n"
	    "EBAYSYNC_SECRET_KEY (or secret.key) seals users' eBay tokens. The key files\n"
	    "live next to a SQLite database, or in $XDG_DATA_HOME/ebaysync/.\n"
	    "EBAYSYNC_METRICS_TOKEN, when set, is the Bearer token /metrics requires.\n",
	    f);
}

/* The defaults, then the environment. Returns 0, or 2 after reporting a
 * bad value. */
static int env_opts(struct serve_opts *o)
{
	long n;

	memset(o, 0, sizeof(*o));
	o->listen = cli_env("EBAYSYNC_LISTEN", "127.0.0.1:8080");
	o->db = cli_default_db();
	o->api_base = cli_env("EBAY_API_BASE", NULL);
	o->env = cli_env("EBAY_ENV", NULL);
	o->marketplace = cli_env("EBAY_MARKETPLACE_ID", "EBAY_US");
	o->token_ttl = AUTH_DEFAULT_TTL;
	o->heartbeat_s = SSE_HEARTBEAT_MS / 1000;
	n = 0;
	if (cli_env_long("EBAYSYNC_CONCURRENCY", 1, 256, &n) ||
	    cli_env_double("EBAYSYNC_MAX_RPS", 0.1, 100000, &o->max_rps))
		return 2;
	o->concurrency = (int)n;
	return 0;
}

/* Applies option c (its argument in optarg). Returns 0 to go on, 1 after
 * printing the help, 2 after reporting a usage error. */
static int apply_opt(int c, struct serve_opts *o)
{
	long n;

	switch (c) {
	case 'l':
		o->listen = optarg;
		return 0;
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
	case 'c':
		if (cli_parse_long("--concurrency", optarg, 1, 256, &n))
			return 2;
		o->concurrency = (int)n;
		return 0;
	case 'r':
		if (cli_parse_double("--max-rps", optarg, 0.1, 100000, &o->max_rps))
			return 2;
		return 0;
	case 't':
		if (cli_parse_long("--token-ttl", optarg, 1, 365L * 86400, &n))
			return 2;
		o->token_ttl = n;
		return 0;
	case 'T':
		if (cli_parse_long("--threads", optarg, 1, 256, &n))
			return 2;
		o->threads = (int)n;
		return 0;
	case 'H':
		if (cli_parse_long("--sse-heartbeat", optarg, 1, 3600, &n))
			return 2;
		o->heartbeat_s = n;
		return 0;
	case 'S':
		o->cookie_secure = 1;
		return 0;
	case 'u':
		o->demo_user = optarg;
		return 0;
	case 'k':
		o->demo_token = optarg;
		return 0;
	case 'q':
		o->quiet = 1;
		return 0;
	case 'W':
		o->allow_private_webhooks = 1;
		return 0;
	case 'w':
		if (cli_parse_long("--webhook-retry-ms", optarg, 10, 3600000, &n))
			return 2;
		o->webhook_retry_ms = n;
		return 0;
	case 1000:
	case 1001:
	case 1002:
	case 1003:
	case 1004: {
		static const char *const names[] = {
		    "--max-connections", "--max-connections-per-address", "--max-streams",
		    "--max-streams-per-user", "--login-threads"};
		long *lim[] = {&o->conns, &o->per_addr, &o->streams, &o->user_streams,
			       &o->login_threads};
		if (cli_parse_long(names[c - 1000], optarg, 1, c == 1004 ? 64 : 1000000,
				   lim[c - 1000]))
			return 2;
		return 0;
	}
	case 'h':
		usage(stdout);
		return 1;
	default:
		usage(stderr);
		return 2;
	}
}

/* Fills o from the environment and the command line. Returns 0 to serve, 1
 * when the help was printed, 2 after reporting a usage error. */
static int parse_opts(int argc, char **argv, struct serve_opts *o)
{
	static const struct option longopts[] = {
	    {"listen", required_argument, NULL, 'l'},
	    {"db", required_argument, NULL, 'd'},
	    {"api-base", required_argument, NULL, 'a'},
	    {"env", required_argument, NULL, 'e'},
	    {"marketplace", required_argument, NULL, 'm'},
	    {"concurrency", required_argument, NULL, 'c'},
	    {"max-rps", required_argument, NULL, 'r'},
	    {"token-ttl", required_argument, NULL, 't'},
	    {"threads", required_argument, NULL, 'T'},
	    {"sse-heartbeat", required_argument, NULL, 'H'},
	    {"cookie-secure", no_argument, NULL, 'S'},
	    {"demo-user", required_argument, NULL, 'u'},
	    {"demo-ebay-token", required_argument, NULL, 'k'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"allow-private-webhooks", no_argument, NULL, 'W'},
	    {"webhook-retry-ms", required_argument, NULL, 'w'},
	    {"max-connections", required_argument, NULL, 1000},
	    {"max-connections-per-address", required_argument, NULL, 1001},
	    {"max-streams", required_argument, NULL, 1002},
	    {"max-streams-per-user", required_argument, NULL, 1003},
	    {"login-threads", required_argument, NULL, 1004},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int c, ret;

	ret = env_opts(o);
	if (ret)
		return ret;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		ret = apply_opt(c, o);
		if (ret)
			return ret;
	}
	if (optind < argc) {
		fprintf(stderr, "ebaysync serve: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (cli_ebay_target("serve", &o->env, &o->api_base))
		return 2;
	if (o->demo_token && !o->demo_user) {
		fprintf(stderr, "ebaysync serve: --demo-ebay-token needs --demo-user\n");
		return 2;
	}
	return 0;
}

static void raise_fd_limit(void)
{
	struct rlimit rl;

	/* Every event stream is a socket: allow as many as the hard limit. */
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

struct serve_state {
	struct storepool *pool;
	struct secret_key key;
	struct auth auth;
	int auth_ready;
	struct runs *runs;
	struct accounts *accounts; /* NULL when eBay OAuth is not configured */
	struct sse_hub *hub;
	struct webhook_sender *webhooks;
	struct throttle *throttle;
	struct api api;
	struct server *server;
};

static int setup(const struct serve_opts *o, struct serve_state *st, struct buf *why)
{
	struct runs_config rc;
	struct server_config sc;
	struct store *s;
	long long n = 0;

	if (storepool_new(o->db, 16, &st->pool, why)) {
		fprintf(stderr, "ebaysync serve: cannot open database '%s': %s\n", o->db,
			buf_str(why));
		return 1;
	}
	if (secret_key_load(o->db, &st->key, why) || auth_init(&st->auth, o->db, why)) {
		fprintf(stderr, "ebaysync serve: %s\n", buf_str(why));
		return 1;
	}
	st->auth_ready = 1;
	if (accounts_from_env(o->env, o->api_base, st->pool, &st->key, &st->accounts, why) ==
	    ERR_INVALID) {
		fprintf(stderr, "ebaysync serve: %s\n", buf_str(why));
		return 1;
	}
	buf_reset(why);
	if (o->demo_user) {
		s = storepool_get(st->pool, why);
		if (!s || users_put(s, &st->key, o->demo_user, o->demo_token, USERS_UPSERT, why)) {
			fprintf(stderr, "ebaysync serve: %s\n", buf_str(why));
			storepool_put(st->pool, s, 1);
			return 1;
		}
		storepool_put(st->pool, s, 0);
	}
	st->hub = sse_hub_new(st->pool, o->heartbeat_s * 1000, 0);
	sse_hub_set_limits(st->hub, o->user_streams ? (size_t)o->user_streams : SSE_USER_MAX,
			   o->streams ? (size_t)o->streams : SSE_TOTAL_MAX);
	st->throttle = throttle_new();
	memset(&rc, 0, sizeof(rc));
	rc.env_name = o->env;
	rc.ebay.api_base = o->api_base;
	rc.ebay.marketplace_id = o->marketplace;
	rc.ebay.concurrency = o->concurrency;
	rc.ebay.max_rps = o->max_rps;
	rc.key = &st->key;
	rc.accounts = st->accounts;
	rc.notify = sse_hub_notify;
	rc.notify_ctx = st->hub;
	rc.quiet = o->quiet;
	st->runs = runs_new(&rc, st->pool);
	s = storepool_get(st->pool, why);
	if (!s || runs_recover(st->runs, s, &n, why)) {
		fprintf(stderr, "ebaysync serve: %s\n", buf_str(why));
		storepool_put(st->pool, s, 1);
		return 1;
	}
	storepool_put(st->pool, s, 0);
	if (n > 0)
		printf("marked %lld run%s left running by a stopped process as interrupted\n", n,
		       n == 1 ? "" : "s");

	st->api.pool = st->pool;
	st->api.runs = st->runs;
	st->api.auth = &st->auth;
	st->api.throttle = st->throttle;
	st->api.hub = st->hub;
	st->api.accounts = st->accounts;
	st->api.token_ttl_s = o->token_ttl;
	st->api.metrics_token = cli_env("EBAYSYNC_METRICS_TOKEN", NULL);
	st->api.cookie_secure = o->cookie_secure;
	st->api.key = &st->key;
	st->api.allow_private_webhooks = o->allow_private_webhooks;
	st->webhooks = webhook_sender_start(&(struct webhook_sender_config){
	    .pool = st->pool,
	    .key = &st->key,
	    .allow_private = o->allow_private_webhooks,
	    .retry_base_ms = o->webhook_retry_ms,
	});
	memset(&sc, 0, sizeof(sc));
	sc.listen = o->listen;
	sc.threads = (unsigned)o->threads;
	sc.max_connections = (unsigned)o->conns;
	sc.per_addr = (unsigned)o->per_addr;
	sc.slow_threads = (unsigned)o->login_threads;
	if (server_start(&sc, &st->api, &st->server, why)) {
		fprintf(stderr, "ebaysync serve: %s\n", buf_str(why));
		return 1;
	}
	return 0;
}

static void teardown(struct serve_state *st)
{
	if (st->runs && !runs_shutdown(st->runs, 0)) {
		/* Their threads still use all of it: leave it to exit(). */
		fprintf(stderr, "ebaysync serve: exiting with runs still going\n");
		return;
	}
	webhook_sender_stop(st->webhooks);
	if (st->hub)
		sse_hub_shutdown(st->hub);
	server_stop(st->server);
	sse_hub_free(st->hub);
	throttle_free(st->throttle);
	runs_free(st->runs);
	accounts_free(st->accounts);
	if (st->auth_ready)
		auth_release(&st->auth);
	memset(&st->key, 0, sizeof(st->key));
	storepool_free(st->pool);
}

/* Waits for a signal in set for up to ms (forever when ms < 0); 0 if none came. */
static int wait_signal(const sigset_t *set, long long ms)
{
	struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
	int sig;

	if (ms < 0)
		return sigwait(set, &sig) == 0 ? sig : 0;
	sig = sigtimedwait(set, NULL, &ts);
	return sig > 0 ? sig : 0;
}

int cmd_serve(int argc, char **argv)
{
	struct serve_opts o;
	struct serve_state st;
	struct buf why = BUF_INIT;
	sigset_t set;
	long long deadline;
	int rc, sig;

	rc = parse_opts(argc, argv, &o);
	if (rc)
		return rc == 1 ? 0 : rc;
	memset(&st, 0, sizeof(st));
	raise_fd_limit();
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	/* Before any thread exists, so that every thread inherits the mask. */
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	rc = setup(&o, &st, &why);
	if (rc)
		goto out;
	printf("listening on %s\n", server_url(st.server));
	fflush(stdout);

	sig = wait_signal(&set, -1);
	printf("%s: stopping: no new connections, cancelling %zu running run%s\n",
	       sig == SIGINT ? "SIGINT" : "SIGTERM", runs_active(st.runs),
	       runs_active(st.runs) == 1 ? "" : "s");
	fflush(stdout);
	server_quiesce(st.server);
	deadline = timeutil_mono_ms() + SHUTDOWN_WAIT_MS;
	while (!runs_shutdown(st.runs, 200)) {
		if (timeutil_mono_ms() > deadline || wait_signal(&set, 0)) {
			fprintf(stderr, "ebaysync serve: not waiting for runs any longer\n");
			rc = 1;
			break;
		}
	}
	/* Let streams send the runs' last events and end by themselves. */
	sse_hub_drain(st.hub, 2000);
out:
	teardown(&st);
	buf_release(&why);
	return rc;
}
