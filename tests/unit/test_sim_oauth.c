/*
 * The simulator's OAuth in-process: form and Basic parsing, the token
 * endpoint's grants and errors, single-use codes from the consent page,
 * expiry on a clock the test controls, and revocation.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "encoding.h"
#include "sim_oauth.h"
#include "xalloc.h"

/* "ebaysync-sim-client:ebaysync-sim-secret" */
#define GOOD_BASIC "Basic ZWJheXN5bmMtc2ltLWNsaWVudDplYmF5c3luYy1zaW0tc2VjcmV0"
#define REDIRECT   "http://127.0.0.1:9/callback?x=1"

static const char *no_args(void *ctx, const char *name)
{
	const char *const *kv = ctx;

	for (; kv && kv[0]; kv += 2)
		if (!strcmp(kv[0], name))
			return kv[1];
	return NULL;
}

static struct sim_request request(const char *method, const char *auth, const char *body,
				  long long now_ms)
{
	struct sim_request rq = {
	    .method = method,
	    .path = "/",
	    .arg = no_args,
	    .authorization = auth,
	    .content_type = "application/x-www-form-urlencoded",
	    .host = "127.0.0.1:1",
	    .body = body,
	    .body_len = body ? strlen(body) : 0,
	    .now_ms = now_ms,
	};
	return rq;
}

static json_t *token_call(struct sim_oauth *o, const struct sim_config *cfg, const char *auth,
			  const char *body, long long now, int want_status)
{
	struct sim_request rq = request("POST", auth, body, now);
	struct sim_reply out;
	int issued;
	json_t *j;

	sim_reply_init(&out);
	sim_oauth_token(o, cfg, &rq, &out, &issued);
	if (out.status != want_status)
		fail_msg("token call '%s': status %d, want %d: %s", body, out.status, want_status,
			 out.body);
	assert_int_equal(issued, want_status == 200);
	j = json_loads(out.body, 0, NULL);
	assert_non_null(j);
	sim_reply_release(&out);
	return j;
}

static void expect_error(struct sim_oauth *o, const struct sim_config *cfg, const char *auth,
			 const char *body, long long now, int status, const char *error)
{
	json_t *j = token_call(o, cfg, auth, body, now, status);

	assert_string_equal(json_string_value(json_object_get(j, "error")), error);
	assert_non_null(json_string_value(json_object_get(j, "error_description")));
	json_decref(j);
}

static void test_form(void **state)
{
	struct sim_form f;
	struct buf why = BUF_INIT;
	const char *body = "grant_type=refresh_token&&refresh_token=v%5E1.1%23t%5Eab%2Bc&scope="
			   "a+b%20c&flag";
	char big[SIM_OAUTH_FORM_MAX_BYTES + 2];

	assert_int_equal(sim_oauth_parse_form(body, strlen(body), &f, &why), ERR_OK);
	assert_int_equal(f.n, 4);
	assert_string_equal(sim_form_get(&f, "grant_type"), "refresh_token");
	assert_string_equal(sim_form_get(&f, "refresh_token"), "v^1.1#t^ab+c");
	assert_string_equal(sim_form_get(&f, "scope"), "a b c");
	assert_string_equal(sim_form_get(&f, "flag"), "");
	assert_null(sim_form_get(&f, "missing"));
	sim_form_release(&f);

	const char *bad[] = {"a=%zz", "a=%4", "a=%", "a=%00b", "%=1"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		buf_reset(&why);
		assert_int_equal(sim_oauth_parse_form(bad[i], strlen(bad[i]), &f, &why),
				 ERR_INVALID);
		assert_non_null(strstr(buf_str(&why), "malformed percent-encoding"));
		sim_form_release(&f);
	}
	memset(big, 'a', sizeof(big));
	assert_int_equal(sim_oauth_parse_form(big, sizeof(big), &f, &why), ERR_TOOBIG);
	sim_form_release(&f);
	{
		struct buf many = BUF_INIT;
		for (int i = 0; i < SIM_OAUTH_FORM_MAX_FIELDS + 1; i++)
			buf_addf(&many, "f%d=1&", i);
		buf_reset(&why);
		assert_int_equal(sim_oauth_parse_form(many.data, many.len, &f, &why), ERR_TOOBIG);
		assert_non_null(strstr(buf_str(&why), "more than 32 fields"));
		sim_form_release(&f);
		buf_release(&many);
	}
	buf_release(&why);
}

