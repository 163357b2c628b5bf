/*
 * Fuzzes token verification (auth_verify) with arbitrary bytes as the
 * token: it must never crash, leak or accept a token. No input can carry a
 * valid HS256 signature under the fixed secret below (finding one would be
 * breaking HMAC-SHA256), so every input must be refused with a reason.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned char key[] = "fuzz-secret-fuzz-secret-fuzz-secret!";
	static struct auth a;
	static int ready;
	struct buf why = BUF_INIT;
	char *token = xstrndup((const char *)data, size), *user = NULL;

	if (!ready) {
		if (auth_init_key(&a, key, sizeof(key) - 1))
			abort();
		ready = 1;
	}
	if (auth_verify(&a, token, 1700000000, &user, &why) == ERR_OK || user || !why.len)
		abort();
	buf_release(&why);
	free(token);
	return 0;
}
