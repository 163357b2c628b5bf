/*
 * The job queue and its workers (docs/queue.md), end to end against the
 * simulator: runs started through the API of `serve` processes are
 * claimed and executed by `ebaysync worker` processes (PostgreSQL) or by
 * serve's own slots (SQLite); every run ends done and every user's mirror
 * equals /sim/catalog. A worker killed with SIGKILL mid-run loses its
 * lease and another one resumes the same run (attempts 2, its log going on
 * without a gap); a worker stopped with SIGTERM hands its run back and
 * another one finishes it; a serve killed and restarted resumes its run.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "buf.h"
#include "catalog_check.h"
#include "secret.h"
#include "store.h"
#include "testutil.h"
#include "timeutil.h"
#include "users.h"
#include "xalloc.h"

#define JWT_SECRET "queue-jwt-secret-0123456789abcdef0123"
#define SEAL_KEY   "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
#define PW	   "pw-of-a-queue-test"
#define N_SKUS	   "200"
#define LEASE_MS   "1500"
#define MAX_PROCS  5

static char *const proc_env[] = {"EBAYSYNC_JWT_SECRET=" JWT_SECRET, "EBAYSYNC_SECRET_KEY=" SEAL_KEY,
				 NULL};

struct fx {
	struct catalog_env env;
	char *db;
	struct testutil_proc serve[2], work[MAX_PROCS];
	int n_serve, n_work;
	json_t *cat;
};

/* ---- processes ------------------------------------------------------------ */

static void start_serve(struct fx *f, int i, const char *workers)
{
	char *argv[] = {TESTUTIL_APP_BIN, "serve",     "--listen",   "127.0.0.1:0",
			"--db",		  f->db,       "--api-base", f->env.sim.base_url,
			"--env",	  "simulator", "--workers",  (char *)workers,
			"--lease-ms",	  LEASE_MS,    "--max-rps",  "5000",
			"--concurrency",  "4",	       "--quiet",    NULL};

	assert_int_equal(testutil_spawn(&f->serve[i], argv, proc_env), 0);
}

static void start_worker(struct fx *f, int i)
{
	char *argv[] = {TESTUTIL_APP_BIN,
			"worker",
			"--db",
			f->db,
			"--api-base",
			f->env.sim.base_url,
			"--env",
			"simulator",
			"--slots",
			"2",
			"--lease-ms",
			LEASE_MS,
			"--poll-ms",
			"200",
			"--max-rps",
			"5000",
			"--concurrency",
			"4",
			NULL};

	assert_int_equal(testutil_spawn(&f->work[i], argv, proc_env), 0);
}

static void sim_latency(struct fx *f, int ms)
{
	char *url = xasprintf("%s/sim/config", f->env.sim.base_url);
	char *body = xasprintf("{\"latency_ms\": %d}", ms);
	struct testutil_http r;

	assert_int_equal(testutil_http("POST", url, body, NULL, &r), 0);
	assert_int_equal(r.status, 200);
	testutil_http_release(&r);
	free(url);
	free(body);
}

/* ---- users and the API -------------------------------------------------- */

static void add_users(struct fx *f, const char *prefix, int n)
{
	struct secret_key key;
	struct buf why = BUF_INIT;
	struct store *s;

	assert_int_equal(store_open(f->db, &s, &why), ERR_OK);
	assert_int_equal(secret_key_load(f->db, &key, &why), ERR_OK);
	for (int i = 0; i < n; i++) {
		char *spec = xasprintf("%s%d:" PW, prefix, i);

		if (users_put(s, &key, spec, CATALOG_TOKEN, USERS_UPSERT, &why))
			fail_msg("cannot add user: %s", buf_str(&why));
		free(spec);
	}
	store_close(s);
	buf_release(&why);
}

