/*
 * Server-Sent Events framing: id, event and data lines in that order, a
 * blank line after each event, data with line breaks (LF, CR, CRLF) split
 * over several data lines so that a client joins them back exactly, event
 * types that could break the framing refused, comments, and Last-Event-ID
 * parsing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sse.h"
#include "xalloc.h"

/* Parses one event the way a browser does (the WHATWG algorithm, for the
 * fields we send): returns the data with lines joined by "\n". */
static char *client_data(const char *frame, long long *id, char *type, size_t type_size)
{
	struct buf data = BUF_INIT;
	const char *p = frame;
	int first = 1;

	while (*p && *p != '\n') {
		const char *eol = p + strcspn(p, "\n");
		if (!strncmp(p, "id: ", 4))
			*id = strtoll(p + 4, NULL, 10);
		else if (!strncmp(p, "event: ", 7))
			snprintf(type, type_size, "%.*s", (int)(eol - p - 7), p + 7);
		else if (!strncmp(p, "data: ", 6)) {
			if (!first)
				buf_addch(&data, '\n');
			buf_add(&data, p + 6, (size_t)(eol - p - 6));
			first = 0;
		} else
			fail_msg("unexpected line '%.*s'", (int)(eol - p), p);
		p = *eol ? eol + 1 : eol;
	}
	assert_int_equal(*p, '\n'); /* the blank line that ends the event */
	assert_int_equal(p[1], '\0');
	return buf_detach(&data, NULL);
}

static void test_event_frame(void **state)
{
	struct buf b = BUF_INIT;

	assert_int_equal(sse_format_event(&b, 42, "progress", "{\"seq\":42,\"line\":\"Page 1/3\"}"),
			 ERR_OK);
	assert_string_equal(buf_str(&b), "id: 42\nevent: progress\n"
					 "data: {\"seq\":42,\"line\":\"Page 1/3\"}\n\n");
	buf_release(&b);
}

static void test_multiline_data(void **state)
{
	const char *cases[] = {"a\nb", "a\r\nb\rc", "\n", "", "trailing\n", "x\n\ny"};
	const char *want[] = {"a\nb", "a\nb\nc", "\n", "", "trailing\n", "x\n\ny"};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct buf b = BUF_INIT;
		long long id = 0;
		char type[32] = "";
		char *data;

		assert_int_equal(sse_format_event(&b, (long long)i + 1, "info", cases[i]), ERR_OK);
		data = client_data(buf_str(&b), &id, type, sizeof(type));
		assert_int_equal(id, (long long)i + 1);
		assert_string_equal(type, "info");
		assert_string_equal(data, want[i]);
		free(data);
		buf_release(&b);
	}
}

static void test_bad_types(void **state)
{
	struct buf b = BUF_INIT;

	assert_int_equal(sse_format_event(&b, 1, "", "{}"), ERR_INVALID);
	assert_int_equal(sse_format_event(&b, 1, "in fo", "{}"), ERR_INVALID);
	assert_int_equal(sse_format_event(&b, 1, "info\ndata: x", "{}"), ERR_INVALID);
	assert_int_equal(sse_format_event(&b, 1, "a:b", "{}"), ERR_INVALID);
	assert_int_equal(b.len, 0);
	assert_int_equal(sse_format_event(&b, 7, "warning", NULL), ERR_OK);
	assert_string_equal(buf_str(&b), "id: 7\nevent: warning\ndata: {}\n\n");
	buf_release(&b);
}

static void test_comment_and_cap(void **state)
{
	struct buf b;

	buf_init(&b, 0);
	assert_int_equal(sse_format_comment(&b, "keepalive"), ERR_OK);
	assert_string_equal(buf_str(&b), ": keepalive\n\n");
	assert_int_equal(sse_format_comment(&b, "two\nlines"), ERR_INVALID);
	buf_release(&b);
	/* A capped buffer refuses an event that does not fit. */
	buf_init(&b, 20);
	assert_int_equal(sse_format_event(&b, 1, "info", "{\"a\":\"0123456789\"}"), ERR_TOOBIG);
	buf_release(&b);
}

static void test_last_id(void **state)
{
	long long n;

	assert_int_equal(sse_parse_last_id(NULL, &n), ERR_OK);
	assert_int_equal(n, 0);
	assert_int_equal(sse_parse_last_id("", &n), ERR_OK);
	assert_int_equal(n, 0);
	assert_int_equal(sse_parse_last_id("1234", &n), ERR_OK);
	assert_int_equal(n, 1234);
	assert_int_equal(sse_parse_last_id("-1", &n), ERR_INVALID);
	assert_int_equal(sse_parse_last_id(" 1", &n), ERR_INVALID);
	assert_int_equal(sse_parse_last_id("1x", &n), ERR_INVALID);
	assert_int_equal(sse_parse_last_id("99999999999999999999", &n), ERR_INVALID);
}

/* A user past their cap, or anyone past the total, gets no stream; a
 * stream that ends makes room again. */
static void test_stream_caps(void **state)
{
	struct sse_hub *h = sse_hub_new(NULL, 0, 0);
	struct sse_stream *a1, *a2, *b1, *c1;

	sse_hub_set_limits(h, 2, 3);
	a1 = sse_stream_new(h, "alice", "r1", NULL, 0);
	a2 = sse_stream_new(h, "alice", "r2", NULL, 0);
	assert_non_null(a1);
	assert_non_null(a2);
	assert_null(sse_stream_new(h, "alice", "r3", NULL, 0));
	b1 = sse_stream_new(h, "bob", "r4", NULL, 0);
	assert_non_null(b1);
	assert_null(sse_stream_new(h, "carol", "r5", NULL, 0));
	sse_stream_free(a1);
	c1 = sse_stream_new(h, "carol", "r5", NULL, 0);
	assert_non_null(c1);
	assert_null(sse_stream_new(h, "dave", "r6", NULL, 0));
	sse_stream_free(a2);
	sse_stream_free(b1);
	sse_stream_free(c1);
	/* All closed: the whole total is free again. */
	a1 = sse_stream_new(h, "alice", "r1", NULL, 0);
	b1 = sse_stream_new(h, "bob", "r4", NULL, 0);
	c1 = sse_stream_new(h, "carol", "r5", NULL, 0);
	assert_non_null(a1);
	assert_non_null(b1);
	assert_non_null(c1);
	sse_stream_free(a1);
	sse_stream_free(b1);
	sse_stream_free(c1);
	sse_hub_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_event_frame), cmocka_unit_test(test_multiline_data),
	    cmocka_unit_test(test_bad_types),	cmocka_unit_test(test_comment_and_cap),
	    cmocka_unit_test(test_last_id),	cmocka_unit_test(test_stream_caps),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
