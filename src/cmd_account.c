/*
 * `ebaysync account link|set-refresh-token|status|unlink`: a user's eBay
 * account from the command line (account.h). link walks through eBay's
 * consent without a server: it prints the consent URL, then reads the URL
 * the browser lands on (or the code shown in it) from standard input,
 * checks that its state is the one it sent, and exchanges the code.
 * Tokens are read from files or standard input, never printed.
 */
#include "cli.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "account.h"
#include "oauth.h"
#include "random.h"
#include "secret.h"
#include "store.h"
#include "timeutil.h"
#include "xalloc.h"
#include "banned.h"

#define INPUT_MAX (4 * OAUTH_FIELD_MAX)

static const char usage_text[] =
    "usage: ebaysync account link --user NAME [--db URL]\n"
    "       ebaysync account set-refresh-token --user NAME (--token T | --token-file F)\n"
    "                [--expires-in SECONDS] [--no-verify] [--db URL]\n"
    "       ebaysync account status [--json] [--db URL]\n"
    "       ebaysync account unlink --user NAME [--db URL]\n"
    "\n"
    "link prints eBay's consent URL; open it, sign in and agree, then paste the URL\n"
    "the browser lands on (or the code in it) on standard input. set-refresh-token\n"
    "stores a refresh token obtained elsewhere, after minting one access token with it\n"
    "(unless --no-verify). status lists every user, linked or not, and when their\n"
    "refresh tokens expire. Runs of linked users mint access tokens by themselves.\n"
    "\n"
    "  --user NAME      whose account (required but for status)\n"
    "  --token T        set-refresh-token: the refresh token\n"
    "  --token-file F   set-refresh-token: read the refresh token from F\n"
    "  --expires-in SECONDS  set-refresh-token: how long it stays valid, when known\n"
    "  --no-verify      set-refresh-token: store it without minting an access token\n"
    "  --json           status: one JSON object a line\n"
    "  --env NAME       production, sandbox or simulator (EBAY_ENV)\n"
    "  --api-base URL   eBay API base URL, e.g. the simulator's (EBAY_API_BASE)\n"
    "  --db URL         SQLite file or postgres:// URL (EBAYSYNC_DB, DATABASE_URL;\n"
    "                   default ebaysync.db)\n"
    "\n"
    "Environment: EBAY_CLIENT_ID, EBAY_CLIENT_SECRET (the application's keys),\n"
    "EBAY_RU_NAME (its RuName, for link), EBAY_AUTH_BASE (the consent page's origin,\n"
    "for the simulator), EBAYSYNC_SECRET_KEY (or the key file secret.key) seals tokens.\n";

struct account_opts {
	const char *sub, *user, *db, *env, *api_base, *token, *token_file;
	long long expires_in;
	int no_verify, json;
};

/* The first line of f, without its line break, at most INPUT_MAX bytes
 * (malloc'd), or NULL at end of input. *toobig is set past the cap. */
static char *read_line(FILE *f, int *toobig)
{
	struct buf b = BUF_INIT;
	int c;

	*toobig = 0;
	buf_init(&b, INPUT_MAX);
	while ((c = fgetc(f)) != EOF && c != '\n')
		if (buf_addch(&b, (char)c)) {
			*toobig = 1;
			break;
		}
	if (*toobig || (c == EOF && !b.len)) {
		if (b.data)
			memset(b.data, 0, b.len);
		buf_release(&b);
		return NULL;
	}
	if (b.len && b.data[b.len - 1] == '\r')
		b.data[--b.len] = '\0';
	return buf_detach(&b, NULL);
}

/* The store, the sealing key and (when need_oauth) the OAuth settings. */
struct ctx {
	struct store *s;
	struct secret_key key;
	struct oauth_config cfg;
	struct accounts *accounts;
};

static int ctx_open(struct ctx *c, const struct account_opts *o, int need_oauth)
{
	struct buf why = BUF_INIT;
	int rc = 1;

	memset(c, 0, sizeof(*c));
	if (need_oauth && oauth_config_from_env(&c->cfg, o->env, o->api_base, &why)) {
		fprintf(stderr, "ebaysync account: %s\n", buf_str(&why));
		goto out;
	}
	if (store_open(o->db, &c->s, &why)) {
		fprintf(stderr, "ebaysync account: cannot open database '%s': %s\n", o->db,
			buf_str(&why));
		goto out;
	}
	if (secret_key_load(o->db, &c->key, &why)) {
		fprintf(stderr, "ebaysync account: %s\n", buf_str(&why));
		goto out;
	}
	c->accounts = accounts_new(&c->cfg, NULL, &c->key);
	rc = 0;
out:
	buf_release(&why);
	return rc;
}

