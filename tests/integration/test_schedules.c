/*
 * Schedules end to end, on each backend, against the simulator: users with
 * short-interval schedules get runs on their own, each user's mirror
 * equals the simulator's catalog, and no two runs of a kind of one user
 * overlap; a run that fails (a token eBay refuses) is retried after 1, 2,
 * 4 ... seconds (serve --schedule-min-interval 1 makes the backoff base a
 * second), and a good token makes it succeed again; a linked account whose
 * consent eBay revoked pauses its schedule with reason ebay_relink and no
 * run starts until it is switched on again or the user's eBay
 * credentials change (then it resumes by itself); bad input is refused with 400
 * invalid_schedule. On PostgreSQL, two serve processes on one database
 * fire every due time once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>

#include "catalog_check.h"
#include "store.h"
#include "testutil.h"
#include "timeutil.h"
#include "xalloc.h"

#define JWT_SECRET "schedule-tests-jwt-secret-0123456789abcdef"
#define SEAL_KEY   "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
#define PW	   "schedule-password"
#define CLIENT_ID  "sched-client"
#define CLIENT_SEC "sched-secret"
#define FIXED_RT   "sched-fixed-refresh-token"

struct fx {
	const char *backend, *db;
	struct catalog_env env;
	struct testutil_proc srv, srv2;
	char *dir;
	char *sim_env;
	char *jwt[8];
};

static char *const *server_env(struct fx *f)
{
	static char *env[8];

	env[0] = "EBAYSYNC_JWT_SECRET=" JWT_SECRET;
	env[1] = "EBAYSYNC_SECRET_KEY=" SEAL_KEY;
	env[2] = "EBAY_CLIENT_ID=" CLIENT_ID;
	env[3] = "EBAY_CLIENT_SECRET=" CLIENT_SEC;
	env[4] = "EBAY_ENV=simulator";
	env[5] = f->sim_env;
	env[6] = NULL;
	return env;
}

static void serve(struct fx *f, struct testutil_proc *p)
{
	char *argv[] = {TESTUTIL_APP_BIN,
			"serve",
			"--listen",
			"127.0.0.1:0",
			"--db",
			(char *)f->db,
			"--api-base",
			f->env.sim.base_url,
			"--max-rps",
			"5000",
			"--schedule-min-interval",
			"1",
			NULL};

	assert_int_equal(testutil_spawn(p, argv, server_env(f)), 0);
}

static void app(struct fx *f, char *const args[])
{
	char *argv[16], *out = NULL;
	int i, rc;

	argv[0] = TESTUTIL_APP_BIN;
	for (i = 0; args[i]; i++)
		argv[i + 1] = args[i];
	argv[i + 1] = "--db";
	argv[i + 2] = (char *)f->db;
	argv[i + 3] = NULL;
	rc = testutil_run(argv, server_env(f), &out);
	if (rc)
		fail_msg("ebaysync %s %s: exit %d: %s", args[0], args[1], rc, out ? out : "");
	free(out);
}

static void add_user(struct fx *f, const char *name, const char *token)
{
	char *pwf = xasprintf("%s/pw", f->dir), *tf = xasprintf("%s/tok", f->dir);
	FILE *fp = fopen(pwf, "w");

	fputs(PW "\n", fp);
	fclose(fp);
	app(f, (char *[]){"user", "add", (char *)name, "--password-file", pwf, NULL});
	if (token)
		app(f,
		    (char *[]){"user", "set-token", (char *)name, "--token", (char *)token, NULL});
	else {
		fp = fopen(tf, "w");
		fputs(FIXED_RT "\n", fp);
		fclose(fp);
		app(f, (char *[]){"account", "set-refresh-token", "--user", (char *)name,
				  "--token-file", tf, "--expires-in", "47304000", NULL});
	}
	free(pwf);
	free(tf);
}

static json_t *call(struct testutil_proc *p, const char *jwt, const char *method, const char *path,
		    const char *body, long *status)
{
	char *url = xasprintf("%s%s", p->base_url, path);
	char *auth = jwt ? xasprintf("Authorization: Bearer %s", jwt) : NULL;
	const char *hdrs[] = {"Content-Type: application/json", auth, NULL};
	struct testutil_http r;
	json_t *j = NULL;

	assert_int_equal(testutil_http(method, url, body, hdrs, &r), 0);
	*status = r.status;
	if (r.len)
		j = json_loadb(r.body, r.len, 0, NULL);
	testutil_http_release(&r);
	free(auth);
	free(url);
	return j;
}

static char *login(struct testutil_proc *p, const char *user)
{
	char *body = xasprintf("{\"username\":\"%s\",\"password\":\"" PW "\"}", user);
	long status;
	json_t *j = call(p, NULL, "POST", "/auth/login", body, &status);
	char *jwt;

	assert_int_equal(status, 200);
	jwt = xstrdup(json_string_value(json_object_get(j, "token")));
	json_decref(j);
	free(body);
	return jwt;
}

/* POST /ebay/schedules; returns the schedule's id (malloc'd). */
static char *add_schedule(struct fx *f, const char *jwt, const char *body)
{
	long status;
	json_t *j = call(&f->srv, jwt, "POST", "/ebay/schedules", body, &status);
	char *id;

	if (status != 201)
		fail_msg("[%s] POST /ebay/schedules %s: %ld %s", f->backend, body, status,
			 json_dumps(j, 0));
	id = xstrdup(json_string_value(json_object_get(j, "id")));
	json_decref(j);
	return id;
}

