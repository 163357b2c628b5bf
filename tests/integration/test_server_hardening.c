/*
 * `ebaysync serve` against what an attacker or a careless client sends, each
 * from a real client over loopback (other loopback addresses stand for other
 * clients): a burst of wrong passwords is throttled (429 with Retry-After)
 * while /healthz stays fast and other users still log in, and logins hash
 * on threads of their own so a burst from many addresses does not slow
 * other requests; a login or a body that is not declared JSON is refused
 * (415); logout ends the token, also for another server on the same
 * PostgreSQL database; a Last-Event-ID past the run's last event is
 * refused (400) and a stream ends when its run does; event streams past a
 * user's cap get 503 with Retry-After; errors that echo invalid UTF-8 keep
 * their documented shape; the SQLite files are private (0600).
 */
#include <arpa/inet.h>
#include <errno.h>
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
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "testutil.h"
#include "timeutil.h"
#include "xalloc.h"

#define SIM_TOKEN    "sim-token-1"
#define JWT_SECRET   "integration-jwt-secret-0123456789abcdef"
#define SEAL_KEY     "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
#define ALICE_PW     "alice-password"
#define BOB_PW	     "bob-password-2"
#define PROBE_MAX_MS 100

static char *const server_env[] = {"EBAYSYNC_JWT_SECRET=" JWT_SECRET,
				   "EBAYSYNC_SECRET_KEY=" SEAL_KEY, NULL};

struct fx {
	struct testutil_proc sim, srv;
	char *dir, *db;
};

/* ---- a raw HTTP client that can speak from any loopback address ---------- */

struct raw {
	int status;
	char *head; /* status line and headers */
	char *body;
	long long ms; /* time to the whole answer */
};

static void raw_release(struct raw *r)
{
	free(r->head);
	free(r->body);
	memset(r, 0, sizeof(*r));
}

