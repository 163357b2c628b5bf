/*
 * `ebaysync serve` end to end: the real binary against the real
 * `ebaysync-sim`, spoken to over HTTP with libcurl. Log in, start each kind
 * of run, read its event stream to the end and compare the document's log
 * lines and the final counts with the database (through the API) and the
 * simulator's own catalog; stop a run midway; resume a stream with
 * Last-Event-ID without gap or repeat; 409 on a double start; every auth
 * failure and bad request with its status and message; one user cannot see
 * another's run; 100 subscribers of one run each get every event in order;
 * SIGTERM during a run ends it cancelled and exits 0; a run left running by
 * a killed server is interrupted after a restart; GET /ebay/conditions
 * lists every condition a synced catalog stored, and only values that find
 * stored items; and, when a PostgreSQL server is configured, a run started
 * through one server is followed and stopped through another.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "auth.h"
#include "encoding.h"
#include "sse_client.h"
#include "store.h"
#include "testutil.h"
#include "timeutil.h"
#include "xalloc.h"

#define SIM_TOKEN   "sim-token-1"
#define JWT_SECRET  "integration-jwt-secret-0123456789abcdef"
#define SEAL_KEY    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
#define SKUS	    "300"
#define ALICE_PW    "alice-password"
#define BOB_PW	    "bob-password-2"
#define SUBSCRIBERS 100

static char *const server_env[] = {"EBAYSYNC_JWT_SECRET=" JWT_SECRET,
				   "EBAYSYNC_SECRET_KEY=" SEAL_KEY, NULL};

struct fx {
	struct testutil_proc sim, srv, other;
	char *dir, *db;
	char *alice, *bob; /* login tokens */
	char *id;	   /* the run under test */
};

/* ---- processes ----------------------------------------------------------- */

static void start_sim(struct fx *f, const char *skus, const char *latency_ms)
{
	char *argv[] = {TESTUTIL_SIM_BIN,   "--listen",	  "127.0.0.1:0", "--seed",  "7",
			"--skus",	    (char *)skus, "--token",	 SIM_TOKEN, "--latency-ms",
			(char *)latency_ms, NULL};

	assert_int_equal(testutil_spawn(&f->sim, argv, NULL), 0);
}

static int start_serve_with(struct testutil_proc *p, const char *sim_url, const char *db,
			    const char *extra1, const char *extra2)
{
	char *argv[] = {TESTUTIL_APP_BIN,
			"serve",
			"--listen",
			"127.0.0.1:0",
			"--db",
			(char *)db,
			"--api-base",
			(char *)sim_url,
			"--env",
			"simulator",
			"--demo-user",
			"alice:" ALICE_PW,
			"--demo-ebay-token",
			SIM_TOKEN,
			"--max-rps",
			"5000",
			"--concurrency",
			"8",
			(char *)extra1,
			(char *)extra2,
			NULL};

	return testutil_spawn(p, argv, server_env);
}

static int start_serve(struct testutil_proc *p, const char *sim_url, const char *db)
{
	return start_serve_with(p, sim_url, db, NULL, NULL);
}

/* Runs an `ebaysync` subcommand with the server's secrets; returns its exit
 * code and its output in *out (if given). */
static int run_cli(char *const args[], char **out)
{
	char *argv[16] = {TESTUTIL_APP_BIN};
	int n = 1;

	while (args[n - 1] && n < 15) {
		argv[n] = args[n - 1];
		n++;
	}
	argv[n] = NULL;
	return testutil_run(argv, server_env, out);
}

/* ---- HTTP ---------------------------------------------------------------- */

static json_t *call(struct testutil_proc *srv, const char *method, const char *path,
		    const char *bearer, const char *body, long *status)
{
	char *url = xasprintf("%s%s", srv->base_url, path);
	char *auth = bearer ? xasprintf("Authorization: Bearer %s", bearer) : NULL;
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

/* The error message of a JSON error body (borrowed from j). */
static const char *err_msg(json_t *j)
{
	const char *m = json_string_value(json_object_get(json_object_get(j, "error"), "message"));
	return m ? m : "";
}

static void expect_error(json_t *j, long status, long want, const char *code, const char *part)
{
	if (status != want)
		fail_msg("status %ld, want %ld (%s)", status, want, err_msg(j));
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "error"), "code")),
			    code);
	if (!strstr(err_msg(j), part))
		fail_msg("message '%s' lacks '%s'", err_msg(j), part);
	json_decref(j);
}

static char *login(struct testutil_proc *srv, const char *user, const char *pw)
{
	char *body = xasprintf("{\"username\":\"%s\",\"password\":\"%s\"}", user, pw);
	long status;
	json_t *j = call(srv, "POST", "/auth/login", NULL, body, &status);
	char *token;

	free(body);
	assert_int_equal(status, 200);
	assert_string_equal(json_string_value(json_object_get(j, "user")), user);
	assert_non_null(json_string_value(json_object_get(j, "expires_at")));
	token = xstrdup(json_string_value(json_object_get(j, "token")));
	json_decref(j);
	return token;
}

static char *start_run(struct testutil_proc *srv, const char *bearer, const char *kind)
{
	char *path = xasprintf("/ebay/sync/%s", kind);
	long status;
	json_t *j = call(srv, "POST", path, bearer, NULL, &status);
	char *id;

	free(path);
	if (status != 202)
		fail_msg("start %s: status %ld (%s)", kind, status, err_msg(j));
	assert_string_equal(json_string_value(json_object_get(j, "status")), "started");
	id = xstrdup(json_string_value(json_object_get(j, "run_id")));
	assert_true(!strncmp(id, kind, strlen(kind)));
	json_decref(j);
	return id;
}

static json_t *get_run(struct testutil_proc *srv, const char *bearer, const char *id)
{
	char *path = xasprintf("/ebay/sync/runs/%s", id);
	long status;
	json_t *j = call(srv, "GET", path, bearer, NULL, &status);

	free(path);
	if (status != 200)
		fail_msg("GET run %s: %ld (%s)", id, status, err_msg(j));
	return j;
}

static char *events_url(struct testutil_proc *srv, const char *id)
{
	return xasprintf("%s/ebay/sync/events/%s", srv->base_url, id);
}

/* Reads the whole stream of run id from after (or the start). */
static void read_stream(struct testutil_proc *srv, const char *bearer, const char *id,
			long long after, struct sse_client *c)
{
	char *url = events_url(srv, id);

	sse_client_init(c, url, bearer, after);
	free(url);
	assert_int_equal(sse_client_run(c, 300), 0);
	assert_int_equal(c->status, 200);
}