static json_t *get_schedule(struct fx *f, const char *jwt, const char *id)
{
	char *path = xasprintf("/ebay/schedules/%s", id);
	long status;
	json_t *j = call(&f->srv, jwt, "GET", path, NULL, &status);

	assert_int_equal(status, 200);
	free(path);
	return j;
}

/* The schedule once its last run's end is recorded (at most 5 s). */
static json_t *settled(struct fx *f, const char *jwt, const char *id)
{
	long long end = timeutil_mono_ms() + 5000;
	json_t *j;

	for (;;) {
		j = get_schedule(f, jwt, id);
		if (!json_is_string(json_object_get(j, "last_result")) ||
		    strcmp(json_string_value(json_object_get(j, "last_result")), "running") ||
		    timeutil_mono_ms() > end)
			return j;
		json_decref(j);
		timeutil_sleep_ms(200);
	}
}

static void set_enabled(struct fx *f, const char *jwt, const char *id, int on)
{
	char *path = xasprintf("/ebay/schedules/%s", id);
	long status;
	json_t *j = call(&f->srv, jwt, "PATCH", path,
			 on ? "{\"enabled\":true}" : "{\"enabled\":false}", &status);

	assert_int_equal(status, 200);
	assert_int_equal(json_is_true(json_object_get(j, "enabled")), on);
	json_decref(j);
	free(path);
}

/* The user's runs, oldest first. */
static struct run_row *runs_of(struct fx *f, const char *user, size_t *n)
{
	struct buf why = BUF_INIT;
	struct store *s = NULL;
	struct run_row *rows = NULL, t;
	size_t i;

	assert_int_equal(store_open(f->db, &s, &why), ERR_OK);
	assert_int_equal(store_run_list(s, user, 0, 0, &rows, n, NULL), ERR_OK);
	for (i = 0; i < *n / 2; i++) {
		t = rows[i];
		rows[i] = rows[*n - 1 - i];
		rows[*n - 1 - i] = t;
	}
	store_close(s);
	buf_release(&why);
	return rows;
}

static void free_runs(struct run_row *rows, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		run_row_release(&rows[i]);
	free(rows);
}

static void count_runs(struct fx *f, const char *user, size_t *n)
{
	struct run_row *rows = runs_of(f, user, n);

	free_runs(rows, *n);
}

/* Waits until no run of user is running (at most 20 s). */
static void wait_idle(struct fx *f, const char *user)
{
	long long end = timeutil_mono_ms() + 20000;
	struct run_row *rows;
	size_t n, i, running;

	do {
		rows = runs_of(f, user, &n);
		for (i = running = 0; i < n; i++)
			running += !strcmp(rows[i].status, STORE_RUN_RUNNING);
		free_runs(rows, n);
		if (!running)
			return;
		timeutil_sleep_ms(200);
	} while (timeutil_mono_ms() < end);
	fail_msg("[%s] %s still has a run going", f->backend, user);
}

