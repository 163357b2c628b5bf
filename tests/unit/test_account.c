/*
 * Tests for account.c on every store backend, against the scripted token
 * endpoint of tests/helpers/token_server.c: linking stores only sealed
 * tokens (checked in the row and, on SQLite, in the database files' bytes);
 * the token source caches, respects the expiry margin, refreshes once per
 * refusal and once for many concurrent refusals (threads as concurrent
 * runs), shares minted tokens with another process through the store,
 * counts METRIC_TOKEN_REFRESHES, and ends with a reason and ERR_RELINK for
 * a refused (invalid_grant) or expired refresh token, ERR_AUTH for an
 * unlinked account, a wrong key or wrong client credentials.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "account.h"
#include "metrics.h"
#include "secret.h"
#include "store.h"
#include "storepool.h"
#include "testutil.h"
#include "timeutil.h"
#include "token_server.h"
#include "xalloc.h"

#define ID	"app-id-1"
#define SECRET	"cert-secret-XYZ"
#define RT	"v^1.1#i^1#r^1#RT-alice-0123456789"
#define KEYHEX	"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define THREADS 8

struct fx {
	const char *url, *backend;
	struct storepool *pool;
	struct store *s;
	struct token_server *ts;
	struct secret_key key;
	struct oauth_config cfg;
	struct accounts *a;
};

static void put_user(struct store *s, const char *name)
{
	struct user_row u;

	memset(&u, 0, sizeof(u));
	u.id = (char *)name;
	u.password_hash = (char *)"$y$not-a-real-hash";
	u.created_ms = 1000;
	assert_int_equal(store_user_put(s, &u), ERR_OK);
}

static void fx_open(struct fx *f, const char *url, const char *backend)
{
	struct buf why = BUF_INIT;

	memset(f, 0, sizeof(*f));
	f->url = url;
	f->backend = backend;
	assert_int_equal(storepool_new(url, 4, &f->pool, &why), ERR_OK);
	assert_int_equal(store_open(url, &f->s, &why), ERR_OK);
	put_user(f->s, "alice");
	put_user(f->s, "bob");
	f->ts = token_server_start(ID, SECRET);
	assert_non_null(f->ts);
	token_server_set_refresh_token(f->ts, RT);
	assert_int_equal(secret_key_parse(KEYHEX, &f->key, &why), ERR_OK);
	f->cfg.env_name = xstrdup("simulator");
	f->cfg.client_id = xstrdup(ID);
	f->cfg.client_secret = xstrdup(SECRET);
	f->cfg.ru_name = xstrdup("http://127.0.0.1:9/cb");
	f->cfg.auth_base = xstrdup(token_server_url(f->ts));
	f->cfg.api_base = xstrdup(token_server_url(f->ts));
	f->cfg.scope = xstrdup(OAUTH_SCOPE_READONLY);
	f->cfg.max_attempts = 1;
	f->a = accounts_new(&f->cfg, f->pool, &f->key);
	buf_release(&why);
}

static void fx_close(struct fx *f)
{
	accounts_free(f->a);
	oauth_config_release(&f->cfg);
	token_server_stop(f->ts);
	store_close(f->s);
	storepool_free(f->pool);
}

/* Runs fn on a fresh database of every backend. */
static void each_backend(void (*fn)(struct fx *f))
{
	char *urls[2];
	const char *names[2];
	int n = testutil_backends(urls, names);

	for (int i = 0; i < n; i++) {
		struct fx f;

		fx_open(&f, urls[i], names[i]);
		fn(&f);
		fx_close(&f);
	}
	testutil_backends_release(urls, n);
}

static char *open_sealed(struct fx *f, const char *context, const char *sealed)
{
	struct buf why = BUF_INIT;
	char *plain = NULL;

	assert_non_null(sealed);
	if (secret_open(&f->key, context, sealed, &plain, &why))
		fail_msg("cannot open sealed value: %s", buf_str(&why));
	buf_release(&why);
	return plain;
}

/* Whether needle occurs in the bytes of file path (absent file: no). */
static int file_has(const char *path, const char *needle)
{
	FILE *fp = fopen(path, "rb");
	size_t n = strlen(needle), len = 0;
	char *data = NULL;
	int found = 0;

	if (!fp)
		return 0;
	data = malloc(64 << 20);
	len = fread(data, 1, 64 << 20, fp);
	fclose(fp);
	for (size_t i = 0; i + n <= len && !found; i++)
		found = !memcmp(data + i, needle, n);
	free(data);
	return found;
}

