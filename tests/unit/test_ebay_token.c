/*
 * Tests of the eBay client's access token (ebay.c): eBay's refusals that
 * call for one refresh (401 errorId 1001, 403 errorId 1100) and those that
 * do not, the refresh shared by every request in flight, a failed refresh,
 * a missing or unsafe token, and the token source asked again after
 * token_recheck_ms. The server refuses every token but "tok-new".
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "ebay.h"
#include "ebay_fixture.h"
#include "timeutil.h"

/* Accepts only "Bearer tok-new"; refuses others with status/errorId. */
static void refuse_old_token(const struct ebay_fixture_hit *h, struct ebay_fixture_reply *r,
			     int status, int error_id)
{
	if (strcmp(h->auth, "Bearer tok-new")) {
		r->status = status;
		snprintf(r->body, sizeof(r->body),
			 "{\"errors\":[{\"errorId\":%d,\"message\":\"Invalid access token\"}]}",
			 error_id);
	}
	r->delay_ms = 20;
}

static void script_401_1001(const struct ebay_fixture_hit *h, struct ebay_fixture_reply *r)
{
	refuse_old_token(h, r, 401, 1001);
}

static void script_403_1100(const struct ebay_fixture_hit *h, struct ebay_fixture_reply *r)
{
	refuse_old_token(h, r, 403, 1100);
}

static void old_then_new(struct ebay_fixture *fx)
{
	fx->token.initial = "tok-old";
	fx->token.refreshed = "tok-new";
}

static void old_then_also_bad(struct ebay_fixture *fx)
{
	fx->token.initial = "tok-old";
	fx->token.refreshed = "tok-also-bad";
}

static void new_token_sent(struct ebay_fixture *fx)
{
	(void)fx;
	assert_string_equal(ebay_fixture_hit(0)->auth, "Bearer tok-old");
	assert_string_equal(ebay_fixture_hit(1)->auth, "Bearer tok-new");
}

static const struct ebay_fixture_case status_403_errorid_1100_refreshes = {
    .script = script_403_1100,
    .configure = old_then_new,
    .err = ERR_OK,
    .status = 200,
    .attempts = 2,
    .refreshes = 1,
    .retry_status = 403,
    .retry_error_id = 1100,
    .retry_message = "Invalid access token",
    .more = new_token_sent,
};

static const struct ebay_fixture_case status_403_other_error_is_final = {
    .answer = {.status = 403,
	       .body = "{\"errors\":[{\"errorId\":25001000,\"message\":\"Access denied\"}]}"},
    .configure = old_then_new,
    .err = ERR_EBAY,
    .status = 403,
    .error_id = 25001000,
    .attempts = 1,
    .refreshes = 0,
    .message = "Access denied",
};

static const struct ebay_fixture_case second_refusal_after_refresh = {
    .script = script_401_1001,
    .configure = old_then_also_bad,
    .err = ERR_AUTH,
    .status = 401,
    .error_id = 1001,
    .attempts = 2,
    .refreshes = 1,
    .message = "eBay refused the access token again after a refresh: Invalid access token",
    .retry_status = 401,
    .retry_error_id = 1001,
};

static void no_token_file(struct ebay_fixture *fx)
{
	fx->token.initial = NULL;
	fx->token.fail_initial = 1;
}

static const struct ebay_fixture_case no_token_fails_without_a_call = {
    .configure = no_token_file,
    .err = ERR_AUTH,
    .attempts = 0,
    .message = "no eBay access token: no token file",
};

static void token_with_newline(struct ebay_fixture *fx)
{
	fx->token.initial = "tok\r\nX-Injected: 1";
}

static const struct ebay_fixture_case token_with_newline_is_refused = {
    .configure = token_with_newline,
    .err = ERR_AUTH,
    .attempts = 0,
    .message = "no eBay access token: the token has a space or control character",
};

/* Twenty requests, eight at once, meet a refused token: one refresh for
 * all, and only those in flight with the old token are retried. */
