/*
 * `ebaysync user add|list|set-token`: the users who may log in to
 * ebaysync serve, and their eBay tokens (sealed at rest, see users.h).
 * Passwords are read from a file or from standard input (without echo on a
 * terminal), never from the command line, where other users of the machine
 * could read them in the process list.
 */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "auth.h"
#include "secret.h"
#include "store.h"
#include "timeutil.h"
#include "users.h"
#include "xalloc.h"
#include "banned.h"

#define LINE_MAX_BYTES 16384

static void usage(FILE *f)
{
	fputs("usage: ebaysync user add NAME [--password-file FILE] [--db URL]\n"
	      "       ebaysync user list [--db URL]\n"
	      "       ebaysync user set-token NAME (--token T | --token-file FILE) [--db URL]\n"
	      "       ebaysync user set-share NAME WEIGHT [--db URL]\n"
	      "\n"
	      "add reads the password (8 characters or more) from FILE, or the first line\n"
	      "of standard input. set-token stores the user's eBay OAuth access token,\n"
	      "sealed with EBAYSYNC_SECRET_KEY (or the key file secret.key). set-share\n"
	      "sets the user's weight in the fair share of eBay's daily quota (1 by\n"
	      "default; a user of weight 2 may take twice the calls of one of 1 when both\n"
	      "have work; 0 goes back to 1; docs/quota.md).\n"
	      "\n"
	      "  --password-file FILE  add: read the password from FILE\n"
	      "  --token T             set-token: the eBay access token\n"
	      "  --token-file FILE     set-token: read the eBay access token from FILE\n"
	      "  --db URL              SQLite file or postgres:// URL (EBAYSYNC_DB,\n"
	      "                        DATABASE_URL; default ebaysync.db)\n",
	      f);
}

/* The first line of f without its line break (malloc'd), or NULL. */
static char *read_line(FILE *f)
{
	struct buf b = BUF_INIT;
	int c;

	buf_init(&b, LINE_MAX_BYTES);
	while ((c = fgetc(f)) != EOF && c != '\n')
		if (buf_addch(&b, (char)c)) {
			buf_release(&b);
			return NULL;
		}
	if (c == EOF && b.len == 0 && !b.data)
		return NULL;
	if (b.len && b.data[b.len - 1] == '\r')
		b.data[--b.len] = '\0';
	return buf_detach(&b, NULL);
}

