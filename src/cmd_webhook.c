/*
 * `ebaysync webhook add|list|rm`: a user's webhook endpoints (webhook.h),
 * as on the page and the API. add prints the signing secret once. The
 * command line is the operator's, so add accepts private targets only with
 * --allow-private, as serve does with --allow-private-webhooks; serve's own
 * flag still decides whether it connects there.
 */
#include "cli.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "secret.h"
#include "store.h"
#include "timeutil.h"
#include "webhook.h"
#include "banned.h"

static void usage(FILE *f)
{
	fputs("usage: ebaysync webhook add --user NAME --url URL [--events run.finished]\n"
	      "                            [--allow-private] [--db URL]\n"
	      "       ebaysync webhook list --user NAME [--db URL]\n"
	      "       ebaysync webhook rm --user NAME ID [--db URL]\n"
	      "\n"
	      "add prints the endpoint's signing secret once: a receiver checks the\n"
	      "Ebaysync-Signature header with it (docs/api.md).\n"
	      "\n"
	      "  --user NAME      whose endpoints (required)\n"
	      "  --url URL        add: where deliveries are POSTed (required)\n"
	      "  --events LIST    add: comma-separated event names (run.finished)\n"
	      "  --allow-private  add: accept a loopback, private or link-local address\n"
	      "                   (serve delivers there only with --allow-private-webhooks)\n"
	      "  --db URL         SQLite file or postgres:// URL (EBAYSYNC_DB, DATABASE_URL;\n"
	      "                   default ebaysync.db)\n",
	      f);
}

struct opts {
	const char *db, *user, *url, *events;
	int allow_private;
};

/* Parses the options after the verb; returns the index of the first
 * operand, -1 after a usage error (reported), or -2 when --help printed
 * the usage. */
static int parse(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
	    {"user", required_argument, NULL, 'u'},
	    {"url", required_argument, NULL, 'U'},
	    {"events", required_argument, NULL, 'e'},
	    {"allow-private", no_argument, NULL, 'p'},
	    {"db", required_argument, NULL, 'd'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int c;

	memset(o, 0, sizeof(*o));
	o->db = cli_default_db();
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'u':
			o->user = optarg;
			break;
		case 'U':
			o->url = optarg;
			break;
		case 'e':
			o->events = optarg;
			break;
		case 'p':
			o->allow_private = 1;
			break;
		case 'd':
			o->db = optarg;
			break;
		case 'h':
			usage(stdout);
			return -2;
		default:
			usage(stderr);
			return -1;
		}
	}
	if (!o->user) {
		fprintf(stderr, "ebaysync webhook: --user NAME is required\n");
		return -1;
	}
	return optind;
}

static int add(struct store *s, const struct secret_key *key, const struct opts *o)
{
	struct buf why = BUF_INIT;
	struct webhook_row row;
	struct user_row u;
	char *secret = NULL;
	int rc = CLI_EXIT_FAILED;

	memset(&u, 0, sizeof(u));
	if (store_user_get(s, o->user, &u)) {
		fprintf(stderr, "ebaysync webhook: no user '%s'\n", o->user);
		goto out;
	}
	if (webhook_create(s, key, o->user, o->url, o->events, o->allow_private, timeutil_wall_ms(),
			   &row, &secret, &why)) {
		fprintf(stderr, "ebaysync webhook: %s\n", buf_str(&why));
		goto out;
	}
	printf("%s %s\n", row.id, secret);
	fprintf(stderr, "webhook %s -> %s (%s): the secret is shown only this once\n", row.id,
		row.url, row.events);
	webhook_row_release(&row);
	rc = CLI_EXIT_OK;
out:
	secret_free(secret);
	user_row_release(&u);
	buf_release(&why);
	return rc;
}

static int list(struct store *s, const struct opts *o)
{
	struct webhook_row *rows = NULL;
	size_t n = 0, i;

	if (store_webhook_list(s, o->user, &rows, &n)) {
		fprintf(stderr, "ebaysync webhook: %s\n", store_errmsg(s));
		return CLI_EXIT_FAILED;
	}
	for (i = 0; i < n; i++) {
		printf("%s  %-3s  %s  %s\n", rows[i].id, rows[i].enabled ? "on" : "off",
		       rows[i].events, rows[i].url);
		webhook_row_release(&rows[i]);
	}
	free(rows);
	return CLI_EXIT_OK;
}

int cmd_webhook(int argc, char **argv)
{
	const char *verb = argc > 1 ? argv[1] : "";
	struct secret_key key;
	struct store *s = NULL;
	struct opts o;
	int first, rc, is_add = !strcmp(verb, "add");

	if (!strcmp(verb, "--help") || !strcmp(verb, "-h")) {
		usage(stdout);
		return CLI_EXIT_OK;
	}
	if (!is_add && strcmp(verb, "list") && strcmp(verb, "rm")) {
		usage(stderr);
		return CLI_EXIT_USAGE;
	}
	first = parse(argc - 1, argv + 1, &o);
	if (first < 0)
		return first == -2 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
	if ((!strcmp(verb, "rm") ? first + 1 : first) != argc - 1 || (is_add && !o.url)) {
		usage(stderr);
		return CLI_EXIT_USAGE;
	}
	if (cli_open_store("webhook", o.db, &s, is_add ? &key : NULL))
		return CLI_EXIT_FAILED;
	if (is_add) {
		rc = add(s, &key, &o);
		memset(&key, 0, sizeof(key));
	} else if (!strcmp(verb, "list")) {
		rc = list(s, &o);
	} else {
		rc = store_webhook_delete(s, o.user, argv[1 + first]) ? CLI_EXIT_FAILED
								      : CLI_EXIT_OK;
		if (rc)
			fprintf(stderr, "ebaysync webhook: %s\n", store_errmsg(s));
		else
			printf("removed %s\n", argv[1 + first]);
	}
	store_close(s);
	return rc;
}