static void test_basic_and_bearer(void **state)
{
	char id[64], secret[64];

	assert_int_equal(sim_oauth_parse_basic(GOOD_BASIC, id, sizeof(id), secret, sizeof(secret)),
			 0);
	assert_string_equal(id, "ebaysync-sim-client");
	assert_string_equal(secret, "ebaysync-sim-secret");
	/* "a:b:c" keeps the second colon in the secret; no padding is fine. */
	assert_int_equal(sim_oauth_parse_basic("basic YTpiOmM", id, sizeof(id), secret, 64), 0);
	assert_string_equal(id, "a");
	assert_string_equal(secret, "b:c");
	assert_int_equal(sim_oauth_parse_basic(NULL, id, 64, secret, 64), -1);
	assert_int_equal(sim_oauth_parse_basic("Bearer YTpi", id, 64, secret, 64), -1);
	assert_int_equal(sim_oauth_parse_basic("Basic YWJj", id, 64, secret, 64), -1); /* "abc" */
	assert_int_equal(sim_oauth_parse_basic("Basic !!!!", id, 64, secret, 64), -1);
	assert_int_equal(sim_oauth_parse_basic("Basic ", id, 64, secret, 64), -1);
	assert_int_equal(sim_oauth_parse_basic(GOOD_BASIC, id, 8, secret, 64), -1);
	assert_int_equal(sim_oauth_parse_basic(GOOD_BASIC, id, 64, secret, 8), -1);

	assert_string_equal(sim_oauth_bearer("Bearer abc"), "abc");
	assert_string_equal(sim_oauth_bearer("bearer   v^1#x"), "v^1#x");
	assert_null(sim_oauth_bearer("Bearer "));
	assert_null(sim_oauth_bearer("Basic abc"));
	assert_null(sim_oauth_bearer(NULL));
}