/* A number in the final event's counts. */
static long long final_count(const struct sse_client *c, const char *name)
{
	json_t *d = json_loads(c->events[c->n - 1].data, 0, NULL);
	long long v;

	assert_non_null(d);
	v = json_integer_value(json_object_get(json_object_get(d, "counts"), name));
	json_decref(d);
	return v;
}

static long long api_total(struct testutil_proc *srv, const char *bearer, const char *path)
{
	long status;
	json_t *j = call(srv, "GET", path, bearer, NULL, &status);
	long long total;

	assert_int_equal(status, 200);
	total = json_integer_value(json_object_get(j, "total"));
	json_decref(j);
	return total;
}

/* SKUs and offers in the simulator's catalog. */
static void sim_counts(struct fx *f, long long *skus, long long *offers)
{
	char *url = xasprintf("%s/sim/catalog", f->sim.base_url);
	struct testutil_http r;
	char *line, *save = NULL;

	*skus = *offers = 0;
	assert_int_equal(testutil_http("GET", url, NULL, NULL, &r), 0);
	assert_int_equal(r.status, 200);
	for (line = strtok_r(r.body, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		json_t *o = json_loads(line, 0, NULL);

		assert_non_null(o);
		(*skus)++;
		*offers += (long long)json_array_size(json_object_get(o, "offers"));
		json_decref(o);
	}
	testutil_http_release(&r);
	free(url);
}

static void sim_config(struct fx *f, const char *json)
{
	char *url = xasprintf("%s/sim/config", f->sim.base_url);
	struct testutil_http r;

	assert_int_equal(testutil_http("POST", url, json, NULL, &r), 0);
	assert_int_equal(r.status, 200);
	testutil_http_release(&r);
	free(url);
}

static void assert_line(const struct sse_client *c, const char *needle)
{
	if (!sse_client_find(c, needle))
		fail_msg("no event with '%s' among %zu events", needle, c->n);
}

/* Waits until run id's status is not running; returns its JSON. */
static json_t *wait_ended(struct testutil_proc *srv, const char *bearer, const char *id)
{
	long long deadline = timeutil_mono_ms() + 60000;

	for (;;) {
		json_t *j = get_run(srv, bearer, id);

		const char *st = json_string_value(json_object_get(j, "status"));

		if (strcmp(st, "running") && strcmp(st, "queued"))
			return j;
		json_decref(j);
		if (timeutil_mono_ms() > deadline)
			fail_msg("run %s still running after 60 s", id);
		timeutil_sleep_ms(50);
	}
}

/* ---- the shared fixture -------------------------------------------------- */

static int setup(void **state)
{
	struct fx *f = xcalloc(1, sizeof(*f));
	char *pwfile;
	FILE *fp;
	char *add[] = {"user", "add", "bob", "--password-file", NULL, "--db", NULL, NULL};
	char *tok[] = {"user", "set-token", "bob", "--token", SIM_TOKEN, "--db", NULL, NULL};

	setenv("EBAYSYNC_JWT_SECRET", JWT_SECRET, 1);
	f->dir = testutil_tmpdir();
	f->db = xasprintf("%s/serve.db", f->dir);
	start_sim(f, SKUS, "0");
	assert_int_equal(start_serve(&f->srv, f->sim.base_url, f->db), 0);
	/* bob comes through the command line, as an operator adds users. */
	pwfile = xasprintf("%s/bob.pw", f->dir);
	fp = fopen(pwfile, "w");
	fputs(BOB_PW "\n", fp);
	fclose(fp);
	add[4] = pwfile;
	add[6] = f->db;
	tok[6] = f->db;
	assert_int_equal(run_cli(add, NULL), 0);
	assert_int_equal(run_cli(add, NULL), 1); /* already exists */
	assert_int_equal(run_cli(tok, NULL), 0);
	free(pwfile);
	f->alice = login(&f->srv, "alice", ALICE_PW);
	f->bob = login(&f->srv, "bob", BOB_PW);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	int status = testutil_stop(&f->srv, SIGTERM);

	/* The simulator goes first, whatever the server's exit says. */
	testutil_stop(&f->sim, SIGTERM);
	testutil_rmrf(f->dir);
	free(f->dir);
	free(f->db);
	free(f->alice);
	free(f->bob);
	free(f);
	/* A clean exit 0 after SIGTERM, leak-free under ASan. */
	if (status != 0)
		fprintf(stderr, "ebaysync serve exited with status %d after SIGTERM\n", status);
	return status == 0 ? 0 : -1;
}

/* ---- auth ---------------------------------------------------------------- */

static char *forge(const char *header, const char *payload, const char *sig)
{
	char *h = encoding_b64url_encode((const unsigned char *)header, strlen(header));
	char *p = encoding_b64url_encode((const unsigned char *)payload, strlen(payload));
	char *t = xasprintf("%s.%s.%s", h, p, sig);

	free(h);
	free(p);
	return t;
}

static void expect_401(struct fx *f, const char *header, const char *part)
{
	char *url = xasprintf("%s/ebay/sync/runs", f->srv.base_url);
	const char *hdrs[] = {header, NULL};
	struct testutil_http r;
	json_t *j;

	assert_int_equal(testutil_http("GET", url, NULL, header ? hdrs : NULL, &r), 0);
	j = json_loadb(r.body, r.len, 0, NULL);
	if (r.status != 401 || !strstr(err_msg(j), part))
		fail_msg("%s: got %ld '%s', want 401 '%s'", header ? header : "(none)", r.status,
			 err_msg(j), part);
	assert_non_null(strstr(r.headers, "WWW-Authenticate: Bearer"));
	json_decref(j);
	testutil_http_release(&r);
	free(url);
}

static void test_auth_failures(void **state)
{
	struct fx *f = *state;
	struct auth a, other;
	const unsigned char other_key[] = "some-other-secret-some-other-secret!!";
	char *t, *h;
	long status;
	json_t *j;

	expect_401(f, NULL, "missing credentials");
	expect_401(f, "Authorization: Basic YWxpY2U6eA==", "must be 'Bearer <token>'");
	expect_401(f, "Authorization: Bearer not-a-jwt", "malformed token");

	assert_int_equal(auth_init_key(&a, (const unsigned char *)JWT_SECRET, strlen(JWT_SECRET)),
			 ERR_OK);
	assert_int_equal(auth_issue(&a, "alice", 60, timeutil_wall_ms() / 1000 - 3600, &t, NULL),
			 ERR_OK);
	h = xasprintf("Authorization: Bearer %s", t);
	expect_401(f, h, "token expired at");
	free(h);
	free(t);
	auth_release(&a);

	t = forge("{\"alg\":\"none\",\"typ\":\"JWT\"}",
		  "{\"sub\":\"alice\",\"iat\":1700000000,\"exp\":4102444800}", "");
	h = xasprintf("Authorization: Bearer %s", t);
	expect_401(f, h, "token algorithm 'none' is not accepted");
	free(h);
	free(t);

	assert_int_equal(auth_init_key(&other, other_key, sizeof(other_key) - 1), ERR_OK);
	assert_int_equal(auth_issue(&other, "alice", 600, timeutil_wall_ms() / 1000, &t, NULL),
			 ERR_OK);
	h = xasprintf("Authorization: Bearer %s", t);
	expect_401(f, h, "token signature does not match");
	free(h);
	free(t);
	auth_release(&other);

	j = call(&f->srv, "POST", "/auth/login", NULL,
		 "{\"username\":\"alice\",\"password\":\"nope\"}", &status);
	expect_error(j, status, 401, "unauthorized", "wrong username or password");
	j = call(&f->srv, "POST", "/auth/login", NULL,
		 "{\"username\":\"nobody\",\"password\":\"" ALICE_PW "\"}", &status);
	expect_error(j, status, 401, "unauthorized", "wrong username or password");

	/* The valid token works; so does the cookie, on GET only. */
	j = call(&f->srv, "GET", "/ebay/me", f->alice, NULL, &status);
	assert_int_equal(status, 200);
	assert_string_equal(json_string_value(json_object_get(j, "user")), "alice");
	assert_true(json_is_true(json_object_get(j, "ebay_linked")));
	assert_null(json_object_get(j, "ebay_token"));
	json_decref(j);
	{
		char *url = xasprintf("%s/ebay/me", f->srv.base_url);
		char *cookie = xasprintf("Cookie: ebaysync_token=%s", f->alice);
		const char *hdrs[] = {cookie, NULL};
		struct testutil_http r;

		assert_int_equal(testutil_http("GET", url, NULL, hdrs, &r), 0);
		assert_int_equal(r.status, 200);
		testutil_http_release(&r);
		free(url);
		url = xasprintf("%s/ebay/sync/inventory", f->srv.base_url);
		assert_int_equal(testutil_http("POST", url, NULL, hdrs, &r), 0);
		assert_int_equal(r.status, 401);
		testutil_http_release(&r);
		free(url);
		free(cookie);
	}
}

static void test_login_cookie_and_logout(void **state)
{
	struct fx *f = *state;
	char *url = xasprintf("%s/auth/login", f->srv.base_url);
	const char *json[] = {"Content-Type: application/json", NULL};
	struct testutil_http r;

	assert_int_equal(testutil_http("POST", url,
				       "{\"username\":\"alice\",\"password\":\"" ALICE_PW "\"}",
				       json, &r),
			 0);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.headers, "Set-Cookie: ebaysync_token=ey"));
	assert_non_null(strstr(r.headers, "HttpOnly; SameSite=Strict; Path=/"));
	testutil_http_release(&r);
	free(url);
	url = xasprintf("%s/auth/logout", f->srv.base_url);
	assert_int_equal(testutil_http("POST", url, NULL, NULL, &r), 0);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.headers, "Set-Cookie: ebaysync_token=; HttpOnly"));
	assert_non_null(strstr(r.headers, "Max-Age=0"));
	testutil_http_release(&r);
	free(url);
}

