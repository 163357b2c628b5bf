/*
 * eBay accounts end to end, the real binaries against the real
 * `ebaysync-sim` on 127.0.0.1:
 *
 * - a long offers sync (2,000 SKUs, access tokens that live 5 seconds,
 *   20 ms latency, throttled to last over 20 s) of a user linked with
 *   `ebaysync account set-refresh-token` stores every SKU's offers, records
 *   no failure, and refreshes about once per token lifetime: not once per
 *   request;
 * - the consent flow through `ebaysync serve`: start -> the simulator's
 *   consent page -> Agree -> callback -> linked; a sync; the refresh token
 *   revoked in the simulator; the next runs fail with "link the account
 *   again"; linking again recovers;
 * - a tampered state, a state from another browser, a replayed callback, a
 *   replayed code, a wrong client secret and a declined consent are each
 *   refused with a clear message and store nothing;
 * - `ebaysync account link` on a terminal-less pipe, with a right and a
 *   wrong state;
 * - no token, code or secret in clear in the server's log, the runs'
 *   events, the API's answers, the CLI's output and request log, or a dump
 *   of the database (sqlite3 .dump).
 */
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>

#include "secret.h"
#include "sse_client.h"
#include "store.h"
#include "testutil.h"
#include "timeutil.h"
#include "xalloc.h"

#define JWT_SECRET  "oauth-test-jwt-secret-0123456789abcdef"
#define SEAL_KEY    "8899aabbccddeeff00112233445566778899aabbccddeeff0011223344556677"
#define CLIENT_ID   "ebaysync-test-app"
#define CLIENT_SEC  "test-cert-id-SECRET-5150"
#define FIXED_RT    "v^1.1#i^1#r^1#fixed-refresh-token-ABCDEF"
#define PASSWORD    "alice-password-1"
#define TOKEN_TTL_S 5

/* Everything that must never hold a token in clear. */
static struct buf seen = BUF_INIT;

static void see(const char *what, const char *text)
{
	buf_addf(&seen, "\n==== %s\n%s", what, text ? text : "");
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	struct buf b = BUF_INIT;
	char chunk[8192];
	size_t n;

	if (!f)
		return xstrdup("");
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_add(&b, chunk, n);
	fclose(f);
	return b.data ? buf_detach(&b, NULL) : xstrdup("");
}

/* Fails when text holds a secret: any simulator token (they all begin
 * "v^1.1#"), raw or URL-encoded, or one of the given strings. */
static void assert_clean(const char *what, const char *text, const char *const more[])
{
	static const char *const always[] = {"v^1.1#",	 "v%5E1.1%23", "v%5e1.1%23",
					     CLIENT_SEC, JWT_SECRET,   SEAL_KEY};

	for (size_t i = 0; i < sizeof(always) / sizeof(always[0]); i++)
		if (strstr(text, always[i]))
			fail_msg("%s holds '%s' in clear", what, always[i]);
	for (size_t i = 0; more && more[i]; i++)
		if (*more[i] && strstr(text, more[i]))
			fail_msg("%s holds a token in clear ('%.12s...')", what, more[i]);
}

/* ---- processes ----------------------------------------------------------- */

/* What a test started, stopped by its teardown even when it fails. */
static struct testutil_proc *live[4];

static int spawn(struct testutil_proc *p, char *const argv[], char *const env[])
{
	int rc = testutil_spawn(p, argv, env);

	for (size_t i = 0; !rc && i < sizeof(live) / sizeof(live[0]); i++)
		if (!live[i]) {
			live[i] = p;
			break;
		}
	return rc;
}

static int stop(struct testutil_proc *p)
{
	for (size_t i = 0; i < sizeof(live) / sizeof(live[0]); i++)
		if (live[i] == p)
			live[i] = NULL;
	return testutil_stop(p, 0);
}

static int stop_all(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(live) / sizeof(live[0]); i++)
		if (live[i]) {
			testutil_stop(live[i], 0);
			live[i] = NULL;
		}
	buf_reset(&seen);
	return 0;
}

/* Runs the ebaysync binary with args and env, stdin from text (or
 * /dev/null), stdout and stderr together into *out; returns the exit code. */