static void refused(struct fx *f, const char *jwt, const char *method, const char *path,
		    const char *body)
{
	long status;
	json_t *j = call(&f->srv, jwt, method, path, body, &status);
	const char *code = json_string_value(json_object_get(json_object_get(j, "error"), "code"));

	if (status != 400 || !code || strcmp(code, "invalid_schedule"))
		fail_msg("[%s] %s %s %s: %ld %s", f->backend, method, path, body, status,
			 json_dumps(j, 0));
	json_decref(j);
}

static void bad_input(struct fx *f, const char *jwt)
{
	refused(f, jwt, "POST", "/ebay/schedules", "{\"kind\":\"skus\",\"interval_s\":60}");
	refused(f, jwt, "POST", "/ebay/schedules", "{\"kind\":\"all\"}");
	refused(f, jwt, "POST", "/ebay/schedules", "{\"kind\":\"all\",\"interval_s\":0}");
	refused(f, jwt, "POST", "/ebay/schedules", "{\"kind\":\"all\",\"interval_s\":99999999}");
	refused(f, jwt, "POST", "/ebay/schedules",
		"{\"kind\":\"all\",\"interval_s\":60,\"times\":[\"08:00\"]}");
	refused(f, jwt, "POST", "/ebay/schedules", "{\"kind\":\"all\",\"times\":[\"8am\"]}");
	refused(f, jwt, "POST", "/ebay/schedules",
		"{\"kind\":\"all\",\"times\":[\"08:00\"],\"tz\":\"../../etc/passwd\"}");
	refused(f, jwt, "POST", "/ebay/schedules",
		"{\"kind\":\"all\",\"times\":[\"08:00\"],\"tz\":\"Mars/Base\"}");
	refused(f, jwt, "POST", "/ebay/schedules", "{\"kind\":\"all\",\"interval_s\":60,\"x\":1}");
}

/* Runs of a kind of one user never overlap; returns how many are done. */
static size_t check_runs(struct fx *f, const char *user, const char *kind)
{
	struct run_row *rows;
	size_t n, i, done = 0;
	long long last_end = 0;

	rows = runs_of(f, user, &n);
	for (i = 0; i < n; i++) {
		if (strcmp(rows[i].kind, kind))
			continue;
		if (rows[i].started_ms < last_end)
			fail_msg("[%s] %s: run %s started before the previous one ended",
				 f->backend, user, rows[i].id);
		last_end = rows[i].finished_ms;
		if (strcmp(rows[i].status, STORE_RUN_DONE))
			fail_msg("[%s] %s: run %s is %s: %s", f->backend, user, rows[i].id,
				 rows[i].status, rows[i].error ? rows[i].error : "");
		done++;
	}
	free_runs(rows, n);
	return done;
}

static void runs_on_their_own(struct fx *f)
{
	const char *users[] = {"alice", "bob", "carol"};
	const char *kinds[] = {"all", "inventory", "offers"};
	char *ids[3], *body;
	json_t *cat, *j;
	size_t i, done;

	for (i = 0; i < 3; i++) {
		body = xasprintf("{\"kind\":\"%s\",\"interval_s\":%zu}", kinds[i], i + 1);
		ids[i] = add_schedule(f, f->jwt[i], body);
		free(body);
	}
	timeutil_sleep_ms(5000);
	for (i = 0; i < 3; i++)
		set_enabled(f, f->jwt[i], ids[i], 0);
	cat = catalog_fetch(&f->env);
	for (i = 0; i < 3; i++) {
		wait_idle(f, users[i]);
		done = check_runs(f, users[i], kinds[i]);
		print_message("[%s] %s: %zu scheduled %s runs in 5 s\n", f->backend, users[i], done,
			      kinds[i]);
		if (done < 2)
			fail_msg("[%s] %s: only %zu runs", f->backend, users[i], done);
		j = settled(f, f->jwt[i], ids[i]);
		assert_string_equal(json_string_value(json_object_get(j, "last_result")), "done");
		assert_true(json_is_null(json_object_get(j, "next_due_at"))); /* off */
		json_decref(j);
		if (strcmp(kinds[i], "offers"))
			catalog_assert_db_equals(f->db, users[i], cat, !strcmp(kinds[i], "all"));
		free(ids[i]);
	}
	json_decref(cat);
}

/* dave's token is refused by eBay: each run fails at once, and the retries
 * come 1, 2, 4 s after the failures; a good token ends the failures. */