static void test_bad_requests(void **state)
{
	struct fx *f = *state;
	char *big = xmalloc(200001), *url;
	const char *chunked[] = {"Transfer-Encoding: chunked", "Content-Type: application/json",
				 NULL};
	struct testutil_http r;
	long status;
	json_t *j;

	j = call(&f->srv, "POST", "/auth/login", NULL, "{\"username\": \"alice\",", &status);
	expect_error(j, status, 400, "bad_request", "malformed JSON body");
	j = call(&f->srv, "POST", "/auth/login", NULL, "[1,2]", &status);
	expect_error(j, status, 400, "bad_request", "body must be {\"username\"");

	memset(big, 'x', 200000);
	big[200000] = '\0';
	j = call(&f->srv, "POST", "/auth/login", NULL, big, &status);
	expect_error(j, status, 413, "payload_too_large", "larger than 65536 bytes");
	url = xasprintf("%s/auth/login", f->srv.base_url);
	assert_int_equal(testutil_http("POST", url, big, chunked, &r), 0);
	assert_int_equal(r.status, 413);
	testutil_http_release(&r);
	free(url);
	free(big);

	j = call(&f->srv, "GET", "/ebay/nope", f->alice, NULL, &status);
	expect_error(j, status, 404, "not_found", "no route for GET /ebay/nope");
	j = call(&f->srv, "GET", "/ebay/sync/offers", f->alice, NULL, &status);
	expect_error(j, status, 405, "method_not_allowed", "use POST");
	url = xasprintf("%s/ebay/sync/runs", f->srv.base_url);
	assert_int_equal(testutil_http("DELETE", url, NULL, NULL, &r), 0);
	assert_int_equal(r.status, 405);
	assert_non_null(strstr(r.headers, "Allow: GET, HEAD"));
	testutil_http_release(&r);
	free(url);

	j = call(&f->srv, "GET", "/ebay/inventory?limit=0", f->alice, NULL, &status);
	expect_error(j, status, 400, "bad_request", "limit must be an integer from 1 to 500");
	j = call(&f->srv, "GET", "/ebay/offers?order=sideways", f->alice, NULL, &status);
	expect_error(j, status, 400, "bad_request", "order must be asc or desc");
	j = call(&f->srv, "GET", "/ebay/inventory/%zz", f->alice, NULL, &status);
	expect_error(j, status, 400, "bad_request", "bad %-escape");
	j = call(&f->srv, "GET", "/ebay/sync/runs/offers_1_nope", f->alice, NULL, &status);
	expect_error(j, status, 404, "not_found", "no run 'offers_1_nope'");
	j = call(&f->srv, "GET", "/ebay/sync/events/offers_1_nope?last_event_id=x", f->alice, NULL,
		 &status);
	expect_error(j, status, 400, "bad_request", "Last-Event-ID must be");
	j = call(&f->srv, "POST", "/ebay/sync/runs/..%2Fx/stop", f->alice, NULL, &status);
	expect_error(j, status, 404, "not_found", "no run");

	/* Health and metrics are public. */
	j = call(&f->srv, "GET", "/healthz", NULL, NULL, &status);
	assert_int_equal(status, 200);
	assert_string_equal(json_string_value(json_object_get(j, "db")), "sqlite");
	json_decref(j);
	/* Until the page is built in, "/" answers a clean 404 (or the page). */
	url = xasprintf("%s/", f->srv.base_url);
	assert_int_equal(testutil_http("GET", url, NULL, NULL, &r), 0);
	assert_true(r.status == 404 || (r.status == 200 && strstr(r.headers, "text/html")));
	testutil_http_release(&r);
	free(url);
}