static int connect_from(const char *from, int port)
{
	struct sockaddr_in src, dst;
	struct timeval tv = {30, 0};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	memset(&src, 0, sizeof(src));
	src.sin_family = AF_INET;
	inet_pton(AF_INET, from, &src.sin_addr);
	memset(&dst, 0, sizeof(dst));
	dst.sin_family = AF_INET;
	dst.sin_port = htons((uint16_t)port);
	inet_pton(AF_INET, "127.0.0.1", &dst.sin_addr);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (bind(fd, (struct sockaddr *)&src, sizeof(src)) ||
	    connect(fd, (struct sockaddr *)&dst, sizeof(dst))) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Sends a request (extra: "Name: value\r\n" lines, or NULL) and returns the
 * connected socket with the answer's head read into r (for streams). */
static int raw_open(const char *from, int port, const char *method, const char *path,
		    const char *extra, const char *body, struct raw *r)
{
	char *req =
	    xasprintf("%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s"
		      "Content-Length: %zu\r\n\r\n%s",
		      method, path, extra ? extra : "", body ? strlen(body) : 0, body ? body : "");
	char buf[8192];
	size_t len = 0;
	ssize_t n;
	char *end = NULL;
	int fd;

	memset(r, 0, sizeof(*r));
	r->ms = timeutil_mono_ms();
	fd = connect_from(from, port);
	if (fd >= 0 && send(fd, req, strlen(req), MSG_NOSIGNAL) != (ssize_t)strlen(req)) {
		close(fd);
		fd = -1;
	}
	free(req);
	while (fd >= 0 && !end && len < sizeof(buf) - 1 &&
	       (n = recv(fd, buf + len, sizeof(buf) - 1 - len, 0)) > 0) {
		len += (size_t)n;
		buf[len] = '\0';
		end = strstr(buf, "\r\n\r\n");
	}
	if (!end) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	r->head = xasprintf("%.*s", (int)(end - buf), buf);
	r->body = xstrdup(end + 4);
	r->status = atoi(buf + 9);
	return fd;
}

/* A whole request and answer (Connection: close, so the body ends at EOF). */
static int raw_call(const char *from, int port, const char *method, const char *path,
		    const char *extra, const char *body, struct raw *r)
{
	int fd = raw_open(from, port, method, path, extra, body, r);
	char buf[4096];
	ssize_t n;
	char *more;

	if (fd < 0)
		return -1;
	while ((n = recv(fd, buf, sizeof(buf) - 1, 0)) > 0) {
		buf[n] = '\0';
		more = xasprintf("%s%s", r->body, buf);
		free(r->body);
		r->body = more;
	}
	close(fd);
	r->ms = timeutil_mono_ms() - r->ms;
	return 0;
}

/* A header's value in r (malloc'd), or NULL. */
static char *header(const struct raw *r, const char *name)
{
	const char *p = r->head;
	size_t n = strlen(name);

	while ((p = strstr(p, "\r\n"))) {
		p += 2;
		if (!strncasecmp(p, name, n) && p[n] == ':') {
			p += n + 1;
			while (*p == ' ')
				p++;
			return xasprintf("%.*s", (int)strcspn(p, "\r\n"), p);
		}
	}
	return NULL;
}

/* The error body of r must be {"error":{"code":code,"message":...part...}}. */
static void expect_error(const struct raw *r, int status, const char *code, const char *part)
{
	json_t *j = json_loads(r->body, 0, NULL);
	const char *c, *m;

	if (r->status != status)
		fail_msg("status %d, want %d (%s)", r->status, status, r->body);
	if (!j)
		fail_msg("body is not JSON: '%s'", r->body);
	c = json_string_value(json_object_get(json_object_get(j, "error"), "code"));
	m = json_string_value(json_object_get(json_object_get(j, "error"), "message"));
	if (!c || !m || strcmp(c, code) || !strstr(m, part))
		fail_msg("body '%s' is not error %s with '%s'", r->body, code, part);
	json_decref(j);
}

static char *login_from(int port, const char *from, const char *user, const char *pw, int *status)
{
	char *body = xasprintf("{\"username\":\"%s\",\"password\":\"%s\"}", user, pw);
	struct raw r;
	char *token = NULL;
	json_t *j;

	assert_int_equal(raw_call(from, port, "POST", "/auth/login",
				  "Content-Type: application/json\r\n", body, &r),
			 0);
	*status = r.status;
	j = json_loads(r.body, 0, NULL);
	if (r.status == 200)
		token = xstrdup(json_string_value(json_object_get(j, "token")));
	json_decref(j);
	raw_release(&r);
	free(body);
	return token;
}

static char *login(int port, const char *user, const char *pw)
{
	int status;
	char *t = login_from(port, "127.0.0.1", user, pw, &status);

	if (status != 200)
		fail_msg("login %s: status %d", user, status);
	return t;
}

static char *bearer(const char *token)
{
	return xasprintf("Authorization: Bearer %s\r\n", token);
}

/* ---- processes ----------------------------------------------------------- */

static int start_serve(struct testutil_proc *p, const char *sim_url, const char *db)
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
			"--concurrency",
			"1",
			"--max-rps",
			"5000",
			"--max-streams-per-user",
			"1",
			"--login-threads",
			"1",
			NULL};

	return testutil_spawn(p, argv, server_env);
}

static void add_bob(const char *dir, const char *db)
{
	char *pwfile = xasprintf("%s/bob.pw", dir);
	char *add[] = {TESTUTIL_APP_BIN, "user", "add",	     "bob", "--password-file",
		       pwfile,		 "--db", (char *)db, NULL};
	FILE *fp = fopen(pwfile, "w");

	fputs(BOB_PW "\n", fp);
	fclose(fp);
	assert_int_equal(testutil_run(add, server_env, NULL), 0);
	free(pwfile);
}

static int setup(void **state)
{
	struct fx *f = xcalloc(1, sizeof(*f));
	/* 300 SKUs at 20 ms, one call at a time: an offers run lasts seconds. */
	char *sim[] = {TESTUTIL_SIM_BIN, "--listen", "127.0.0.1:0",  "--seed", "7", "--skus", "300",
		       "--token",	 SIM_TOKEN,  "--latency-ms", "20",     NULL};

	f->dir = testutil_tmpdir();
	f->db = xasprintf("%s/serve.db", f->dir);
	assert_int_equal(testutil_spawn(&f->sim, sim, NULL), 0);
	assert_int_equal(start_serve(&f->srv, f->sim.base_url, f->db), 0);
	add_bob(f->dir, f->db);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	int status = testutil_stop(&f->srv, SIGTERM);

	testutil_stop(&f->sim, SIGTERM);
	testutil_rmrf(f->dir);
	free(f->dir);
	free(f->db);
	free(f);
	return status == 0 ? 0 : -1;
}