static char *token(struct account_source *src, int refresh)
{
	struct buf why = BUF_INIT;
	char *t = NULL;

	if (account_token(src, refresh, &t, &why))
		fail_msg("account_token: %s", buf_str(&why));
	buf_release(&why);
	return t;
}

static void expect_token(struct account_source *src, int refresh, const char *want)
{
	char *t = token(src, refresh);

	assert_string_equal(t, want);
	free(t);
}

/* ---- linking ------------------------------------------------------------- */

static void t_link_and_status(struct fx *f)
{
	struct oauth_token tok = {.access_token = (char *)"v^1.1#AT-link-987",
				  .expires_in = 7200,
				  .refresh_token = (char *)RT,
				  .refresh_expires_in = 1000};
	struct buf why = BUF_INIT;
	struct account_status st, *list;
	struct user_row u;
	struct account_source *src;
	size_t n;
	long long now = timeutil_wall_ms();
	char *plain, *path;
	json_t *j;

	assert_int_equal(account_link(f->a, f->s, "nobody", &tok, &why), ERR_NOTFOUND);
	assert_non_null(strstr(buf_str(&why), "no user 'nobody'"));
	assert_int_equal(store_user_get(f->s, "nobody", &u), ERR_NOTFOUND);

	assert_int_equal(account_link(f->a, f->s, "alice", &tok, &why), ERR_OK);
	assert_int_equal(store_user_get(f->s, "alice", &u), ERR_OK);
	assert_null(strstr(u.ebay_refresh_token, "RT-alice"));
	assert_null(strstr(u.ebay_token, "AT-link"));
	plain = open_sealed(f, "ebay_refresh_token:alice", u.ebay_refresh_token);
	assert_string_equal(plain, RT);
	secret_free(plain);
	plain = open_sealed(f, "ebay_token:alice", u.ebay_token);
	assert_string_equal(plain, "v^1.1#AT-link-987");
	secret_free(plain);
	assert_in_range(u.refresh_expires_ms, now + 1000000 - 5000, now + 1000000 + 5000);
	assert_in_range(u.ebay_token_expires_ms, now + 7200000 - 5000, now + 7200000 + 5000);
	user_row_release(&u);

	/* The cache is primed: a run uses the linked token without a call. */
	src = account_source_new(f->a, "alice");
	expect_token(src, 0, "v^1.1#AT-link-987");
	assert_int_equal(token_server_hits(f->ts), 0);

	assert_int_equal(account_status_get(f->s, "alice", &st, &why), ERR_OK);
	assert_true(st.linked);
	j = account_status_json(&st);
	assert_true(json_is_true(json_object_get(j, "linked")));
	assert_non_null(json_string_value(json_object_get(j, "refresh_token_expires_at")));
	assert_non_null(json_string_value(json_object_get(j, "access_token_expires_at")));
	json_decref(j);
	account_status_release(&st);
	assert_int_equal(account_status_list(f->s, &list, &n, &why), ERR_OK);
	assert_int_equal(n, 2);
	assert_string_equal(list[0].user, "alice");
	assert_true(list[0].linked);
	assert_string_equal(list[1].user, "bob");
	assert_false(list[1].linked);
	assert_int_equal(list[1].refresh_expires_ms, 0);
	account_status_release(&list[0]);
	account_status_release(&list[1]);
	free(list);

	/* Not a byte of either token in the database files. */
	if (!strcmp(f->backend, "sqlite")) {
		path = xasprintf("%s-wal", f->url);
		assert_false(file_has(f->url, "RT-alice") || file_has(path, "RT-alice"));
		assert_false(file_has(f->url, "AT-link") || file_has(path, "AT-link"));
		assert_true(file_has(f->url, "alice") || file_has(path, "alice"));
		free(path);
	}

	assert_int_equal(account_unlink(f->a, f->s, "alice", &why), ERR_OK);
	assert_int_equal(account_status_get(f->s, "alice", &st, &why), ERR_OK);
	assert_false(st.linked);
	assert_false(st.has_access_token);
	account_status_release(&st);
	buf_reset(&why);
	{
		char *t = NULL;
		assert_int_equal(account_token(src, 0, &t, &why), ERR_AUTH);
		assert_null(t);
		assert_non_null(strstr(buf_str(&why), "no eBay account is linked for 'alice'"));
	}
	account_source_free(src);
	buf_release(&why);
}