static int run_app(char *const args[], char *const env[], const char *stdin_text, char **out)
{
	int in[2], outp[2], status = 0;
	char *argv[32] = {TESTUTIL_APP_BIN};
	struct buf b = BUF_INIT;
	char chunk[4096];
	ssize_t n;
	pid_t pid;
	int i;

	for (i = 0; args[i] && i < 30; i++)
		argv[i + 1] = args[i];
	argv[i + 1] = NULL;
	if (pipe(in) || pipe(outp))
		abort();
	pid = fork();
	if (pid == 0) {
		dup2(in[0], 0);
		dup2(outp[1], 1);
		dup2(outp[1], 2);
		close(in[0]);
		close(in[1]);
		close(outp[0]);
		close(outp[1]);
		for (i = 0; env && env[i]; i++)
			putenv(env[i]);
		execv(argv[0], argv);
		_exit(127);
	}
	close(in[0]);
	close(outp[1]);
	if (stdin_text && write(in[1], stdin_text, strlen(stdin_text)) < 0)
		abort();
	close(in[1]);
	while ((n = read(outp[0], chunk, sizeof(chunk))) > 0)
		buf_add(&b, chunk, (size_t)n);
	close(outp[0]);
	waitpid(pid, &status, 0);
	*out = b.data ? buf_detach(&b, NULL) : xstrdup("");
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* A port that was free a moment ago (the server must know its callback
 * URL, the RuName, before it starts). */
static int free_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

static json_t *http_json(const char *method, const char *url, const char *body,
			 const char *const hdrs[], long *status)
{
	struct testutil_http r;
	json_t *j;

	assert_int_equal(testutil_http(method, url, body, hdrs, &r), 0);
	*status = r.status;
	j = r.len ? json_loadb(r.body, r.len, 0, NULL) : NULL;
	testutil_http_release(&r);
	return j;
}

static long long sim_stat(const char *sim, const char *name)
{
	char *url = xasprintf("%s/sim/stats", sim);
	long status;
	json_t *j = http_json("GET", url, NULL, NULL, &status);
	long long v = json_integer_value(json_object_get(j, name));

	assert_int_equal(status, 200);
	json_decref(j);
	free(url);
	return v;
}

/* getOffers answers of a status, per the simulator. */
static long long sim_calls(const char *sim, const char *endpoint, const char *status_code)
{
	char *url = xasprintf("%s/sim/stats", sim);
	long status;
	json_t *j = http_json("GET", url, NULL, NULL, &status);
	long long v = json_integer_value(
	    json_object_get(json_object_get(json_object_get(j, "calls"), endpoint), status_code));

	json_decref(j);
	free(url);
	return v;
}

/* Offers and SKUs with offers in the simulator's catalog. */
static void sim_offers(const char *sim, long long *offers, long long *skus)
{
	char *url = xasprintf("%s/sim/catalog", sim);
	struct testutil_http r;
	char *line, *save = NULL;

	*offers = *skus = 0;
	assert_int_equal(testutil_http("GET", url, NULL, NULL, &r), 0);
	assert_int_equal(r.status, 200);
	for (line = strtok_r(r.body, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		json_t *o = json_loads(line, 0, NULL);
		size_t n = json_array_size(json_object_get(o, "offers"));

		assert_non_null(o);
		*offers += (long long)n;
		*skus += n > 0;
		json_decref(o);
	}
	testutil_http_release(&r);
	free(url);
}

static void sim_post(const char *sim, const char *path, const char *body, const char *ctype,
		     long want)
{
	char *url = xasprintf("%s%s", sim, path), *ct = xasprintf("Content-Type: %s", ctype);
	const char *hdrs[] = {ct, NULL};
	long status;
	json_t *j = http_json("POST", url, body, hdrs, &status);

	if (status != want)
		fail_msg("POST %s: %ld, want %ld", path, status, want);
	json_decref(j);
	free(url);
	free(ct);
}

/* The database's rows for the checks: offers of user, failures. */
static void db_counts(const char *db, const char *user, long long *offers, size_t *failures)
{
	struct store *s;
	struct store_query q = {.user_id = user, .limit = 1};
	struct buf why = BUF_INIT;
	json_t *rows;
	char **skus;

	assert_int_equal(store_open(db, &s, &why), ERR_OK);
	assert_int_equal(store_list_offers(s, &q, &rows, offers), ERR_OK);
	json_decref(rows);
	assert_int_equal(store_failure_list(s, user, "offers", &skus, failures), ERR_OK);
	for (size_t i = 0; i < *failures; i++)
		free(skus[i]);
	free(skus);
	store_close(s);
	buf_release(&why);
}

/* What the database holds for user's tokens, opened with the seal key. */
static void db_tokens(const char *db, const char *user, char **refresh, char **access,
		      long long *access_expires_ms)
{
	struct store *s;
	struct user_row u;
	struct secret_key key;
	struct buf why = BUF_INIT;
	char *ctx;

	*refresh = *access = NULL;
	assert_int_equal(secret_key_parse(SEAL_KEY, &key, &why), ERR_OK);
	assert_int_equal(store_open(db, &s, &why), ERR_OK);
	assert_int_equal(store_user_get(s, user, &u), ERR_OK);
	if (u.ebay_refresh_token) {
		ctx = xasprintf("ebay_refresh_token:%s", user);
		assert_int_equal(secret_open(&key, ctx, u.ebay_refresh_token, refresh, &why),
				 ERR_OK);
		free(ctx);
	}
	if (u.ebay_token) {
		ctx = xasprintf("ebay_token:%s", user);
		assert_int_equal(secret_open(&key, ctx, u.ebay_token, access, &why), ERR_OK);
		free(ctx);
	}
	if (access_expires_ms)
		*access_expires_ms = u.ebay_token_expires_ms;
	user_row_release(&u);
	store_close(s);
	buf_release(&why);
}

static char *sqlite_dump(const char *db)
{
	char *argv[] = {"sqlite3", (char *)db, ".dump", NULL}, *out = NULL;

	assert_int_equal(testutil_run(argv, NULL, &out), 0);
	assert_non_null(strstr(out, "CREATE TABLE users"));
	return out;
}

/* ---- the long sync ------------------------------------------------------- */

static void test_long_sync_refreshes(void **state)
{
	static struct testutil_proc sim;
	char *dir = testutil_tmpdir(), *db = xasprintf("%s/db.sqlite", dir);
	char *pw = xasprintf("%s/pw", dir), *rt = xasprintf("%s/rt", dir);
	char *rlog = xasprintf("%s/requests.jsonl", dir), *out = NULL, *line, *save = NULL;
	char *env_base, *dump, *text, *refresh, *access;
	char *sim_argv[] = {TESTUTIL_SIM_BIN,
			    "--listen",
			    "127.0.0.1:0",
			    "--seed",
			    "11",
			    "--skus",
			    "2000",
			    "--token-ttl",
			    "5",
			    "--latency-ms",
			    "20",
			    "--refresh-token",
			    FIXED_RT,
			    "--client-id",
			    CLIENT_ID,
			    "--client-secret",
			    CLIENT_SEC,
			    NULL};
	long long t0, ms, issued0, issued, refreshes = 0, offers, want_offers, want_skus;
	long long refused;
	size_t failures;
	FILE *f;

	(void)state;
	assert_int_equal(spawn(&sim, sim_argv, NULL), 0);
	env_base = xasprintf("EBAY_API_BASE=%s", sim.base_url);
	{
		char *env[] = {"EBAYSYNC_SECRET_KEY=" SEAL_KEY,
			       "EBAY_CLIENT_ID=" CLIENT_ID,
			       "EBAY_CLIENT_SECRET=" CLIENT_SEC,
			       "EBAY_ENV=simulator",
			       env_base,
			       NULL};
		char *add[] = {"user", "add", "alice", "--password-file", pw, "--db", db, NULL};
		char *set[] = {"account", "set-refresh-token", "--user",   "alice", "--token-file",
			       rt,	  "--expires-in",      "47304000", "--db",  db,
			       NULL};
		char *status[] = {"account", "status", "--db", db, NULL};
		char *sync[] = {"sync",	  "offers",	   "--db",  db,
				"--user", "alice",	   "--env", "simulator",
				"--json", "--max-rps",	   "90",    "--concurrency",
				"8",	  "--request-log", rlog,    NULL};

		f = fopen(pw, "w");
		fputs(PASSWORD "\n", f);
		fclose(f);
		f = fopen(rt, "w");
		fputs(FIXED_RT "\n", f);
		fclose(f);
		assert_int_equal(run_app(add, env, NULL, &out), 0);
		free(out);
		assert_int_equal(run_app(set, env, NULL, &out), 0);
		assert_non_null(strstr(out, "stored and verified with eBay"));
		see("account set-refresh-token", out);
		free(out);
		assert_int_equal(run_app(status, env, NULL, &out), 0);
		assert_non_null(strstr(out, "alice"));
		assert_non_null(strstr(out, "linked, refresh token expires 20"));
		see("account status", out);
		free(out);

		issued0 = sim_stat(sim.base_url, "tokens_issued");
		t0 = timeutil_mono_ms();
		if (run_app(sync, env, NULL, &out) != 0)
			fail_msg("sync failed:\n%s",
				 out + (strlen(out) > 3000 ? strlen(out) - 3000 : 0));
		ms = timeutil_mono_ms() - t0;
	}
	see("sync output", out);
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		refreshes += strstr(line, "Refreshed the eBay access token of alice") != NULL;
	free(out);
	issued = sim_stat(sim.base_url, "tokens_issued") - issued0;
	refused = sim_calls(sim.base_url, "getOffers", "401") +
		  sim_calls(sim.base_url, "getInventoryItems", "401");
	sim_offers(sim.base_url, &want_offers, &want_skus);
	db_counts(db, "alice", &offers, &failures);
	print_message("long sync: %lld ms, %lld refreshes (sim issued %lld), %lld requests "
		      "refused with 401 and retried, %lld offers of %lld SKUs stored\n",
		      ms, refreshes, issued, refused, offers, want_skus);

	assert_true(ms >= 20000);
	assert_int_equal(offers, want_offers);
	assert_true(want_offers >= 2000);
	assert_int_equal(failures, 0);
	/* One refresh per token lifetime, give or take the start and the end;
	 * every minted token is one the log line counted. */
	assert_int_equal(issued, refreshes);
	assert_true(refreshes >= ms / (TOKEN_TTL_S * 1000) - 1);
	assert_true(refreshes <= ms / (TOKEN_TTL_S * 1000) + 2);

	/* No token in the output, the request log or the database. */
	db_tokens(db, "alice", &refresh, &access, NULL);
	assert_string_equal(refresh, FIXED_RT);
	assert_non_null(access);
	text = read_file(rlog);
	assert_true(strlen(text) > 1000);
	see("request log", text);
	free(text);
	dump = sqlite_dump(db);
	see("sqlite3 .dump", dump);
	{
		const char *const mine[] = {refresh, access, NULL};
		assert_clean("the CLI's output, request log and database", buf_str(&seen), mine);
	}
	free(dump);
	secret_free(refresh);
	secret_free(access);
	buf_reset(&seen);
	stop(&sim);
	testutil_rmrf(dir);
	free(env_base);
	free(dir);
	free(db);
	free(pw);
	free(rt);
	free(rlog);
}

/* ---- the consent flow through the server --------------------------------- */

struct flow {
	const char *sim, *srv, *ru, *db;
	char *bearer;
	char *env[8];
	struct testutil_proc sim_proc, srv_proc;
	char *run_ids[16];
	size_t n_runs;
};

/* GET or POST srv path with the bearer; records the answer. */
static struct testutil_http srv_call(struct flow *f, const char *method, const char *path,
				     const char *cookie)
{
	char *url = xasprintf("%s%s", f->srv, path);
	char *auth = f->bearer ? xasprintf("Authorization: Bearer %s", f->bearer) : NULL;
	char *ck = cookie ? xasprintf("Cookie: %s", cookie) : NULL;
	const char *hdrs[] = {auth ? auth : ck, auth ? ck : NULL, NULL};
	struct testutil_http r;
	char *what = xstrndup(path, strcspn(path, "?"));

	assert_int_equal(testutil_http(method, url, NULL, hdrs, &r), 0);
	see(what, r.headers);
	see(what, r.body);
	free(what);
	free(url);
	free(auth);
	free(ck);
	return r;
}

/* The value of header name in raw headers (malloc'd), or NULL. */
static char *header(const char *headers, const char *name)
{
	size_t n = strlen(name);
	const char *p = headers;

	while (p && *p) {
		const char *end = strstr(p, "\r\n");
		if (!strncasecmp(p, name, n) && p[n] == ':') {
			p += n + 1;
			while (*p == ' ')
				p++;
			return xstrndup(p, end ? (size_t)(end - p) : strlen(p));
		}
		p = end ? end + 2 : NULL;
	}
	return NULL;
}

/* The value of query parameter name in url, decoded (malloc'd), or NULL. */
static char *query_param(const char *url, const char *name)
{
	const char *q = strchr(url, '?');
	size_t n = strlen(name);

	while (q && *q) {
		q++;
		if (!strncmp(q, name, n) && q[n] == '=') {
			const char *end = strchr(q, '&');
			char *v = xstrndup(q + n + 1,
					   end ? (size_t)(end - q - n - 1) : strlen(q + n + 1));
			char *d = curl_easy_unescape(NULL, v, 0, NULL), *out = xstrdup(d);
			curl_free(d);
			free(v);
			return out;
		}
		q = strchr(q, '&');
	}
	return NULL;
}

/* /ebay/oauth/start: the consent URL and the binding cookie ("name=value"). */
static void flow_start(struct flow *f, char **consent, char **cookie)
{
	struct testutil_http r = srv_call(f, "GET", "/ebay/oauth/start", NULL);
	char *set;

	assert_int_equal(r.status, 302);
	*consent = header(r.headers, "Location");
	assert_non_null(*consent);
	assert_true(!strncmp(*consent, f->sim, strlen(f->sim)));
	assert_non_null(strstr(*consent, "/oauth2/authorize?client_id=" CLIENT_ID));
	assert_non_null(strstr(*consent, "response_type=code"));
	assert_non_null(strstr(*consent, "sell.inventory.readonly"));
	set = header(r.headers, "Set-Cookie");
	assert_non_null(set);
	assert_non_null(strstr(set, "HttpOnly; SameSite=Lax; Path=/ebay/oauth"));
	*cookie = xstrndup(set, strcspn(set, ";"));
	free(set);
	testutil_http_release(&r);
}

/* What the simulator's consent page does: show the page, then post the
 * form the way its Agree (or No thanks) button would. Returns the URL it
 * redirects the browser to. */
static char *consent(struct flow *f, const char *consent_url, const char *decision)
{
	struct testutil_http r;
	char *state = query_param(consent_url, "state"), *body, *url, *loc;
	char *e_ru, *e_state;
	const char *hdrs[] = {"Content-Type: application/x-www-form-urlencoded", NULL};

	assert_int_equal(testutil_http("GET", consent_url, NULL, NULL, &r), 0);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "id=\"agree\""));
	assert_non_null(strstr(r.body, state));
	testutil_http_release(&r);
	e_ru = curl_easy_escape(NULL, f->ru, 0);
	e_state = curl_easy_escape(NULL, state, 0);
	body =
	    xasprintf("client_id=%s&redirect_uri=%s&scope=%s&state=%s&decision=%s", CLIENT_ID, e_ru,
		      "https%3A%2F%2Fapi.ebay.com%2Foauth%2Fapi_scope%2Fsell.inventory."
		      "readonly",
		      e_state, decision);
	url = xasprintf("%s/oauth2/authorize", f->sim);
	assert_int_equal(testutil_http("POST", url, body, hdrs, &r), 0);
	assert_int_equal(r.status, 302);
	loc = header(r.headers, "Location");
	assert_non_null(loc);
	assert_true(!strncmp(loc, f->ru, strlen(f->ru)));
	testutil_http_release(&r);
	curl_free(e_ru);
	curl_free(e_state);
	free(body);
	free(url);
	free(state);
	return loc;
}