/* Reads a password from stdin, without echo on a terminal. */
static char *read_password(void)
{
	struct termios old, quiet;
	int tty = isatty(0) && !tcgetattr(0, &old);
	char *pw;

	if (tty) {
		fputs("Password: ", stderr);
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(0, TCSAFLUSH, &quiet);
	}
	pw = read_line(stdin);
	if (tty) {
		tcsetattr(0, TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
	return pw;
}

static int user_add(const char *db, const char *name, const char *pw_file)
{
	struct secret_key key;
	struct store *s = NULL;
	struct buf why = BUF_INIT;
	char *pw = pw_file ? cli_read_secret_file(pw_file) : read_password();
	int rc = 1;

	if (!pw) {
		if (!pw_file)
			fprintf(stderr, "ebaysync user: no password on standard input\n");
		return 1;
	}
	if (strlen(pw) < 8) {
		fprintf(stderr, "ebaysync user: the password must be at least 8 characters\n");
		goto out;
	}
	if (cli_open_store("user", db, &s, &key))
		goto out;
	if (users_put_password(s, &key, name, pw, NULL, USERS_CREATE, &why)) {
		fprintf(stderr, "ebaysync user: %s\n", buf_str(&why));
		goto out;
	}
	printf("user '%s' added\n", name);
	rc = 0;
out:
	if (s)
		store_close(s);
	memset(&key, 0, sizeof(key));
	secret_free(pw);
	buf_release(&why);
	return rc;
}

static int user_list(const char *db)
{
	struct store *s = NULL;
	struct user_row *users = NULL;
	size_t n = 0, i;
	char iso[32];

	if (cli_open_store("user", db, &s, NULL))
		return 1;
	if (store_user_list(s, &users, &n)) {
		fprintf(stderr, "ebaysync user: cannot list users: %s\n", store_errmsg(s));
		store_close(s);
		return 1;
	}
	for (i = 0; i < n; i++) {
		timeutil_iso(users[i].created_ms, iso, sizeof(iso));
		printf("%-24s created %s  eBay %s\n", users[i].id, iso,
		       users[i].ebay_token && *users[i].ebay_token ? "linked" : "not linked");
		user_row_release(&users[i]);
	}
	if (n == 0)
		printf("no users yet: add one with `ebaysync user add NAME`\n");
	free(users);
	store_close(s);
	return 0;
}

static int user_set_token(const char *db, const char *name, const char *token,
			  const char *token_file)
{
	struct secret_key key;
	struct store *s = NULL;
	struct buf why = BUF_INIT;
	char *t = token ? xstrdup(token) : cli_read_secret_file(token_file);
	int rc = 1;

	if (!t)
		return 1;
	if (cli_open_store("user", db, &s, &key))
		goto out;
	if (users_set_token(s, &key, name, t, &why)) {
		fprintf(stderr, "ebaysync user: %s\n", buf_str(&why));
		goto out;
	}
	printf("eBay token of '%s' set\n", name);
	rc = 0;
out:
	if (s)
		store_close(s);
	memset(&key, 0, sizeof(key));
	secret_free(t);
	buf_release(&why);
	return rc;
}

/* quota: the user's weight in the fair share of the daily quota. */
static int user_set_share(const char *db, const char *name, const char *weight)
{
	struct secret_key key;
	struct user_row u;
	struct store *s = NULL;
	char *end = NULL;
	double w = strtod(weight, &end);
	int rc = 1;

	memset(&u, 0, sizeof(u));
	if (!*weight || *end || !(w >= 0) || w > 1000000) {
		fprintf(stderr,
			"ebaysync user: the weight '%s' is not a number from 0 to 1000000\n",
			weight);
		return 2;
	}
	if (cli_open_store("user", db, &s, &key))
		goto out;
	if (store_user_get(s, name, &u)) {
		fprintf(stderr, "ebaysync user: no user '%s' (ebaysync user add %s)\n", name, name);
		goto out;
	}
	if (store_quota_share_set(s, name, w)) {
		fprintf(stderr, "ebaysync user: %s\n", store_errmsg(s));
		goto out;
	}
	if (w == 0)
		printf("quota share of '%s' back to the default weight 1\n", name);
	else
		printf("quota share of '%s' set to weight %g\n", name, w);
	rc = 0;
out:
	user_row_release(&u);
	if (s)
		store_close(s);
	memset(&key, 0, sizeof(key));
	return rc;
}

int cmd_user(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"db", required_argument, NULL, 'd'},
	    {"password-file", required_argument, NULL, 'p'},
	    {"token", required_argument, NULL, 't'},
	    {"token-file", required_argument, NULL, 'f'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *db = cli_default_db(), *pw_file = NULL, *token = NULL, *token_file = NULL, *sub,
		   *name = NULL, *arg2 = NULL;
	int c;

	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	sub = argv[1];
	optind = 2;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'd':
			db = optarg;
			break;
		case 'p':
			pw_file = optarg;
			break;
		case 't':
			token = optarg;
			break;
		case 'f':
			token_file = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc)
		name = argv[optind++];
	if (optind < argc && !strcmp(sub, "set-share"))
		arg2 = argv[optind++];
	if (optind < argc) {
		fprintf(stderr, "ebaysync user: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (!strcmp(sub, "list") && !name)
		return user_list(db);
	if (!strcmp(sub, "add") && name && !token && !token_file)
		return user_add(db, name, pw_file);
	if (!strcmp(sub, "set-token") && name && !pw_file && !token != !token_file)
		return user_set_token(db, name, token, token_file);
	if (!strcmp(sub, "set-share") && name && arg2 && !pw_file && !token && !token_file)
		return user_set_share(db, name, arg2);
	usage(stderr);
	return 2;
}
