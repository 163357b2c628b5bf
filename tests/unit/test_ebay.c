/*
 * Tests of one request through the eBay client (ebay.c): the URLs it
 * builds, the headers it sends, its request log (which never holds the
 * token or the host), the final answers that are not retried (a 404, a
 * body over the cap), SKUs that must survive the query string, and the
 * reading of eBay's error bodies. Retries, tokens, the queue and paging
 * have files of their own (test_ebay_*.c); the scripted server and the
 * per-test client are in tests/helpers/ebay_fixture.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ebay.h"
#include "ebay_fixture.h"

/* ---- URLs ---- */

static void test_urls(void **state)
{
	struct ebay_config cfg;
	char *u;

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	u = ebay_inventory_url(&cfg, 200, 0);
	assert_string_equal(
	    u, "https://api.ebay.com/sell/inventory/v1/inventory_item?limit=200&offset=0");
	free(u);
	u = ebay_inventory_url(NULL, 25, 400);
	assert_string_equal(
	    u, "https://api.ebay.com/sell/inventory/v1/inventory_item?limit=25&offset=400");
	free(u);
	cfg.api_base = "https://api.sandbox.ebay.com//";
	u = ebay_offers_url(&cfg, "ABC-123", 100);
	assert_string_equal(
	    u, "https://api.sandbox.ebay.com/sell/inventory/v1/offer?sku=ABC-123&limit=100");
	free(u);
	u = ebay_offers_url(&cfg, "a b/c#d%e+f?g&h=i\"j'k", 50);
	assert_string_equal(u, "https://api.sandbox.ebay.com/sell/inventory/v1/offer?sku="
			       "a%20b%2Fc%23d%25e%2Bf%3Fg%26h%3Di%22j%27k&limit=50");
	free(u);
	u = ebay_offers_url(&cfg, "Größe", 1);
	assert_string_equal(u, "https://api.sandbox.ebay.com/sell/inventory/v1/offer?sku="
			       "Gr%C3%B6%C3%9Fe&limit=1");
	free(u);
}

/* ---- one request: headers and log ---- */

static const struct ebay_fixture_answer one_offer = {
    .body = "{\"offers\":[{\"offerId\":\"1\"}],\"total\":1}"};

static void test_success_sends_headers_and_logs(void **state)
{
	struct ebay_fixture *fx = *state;
	const struct ebay_fixture_outcome *o;
	const struct ebay_fixture_hit *h;
	const struct ebay_fixture_log *l = fx->logs;
	int i;

	ebay_fixture_serve_answer(&one_offer);
	ebay_fixture_client(fx);
	o = ebay_fixture_get(fx, ebay_fixture_url(fx, "SKU-1"));
	assert_int_equal(o->err, ERR_OK);
	assert_int_equal(o->status, 200);
	assert_int_equal(o->attempts, 1);
	assert_string_equal(o->message, "");
	assert_string_equal(json_string_value(json_object_get(
				json_array_get(json_object_get(o->json, "offers"), 0), "offerId")),
			    "1");
	assert_int_equal(ebay_fixture_hits(), 1);
	h = ebay_fixture_hit(0);
	assert_string_equal(h->auth, "Bearer tok-secret-1");
	assert_string_equal(h->market, "EBAY_DE");
	assert_string_equal(h->accept, "application/json");
	assert_string_equal(h->ctype, "application/json");
	assert_non_null(strstr(h->accept_enc, "gzip"));
	assert_string_equal(h->sku, "SKU-1");

	assert_int_equal(fx->n_logs, 2);
	assert_string_equal(l[0].event, "fetch_offers_request");
	assert_string_equal(l[0].path, "/sell/inventory/v1/offer?sku=SKU-1&limit=100");
	assert_string_equal(l[0].label, "SKU-1");
	assert_int_equal(l[0].attempt, 1);
	assert_int_equal(l[0].status, 0);
	assert_string_equal(l[1].event, "fetch_offers_success");
	assert_int_equal(l[1].status, 200);
	assert_int_equal(l[1].retry_in_ms, -1);
	assert_string_equal(l[1].message, "");
	for (i = 0; i < fx->n_logs; i++) {
		assert_null(strstr(l[i].path, "tok-secret"));
		assert_null(strstr(l[i].message, "tok-secret"));
		assert_null(strstr(l[i].path, "127.0.0.1"));
	}
}

static void test_inventory_kind_logs_its_events(void **state)
{
	struct ebay_fixture *fx = *state;
	struct ebay_client *c = ebay_fixture_client(fx);
	struct ebay_response r;
	char *url = ebay_inventory_url(&fx->cfg, 200, 0);

	assert_int_equal(ebay_get(c, EBAY_REQ_INVENTORY, url, "page 1", &r), ERR_OK);
	free(url);
	assert_int_equal(r.status, 200);
	assert_non_null(r.json);
	assert_int_equal(ebay_fixture_count_logs(fx, "fetch_inventory_items_request"), 1);
	assert_int_equal(ebay_fixture_count_logs(fx, "fetch_inventory_items_success"), 1);
	assert_string_equal(fx->logs[0].path,
			    "/sell/inventory/v1/inventory_item?limit=200&offset=0");
	ebay_response_release(&r);
	assert_null(r.json);
}

/* ---- final answers: not retried ---- */

static void script_404(const struct ebay_fixture_hit *h, struct ebay_fixture_reply *r)
{
	r->status = 404;
	snprintf(r->body, sizeof(r->body),
		 "{\"errors\":[{\"errorId\":25702,\"domain\":\"API_INVENTORY\",\"message\":\"SKU "
		 "%s is not available in the system\"}]}",
		 h->sku);
}

