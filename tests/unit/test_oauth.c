/*
 * Tests for oauth.c: configuration from the environment, the consent URL,
 * the token endpoint's answers and what users paste after a consent (pure
 * functions), and the grants against a scripted token endpoint on
 * 127.0.0.1 (tests/helpers/token_server.c) that checks what is sent: the
 * method, path, Basic credentials, content type and form body, and answers
 * with errors, slow or oversized bodies, or nothing at all.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "oauth.h"
#include "timeutil.h"
#include "token_server.h"

#define ID     "app-id-1"
#define SECRET "cert-secret-XYZ"
#define RU     "http://127.0.0.1:9/ebay/oauth/callback"

static void clear_env(void)
{
	static const char *const names[] = {"EBAY_CLIENT_ID", "EBAY_CLIENT_SECRET", "EBAY_RU_NAME",
					    "EBAY_AUTH_BASE", "EBAY_OAUTH_SCOPE",   "EBAY_ENV",
					    "EBAY_API_BASE"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		unsetenv(names[i]);
}

static void test_config_from_env(void **state)
{
	struct oauth_config c;
	struct buf why = BUF_INIT;

	(void)state;
	clear_env();
	assert_int_equal(oauth_config_from_env(&c, NULL, NULL, &why), ERR_NOTFOUND);
	assert_non_null(strstr(buf_str(&why), "EBAY_CLIENT_ID and EBAY_CLIENT_SECRET"));
	oauth_config_release(&c);
	buf_reset(&why);

	setenv("EBAY_CLIENT_ID", ID, 1);
	setenv("EBAY_CLIENT_SECRET", SECRET, 1);
	assert_int_equal(oauth_config_from_env(&c, NULL, NULL, &why), ERR_OK);
	assert_string_equal(c.env_name, "production");
	assert_string_equal(c.api_base, "https://api.ebay.com");
	assert_string_equal(c.auth_base, "https://auth.ebay.com");
	assert_string_equal(c.scope, OAUTH_SCOPE_READONLY);
	assert_null(c.ru_name);
	oauth_config_release(&c);

	setenv("EBAY_ENV", "sandbox", 1);
	setenv("EBAY_RU_NAME", "Jane_Doe-JaneDoe-ebaysy-abcdef", 1);
	assert_int_equal(oauth_config_from_env(&c, NULL, NULL, &why), ERR_OK);
	assert_string_equal(c.api_base, "https://api.sandbox.ebay.com");
	assert_string_equal(c.auth_base, "https://auth.sandbox.ebay.com");
	assert_string_equal(c.ru_name, "Jane_Doe-JaneDoe-ebaysy-abcdef");
	oauth_config_release(&c);

	/* The command line's choice wins; the simulator serves both. */
	assert_int_equal(oauth_config_from_env(&c, "simulator", "http://127.0.0.1:5/", &why),
			 ERR_OK);
	assert_string_equal(c.api_base, "http://127.0.0.1:5");
	assert_string_equal(c.auth_base, "http://127.0.0.1:5");
	oauth_config_release(&c);
	setenv("EBAY_AUTH_BASE", "http://127.0.0.1:6", 1);
	assert_int_equal(oauth_config_from_env(&c, "simulator", "http://127.0.0.1:5", &why),
			 ERR_OK);
	assert_string_equal(c.auth_base, "http://127.0.0.1:6");
	oauth_config_release(&c);

	assert_int_equal(oauth_config_from_env(&c, "simulator", NULL, &why), ERR_INVALID);
	assert_non_null(strstr(buf_str(&why), "needs EBAY_API_BASE"));
	oauth_config_release(&c);
	buf_reset(&why);
	assert_int_equal(oauth_config_from_env(&c, "staging", NULL, &why), ERR_INVALID);
	assert_non_null(strstr(buf_str(&why), "not 'staging'"));
	oauth_config_release(&c);
	buf_reset(&why);
	assert_int_equal(oauth_config_from_env(&c, "simulator", "ftp://x", &why), ERR_INVALID);
	assert_non_null(strstr(buf_str(&why), "EBAY_API_BASE must be an http"));
	oauth_config_release(&c);
	buf_reset(&why);
	setenv("EBAY_CLIENT_SECRET", "has space", 1);
	assert_int_equal(oauth_config_from_env(&c, NULL, NULL, &why), ERR_INVALID);
	assert_non_null(strstr(buf_str(&why), "EBAY_CLIENT_SECRET holds a space"));
	assert_null(strstr(buf_str(&why), "has space"));
	oauth_config_release(&c);
	clear_env();
	buf_release(&why);
}

