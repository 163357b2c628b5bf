/*
 * Tests of the eBay client's retries (ebay.c): each retryable answer (5xx,
 * 429 with and without Retry-After, errorIds 25001 and 25025, malformed
 * and truncated bodies, dropped connections, stalls) is retried with
 * backoff and then succeeds, or gives up after max_attempts with the last
 * answer. Most are rows "scripted reply -> outcome" for
 * ebay_fixture_run_case(); a raw socket server sends real TCP resets, and a
 * bound but not listening port refuses connections.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "ebay.h"
#include "ebay_fixture.h"
#include "metrics.h"
#include "pacer.h"
#include "timeutil.h"

/* ---- retried, then a success ---- */

/* Full jitter: each wait is between 0 and the ceiling of its retry. */
static void jitter_within_backoff(struct ebay_fixture *fx)
{
	const struct ebay_fixture_log *first = ebay_fixture_find_log(fx, "fetch_offers_retry", 0);
	const struct ebay_fixture_log *second = ebay_fixture_find_log(fx, "fetch_offers_retry", 1);

	assert_int_equal(metrics_get(METRIC_EBAY_RETRIES) - fx->retries_before, 2);
	assert_true(first->retry_in_ms >= 0 && first->retry_in_ms <= 10);
	assert_true(second->retry_in_ms >= 0 && second->retry_in_ms <= 20);
}

static const struct ebay_fixture_case status_500_errorid_25001_twice = {
    .answer = {.status = 500,
	       .body = "{\"errors\":[{\"errorId\":25001,\"domain\":\"API_INVENTORY\","
		       "\"category\":\"APPLICATION\",\"message\":\"A system error has "
		       "occurred.\"}]}",
	       .times = 2},
    .err = ERR_OK,
    .status = 200,
    .attempts = 3,
    .retry_status = 500,
    .retry_error_id = 25001,
    .retry_message = "A system error has occurred.",
    .more = jitter_within_backoff,
};

/* 25025 is retried whatever the status it comes with. */
static const struct ebay_fixture_case status_400_errorid_25025_once = {
    .answer = {.status = 400,
	       .body = "{\"errors\":[{\"errorId\":\"25025\",\"message\":\"Concurrent access of "
		       "the same resource. Please try again later.\"}]}",
	       .times = 1},
    .err = ERR_OK,
    .status = 200,
    .attempts = 2,
    .retry_status = 400,
    .retry_error_id = 25025,
    .retry_message = "Concurrent access of the same resource. Please try again later.",
};

static void retry_after_one_second(struct ebay_fixture *fx)
{
	fx->cfg.backoff_max_ms = 5000;
	fx->pacer = pacer_new(1000, 1);
}

/* The wait is Retry-After's, and the 429 halves the shared pacer's rate. */
static void waited_a_second_and_throttled(struct ebay_fixture *fx)
{
	long long gap = ebay_fixture_hit(1)->at_ms - ebay_fixture_hit(0)->at_ms;

	assert_int_equal(ebay_fixture_find_log(fx, "fetch_offers_retry", 0)->retry_in_ms, 1000);
	if (gap < 990 || gap >= 2000)
		fail_msg("the second attempt came %lld ms after the first", gap);
	assert_int_equal(metrics_get(METRIC_EBAY_THROTTLED) - fx->throttled_before, 1);
	assert_true(pacer_rate(fx->pacer) > 499 && pacer_rate(fx->pacer) < 501);
}

static const struct ebay_fixture_case status_429_retry_after_1 = {
    .answer = {.status = 429,
	       .retry_after = "1",
	       .body = "{\"errors\":[{\"errorId\":2001,\"message\":\"Too many requests\"}]}",
	       .times = 1},
    .configure = retry_after_one_second,
    .err = ERR_OK,
    .status = 200,
    .attempts = 2,
    .retry_status = 429,
    .retry_error_id = 2001,
    .retry_message = "Too many requests",
    .more = waited_a_second_and_throttled,
};