static void test_refresh_grant_and_expiry(void **state)
{
	struct sim_oauth *o = sim_oauth_new();
	struct sim_config cfg;
	json_t *j;
	char *auth;
	const char *at;

	sim_config_defaults(&cfg);
	snprintf(cfg.refresh_token, sizeof(cfg.refresh_token), "R-fixed");
	cfg.token_ttl = 60;
	j = token_call(o, &cfg, GOOD_BASIC, "grant_type=refresh_token&refresh_token=R-fixed", 1000,
		       200);
	at = json_string_value(json_object_get(j, "access_token"));
	assert_non_null(at);
	assert_non_null(strstr(at, "v^1.1#"));
	assert_int_equal(json_integer_value(json_object_get(j, "expires_in")), 60);
	assert_string_equal(json_string_value(json_object_get(j, "token_type")),
			    "User Access Token");
	assert_null(json_object_get(j, "refresh_token")); /* eBay sends none here */
	auth = xasprintf("Bearer %s", at);
	assert_int_equal(sim_oauth_check(o, &cfg, auth, 1000), SIM_AUTH_OK);
	assert_int_equal(sim_oauth_check(o, &cfg, auth, 1000 + 59999), SIM_AUTH_OK);
	assert_int_equal(sim_oauth_check(o, &cfg, auth, 1000 + 60000), SIM_AUTH_INVALID);
	assert_int_equal(sim_oauth_check(o, &cfg, NULL, 1000), SIM_AUTH_MISSING);
	assert_int_equal(sim_oauth_check(o, &cfg, "Bearer nope", 1000), SIM_AUTH_INVALID);
	free(auth);
	json_decref(j);

	/* Scopes within the grant are fine, others are not. */
	json_decref(token_call(o, &cfg, GOOD_BASIC,
			       "grant_type=refresh_token&refresh_token=R-fixed&scope=https%3A%2F%"
			       "2Fapi.ebay.com%2Foauth%2Fapi_scope%2Fsell.inventory.readonly",
			       1000, 200));
	expect_error(o, &cfg, GOOD_BASIC,
		     "grant_type=refresh_token&refresh_token=R-fixed&scope=https://x/other", 1000,
		     400, "invalid_scope");
	expect_error(o, &cfg, GOOD_BASIC, "grant_type=refresh_token&refresh_token=R-other", 1000,
		     400, "invalid_grant");
	expect_error(o, &cfg, GOOD_BASIC, "grant_type=refresh_token", 1000, 400, "invalid_request");
	expect_error(o, &cfg, "Basic YTpi", "grant_type=refresh_token&refresh_token=R-fixed", 1000,
		     401, "invalid_client");
	expect_error(o, &cfg, NULL, "grant_type=refresh_token&refresh_token=R-fixed", 1000, 401,
		     "invalid_client");
	expect_error(o, &cfg, GOOD_BASIC, "refresh_token=R-fixed", 1000, 400, "invalid_request");
	expect_error(o, &cfg, GOOD_BASIC, "grant_type=password", 1000, 400,
		     "unsupported_grant_type");
	expect_error(o, &cfg, GOOD_BASIC, "grant_type=%zz", 1000, 400, "invalid_request");
	{
		/* Many short-lived tokens: expired ones are dropped as the table grows. */
		cfg.token_ttl = 1;
		for (int i = 0; i < 5000; i++)
			json_decref(token_call(o, &cfg, GOOD_BASIC,
					       "grant_type=refresh_token&refresh_token=R-fixed",
					       5000 + i * 10, 200));
	}
	sim_oauth_free(o);
}

/* Runs the consent page's Agree and returns the code from the redirect. */
static char *consent(struct sim_oauth *o, const struct sim_config *cfg, const char *state_value,
		     long long now)
{
	struct sim_reply out;
	struct sim_request rq;
	char *body = xasprintf("client_id=ebaysync-sim-client&redirect_uri=http%%3A%%2F%%2F127.0.0."
			       "1%%3A9%%2Fcallback%%3Fx%%3D1&state=%s&decision=agree",
			       state_value);
	const char *code_at;
	char *code, *amp;

	rq = request("POST", NULL, body, now);
	sim_reply_init(&out);
	sim_oauth_authorize(o, cfg, &rq, &out);
	assert_int_equal(out.status, 302);
	assert_non_null(out.location);
	assert_int_equal(strncmp(out.location, REDIRECT "&state=", strlen(REDIRECT) + 7), 0);
	assert_non_null(strstr(out.location, "&expires_in=300"));
	code_at = strstr(out.location, "&code=");
	assert_non_null(code_at);
	code = xstrdup(code_at + 6);
	amp = strchr(code, '&');
	if (amp)
		*amp = '\0';
	sim_reply_release(&out);
	free(body);
	return code; /* still URL-encoded: a form field takes it as is */
}

