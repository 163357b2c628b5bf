/* Names for the project's error codes (see error.h). */
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
};

const char *error_strerror(enum error err)
{
	if ((unsigned)err >= ERR__COUNT || !names[err])
		return "unknown error";
	return names[err];
}
