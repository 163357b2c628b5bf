/*
 * The fixture that the tests of the eBay client (tests/unit/test_ebay*.c)
 * share: a libmicrohttpd server on 127.0.0.1 whose every answer the test
 * scripts, a token source and a request log that record what the client did,
 * and cmocka setup and teardown functions that make and free one client per
 * test, so that a test holds only its script and its checks.
 *
 * The server (one per test program, started by the group setup) counts the
 * requests in flight and stamps each one, so the tests check concurrency and
 * pacing from the outside.
 *
 * Tests of one shape ("this scripted reply gives this outcome") are rows of
 * a table of struct ebay_fixture_case, each its own cmocka test through
 * EBAY_FIXTURE_CASE(); ebay_fixture_run_case() runs one and checks what is
 * common to every request: the outcome, the server's count, the request log
 * and the token refreshes.
 */
#ifndef EBAY_FIXTURE_H
#define EBAY_FIXTURE_H

#include <stddef.h>

#include "ebay.h"

#define EBAY_FIXTURE_HITS_MAX 512
#define EBAY_FIXTURE_LOGS_MAX 1024

/* One request as the server saw it. */
struct ebay_fixture_hit {
	int n; /* 1-based, in arrival order */
	long long at_ms;
	char path[256];
	char auth[128];
	char market[64];
	char accept[64];
	char ctype[64];
	char accept_enc[64];
	char sku[256];
	int has_sku;
	char offset[32];
};

enum ebay_fixture_mode {
	EBAY_FIXTURE_NORMAL,
	EBAY_FIXTURE_TRUNCATE, /* Content-Length 100, 10 bytes, then close */
	EBAY_FIXTURE_DROP,     /* close without an answer */
	EBAY_FIXTURE_STREAM,   /* stream_len bytes of unknown length */
};

/* The answer a script fills in; it starts as 200 {"offers":[],"total":0}. */
struct ebay_fixture_reply {
	int status;
	char body[8192];
	const char *retry_after; /* the Retry-After header, or NULL */
	enum ebay_fixture_mode mode;
	int delay_ms; /* before the answer */
	size_t stream_len;
};

/* Called (on a server thread) for each request; fills in the answer. */
typedef void (*ebay_fixture_script)(const struct ebay_fixture_hit *h,
				    struct ebay_fixture_reply *out);

/* A canned answer for the first `times` requests (0: every one); the fields
 * left 0 or NULL keep the default answer's. The later requests get the
 * script's answer, or the default. */
struct ebay_fixture_answer {
	int status;
	const char *body;
	const char *retry_after;
	enum ebay_fixture_mode mode;
	int delay_ms;
	size_t stream_len;
	int times;
};

/* What the token source hands out; the counters say how it was asked. */
struct ebay_fixture_token {
	const char *initial;   /* for refresh 0; read at each call */
	const char *refreshed; /* for refresh 1 */
	int fail_initial;      /* ERR_AUTH "no token file" instead */
	int fail_refresh;      /* ERR_AUTH "refresh token revoked (invalid_grant)" */
	int calls;
	int refreshes;
};

/* One line of the client's request log, copied. */
struct ebay_fixture_log {
	char event[48];
	char path[300];
	char label[64];
	char message[512];
	long status;
	long error_id;
	int attempt;
	long long retry_in_ms;
};

/* One request's final outcome as the completion callback saw it. */
struct ebay_fixture_outcome {
	int called;
	enum error err;
	long status;
	long error_id;
	int attempts;
	char message[512];
	json_t *json; /* a reference of its own, or NULL */
};

/* The per-test state that ebay_fixture_setup() puts in *state. */
struct ebay_fixture {
	/* Test defaults against the server (concurrency 4, 4 attempts, backoff
	 * 10..40 ms, 1000 requests/s); change before ebay_fixture_client(). */
	struct ebay_config cfg;
	/* "tok-secret-1", refreshed to "tok-secret-2". */
	struct ebay_fixture_token token;
	struct pacer *pacer;		 /* NULL, or one the test made; freed by teardown */
	struct ebay_client *client;	 /* made by ebay_fixture_client(); freed by teardown */
	char *url;			 /* getOffers URL for SKU "A"; freed by teardown */
	struct ebay_fixture_outcome out; /* the last ebay_fixture_get() */
	const void *param;		 /* the cmocka initial state, e.g. a case */
	long long started_ms;		 /* when ebay_fixture_run_case() submitted */
	long long retries_before;	 /* METRIC_EBAY_RETRIES then */
	long long throttled_before;	 /* METRIC_EBAY_THROTTLED then */
	int n_logs;
	struct ebay_fixture_log logs[EBAY_FIXTURE_LOGS_MAX];
};

