/*
 * ebaysync-sim's OAuth over HTTP: the refresh_token grant with HTTP Basic
 * client credentials, access tokens that really expire (--token-ttl), the
 * consent page and the authorization_code grant with single-use codes,
 * invalid_client and invalid_grant, and revocation through /sim/revoke (one
 * token, or every refresh token with all).
 */
#include <curl/curl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "testutil.h"
#include "timeutil.h"
#include "xalloc.h"

/* base64("app-id:app s3cret") */
#define BASIC	 "Authorization: Basic YXBwLWlkOmFwcCBzM2NyZXQ="
#define REDIRECT "http://127.0.0.1:9/callback"

static struct testutil_proc sim;

static int setup(void **state)
{
	char *argv[] = {TESTUTIL_SIM_BIN,
			"--skus",
			"50",
			"--client-id",
			"app-id",
			"--client-secret",
			"app s3cret",
			"--redirect-uri",
			REDIRECT,
			"--token-ttl",
			"2",
			"--refresh-token",
			"v^1.1#i^1#r^1#t^SEED",
			NULL};

	return testutil_spawn(&sim, argv, NULL);
}

static int teardown(void **state)
{
	if (sim.pid > 0)
		testutil_stop(&sim, SIGTERM);
	return 0;
}

/* Last: SIGTERM ends the simulator cleanly (exit 0, and no leak under ASan). */
static void test_clean_exit(void **state)
{
	int status = testutil_stop(&sim, SIGTERM);

	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* POSTs a form to path; returns the status and the parsed body in *json. */
static long post_form(const char *path, const char *auth_header, const char *form, json_t **json,
		      char **headers)
{
	char *url = xasprintf("%s%s", sim.base_url, path);
	const char *hdrs[] = {"Content-Type: application/x-www-form-urlencoded", auth_header, NULL};
	struct testutil_http r;
	long status;

	assert_int_equal(testutil_http("POST", url, form, hdrs, &r), 0);
	status = r.status;
	if (json)
		*json = json_loadb(r.body, r.len, 0, NULL);
	if (headers)
		*headers = xstrdup(r.headers);
	testutil_http_release(&r);
	free(url);
	return status;
}

static char *refresh(const char *refresh_token, long want_status, const char *want_error)
{
	CURL *h = curl_easy_init();
	char *enc = curl_easy_escape(h, refresh_token, 0);
	char *form =
	    xasprintf("grant_type=refresh_token&refresh_token=%s&scope=https%%3A%%2F%%2Fapi."
		      "ebay.com%%2Foauth%%2Fapi_scope%%2Fsell.inventory.readonly",
		      enc);
	json_t *j = NULL;
	char *token = NULL;
	long status = post_form("/identity/v1/oauth2/token", BASIC, form, &j, NULL);

	if (status != want_status)
		fail_msg("refresh: status %ld, want %ld", status, want_status);
	if (want_error)
		assert_string_equal(json_string_value(json_object_get(j, "error")), want_error);
	else
		token = xstrdup(json_string_value(json_object_get(j, "access_token")));
	json_decref(j);
	free(form);
	curl_free(enc);
	curl_easy_cleanup(h);
	return token;
}

static long api_status(const char *token)
{
	char *url = xasprintf("%s/sell/inventory/v1/inventory_item?limit=1", sim.base_url);
	char *auth = xasprintf("Authorization: Bearer %s", token);
	const char *hdrs[] = {auth, NULL};
	struct testutil_http r;
	long status;

	assert_int_equal(testutil_http("GET", url, NULL, hdrs, &r), 0);
	status = r.status;
	if (status == 401)
		assert_non_null(strstr(r.body, "\"errorId\":1001"));
	testutil_http_release(&r);
	free(auth);
	free(url);
	return status;
}

static void test_refresh_and_expiry(void **state)
{
	char *token = refresh("v^1.1#i^1#r^1#t^SEED", 200, NULL), *again;
	json_t *stats;

	assert_non_null(token);
	assert_int_equal(api_status(token), 200);
	/* --token-ttl 2: gone after two seconds. */
	timeutil_sleep_ms(2300);
	assert_int_equal(api_status(token), 401);
	again = refresh("v^1.1#i^1#r^1#t^SEED", 200, NULL);
	assert_string_not_equal(again, token);
	assert_int_equal(api_status(again), 200);
	{
		char *url = xasprintf("%s/sim/stats", sim.base_url);
		stats = testutil_get_json(url, NULL);
		assert_true(json_integer_value(json_object_get(stats, "tokens_issued")) >= 2);
		assert_int_equal(
		    json_integer_value(json_object_get(
			json_object_get(json_object_get(stats, "calls"), "token"), "200")),
		    2);
		json_decref(stats);
		free(url);
	}
	free(token);
	free(again);
	refresh("v^1.1#i^1#r^1#t^OTHER", 400, "invalid_grant");
}

static void test_client_errors(void **state)
{
	json_t *j = NULL;

	assert_int_equal(post_form("/identity/v1/oauth2/token",
				   "Authorization: Basic YXBwLWlkOndyb25n",
				   "grant_type=refresh_token&refresh_token=x", &j, NULL),
			 401);
	assert_string_equal(json_string_value(json_object_get(j, "error")), "invalid_client");
	json_decref(j);
	assert_int_equal(post_form("/identity/v1/oauth2/token", NULL,
				   "grant_type=refresh_token&refresh_token=x", &j, NULL),
			 401);
	json_decref(j);
	assert_int_equal(
	    post_form("/identity/v1/oauth2/token", BASIC, "grant_type=magic", &j, NULL), 400);
	assert_string_equal(json_string_value(json_object_get(j, "error")),
			    "unsupported_grant_type");
	json_decref(j);
	{
		char *url = xasprintf("%s/identity/v1/oauth2/token", sim.base_url);
		struct testutil_http r;
		assert_int_equal(testutil_http("GET", url, NULL, NULL, &r), 0);
		assert_int_equal(r.status, 405);
		testutil_http_release(&r);
		free(url);
	}
}

/* The value of a query parameter in a URL (malloc'd, still encoded). */
static char *param(const char *url, const char *name)
{
	char *key = xasprintf("%s=", name);
	const char *at = strstr(url, key), *end;
	char *v = NULL;

	if (at && (at[-1] == '?' || at[-1] == '&')) {
		at += strlen(key);
		end = strpbrk(at, "&\r\n");
		v = xstrndup(at, end ? (size_t)(end - at) : strlen(at));
	}
	free(key);
	return v;
}

static char *consent_code(const char *state_value)
{
	char *url =
	    xasprintf("%s/oauth2/authorize?client_id=app-id&redirect_uri=http%%3A%%2F%%2F127."
		      "0.0.1%%3A9%%2Fcallback&response_type=code&scope=https%%3A%%2F%%"
		      "2Fapi.ebay.com%%2Foauth%%2Fapi_scope%%2Fsell.inventory+https%%3A%%2F%%2Fapi."
		      "ebay.com%%2Foauth%%2Fapi_scope%%2Fsell.inventory.readonly&state=%s",
		      sim.base_url, state_value);
	char *form = xasprintf("client_id=app-id&redirect_uri=http%%3A%%2F%%2F127.0.0.1%%3A9%%"
			       "2Fcallback&scope=https%%3A%%2F%%2Fapi.ebay.com%%2Foauth%%2Fapi_"
			       "scope%%2Fsell.inventory+https%%3A%%2F%%2Fapi.ebay.com%%2Foauth%%"
			       "2Fapi_scope%%2Fsell.inventory.readonly&state=%s&decision=agree",
			       state_value);
	struct testutil_http r;
	char *headers = NULL, *location, *code, *st;

	/* The page a user would see, with its Agree button. */
	assert_int_equal(testutil_http("GET", url, NULL, NULL, &r), 0);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "id=\"agree\""));
	assert_non_null(strstr(r.headers, "text/html"));
	testutil_http_release(&r);
	/* Pressing Agree. */
	assert_int_equal(post_form("/oauth2/authorize", NULL, form, NULL, &headers), 302);
	location = strstr(headers, "Location: ");
	assert_non_null(location);
	location += strlen("Location: ");
	assert_int_equal(strncmp(location, REDIRECT "?", strlen(REDIRECT) + 1), 0);
	st = param(location, "state");
	assert_string_equal(st, state_value);
	code = param(location, "code");
	assert_non_null(code);
	free(st);
	free(headers);
	free(form);
	free(url);
	return code;
}