/* ---- runs ---------------------------------------------------------------- */

static void test_inventory_run(void **state)
{
	struct fx *f = *state;
	struct sse_client c;
	long long skus, offers;
	char *id = start_run(&f->srv, f->alice, "inventory");
	json_t *run;

	read_stream(&f->srv, f->alice, id, -1, &c);
	assert_true(c.n >= 5);
	assert_true(sse_client_ids_contiguous(&c, 0));
	assert_string_equal(c.events[0].type, "start");
	assert_line(&c, "Starting Inventory sync from eBay (simulator)");
	assert_line(&c, "Requesting page 1: GET /sell/inventory/v1/inventory_item?limit=200");
	assert_line(&c, "Inventory sync completed: " SKUS " fetched, " SKUS " stored");
	assert_string_equal(c.events[c.n - 1].type, "done");
	sim_counts(f, &skus, &offers);
	assert_int_equal(final_count(&c, "fetched"), skus);
	assert_int_equal(final_count(&c, "stored"), skus);
	assert_int_equal(api_total(&f->srv, f->alice, "/ebay/inventory?limit=1"), skus);
	run = wait_ended(&f->srv, f->alice, id);
	assert_string_equal(json_string_value(json_object_get(run, "status")), "done");
	assert_int_equal(json_integer_value(json_object_get(run, "stored")), skus);
	assert_true(json_is_array(json_object_get(run, "failures")));
	assert_true(json_is_null(json_object_get(run, "error")));
	assert_true(json_is_null(json_object_get(run, "error_code")));
	json_decref(run);
	sse_client_release(&c);
	free(id);
}

static void test_offers_run(void **state)
{
	struct fx *f = *state;
	struct sse_client c;
	long long skus, offers;
	char *id = start_run(&f->srv, f->alice, "offers"), *want;

	read_stream(&f->srv, f->alice, id, -1, &c);
	assert_true(sse_client_ids_contiguous(&c, 0));
	sim_counts(f, &skus, &offers);
	assert_line(&c, "Starting Offers sync from eBay (simulator)");
	assert_line(&c, "Step 1: Fetching all inventory items to get SKU list...");
	assert_line(&c, "Step 1 complete: Found " SKUS " unique SKUs");
	assert_line(&c, "Step 2: Fetching offers for " SKUS " SKUs...");
	want = xasprintf("Offers sync completed: %lld offers fetched, %lld stored from %lld SKUs",
			 offers, offers, skus);
	assert_line(&c, want);
	free(want);
	assert_string_equal(c.events[c.n - 1].type, "done");
	assert_int_equal(final_count(&c, "fetched"), offers);
	assert_int_equal(final_count(&c, "stored"), offers);
	assert_int_equal(api_total(&f->srv, f->alice, "/ebay/offers?limit=1"), offers);
	sse_client_release(&c);
	free(id);
}

static void test_all_run(void **state)
{
	struct fx *f = *state;
	struct sse_client c;
	long long skus, offers;
	char *id = start_run(&f->srv, f->alice, "all");

	read_stream(&f->srv, f->alice, id, -1, &c);
	assert_true(sse_client_ids_contiguous(&c, 0));
	sim_counts(f, &skus, &offers);
	assert_line(&c, "Inventory sync completed: " SKUS " fetched, " SKUS " stored");
	assert_line(&c, "Offers sync completed:");
	assert_string_equal(c.events[c.n - 1].type, "done");
	assert_int_equal(final_count(&c, "stored"), offers);
	assert_int_equal(api_total(&f->srv, f->alice, "/ebay/inventory?limit=1"), skus);
	assert_int_equal(api_total(&f->srv, f->alice, "/ebay/offers?limit=1"), offers);
	sse_client_release(&c);
	free(id);
}

/*
 * GET /ebay/conditions after the inventory is synced: a list of distinct
 * values that holds every condition stored, each of them found by the
 * inventory's condition filter (a value listed that nothing can be stored
 * under would find nothing), and not the deprecated name that eBay still
 * sends and that is stored under its new one.
 */
static void test_conditions(void **state)
{
	struct fx *f = *state;
	json_t *j, *list, *items, *v, *it;
	long long skus, offers;
	size_t i, k;
	long status;
	char *path;

	j = call(&f->srv, "GET", "/ebay/conditions", NULL, NULL, &status);
	expect_error(j, status, 401, "unauthorized", "missing credentials");
	j = call(&f->srv, "GET", "/ebay/conditions", f->alice, NULL, &status);
	assert_int_equal(status, 200);
	list = json_object_get(j, "conditions");
	assert_true(json_is_array(list));
	assert_true(json_array_size(list) > 1);
	json_array_foreach(list, i, v)
	{
		assert_true(json_is_string(v));
		assert_string_not_equal(json_string_value(v), "MANUFACTURER_REFURBISHED");
		for (k = 0; k < i; k++)
			assert_string_not_equal(json_string_value(json_array_get(list, k)),
						json_string_value(v));
		path = xasprintf("/ebay/inventory?limit=1&condition=%s", json_string_value(v));
		if (api_total(&f->srv, f->alice, path) <= 0)
			fail_msg("the listed condition %s finds no stored item",
				 json_string_value(v));
		free(path);
	}
	items = call(&f->srv, "GET", "/ebay/inventory?limit=500", f->alice, NULL, &status);
	assert_int_equal(status, 200);
	sim_counts(f, &skus, &offers);
	assert_int_equal(json_array_size(json_object_get(items, "items")), skus);
	json_array_foreach(json_object_get(items, "items"), i, it)
	{
		const char *c = json_string_value(json_object_get(it, "condition"));
		int listed = 0;

		for (k = 0; k < json_array_size(list); k++)
			listed |= c && !strcmp(json_string_value(json_array_get(list, k)), c);
		if (c && !listed)
			fail_msg("the stored condition %s is not listed", c);
	}
	json_decref(items);
	json_decref(j);
}