/* cmocka group setup and teardown: start and stop the scripted server. */
int ebay_fixture_group_setup(void **state);
int ebay_fixture_group_teardown(void **state);

/* cmocka test setup and teardown: a fresh struct ebay_fixture in *state
 * (its param is the initial state given, if any), the server reset to the
 * default answer; teardown frees the client, pacer, URL and outcome. */
int ebay_fixture_setup(void **state);
int ebay_fixture_teardown(void **state);

/* Clears the server's counters and log and answers with script (NULL: the
 * default answer) from now on. */
void ebay_fixture_serve(ebay_fixture_script script);
/* Answers with *a (not copied; NULL: no more) before the script. */
void ebay_fixture_serve_answer(const struct ebay_fixture_answer *a);
/* Requests the server has seen, most in flight at once, and the i-th seen
 * (0-based; fails the test when there is none). */
int ebay_fixture_hits(void);
int ebay_fixture_max_inflight(void);
const struct ebay_fixture_hit *ebay_fixture_hit(int i);
/* "http://127.0.0.1:PORT" */
const char *ebay_fixture_base(void);

/* Makes fx->client from fx->cfg, fx->pacer, fx->token and the log (emptied)
 * and returns it (still owned by fx). */
struct ebay_client *ebay_fixture_client(struct ebay_fixture *fx);
/* Replaces fx->url with the getOffers URL of sku; returns it. */
const char *ebay_fixture_url(struct ebay_fixture *fx, const char *sku);

/* A completion callback filling in the struct ebay_fixture_outcome ctx,
 * and the release of n of them. */
void ebay_fixture_done(void *ctx, const struct ebay_response *r);
void ebay_fixture_outcomes_release(struct ebay_fixture_outcome *o, size_t n);
/* Polls until nothing is pending, failing the test after max_ms. */
void ebay_fixture_drain(struct ebay_client *c, long long max_ms);
/* GETs url (label "SKU-1") through fx->client's queue and returns its
 * outcome, kept in fx->out until the next call or the teardown. */
const struct ebay_fixture_outcome *ebay_fixture_get(struct ebay_fixture *fx, const char *url);

/* Log lines of one event, and the nth (0-based) of them or NULL. */
int ebay_fixture_count_logs(const struct ebay_fixture *fx, const char *event);
const struct ebay_fixture_log *ebay_fixture_find_log(const struct ebay_fixture *fx,
						     const char *event, int nth);

/*
 * "This scripted reply gives this outcome": one GET of getOffers through a
 * client made after configure(). Besides the fields below,
 * ebay_fixture_run_case() checks that the server saw one request per
 * attempt, that the log has a request line per attempt, a retry line (with
 * a reason) for each but the last, and a success or a failed line naming
 * the last attempt, its status and errorId, and that the body is there
 * exactly when err is ERR_OK.
 */
struct ebay_fixture_case {
	struct ebay_fixture_answer answer;	    /* the scripted reply ... */
	ebay_fixture_script script;		    /* ... or, after its `times`, this one */
	const char *sku;			    /* NULL: "A" */
	void (*configure)(struct ebay_fixture *fx); /* NULL, or changes cfg, token, pacer */
	enum error err;
	long status;
	long error_id;
	int attempts;
	int refreshes;	     /* of the token */
	const char *message; /* the outcome's message exactly; NULL: not checked */
	/* The first retry's status, errorId and message (exactly, or a part
	 * of it); checked when attempts > 1, the messages unless NULL. */
	long retry_status;
	long retry_error_id;
	const char *retry_message;
	const char *retry_message_has;
	void (*more)(struct ebay_fixture *fx); /* further checks, or NULL */
};

void ebay_fixture_run_case(void **state);

/* A cmocka test named for the case c, a struct ebay_fixture_case. */
#define EBAY_FIXTURE_CASE(c)                                                                       \
	{                                                                                          \
#c, ebay_fixture_run_case, ebay_fixture_setup, ebay_fixture_teardown, (void *)&(c) \
	}

/* A cmocka test f with a fresh struct ebay_fixture in *state. */
#define EBAY_FIXTURE_TEST(f)                                                                       \
	cmocka_unit_test_setup_teardown(f, ebay_fixture_setup, ebay_fixture_teardown)

#endif
