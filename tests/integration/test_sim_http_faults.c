/*
 * ebaysync-sim's bad days over HTTP: each fault kind as a client sees it
 * (500 errorId 25001, 500 errorId 25025, a reset, a cut body, malformed
 * JSON, a stall past the client's timeout while other calls still go
 * through), latency and jitter served without holding worker threads, the
 * rate limit and its 429 errorId 2001 (with and without Retry-After, global
 * and per token), and the daily quota.
 */
#include <curl/curl.h>
#include <pthread.h>
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

#include "buf.h"
#include "testutil.h"
#include "timeutil.h"
#include "xalloc.h"

#define OFFERS "/sell/inventory/v1/offer?sku=SKU-000002"

static struct testutil_proc sim;

struct result {
	CURLcode rc;
	long status;
	struct buf body, headers;
	long long ms;
};

static size_t collect(char *data, size_t size, size_t n, void *ctx)
{
	buf_add(ctx, data, size * n);
	return size * n;
}

/* GET path with the fixed token and a timeout; the caller releases r. */
static void get(const char *path, const char *token, long timeout_ms, struct result *r)
{
	CURL *h = curl_easy_init();
	char *url = xasprintf("%s%s", sim.base_url, path);
	char *auth = xasprintf("Authorization: Bearer %s", token ? token : "T");
	struct curl_slist *hl = curl_slist_append(NULL, auth);
	long long t0 = timeutil_mono_ms();

	memset(r, 0, sizeof(*r));
	buf_init(&r->body, 0);
	buf_init(&r->headers, 0);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &r->body);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, collect);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, &r->headers);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	r->rc = curl_easy_perform(h);
	r->ms = timeutil_mono_ms() - t0;
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
	curl_slist_free_all(hl);
	curl_easy_cleanup(h);
	free(auth);
	free(url);
}

static void result_release(struct result *r)
{
	buf_release(&r->body);
	buf_release(&r->headers);
}

static void configure(const char *json)
{
	char *url = xasprintf("%s/sim/config", sim.base_url);
	struct testutil_http r;

	assert_int_equal(testutil_http("POST", url, json, NULL, &r), 0);
	if (r.status != 200)
		fail_msg("config %s refused: %s", json, r.body);
	testutil_http_release(&r);
	free(url);
}

static json_t *stats(void)
{
	char *url = xasprintf("%s/sim/stats", sim.base_url);
	json_t *j = testutil_get_json(url, NULL);

	free(url);
	assert_non_null(j);
	return j;
}

static void reset_all(void)
{
	char *url = xasprintf("%s/sim/reset", sim.base_url);
	struct testutil_http r;

	configure("{\"fault_rate\":0,\"fail_500\":0,\"fail_25025\":0,\"fail_reset\":0,"
		  "\"fail_truncate\":0,\"fail_malformed\":0,\"fail_stall\":0,\"latency_ms\":0,"
		  "\"jitter_ms\":0,\"rps\":0,\"burst\":0,\"daily_quota\":0,\"retry_after\":false,"
		  "\"rate_scope\":\"global\"}");
	assert_int_equal(testutil_http("POST", url, "", NULL, &r), 0);
	testutil_http_release(&r);
	free(url);
}

static int setup(void **state)
{
	char *argv[] = {TESTUTIL_SIM_BIN,  "--skus", "100", "--token", "T", "--threads", "2",
			"--refresh-token", "R",	     NULL};

	curl_global_init(CURL_GLOBAL_DEFAULT);
	return testutil_spawn(&sim, argv, NULL);
}

static int teardown(void **state)
{
	if (sim.pid > 0)
		testutil_stop(&sim, SIGTERM);
	curl_global_cleanup();
	return 0;
}

/* Last: SIGTERM ends the simulator cleanly (exit 0, and no leak under ASan). */
static void test_clean_exit(void **state)
{
	int status = testutil_stop(&sim, SIGTERM);

	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static int each_setup(void **state)
{
	reset_all();
	return 0;
}

static void test_error_faults(void **state)
{
	struct result r;
	json_t *s;

	configure("{\"fault_rate\":1,\"fail_500\":1}");
	get(OFFERS, NULL, 5000, &r);
	assert_int_equal(r.rc, CURLE_OK);
	assert_int_equal(r.status, 500);
	assert_non_null(strstr(buf_str(&r.body), "\"errorId\":25001"));
	result_release(&r);
	configure("{\"fail_500\":0,\"fail_25025\":1}");
	get(OFFERS, NULL, 5000, &r);
	assert_int_equal(r.status, 500);
	assert_non_null(strstr(buf_str(&r.body), "\"errorId\":25025"));
	result_release(&r);
	/* Faults come after auth: a bad token still gets its 401. */
	get(OFFERS, "bad", 5000, &r);
	assert_int_equal(r.status, 401);
	result_release(&r);
	s = stats();
	assert_int_equal(json_integer_value(json_object_get(json_object_get(s, "faults"), "500")),
			 1);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(s, "faults"), "25025")),
			 1);
	json_decref(s);
}