/* ---- /healthz while something else goes on -------------------------------- */

struct prober {
	int port, stop;
	int n, bad;
	long long worst;
	char first_bad[128];
};

static void *probe_main(void *arg)
{
	struct prober *p = arg;
	struct raw r;

	while (!__atomic_load_n(&p->stop, __ATOMIC_ACQUIRE)) {
		int rc = raw_call("127.0.0.1", p->port, "GET", "/healthz", NULL, NULL, &r);

		p->n++;
		if (r.ms > p->worst)
			p->worst = r.ms;
		if (rc || r.status != 200 || r.ms > PROBE_MAX_MS) {
			if (!p->bad++)
				snprintf(p->first_bad, sizeof(p->first_bad),
					 "status %d after %lld ms", r.status, r.ms);
		}
		raw_release(&r);
		timeutil_sleep_ms(100);
	}
	return NULL;
}

static void probe_check(struct prober *p, const char *during)
{
	print_message("%s: %d /healthz probes, worst %lld ms\n", during, p->n, p->worst);
	assert_true(p->n >= 3);
	if (p->bad)
		fail_msg("/healthz was slow or failed %d of %d times during %s (first: %s)", p->bad,
			 p->n, during, p->first_bad);
}

/* ---- the tests ----------------------------------------------------------- */

/* A burst of wrong passwords for alice from 127.0.0.2 ends in 429 with
 * Retry-After, without slowing /healthz; bob still logs in from 127.0.0.1. */
static void test_login_throttle(void **state)
{
	struct fx *f = *state;
	struct prober p = {.port = f->srv.port};
	pthread_t th;
	int i, status, n401 = 0, n429 = 0, retry;
	char *t, *after;

	assert_int_equal(pthread_create(&th, NULL, probe_main, &p), 0);
	for (i = 0; i < 30; i++) {
		struct raw r;

		assert_int_equal(raw_call("127.0.0.2", f->srv.port, "POST", "/auth/login",
					  "Content-Type: application/json\r\n",
					  "{\"username\":\"alice\",\"password\":\"guess\"}", &r),
				 0);
		if (r.status == 401) {
			n401++;
		} else if (r.status == 429) {
			n429++;
			expect_error(&r, 429, "too_many_requests", "too many failed logins");
			after = header(&r, "Retry-After");
			assert_non_null(after);
			retry = atoi(after);
			assert_true(retry >= 1 && retry <= 900);
			free(after);
		} else {
			fail_msg("wrong password answered %d (%s)", r.status, r.body);
		}
		raw_release(&r);
	}
	__atomic_store_n(&p.stop, 1, __ATOMIC_RELEASE);
	pthread_join(th, NULL);
	print_message("30 wrong passwords: %d x 401, %d x 429\n", n401, n429);
	/* Five free failures, one more that locks for a second; a guess
	 * after that second fails again and locks for two, and so on. */
	assert_true(n401 >= 6 && n401 <= 9);
	assert_true(n429 >= 21);
	probe_check(&p, "a password-guessing burst");

	t = login_from(f->srv.port, "127.0.0.1", "bob", BOB_PW, &status);
	assert_int_equal(status, 200);
	free(t);
}

struct burst {
	int port, i, status;
};

static void *burst_main(void *arg)
{
	struct burst *b = arg;
	char from[32], user[32];

	snprintf(from, sizeof(from), "127.0.1.%d", 10 + b->i);
	snprintf(user, sizeof(user), "ghost%d", b->i);
	free(login_from(b->port, from, user, "nope", &b->status));
	return NULL;
}

/* Logins from 16 addresses at once, none throttled: their hashes take
 * seconds of CPU, but on the login threads, not the event loops. */