/* GETs the callback URL (absolute, on the server) with cookie; returns
 * the answer. */
static struct testutil_http callback(struct flow *f, const char *cb_url, const char *cookie)
{
	char *saved = f->bearer;
	struct testutil_http r;

	assert_true(!strncmp(cb_url, f->srv, strlen(f->srv)));
	f->bearer = NULL; /* eBay's redirect carries no login */
	r = srv_call(f, "GET", cb_url + strlen(f->srv), cookie);
	f->bearer = saved;
	return r;
}

static void expect_refused(struct testutil_http r, const char *code, const char *part)
{
	char *want = xasprintf("data-code=\"%s\"", code);

	if (r.status != 400 || !strstr(r.body, want) || !strstr(r.body, part))
		fail_msg("want 400 %s with '%s', got %ld: %s", code, part, r.status, r.body);
	assert_non_null(strstr(r.body, "Nothing was stored"));
	free(want);
	testutil_http_release(&r);
}

/* The sealed refresh token column of user as stored (malloc'd, may be NULL). */
static char *sealed_refresh(const char *db, const char *user)
{
	struct store *s;
	struct user_row u;
	struct buf why = BUF_INIT;
	char *v;

	assert_int_equal(store_open(db, &s, &why), ERR_OK);
	assert_int_equal(store_user_get(s, user, &u), ERR_OK);
	v = u.ebay_refresh_token ? xstrdup(u.ebay_refresh_token) : NULL;
	user_row_release(&u);
	store_close(s);
	buf_release(&why);
	return v;
}

