/*
 * `ebaysync schedule add|list|rm|on|off`: a user's sync schedules
 * (scheduler.h), as on the page and the API. The runs themselves are
 * started by a running `ebaysync serve` on the same database. The shortest
 * interval is EBAYSYNC_SCHEDULE_MIN_INTERVAL's (60 s by default), as for
 * serve.
 */
#include "cli.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schedule.h"
#include "scheduler.h"
#include "store.h"
#include "timeutil.h"
#include "banned.h"

static void usage(FILE *f)
{
	fputs("usage: ebaysync schedule add --user NAME --kind KIND (--every SECONDS |\n"
	      "                             --at HH:MM[,HH:MM...] [--tz ZONE]) [--off] [--db URL]\n"
	      "       ebaysync schedule list --user NAME [--db URL]\n"
	      "       ebaysync schedule rm|on|off --user NAME ID [--db URL]\n"
	      "\n"
	      "KIND is inventory, offers, all or refresh. --every runs at once, then every\n"
	      "SECONDS; --at runs at those times of day in ZONE (an IANA name, UTC by\n"
	      "default). A running `ebaysync serve` on the database starts the runs; `on`\n"
	      "also resumes a schedule paused because the eBay account must be linked again.\n",
	      f);
}

struct opts {
	const char *db, *user, *kind, *at, *tz;
	long every;
	int off;
};

static int parse(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
	    {"user", required_argument, NULL, 'u'},
	    {"kind", required_argument, NULL, 'k'},
	    {"every", required_argument, NULL, 'e'},
	    {"at", required_argument, NULL, 'a'},
	    {"tz", required_argument, NULL, 'z'},
	    {"off", no_argument, NULL, 'o'},
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
		case 'k':
			o->kind = optarg;
			break;
		case 'e':
			if (cli_parse_long("--every", optarg, 1, SCHEDULE_INTERVAL_MAX_S,
					   &o->every))
				return -1;
			break;
		case 'a':
			o->at = optarg;
			break;
		case 'z':
			o->tz = optarg;
			break;
		case 'o':
			o->off = 1;
			break;
		case 'd':
			o->db = optarg;
			break;
		default:
			usage(c == 'h' ? stdout : stderr);
			return -1;
		}
	}
	if (!o->user) {
		fprintf(stderr, "ebaysync schedule: --user NAME is required\n");
		return -1;
	}
	return optind;
}

static void print_row(const struct schedule_row *r)
{
	char due[32] = "-", last[32] = "-";

	if (r->enabled && !r->paused_reason)
		timeutil_iso(r->next_due_ms, due, sizeof(due));
	if (r->last_run_ms)
		timeutil_iso(r->last_run_ms, last, sizeof(last));
	printf("%s  %-9s  %-3s  ", r->id, r->kind, r->enabled ? "on" : "off");
	if (r->interval_s > 0)
		printf("every %llds", r->interval_s);
	else
		printf("at %s %s", r->times, r->tz);
	printf("  next %s  last %s %s%s%s\n", due, last, r->last_result ? r->last_result : "-",
	       r->paused_reason ? "  paused: " : "", r->paused_reason ? r->paused_reason : "");
}

static int add(struct store *s, const struct opts *o)
{
	struct schedule_settings in = {o->kind, o->every, o->at, o->tz, !o->off};
	struct buf why = BUF_INIT;
	struct schedule_row row;
	struct user_row u;
	long min = SCHEDULE_MIN_INTERVAL_DEFAULT;
	int rc = CLI_EXIT_FAILED;

	memset(&u, 0, sizeof(u));
	memset(&row, 0, sizeof(row));
	if (cli_env_long("EBAYSYNC_SCHEDULE_MIN_INTERVAL", 1, 86400, &min))
		return CLI_EXIT_USAGE;
	if (store_user_get(s, o->user, &u)) {
		fprintf(stderr, "ebaysync schedule: no user '%s'\n", o->user);
		goto out;
	}
	if (scheduler_add(s, o->user, &in, min, timeutil_wall_ms(), &row, &why)) {
		fprintf(stderr, "ebaysync schedule: %s\n", buf_str(&why));
		goto out;
	}
	print_row(&row);
	rc = CLI_EXIT_OK;
out:
	schedule_row_release(&row);
	user_row_release(&u);
	buf_release(&why);
	return rc;
}

static int list(struct store *s, const struct opts *o)
{
	struct schedule_row *rows = NULL;
	size_t n = 0, i;

	if (store_schedule_list(s, o->user, &rows, &n)) {
		fprintf(stderr, "ebaysync schedule: %s\n", store_errmsg(s));
		return CLI_EXIT_FAILED;
	}
	for (i = 0; i < n; i++) {
		print_row(&rows[i]);
		schedule_row_release(&rows[i]);
	}
	free(rows);
	return CLI_EXIT_OK;
}

static int switch_to(struct store *s, const struct opts *o, const char *id, int on)
{
	struct schedule_settings in = {NULL, -1, NULL, NULL, on};
	struct buf why = BUF_INIT;
	struct schedule_row row;
	long min = SCHEDULE_MIN_INTERVAL_DEFAULT;
	int rc = CLI_EXIT_OK;

	cli_env_long("EBAYSYNC_SCHEDULE_MIN_INTERVAL", 1, 86400, &min);
	if (scheduler_change(s, o->user, id, &in, min, timeutil_wall_ms(), &row, &why)) {
		fprintf(stderr, "ebaysync schedule: %s\n", buf_str(&why));
		rc = CLI_EXIT_FAILED;
	} else {
		print_row(&row);
	}
	schedule_row_release(&row);
	buf_release(&why);
	return rc;
}

int cmd_schedule(int argc, char **argv)
{
	const char *verb = argc > 1 ? argv[1] : "";
	int first, rc, is_add = !strcmp(verb, "add"), is_list = !strcmp(verb, "list");
	struct store *s = NULL;
	struct opts o;

	if (!strcmp(verb, "--help") || !strcmp(verb, "-h")) {
		usage(stdout);
		return CLI_EXIT_OK;
	}
	if (!is_add && !is_list && strcmp(verb, "rm") && strcmp(verb, "on") &&
	    strcmp(verb, "off")) {
		usage(stderr);
		return CLI_EXIT_USAGE;
	}
	first = parse(argc - 1, argv + 1, &o);
	if (first < 0)
		return CLI_EXIT_USAGE;
	if ((is_add || is_list ? first : first + 1) != argc - 1 || (is_add && !o.kind)) {
		usage(stderr);
		return CLI_EXIT_USAGE;
	}
	if (cli_open_store("schedule", o.db, &s, NULL))
		return CLI_EXIT_FAILED;
	if (is_add) {
		rc = add(s, &o);
	} else if (is_list) {
		rc = list(s, &o);
	} else if (!strcmp(verb, "rm")) {
		rc = store_schedule_delete(s, o.user, argv[1 + first]) ? CLI_EXIT_FAILED
								       : CLI_EXIT_OK;
		if (rc)
			fprintf(stderr, "ebaysync schedule: %s\n", store_errmsg(s));
		else
			printf("removed %s\n", argv[1 + first]);
	} else {
		rc = switch_to(s, &o, argv[1 + first], !strcmp(verb, "on"));
	}
	store_close(s);
	return rc;
}