static void config(struct oauth_config *c, const char *base, const char *secret)
{
	memset(c, 0, sizeof(*c));
	c->env_name = strdup("simulator");
	c->client_id = strdup(ID);
	c->client_secret = strdup(secret);
	c->ru_name = strdup(RU);
	c->auth_base = strdup("https://auth.example");
	c->api_base = strdup(base);
	c->scope = strdup(OAUTH_SCOPE_READONLY);
	c->backoff_base_ms = 20;
}

static void test_consent_url(void **state)
{
	struct oauth_config c;
	struct buf why = BUF_INIT;
	char *url;

	(void)state;
	config(&c, "http://127.0.0.1:1", SECRET);
	assert_int_equal(oauth_consent_url(&c, "s t&a=te", &url, &why), ERR_OK);
	assert_string_equal(url,
			    "https://auth.example/oauth2/authorize?client_id=app-id-1&"
			    "redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Febay%2Foauth%2Fcallback&"
			    "response_type=code&scope=https%3A%2F%2Fapi.ebay.com%2Foauth%2Fapi_"
			    "scope%2Fsell.inventory.readonly&state=s%20t%26a%3Dte");
	free(url);
	assert_int_equal(oauth_consent_url(&c, "", &url, &why), ERR_INVALID);
	assert_null(url);
	free(c.ru_name);
	c.ru_name = NULL;
	assert_int_equal(oauth_consent_url(&c, "abc", &url, &why), ERR_INVALID);
	assert_non_null(strstr(buf_str(&why), "EBAY_RU_NAME is not set"));
	oauth_config_release(&c);
	buf_release(&why);
}

static enum error parse(long status, const char *body, int want_refresh, struct oauth_token *t,
			struct buf *why)
{
	buf_reset(why);
	oauth_token_release(t);
	return oauth_parse_response(status, body, strlen(body), want_refresh, t, why);
}