static void test_link_and_status(void **state)
{
	(void)state;
	each_backend(t_link_and_status);
}

static void t_set_refresh_token(struct fx *f)
{
	struct buf why = BUF_INIT;
	struct account_status st;
	long long now = timeutil_wall_ms();

	/* Verified first: a refused token stores nothing. */
	assert_int_equal(account_set_refresh_token(f->a, f->s, "bob", "RT-wrong", 0, 1, &why),
			 ERR_AUTH);
	assert_non_null(strstr(buf_str(&why), "nothing was stored"));
	assert_null(strstr(buf_str(&why), "RT-wrong"));
	assert_int_equal(account_status_get(f->s, "bob", &st, &why), ERR_OK);
	assert_false(st.linked);
	account_status_release(&st);
	assert_int_equal(account_set_refresh_token(f->a, f->s, "ghost", RT, 0, 1, &why),
			 ERR_NOTFOUND);
	assert_int_equal(token_server_hits(f->ts), 1); /* no call for a missing user */

	assert_int_equal(account_set_refresh_token(f->a, f->s, "bob", RT, 3600, 1, &why), ERR_OK);
	assert_int_equal(account_status_get(f->s, "bob", &st, &why), ERR_OK);
	assert_true(st.linked);
	assert_in_range(st.refresh_expires_ms, now + 3600000 - 5000, now + 3600000 + 5000);
	assert_in_range(st.access_expires_ms, now + 7200000 - 5000, now + 7200000 + 5000);
	account_status_release(&st);
	buf_release(&why);
}

static void test_set_refresh_token(void **state)
{
	(void)state;
	each_backend(t_set_refresh_token);
}

/* ---- the token source ---------------------------------------------------- */

static void link_unverified(struct fx *f, const char *user)
{
	struct buf why = BUF_INIT;

	assert_int_equal(account_set_refresh_token(f->a, f->s, user, RT, 0, 0, &why), ERR_OK);
	buf_release(&why);
}

static void t_cache_and_refresh(struct fx *f)
{
	long long m0 = metrics_get(METRIC_TOKEN_REFRESHES);
	struct account_source *run1, *run2;
	struct user_row u;
	char *plain;

	link_unverified(f, "alice");
	run1 = account_source_new(f->a, "alice");
	run2 = account_source_new(f->a, "alice");
	expect_token(run1, 0, "AT-1");
	expect_token(run1, 0, "AT-1");
	assert_int_equal(token_server_hits(f->ts), 1);
	/* eBay refused AT-1: one new token. */
	expect_token(run1, 1, "AT-2");
	assert_int_equal(token_server_hits(f->ts), 2);
	/* Another run of the same user: the cached one. */
	expect_token(run2, 0, "AT-2");
	expect_token(run1, 1, "AT-3");
	/* run2 was refused AT-2, older than the cache: AT-3, no call. */
	expect_token(run2, 1, "AT-3");
	assert_int_equal(token_server_hits(f->ts), 3);
	assert_int_equal(metrics_get(METRIC_TOKEN_REFRESHES) - m0, 3);

	/* The newest token is in the store, sealed, with its expiry. */
	assert_int_equal(store_user_get(f->s, "alice", &u), ERR_OK);
	plain = open_sealed(f, "ebay_token:alice", u.ebay_token);
	assert_string_equal(plain, "AT-3");
	secret_free(plain);
	assert_true(u.ebay_token_expires_ms > timeutil_wall_ms() + 7100000);
	user_row_release(&u);

	/* Another refresh token (maybe another eBay account): the tokens
	 * minted from the old one go, here and in the store. */
	link_unverified(f, "alice");
	assert_int_equal(store_user_get(f->s, "alice", &u), ERR_OK);
	assert_null(u.ebay_token);
	assert_int_equal(u.ebay_token_expires_ms, 0);
	user_row_release(&u);
	expect_token(run2, 0, "AT-4");
	assert_int_equal(token_server_hits(f->ts), 4);
	account_source_free(run1);
	account_source_free(run2);
}

static void test_cache_and_refresh(void **state)
{
	(void)state;
	each_backend(t_cache_and_refresh);
}

struct racer {
	struct account_source *src;
	pthread_barrier_t *go;
	char *got;
	enum error err;
};