/* A slow offers run: 409 for a second start, STOP midway, cancelled. */
static void test_conflict_and_stop(void **state)
{
	struct fx *f = *state;
	struct sse_client c;
	char *id, *path, *url;
	long status;
	json_t *j;

	sim_config(f, "{\"latency_ms\": 100}");
	id = start_run(&f->srv, f->alice, "offers");
	j = call(&f->srv, "POST", "/ebay/sync/offers", f->alice, NULL, &status);
	assert_int_equal(status, 409);
	assert_string_equal(err_msg(j), "an offers sync is already running");
	assert_string_equal(json_string_value(json_object_get(j, "run_id")), id);
	json_decref(j);
	/* bob's own offers sync is not alice's business. */
	j = call(&f->srv, "POST", "/ebay/sync/offers", f->bob, NULL, &status);
	assert_int_equal(status, 202);
	{
		char *bob_run = xstrdup(json_string_value(json_object_get(j, "run_id")));
		json_decref(j);
		path = xasprintf("/ebay/sync/runs/%s/stop", bob_run);
		json_decref(call(&f->srv, "POST", path, f->bob, NULL, &status));
		assert_int_equal(status, 202);
		json_decref(wait_ended(&f->srv, f->bob, bob_run));
		free(path);
		free(bob_run);
	}

	/* Read until Step 2 is under way, then press STOP. */
	url = events_url(&f->srv, id);
	sse_client_init(&c, url, f->alice, -1);
	c.stop_after = 12;
	assert_int_equal(sse_client_run(&c, 60), 0);
	sse_client_release(&c);
	path = xasprintf("/ebay/sync/runs/%s/stop", id);
	j = call(&f->srv, "POST", path, f->alice, NULL, &status);
	assert_int_equal(status, 202);
	assert_string_equal(json_string_value(json_object_get(j, "status")), "stopping");
	json_decref(j);

	read_stream(&f->srv, f->alice, id, -1, &c);
	assert_string_equal(c.events[c.n - 1].type, "cancelled");
	assert_line(&c, "Offers sync cancelled");
	j = wait_ended(&f->srv, f->alice, id);
	assert_string_equal(json_string_value(json_object_get(j, "status")), "cancelled");
	assert_true(json_integer_value(json_object_get(j, "stored")) <
			json_integer_value(json_object_get(j, "total")) ||
		    json_integer_value(json_object_get(j, "total")) == 0);
	json_decref(j);
	/* Stopping a finished run is a conflict. */
	j = call(&f->srv, "POST", path, f->alice, NULL, &status);
	expect_error(j, status, 409, "conflict", "has already ended (cancelled)");
	sse_client_release(&c);
	sim_config(f, "{\"latency_ms\": 0}");
	free(url);
	free(path);
	free(id);
}

/* Hang up after some events, come back with Last-Event-ID: no gap, no
 * repeat; the same through ?last_event_id=, and after the run ended. */
static void test_resume(void **state)
{
	struct fx *f = *state;
	struct sse_client a, b, q, whole;
	char *id, *url, *qurl;
	size_t i;

	sim_config(f, "{\"latency_ms\": 10}");
	id = start_run(&f->srv, f->alice, "offers");
	url = events_url(&f->srv, id);
	sse_client_init(&a, url, f->alice, -1);
	a.stop_after = 25;
	assert_int_equal(sse_client_run(&a, 60), 0);
	assert_int_equal(a.n, 25);
	assert_true(sse_client_ids_contiguous(&a, 0));

	read_stream(&f->srv, f->alice, id, 25, &b);
	assert_true(b.n > 0);
	assert_true(sse_client_ids_contiguous(&b, 25));
	assert_string_equal(b.events[b.n - 1].type, "done");

	qurl = xasprintf("%s?last_event_id=10", url);
	sse_client_init(&q, qurl, f->alice, -1);
	assert_int_equal(sse_client_run(&q, 60), 0);
	assert_true(sse_client_ids_contiguous(&q, 10));
	assert_int_equal(q.n + 10, a.n + b.n);

	read_stream(&f->srv, f->alice, id, -1, &whole);
	assert_int_equal(whole.n, a.n + b.n);
	for (i = 0; i < whole.n; i++)
		assert_string_equal(whole.events[i].data,
				    i < a.n ? a.events[i].data : b.events[i - a.n].data);
	/* Resuming after the final event: 204, EventSource stops. */
	{
		struct sse_client end;

		sse_client_init(&end, url, f->alice, (long long)whole.n);
		assert_int_equal(sse_client_run(&end, 10), 0);
		assert_int_equal(end.status, 204);
		assert_int_equal(end.n, 0);
		sse_client_release(&end);
	}
	sse_client_release(&a);
	sse_client_release(&b);
	sse_client_release(&q);
	sse_client_release(&whole);
	sim_config(f, "{\"latency_ms\": 0}");
	free(qurl);
	free(url);
	free(id);
}

/* POST /ebay/sync/skus: the given SKUs through bulkGetInventoryItem and
 * their offers; an unknown SKU is counted as failed; bad bodies are 400s;
 * {"resume": true} on offers is understood. */