static json_t *call(struct testutil_proc *srv, const char *method, const char *path,
		    const char *bearer, const char *body, long *status)
{
	char *url = xasprintf("%s%s", srv->base_url, path);
	char *auth = bearer ? xasprintf("Authorization: Bearer %s", bearer) : NULL;
	const char *headers[] = {"Content-Type: application/json", auth, NULL};
	struct testutil_http r;
	json_t *j;

	assert_int_equal(testutil_http(method, url, body, headers, &r), 0);
	*status = r.status;
	j = json_loads(r.body ? r.body : "", JSON_DECODE_ANY, NULL);
	testutil_http_release(&r);
	free(url);
	free(auth);
	return j;
}

static char *login(struct testutil_proc *srv, const char *user)
{
	char *body = xasprintf("{\"username\":\"%s\",\"password\":\"" PW "\"}", user);
	long status;
	json_t *j = call(srv, "POST", "/auth/login", NULL, body, &status);
	char *token;

	assert_int_equal(status, 200);
	token = xstrdup(json_string_value(json_object_get(j, "token")));
	json_decref(j);
	free(body);
	return token;
}

/* Logs user in and starts a run of kind through srv; returns its id. */
static char *start_run(struct testutil_proc *srv, const char *user, const char *kind)
{
	char *bearer = login(srv, user), *path = xasprintf("/ebay/sync/%s", kind), *id;
	long status;
	json_t *j = call(srv, "POST", path, bearer, NULL, &status);

	if (status != 202)
		fail_msg("start %s for %s: %ld", kind, user, status);
	assert_string_equal(json_string_value(json_object_get(j, "status")), "started");
	id = xstrdup(json_string_value(json_object_get(j, "run_id")));
	/* A second start while it is queued or running is refused, naming it. */
	json_decref(j);
	j = call(srv, "POST", path, bearer, NULL, &status);
	assert_int_equal(status, 409);
	json_decref(j);
	free(path);
	free(bearer);
	return id;
}

/* ---- the store's view ---------------------------------------------------- */

static void run_of(struct fx *f, const char *id, struct run_row *row, struct job_row *job)
{
	struct store *s;

	assert_int_equal(store_open(f->db, &s, NULL), ERR_OK);
	assert_int_equal(store_run_get(s, NULL, id, row), ERR_OK);
	if (job)
		assert_int_equal(store_job_get(s, id, job), ERR_OK);
	store_close(s);
}

/* Waits (up to secs) until run id has ended; asserts it is done. */
static void wait_done(struct fx *f, const char *id, int secs)
{
	long long deadline = timeutil_mono_ms() + secs * 1000LL;
	struct run_row row;

	for (;;) {
		memset(&row, 0, sizeof(row));
		run_of(f, id, &row, NULL);
		if (!store_run_active(row.status))
			break;
		run_row_release(&row);
		if (timeutil_mono_ms() > deadline)
			fail_msg("run %s has not ended in %d s", id, secs);
		timeutil_sleep_ms(100);
	}
	if (strcmp(row.status, "done"))
		fail_msg("run %s ended %s: %s", id, row.status, row.error ? row.error : "");
	run_row_release(&row);
}

/* 1 when run id logged a line containing text (in the store). */
static int logged(struct fx *f, const char *id, const char *text)
{
	struct event_row *ev = NULL;
	struct store *s;
	size_t n = 0;
	int found = 0;

	assert_int_equal(store_open(f->db, &s, NULL), ERR_OK);
	assert_int_equal(store_events_list(s, id, 0, 100000, &ev, &n), ERR_OK);
	for (size_t i = 0; i < n; i++) {
		found |= ev[i].line && strstr(ev[i].line, text) != NULL;
		event_row_release(&ev[i]);
	}
	free(ev);
	store_close(s);
	return found;
}

/* Waits until run id is in its offers step and has recorded how far it
 * got (its first progress line: the offers mark is saved with it); returns
 * its job. */
