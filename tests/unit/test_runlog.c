/* The run log: ordering, JSON of each event, readers that wait, fall
 * behind the ring, and the persistence queue that never drops an event. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "runlog.h"
#include "timeutil.h"

static void test_emit_and_read(void **state)
{
	struct runlog *l = runlog_new("offers_1_abc");
	struct run_counts c = {
	    .fetched = 3, .stored = 2, .failed = 1, .current = 4, .total = 9, .unit = "sku"};
	struct event ev[8];
	long long oldest;
	int finished;
	size_t n;
	json_t *d;

	assert_int_equal(runlog_emit(l, EVENT_START, &c, "Starting %s sync", "Offers"), 1);
	assert_int_equal(runlog_emit(l, EVENT_INFO, NULL, "→ [1/9] SKU: %s", "a \"b\" é"), 2);
	n = runlog_read(l, 0, 0, ev, 8, &oldest, &finished);
	assert_int_equal(n, 2);
	assert_int_equal(oldest, 1);
	assert_false(finished);
	assert_string_equal(ev[0].line, "Starting Offers sync");
	d = json_loads(ev[0].data, 0, NULL);
	assert_non_null(d);
	assert_int_equal(json_integer_value(json_object_get(d, "seq")), 1);
	assert_string_equal(json_string_value(json_object_get(d, "type")), "start");
	assert_string_equal(json_string_value(json_object_get(d, "line")), "Starting Offers sync");
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(d, "counts"), "stored")), 2);
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(d, "counts"), "unit")), "sku");
	assert_int_equal(strlen(json_string_value(json_object_get(d, "time"))), 8);
	json_decref(d);
	d = json_loads(ev[1].data, 0, NULL);
	assert_string_equal(json_string_value(json_object_get(d, "line")),
			    "→ [1/9] SKU: a \"b\" é");
	json_decref(d);
	for (size_t i = 0; i < n; i++)
		event_release(&ev[i]);
	/* after_seq skips what was read */
	n = runlog_read(l, 1, 0, ev, 8, NULL, NULL);
	assert_int_equal(n, 1);
	assert_int_equal(ev[0].seq, 2);
	event_release(&ev[0]);
	runlog_free(l);
}

static void test_final_event_names(void **state)
{
	assert_string_equal(event_type_name(EVENT_FAILED), "error");
	assert_string_equal(event_type_name(EVENT_CANCELLED), "cancelled");
	assert_true(event_type_final(EVENT_DONE));
	assert_true(event_type_final(EVENT_FAILED));
	assert_false(event_type_final(EVENT_ERROR));
	assert_false(event_type_final(EVENT_WARNING));
}

static void test_invalid_utf8_line_is_kept(void **state)
{
	struct runlog *l = runlog_new("r");
	struct event ev;
	json_t *d;

	runlog_emit(l, EVENT_WARNING, NULL, "bad \xff byte");
	assert_int_equal(runlog_read(l, 0, 0, &ev, 1, NULL, NULL), 1);
	d = json_loads(ev.data, 0, NULL);
	assert_non_null(d);
	assert_int_equal(json_integer_value(json_object_get(d, "seq")), 1);
	json_decref(d);
	event_release(&ev);
	runlog_free(l);
}

/* The event JSON as runlog.c built it with jansson before it wrote it by
 * hand: the hand-written form must be byte for byte the same. */
static char *jansson_event_json(const struct event *e, const struct run_counts *c,
				const char *error_code)
{
	char hms[16], iso[32];
	json_t *o;
	char *s;

	timeutil_hms(e->ts_ms, hms, sizeof(hms));
	timeutil_iso(e->ts_ms, iso, sizeof(iso));
	o = json_pack("{s:I, s:s, s:s, s:s, s:s, s:{s:I, s:I, s:I, s:I, s:I, s:s}}", "seq",
		      (json_int_t)e->seq, "ts", iso, "time", hms, "type", event_type_name(e->type),
		      "line", e->line, "counts", "fetched", (json_int_t)c->fetched, "stored",
		      (json_int_t)c->stored, "failed", (json_int_t)c->failed, "current",
		      (json_int_t)c->current, "total", (json_int_t)c->total, "unit",
		      c->unit ? c->unit : "");
	if (!o)
		o = json_pack("{s:I, s:s, s:s, s:s, s:s}", "seq", (json_int_t)e->seq, "ts", iso,
			      "time", hms, "type", event_type_name(e->type), "line",
			      "(log line was not valid UTF-8)");
	if (error_code)
		json_object_set_new(o, "error_code", json_string(error_code));
	json_object_set_new(o, "net",
			    json_pack("{s:I, s:I, s:I}", "calls", (json_int_t)c->calls, "throttled",
				      (json_int_t)c->throttled, "latency_ms",
				      (json_int_t)c->latency_ms));
	s = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(o);
	return s;
}

static void check_same_as_jansson(const char *line, const struct run_counts *c, const char *code)
{
	static const struct run_counts zero;
	struct runlog *l = runlog_new("r");
	struct event ev;
	char *want;

	if (code)
		runlog_emit_failed(l, c, code, "%s", line);
	else
		runlog_emit(l, EVENT_PROGRESS, c, "%s", line);
	assert_int_equal(runlog_read(l, 0, 0, &ev, 1, NULL, NULL), 1);
	want = jansson_event_json(&ev, c ? c : &zero, code);
	assert_string_equal(ev.data, want);
	free(want);
	event_release(&ev);
	runlog_free(l);
}