static void test_skus_and_start_bodies(void **state)
{
	struct fx *f = *state;
	char *url = xasprintf("%s/sim/catalog", f->sim.base_url);
	struct testutil_http r;
	json_t *skus = json_array(), *body, *j, *run;
	char *line, *save = NULL, *text, *path;
	struct sse_client c;
	long status;
	const char *id;

	assert_int_equal(testutil_http("GET", url, NULL, NULL, &r), 0);
	for (line = strtok_r(r.body, "\n", &save); line && json_array_size(skus) < 5;
	     line = strtok_r(NULL, "\n", &save)) {
		json_t *o = json_loads(line, 0, NULL);
		json_array_append(skus, json_object_get(o, "sku"));
		json_decref(o);
	}
	testutil_http_release(&r);
	free(url);
	json_array_append_new(skus, json_string("no-such-sku"));
	body = json_pack("{s:O}", "skus", skus);
	text = json_dumps(body, JSON_COMPACT);
	j = call(&f->srv, "POST", "/ebay/sync/skus", f->alice, text, &status);
	free(text);
	json_decref(body);
	if (status != 202)
		fail_msg("start skus: %ld (%s)", status, err_msg(j));
	id = json_string_value(json_object_get(j, "run_id"));
	assert_true(!strncmp(id, "skus_", 5));
	run = wait_ended(&f->srv, f->alice, id);
	assert_string_equal(json_string_value(json_object_get(run, "status")), "done");
	assert_int_equal(json_integer_value(json_object_get(run, "failed")), 1);
	json_decref(run);
	read_stream(&f->srv, f->alice, id, -1, &c);
	assert_line(&c, "SKU no-such-sku: not found on eBay");
	assert_line(&c, "SKU sync completed: 5 of 6 SKUs found, 1 not found");
	sse_client_release(&c);
	json_decref(j);
	path = xasprintf("/ebay/inventory/%s", json_string_value(json_array_get(skus, 0)));
	json_decref(call(&f->srv, "GET", path, f->alice, NULL, &status));
	assert_int_equal(status, 200);
	free(path);
	json_decref(skus);

	j = call(&f->srv, "POST", "/ebay/sync/skus", f->alice, NULL, &status);
	expect_error(j, status, 400, "bad_request", "JSON object");
	j = call(&f->srv, "POST", "/ebay/sync/skus", f->alice, "{\"skus\": []}", &status);
	expect_error(j, status, 400, "bad_request", "\"skus\" must be an array of 1 to");
	j = call(&f->srv, "POST", "/ebay/sync/skus", f->alice, "{\"skus\": [1]}", &status);
	expect_error(j, status, 400, "bad_request", "is not a string");
	j = call(&f->srv, "POST", "/ebay/sync/offers", f->alice, "{\"resume\": \"yes\"}", &status);
	expect_error(j, status, 400, "bad_request", "\"resume\" must be true or false");
	j = call(&f->srv, "POST", "/ebay/sync/offers", f->alice, "{\"resume\": true}", &status);
	if (status != 202)
		fail_msg("start offers with resume: %ld (%s)", status, err_msg(j));
	id = json_string_value(json_object_get(j, "run_id"));
	read_stream(&f->srv, f->alice, id, -1, &c);
	if (!sse_client_find(&c, "Nothing to resume") && !sse_client_find(&c, "Resuming run"))
		fail_msg("a start with resume did not look for a place to resume");
	sse_client_release(&c);
	json_decref(j);
}

static void test_other_user(void **state)
{
	struct fx *f = *state;
	char *id = start_run(&f->srv, f->alice, "inventory"), *path;
	long status;
	json_t *j;

	path = xasprintf("/ebay/sync/runs/%s", id);
	j = call(&f->srv, "GET", path, f->bob, NULL, &status);
	expect_error(j, status, 404, "not_found", "no run");
	free(path);
	path = xasprintf("/ebay/sync/events/%s", id);
	j = call(&f->srv, "GET", path, f->bob, NULL, &status);
	expect_error(j, status, 404, "not_found", "no run");
	free(path);
	path = xasprintf("/ebay/sync/runs/%s/stop", id);
	j = call(&f->srv, "POST", path, f->bob, NULL, &status);
	expect_error(j, status, 404, "not_found", "no run");
	free(path);
	/* bob's history holds only bob's runs; alice's rows are not his. */
	j = call(&f->srv, "GET", "/ebay/sync/runs?limit=200", f->bob, NULL, &status);
	assert_int_equal(status, 200);
	{
		size_t i;
		json_t *r;
		json_array_foreach(json_object_get(j, "runs"), i, r)
		    assert_string_not_equal(json_string_value(json_object_get(r, "id")), id);
	}
	json_decref(j);
	json_decref(wait_ended(&f->srv, f->alice, id));
	assert_int_equal(api_total(&f->srv, f->bob, "/ebay/inventory?limit=1"), 0);
	free(id);
}

static void test_many_subscribers(void **state)
{
	struct fx *f = *state;
	struct sse_client *c = xcalloc(SUBSCRIBERS, sizeof(*c));
	char *id, *url;
	size_t i, j;

	sim_config(f, "{\"latency_ms\": 20}");
	id = start_run(&f->srv, f->alice, "offers");
	url = events_url(&f->srv, id);
	for (i = 0; i < SUBSCRIBERS; i++)
		sse_client_init(&c[i], url, f->alice, -1);
	assert_int_equal(sse_client_run_many(c, SUBSCRIBERS, 300), 0);
	for (i = 0; i < SUBSCRIBERS; i++) {
		assert_int_equal(c[i].status, 200);
		assert_int_equal(c[i].n, c[0].n);
		assert_true(sse_client_ids_contiguous(&c[i], 0));
		assert_string_equal(c[i].events[c[i].n - 1].type, "done");
		for (j = 0; j < c[i].n; j++)
			assert_string_equal(c[i].events[j].data, c[0].events[j].data);
	}
	for (i = 0; i < SUBSCRIBERS; i++)
		sse_client_release(&c[i]);
	free(c);
	sim_config(f, "{\"latency_ms\": 0}");
	free(url);
	free(id);
}

/* A subscriber that reads nothing holds neither the run nor the others up;
 * once it reads, it gets every event in order. */
static void test_slow_subscriber(void **state)
{
	struct fx *f = *state;
	struct sockaddr_in sa;
	struct buf got = BUF_INIT;
	char *req, *id, *p, chunk[65536];
	int fd, small = 2048, n_ids = 0;
	long long expect = 1;
	ssize_t n;
	json_t *run;

	id = start_run(&f->srv, f->alice, "offers");
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)f->srv.port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	/* HTTP/1.0: the stream is the body up to the close, no chunks. */
	req = xasprintf("GET /ebay/sync/events/%s HTTP/1.0\r\nAuthorization: Bearer %s\r\n\r\n", id,
			f->alice);
	assert_int_equal(write(fd, req, strlen(req)), (ssize_t)strlen(req));
	free(req);
	/* The run ends while the subscriber has read nothing. */
	run = wait_ended(&f->srv, f->alice, id);
	assert_string_equal(json_string_value(json_object_get(run, "status")), "done");
	json_decref(run);
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		buf_add(&got, chunk, (size_t)n);
	close(fd);
	assert_true(!strncmp(buf_str(&got), "HTTP/1.", 7) &&
		    !strncmp(buf_str(&got) + 8, " 200", 4));
	for (p = strstr(buf_str(&got), "\nid: "); p; p = strstr(p + 1, "\nid: ")) {
		assert_int_equal(strtoll(p + 5, NULL, 10), expect);
		expect++;
		n_ids++;
	}
	assert_true(n_ids > 600); /* 300 SKUs: a request and a response each */
	assert_non_null(strstr(buf_str(&got), "event: done"));
	buf_release(&got);
	free(id);
}