static void test_transport_faults(void **state)
{
	struct result r;
	json_t *s, *j;

	configure("{\"fault_rate\":1,\"fail_reset\":1}");
	get(OFFERS, NULL, 5000, &r);
	assert_true(r.rc == CURLE_RECV_ERROR || r.rc == CURLE_GOT_NOTHING);
	assert_int_equal(r.status, 0);
	result_release(&r);

	configure("{\"fail_reset\":0,\"fail_truncate\":1}");
	get(OFFERS, NULL, 5000, &r);
	assert_int_equal(r.rc, CURLE_PARTIAL_FILE);
	assert_int_equal(r.status, 200);
	assert_true(r.body.len > 10);
	result_release(&r);

	configure("{\"fail_truncate\":0,\"fail_malformed\":1}");
	get(OFFERS, NULL, 5000, &r);
	assert_int_equal(r.rc, CURLE_OK);
	assert_int_equal(r.status, 200);
	j = json_loadb(r.body.data, r.body.len, 0, NULL);
	assert_null(j);
	result_release(&r);

	s = stats();
	assert_int_equal(json_integer_value(json_object_get(json_object_get(s, "faults"), "reset")),
			 1);
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(s, "faults"), "truncate")), 1);
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(s, "faults"), "malformed")), 1);
	assert_int_equal(json_integer_value(json_object_get(
			     json_object_get(json_object_get(s, "calls"), "getOffers"), "0")),
			 1);
	json_decref(s);
}

struct stalled {
	struct result r;
};

static void *stalled_call(void *arg)
{
	struct stalled *st = arg;

	get(OFFERS, NULL, 1500, &st->r);
	return NULL;
}

static void test_stall_keeps_others_going(void **state)
{
	struct stalled st;
	pthread_t t;
	json_t *s;
	int quick = 0;

	configure("{\"fault_rate\":1,\"fail_stall\":1,\"stall_ms\":4000}");
	pthread_create(&t, NULL, stalled_call, &st);
	timeutil_sleep_ms(200); /* let it arrive and stall */
	configure("{\"fault_rate\":0,\"fail_stall\":0}");
	for (int i = 0; i < 20; i++) {
		struct result r;
		get(OFFERS, NULL, 1000, &r);
		quick += r.rc == CURLE_OK && r.status == 200 && r.ms < 500;
		result_release(&r);
	}
	pthread_join(t, NULL);
	assert_int_equal(quick, 20);
	assert_int_equal(st.r.rc, CURLE_OPERATION_TIMEDOUT);
	assert_true(st.r.ms >= 1400);
	result_release(&st.r);
	s = stats();
	assert_int_equal(json_integer_value(json_object_get(json_object_get(s, "faults"), "stall")),
			 1);
	json_decref(s);
}

static void test_latency_without_blocking(void **state)
{
	CURLM *m = curl_multi_init();
	CURL *h[8];
	struct buf bodies[8];
	struct curl_slist *hl = curl_slist_append(NULL, "Authorization: Bearer T");
	char *url = xasprintf("%s%s", sim.base_url, OFFERS);
	long long t0;
	int running = 1;
	struct result r;
	json_t *s;

	configure("{\"latency_ms\":300}");
	get(OFFERS, NULL, 5000, &r);
	assert_int_equal(r.status, 200);
	assert_true(r.ms >= 300);
	result_release(&r);

	/* Eight at once on two worker threads: about 300 ms, not 8 x 300. */
	for (int i = 0; i < 8; i++) {
		h[i] = curl_easy_init();
		buf_init(&bodies[i], 0);
		curl_easy_setopt(h[i], CURLOPT_URL, url);
		curl_easy_setopt(h[i], CURLOPT_HTTPHEADER, hl);
		curl_easy_setopt(h[i], CURLOPT_WRITEFUNCTION, collect);
		curl_easy_setopt(h[i], CURLOPT_WRITEDATA, &bodies[i]);
		curl_multi_add_handle(m, h[i]);
	}
	t0 = timeutil_mono_ms();
	while (running) {
		curl_multi_perform(m, &running);
		if (running)
			curl_multi_poll(m, NULL, 0, 100, NULL);
	}
	assert_true(timeutil_mono_ms() - t0 < 1000); /* blocking would take >= 1200 */
	for (int i = 0; i < 8; i++) {
		long status = 0;
		curl_easy_getinfo(h[i], CURLINFO_RESPONSE_CODE, &status);
		assert_int_equal(status, 200);
		curl_multi_remove_handle(m, h[i]);
		curl_easy_cleanup(h[i]);
		buf_release(&bodies[i]);
	}
	s = stats();
	assert_true(json_integer_value(json_object_get(s, "max_concurrency")) >= 8);
	json_decref(s);

	/* Jitter: spread over 0..200 ms. */
	configure("{\"latency_ms\":0,\"jitter_ms\":200}");
	{
		long long lo = 1000, hi = 0;
		for (int i = 0; i < 20; i++) {
			get(OFFERS, NULL, 5000, &r);
			lo = r.ms < lo ? r.ms : lo;
			hi = r.ms > hi ? r.ms : hi;
			result_release(&r);
		}
		assert_true(lo < 150);
		assert_true(hi > 60 && hi < 800);
	}
	curl_multi_cleanup(m);
	curl_slist_free_all(hl);
	free(url);
}