static void test_parse_response(void **state)
{
	struct oauth_token t;
	struct buf why = BUF_INIT;
	char big[OAUTH_FIELD_MAX + 64];

	(void)state;
	memset(&t, 0, sizeof(t));
	assert_int_equal(parse(200,
			       "{\"access_token\":\"v^1.1#i^1#AT\",\"expires_in\":7200,"
			       "\"refresh_token\":\"v^1.1#RT\",\"refresh_token_expires_in\":"
			       "47304000,\"token_type\":\"User Access Token\"}",
			       1, &t, &why),
			 ERR_OK);
	assert_string_equal(t.access_token, "v^1.1#i^1#AT");
	assert_int_equal(t.expires_in, 7200);
	assert_string_equal(t.refresh_token, "v^1.1#RT");
	assert_int_equal(t.refresh_expires_in, 47304000);
	assert_string_equal(t.token_type, "User Access Token");

	/* The refresh grant: no refresh token, expires_in as a string. */
	assert_int_equal(parse(200, "{\"access_token\":\"A\",\"expires_in\":\"300\"}", 0, &t, &why),
			 ERR_OK);
	assert_int_equal(t.expires_in, 300);
	assert_null(t.refresh_token);
	assert_int_equal(parse(200, "{\"access_token\":\"A\",\"expires_in\":300}", 1, &t, &why),
			 ERR_PARSE);
	assert_non_null(strstr(buf_str(&why), "has no refresh_token"));
	assert_null(t.access_token);

	assert_int_equal(parse(200, "{\"expires_in\":300}", 0, &t, &why), ERR_PARSE);
	assert_non_null(strstr(buf_str(&why), "no access_token"));
	assert_int_equal(parse(200, "{\"access_token\":\"A\"}", 0, &t, &why), ERR_PARSE);
	assert_non_null(strstr(buf_str(&why), "expires_in"));
	assert_int_equal(parse(200, "{\"access_token\":\"A\",\"expires_in\":0}", 0, &t, &why),
			 ERR_PARSE);
	assert_int_equal(parse(200, "{\"access_token\":\"A\",\"expires_in\":\"12x\"}", 0, &t, &why),
			 ERR_PARSE);
	assert_int_equal(parse(200, "{\"access_token\":\"A B\",\"expires_in\":5}", 0, &t, &why),
			 ERR_PARSE);
	assert_int_equal(parse(200, "{\"access_token\":7,\"expires_in\":5}", 0, &t, &why),
			 ERR_PARSE);
	assert_int_equal(parse(200, "[1]", 0, &t, &why), ERR_PARSE);
	assert_int_equal(parse(200, "not json", 0, &t, &why), ERR_PARSE);
	assert_non_null(strstr(buf_str(&why), "not a JSON object"));
	assert_int_equal(parse(200,
			       "{\"access_token\":\"A\",\"access_token\":\"B\",\"expires_in\":5}",
			       0, &t, &why),
			 ERR_PARSE);
	memset(big, 'a', sizeof(big));
	memcpy(big, "{\"access_token\":\"", 17);
	snprintf(big + OAUTH_FIELD_MAX + 20, 44, "\",\"expires_in\":5}");
	assert_int_equal(parse(200, big, 0, &t, &why), ERR_TOOBIG);

	/* Errors: invalid_grant and invalid_client are ERR_AUTH, named. */
	assert_int_equal(parse(400,
			       "{\"error\":\"invalid_grant\",\"error_description\":\"the provided "
			       "authorization refresh token is invalid\"}",
			       0, &t, &why),
			 ERR_AUTH);
	assert_string_equal(t.error, "invalid_grant");
	assert_string_equal(buf_str(&why), "HTTP 400 invalid_grant: the provided authorization "
					   "refresh token is invalid");
	assert_int_equal(parse(401, "{\"error\":\"invalid_client\"}", 0, &t, &why), ERR_AUTH);
	assert_string_equal(t.error, "invalid_client");
	assert_non_null(strstr(buf_str(&why), "check EBAY_CLIENT_ID and EBAY_CLIENT_SECRET"));
	assert_int_equal(parse(400, "{\"error\":\"invalid_scope\"}", 0, &t, &why), ERR_INVALID);
	assert_int_equal(parse(503, "{\"error\":\"temporarily_unavailable\"}", 0, &t, &why),
			 ERR_EBAY);
	assert_int_equal(parse(500, "<html>oops</html>", 0, &t, &why), ERR_EBAY);
	assert_string_equal(buf_str(&why), "eBay's token endpoint answered HTTP 500");
	assert_int_equal(parse(404, "", 0, &t, &why), ERR_INVALID);
	/* An error name that is not a name is not repeated as is. */
	assert_int_equal(parse(400, "{\"error\":\"a\\nb<c>\"}", 0, &t, &why), ERR_EBAY);
	assert_string_equal(t.error, "a?b?c?");
	assert_int_equal(parse(400, "{\"error\":\"invalid_grant\",\"error_description\":\"x\\ny\"}",
			       0, &t, &why),
			 ERR_AUTH);
	assert_string_equal(buf_str(&why), "HTTP 400 invalid_grant: x y");
	oauth_token_release(&t);
	buf_release(&why);
}

static enum error redirect(const char *text, char **code, char **st, struct buf *why)
{
	free(*code);
	free(*st);
	*code = *st = NULL;
	buf_reset(why);
	return oauth_parse_redirect(text, code, st, why);
}

static void test_parse_redirect(void **state)
{
	struct buf why = BUF_INIT;
	char *code = NULL, *st = NULL, *huge;

	(void)state;
	assert_int_equal(redirect("  https://h.example/cb?state=s%2F1&code=v%5E1.1%23i%5E1&"
				  "expires_in=299\n",
				  &code, &st, &why),
			 ERR_OK);
	assert_string_equal(code, "v^1.1#i^1");
	assert_string_equal(st, "s/1");
	assert_int_equal(redirect("code=abc&state=xyz", &code, &st, &why), ERR_OK);
	assert_string_equal(code, "abc");
	assert_string_equal(st, "xyz");
	/* A bare code, encoded or not, ending in '=' or not. */
	assert_int_equal(redirect("v%5E1.1%23t%5EAbC==", &code, &st, &why), ERR_OK);
	assert_string_equal(code, "v^1.1#t^AbC==");
	assert_null(st);
	assert_int_equal(redirect("http://h/cb?code=a#frag&state=no", &code, &st, &why), ERR_OK);
	assert_string_equal(code, "a");
	assert_null(st);

	assert_int_equal(redirect("http://h/cb?state=s&error=access_denied&error_description="
				  "user+said+no",
				  &code, &st, &why),
			 ERR_AUTH);
	assert_string_equal(buf_str(&why),
			    "the eBay consent did not succeed (access_denied: user said no)");
	assert_null(code);
	assert_int_equal(redirect("http://h/cb?state=s", &code, &st, &why), ERR_INVALID);
	assert_non_null(strstr(buf_str(&why), "no code parameter"));
	assert_int_equal(redirect("http://h/cb?code=%zz", &code, &st, &why), ERR_INVALID);
	assert_int_equal(redirect("http://h/cb?code=a%00b", &code, &st, &why), ERR_INVALID);
	assert_int_equal(redirect("   \n", &code, &st, &why), ERR_INVALID);
	assert_int_equal(redirect("http://h/cb?code=&state=s", &code, &st, &why), ERR_INVALID);
	huge = malloc(OAUTH_FIELD_MAX + 16);
	memset(huge, 'c', OAUTH_FIELD_MAX + 15);
	memcpy(huge, "code=", 5);
	huge[OAUTH_FIELD_MAX + 15] = '\0';
	assert_int_equal(redirect(huge, &code, &st, &why), ERR_TOOBIG);
	free(huge);
	free(code);
	free(st);
	buf_release(&why);
}

