/*
 * Small JSON helpers (jansson) that more than one module needs: the name of
 * a value's type for messages, a count that eBay may send as a number or as
 * a string of digits, and a time as ISO text or null.
 */
#ifndef JSONUTIL_H
#define JSONUTIL_H

#include <jansson.h>

/* The JSON type of v for a message: "an object", "a string", "null"...
 * Static string. */
const char *jsonutil_type_name(const json_t *v);

/*
 * A non-negative whole number given as a JSON integer, an integral real up
 * to 9e15 (exact in a double) or a non-empty string of decimal digits that
 * fits a long long. Returns 1 and sets *out; 0 when v is NULL or null
 * (absent; *out untouched); -1 when it is something else.
 */
int jsonutil_whole_number(const json_t *v, long long *out);

/* An epoch-ms time as ISO 8601 UTC text ("2024-05-01T10:00:00.000Z"), or
 * JSON null when ms is 0 or less (never happened). A new reference. */
json_t *jsonutil_iso_or_null(long long ms);

#endif