static void test_event_json_matches_jansson(void **state)
{
	static const char *const lines[] = {"",
					    "plain",
					    "→ [1/9] SKU: a \"b\" é",
					    "tab\there\nnl\r\\ \b\f \x01\x1f\x7f /",
					    "emoji \xf0\x9f\x98\x80 cjk \xe4\xb8\xad",
					    "bad \xff byte",
					    "overlong \xc0\xaf",
					    "surrogate \xed\xa0\x80",
					    "too big \xf4\x90\x80\x80",
					    "cut \xe4\xb8",
					    "max \xf4\x8f\xbf\xbf \xef\xbf\xbf \xc2\x80"};
	struct run_counts c = {.fetched = 3,
			       .stored = -2,
			       .failed = 1LL << 40,
			       .current = 4,
			       .total = 9,
			       .unit = "sku",
			       .calls = 7,
			       .throttled = 1,
			       .latency_ms = 123456789};
	struct run_counts bad_unit = {.unit = "p\xffge"};
	char line[64];
	unsigned seed = 7;

	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		check_same_as_jansson(lines[i], &c, NULL);
		check_same_as_jansson(lines[i], NULL, NULL);
		check_same_as_jansson(lines[i], &c, "E_CODE");
		check_same_as_jansson(lines[i], &c, "bad \xfe code");
		check_same_as_jansson(lines[i], &bad_unit, NULL);
	}
	/* random bytes: valid or not, the same bytes */
	for (int k = 0; k < 2000; k++) {
		size_t n = (size_t)(rand_r(&seed) % 12);

		for (size_t i = 0; i < n; i++)
			line[i] = (char)(1 + rand_r(&seed) % 255);
		line[n] = '\0';
		check_same_as_jansson(line, &c, NULL);
	}
}

/* A reader far behind gets the oldest kept event and is told where memory
 * starts; the persistence queue still hands out every single event. */
static void test_ring_and_persistence(void **state)
{
	struct runlog *l = runlog_new("r");
	long long total = RUNLOG_KEEP + 100, expect = 1, oldest = 0;
	struct event *ev = calloc(600, sizeof(*ev));
	size_t n;

	for (long long i = 0; i < total; i++)
		runlog_emit(l, EVENT_INFO, NULL, "line %lld", i + 1);
	n = runlog_read(l, 0, 0, ev, 1, &oldest, NULL);
	assert_int_equal(n, 1);
	assert_int_equal(oldest, 101);
	assert_int_equal(ev[0].seq, 101);
	event_release(&ev[0]);
	while ((n = runlog_take_unpersisted(l, ev, 600)) > 0) {
		for (size_t i = 0; i < n; i++) {
			assert_int_equal(ev[i].seq, expect++);
			event_release(&ev[i]);
		}
	}
	assert_int_equal(expect, total + 1);
	assert_int_equal(runlog_take_unpersisted(l, ev, 600), 0);
	free(ev);
	runlog_free(l);
}

struct reader_arg {
	struct runlog *l;
	long long last;
	int ordered;
};

static void *reader(void *p)
{
	struct reader_arg *a = p;
	struct event ev[64];
	int finished = 0;

	a->ordered = 1;
	while (!finished) {
		size_t n = runlog_read(a->l, a->last, 1000, ev, 64, NULL, &finished);
		for (size_t i = 0; i < n; i++) {
			if (ev[i].seq != a->last + 1)
				a->ordered = 0;
			a->last = ev[i].seq;
			event_release(&ev[i]);
		}
		if (finished && a->last < runlog_last_seq(a->l, NULL))
			finished = 0; /* drain what is left after the final event */
	}
	return NULL;
}

/* Readers on other threads see every event in order and wake at the end. */
static void test_concurrent_readers(void **state)
{
	struct runlog *l = runlog_new("r");
	struct reader_arg args[4];
	pthread_t th[4];
	int finished = 0;

	for (int i = 0; i < 4; i++) {
		args[i] = (struct reader_arg){.l = l};
		pthread_create(&th[i], NULL, reader, &args[i]);
	}
	for (int i = 0; i < 3000; i++)
		runlog_emit(l, EVENT_INFO, NULL, "line %d", i);
	runlog_emit(l, EVENT_DONE, NULL, "done");
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		assert_true(args[i].ordered);
		assert_int_equal(args[i].last, 3001);
	}
	assert_int_equal(runlog_last_seq(l, &finished), 3001);
	assert_true(finished);
	runlog_free(l);
}

static void test_read_times_out(void **state)
{
	struct runlog *l = runlog_new("r");
	struct event ev;
	long long t0 = timeutil_mono_ms();

	assert_int_equal(runlog_read(l, 0, 100, &ev, 1, NULL, NULL), 0);
	assert_true(timeutil_mono_ms() - t0 >= 90);
	runlog_free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_emit_and_read),
	    cmocka_unit_test(test_final_event_names),
	    cmocka_unit_test(test_invalid_utf8_line_is_kept),
	    cmocka_unit_test(test_event_json_matches_jansson),
	    cmocka_unit_test(test_ring_and_persistence),
	    cmocka_unit_test(test_concurrent_readers),
	    cmocka_unit_test(test_read_times_out),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