static void assert_same(const char *a, const char *b)
{
	if ((a == NULL) != (b == NULL) || (a && strcmp(a, b)))
		fail_msg("the stored refresh token changed");
}

/* Starts a run, reads its event stream to the end (recording it), and
 * returns the run as the API shows it. */
static json_t *run(struct flow *f, const char *kind)
{
	char *path = xasprintf("/ebay/sync/%s", kind), *url;
	struct testutil_http r = srv_call(f, "POST", path, NULL);
	json_t *j = json_loadb(r.body, r.len, 0, NULL);
	struct sse_client c;
	long status;
	char *auth;

	if (r.status != 202)
		fail_msg("start %s: %ld %s", kind, r.status, r.body);
	f->run_ids[f->n_runs] = xstrdup(json_string_value(json_object_get(j, "run_id")));
	json_decref(j);
	testutil_http_release(&r);
	url = xasprintf("%s/ebay/sync/events/%s", f->srv, f->run_ids[f->n_runs]);
	sse_client_init(&c, url, f->bearer, -1);
	assert_int_equal(sse_client_run(&c, 120), 0);
	for (size_t i = 0; i < c.n; i++)
		see("event", c.events[i].data);
	sse_client_release(&c);
	free(url);
	free(path);
	path = xasprintf("%s/ebay/sync/runs/%s", f->srv, f->run_ids[f->n_runs++]);
	auth = xasprintf("Authorization: Bearer %s", f->bearer);
	{
		const char *hdrs[] = {auth, NULL};
		j = http_json("GET", path, NULL, hdrs, &status);
	}
	assert_int_equal(status, 200);
	{
		char *text = json_dumps(j, 0);
		see("run", text);
		free(text);
	}
	free(auth);
	free(path);
	return j;
}

