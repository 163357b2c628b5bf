/*
 * Retry delays and Retry-After parsing (see backoff.h). The HTTP-date
 * parser is strict on purpose: it reads exactly the three forms RFC 9110
 * allows and nothing else, because the value comes from the network and a
 * permissive date parser is a fuzzing target of its own.
 */
#include "backoff.h"

#include <ctype.h>
#include <string.h>
#include <time.h>

#include "banned.h"

#define RETRY_AFTER_MAX_MS (24LL * 3600 * 1000)

long long backoff_ceiling_ms(long base_ms, long max_ms, int attempt)
{
	long long ceiling = base_ms < 1 ? 1 : base_ms;
	long long cap = max_ms < 1 ? 1 : max_ms;
	int i;

	for (i = 1; i < attempt && ceiling < cap; i++)
		ceiling = ceiling > cap / 2 ? cap : ceiling * 2;
	return ceiling < cap ? ceiling : cap;
}

long long backoff_delay_ms(struct random_rng *r, long base_ms, long max_ms, int attempt)
{
	uint64_t span = (uint64_t)backoff_ceiling_ms(base_ms, max_ms, attempt) + 1;

	return (long long)(random_rng_next(r) % span);
}

/* A cursor over the header value. */
struct scan {
	const char *p;
};

static int take_lit(struct scan *s, const char *lit)
{
	size_t n = strlen(lit);

	if (strncmp(s->p, lit, n))
		return 0;
	s->p += n;
	return 1;
}

/* Exactly n digits. */
static int take_digits(struct scan *s, int n, int *out)
{
	int v = 0, i;

	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s->p[i]))
			return 0;
		v = v * 10 + (s->p[i] - '0');
	}
	s->p += n;
	*out = v;
	return 1;
}

/* One of names (NULL-terminated); its index in *out. Case-sensitive, as
 * the grammar is. */
static int take_name(struct scan *s, const char *const names[], int *out)
{
	int i;

	for (i = 0; names[i]; i++)
		if (take_lit(s, names[i])) {
			*out = i;
			return 1;
		}
	return 0;
}

static const char *const short_days[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun", NULL};
static const char *const long_days[] = {"Monday", "Tuesday",  "Wednesday", "Thursday",
					"Friday", "Saturday", "Sunday",	   NULL};
static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul",
				     "Aug", "Sep", "Oct", "Nov", "Dec", NULL};

static int take_time(struct scan *s, struct tm *tm)
{
	return take_digits(s, 2, &tm->tm_hour) && take_lit(s, ":") &&
	       take_digits(s, 2, &tm->tm_min) && take_lit(s, ":") && take_digits(s, 2, &tm->tm_sec);
}

/* "Sun, 06 Nov 1994 08:49:37 GMT" */
static int imf_fixdate(struct scan *s, struct tm *tm)
{
	int wday;

	return take_name(s, short_days, &wday) && take_lit(s, ", ") &&
	       take_digits(s, 2, &tm->tm_mday) && take_lit(s, " ") &&
	       take_name(s, months, &tm->tm_mon) && take_lit(s, " ") &&
	       take_digits(s, 4, &tm->tm_year) && take_lit(s, " ") && take_time(s, tm) &&
	       take_lit(s, " GMT");
}

/* "Sunday, 06-Nov-94 08:49:37 GMT" */
static int rfc850_date(struct scan *s, struct tm *tm)
{
	int wday, yy;

	if (!(take_name(s, long_days, &wday) && take_lit(s, ", ") &&
	      take_digits(s, 2, &tm->tm_mday) && take_lit(s, "-") &&
	      take_name(s, months, &tm->tm_mon) && take_lit(s, "-") && take_digits(s, 2, &yy) &&
	      take_lit(s, " ") && take_time(s, tm) && take_lit(s, " GMT")))
		return 0;
	/* RFC 9110 asks to read a two-digit year that looks more than 50
	 * years ahead as the past century; 70 is the customary pivot. */
	tm->tm_year = yy < 70 ? 2000 + yy : 1900 + yy;
	return 1;
}

/* "Sun Nov  6 08:49:37 1994" */
static int asctime_date(struct scan *s, struct tm *tm)
{
	int wday;

	if (!(take_name(s, short_days, &wday) && take_lit(s, " ") &&
	      take_name(s, months, &tm->tm_mon) && take_lit(s, " ")))
		return 0;
	if (s->p[0] == ' ') {
		s->p++;
		if (!take_digits(s, 1, &tm->tm_mday))
			return 0;
	} else if (!take_digits(s, 2, &tm->tm_mday)) {
		return 0;
	}
	return take_lit(s, " ") && take_time(s, tm) && take_lit(s, " ") &&
	       take_digits(s, 4, &tm->tm_year);
}

static int at_end(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return *p == '\0';
}

/* Seconds since the epoch of an HTTP-date, or -1. */
static long long http_date(const char *value)
{
	const char *start = value;
	int (*forms[])(struct scan *, struct tm *) = {imf_fixdate, rfc850_date, asctime_date};
	size_t i;

	for (i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		struct scan s = {start};
		struct tm tm;
		time_t t;

		memset(&tm, 0, sizeof(tm));
		if (!forms[i](&s, &tm) || !at_end(s.p))
			continue;
		if (tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
		    tm.tm_sec > 60 || tm.tm_year < 1900)
			return -1;
		tm.tm_year -= 1900;
		t = timegm(&tm);
		return t == (time_t)-1 ? -1 : (long long)t;
	}
	return -1;
}

long long backoff_retry_after_ms(const char *value, long long now_wall_ms)
{
	const char *p;
	long long secs, ms;

	if (!value)
		return -1;
	while (*value == ' ' || *value == '\t')
		value++;
	if (isdigit((unsigned char)*value)) {
		secs = 0;
		for (p = value; isdigit((unsigned char)*p); p++)
			if (secs < RETRY_AFTER_MAX_MS / 1000)
				secs = secs * 10 + (*p - '0');
		if (!at_end(p))
			return -1;
		ms = secs * 1000;
		return ms < RETRY_AFTER_MAX_MS ? ms : RETRY_AFTER_MAX_MS;
	}
	secs = http_date(value);
	if (secs < 0)
		return -1;
	ms = secs * 1000 - now_wall_ms;
	if (ms < 0)
		return 0;
	return ms < RETRY_AFTER_MAX_MS ? ms : RETRY_AFTER_MAX_MS;
}
