/*
 * `ebaysync token --user NAME [--ttl SECONDS]`: prints a login token (JWT)
 * for scripts and curl, signed with the same secret as ebaysync serve uses
 * for the same database (EBAYSYNC_JWT_SECRET or the jwt.key file).
 */
#include "cli.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "store.h"
#include "timeutil.h"
#include "banned.h"

static void usage(FILE *f)
{
	fputs("usage: ebaysync token --user NAME [--ttl SECONDS] [--db URL]\n"
	      "\n"
	      "Prints a login token (JWT) for `Authorization: Bearer`, signed with the\n"
	      "secret ebaysync serve uses for the same database.\n"
	      "\n"
	      "  --user NAME      the user the token logs in as (required)\n"
	      "  --ttl SECONDS    its lifetime (43200: 12 hours; at most a year)\n"
	      "  --db URL         SQLite file or postgres:// URL (EBAYSYNC_DB, DATABASE_URL;\n"
	      "                   default ebaysync.db)\n",
	      f);
}

int cmd_token(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"user", required_argument, NULL, 'u'},
	    {"ttl", required_argument, NULL, 't'},
	    {"db", required_argument, NULL, 'd'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *db = cli_default_db(), *user = NULL;
	long ttl = AUTH_DEFAULT_TTL;
	struct buf why = BUF_INIT;
	struct store *s = NULL;
	struct user_row u;
	struct auth a;
	char *token = NULL;
	int c, rc = 1, auth_ready = 0;

	memset(&u, 0, sizeof(u));
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'u':
			user = optarg;
			break;
		case 't':
			if (cli_parse_long("--ttl", optarg, 1, 365L * 86400, &ttl))
				return 2;
			break;
		case 'd':
			db = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!user || optind < argc) {
		usage(stderr);
		return 2;
	}
	if (cli_open_store("token", db, &s, NULL))
		goto out;
	if (store_user_get(s, user, &u)) {
		fprintf(stderr, "ebaysync token: no user '%s' in '%s'\n", user, db);
		goto out;
	}
	if (auth_init(&a, db, &why)) {
		fprintf(stderr, "ebaysync token: %s\n", buf_str(&why));
		goto out;
	}
	auth_ready = 1;
	if (auth_issue(&a, user, ttl, timeutil_wall_ms() / 1000, &token, NULL)) {
		fprintf(stderr, "ebaysync token: cannot sign a token\n");
		goto out;
	}
	printf("%s\n", token);
	rc = 0;
out:
	if (auth_ready)
		auth_release(&a);
	user_row_release(&u);
	if (s)
		store_close(s);
	free(token);
	buf_release(&why);
	return rc;
}
