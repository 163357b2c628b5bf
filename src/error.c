/* Names for the project's error codes, for people and for programs (see
 * error.h). */
#include "error.h"

static const char *const names[ERR__COUNT] = {
    [ERR_OK] = "success",
    [ERR_NOMEM] = "out of memory",
    [ERR_INVALID] = "invalid input",
    [ERR_IO] = "input/output error",
    [ERR_HTTP] = "network error",
    [ERR_EBAY] = "eBay returned an error",
    [ERR_PARSE] = "malformed data",
    [ERR_TOOBIG] = "data too large",
    [ERR_DB] = "database error",
    [ERR_NOTFOUND] = "not found",
    [ERR_CONFLICT] = "conflict",
    [ERR_AUTH] = "not authorized",
    [ERR_CANCELLED] = "cancelled",
    [ERR_TIMEOUT] = "timed out",
    [ERR_INTERNAL] = "internal error",
    [ERR_RELINK] = "the eBay account must be linked again",
};

/* The API's contract: add names, never change one. */
static const char *const codes[ERR__COUNT] = {
    [ERR_OK] = "ok",
    [ERR_NOMEM] = "out_of_memory",
    [ERR_INVALID] = "invalid",
    [ERR_IO] = "io",
    [ERR_HTTP] = "network",
    [ERR_EBAY] = "ebay",
    [ERR_PARSE] = "malformed",
    [ERR_TOOBIG] = "too_big",
    [ERR_DB] = "database",
    [ERR_NOTFOUND] = "not_found",
    [ERR_CONFLICT] = "conflict",
    [ERR_AUTH] = "auth",
    [ERR_CANCELLED] = "cancelled",
    [ERR_TIMEOUT] = "timeout",
    [ERR_INTERNAL] = "internal",
    [ERR_RELINK] = "ebay_relink",
};

const char *error_strerror(enum error err)
{
	if ((unsigned)err >= ERR__COUNT || !names[err])
		return "unknown error";
	return names[err];
}

const char *error_code_name(enum error err)
{
	if ((unsigned)err >= ERR__COUNT || !codes[err])
		return "unknown";
	return codes[err];
}
