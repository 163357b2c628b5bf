/*
 * Fuzzes what oauth.c reads from outside: the token endpoint's answers
 * (the first byte picks the HTTP status class and whether a refresh token
 * is wanted) and what a user pastes after a consent. Besides not crashing,
 * the parses keep their promises: a token comes back only on success, and
 * then it is non-empty, printable and within OAUTH_FIELD_MAX; a failure
 * always says why; a pasted code is never empty or over the cap.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "oauth.h"
#include "xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_token(const char *t)
{
	size_t n = t ? strlen(t) : 0;

	if (!n || n > OAUTH_FIELD_MAX)
		abort();
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)t[i] <= 0x20 || (unsigned char)t[i] >= 0x7f)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const long statuses[] = {200, 400, 401, 500};
	struct oauth_token t;
	struct buf why = BUF_INIT;
	char *text, *code = NULL, *state = NULL;
	long status;
	int want_refresh;

	if (!size)
		return 0;
	status = statuses[data[0] & 3];
	want_refresh = (data[0] >> 2) & 1;
	if (oauth_parse_response(status, (const char *)data + 1, size - 1, want_refresh, &t,
				 &why) == ERR_OK) {
		if (status != 200 || t.expires_in <= 0)
			abort();
		check_token(t.access_token);
		if (want_refresh || t.refresh_token)
			check_token(t.refresh_token);
	} else if (!why.len || t.access_token || t.refresh_token) {
		abort();
	}
	oauth_token_release(&t);
	buf_reset(&why);
	text = xstrndup((const char *)data + 1, size - 1);
	if (oauth_parse_redirect(text, &code, &state, &why) == ERR_OK) {
		if (!code || !*code || strlen(code) > OAUTH_FIELD_MAX ||
		    (state && strlen(state) > OAUTH_FIELD_MAX))
			abort();
	} else if (code || state || !why.len) {
		abort();
	}
	free(code);
	free(state);
	free(text);
	buf_release(&why);
	return 0;
}