static json_t *oauth_status(struct flow *f)
{
	struct testutil_http r = srv_call(f, "GET", "/ebay/oauth/status", NULL);
	json_t *j = json_loadb(r.body, r.len, 0, NULL);

	assert_int_equal(r.status, 200);
	testutil_http_release(&r);
	return j;
}

/* The consent, start to finish, for the logged-in user. */
static void link_account(struct flow *f)
{
	char *consent_url, *cookie, *cb;
	struct testutil_http r;

	flow_start(f, &consent_url, &cookie);
	cb = consent(f, consent_url, "agree");
	r = callback(f, cb, cookie);
	if (r.status != 302)
		fail_msg("callback: %ld %s", r.status, r.body);
	{
		char *loc = header(r.headers, "Location");
		assert_string_equal(loc, "/?ebay=linked");
		free(loc);
	}
	testutil_http_release(&r);
	free(consent_url);
	free(cookie);
	free(cb);
}

static void flow_setup(struct flow *f, char *dir)
{
	int port = free_port();
	char *srv_url = xasprintf("http://127.0.0.1:%d", port);
	char *listen = xasprintf("127.0.0.1:%d", port);
	char *ru = xasprintf("%s/ebay/oauth/callback", srv_url);
	char *db = xasprintf("%s/db.sqlite", dir);
	char *sim_argv[] = {TESTUTIL_SIM_BIN,
			    "--listen",
			    "127.0.0.1:0",
			    "--seed",
			    "5",
			    "--skus",
			    "300",
			    "--token-ttl",
			    "3",
			    "--latency-ms",
			    "2",
			    "--redirect-uri",
			    ru,
			    "--client-id",
			    CLIENT_ID,
			    "--client-secret",
			    CLIENT_SEC,
			    NULL};
	char *srv_argv[] = {TESTUTIL_APP_BIN, "serve", "--listen",    listen,
			    "--db",	      db,      "--env",	      "simulator",
			    "--api-base",     NULL,    "--demo-user", "alice:" PASSWORD,
			    "--max-rps",      "5000",  "--quiet",     NULL};
	char *login = "{\"username\":\"alice\",\"password\":\"" PASSWORD "\"}";
	const char *hdrs[] = {"Content-Type: application/json", NULL};
	char *url;
	long status;
	json_t *j;

	memset(f, 0, sizeof(*f));
	assert_int_equal(spawn(&f->sim_proc, sim_argv, NULL), 0);
	f->sim = f->sim_proc.base_url;
	srv_argv[9] = (char *)f->sim;
	f->env[0] = "EBAYSYNC_JWT_SECRET=" JWT_SECRET;
	f->env[1] = "EBAYSYNC_SECRET_KEY=" SEAL_KEY;
	f->env[2] = "EBAY_CLIENT_ID=" CLIENT_ID;
	f->env[3] = "EBAY_CLIENT_SECRET=" CLIENT_SEC;
	f->env[4] = xasprintf("EBAY_RU_NAME=%s", ru);
	f->env[5] = xasprintf("EBAY_API_BASE=%s", f->sim);
	f->env[6] = "EBAY_ENV=simulator";
	assert_int_equal(spawn(&f->srv_proc, srv_argv, f->env), 0);
	assert_int_equal(f->srv_proc.port, port);
	f->srv = srv_url;
	f->ru = ru;
	f->db = db;
	url = xasprintf("%s/auth/login", f->srv);
	j = http_json("POST", url, login, hdrs, &status);
	assert_int_equal(status, 200);
	f->bearer = xstrdup(json_string_value(json_object_get(j, "token")));
	json_decref(j);
	free(url);
	free(listen);
}