static const struct ebay_fixture_case status_404_is_final = {
    .script = script_404,
    .sku = "GONE-1",
    .err = ERR_EBAY,
    .status = 404,
    .error_id = 25702,
    .attempts = 1,
    .message = "SKU GONE-1 is not available in the system",
};

static void script_big_body(const struct ebay_fixture_hit *h, struct ebay_fixture_reply *r)
{
	(void)h;
	memset(r->body, ' ', 4096);
	r->body[0] = '{';
	r->body[4094] = '}';
	r->body[4095] = '\0';
}

static void cap_1024(struct ebay_fixture *fx)
{
	fx->cfg.max_body = 1024;
}

/* Content-Length says so up front. */
static const struct ebay_fixture_case oversize_body = {
    .script = script_big_body,
    .configure = cap_1024,
    .err = ERR_TOOBIG,
    .status = 0,
    .attempts = 1,
    .message = "response body larger than the cap of 1024 bytes",
};

/* Only the running count can tell. */
static const struct ebay_fixture_case oversize_stream = {
    .answer = {.mode = EBAY_FIXTURE_STREAM, .stream_len = 1 << 20},
    .configure = cap_1024,
    .err = ERR_TOOBIG,
    .status = 0,
    .attempts = 1,
    .message = "response body larger than the cap of 1024 bytes",
};

/* ---- hostile SKUs ---- */

static void script_echo_sku(const struct ebay_fixture_hit *h, struct ebay_fixture_reply *r)
{
	json_t *o = json_pack("{s:s, s:b}", "sku", h->sku, "has", h->has_sku);
	char *s = json_dumps(o, 0);

	snprintf(r->body, sizeof(r->body), "%s", s ? s : "{}");
	free(s);
	json_decref(o);
}

static void test_hostile_skus_round_trip(void **state)
{
	static const char *const skus[] = {
	    "plain",	  "with space",	 "a/b/c",	"hash#tag",  "100%",
	    "%41%42",	  "a+b",	 "what?",	"a&b=c",     "\"quoted\"",
	    "'single'",	  "Größe-ü",	 "日本-SKU",	"..",	     "../../etc",
	    "semi;colon", "back\\slash", "tab\tinside", "  edges  ", "~tilde_-.",
	};
	struct ebay_fixture *fx = *state;
	struct ebay_client *c = ebay_fixture_client(fx);
	size_t i;

	ebay_fixture_serve(script_echo_sku);
	for (i = 0; i < sizeof(skus) / sizeof(skus[0]); i++) {
		const char *url = ebay_fixture_url(fx, skus[i]);
		struct ebay_response r;

		assert_int_equal(ebay_get(c, EBAY_REQ_OFFERS, url, skus[i], &r), ERR_OK);
		assert_true(json_is_true(json_object_get(r.json, "has")));
		if (strcmp(json_string_value(json_object_get(r.json, "sku")), skus[i]))
			fail_msg("sku '%s' arrived as '%s' (url %s)", skus[i],
				 json_string_value(json_object_get(r.json, "sku")), url);
		ebay_response_release(&r);
	}
	assert_int_equal(ebay_fixture_hits(), (int)(sizeof(skus) / sizeof(skus[0])));
}

/* ---- error bodies ---- */

/* Bodies eBay (or a proxy before it) answers with: the first errorId and
 * the message read from each. */
static const struct {
	const char *body;
	long error_id;
	const char *message;
} error_bodies[] = {
    {"{\"errors\":[{\"errorId\":25702,\"message\":\"SKU x not found\"},{\"errorId\":1}]}", 25702,
     "SKU x not found"},
    {"{\"error\":\"invalid_grant\",\"error_description\":\"the refresh token is revoked\"}", 0,
     "the refresh token is revoked"},
    {"<html>\n<body>Bad Gateway</body>\n</html>\n", 0, "<html> <body>Bad Gateway</body> </html>"},
    {"", 0, ""},
    {"{\"errors\":[]}", 0, ""},
    {"{\"errors\":[{\"errorId\":-5,\"message\":\"\\u0007bell\"}]}", 0, " bell"},
};

static void test_parse_error_bodies(void **state)
{
	const char *b;
	char msg[64];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(error_bodies) / sizeof(error_bodies[0]); i++) {
		b = error_bodies[i].body;
		assert_int_equal(ebay_parse_error(b, strlen(b), msg, sizeof(msg)),
				 error_bodies[i].error_id);
		if (strcmp(msg, error_bodies[i].message))
			fail_msg("%s: got message '%s'", b, msg);
		assert_int_equal(ebay_parse_error(b, strlen(b), NULL, 0), error_bodies[i].error_id);
	}
	/* longMessage, cut to the buffer, NUL-terminated. */
	b = "{\"errors\":[{\"errorId\":\"1001\",\"longMessage\":\"Invalid access token. "
	    "Check the value of the Authorization HTTP request header.\"}]}";
	assert_int_equal(ebay_parse_error(b, strlen(b), msg, sizeof(msg)), 1001);
	assert_int_equal(strlen(msg), sizeof(msg) - 1);
	assert_memory_equal(msg, "Invalid access token. Check", 27);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_urls),
	    EBAY_FIXTURE_TEST(test_success_sends_headers_and_logs),
	    EBAY_FIXTURE_TEST(test_inventory_kind_logs_its_events),
	    EBAY_FIXTURE_CASE(status_404_is_final),
	    EBAY_FIXTURE_CASE(oversize_body),
	    EBAY_FIXTURE_CASE(oversize_stream),
	    EBAY_FIXTURE_TEST(test_hostile_skus_round_trip),
	    cmocka_unit_test(test_parse_error_bodies),
	};

	return cmocka_run_group_tests(tests, ebay_fixture_group_setup, ebay_fixture_group_teardown);
}