static void test_code_grant(void **state)
{
	char *code = consent_code("st-42"), *form, *rt, *token;
	json_t *j = NULL;
	CURL *h = curl_easy_init();

	form = xasprintf("grant_type=authorization_code&code=%s&redirect_uri=http%%3A%%2F%%2F127.0."
			 "0.1%%3A9%%2Fcallback",
			 code);
	assert_int_equal(post_form("/identity/v1/oauth2/token", BASIC, form, &j, NULL), 200);
	assert_int_equal(json_integer_value(json_object_get(j, "expires_in")), 2);
	assert_true(json_integer_value(json_object_get(j, "refresh_token_expires_in")) > 40000000);
	rt = xstrdup(json_string_value(json_object_get(j, "refresh_token")));
	assert_int_equal(api_status(json_string_value(json_object_get(j, "access_token"))), 200);
	json_decref(j);
	/* Codes are single-use. */
	assert_int_equal(post_form("/identity/v1/oauth2/token", BASIC, form, &j, NULL), 400);
	assert_string_equal(json_string_value(json_object_get(j, "error")), "invalid_grant");
	json_decref(j);
	/* The refresh token works until /sim/revoke. */
	token = refresh(rt, 200, NULL);
	assert_int_equal(api_status(token), 200);
	{
		char *enc = curl_easy_escape(h, rt, 0), *revoke = xasprintf("token=%s", enc);
		assert_int_equal(post_form("/sim/revoke", NULL, revoke, &j, NULL), 200);
		assert_true(json_is_true(json_object_get(j, "revoked")));
		json_decref(j);
		free(revoke);
		curl_free(enc);
	}
	free(refresh(rt, 400, "invalid_grant"));
	/* A wrong redirect_uri spends the code too. */
	free(code);
	free(form);
	code = consent_code("s2");
	form = xasprintf("grant_type=authorization_code&code=%s&redirect_uri=http%%3A%%2F%%2Fevil",
			 code);
	assert_int_equal(post_form("/identity/v1/oauth2/token", BASIC, form, &j, NULL), 400);
	assert_string_equal(json_string_value(json_object_get(j, "error")), "invalid_grant");
	json_decref(j);
	free(code);
	free(form);
	free(token);
	free(rt);
	curl_easy_cleanup(h);
}