static void *race(void *arg)
{
	struct racer *r = arg;
	struct buf why = BUF_INIT;

	pthread_barrier_wait(r->go);
	r->err = account_token(r->src, 1, &r->got, &why);
	buf_release(&why);
	return NULL;
}

static void t_one_refresh_for_many(struct fx *f)
{
	struct racer r[THREADS];
	pthread_t t[THREADS];
	pthread_barrier_t go;
	int i;

	link_unverified(f, "alice");
	pthread_barrier_init(&go, NULL, THREADS);
	for (i = 0; i < THREADS; i++) {
		r[i] = (struct racer){.src = account_source_new(f->a, "alice"), .go = &go};
		expect_token(r[i].src, 0, "AT-1");
	}
	token_server_set_delay(f->ts, 200);
	for (i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, race, &r[i]);
	for (i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(r[i].err, ERR_OK);
		assert_string_equal(r[i].got, "AT-2");
		free(r[i].got);
		account_source_free(r[i].src);
	}
	/* Eight refusals of AT-1 at once: one refresh, one in flight. */
	assert_int_equal(token_server_hits(f->ts), 2);
	assert_int_equal(token_server_max_inflight(f->ts), 1);
	pthread_barrier_destroy(&go);
}

static void test_one_refresh_for_many(void **state)
{
	(void)state;
	each_backend(t_one_refresh_for_many);
}

static void t_margin(struct fx *f)
{
	struct account_source *src;

	link_unverified(f, "alice");
	src = account_source_new(f->a, "alice");
	/* 200 s tokens: kept while a fifth of that (40 s) is left. */
	token_server_set_expires_in(f->ts, 200);
	expect_token(src, 0, "AT-1");
	expect_token(src, 0, "AT-1");
	/* 2 s tokens: replaced once less than 400 ms is left. */
	token_server_set_expires_in(f->ts, 2);
	expect_token(src, 1, "AT-2");
	timeutil_sleep_ms(1000);
	expect_token(src, 0, "AT-2");
	timeutil_sleep_ms(700);
	expect_token(src, 0, "AT-3");
	assert_int_equal(token_server_hits(f->ts), 3);
	account_source_free(src);
}

static void test_margin(void **state)
{
	(void)state;
	each_backend(t_margin);
}

/* Two processes on one database: the second uses what the first minted. */
static void t_shared_between_processes(struct fx *f)
{
	struct storepool *pool2;
	struct accounts *a2;
	struct account_source *p1, *p2;
	struct buf why = BUF_INIT;

	assert_int_equal(storepool_new(f->url, 2, &pool2, &why), ERR_OK);
	a2 = accounts_new(&f->cfg, pool2, &f->key);
	link_unverified(f, "alice");
	p1 = account_source_new(f->a, "alice");
	p2 = account_source_new(a2, "alice");
	expect_token(p1, 0, "AT-1");
	expect_token(p2, 0, "AT-1"); /* adopted from the store */
	assert_int_equal(token_server_hits(f->ts), 1);
	expect_token(p2, 1, "AT-2"); /* refused AT-1: not adopted again */
	assert_int_equal(token_server_hits(f->ts), 2);
	expect_token(p1, 1, "AT-2"); /* refused AT-1: AT-2 is in the store */
	assert_int_equal(token_server_hits(f->ts), 2);
	account_source_free(p1);
	account_source_free(p2);
	accounts_free(a2);
	storepool_free(pool2);
	buf_release(&why);
}

static void test_shared_between_processes(void **state)
{
	(void)state;
	each_backend(t_shared_between_processes);
}

/* A refusal: want is ERR_RELINK when only linking the account again helps,
 * ERR_AUTH otherwise; part is in the reason. */
static void expect_refusal(struct account_source *src, int refresh, enum error want,
			   const char *part)
{
	struct buf why = BUF_INIT;
	char *t = NULL;

	assert_int_equal(account_token(src, refresh, &t, &why), want);
	assert_null(t);
	if (!strstr(buf_str(&why), part))
		fail_msg("reason '%s' lacks '%s'", buf_str(&why), part);
	assert_null(strstr(buf_str(&why), "RT-alice"));
	assert_null(strstr(buf_str(&why), SECRET));
	buf_release(&why);
}

