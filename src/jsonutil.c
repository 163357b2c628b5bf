/*
 * JSON helpers shared by the eBay page parser (ebay_page.c), the row
 * mapping (mapping.c) and the API (api.c); see jsonutil.h.
 */
#include "jsonutil.h"

#include <limits.h>
#include <math.h>
#include <string.h>

#include "timeutil.h"
#include "banned.h"

const char *jsonutil_type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
	case JSON_REAL:
		return "a number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	case JSON_NULL:
		return "null";
	}
	return "unknown";
}

int jsonutil_whole_number(const json_t *v, long long *out)
{
	long long n = 0;

	if (!v || json_is_null(v))
		return 0;
	if (json_is_integer(v)) {
		n = json_integer_value(v);
	} else if (json_is_real(v)) {
		double d = json_real_value(v);

		if (!isfinite(d) || d != floor(d) || d < 0 || d > 9e15)
			return -1;
		n = (long long)d;
	} else if (json_is_string(v)) {
		const char *s = json_string_value(v);
		size_t len = json_string_length(v);

		if (!len || len != strlen(s))
			return -1;
		for (size_t i = 0; i < len; i++) {
			if (s[i] < '0' || s[i] > '9' || n > (LLONG_MAX - (s[i] - '0')) / 10)
				return -1;
			n = n * 10 + (s[i] - '0');
		}
	} else {
		return -1;
	}
	if (n < 0)
		return -1;
	*out = n;
	return 1;
}

json_t *jsonutil_iso_or_null(long long ms)
{
	char iso[32];

	if (ms <= 0)
		return json_null();
	timeutil_iso(ms, iso, sizeof(iso));
	return json_string(iso);
}