static void failing_runs_back_off(struct fx *f)
{
	struct run_row *rows;
	size_t n, i;
	char *id = add_schedule(f, f->jwt[3], "{\"kind\":\"inventory\",\"interval_s\":60}");
	long long gap, want;
	json_t *j;

	timeutil_sleep_ms(7000);
	rows = runs_of(f, "dave", &n);
	print_message("[%s] dave: %zu failed runs\n", f->backend, n);
	if (n < 3 || n > 5)
		fail_msg("[%s] dave: %zu runs in 7 s of 1, 2, 4 s backoff", f->backend, n);
	for (i = 0; i < n; i++) {
		assert_string_equal(rows[i].status, STORE_RUN_FAILED);
		if (i == 0)
			continue;
		gap = rows[i].started_ms - rows[i - 1].finished_ms;
		want = 1000LL << (i - 1);
		print_message("[%s]   retry %zu after %lld ms (backoff %lld)\n", f->backend, i, gap,
			      want);
		if (gap < want - 50 || gap > want + 2500)
			fail_msg("[%s] retry %zu came %lld ms after the failure, not ~%lld",
				 f->backend, i, gap, want);
	}
	free_runs(rows, n);
	j = settled(f, f->jwt[3], id);
	assert_string_equal(json_string_value(json_object_get(j, "last_result")), "failed");
	assert_true(json_integer_value(json_object_get(j, "failures")) >= 3);
	assert_true(json_is_null(json_object_get(j, "paused_reason")));
	json_decref(j);
	/* A good token: the next retry succeeds and the failures are over. */
	app(f, (char *[]){"user", "set-token", "dave", "--token", CATALOG_TOKEN, NULL});
	{
		long long end = timeutil_mono_ms() + 15000;
		do {
			timeutil_sleep_ms(500);
			j = get_schedule(f, f->jwt[3], id);
			if (!strcmp(json_string_value(json_object_get(j, "last_result")), "done"))
				break;
			json_decref(j);
			j = NULL;
		} while (timeutil_mono_ms() < end);
		if (!j)
			fail_msg("[%s] dave's retry did not succeed", f->backend);
	}
	assert_int_equal(json_integer_value(json_object_get(j, "failures")), 0);
	json_decref(j);
	set_enabled(f, f->jwt[3], id, 0);
	free(id);
}

/* erin's linked account is revoked at eBay: the schedule pauses. */
static void relink_pauses(struct fx *f)
{
	char *id = add_schedule(f, f->jwt[4], "{\"kind\":\"inventory\",\"interval_s\":1}");
	long long end = timeutil_mono_ms() + 20000;
	size_t n1, n2;
	long status;
	json_t *j;

	timeutil_sleep_ms(2500);
	count_runs(f, "erin", &n1);
	assert_true(n1 >= 1);
	j = call(&f->env.sim, NULL, "POST", "/sim/revoke", "{\"all\":true}", &status);
	assert_int_equal(status, 200);
	json_decref(j);
	for (;;) {
		j = get_schedule(f, f->jwt[4], id);
		if (json_is_string(json_object_get(j, "paused_reason")))
			break;
		json_decref(j);
		if (timeutil_mono_ms() > end)
			fail_msg("[%s] erin's schedule never paused", f->backend);
		timeutil_sleep_ms(300);
	}
	assert_string_equal(json_string_value(json_object_get(j, "paused_reason")), "ebay_relink");
	assert_string_equal(json_string_value(json_object_get(j, "last_error_code")),
			    "ebay_relink");
	assert_true(json_is_null(json_object_get(j, "next_due_at")));
	json_decref(j);
	count_runs(f, "erin", &n1);
	timeutil_sleep_ms(3000);
	count_runs(f, "erin", &n2);
	print_message("[%s] erin: paused after %zu runs, %zu after 3 s more\n", f->backend, n1, n2);
	assert_int_equal(n2, n1);
	/* Switched on again: it tries (and pauses again, the consent being
	 * gone still). */
	set_enabled(f, f->jwt[4], id, 1);
	end = timeutil_mono_ms() + 15000;
	do {
		timeutil_sleep_ms(300);
		count_runs(f, "erin", &n2);
	} while (n2 == n1 && timeutil_mono_ms() < end);
	assert_int_equal(n2, n1 + 1);
	j = settled(f, f->jwt[4], id);
	assert_string_equal(json_string_value(json_object_get(j, "paused_reason")), "ebay_relink");
	json_decref(j);
	/* New credentials (here a token eBay accepts, in place of the
	 * account): the scheduler notices and resumes by itself. */
	app(f, (char *[]){"account", "unlink", "--user", "erin", NULL});
	app(f, (char *[]){"user", "set-token", "erin", "--token", CATALOG_TOKEN, NULL});
	/* Resumed: not paused, and a run it started since ended done. (At
	 * a 1 s cadence the schedule's own last_result is "running" nearly
	 * always: each tick records the last run's end and starts the next.) */
	end = timeutil_mono_ms() + 15000;
	for (;;) {
		const char *last;
		json_t *run = NULL;
		long st = 0;

		j = get_schedule(f, f->jwt[4], id);
		last = json_string_value(json_object_get(j, "last_run_id"));
		if (json_is_null(json_object_get(j, "paused_reason")) && last) {
			char *rp = xasprintf("/ebay/sync/runs/%s", last);

			run = call(&f->srv, f->jwt[4], "GET", rp, NULL, &st);
			free(rp);
		}
		if (st == 200 && run &&
		    !strcmp(json_string_value(json_object_get(run, "status")), "done") &&
		    (long long)json_integer_value(json_object_get(run, "fetched")) > 0) {
			json_decref(run);
			break;
		}
		json_decref(run);
		if (timeutil_mono_ms() > end) {
			char *text = json_dumps(j, JSON_COMPACT);

			fail_msg("[%s] erin's schedule did not resume after new credentials: %s",
				 f->backend, text);
		}
		json_decref(j);
		timeutil_sleep_ms(300);
	}
	json_decref(j);
	set_enabled(f, f->jwt[4], id, 0);
	free(id);
}