/* ---- against the scripted endpoint --------------------------------------- */

static void test_refresh_grant(void **state)
{
	struct token_server *ts = token_server_start(ID, SECRET);
	struct token_server_hit h;
	struct oauth_config c;
	struct oauth_token t;
	struct buf why = BUF_INIT;

	(void)state;
	assert_non_null(ts);
	token_server_set_refresh_token(ts, "v^1.1#r^1#RT/+=");
	config(&c, token_server_url(ts), SECRET);
	assert_int_equal(oauth_refresh(&c, "v^1.1#r^1#RT/+=", &t, &why), ERR_OK);
	assert_string_equal(t.access_token, "AT-1");
	assert_int_equal(t.expires_in, 7200);
	assert_null(t.refresh_token);
	oauth_token_release(&t);
	assert_int_equal(token_server_hits(ts), 1);
	token_server_hit(ts, 0, &h);
	assert_string_equal(h.method, "POST");
	assert_string_equal(h.path, "/identity/v1/oauth2/token");
	/* base64("app-id-1:cert-secret-XYZ") */
	assert_string_equal(h.auth, "Basic YXBwLWlkLTE6Y2VydC1zZWNyZXQtWFla");
	assert_string_equal(h.ctype, "application/x-www-form-urlencoded");
	assert_string_equal(h.body, "grant_type=refresh_token&refresh_token=v%5E1.1%23r%5E1%23RT%2F"
				    "%2B%3D&scope=https%3A%2F%2Fapi.ebay.com%2Foauth%2Fapi_scope%2F"
				    "sell.inventory.readonly");

	/* A revoked refresh token: invalid_grant, once (not retried), and the
	 * token never appears in the reason. */
	assert_int_equal(oauth_refresh(&c, "RT-revoked-123", &t, &why), ERR_AUTH);
	assert_string_equal(t.error, "invalid_grant");
	assert_int_equal(token_server_hits(ts), 2);
	assert_null(strstr(buf_str(&why), "RT-revoked-123"));
	assert_non_null(strstr(buf_str(&why), "invalid_grant"));
	oauth_token_release(&t);
	buf_reset(&why);

	/* A wrong client secret. */
	free(c.client_secret);
	c.client_secret = strdup("wrong-secret-777");
	assert_int_equal(oauth_refresh(&c, "v^1.1#r^1#RT/+=", &t, &why), ERR_AUTH);
	assert_string_equal(t.error, "invalid_client");
	assert_non_null(strstr(buf_str(&why), "EBAY_CLIENT_SECRET"));
	assert_null(strstr(buf_str(&why), "wrong-secret-777"));
	oauth_token_release(&t);
	assert_int_equal(oauth_refresh(&c, "", &t, &why), ERR_INVALID);
	oauth_config_release(&c);
	token_server_stop(ts);
	buf_release(&why);
}