static void test_code_grant(void **state)
{
	struct sim_oauth *o = sim_oauth_new();
	struct sim_config cfg;
	char *code, *body, *refresh_body, *auth;
	json_t *j;
	const char *rt;

	sim_config_defaults(&cfg);
	snprintf(cfg.redirect_uri, sizeof(cfg.redirect_uri), REDIRECT);
	code = consent(o, &cfg, "xyz", 1000);
	assert_non_null(strstr(code, "v%5E1.1%23")); /* eBay-shaped, URL-encoded */
	body = xasprintf("grant_type=authorization_code&code=%s&redirect_uri=http%%3A%%2F%%2F127."
			 "0.0.1%%3A9%%2Fcallback%%3Fx%%3D1",
			 code);
	j = token_call(o, &cfg, GOOD_BASIC, body, 2000, 200);
	rt = json_string_value(json_object_get(j, "refresh_token"));
	assert_non_null(rt);
	assert_int_equal(json_integer_value(json_object_get(j, "refresh_token_expires_in")),
			 SIM_OAUTH_REFRESH_TTL_S);
	auth = xasprintf("Bearer %s", json_string_value(json_object_get(j, "access_token")));
	assert_int_equal(sim_oauth_check(o, &cfg, auth, 2000), SIM_AUTH_OK);
	free(auth);
	/* The code is single-use. */
	expect_error(o, &cfg, GOOD_BASIC, body, 2001, 400, "invalid_grant");
	/* The new refresh token works until revoked. */
	{
		char *enc = encoding_percent_encode(rt);
		struct sim_reply out;
		struct sim_request rq;
		char *revoke;

		refresh_body = xasprintf("grant_type=refresh_token&refresh_token=%s", enc);
		json_decref(token_call(o, &cfg, GOOD_BASIC, refresh_body, 3000, 200));
		revoke = xasprintf("token=%s", enc);
		rq = request("POST", NULL, revoke, 3000);
		sim_reply_init(&out);
		sim_oauth_revoke(o, &cfg, &rq, &out);
		assert_int_equal(out.status, 200);
		assert_non_null(strstr(out.body, "\"refresh_token\""));
		sim_reply_release(&out);
		expect_error(o, &cfg, GOOD_BASIC, refresh_body, 3001, 400, "invalid_grant");
		free(revoke);
		free(enc);
		free(refresh_body);
	}
	json_decref(j);
	free(body);
	free(code);

	/* An expired code, and a code sent with another redirect_uri. */
	code = consent(o, &cfg, "s", 10000);
	body = xasprintf("grant_type=authorization_code&code=%s&redirect_uri=http%%3A%%2F%%2F127."
			 "0.0.1%%3A9%%2Fcallback%%3Fx%%3D1",
			 code);
	expect_error(o, &cfg, GOOD_BASIC, body, 10000 + 300 * 1000, 400, "invalid_grant");
	free(body);
	free(code);
	code = consent(o, &cfg, "s", 20000);
	body = xasprintf("grant_type=authorization_code&code=%s&redirect_uri=http://evil/", code);
	expect_error(o, &cfg, GOOD_BASIC, body, 20001, 400, "invalid_grant");
	free(body);
	free(code);
	sim_oauth_free(o);
}