/* Retry-After: 120 waits backoff_max_ms (40), not two minutes. */
static void retry_after_capped(struct ebay_fixture *fx)
{
	assert_int_equal(ebay_fixture_find_log(fx, "fetch_offers_retry", 0)->retry_in_ms, 40);
	assert_true(timeutil_mono_ms() - fx->started_ms < 1000);
}

static const struct ebay_fixture_case status_429_retry_after_120 = {
    .answer = {.status = 429, .retry_after = "120", .times = 1},
    .err = ERR_OK,
    .status = 200,
    .attempts = 2,
    .retry_status = 429,
    .more = retry_after_capped,
};

static void backed_off(struct ebay_fixture *fx)
{
	assert_true(ebay_fixture_find_log(fx, "fetch_offers_retry", 0)->retry_in_ms <= 10);
	assert_true(ebay_fixture_find_log(fx, "fetch_offers_retry", 1)->retry_in_ms <= 20);
}

static const struct ebay_fixture_case status_429_bare_twice = {
    .answer = {.status = 429, .body = "", .times = 2},
    .err = ERR_OK,
    .status = 200,
    .attempts = 3,
    .retry_status = 429,
    .retry_message = "HTTP 429 with no error message",
    .more = backed_off,
};

static const struct ebay_fixture_case malformed_json_once = {
    .answer = {.body = "{\"offers\": [{\"offerId\": \"1\"", .times = 1},
    .err = ERR_OK,
    .status = 200,
    .attempts = 2,
    .retry_status = 200,
    .retry_message_has = "malformed JSON in a 200 response",
};

static const struct ebay_fixture_case truncated_body_once = {
    .answer = {.mode = EBAY_FIXTURE_TRUNCATE, .times = 1},
    .err = ERR_OK,
    .status = 200,
    .attempts = 2,
    .retry_status = 0,
};

static const struct ebay_fixture_case dropped_connection_twice = {
    .answer = {.mode = EBAY_FIXTURE_DROP, .times = 2},
    .err = ERR_OK,
    .status = 200,
    .attempts = 3,
    .retry_status = 0,
};

static void timeout_250(struct ebay_fixture *fx)
{
	fx->cfg.request_timeout_ms = 250;
}

static const struct ebay_fixture_case stall_once = {
    .answer = {.delay_ms = 700, .times = 1},
    .configure = timeout_250,
    .err = ERR_OK,
    .status = 200,
    .attempts = 2,
    .retry_status = 0,
    .retry_message_has = "timed out",
};

/* ---- retried until max_attempts, then the last answer ---- */

static const struct ebay_fixture_case status_503_always = {
    .answer = {.status = 503, .body = "<html>Service Unavailable</html>"},
    .err = ERR_EBAY,
    .status = 503,
    .attempts = 4,
    .message = "<html>Service Unavailable</html>",
    .retry_status = 503,
    .retry_message = "<html>Service Unavailable</html>",
};

static void two_attempts(struct ebay_fixture *fx)
{
	fx->cfg.max_attempts = 2;
}

static const struct ebay_fixture_case malformed_json_always = {
    .answer = {.body = "not json"},
    .configure = two_attempts,
    .err = ERR_PARSE,
    .status = 200,
    .attempts = 2,
    .retry_status = 200,
    .retry_message_has = "malformed JSON in a 200 response",
};

/* ---- transports the scripted server cannot fake ---- */

/* Accepts connections and resets the first `resets` after reading their
 * request head; answers the later ones {"ok":true}. */
struct rawsrv {
	int fd;
	int port;
	int resets;
	_Atomic int accepted;
	_Atomic int stop;
	pthread_t th;
};