static void test_code_grant(void **state)
{
	struct token_server *ts = token_server_start(ID, SECRET);
	struct token_server_hit h;
	struct oauth_config c;
	struct oauth_token t;
	struct buf why = BUF_INIT;

	(void)state;
	token_server_set_code(ts, "v^1.1#code#1");
	token_server_set_refresh_token(ts, "RT-from-code");
	config(&c, token_server_url(ts), SECRET);
	assert_int_equal(oauth_exchange_code(&c, "v^1.1#code#1", &t, &why), ERR_OK);
	assert_string_equal(t.access_token, "AT-1");
	assert_string_equal(t.refresh_token, "RT-from-code");
	assert_int_equal(t.refresh_expires_in, 47304000);
	oauth_token_release(&t);
	token_server_hit(ts, 0, &h);
	assert_string_equal(h.body, "grant_type=authorization_code&code=v%5E1.1%23code%231&"
				    "redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Febay%2Foauth%2F"
				    "callback");
	/* The same code again: refused. */
	assert_int_equal(oauth_exchange_code(&c, "v^1.1#code#1", &t, &why), ERR_AUTH);
	assert_string_equal(t.error, "invalid_grant");
	oauth_token_release(&t);
	/* A code grant is not retried after a 5xx: the code may be spent. */
	token_server_push(ts, 503, "{\"error\":\"temporarily_unavailable\"}", 0, 0);
	assert_int_equal(oauth_exchange_code(&c, "v^1.1#code#2", &t, &why), ERR_EBAY);
	assert_int_equal(token_server_hits(ts), 3);
	oauth_token_release(&t);
	oauth_config_release(&c);
	token_server_stop(ts);
	buf_release(&why);
}

static void test_retries_and_caps(void **state)
{
	struct token_server *ts = token_server_start(ID, SECRET);
	struct oauth_config c;
	struct oauth_token t;
	struct buf why = BUF_INIT;
	long long t0;

	(void)state;
	config(&c, token_server_url(ts), SECRET);
	/* 503 then 500, then the answer: three attempts, one token. */
	token_server_push(ts, 503, "{\"error\":\"temporarily_unavailable\"}", 0, 0);
	token_server_push(ts, 500, "<html>", 0, 0);
	assert_int_equal(oauth_refresh(&c, "RT-good", &t, &why), ERR_OK);
	assert_string_equal(t.access_token, "AT-1");
	assert_int_equal(token_server_hits(ts), 3);
	oauth_token_release(&t);

	/* Out of attempts: the last reason, and how many. */
	c.max_attempts = 2;
	token_server_push(ts, 503, "{\"error\":\"temporarily_unavailable\"}", 0, 0);
	token_server_push(ts, 502, "", 0, 0);
	assert_int_equal(oauth_refresh(&c, "RT-good", &t, &why), ERR_EBAY);
	assert_string_equal(buf_str(&why), "eBay's token endpoint answered HTTP 502 (after 2 "
					   "attempts)");
	assert_int_equal(token_server_hits(ts), 5);
	oauth_token_release(&t);
	buf_reset(&why);

	/* An answer over the cap. */
	c.max_attempts = 1;
	token_server_push(ts, 200, NULL, 0, OAUTH_RESPONSE_MAX + 1000);
	assert_int_equal(oauth_refresh(&c, "RT-good", &t, &why), ERR_TOOBIG);
	assert_non_null(strstr(buf_str(&why), "larger than 65536 bytes"));
	oauth_token_release(&t);
	buf_reset(&why);

	/* A stalled answer ends at the timeout. */
	c.timeout_ms = 300;
	token_server_push(ts, 200, "{}", 1500, 0);
	t0 = timeutil_mono_ms();
	assert_int_equal(oauth_refresh(&c, "RT-good", &t, &why), ERR_TIMEOUT);
	assert_true(timeutil_mono_ms() - t0 < 1200);
	assert_non_null(strstr(buf_str(&why), "did not answer in time"));
	oauth_token_release(&t);
	buf_reset(&why);
	oauth_config_release(&c);
	token_server_stop(ts);

	/* Nobody listening: a transport error naming the endpoint. */
	config(&c, "http://127.0.0.1:1", SECRET);
	c.max_attempts = 2;
	assert_int_equal(oauth_refresh(&c, "RT-good", &t, &why), ERR_HTTP);
	assert_non_null(strstr(buf_str(&why), "cannot reach eBay's token endpoint "
					      "http://127.0.0.1:1"));
	assert_non_null(strstr(buf_str(&why), "(after 2 attempts)"));
	oauth_token_release(&t);
	oauth_config_release(&c);
	buf_release(&why);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_config_from_env),  cmocka_unit_test(test_consent_url),
	    cmocka_unit_test(test_parse_response),   cmocka_unit_test(test_parse_redirect),
	    cmocka_unit_test(test_refresh_grant),    cmocka_unit_test(test_code_grant),
	    cmocka_unit_test(test_retries_and_caps),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