static void test_login_hashes_off_the_loops(void **state)
{
	struct fx *f = *state;
	struct prober p = {.port = f->srv.port};
	struct burst b[16];
	pthread_t th, bt[16];
	int i;

	assert_int_equal(pthread_create(&th, NULL, probe_main, &p), 0);
	for (i = 0; i < 16; i++) {
		b[i] = (struct burst){.port = f->srv.port, .i = i};
		assert_int_equal(pthread_create(&bt[i], NULL, burst_main, &b[i]), 0);
	}
	for (i = 0; i < 16; i++) {
		pthread_join(bt[i], NULL);
		assert_int_equal(b[i].status, 401);
	}
	__atomic_store_n(&p.stop, 1, __ATOMIC_RELEASE);
	pthread_join(th, NULL);
	probe_check(&p, "16 logins at once");
}

/* Login CSRF: a form (text/plain) cannot log anyone in; a body elsewhere
 * must be JSON too. */
static void test_content_type(void **state)
{
	struct fx *f = *state;
	static const char creds[] = "{\"username\":\"bob\",\"password\":\"" BOB_PW "\"}";
	char *t = login(f->srv.port, "bob", BOB_PW), *auth = bearer(t), *extra, *cookie;
	struct raw r;

	assert_int_equal(raw_call("127.0.0.1", f->srv.port, "POST", "/auth/login",
				  "Content-Type: text/plain\r\n", creds, &r),
			 0);
	expect_error(&r, 415, "unsupported_media_type", "application/json");
	cookie = header(&r, "Set-Cookie");
	assert_null(cookie);
	raw_release(&r);
	assert_int_equal(raw_call("127.0.0.1", f->srv.port, "POST", "/auth/login", NULL, creds, &r),
			 0);
	expect_error(&r, 415, "unsupported_media_type", "application/json");
	raw_release(&r);
	assert_int_equal(raw_call("127.0.0.1", f->srv.port, "POST", "/auth/login",
				  "Content-Type: application/json; charset=utf-8\r\n", creds, &r),
			 0);
	assert_int_equal(r.status, 200);
	raw_release(&r);
	extra = xasprintf("%sContent-Type: application/x-www-form-urlencoded\r\n", auth);
	assert_int_equal(raw_call("127.0.0.1", f->srv.port, "POST", "/ebay/sync/skus", extra,
				  "{\"skus\":[\"A\"]}", &r),
			 0);
	expect_error(&r, 415, "unsupported_media_type", "application/json");
	raw_release(&r);
	free(extra);
	free(auth);
	free(t);
}

/* Logout ends that token (Bearer or cookie), not the user's others. */
static void test_logout_revokes(void **state)
{
	struct fx *f = *state;
	char *t1 = login(f->srv.port, "bob", BOB_PW), *t2 = login(f->srv.port, "bob", BOB_PW);
	char *a1 = bearer(t1), *a2 = bearer(t2),
	     *c2 = xasprintf("Cookie: ebaysync_token=%s\r\n", t2);
	struct raw r;

	assert_int_equal(raw_call("127.0.0.1", f->srv.port, "GET", "/ebay/me", a1, NULL, &r), 0);
	assert_int_equal(r.status, 200);
	raw_release(&r);
	assert_int_equal(raw_call("127.0.0.1", f->srv.port, "POST", "/auth/logout", a1, NULL, &r),
			 0);
	assert_int_equal(r.status, 200);
	raw_release(&r);
	assert_int_equal(raw_call("127.0.0.1", f->srv.port, "GET", "/ebay/me", a1, NULL, &r), 0);
	expect_error(&r, 401, "unauthorized", "revoked");
	raw_release(&r);
	/* The other login goes on, until its cookie logs out. */
	assert_int_equal(raw_call("127.0.0.1", f->srv.port, "GET", "/ebay/me", a2, NULL, &r), 0);
	assert_int_equal(r.status, 200);
	raw_release(&r);
	assert_int_equal(raw_call("127.0.0.1", f->srv.port, "POST", "/auth/logout", c2, NULL, &r),
			 0);
	assert_int_equal(r.status, 200);
	raw_release(&r);
	assert_int_equal(raw_call("127.0.0.1", f->srv.port, "GET", "/ebay/me", c2, NULL, &r), 0);
	expect_error(&r, 401, "unauthorized", "revoked");
	raw_release(&r);
	free(a1);
	free(a2);
	free(c2);
	free(t1);
	free(t2);
}