/* Runs of kind of user that started at or after t0_ms. */
static size_t runs_since(struct fx *f, const char *user, const char *kind, long long t0_ms)
{
	size_t n, i, count = 0;
	struct run_row *rows = runs_of(f, user, &n);

	for (i = 0; i < n; i++)
		count += !strcmp(rows[i].kind, kind) && rows[i].started_ms >= t0_ms;
	free_runs(rows, n);
	return count;
}

/* The claim is a compare-and-set: of two claims of one due time, one
 * wins. */
static void claim_once(struct fx *f)
{
	struct schedule_row r = {.id = "sch_claim_test",
				 .user_id = "frank",
				 .kind = "inventory",
				 .interval_s = 60,
				 .tz = "UTC",
				 .enabled = 1,
				 .next_due_ms = 1000,
				 .created_ms = 1,
				 .updated_ms = 1};
	struct buf why = BUF_INIT;
	struct store *s = NULL;

	assert_int_equal(store_open(f->db, &s, &why), ERR_OK);
	assert_int_equal(store_schedule_insert(s, &r), ERR_OK);
	assert_int_equal(store_schedule_claim(s, r.id, 1000, 61000), ERR_OK);
	assert_int_equal(store_schedule_claim(s, r.id, 1000, 61000), ERR_CONFLICT);
	assert_int_equal(store_schedule_claim(s, r.id, 61000, 121000), ERR_OK);
	assert_int_equal(store_schedule_delete(s, "frank", r.id), ERR_OK);
	store_close(s);
	buf_release(&why);
}

/* Two serve processes on one PostgreSQL database: each due time of the
 * schedules (made at different moments of a second, so that each process
 * is first to see some) is fired by one of them. */
