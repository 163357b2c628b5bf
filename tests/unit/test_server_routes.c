/* The server's routing table and docs/openapi.json describe the same API:
 * every route of the table is an operation of the document (path template
 * and method), every operation of the document is a route, and each says
 * the same about needing a caller. The document read is the one embedded
 * into the binary, which is what GET /openapi.json serves. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>
#include <jansson.h>

#include "openapi.h"
#include "server.h"

/* "/ebay/sync/runs/{run_id}/stop" -> "/ebay/sync/runs/{}/stop" (static). */
static const char *as_pattern(const char *path)
{
	static char out[256];
	size_t o = 0;

	for (; *path && o + 3 < sizeof(out); path++) {
		if (*path == '{') {
			out[o++] = '{';
			out[o++] = '}';
			while (*path && *path != '}')
				path++;
			if (!*path)
				break;
		} else {
			out[o++] = *path;
		}
	}
	out[o] = '\0';
	return out;
}

static json_t *load_doc(void)
{
	size_t len;
	const char *text = openapi_document(&len);
	json_error_t jerr;
	json_t *doc;

	assert_non_null(text);
	doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!doc)
		fail_msg("docs/openapi.json is not JSON: %s (line %d)", jerr.text, jerr.line);
	assert_string_equal(json_string_value(json_object_get(doc, "openapi")), "3.1.0");
	return doc;
}

/* The operation of the document for a route, or NULL. */
static json_t *find_op(json_t *paths, const char *method, const char *pattern)
{
	const char *path;
	json_t *item, *op;
	char lower[16];
	size_t i;

	for (i = 0; method[i] && i + 1 < sizeof(lower); i++)
		lower[i] = (char)(method[i] | 0x20);
	lower[i] = '\0';
	json_object_foreach(paths, path, item)
	{
		if (strcmp(as_pattern(path), pattern))
			continue;
		op = json_object_get(item, lower);
		if (op)
			return op;
	}
	return NULL;
}

/* Does the operation list a 2xx or 3xx answer? */
static int has_success(json_t *responses)
{
	const char *status;
	json_t *v;

	json_object_foreach(responses, status, v)
	{
		if (status[0] == '2' || status[0] == '3')
			return 1;
	}
	return 0;
}

static void test_every_route_is_documented(void **state)
{
	json_t *doc = load_doc(), *paths = json_object_get(doc, "paths"), *op, *sec;
	const char *method, *pattern;
	int needs_user, missing = 0;
	size_t i;

	for (i = 0; server_route(i, &method, &pattern, &needs_user); i++) {
		op = find_op(paths, method, pattern);
		if (!op) {
			fprintf(stderr, "docs/openapi.json has no %s %s\n", method, pattern);
			missing++;
			continue;
		}
		/* A public route says "security": []; a user route inherits
		 * the document's security. */
		sec = json_object_get(op, "security");
		if (needs_user != !(sec && json_array_size(sec) == 0)) {
			fprintf(stderr, "docs/openapi.json: %s %s should %sneed credentials\n",
				method, pattern, needs_user ? "" : "not ");
			missing++;
		}
		if (!has_success(json_object_get(op, "responses"))) {
			fprintf(stderr, "docs/openapi.json: %s %s has no success answer\n", method,
				pattern);
			missing++;
		}
	}
	assert_true(i >= 20);
	assert_int_equal(missing, 0);
	json_decref(doc);
}

static int route_exists(const char *method, const char *pattern)
{
	const char *m, *p;
	int needs_user;
	size_t i;

	for (i = 0; server_route(i, &m, &p, &needs_user); i++)
		if (!strcasecmp(m, method) && !strcmp(p, pattern))
			return 1;
	return 0;
}

static void test_every_operation_is_a_route(void **state)
{
	json_t *doc = load_doc(), *paths = json_object_get(doc, "paths"), *item, *op;
	const char *path, *method;
	char pattern[256];
	int extra = 0;
	size_t n = 0;

	json_object_foreach(paths, path, item)
	{
		snprintf(pattern, sizeof(pattern), "%s", as_pattern(path));
		json_object_foreach(item, method, op)
		{
			if (strcmp(method, "get") && strcmp(method, "post") &&
			    strcmp(method, "put") && strcmp(method, "patch") &&
			    strcmp(method, "delete"))
				continue;
			n++;
			if (!route_exists(method, pattern)) {
				fprintf(stderr,
					"docs/openapi.json documents %s %s, which "
					"the server does not answer\n",
					method, path);
				extra++;
			}
		}
	}
	assert_true(n >= 20);
	assert_int_equal(extra, 0);
	json_decref(doc);
}

/* The check itself can fail: a route the document lacks is found. */
static void test_pattern_conversion(void **state)
{
	json_t *doc = load_doc(), *paths = json_object_get(doc, "paths");

	assert_string_equal(as_pattern("/ebay/sync/runs/{run_id}/stop"), "/ebay/sync/runs/{}/stop");
	assert_non_null(find_op(paths, "POST", "/ebay/sync/runs/{}/stop"));
	assert_null(find_op(paths, "DELETE", "/ebay/sync/runs/{}/stop"));
	assert_null(find_op(paths, "GET", "/ebay/no-such-route"));
	json_decref(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pattern_conversion),
	    cmocka_unit_test(test_every_route_is_documented),
	    cmocka_unit_test(test_every_operation_is_a_route),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