/* Two servers on one PostgreSQL database: a logout through one ends the
 * token on the other. */
static void test_logout_revokes_pg(void **state)
{
	struct fx *f = *state;
	struct testutil_proc a, b;
	char *url = testutil_pg_fresh_db(), *t, *auth;
	struct raw r;

	if (!url) {
		if (getenv("ES_TEST_REQUIRE_PG") && !strcmp(getenv("ES_TEST_REQUIRE_PG"), "1"))
			fail_msg("ES_TEST_REQUIRE_PG=1 but no PostgreSQL server is configured");
		skip();
	}
	assert_int_equal(start_serve(&a, f->sim.base_url, url), 0);
	assert_int_equal(start_serve(&b, f->sim.base_url, url), 0);
	t = login(a.port, "alice", ALICE_PW);
	auth = bearer(t);
	assert_int_equal(raw_call("127.0.0.1", b.port, "GET", "/ebay/me", auth, NULL, &r), 0);
	assert_int_equal(r.status, 200);
	raw_release(&r);
	assert_int_equal(raw_call("127.0.0.1", a.port, "POST", "/auth/logout", auth, NULL, &r), 0);
	assert_int_equal(r.status, 200);
	raw_release(&r);
	assert_int_equal(raw_call("127.0.0.1", b.port, "GET", "/ebay/me", auth, NULL, &r), 0);
	expect_error(&r, 401, "unauthorized", "revoked");
	raw_release(&r);
	assert_int_equal(testutil_stop(&a, SIGTERM), 0);
	assert_int_equal(testutil_stop(&b, SIGTERM), 0);
	free(auth);
	free(t);
	free(url);
}

/* Errors that echo bytes that are not UTF-8 keep their shape, with U+FFFD
 * for the bad bytes. */
static void test_bad_utf8_errors(void **state)
{
	struct fx *f = *state;
	char *t = login(f->srv.port, "bob", BOB_PW), *auth = bearer(t);
	char *lei = xasprintf("%sLast-Event-ID: \xff\r\n", auth);
	struct raw r;

	assert_int_equal(
	    raw_call("127.0.0.1", f->srv.port, "GET", "/ebay/inventory?sort=%ff", auth, NULL, &r),
	    0);
	expect_error(&r, 400, "bad_request", "\xef\xbf\xbd");
	raw_release(&r);
	assert_int_equal(
	    raw_call("127.0.0.1", f->srv.port, "GET", "/ebay/sync/runs/%ff", auth, NULL, &r), 0);
	expect_error(&r, 404, "not_found", "no run '\xef\xbf\xbd'");
	raw_release(&r);
	assert_int_equal(raw_call("127.0.0.1", f->srv.port, "GET", "/ebay/sync/events/offers_1_x",
				  lei, NULL, &r),
			 0);
	expect_error(&r, 400, "bad_request", "not '\xef\xbf\xbd'");
	raw_release(&r);
	free(lei);
	free(auth);
	free(t);
}

/* The database and its -wal and -shm files hold password hashes. */
static void test_db_files_private(void **state)
{
	struct fx *f = *state;
	const char *suffix[] = {"", "-wal", "-shm"};
	struct stat st;
	size_t i;

	for (i = 0; i < 3; i++) {
		char *path = xasprintf("%s%s", f->db, suffix[i]);

		assert_int_equal(stat(path, &st), 0);
		if ((st.st_mode & 0777) != 0600)
			fail_msg("%s has mode %03o, want 600", path, (unsigned)(st.st_mode & 0777));
		free(path);
	}
}

/* The last event's id in a stream's text ("id: N" lines), or 0. */
static long long last_id(const char *text)
{
	const char *p = text;
	long long id = 0;

	while ((p = strstr(p, "id: "))) {
		if (p == text || p[-1] == '\n')
			id = atoll(p + 4);
		p += 4;
	}
	return id;
}