static void wait_midway(struct fx *f, const char *id, struct job_row *job)
{
	long long deadline = timeutil_mono_ms() + 30000;
	struct run_row row;

	for (;;) {
		memset(&row, 0, sizeof(row));
		run_of(f, id, &row, job);
		if (!strcmp(row.status, "running") && row.total > 0 && job->worker &&
		    logged(f, id, "Progress: ")) {
			timeutil_sleep_ms(300); /* the mark is written just after */
			break;
		}
		run_row_release(&row);
		job_row_release(job);
		if (timeutil_mono_ms() > deadline)
			fail_msg("run %s did not get going in 30 s", id);
		timeutil_sleep_ms(50);
	}
	run_row_release(&row);
}

/* The run's stored events are 1..n without a gap; 1 when one has text. */
static int log_whole(struct fx *f, const char *id, const char *text)
{
	struct event_row *ev = NULL;
	struct store *s;
	size_t n = 0;
	int found = 0;

	assert_int_equal(store_open(f->db, &s, NULL), ERR_OK);
	assert_int_equal(store_events_list(s, id, 0, 100000, &ev, &n), ERR_OK);
	assert_true(n > 4);
	for (size_t i = 0; i < n; i++) {
		if (ev[i].seq != (long long)i + 1)
			fail_msg("run %s: event %zu has seq %lld", id, i + 1, ev[i].seq);
		found |= ev[i].line && strstr(ev[i].line, text) != NULL;
		event_row_release(&ev[i]);
	}
	free(ev);
	store_close(s);
	return found;
}

/* The worker process holding job (by the pid in "host:pid:slot"). */
static int holder(struct fx *f, const struct job_row *job)
{
	char *end, *colon = strchr(job->worker, ':');
	long pid = colon ? strtol(colon + 1, &end, 10) : 0;

	for (int i = 0; i < f->n_work; i++)
		if (f->work[i].pid == pid)
			return i;
	fail_msg("job %s is held by '%s', not one of the workers", job->run_id, job->worker);
	return -1;
}

/* ---- fixture ------------------------------------------------------------- */

static int setup_fx(struct fx *f, char *db)
{
	const char *const sim_extra[] = {"--skus", N_SKUS, NULL};

	memset(f, 0, sizeof(*f));
	f->db = db;
	setenv("EBAYSYNC_SECRET_KEY", SEAL_KEY, 1);
	if (catalog_start_sim(&f->env, sim_extra))
		return -1;
	f->cat = catalog_fetch(&f->env);
	return 0;
}

static void teardown_fx(struct fx *f)
{
	for (int i = 0; i < f->n_serve; i++)
		if (f->serve[i].pid)
			testutil_stop(&f->serve[i], SIGTERM);
	for (int i = 0; i < f->n_work; i++)
		if (f->work[i].pid)
			testutil_stop(&f->work[i], SIGTERM);
	testutil_stop(&f->env.sim, SIGTERM);
	json_decref(f->cat);
	free(f->db);
}

/* Starts a run of "all" for a user, makes its worker die (sig) midway,
 * and checks the run is finished by another with the mirror exact. */
static void lose_worker(struct fx *f, const char *user, int sig, long long attempts)
{
	struct job_row job;
	char *id;
	int w, status;

	sim_latency(f, 60);
	id = start_run(&f->serve[0], user, "all");
	wait_midway(f, id, &job);
	w = holder(f, &job);
	job_row_release(&job);
	status = testutil_stop(&f->work[w], sig);
	if (sig == SIGTERM) /* it hands its run back and exits 0 */
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	sim_latency(f, 0);
	wait_done(f, id, 60);
	memset(&job, 0, sizeof(job));
	{
		struct run_row row;

		memset(&row, 0, sizeof(row));
		run_of(f, id, &row, &job);
		run_row_release(&row);
	}
	assert_string_equal(job.state, "done");
	assert_int_equal(job.attempts, attempts);
	job_row_release(&job);
	/* It went on from the offers mark, not from the first SKU. */
	assert_true(log_whole(f, id, "SKUs are stored; fetching the other"));
	if (sig == SIGTERM)
		assert_true(log_whole(f, id, "Handed back to the queue"));
	catalog_assert_db_equals(f->db, user, f->cat, 1);
	start_worker(f, w); /* back to full strength */
	free(id);
}