static void ctx_close(struct ctx *c)
{
	accounts_free(c->accounts);
	if (c->s)
		store_close(c->s);
	oauth_config_release(&c->cfg);
	memset(&c->key, 0, sizeof(c->key));
}

static void print_expiry(const char *what, long long ms)
{
	char iso[32];

	if (ms > 0) {
		timeutil_iso(ms, iso, sizeof(iso));
		printf("%s valid until %s\n", what, iso);
	} else {
		printf("%s expiry unknown\n", what);
	}
}

static char *new_state(void)
{
	return random_token(24);
}

static int account_link_cmd(const struct account_opts *o)
{
	struct ctx c;
	struct oauth_token tok;
	struct account_status st;
	struct buf why = BUF_INIT;
	char *state = new_state(), *url = NULL, *line = NULL, *code = NULL, *got_state = NULL;
	int rc = 1, toobig;

	memset(&tok, 0, sizeof(tok));
	memset(&st, 0, sizeof(st));
	if (ctx_open(&c, o, 1))
		goto out;
	/* The user must exist before anyone goes to eBay for them. */
	if (account_status_get(c.s, o->user, &st, &why) ||
	    oauth_consent_url(&c.cfg, state, &url, &why)) {
		fprintf(stderr, "ebaysync account: %s\n", buf_str(&why));
		goto out;
	}
	printf("Open this URL in a browser, sign in to eBay and agree:\n\n  %s\n\n"
	       "Then paste here the URL the browser lands on (or the code in it):\n",
	       url);
	fflush(stdout);
	line = read_line(stdin, &toobig);
	if (!line) {
		fprintf(stderr, "ebaysync account: %s; nothing was stored\n",
			toobig ? "the pasted line is too long" : "nothing was pasted");
		goto out;
	}
	if (oauth_parse_redirect(line, &code, &got_state, &why)) {
		fprintf(stderr, "ebaysync account: %s; nothing was stored\n", buf_str(&why));
		goto out;
	}
	if (got_state && strcmp(got_state, state)) {
		fprintf(stderr, "ebaysync account: the state in the pasted URL does not match this "
				"consent (a URL from another attempt?); nothing was stored\n");
		goto out;
	}
	if (oauth_exchange_code(&c.cfg, code, &tok, &why)) {
		fprintf(stderr,
			"ebaysync account: eBay refused the authorization code (%s); nothing was "
			"stored\n",
			buf_str(&why));
		goto out;
	}
	if (account_link(c.accounts, c.s, o->user, &tok, &why)) {
		fprintf(stderr, "ebaysync account: %s\n", buf_str(&why));
		goto out;
	}
	printf("linked the eBay account of '%s'\n", o->user);
	print_expiry("refresh token", tok.refresh_expires_in > 0
					  ? timeutil_wall_ms() + tok.refresh_expires_in * 1000
					  : 0);
	rc = 0;
out:
	ctx_close(&c);
	account_status_release(&st);
	oauth_token_release(&tok);
	secret_free(line);
	secret_free(code);
	free(got_state);
	free(url);
	free(state);
	buf_release(&why);
	return rc;
}

static int account_set_cmd(const struct account_opts *o)
{
	struct ctx c;
	struct account_status st;
	struct buf why = BUF_INIT;
	char *token = o->token ? xstrdup(o->token) : cli_read_secret_file(o->token_file);
	int rc = 1;

	memset(&st, 0, sizeof(st));
	if (!token)
		return 1;
	if (ctx_open(&c, o, 1))
		goto out;
	if (account_set_refresh_token(c.accounts, c.s, o->user, token, o->expires_in, !o->no_verify,
				      &why) ||
	    account_status_get(c.s, o->user, &st, &why)) {
		fprintf(stderr, "ebaysync account: %s\n", buf_str(&why));
		goto out;
	}
	printf("eBay refresh token of '%s' stored%s\n", o->user,
	       o->no_verify ? " (not verified)" : " and verified with eBay");
	print_expiry("refresh token", st.refresh_expires_ms);
	rc = 0;
out:
	ctx_close(&c);
	account_status_release(&st);
	secret_free(token);
	buf_release(&why);
	return rc;
}