static void two_servers(struct fx *f)
{
	static const int who[] = {5, 0, 1, 2};
	static const char *const kind[] = {"inventory", "inventory", "inventory", "offers"};
	static const char *const users[] = {"frank", "alice", "bob", "carol"};
	char *ids[4], *log, *p, needle[128], *body;
	struct testutil_proc *procs[2] = {&f->srv, &f->srv2};
	long long dues[512], t0 = timeutil_wall_ms();
	size_t n_dues, total = 0, i, k, q, runs, per[2] = {0, 0};
	FILE *fp;

	claim_once(f);
	serve(f, &f->srv2);
	for (q = 0; q < 4; q++) {
		body = xasprintf("{\"kind\":\"%s\",\"interval_s\":1}", kind[q]);
		ids[q] = add_schedule(f, f->jwt[who[q]], body);
		free(body);
		timeutil_sleep_ms(250);
	}
	timeutil_sleep_ms(5000);
	for (q = 0; q < 4; q++)
		set_enabled(f, f->jwt[who[q]], ids[q], 0);
	log = xcalloc(1, 1 << 20);
	for (q = 0; q < 4; q++) {
		wait_idle(f, users[q]);
		n_dues = 0;
		for (k = 0; k < 2; k++) {
			fp = fopen(procs[k]->log_path, "r");
			assert_non_null(fp);
			memset(log, 0, 1 << 20);
			if (fread(log, 1, (1 << 20) - 1, fp) == 0)
				fail_msg("empty log");
			fclose(fp);
			snprintf(needle, sizeof(needle), "schedule %s of ", ids[q]);
			for (p = strstr(log, needle); p && n_dues < 512;
			     p = strstr(p + 1, needle)) {
				p = strchr(p + strlen(needle), ':');
				if (strncmp(p, ": due ", 6))
					continue;
				dues[n_dues++] = strtoll(p + 6, NULL, 10);
				per[k]++;
			}
		}
		for (i = 0; i < n_dues; i++)
			for (k = i + 1; k < n_dues; k++)
				if (dues[i] == dues[k])
					fail_msg("[%s] due time %lld fired twice", f->backend,
						 dues[i]);
		runs = runs_since(f, users[q], kind[q], t0);
		assert_int_equal(runs, n_dues);
		assert_true(n_dues >= 3);
		total += n_dues;
		free(ids[q]);
	}
	free(log);
	print_message("[%s] two servers: %zu due times fired once each (%zu by one, %zu by the "
		      "other)\n",
		      f->backend, total, per[0], per[1]);
	assert_true(per[0] > 0 && per[1] > 0);
	assert_int_equal(testutil_stop(&f->srv2, 0), 0);
}

static void test_schedules(void **state)
{
	const char *users[] = {"alice", "bob", "carol", "dave", "erin", "frank"};
	char *extra[] = {"--client-id",
			 CLIENT_ID,
			 "--client-secret",
			 CLIENT_SEC,
			 "--refresh-token",
			 FIXED_RT,
			 "--skus",
			 "60",
			 "--token-ttl",
			 "2",
			 NULL};
	struct fx f;
	int b;
	size_t i;

	(void)state;
	memset(&f, 0, sizeof(f));
	f.env.n_backends = testutil_backends(f.env.urls, f.env.names);
	assert_int_equal(catalog_start_sim(&f.env, (const char *const *)extra), 0);
	f.sim_env = xasprintf("EBAY_API_BASE=%s", f.env.sim.base_url);
	for (b = 0; b < f.env.n_backends; b++) {
		f.backend = f.env.names[b];
		f.db = f.env.urls[b];
		f.dir = testutil_tmpdir();
		for (i = 0; i < 6; i++)
			add_user(&f, users[i],
				 i == 4	  ? NULL
				 : i == 3 ? "a-token-ebay-refuses"
					  : CATALOG_TOKEN);
		serve(&f, &f.srv);
		for (i = 0; i < 6; i++)
			f.jwt[i] = login(&f.srv, users[i]);
		bad_input(&f, f.jwt[0]);
		runs_on_their_own(&f);
		failing_runs_back_off(&f);
		relink_pauses(&f);
		if (!strcmp(f.backend, "postgres"))
			two_servers(&f);
		assert_int_equal(testutil_stop(&f.srv, 0), 0);
		for (i = 0; i < 6; i++)
			free(f.jwt[i]);
		testutil_rmrf(f.dir);
		free(f.dir);
		/* The refresh token was revoked: a fresh one for the next backend. */
		if (b + 1 < f.env.n_backends) {
			testutil_stop(&f.env.sim, 0);
			assert_int_equal(catalog_start_sim(&f.env, (const char *const *)extra), 0);
			free(f.sim_env);
			f.sim_env = xasprintf("EBAY_API_BASE=%s", f.env.sim.base_url);
		}
	}
	testutil_stop(&f.env.sim, 0);
	testutil_backends_release(f.env.urls, f.env.n_backends);
	free(f.sim_env);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_schedules),
	};

	curl_global_init(CURL_GLOBAL_DEFAULT);
	return cmocka_run_group_tests_name("schedules", tests, NULL, NULL);
}