static void t_refusals(struct fx *f)
{
	long long m0 = metrics_get(METRIC_TOKEN_REFRESHES);
	struct account_source *src = account_source_new(f->a, "alice");
	struct accounts *other;
	struct secret_key key2;
	struct user_row u;
	struct buf why = BUF_INIT;

	expect_refusal(src, 0, ERR_AUTH, "no eBay account is linked for 'alice'");
	assert_int_equal(token_server_hits(f->ts), 0);

	/* Revoked at eBay: invalid_grant, said once, not asked again at once. */
	link_unverified(f, "alice");
	token_server_set_refresh_token(f->ts, "RT-someone-else");
	expect_refusal(src, 0, ERR_RELINK,
		       "eBay authorization for alice expired or was revoked: link the account "
		       "again (eBay refused the refresh token: HTTP 400 invalid_grant");
	/* Remembered, with its code. */
	expect_refusal(src, 0, ERR_RELINK, "invalid_grant");
	assert_int_equal(token_server_hits(f->ts), 1);
	assert_int_equal(metrics_get(METRIC_TOKEN_REFRESHES) - m0, 0);
	/* Linked anew: asked again. */
	token_server_set_refresh_token(f->ts, RT);
	link_unverified(f, "alice");
	expect_token(src, 0, "AT-1");

	/* The refresh token's own expiry passed: no call at all. */
	assert_int_equal(store_user_get(f->s, "alice", &u), ERR_OK);
	u.refresh_expires_ms = timeutil_wall_ms() - 1000;
	u.ebay_token_expires_ms = 0;
	assert_int_equal(store_user_put(f->s, &u), ERR_OK);
	user_row_release(&u);
	expect_refusal(src, 1, ERR_RELINK, "the eBay refresh token of 'alice' expired at ");
	assert_int_equal(token_server_hits(f->ts), 2);

	/* Another secret key: the sealed token does not open. */
	link_unverified(f, "alice");
	assert_int_equal(
	    secret_key_parse("ff0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c"
			     "1d1e1f",
			     &key2, &why),
	    ERR_OK);
	other = accounts_new(&f->cfg, f->pool, &key2);
	account_source_free(src);
	src = account_source_new(other, "alice");
	expect_refusal(src, 0, ERR_AUTH, "does not open with this secret key");
	account_source_free(src);
	accounts_free(other);

	/* A wrong client secret, and a token endpoint that is down. */
	free(f->cfg.client_secret);
	f->cfg.client_secret = xstrdup("not-the-secret");
	other = accounts_new(&f->cfg, f->pool, &f->key);
	src = account_source_new(other, "alice");
	expect_refusal(src, 0, ERR_AUTH, "invalid_client");
	account_source_free(src);
	accounts_free(other);
	free(f->cfg.api_base);
	f->cfg.api_base = xstrdup("http://127.0.0.1:1");
	other = accounts_new(&f->cfg, f->pool, &f->key);
	src = account_source_new(other, "alice");
	expect_refusal(src, 0, ERR_AUTH, "cannot reach eBay's token endpoint");
	account_source_free(src);
	accounts_free(other);
	buf_release(&why);
}

static void test_refusals(void **state)
{
	(void)state;
	each_backend(t_refusals);
}

static void test_nonces(void **state)
{
	struct oauth_config cfg;
	struct secret_key key;
	struct accounts *a;
	long long now = timeutil_wall_ms();

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	memset(&key, 7, sizeof(key));
	a = accounts_new(&cfg, NULL, &key);
	assert_int_equal(accounts_claim_nonce(a, "n1", now + 60000), 1);
	assert_int_equal(accounts_claim_nonce(a, "n1", now + 60000), 0);
	assert_int_equal(accounts_claim_nonce(a, "n2", now + 60000), 1);
	/* An expired claim is forgotten: its state is refused by its expiry. */
	assert_int_equal(accounts_claim_nonce(a, "n3", now - 1), 1);
	assert_int_equal(accounts_claim_nonce(a, "n3", now + 60000), 1);
	assert_int_equal(accounts_claim_nonce(a, "n2", now + 60000), 0);
	accounts_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_link_and_status),
	    cmocka_unit_test(test_set_refresh_token),
	    cmocka_unit_test(test_cache_and_refresh),
	    cmocka_unit_test(test_one_refresh_for_many),
	    cmocka_unit_test(test_margin),
	    cmocka_unit_test(test_shared_between_processes),
	    cmocka_unit_test(test_refusals),
	    cmocka_unit_test(test_nonces),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