/* Last-Event-ID past the run (the id that overflowed) is refused, while the
 * run goes on and after; a second stream past the user's cap gets 503 with
 * Retry-After; the open stream ends when the run ends. */
static void test_last_event_id_and_stream_caps(void **state)
{
	struct fx *f = *state;
	char *t = login(f->srv.port, "alice", ALICE_PW), *auth = bearer(t);
	char *big = xasprintf("%sLast-Event-ID: 9223372036854775807\r\n", auth);
	char *path, *id, *after, *text, *at_end, buf[4096];
	struct raw r, s;
	long long deadline, last;
	json_t *j;
	ssize_t n;
	int fd;

	assert_int_equal(
	    raw_call("127.0.0.1", f->srv.port, "POST", "/ebay/sync/offers", auth, NULL, &r), 0);
	assert_int_equal(r.status, 202);
	j = json_loads(r.body, 0, NULL);
	id = xstrdup(json_string_value(json_object_get(j, "run_id")));
	json_decref(j);
	raw_release(&r);
	path = xasprintf("/ebay/sync/events/%s", id);

	assert_int_equal(raw_call("127.0.0.1", f->srv.port, "GET", path, big, NULL, &r), 0);
	expect_error(&r, 400, "bad_request", "past the last event");
	raw_release(&r);

	fd = raw_open("127.0.0.1", f->srv.port, "GET", path, auth, NULL, &s);
	assert_true(fd >= 0);
	assert_int_equal(s.status, 200);
	assert_int_equal(raw_call("127.0.0.1", f->srv.port, "GET", path, auth, NULL, &r), 0);
	expect_error(&r, 503, "unavailable", "too many event streams");
	after = header(&r, "Retry-After");
	assert_non_null(after);
	assert_true(atoi(after) >= 1);
	free(after);
	raw_release(&r);

	/* Stop the run: the open stream must end by itself. */
	free(path);
	path = xasprintf("/ebay/sync/runs/%s/stop", id);
	assert_int_equal(raw_call("127.0.0.1", f->srv.port, "POST", path, auth, NULL, &r), 0);
	assert_int_equal(r.status, 202);
	raw_release(&r);
	text = xstrdup(s.body);
	deadline = timeutil_mono_ms() + 30000;
	while ((n = recv(fd, buf, sizeof(buf) - 1, 0)) > 0 && timeutil_mono_ms() < deadline) {
		buf[n] = '\0';
		at_end = xasprintf("%s%s", text, buf);
		free(text);
		text = at_end;
	}
	assert_int_equal(n, 0); /* the server ended it */
	assert_non_null(strstr(text, "event: cancelled"));
	last = last_id(text);
	assert_true(last > 0);
	close(fd);
	raw_release(&s);
	free(text);

	/* After the run: past its end is still refused, its end is 204. */
	free(path);
	path = xasprintf("/ebay/sync/events/%s", id);
	assert_int_equal(raw_call("127.0.0.1", f->srv.port, "GET", path, big, NULL, &r), 0);
	expect_error(&r, 400, "bad_request", "past the last event");
	raw_release(&r);
	free(big);
	big = xasprintf("%sLast-Event-ID: %lld\r\n", auth, last);
	assert_int_equal(raw_call("127.0.0.1", f->srv.port, "GET", path, big, NULL, &r), 0);
	assert_int_equal(r.status, 204);
	raw_release(&r);
	free(big);
	big = xasprintf("%sLast-Event-ID: %lld\r\n", auth, last + 1);
	assert_int_equal(raw_call("127.0.0.1", f->srv.port, "GET", path, big, NULL, &r), 0);
	expect_error(&r, 400, "bad_request", "past the last event");
	raw_release(&r);

	free(big);
	free(path);
	free(id);
	free(auth);
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_db_files_private),
	    cmocka_unit_test(test_bad_utf8_errors),
	    cmocka_unit_test(test_content_type),
	    cmocka_unit_test(test_logout_revokes),
	    cmocka_unit_test(test_logout_revokes_pg),
	    cmocka_unit_test(test_last_event_id_and_stream_caps),
	    cmocka_unit_test(test_login_hashes_off_the_loops),
	    cmocka_unit_test(test_login_throttle),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