/* ---- PostgreSQL: two serves, three workers -------------------------------- */

static void test_pg_fleet(void **state)
{
	struct fx f;
	char *db = testutil_pg_fresh_db(), *ids[20], user[16];
	long status;
	json_t *j;

	(void)state;
	if (!db) {
		if (getenv("ES_TEST_REQUIRE_PG") && *getenv("ES_TEST_REQUIRE_PG") == '1')
			fail_msg("ES_TEST_REQUIRE_PG=1 but no PostgreSQL");
		skip();
	}
	assert_int_equal(setup_fx(&f, db), 0);
	add_users(&f, "u", 20);
	add_users(&f, "k", 2);
	for (f.n_serve = 0; f.n_serve < 2; f.n_serve++)
		start_serve(&f, f.n_serve, "0");
	for (f.n_work = 0; f.n_work < 3; f.n_work++)
		start_worker(&f, f.n_work);

	for (int i = 0; i < 20; i++) {
		snprintf(user, sizeof(user), "u%d", i);
		ids[i] = start_run(&f.serve[i % 2], user, "all");
	}
	for (int i = 0; i < 20; i++) {
		snprintf(user, sizeof(user), "u%d", i);
		wait_done(&f, ids[i], 120);
		catalog_assert_db_equals(f.db, user, f.cat, 1);
		free(ids[i]);
	}
	/* The queue's figures: every job done, three workers alive. */
	j = call(&f.serve[1], "GET", "/healthz", NULL, NULL, &status);
	assert_int_equal(status, 200);
	assert_string_equal(json_string_value(json_object_get(j, "queue")), "ok");
	assert_int_equal(json_integer_value(json_object_get(j, "workers")), 3);
	assert_int_equal(json_integer_value(json_object_get(j, "queued")), 0);
	json_decref(j);

	lose_worker(&f, "k0", SIGKILL, 2);
	lose_worker(&f, "k1", SIGTERM, 1);
	teardown_fx(&f);
}

/* ---- SQLite: one serve and its slots --------------------------------------- */

static void test_sqlite_serve(void **state)
{
	struct fx f;
	char *dir = testutil_tmpdir(), *ids[6], user[16], *id;
	struct job_row job;

	(void)state;
	assert_int_equal(setup_fx(&f, xasprintf("%s/queue.db", dir)), 0);
	add_users(&f, "u", 6);
	start_serve(&f, 0, "2");
	f.n_serve = 1;
	for (int i = 0; i < 6; i++) {
		snprintf(user, sizeof(user), "u%d", i);
		ids[i] = start_run(&f.serve[0], user, "all");
	}
	for (int i = 0; i < 6; i++) {
		snprintf(user, sizeof(user), "u%d", i);
		wait_done(&f, ids[i], 120);
		catalog_assert_db_equals(f.db, user, f.cat, 1);
		free(ids[i]);
	}
	/* kill -9 of serve mid-run; the next serve resumes the run. */
	add_users(&f, "k", 1);
	sim_latency(&f, 60);
	id = start_run(&f.serve[0], "k0", "all");
	wait_midway(&f, id, &job);
	job_row_release(&job);
	testutil_stop(&f.serve[0], SIGKILL);
	sim_latency(&f, 0);
	start_serve(&f, 0, "2");
	wait_done(&f, id, 60);
	{
		struct run_row row;

		memset(&row, 0, sizeof(row));
		run_of(&f, id, &row, &job);
		run_row_release(&row);
	}
	assert_int_equal(job.attempts, 2);
	job_row_release(&job);
	assert_true(log_whole(&f, id, "SKUs are stored; fetching the other"));
	catalog_assert_db_equals(f.db, "k0", f.cat, 1);
	free(id);
	teardown_fx(&f);
	testutil_rmrf(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sqlite_serve),
	    cmocka_unit_test(test_pg_fleet),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