static void test_token_command(void **state)
{
	struct fx *f = *state;
	char *args[] = {"token", "--user", "alice", "--ttl", "120", "--db", f->db, NULL};
	char *bad[] = {"token", "--user", "nobody", "--db", f->db, NULL};
	char *out = NULL, *nl;
	long status;
	json_t *j;

	assert_int_equal(run_cli(args, &out), 0);
	nl = strchr(out, '\n');
	if (nl)
		*nl = '\0';
	j = call(&f->srv, "GET", "/ebay/me", out, NULL, &status);
	assert_int_equal(status, 200);
	json_decref(j);
	free(out);
	assert_int_equal(run_cli(bad, NULL), 1);
}

/* ---- process lifecycle --------------------------------------------------- */

/* Each of these tests starts its own processes; the teardown stops what a
 * failed assertion left running. */
static int setup_own(void **state)
{
	struct fx *f = xcalloc(1, sizeof(*f));

	f->dir = testutil_tmpdir();
	*state = f;
	return 0;
}

static int teardown_own(void **state)
{
	struct fx *f = *state;

	if (f->other.pid)
		testutil_stop(&f->other, SIGKILL);
	if (f->srv.pid)
		testutil_stop(&f->srv, SIGKILL);
	if (f->sim.pid)
		testutil_stop(&f->sim, SIGTERM);
	testutil_rmrf(f->dir);
	free(f->dir);
	free(f->db);
	free(f->alice);
	free(f->id);
	free(f);
	return 0;
}

struct reader {
	struct testutil_proc *srv;
	const char *bearer, *id;
	struct sse_client c;
};

static void *read_thread(void *arg)
{
	struct reader *r = arg;
	char *url = events_url(r->srv, r->id);

	sse_client_init(&r->c, url, r->bearer, -1);
	sse_client_run(&r->c, 120);
	free(url);
	return NULL;
}

/* Waits until the run has stored something (it is midway). */
static void wait_midway(struct testutil_proc *srv, const char *bearer, const char *id)
{
	long long deadline = timeutil_mono_ms() + 30000;

	for (;;) {
		json_t *j = get_run(srv, bearer, id);
		long long fetched = json_integer_value(json_object_get(j, "fetched"));
		int step2 = fetched > 0 && json_integer_value(json_object_get(j, "total")) > 0;

		json_decref(j);
		if (step2)
			return;
		if (timeutil_mono_ms() > deadline)
			fail_msg("run %s did not get going in 30 s", id);
		timeutil_sleep_ms(50);
	}
}

/* The run's whole log, read from the store after it ended: ids 1, 2, ...
 * without a gap across its attempts, the last one done. */
static void assert_log_whole(struct fx *f, const char *id)
{
	struct sse_client c;

	read_stream(&f->srv, f->alice, id, -1, &c);
	assert_true(c.n >= 4);
	assert_true(sse_client_ids_contiguous(&c, 0));
	assert_string_equal(c.events[0].type, "start");
	assert_string_equal(c.events[c.n - 1].type, "done");
	assert_non_null(sse_client_find(&c, "Resuming run"));
	sse_client_release(&c);
}

/* SIGTERM hands the run back to the queue (not cancelled), and the next
 * serve resumes it: the same run ends done, its log continuing. */
static void test_sigterm_hands_back(void **state)
{
	struct fx *f = *state;
	struct reader rd;
	pthread_t t;
	struct store *s;
	struct run_row row;
	struct job_row job;
	struct buf why = BUF_INIT;
	json_t *j;
	int status;

	f->db = xasprintf("%s/term.db", f->dir);
	start_sim(f, "400", "100");
	assert_int_equal(start_serve(&f->srv, f->sim.base_url, f->db), 0);
	f->alice = login(&f->srv, "alice", ALICE_PW);
	f->id = start_run(&f->srv, f->alice, "offers");
	memset(&rd, 0, sizeof(rd));
	rd.srv = &f->srv;
	rd.bearer = f->alice;
	rd.id = f->id;
	pthread_create(&t, NULL, read_thread, &rd);
	wait_midway(&f->srv, f->alice, f->id);

	status = testutil_stop(&f->srv, SIGTERM);
	pthread_join(t, NULL);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	/* The open stream got the hand-back before the server left. */
	assert_true(rd.c.n > 0);
	assert_non_null(sse_client_find(&rd.c, "Handed back to the queue"));
	assert_true(sse_client_ids_contiguous(&rd.c, 0));
	sse_client_release(&rd.c);

	assert_int_equal(store_open(f->db, &s, &why), ERR_OK);
	memset(&row, 0, sizeof(row));
	assert_int_equal(store_run_get(s, "alice", f->id, &row), ERR_OK);
	assert_string_equal(row.status, "queued");
	assert_int_equal(row.finished_ms, 0);
	run_row_release(&row);
	assert_int_equal(store_job_get(s, f->id, &job), ERR_OK);
	assert_string_equal(job.state, "queued");
	assert_int_equal(job.attempts, 0); /* a hand-back costs no attempt */
	assert_null(job.worker);
	job_row_release(&job);
	store_close(s);
	buf_release(&why);

	assert_int_equal(start_serve(&f->srv, f->sim.base_url, f->db), 0);
	j = wait_ended(&f->srv, f->alice, f->id);
	assert_string_equal(json_string_value(json_object_get(j, "status")), "done");
	assert_int_equal(json_integer_value(json_object_get(j, "attempts")), 1);
	json_decref(j);
	assert_log_whole(f, f->id);
	assert_int_equal(testutil_stop(&f->srv, SIGTERM), 0);
}

/* A serve killed mid-run leaves its job leased; once the lease runs out
 * the next serve takes the job over and the same run ends done. */
static void test_killed_run_resumed(void **state)
{
	struct fx *f = *state;
	json_t *j;

	f->db = xasprintf("%s/kill.db", f->dir);
	start_sim(f, "400", "100");
	assert_int_equal(start_serve_with(&f->srv, f->sim.base_url, f->db, "--lease-ms", "1500"),
			 0);
	f->alice = login(&f->srv, "alice", ALICE_PW);
	f->id = start_run(&f->srv, f->alice, "offers");
	wait_midway(&f->srv, f->alice, f->id);
	testutil_stop(&f->srv, SIGKILL);

	assert_int_equal(start_serve_with(&f->srv, f->sim.base_url, f->db, "--lease-ms", "1500"),
			 0);
	/* Its kind stays taken while it waits to be resumed. */
	{
		long status;

		json_decref(call(&f->srv, "POST", "/ebay/sync/offers", f->alice, NULL, &status));
		assert_int_equal(status, 409);
	}
	j = wait_ended(&f->srv, f->alice, f->id);
	assert_string_equal(json_string_value(json_object_get(j, "status")), "done");
	assert_int_equal(json_integer_value(json_object_get(j, "attempts")), 2);
	json_decref(j);
	assert_log_whole(f, f->id);
	assert_int_equal(testutil_stop(&f->srv, SIGTERM), 0);
}