static int account_status_cmd(const struct account_opts *o)
{
	struct ctx c;
	struct account_status *list = NULL;
	struct buf why = BUF_INIT;
	size_t n = 0, i;
	char iso[32];
	int rc = 1;

	if (ctx_open(&c, o, 0))
		goto out;
	if (account_status_list(c.s, &list, &n, &why)) {
		fprintf(stderr, "ebaysync account: %s\n", buf_str(&why));
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (o->json) {
			json_t *j = account_status_json(&list[i]);
			char *text = json_dumps(j, JSON_COMPACT);

			printf("%s\n", text);
			free(text);
			json_decref(j);
			continue;
		}
		if (!list[i].linked) {
			printf("%-24s not linked%s\n", list[i].user,
			       list[i].has_access_token ? " (an access token was set by hand)"
							: "");
			continue;
		}
		if (list[i].refresh_expires_ms > 0) {
			timeutil_iso(list[i].refresh_expires_ms, iso, sizeof(iso));
			printf("%-24s linked, refresh token %s %s\n", list[i].user,
			       list[i].refresh_expires_ms > timeutil_wall_ms() ? "expires"
									       : "EXPIRED",
			       iso);
		} else {
			printf("%-24s linked, refresh token expiry unknown\n", list[i].user);
		}
	}
	if (!n && !o->json)
		printf("no users yet: add one with `ebaysync user add NAME`\n");
	rc = 0;
out:
	for (i = 0; i < n; i++)
		account_status_release(&list[i]);
	free(list);
	ctx_close(&c);
	buf_release(&why);
	return rc;
}

static int account_unlink_cmd(const struct account_opts *o)
{
	struct ctx c;
	struct buf why = BUF_INIT;
	int rc = 1;

	if (ctx_open(&c, o, 0))
		goto out;
	if (account_unlink(c.accounts, c.s, o->user, &why)) {
		fprintf(stderr, "ebaysync account: %s\n", buf_str(&why));
		goto out;
	}
	printf("unlinked the eBay account of '%s'\n", o->user);
	rc = 0;
out:
	ctx_close(&c);
	buf_release(&why);
	return rc;
}

static int parse(int argc, char **argv, struct account_opts *o)
{
	static const struct option longopts[] = {
	    {"user", required_argument, NULL, 'u'},
	    {"db", required_argument, NULL, 'd'},
	    {"env", required_argument, NULL, 'e'},
	    {"api-base", required_argument, NULL, 'a'},
	    {"token", required_argument, NULL, 't'},
	    {"token-file", required_argument, NULL, 'f'},
	    {"expires-in", required_argument, NULL, 'x'},
	    {"no-verify", no_argument, NULL, 'n'},
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	long l;
	int c;

	optind = 2;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'u':
			o->user = optarg;
			break;
		case 'd':
			o->db = optarg;
			break;
		case 'e':
			o->env = optarg;
			break;
		case 'a':
			o->api_base = optarg;
			break;
		case 't':
			o->token = optarg;
			break;
		case 'f':
			o->token_file = optarg;
			break;
		case 'x':
			if (cli_parse_long("--expires-in", optarg, 1, 20L * 366 * 86400, &l))
				return CLI_EXIT_USAGE;
			o->expires_in = l;
			break;
		case 'n':
			o->no_verify = 1;
			break;
		case 'j':
			o->json = 1;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return -1;
		default:
			fputs(usage_text, stderr);
			return CLI_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "ebaysync account: unexpected argument '%s'\n", argv[optind]);
		return CLI_EXIT_USAGE;
	}
	return 0;
}

int cmd_account(int argc, char **argv)
{
	struct account_opts o;
	int rc;

	memset(&o, 0, sizeof(o));
	o.db = cli_env("EBAYSYNC_DB", cli_env("DATABASE_URL", "ebaysync.db"));
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fputs(usage_text, argc < 2 ? stderr : stdout);
		return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
	}
	o.sub = argv[1];
	rc = parse(argc, argv, &o);
	if (rc)
		return rc < 0 ? CLI_EXIT_OK : rc;
	if (!strcmp(o.sub, "status"))
		return o.user ? (fputs(usage_text, stderr), CLI_EXIT_USAGE)
			      : account_status_cmd(&o);
	if (!o.user) {
		fprintf(stderr, "ebaysync account %s: --user NAME is required\n", o.sub);
		return CLI_EXIT_USAGE;
	}
	if (!strcmp(o.sub, "link"))
		return account_link_cmd(&o);
	if (!strcmp(o.sub, "unlink"))
		return account_unlink_cmd(&o);
	if (!strcmp(o.sub, "set-refresh-token")) {
		if (!o.token == !o.token_file) {
			fprintf(stderr, "ebaysync account set-refresh-token: give one of --token "
					"or --token-file\n");
			return CLI_EXIT_USAGE;
		}
		return account_set_cmd(&o);
	}
	fprintf(stderr, "ebaysync account: unknown subcommand '%s'\n", o.sub);
	fputs(usage_text, stderr);
	return CLI_EXIT_USAGE;
}
