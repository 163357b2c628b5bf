/*
 * Fuzzes what the simulator's OAuth endpoints parse from a request: the
 * form body, the "Basic" and "Bearer" Authorization headers.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sim_oauth.h"
#include "xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sim_form form;
	struct buf why = BUF_INIT;
	char *text = xstrndup((const char *)data, size);
	char id[64], secret[64];

	/* The parser gets the raw bytes (NULs included) and its own length. */
	if (sim_oauth_parse_form((const char *)data, size, &form, &why) == ERR_OK) {
		for (size_t i = 0; i < form.n; i++) {
			if (strlen(form.values[i]) > size ||
			    sim_form_get(&form, form.names[i]) == NULL)
				abort();
		}
	}
	sim_form_release(&form);
	if (sim_oauth_parse_basic(text, id, sizeof(id), secret, sizeof(secret)) == 0) {
		if (strlen(id) >= sizeof(id) || strlen(secret) >= sizeof(secret))
			abort();
	}
	(void)sim_oauth_bearer(text);
	buf_release(&why);
	free(text);
	return 0;
}