static void test_401_refreshes_once_under_concurrency(void **state)
{
	static struct ebay_fixture_outcome o[20];
	struct ebay_fixture *fx = *state;
	int i, refused = 0;

	old_then_new(fx);
	fx->cfg.concurrency = 8;
	memset(o, 0, sizeof(o));
	ebay_fixture_serve(script_401_1001);
	ebay_fixture_client(fx);
	for (i = 0; i < 20; i++)
		assert_int_equal(ebay_submit(fx->client, EBAY_REQ_OFFERS, fx->url, "A",
					     ebay_fixture_done, &o[i]),
				 ERR_OK);
	ebay_fixture_drain(fx->client, 10000);
	for (i = 0; i < 20; i++) {
		assert_int_equal(o[i].called, 1);
		assert_int_equal(o[i].err, ERR_OK);
		assert_true(o[i].attempts == 1 || o[i].attempts == 2);
	}
	ebay_fixture_outcomes_release(o, 20);
	assert_int_equal(fx->token.refreshes, 1);
	for (i = 0; i < ebay_fixture_hits(); i++)
		refused += strcmp(ebay_fixture_hit(i)->auth, "Bearer tok-new") != 0;
	/* Every request that met the old token was in flight with it. */
	assert_true(refused >= 1 && refused <= 8);
	assert_int_equal(ebay_fixture_hits(), 20 + refused);
	assert_int_equal(ebay_fixture_count_logs(fx, "fetch_offers_retry"), refused);
	assert_int_equal(ebay_fixture_find_log(fx, "fetch_offers_retry", 0)->retry_in_ms, 0);
	assert_int_equal(ebay_fixture_find_log(fx, "fetch_offers_retry", 0)->status, 401);
}

static void test_failed_refresh_is_not_retried(void **state)
{
	static struct ebay_fixture_outcome o[6];
	struct ebay_fixture *fx = *state;
	int i;

	fx->token.initial = "tok-old";
	fx->token.refreshed = NULL;
	fx->token.fail_refresh = 1;
	memset(o, 0, sizeof(o));
	ebay_fixture_serve(script_401_1001);
	ebay_fixture_client(fx);
	for (i = 0; i < 6; i++)
		ebay_submit(fx->client, EBAY_REQ_OFFERS, fx->url, "A", ebay_fixture_done, &o[i]);
	ebay_fixture_drain(fx->client, 10000);
	for (i = 0; i < 6; i++) {
		assert_int_equal(o[i].err, ERR_AUTH);
		assert_string_equal(o[i].message, "cannot refresh the eBay access token: refresh "
						  "token revoked (invalid_grant)");
	}
	assert_int_equal(fx->token.refreshes, 1);
}

/* The token source is asked again after token_recheck_ms: a source that
 * mints tokens replaces one before eBay refuses it, with no refresh. */
static void test_token_source_asked_again(void **state)
{
	struct ebay_fixture *fx = *state;

	fx->cfg.token_recheck_ms = 100;
	fx->token.initial = "tok-first";
	fx->token.refreshed = "tok-never";
	ebay_fixture_client(fx);
	assert_int_equal(ebay_fixture_get(fx, fx->url)->err, ERR_OK);
	fx->token.initial = "tok-rotated";
	ebay_fixture_get(fx, fx->url); /* within 100 ms: the cached token */
	timeutil_sleep_ms(150);
	assert_int_equal(ebay_fixture_get(fx, fx->url)->err, ERR_OK);
	assert_int_equal(ebay_fixture_hits(), 3);
	assert_string_equal(ebay_fixture_hit(0)->auth, "Bearer tok-first");
	assert_string_equal(ebay_fixture_hit(1)->auth, "Bearer tok-first");
	assert_string_equal(ebay_fixture_hit(2)->auth, "Bearer tok-rotated");
	assert_int_equal(fx->token.refreshes, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    EBAY_FIXTURE_CASE(status_403_errorid_1100_refreshes),
	    EBAY_FIXTURE_CASE(status_403_other_error_is_final),
	    EBAY_FIXTURE_CASE(second_refusal_after_refresh),
	    EBAY_FIXTURE_CASE(no_token_fails_without_a_call),
	    EBAY_FIXTURE_CASE(token_with_newline_is_refused),
	    EBAY_FIXTURE_TEST(test_401_refreshes_once_under_concurrency),
	    EBAY_FIXTURE_TEST(test_failed_refresh_is_not_retried),
	    EBAY_FIXTURE_TEST(test_token_source_asked_again),
	};

	return cmocka_run_group_tests(tests, ebay_fixture_group_setup, ebay_fixture_group_teardown);
}
