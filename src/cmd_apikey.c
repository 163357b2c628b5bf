/*
 * `ebaysync apikey create|list|revoke`: API keys for scripts (apikey.h),
 * made and revoked from the command line as on the page and the API. A new
 * key is printed once, on standard output, and never again.
 */
#include "cli.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apikey.h"
#include "secret.h"
#include "store.h"
#include "timeutil.h"
#include "banned.h"

static void usage(FILE *f)
{
	fputs("usage: ebaysync apikey create --user NAME --name LABEL [--scope read|sync]\n"
	      "                              [--expires DAYS] [--db URL]\n"
	      "       ebaysync apikey list --user NAME [--db URL]\n"
	      "       ebaysync apikey revoke --user NAME ID [--db URL]\n"
	      "\n"
	      "create prints the key once: send it as 'Authorization: Bearer <key>'.\n"
	      "\n"
	      "  --user NAME      whose keys (required)\n"
	      "  --name LABEL     create: the key's label (required)\n"
	      "  --scope S        create: read (the default) reads the mirror, runs and\n"
	      "                   events; sync also starts and stops syncs\n"
	      "  --expires DAYS   create: days until it expires (0, the default: never)\n"
	      "  --db URL         SQLite file or postgres:// URL (EBAYSYNC_DB, DATABASE_URL;\n"
	      "                   default ebaysync.db)\n",
	      f);
}

struct opts {
	const char *db, *user, *name, *scope;
	long expires;
};

/* Parses the options after the verb; returns the index of the first
 * operand, -1 after a usage error (reported), or -2 when --help printed
 * the usage. */
static int parse(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
	    {"user", required_argument, NULL, 'u'},
	    {"name", required_argument, NULL, 'n'},
	    {"scope", required_argument, NULL, 's'},
	    {"expires", required_argument, NULL, 'e'},
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
		case 'n':
			o->name = optarg;
			break;
		case 's':
			o->scope = optarg;
			break;
		case 'e':
			if (cli_parse_long("--expires", optarg, 0, APIKEY_EXPIRES_MAX_DAYS,
					   &o->expires))
				return -1;
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
		fprintf(stderr, "ebaysync apikey: --user NAME is required\n");
		return -1;
	}
	return optind;
}

static int create(struct store *s, const struct opts *o)
{
	struct buf why = BUF_INIT;
	struct apikey_row row;
	struct user_row u;
	char *key = NULL, iso[32];
	int rc = CLI_EXIT_FAILED;

	memset(&u, 0, sizeof(u));
	if (store_user_get(s, o->user, &u)) {
		fprintf(stderr, "ebaysync apikey: no user '%s'\n", o->user);
		goto out;
	}
	if (apikey_create(s, o->user, o->name, o->scope, o->expires, timeutil_wall_ms(), &key, &row,
			  &why)) {
		fprintf(stderr, "ebaysync apikey: %s\n", buf_str(&why));
		goto out;
	}
	printf("%s\n", key);
	fprintf(stderr, "API key '%s' (%s, scope %s", row.name, row.id, row.scope);
	if (row.expires_ms) {
		timeutil_iso(row.expires_ms, iso, sizeof(iso));
		fprintf(stderr, ", expires %s", iso);
	}
	fprintf(stderr, ") for %s: it is shown only this once\n", o->user);
	apikey_row_release(&row);
	rc = CLI_EXIT_OK;
out:
	secret_free(key);
	user_row_release(&u);
	buf_release(&why);
	return rc;
}

static void print_ms(const char *label, long long ms)
{
	char iso[32];

	if (ms) {
		timeutil_iso(ms, iso, sizeof(iso));
		printf("  %s %s", label, iso);
	}
}

static int list(struct store *s, const struct opts *o)
{
	struct apikey_row *rows = NULL;
	size_t n = 0, i;

	if (store_apikey_list(s, o->user, &rows, &n)) {
		fprintf(stderr, "ebaysync apikey: %s\n", store_errmsg(s));
		return CLI_EXIT_FAILED;
	}
	for (i = 0; i < n; i++) {
		printf("%s  %s...  %-4s  %s", rows[i].id, rows[i].prefix, rows[i].scope,
		       rows[i].name);
		print_ms("created", rows[i].created_ms);
		print_ms("last-used", rows[i].last_used_ms);
		print_ms("expires", rows[i].expires_ms);
		print_ms("revoked", rows[i].revoked_ms);
		printf("\n");
		apikey_row_release(&rows[i]);
	}
	free(rows);
	return CLI_EXIT_OK;
}

int cmd_apikey(int argc, char **argv)
{
	struct store *s = NULL;
	const char *verb = argc > 1 ? argv[1] : "";
	struct opts o;
	int first, rc;

	if (!strcmp(verb, "--help") || !strcmp(verb, "-h")) {
		usage(stdout);
		return CLI_EXIT_OK;
	}
	if (strcmp(verb, "create") && strcmp(verb, "list") && strcmp(verb, "revoke")) {
		usage(stderr);
		return CLI_EXIT_USAGE;
	}
	first = parse(argc - 1, argv + 1, &o);
	if (first < 0)
		return first == -2 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
	if ((!strcmp(verb, "revoke") ? first + 1 : first) != argc - 1 ||
	    (!strcmp(verb, "create") && !o.name)) {
		usage(stderr);
		return CLI_EXIT_USAGE;
	}
	if (cli_open_store("apikey", o.db, &s, NULL))
		return CLI_EXIT_FAILED;
	if (!strcmp(verb, "create")) {
		rc = create(s, &o);
	} else if (!strcmp(verb, "list")) {
		rc = list(s, &o);
	} else {
		rc = store_apikey_revoke(s, o.user, argv[1 + first], timeutil_wall_ms())
			 ? CLI_EXIT_FAILED
			 : CLI_EXIT_OK;
		if (rc)
			fprintf(stderr, "ebaysync apikey: %s\n", store_errmsg(s));
		else
			printf("revoked %s\n", argv[1 + first]);
	}
	store_close(s);
	return rc;
}
