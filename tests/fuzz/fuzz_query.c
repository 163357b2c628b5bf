/*
 * Fuzzes what the server reads from a request before any handler runs: the
 * request target (path segments and query), the Cookie header and the
 * Authorization header. Besides not crashing, the parse must keep its
 * promises: within the caps, no NUL inside a decoded value, nothing to
 * release after a failure.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "request.h"
#include "xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = xstrndup((const char *)data, size), *v;
	struct request_target t;
	struct buf why = BUF_INIT;
	long long n;
	size_t i;

	if (request_parse_target(text, &t, &why) == ERR_OK) {
		if (t.n_segments > REQUEST_SEGMENTS_MAX || t.n_params > REQUEST_PARAMS_MAX)
			abort();
		for (i = 0; i < t.n_segments; i++)
			if (strlen(t.segments[i]) > REQUEST_TARGET_MAX)
				abort();
		request_param(&t, "q");
		request_param_int(&t, "limit", 50, 1, 500, &n, &why);
		if (n < 1 || n > 500)
			abort();
		request_target_release(&t);
	} else if (t.n_segments || t.n_params || !why.len) {
		abort();
	}
	v = request_cookie(text, "ebaysync_token");
	free(v);
	buf_reset(&why);
	if (request_bearer(text, &v, &why) == ERR_OK && (!v || !*v))
		abort();
	free(v);
	buf_release(&why);
	free(text);
	return 0;
}
