/*
 * API keys end to end, on each backend: keys made with `ebaysync apikey`
 * and with POST /auth/keys; a read key reads but cannot start a sync (403,
 * and no run is made); a sync key can; a key revoked through the API or the
 * command line is refused at the next request; an expired key is refused;
 * an unknown key is refused; keys cannot manage keys; the list never holds
 * a key or its hash and shows the last use; and no key is ever in the
 * server's log.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>

#include "apikey.h"
#include "store.h"
#include "testutil.h"
#include "timeutil.h"
#include "xalloc.h"

#define SIM_TOKEN  "sim-token-keys"
#define JWT_SECRET "apikey-tests-jwt-secret-0123456789abcdef"
#define SEAL_KEY   "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
#define ALICE_PW   "alice-password"

static char *const server_env[] = {"EBAYSYNC_JWT_SECRET=" JWT_SECRET,
				   "EBAYSYNC_SECRET_KEY=" SEAL_KEY, NULL};

struct fx {
	struct testutil_proc sim, srv;
	const char *backend;
	char *db;
	char *jwt;
	char *keys[8]; /* every key made, to look for in the log */
	size_t n_keys;
};

static json_t *call(struct fx *f, const char *method, const char *path, const char *bearer,
		    const char *body, long *status)
{
	char *url = xasprintf("%s%s", f->srv.base_url, path);
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

static const char *err_msg(json_t *j)
{
	const char *m = json_string_value(json_object_get(json_object_get(j, "error"), "message"));
	return m ? m : "";
}

/* Asserts status want and, for an error, that its message holds part. */
static void expect(struct fx *f, const char *method, const char *path, const char *bearer,
		   long want, const char *part)
{
	long status;
	json_t *j = call(f, method, path, bearer, NULL, &status);

	if (status != want)
		fail_msg("[%s] %s %s: %ld, want %ld (%s)", f->backend, method, path, status, want,
			 err_msg(j));
	if (part && !strstr(err_msg(j), part))
		fail_msg("[%s] %s %s: message '%s' lacks '%s'", f->backend, method, path,
			 err_msg(j), part);
	json_decref(j);
}

/* `ebaysync apikey ARGS... --db DB`: exit code, stdout in *out. */
static int cli(struct fx *f, char *a1, char *a2, char *a3, char *a4, char *a5, char *a6, char *a7,
	       char **out)
{
	char *argv[16] = {TESTUTIL_APP_BIN, "apikey"};
	char *args[] = {a1, a2, a3, a4, a5, a6, a7};
	int n = 2;
	size_t i;

	for (i = 0; i < 7 && args[i]; i++)
		argv[n++] = args[i];
	argv[n++] = "--db";
	argv[n++] = f->db;
	argv[n] = NULL;
	return testutil_run(argv, server_env, out);
}

static char *cli_key(struct fx *f, char *name, char *scope)
{
	char *out = NULL;

	assert_int_equal(
	    cli(f, "create", "--user", "alice", "--name", name, "--scope", scope, &out), 0);
	assert_non_null(out);
	out[strcspn(out, "\n")] = '\0';
	assert_true(apikey_is_key(out));
	assert_true(strlen(out) > 40);
	f->keys[f->n_keys++] = out;
	return out;
}

static void start(struct fx *f, const char *db)
{
	char *sim_argv[] = {TESTUTIL_SIM_BIN, "--listen", "127.0.0.1:0", "--seed",  "3",
			    "--skus",	      "40",	  "--token",	 SIM_TOKEN, NULL};
	char *srv_argv[] = {TESTUTIL_APP_BIN,	 "serve",	"--listen",
			    "127.0.0.1:0",	 "--db",	(char *)db,
			    "--api-base",	 NULL,		"--env",
			    "simulator",	 "--demo-user", "alice:" ALICE_PW,
			    "--demo-ebay-token", SIM_TOKEN,	NULL};
	char *body = xasprintf("{\"username\":\"alice\",\"password\":\"%s\"}", ALICE_PW);
	long status;
	json_t *j;

	assert_int_equal(testutil_spawn(&f->sim, sim_argv, NULL), 0);
	srv_argv[7] = f->sim.base_url;
	assert_int_equal(testutil_spawn(&f->srv, srv_argv, server_env), 0);
	j = call(f, "POST", "/auth/login", NULL, body, &status);
	assert_int_equal(status, 200);
	f->jwt = xstrdup(json_string_value(json_object_get(j, "token")));
	json_decref(j);
	free(body);
}

/* The log of the server holds none of the keys made. */
static void check_log(struct fx *f)
{
	FILE *fp = fopen(f->srv.log_path, "r");
	char *text = xcalloc(1, 1 << 20);
	size_t n, i;

	assert_non_null(fp);
	n = fread(text, 1, (1 << 20) - 1, fp);
	fclose(fp);
	text[n] = '\0';
	assert_true(n > 0); /* it printed "listening on" at least */
	for (i = 0; i < f->n_keys; i++)
		if (strstr(text, f->keys[i]) || strstr(text, f->keys[i] + 12))
			fail_msg("[%s] the server's log holds an API key", f->backend);
	free(text);
}

static void stop(struct fx *f)
{
	size_t i;

	assert_int_equal(testutil_stop(&f->srv, 0), 0);
	testutil_stop(&f->sim, 0);
	for (i = 0; i < f->n_keys; i++)
		free(f->keys[i]);
	free(f->jwt);
}

static long long runs_total(struct fx *f)
{
	long status;
	json_t *j = call(f, "GET", "/ebay/sync/runs", f->jwt, NULL, &status);
	long long n = json_integer_value(json_object_get(j, "total"));

	assert_int_equal(status, 200);
	json_decref(j);
	return n;
}

static void scopes(struct fx *f)
{
	char *read = cli_key(f, "reader", "read"), *sync = cli_key(f, "syncer", "sync");
	long status;
	json_t *j;

	expect(f, "GET", "/ebay/me", read, 200, NULL);
	expect(f, "GET", "/ebay/inventory", read, 200, NULL);
	expect(f, "GET", "/ebay/sync/runs", read, 200, NULL);
	expect(f, "POST", "/ebay/sync/inventory", read, 403, "scope 'read'");
	expect(f, "POST", "/ebay/sync/all", read, 403, "not POST /ebay/sync/all");
	assert_int_equal(runs_total(f), 0);
	j = call(f, "POST", "/ebay/sync/inventory", sync, NULL, &status);
	assert_int_equal(status, 202);
	json_decref(j);
	assert_int_equal(runs_total(f), 1);
	/* Keys do not manage keys, whatever their scope. */
	expect(f, "GET", "/auth/keys", read, 403, "cannot manage API keys");
	expect(f, "POST", "/auth/keys", sync, 403, "cannot manage API keys");
	expect(f, "GET", "/ebay/me", "esk_not-a-key-anyone-made", 401, "unknown API key");
}

/* Revoked through the API (the read key) and the command line (the sync
 * key): refused at the next request. */
static void revocation(struct fx *f)
{
	char *key, *path, *out = NULL, *id;
	long status;
	json_t *j, *list, *k;
	size_t i;
	int found = 0;

	j = call(f, "POST", "/auth/keys", f->jwt, "{\"name\":\"from the api\",\"scope\":\"sync\"}",
		 &status);
	assert_int_equal(status, 201);
	key = xstrdup(json_string_value(json_object_get(j, "key")));
	f->keys[f->n_keys++] = key;
	id = xstrdup(json_string_value(json_object_get(j, "id")));
	assert_string_equal(json_string_value(json_object_get(j, "scope")), "sync");
	json_decref(j);
	expect(f, "GET", "/ebay/me", key, 200, NULL);

	list = call(f, "GET", "/auth/keys", f->jwt, NULL, &status);
	assert_int_equal(status, 200);
	assert_int_equal(json_array_size(json_object_get(list, "keys")), 3);
	json_array_foreach(json_object_get(list, "keys"), i, k)
	{
		assert_null(json_object_get(k, "key"));
		assert_null(json_object_get(k, "key_hash"));
		if (!strcmp(json_string_value(json_object_get(k, "id")), id)) {
			found = 1;
			assert_true(json_is_string(json_object_get(k, "last_used_at")));
			assert_true(json_is_null(json_object_get(k, "revoked_at")));
		}
	}
	assert_true(found);
	json_decref(list);

	path = xasprintf("/auth/keys/%s", id);
	expect(f, "DELETE", path, f->jwt, 200, NULL);
	expect(f, "GET", "/ebay/me", key, 401, "was revoked at");
	expect(f, "DELETE", "/auth/keys/key_nope", f->jwt, 404, "no API key");
	free(path);
	free(id);

	/* The first key of the list is the newest: revoke the CLI's sync key. */
	assert_int_equal(cli(f, "list", "--user", "alice", NULL, NULL, NULL, NULL, &out), 0);
	assert_non_null(strstr(out, "syncer"));
	assert_non_null(strstr(out, "revoked"));
	{
		char *line = strstr(out, "syncer");
		char *start = line;
		char kid[64];

		while (start > out && start[-1] != '\n')
			start--;
		assert_int_equal(sscanf(start, "%63s", kid), 1);
		free(out);
		out = NULL;
		assert_int_equal(cli(f, "revoke", "--user", "alice", kid, NULL, NULL, NULL, &out),
				 0);
		expect(f, "POST", "/ebay/sync/offers", f->keys[1], 401, "was revoked at");
		expect(f, "GET", "/ebay/me", f->keys[1], 401, "'syncer'");
	}
	free(out);
}

/* A key past its expiry, written straight into the database. */
static void expiry(struct fx *f, const char *db)
{
	struct apikey_row row = {0};
	struct buf why = BUF_INIT;
	struct store *s = NULL;
	char *key = xstrdup("esk_expired-key-for-the-tests-0123456789abcdef");

	assert_int_equal(store_open(db, &s, &why), ERR_OK);
	row.id = "key_expired";
	row.user_id = "alice";
	row.name = "old script";
	row.scope = "sync";
	row.key_hash = apikey_hash(key);
	row.prefix = "esk_expired-";
	row.created_ms = timeutil_wall_ms() - 3 * 86400000LL;
	row.expires_ms = timeutil_wall_ms() - 86400000LL;
	assert_int_equal(store_apikey_insert(s, &row), ERR_OK);
	f->keys[f->n_keys++] = key;
	expect(f, "GET", "/ebay/me", key, 401, "expired at");
	free(row.key_hash);
	store_close(s);
	buf_release(&why);

	/* Validation of the command line's arguments. */
	assert_int_equal(
	    cli(f, "create", "--user", "alice", "--name", "x", "--scope", "admin", NULL), 1);
	assert_int_equal(cli(f, "create", "--user", "nobody", "--name", "x", NULL, NULL, NULL), 1);
}

static void test_api_keys(void **state)
{
	char *urls[2];
	const char *names[2];
	int n = testutil_backends(urls, names), i;

	for (i = 0; i < n; i++) {
		struct fx f;

		memset(&f, 0, sizeof(f));
		f.backend = names[i];
		f.db = urls[i];
		start(&f, urls[i]);
		scopes(&f);
		revocation(&f);
		expiry(&f, urls[i]);
		check_log(&f);
		stop(&f);
	}
	testutil_backends_release(urls, n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_api_keys),
	};

	curl_global_init(CURL_GLOBAL_DEFAULT);
	return cmocka_run_group_tests_name("apikeys", tests, NULL, NULL);
}
