/*
 * The ebaysync command line: subcommands dispatched from a table (git.c),
 * one file per subcommand (cmd_*.c), each `int cmd_x(int argc, char **argv)`
 * with argv[0] the subcommand's name, returning the process exit code.
 */
#ifndef CLI_H
#define CLI_H

#define CLI_EXIT_OK	   0
#define CLI_EXIT_FAILED	   1
#define CLI_EXIT_USAGE	   2
#define CLI_EXIT_CANCELLED 130

/* Runs the command line; returns the process exit code. */
int cli_main(int argc, char **argv);

/* Reads an integer flag value in [min, max]; prints a usage error naming the
 * flag and returns -1 when it is not one. */
int cli_parse_long(const char *flag, const char *value, long min, long max, long *out);
int cli_parse_double(const char *flag, const char *value, double min, double max, double *out);
/* The value of the first of the environment variables that is set and
 * non-empty, or def. */
const char *cli_env(const char *name, const char *def);
/* Reads a whole small file (a token, a password), without the trailing
 * newline; NULL with a message on stderr on failure. The caller frees. */
char *cli_read_secret_file(const char *path);

/* The database of every subcommand unless --db says otherwise:
 * EBAYSYNC_DB, else DATABASE_URL, else "ebaysync.db". */
const char *cli_default_db(void);

/*
 * An integer (or a number) from the environment variable name, in
 * [min, max]: sets *out when the variable is set and non-empty, leaves it
 * alone when not, and returns 0; returns -1 with a message naming the
 * variable when it holds anything else.
 */
int cli_env_long(const char *name, long min, long max, long *out);
int cli_env_double(const char *name, double min, double max, double *out);

/*
 * Settles which eBay a subcommand talks to from --env and --api-base (either
 * may be NULL): env defaults to "simulator" when an API base is given, else
 * "production"; it must be production, sandbox or simulator, and simulator
 * needs an API base; the API base defaults to the env's. Returns 0, or -1
 * with a message on stderr headed by cmd (the subcommand's name).
 */
int cli_ebay_target(const char *cmd, const char **env, const char **api_base);

/*
 * The options every process that executes runs shares (`serve` and
 * `worker`): the database, which eBay, how fast, and the job lease. Parse
 * with getopt_long and CLI_RUN_LONGOPTS among a command's own options,
 * handing each option to cli_run_opt() first.
 */
struct cli_run_opts {
	const char *db, *api_base, *env, *marketplace;
	long concurrency;   /* 0: the engine's default */
	double max_rps;	    /* 0: none */
	long long lease_ms; /* 0: QUEUE_LEASE_MS */
	int quiet;
};

/* clang-format off */
#define CLI_RUN_LONGOPTS                                                                           \
	{"db", required_argument, NULL, 'd'},                                                      \
	{"api-base", required_argument, NULL, 'a'},                                                \
	{"env", required_argument, NULL, 'e'},                                                     \
	{"marketplace", required_argument, NULL, 'm'},                                             \
	{"concurrency", required_argument, NULL, 'c'},                                             \
	{"max-rps", required_argument, NULL, 'r'},                                                 \
	{"lease-ms", required_argument, NULL, 'L'},                                                \
	{"quiet", no_argument, NULL, 'q'}
/* clang-format on */

/* The usage lines of CLI_RUN_LONGOPTS. */
extern const char cli_run_usage[];

/* The defaults, then the environment (EBAYSYNC_DB or DATABASE_URL,
 * EBAY_API_BASE, EBAY_ENV, EBAY_MARKETPLACE_ID, EBAYSYNC_CONCURRENCY,
 * EBAYSYNC_MAX_RPS). Returns 0, or 2 after reporting a bad value. */
int cli_run_opts_init(struct cli_run_opts *o);
/* Applies option c (its argument arg) when it is one of CLI_RUN_LONGOPTS:
 * returns 0, or 2 after reporting a bad value; -1 when c is not one. */
int cli_run_opt(int c, const char *arg, struct cli_run_opts *o);

struct store;
struct secret_key;
/*
 * Opens the store db for subcommand cmd and, when key is not NULL, loads
 * the sealing key of that database into it. Returns 0, or 1 (the exit
 * code) with a message on stderr and *s NULL. The caller closes *s.
 */
int cli_open_store(const char *cmd, const char *db, struct store **s, struct secret_key *key);

int cmd_sync(int argc, char **argv);
/* `ebaysync serve`, `ebaysync user`, `ebaysync token` (argv[0] is the
 * subcommand's name); each returns the process exit code. */
int cmd_serve(int argc, char **argv);
/* `ebaysync worker`: claims queued runs and executes them (cmd_worker.c). */
int cmd_worker(int argc, char **argv);
int cmd_user(int argc, char **argv);
int cmd_token(int argc, char **argv);
/* `ebaysync account`: link an eBay account, set a refresh token, status. */
int cmd_account(int argc, char **argv);
/* `ebaysync apikey`: API keys for scripts (cmd_apikey.c). */
int cmd_apikey(int argc, char **argv);
/* `ebaysync webhook`: webhook endpoints (cmd_webhook.c). */
int cmd_webhook(int argc, char **argv);
/* `ebaysync schedule`: sync schedules (cmd_schedule.c). */
int cmd_schedule(int argc, char **argv);

#endif
