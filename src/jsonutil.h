/*
 * Small readers of JSON values (jansson) that more than one parser of
 * outside input needs: the name of a value's type for messages, and a
 * count that eBay may send as a number or as a string of digits.
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

#endif