static void *raw_thread(void *arg)
{
	static const char answer[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
				     "Content-Length: 11\r\nConnection: close\r\n\r\n{\"ok\":true}";
	struct rawsrv *r = arg;

	while (!r->stop) {
		struct pollfd pfd = {r->fd, POLLIN, 0};
		char req[4096];
		size_t got = 0;
		ssize_t n;
		int cfd;

		if (poll(&pfd, 1, 50) <= 0)
			continue;
		cfd = accept(r->fd, NULL, NULL);
		if (cfd < 0)
			continue;
		/* Read the request head so the reset comes after it. */
		while (got < sizeof(req) - 1 &&
		       (n = recv(cfd, req + got, sizeof(req) - 1 - got, 0)) > 0) {
			got += (size_t)n;
			req[got] = '\0';
			if (strstr(req, "\r\n\r\n"))
				break;
		}
		if (r->accepted++ < r->resets) {
			struct linger lg = {1, 0};

			setsockopt(cfd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		} else {
			n = send(cfd, answer, sizeof(answer) - 1, MSG_NOSIGNAL);
			(void)n;
		}
		close(cfd);
	}
	return NULL;
}

/* A loopback socket bound to a free port; listening or not. */
static int loopback_socket(int *port, int listening)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	if (listening)
		assert_int_equal(listen(fd, 16), 0);
	getsockname(fd, (struct sockaddr *)&sa, &len);
	*port = ntohs(sa.sin_port);
	return fd;
}

/* Points fx's client at 127.0.0.1:port; returns the getOffers URL. */
static const char *client_at(struct ebay_fixture *fx, char *base, size_t size, int port)
{
	snprintf(base, size, "http://127.0.0.1:%d", port);
	fx->cfg.api_base = base;
	ebay_fixture_client(fx);
	return ebay_fixture_url(fx, "A");
}

static void test_tcp_reset_is_retried(void **state)
{
	struct ebay_fixture *fx = *state;
	const struct ebay_fixture_outcome *o;
	struct rawsrv raw;
	char base[64];
	const char *url;

	memset(&raw, 0, sizeof(raw));
	raw.resets = 2;
	raw.fd = loopback_socket(&raw.port, 1);
	assert_int_equal(pthread_create(&raw.th, NULL, raw_thread, &raw), 0);
	url = client_at(fx, base, sizeof(base), raw.port);
	o = ebay_fixture_get(fx, url);
	raw.stop = 1;
	pthread_join(raw.th, NULL);
	close(raw.fd);
	assert_int_equal(o->err, ERR_OK);
	assert_int_equal(o->attempts, 3);
	assert_int_equal(raw.accepted, 3);
	assert_true(json_is_true(json_object_get(o->json, "ok")));
	assert_int_equal(ebay_fixture_find_log(fx, "fetch_offers_retry", 0)->status, 0);
}

/* Refused: bound (so no other test program can take the port) but not
 * listening. */
static void test_connection_refused_exhausts_attempts(void **state)
{
	struct ebay_fixture *fx = *state;
	const struct ebay_fixture_outcome *o;
	char base[64];
	const char *url;
	int port, fd = loopback_socket(&port, 0);

	fx->cfg.max_attempts = 3;
	url = client_at(fx, base, sizeof(base), port);
	o = ebay_fixture_get(fx, url);
	close(fd);
	assert_int_equal(o->err, ERR_HTTP);
	assert_int_equal(o->status, 0);
	assert_int_equal(o->attempts, 3);
	assert_true(o->message[0] != '\0');
	assert_int_equal(ebay_fixture_count_logs(fx, "fetch_offers_retry"), 2);
	assert_int_equal(ebay_fixture_count_logs(fx, "fetch_offers_failed"), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    EBAY_FIXTURE_CASE(status_500_errorid_25001_twice),
	    EBAY_FIXTURE_CASE(status_400_errorid_25025_once),
	    EBAY_FIXTURE_CASE(status_429_retry_after_1),
	    EBAY_FIXTURE_CASE(status_429_retry_after_120),
	    EBAY_FIXTURE_CASE(status_429_bare_twice),
	    EBAY_FIXTURE_CASE(malformed_json_once),
	    EBAY_FIXTURE_CASE(truncated_body_once),
	    EBAY_FIXTURE_CASE(dropped_connection_twice),
	    EBAY_FIXTURE_CASE(stall_once),
	    EBAY_FIXTURE_CASE(status_503_always),
	    EBAY_FIXTURE_CASE(malformed_json_always),
	    EBAY_FIXTURE_TEST(test_tcp_reset_is_retried),
	    EBAY_FIXTURE_TEST(test_connection_refused_exhausts_attempts),
	};

	return cmocka_run_group_tests(tests, ebay_fixture_group_setup, ebay_fixture_group_teardown);
}