static void flow_teardown(struct flow *f)
{
	assert_int_equal(stop(&f->srv_proc), 0);
	stop(&f->sim_proc);
	free(f->bearer);
	free((char *)f->srv);
	free((char *)f->ru);
	free((char *)f->db);
	free(f->env[4]);
	free(f->env[5]);
	for (size_t i = 0; i < f->n_runs; i++)
		free(f->run_ids[i]);
}

static void test_consent_flow(void **state)
{
	char *dir = testutil_tmpdir(), *consent_url, *cookie, *cb, *cookie2, *consent2, *tampered;
	char *stored, *refresh = NULL, *access = NULL, *code, *replay, *e_code, *body, *text;
	char *log_text, *dump;
	struct testutil_http r;
	static struct flow f;
	long long want_offers, want_skus, offers, exp_ms;
	size_t failures;
	json_t *j;

	(void)state;
	flow_setup(&f, dir);
	j = oauth_status(&f);
	assert_true(json_is_true(json_object_get(j, "configured")));
	assert_true(json_is_false(json_object_get(j, "linked")));
	json_decref(j);
	r = srv_call(&f, "POST", "/ebay/sync/offers", NULL);
	assert_int_equal(r.status, 400);
	assert_non_null(strstr(r.body, "ebay_not_linked"));
	testutil_http_release(&r);

	/* A consent whose callback is tampered with, comes without the
	 * browser's cookie, or with another consent's cookie: refused. */
	flow_start(&f, &consent_url, &cookie);
	cb = consent(&f, consent_url, "agree");
	tampered = xstrdup(cb);
	{
		char *s = strstr(tampered, "state=") + 6, *dot = strchr(s, '.');
		dot[1] = dot[1] == 'A' ? 'B' : 'A';
	}
	expect_refused(callback(&f, tampered, cookie), "state_mismatch",
		       "signature does not match");
	expect_refused(callback(&f, cb, NULL), "state_mismatch", "not started from this browser");
	flow_start(&f, &consent2, &cookie2);
	expect_refused(callback(&f, cb, cookie2), "state_mismatch",
		       "not started from this browser");
	assert_null(sealed_refresh(f.db, "alice"));

	/* The server's client secret is not the one eBay knows. */
	sim_post(f.sim, "/sim/config", "{\"client_secret\":\"rotated-secret\"}", "application/json",
		 200);
	expect_refused(callback(&f, cb, cookie), "client_refused", "invalid_client");
	sim_post(f.sim, "/sim/config", "{\"client_secret\":\"" CLIENT_SEC "\"}", "application/json",
		 200);
	assert_null(sealed_refresh(f.db, "alice"));
	/* That consent's state is spent now, whatever eBay said. */
	expect_refused(callback(&f, cb, cookie), "state_used", "used already");

	/* A declined consent. */
	free(cb);
	cb = consent(&f, consent2, "decline");
	expect_refused(callback(&f, cb, cookie2), "consent_declined", "access_denied");
	assert_null(sealed_refresh(f.db, "alice"));
	free(cb);
	free(cookie);
	free(cookie2);
	free(consent_url);
	free(consent2);
	free(tampered);

	/* The real thing. */
	flow_start(&f, &consent_url, &cookie);
	cb = consent(&f, consent_url, "agree");
	r = callback(&f, cb, cookie);
	assert_int_equal(r.status, 302);
	testutil_http_release(&r);
	j = oauth_status(&f);
	assert_true(json_is_true(json_object_get(j, "linked")));
	assert_non_null(json_string_value(json_object_get(j, "refresh_token_expires_at")));
	json_decref(j);
	stored = sealed_refresh(f.db, "alice");
	assert_non_null(stored);

	/* Replays: the same callback, and its code under a fresh state. */
	expect_refused(callback(&f, cb, cookie), "state_used", "used already");
	code = query_param(cb, "code");
	free(consent_url);
	free(cookie);
	flow_start(&f, &consent_url, &cookie);
	{
		char *st = query_param(consent_url, "state"), *e_st = curl_easy_escape(NULL, st, 0);
		e_code = curl_easy_escape(NULL, code, 0);
		replay = xasprintf("%s?state=%s&code=%s", f.ru, e_st, e_code);
		curl_free(e_st);
		curl_free(e_code);
		free(st);
	}
	expect_refused(callback(&f, replay, cookie), "code_refused", "invalid_grant");
	text = sealed_refresh(f.db, "alice");
	assert_same(stored, text);
	free(text);

	/* A sync with the linked account stores everything. */
	j = run(&f, "offers");
	assert_string_equal(json_string_value(json_object_get(j, "status")), "done");
	json_decref(j);
	sim_offers(f.sim, &want_offers, &want_skus);
	db_counts(f.db, "alice", &offers, &failures);
	assert_int_equal(offers, want_offers);
	assert_int_equal(failures, 0);

	/* Revoked at eBay: once the access token in hand expires, every
	 * kind of run ends asking for the account to be linked again. */
	db_tokens(f.db, "alice", &refresh, &access, &exp_ms);
	assert_non_null(refresh);
	e_code = curl_easy_escape(NULL, refresh, 0);
	body = xasprintf("token=%s", e_code);
	curl_free(e_code);
	sim_post(f.sim, "/sim/revoke", body, "application/x-www-form-urlencoded", 200);
	free(body);
	while (timeutil_wall_ms() < exp_ms + 300)
		timeutil_sleep_ms(100);
	j = run(&f, "offers");
	assert_string_equal(json_string_value(json_object_get(j, "status")), "failed");
	text = (char *)json_string_value(json_object_get(j, "error"));
	if (!strstr(text, "eBay authorization for alice expired or was revoked: link the account "
			  "again") ||
	    !strstr(text, "invalid_grant"))
		fail_msg("offers run error: %s", text);
	print_message("after the revocation: %s\n", text);
	assert_string_equal(json_string_value(json_object_get(j, "error_code")), "ebay_relink");
	json_decref(j);
	j = run(&f, "inventory");
	assert_string_equal(json_string_value(json_object_get(j, "status")), "failed");
	assert_non_null(strstr(json_string_value(json_object_get(j, "error")),
			       "expired or was revoked: link the account again"));
	assert_string_equal(json_string_value(json_object_get(j, "error_code")), "ebay_relink");
	json_decref(j);

	/* Linking again is the cure. */
	link_account(&f);
	j = run(&f, "all");
	assert_string_equal(json_string_value(json_object_get(j, "status")), "done");
	json_decref(j);

	/* No token anywhere it could leak from. */
	{
		char *r2 = NULL, *a2 = NULL;
		db_tokens(f.db, "alice", &r2, &a2, NULL);
		log_text = read_file(f.srv_proc.log_path);
		see("server log", log_text);
		dump = sqlite_dump(f.db);
		see("sqlite3 .dump", dump);
		{
			const char *const mine[] = {refresh, access, r2, a2, code, NULL};
			assert_clean("the server's log, events, API answers or database",
				     buf_str(&seen), mine);
		}
		secret_free(r2);
		secret_free(a2);
	}
	buf_reset(&seen);
	flow_teardown(&f);
	testutil_rmrf(dir);
	free(log_text);
	free(dump);
	free(dir);
	free(stored);
	free(code);
	free(replay);
	free(consent_url);
	free(cookie);
	free(cb);
	secret_free(refresh);
	secret_free(access);
}