static void test_consent_page(void **state)
{
	struct sim_oauth *o = sim_oauth_new();
	struct sim_config cfg;
	const char *args[] = {"client_id",
			      "ebaysync-sim-client",
			      "redirect_uri",
			      REDIRECT,
			      "response_type",
			      "code",
			      "state",
			      "<b>&\"",
			      NULL};
	struct sim_request rq = request("GET", NULL, NULL, 0);
	struct sim_reply out;

	sim_config_defaults(&cfg);
	snprintf(cfg.redirect_uri, sizeof(cfg.redirect_uri), REDIRECT);
	rq.arg_ctx = args;
	sim_reply_init(&out);
	sim_oauth_authorize(o, &cfg, &rq, &out);
	assert_int_equal(out.status, 200);
	assert_non_null(strstr(out.body, ">Agree</button>"));
	assert_non_null(strstr(out.body, "value=\"&lt;b&gt;&amp;&quot;\""));
	assert_null(strstr(out.body, "<b>&"));
	sim_reply_release(&out);

	/* Wrong client, wrong redirect, nothing registered: a 400 page. */
	args[1] = "other";
	sim_oauth_authorize(o, &cfg, &rq, &out);
	assert_int_equal(out.status, 400);
	assert_non_null(strstr(out.body, "unknown client_id"));
	sim_reply_release(&out);
	args[1] = "ebaysync-sim-client";
	args[3] = "http://elsewhere/";
	sim_oauth_authorize(o, &cfg, &rq, &out);
	assert_int_equal(out.status, 400);
	assert_non_null(strstr(out.body, "does not match"));
	sim_reply_release(&out);
	cfg.redirect_uri[0] = '\0';
	sim_oauth_authorize(o, &cfg, &rq, &out);
	assert_non_null(strstr(out.body, "--redirect-uri"));
	sim_reply_release(&out);

	/* Declining redirects with access_denied. */
	snprintf(cfg.redirect_uri, sizeof(cfg.redirect_uri), REDIRECT);
	rq = request("POST", NULL,
		     "client_id=ebaysync-sim-client&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2F"
		     "callback%3Fx%3D1&state=s1&decision=decline",
		     0);
	sim_oauth_authorize(o, &cfg, &rq, &out);
	assert_int_equal(out.status, 302);
	assert_string_equal(out.location, REDIRECT "&state=s1&error=access_denied");
	sim_reply_release(&out);
	sim_oauth_free(o);
}

static void test_revoke_fixed(void **state)
{
	struct sim_oauth *o = sim_oauth_new();
	struct sim_config cfg;
	struct sim_request rq;
	struct sim_reply out;

	sim_config_defaults(&cfg);
	snprintf(cfg.token, sizeof(cfg.token), "FIXED");
	snprintf(cfg.refresh_token, sizeof(cfg.refresh_token), "RFIXED");
	assert_int_equal(sim_oauth_check(o, &cfg, "Bearer FIXED", 0), SIM_AUTH_OK);
	rq = request("POST", NULL, "{\"token\":\"FIXED\"}", 0);
	rq.content_type = "application/json";
	sim_reply_init(&out);
	sim_oauth_revoke(o, &cfg, &rq, &out);
	assert_int_equal(out.status, 200);
	sim_reply_release(&out);
	assert_int_equal(sim_oauth_check(o, &cfg, "Bearer FIXED", 0), SIM_AUTH_INVALID);

	rq = request("POST", NULL, "refresh_token=RFIXED", 0);
	sim_oauth_revoke(o, &cfg, &rq, &out);
	assert_int_equal(out.status, 200);
	sim_reply_release(&out);
	expect_error(o, &cfg, GOOD_BASIC, "grant_type=refresh_token&refresh_token=RFIXED", 0, 400,
		     "invalid_grant");
	/* Revocations of fixed tokens survive the table's clean-ups. */
	cfg.token_ttl = 1;
	snprintf(cfg.refresh_token, sizeof(cfg.refresh_token), "R2");
	for (int i = 0; i < 3000; i++)
		json_decref(token_call(o, &cfg, GOOD_BASIC,
				       "grant_type=refresh_token&refresh_token=R2", i * 2000, 200));
	assert_int_equal(sim_oauth_check(o, &cfg, "Bearer FIXED", 10000000), SIM_AUTH_INVALID);

	rq = request("POST", NULL, "token=unknown", 0);
	sim_oauth_revoke(o, &cfg, &rq, &out);
	assert_int_equal(out.status, 404);
	sim_reply_release(&out);
	rq = request("POST", NULL, "nothing=1", 0);
	sim_oauth_revoke(o, &cfg, &rq, &out);
	assert_int_equal(out.status, 400);
	sim_reply_release(&out);
	sim_oauth_free(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_form),
	    cmocka_unit_test(test_basic_and_bearer),
	    cmocka_unit_test(test_refresh_grant_and_expiry),
	    cmocka_unit_test(test_code_grant),
	    cmocka_unit_test(test_consent_page),
	    cmocka_unit_test(test_revoke_fixed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