static void test_rate_limit(void **state)
{
	long long t0, elapsed;
	int ok = 0, limited = 0;
	struct result r;
	json_t *s;

	configure("{\"rps\":20,\"burst\":5}");
	t0 = timeutil_mono_ms();
	for (int i = 0; i < 100; i++) {
		get(OFFERS, NULL, 5000, &r);
		if (r.status == 200) {
			ok++;
		} else {
			assert_int_equal(r.status, 429);
			assert_non_null(strstr(buf_str(&r.body), "\"errorId\":2001"));
			assert_null(strstr(buf_str(&r.headers), "Retry-After"));
			limited++;
		}
		result_release(&r);
	}
	elapsed = timeutil_mono_ms() - t0;
	/* Burst 5 plus 20 a second for the time it took, give or take one. */
	if (ok < 5 + 20 * elapsed / 1000 - 2 || ok > 5 + 20 * elapsed / 1000 + 2)
		fail_msg("%d calls passed in %lld ms at 20/s, burst 5", ok, elapsed);
	assert_true(limited > 50);
	s = stats();
	assert_int_equal(json_integer_value(json_object_get(s, "throttled")), limited);
	assert_int_equal(json_integer_value(json_object_get(
			     json_object_get(json_object_get(s, "calls"), "getOffers"), "429")),
			 limited);
	json_decref(s);

	configure("{\"retry_after\":true}");
	do {
		get(OFFERS, NULL, 5000, &r);
		if (r.status == 429)
			break;
		result_release(&r);
	} while (1);
	assert_non_null(strstr(buf_str(&r.headers), "Retry-After: 1"));
	result_release(&r);
}

static char *issued_token(void)
{
	char *url = xasprintf("%s/identity/v1/oauth2/token", sim.base_url);
	/* base64("ebaysync-sim-client:ebaysync-sim-secret") */
	const char *hdrs[] = {"Authorization: Basic "
			      "ZWJheXN5bmMtc2ltLWNsaWVudDplYmF5c3luYy1zaW0tc2VjcmV0",
			      "Content-Type: application/x-www-form-urlencoded", NULL};
	struct testutil_http r;
	json_t *j;
	char *token;

	assert_int_equal(
	    testutil_http("POST", url, "grant_type=refresh_token&refresh_token=R", hdrs, &r), 0);
	assert_int_equal(r.status, 200);
	j = json_loads(r.body, 0, NULL);
	token = xstrdup(json_string_value(json_object_get(j, "access_token")));
	json_decref(j);
	testutil_http_release(&r);
	free(url);
	return token;
}

static void test_rate_limit_per_token(void **state)
{
	char *other = issued_token();
	int ok_t = 0, ok_other = 0;
	struct result r;

	configure("{\"rps\":1,\"burst\":3,\"rate_scope\":\"token\"}");
	for (int i = 0; i < 6; i++) {
		get(OFFERS, NULL, 5000, &r);
		ok_t += r.status == 200;
		result_release(&r);
		get(OFFERS, other, 5000, &r);
		ok_other += r.status == 200;
		result_release(&r);
	}
	assert_true(ok_t >= 3 && ok_t <= 4);
	assert_true(ok_other >= 3 && ok_other <= 4);
	free(other);
}

static void test_daily_quota(void **state)
{
	struct result r;
	json_t *s;

	configure("{\"daily_quota\":3,\"retry_after\":true}");
	for (int i = 0; i < 3; i++) {
		get(OFFERS, NULL, 5000, &r);
		assert_int_equal(r.status, 200);
		result_release(&r);
	}
	get(OFFERS, NULL, 5000, &r);
	assert_int_equal(r.status, 429);
	assert_non_null(strstr(buf_str(&r.body), "daily call limit of 3"));
	/* Retry-After: until the 24-hour window ends. */
	assert_non_null(strstr(buf_str(&r.headers), "Retry-After: 86"));
	result_release(&r);
	s = stats();
	assert_int_equal(json_integer_value(json_object_get(s, "quota_exceeded")), 1);
	json_decref(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_error_faults, each_setup),
	    cmocka_unit_test_setup(test_transport_faults, each_setup),
	    cmocka_unit_test_setup(test_stall_keeps_others_going, each_setup),
	    cmocka_unit_test_setup(test_latency_without_blocking, each_setup),
	    cmocka_unit_test_setup(test_rate_limit, each_setup),
	    cmocka_unit_test_setup(test_rate_limit_per_token, each_setup),
	    cmocka_unit_test_setup(test_daily_quota, each_setup),
	    cmocka_unit_test(test_clean_exit),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