/* ---- ebaysync account link ----------------------------------------------- */

/* Runs `account link --user user`, answering its prompt with what
 * answer_fn makes of the consent URL it printed; returns the exit code. */
static int cli_link(struct flow *f, const char *user, int wrong_state, char **out)
{
	int in[2], outp[2], status = 0;
	char *argv[] = {TESTUTIL_APP_BIN, "account", "link",	    "--user",
			(char *)user,	  "--db",    (char *)f->db, NULL};
	struct buf b = BUF_INIT;
	char chunk[4096], *url, *answer, *end;
	ssize_t n;
	pid_t pid;

	if (pipe(in) || pipe(outp))
		abort();
	pid = fork();
	if (pid == 0) {
		dup2(in[0], 0);
		dup2(outp[1], 1);
		dup2(outp[1], 2);
		close(in[0]);
		close(in[1]);
		close(outp[0]);
		close(outp[1]);
		for (int i = 0; f->env[i]; i++)
			putenv(f->env[i]);
		execv(argv[0], argv);
		_exit(127);
	}
	close(in[0]);
	close(outp[1]);
	/* Read up to the prompt. */
	while (!strstr(b.data ? b.data : "", "(or the code in it):\n") &&
	       (n = read(outp[0], chunk, sizeof(chunk))) > 0)
		buf_add(&b, chunk, (size_t)n);
	url = strstr(b.data, "  http");
	assert_non_null(url);
	url += 2;
	end = strchr(url, '\n');
	url = xstrndup(url, (size_t)(end - url));
	answer = consent(f, url, "agree");
	if (wrong_state) {
		char *code = query_param(answer, "code"), *e = curl_easy_escape(NULL, code, 0);
		free(answer);
		answer = xasprintf("%s?state=not-the-state&code=%s", f->ru, e);
		curl_free(e);
		free(code);
	}
	if (write(in[1], answer, strlen(answer)) < 0 || write(in[1], "\n", 1) < 0)
		abort();
	close(in[1]);
	while ((n = read(outp[0], chunk, sizeof(chunk))) > 0)
		buf_add(&b, chunk, (size_t)n);
	close(outp[0]);
	waitpid(pid, &status, 0);
	free(url);
	free(answer);
	*out = buf_detach(&b, NULL);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static void test_cli_link(void **state)
{
	char *dir = testutil_tmpdir(), *out = NULL, *pw = xasprintf("%s/pw", dir);
	char *add_bob[] = {"user", "add", "bob", "--password-file", pw, "--db", NULL, NULL};
	char *add_carol[] = {"user", "add", "carol", "--password-file", pw, "--db", NULL, NULL};
	char *status[] = {"account", "status", "--json", "--db", NULL, NULL};
	static struct flow f;
	FILE *fp;

	(void)state;
	flow_setup(&f, dir);
	add_bob[6] = add_carol[6] = status[4] = (char *)f.db;
	fp = fopen(pw, "w");
	fputs(PASSWORD "\n", fp);
	fclose(fp);
	assert_int_equal(run_app(add_bob, f.env, NULL, &out), 0);
	free(out);
	assert_int_equal(run_app(add_carol, f.env, NULL, &out), 0);
	free(out);

	if (cli_link(&f, "bob", 0, &out) != 0)
		fail_msg("account link: %s", out);
	assert_non_null(strstr(out, "linked the eBay account of 'bob'"));
	see("account link", out);
	free(out);
	if (cli_link(&f, "carol", 1, &out) != 1)
		fail_msg("account link with a wrong state: %s", out);
	assert_non_null(strstr(out, "does not match this consent"));
	assert_non_null(strstr(out, "nothing was stored"));
	see("account link", out);
	free(out);
	assert_null(sealed_refresh(f.db, "carol"));

	assert_int_equal(run_app(status, f.env, NULL, &out), 0);
	see("account status", out);
	assert_non_null(strstr(out, "{\"user\":\"bob\",\"linked\":true,"));
	assert_non_null(strstr(out, "{\"user\":\"carol\",\"linked\":false,"));
	assert_non_null(strstr(out, "{\"user\":\"alice\",\"linked\":false,"));
	free(out);
	{
		char *r = NULL, *a = NULL;
		db_tokens(f.db, "bob", &r, &a, NULL);
		assert_non_null(r);
		{
			const char *const mine[] = {r, a, NULL};
			assert_clean("the CLI's output", buf_str(&seen), mine);
		}
		secret_free(r);
		secret_free(a);
	}
	buf_reset(&seen);
	flow_teardown(&f);
	testutil_rmrf(dir);
	free(dir);
	free(pw);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_consent_flow, stop_all),
	    cmocka_unit_test_teardown(test_cli_link, stop_all),
	    cmocka_unit_test_teardown(test_long_sync_refreshes, stop_all),
	};
	int rc;

	signal(SIGPIPE, SIG_IGN);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	buf_release(&seen);
	return rc;
}