static void test_revoke_seed_refresh_token(void **state)
{
	json_t *j = NULL;

	assert_int_equal(
	    post_form("/sim/revoke", NULL, "token=v%5E1.1%23i%5E1%23r%5E1%23t%5ESEED", &j, NULL),
	    200);
	json_decref(j);
	free(refresh("v^1.1#i^1#r^1#t^SEED", 400, "invalid_grant"));
	assert_int_equal(post_form("/sim/revoke", NULL, "token=never-issued", &j, NULL), 404);
	json_decref(j);
}

/* POSTs a JSON body to path; returns the status and the parsed answer. */
static long post_json(const char *path, const char *body, json_t **json)
{
	char *url = xasprintf("%s%s", sim.base_url, path);
	const char *hdrs[] = {"Content-Type: application/json", NULL};
	struct testutil_http r;
	long status;

	assert_int_equal(testutil_http("POST", url, body, hdrs, &r), 0);
	status = r.status;
	*json = json_loadb(r.body, r.len, 0, NULL);
	testutil_http_release(&r);
	free(url);
	return status;
}

/* A refresh token from a consent and the code grant (malloc'd). */
static char *consented_refresh_token(const char *state_value)
{
	char *code = consent_code(state_value), *rt;
	char *form = xasprintf("grant_type=authorization_code&code=%s&redirect_uri=http%%3A%%2F%%"
			       "2F127.0.0.1%%3A9%%2Fcallback",
			       code);
	json_t *j = NULL;

	assert_int_equal(post_form("/identity/v1/oauth2/token", BASIC, form, &j, NULL), 200);
	rt = xstrdup(json_string_value(json_object_get(j, "refresh_token")));
	json_decref(j);
	free(form);
	free(code);
	return rt;
}

/* {"all": true} revokes every refresh token, issued or fixed, without
 * knowing them; the access tokens in hand live on until they expire. */
static void test_revoke_all(void **state)
{
	char *rt1 = consented_refresh_token("all-1"), *rt2 = consented_refresh_token("all-2");
	char *access = refresh(rt1, 200, NULL);
	json_t *j = NULL;

	assert_string_not_equal(rt1, rt2);
	free(refresh(rt2, 200, NULL));
	/* Both consents, and the fixed --refresh-token (unless an earlier
	 * test revoked it already). */
	assert_int_equal(post_json("/sim/revoke", "{\"all\": true}", &j), 200);
	assert_true(json_is_true(json_object_get(j, "revoked")));
	assert_string_equal(json_string_value(json_object_get(j, "token_type")), "refresh_token");
	assert_true(json_integer_value(json_object_get(j, "count")) >= 2);
	json_decref(j);
	free(refresh(rt1, 400, "invalid_grant"));
	free(refresh(rt2, 400, "invalid_grant"));
	free(refresh("v^1.1#i^1#r^1#t^SEED", 400, "invalid_grant"));
	/* The access token minted before stays good until --token-ttl ends. */
	assert_int_equal(api_status(access), 200);
	timeutil_sleep_ms(2300);
	assert_int_equal(api_status(access), 401);
	/* Nothing left: a second call revokes none; the form spelling works. */
	assert_int_equal(post_form("/sim/revoke", NULL, "all=true", &j, NULL), 200);
	assert_false(json_is_true(json_object_get(j, "revoked")));
	assert_int_equal(json_integer_value(json_object_get(j, "count")), 0);
	json_decref(j);
	/* A new consent after it works again. */
	free(rt1);
	rt1 = consented_refresh_token("all-3");
	free(refresh(rt1, 200, NULL));
	/* A token and all at once is a mistake, not a choice. */
	assert_int_equal(post_json("/sim/revoke", "{\"all\": true, \"token\": \"x\"}", &j), 400);
	assert_non_null(strstr(json_string_value(json_object_get(j, "error")), "not both"));
	json_decref(j);
	free(access);
	free(rt1);
	free(rt2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_refresh_and_expiry),
	    cmocka_unit_test(test_client_errors),
	    cmocka_unit_test(test_code_grant),
	    cmocka_unit_test(test_revoke_seed_refresh_token),
	    cmocka_unit_test(test_revoke_all),
	    cmocka_unit_test(test_clean_exit),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