/* A stream stays open through a quiet stretch with keepalive comments. */
static void test_heartbeat(void **state)
{
	struct fx *f = *state;
	struct sse_client c;

	f->db = xasprintf("%s/beat.db", f->dir);
	start_sim(f, "3", "2500");
	assert_int_equal(start_serve_with(&f->srv, f->sim.base_url, f->db, "--sse-heartbeat", "1"),
			 0);
	f->alice = login(&f->srv, "alice", ALICE_PW);
	f->id = start_run(&f->srv, f->alice, "inventory");
	read_stream(&f->srv, f->alice, f->id, -1, &c);
	assert_true(c.comments >= 1);
	assert_string_equal(c.events[c.n - 1].type, "done");
	assert_true(sse_client_ids_contiguous(&c, 0));
	sse_client_release(&c);
	assert_int_equal(testutil_stop(&f->srv, SIGTERM), 0);
}

/* Two servers on one PostgreSQL database: start through one, follow and
 * stop through the other. */
static void test_two_servers_pg(void **state)
{
	struct fx *f = *state;
	struct sse_client c;
	char *path, *url;
	long status;
	json_t *j;

	f->db = testutil_pg_fresh_db();
	if (!f->db) {
		if (getenv("ES_TEST_REQUIRE_PG") && *getenv("ES_TEST_REQUIRE_PG") == '1')
			fail_msg(
			    "ES_TEST_REQUIRE_PG is set but no PostgreSQL server is configured");
		skip();
	}
	start_sim(f, "300", "50");
	assert_int_equal(start_serve(&f->srv, f->sim.base_url, f->db), 0);
	assert_int_equal(start_serve(&f->other, f->sim.base_url, f->db), 0);
	j = call(&f->other, "GET", "/healthz", NULL, NULL, &status);
	assert_string_equal(json_string_value(json_object_get(j, "db")), "postgres");
	json_decref(j);
	f->alice = login(&f->srv, "alice", ALICE_PW);
	f->id = start_run(&f->srv, f->alice, "offers");
	/* The other server refuses a second offers sync: it sees the first
	 * in the database, with a fresh heartbeat. */
	j = call(&f->other, "POST", "/ebay/sync/offers", f->alice, NULL, &status);
	assert_int_equal(status, 409);
	assert_string_equal(json_string_value(json_object_get(j, "run_id")), f->id);
	json_decref(j);

	url = events_url(&f->other, f->id);
	sse_client_init(&c, url, f->alice, -1);
	c.stop_after = 10;
	assert_int_equal(sse_client_run(&c, 60), 0);
	sse_client_release(&c);
	free(url);
	path = xasprintf("/ebay/sync/runs/%s/stop", f->id);
	j = call(&f->other, "POST", path, f->alice, NULL, &status);
	free(path);
	assert_int_equal(status, 202);
	json_decref(j);
	read_stream(&f->other, f->alice, f->id, -1, &c);
	assert_true(sse_client_ids_contiguous(&c, 0));
	assert_string_equal(c.events[c.n - 1].type, "cancelled");
	sse_client_release(&c);
	j = wait_ended(&f->other, f->alice, f->id);
	assert_string_equal(json_string_value(json_object_get(j, "status")), "cancelled");
	json_decref(j);
	assert_int_equal(testutil_stop(&f->other, SIGTERM), 0);
	assert_int_equal(testutil_stop(&f->srv, SIGTERM), 0);
}

/* The bytes of a file (malloc'd, *len set), or NULL. */
static char *slurp(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	struct buf b = BUF_INIT;
	char chunk[65536];
	size_t n;

	*len = 0;
	if (!fp)
		return NULL;
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		buf_add(&b, chunk, n);
	fclose(fp);
	return buf_detach(&b, len);
}

/* After all of the above: the eBay token is in no log and, in clear, in no
 * database file; the users' rows hold it sealed. */
static void test_no_token_leaks(void **state)
{
	struct fx *f = *state;
	const char *suffixes[] = {"", "-wal", "-shm"};
	char *path, *data;
	size_t len, i;
	int sealed = 0;

	data = slurp(f->srv.log_path, &len);
	assert_non_null(data);
	assert_null(memmem(data, len, SIM_TOKEN, strlen(SIM_TOKEN)));
	free(data);
	for (i = 0; i < 3; i++) {
		path = xasprintf("%s%s", f->db, suffixes[i]);
		data = slurp(path, &len);
		if (data) {
			assert_null(memmem(data, len, SIM_TOKEN, strlen(SIM_TOKEN)));
			sealed += memmem(data, len, "v1.", 3) != NULL;
		}
		free(data);
		free(path);
	}
	assert_true(sealed > 0); /* the sealed form is there, in the file or its log */
}

int main(void)
{
	const struct CMUnitTest shared[] = {
	    cmocka_unit_test(test_auth_failures),   cmocka_unit_test(test_login_cookie_and_logout),
	    cmocka_unit_test(test_bad_requests),    cmocka_unit_test(test_inventory_run),
	    cmocka_unit_test(test_offers_run),	    cmocka_unit_test(test_all_run),
	    cmocka_unit_test(test_conditions),	    cmocka_unit_test(test_conflict_and_stop),
	    cmocka_unit_test(test_resume),	    cmocka_unit_test(test_skus_and_start_bodies),
	    cmocka_unit_test(test_other_user),	    cmocka_unit_test(test_many_subscribers),
	    cmocka_unit_test(test_slow_subscriber), cmocka_unit_test(test_token_command),
	    cmocka_unit_test(test_no_token_leaks),
	};
	const struct CMUnitTest own[] = {
	    cmocka_unit_test_setup_teardown(test_sigterm_hands_back, setup_own, teardown_own),
	    cmocka_unit_test_setup_teardown(test_killed_run_resumed, setup_own, teardown_own),
	    cmocka_unit_test_setup_teardown(test_heartbeat, setup_own, teardown_own),
	    cmocka_unit_test_setup_teardown(test_two_servers_pg, setup_own, teardown_own),
	};
	int failed;

	setenv("EBAYSYNC_JWT_SECRET", JWT_SECRET, 1);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	failed =
	    cmocka_run_group_tests_name("serve (shared sim and server)", shared, setup, teardown);
	failed += cmocka_run_group_tests_name("serve (own processes)", own, NULL, NULL);
	curl_global_cleanup();
	return failed;
}
