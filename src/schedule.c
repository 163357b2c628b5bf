/*
 * Schedules: validation and due times (see schedule.h). Times of day are
 * worked out in "local seconds": the wall clock's date and time counted as
 * if it were UTC. A wall time L happens at the UTC instant L - offset for
 * the offset in effect then; around a DST change the offsets of a day
 * before and a day after are the two candidates (no zone changes twice in
 * two days), and a candidate is real when the zone has that offset at it.
 */
#include "schedule.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "backoff.h"
#include "tzfile.h"
#include "banned.h"

#define DAY 86400LL

enum error schedule_kind_check(const char *kind, struct buf *why)
{
	static const char *const kinds[] = {"inventory", "offers", "all", "refresh"};
	size_t i;

	for (i = 0; kind && i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (!strcmp(kind, kinds[i]))
			return ERR_OK;
	buf_addf(why, "kind must be one of inventory, offers, all, refresh (got '%.40s')",
		 kind ? kind : "");
	return ERR_INVALID;
}

enum error schedule_interval_check(long long interval_s, long long min_s, struct buf *why)
{
	if (interval_s >= min_s && interval_s <= SCHEDULE_INTERVAL_MAX_S)
		return ERR_OK;
	buf_addf(why, "interval_s must be from %lld to %ld seconds (got %lld)", min_s,
		 SCHEDULE_INTERVAL_MAX_S, interval_s);
	return ERR_INVALID;
}

static int two_digits(const char *p)
{
	if (p[0] < '0' || p[0] > '9' || p[1] < '0' || p[1] > '9')
		return -1;
	return (p[0] - '0') * 10 + (p[1] - '0');
}

static int by_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

enum error schedule_times_parse(const char *text, int minutes[SCHEDULE_TIMES_MAX], int *n,
				struct buf *why)
{
	const char *p = text;
	int count = 0, h, m, i, k;

	*n = 0;
	if (!p)
		goto bad;
	for (;;) {
		while (*p == ' ')
			p++;
		h = two_digits(p);
		m = h < 0 || p[2] != ':' ? -1 : two_digits(p + 3);
		if (h < 0 || h > 23 || m < 0 || m > 59)
			goto bad;
		if (count == SCHEDULE_TIMES_MAX) {
			buf_addf(why, "times holds at most %d times of day", SCHEDULE_TIMES_MAX);
			return ERR_INVALID;
		}
		minutes[count++] = h * 60 + m;
		p += 5;
		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		if (*p++ != ',')
			goto bad;
	}
	qsort(minutes, (size_t)count, sizeof(int), by_int);
	for (i = 1, k = 1; i < count; i++)
		if (minutes[i] != minutes[k - 1])
			minutes[k++] = minutes[i];
	*n = k;
	return ERR_OK;
bad:
	buf_addf(why,
		 "times must be a list of HH:MM times of day, e.g. \"06:00,18:30\" (got '%.60s')",
		 text ? text : "");
	return ERR_INVALID;
}

void schedule_times_format(const int *minutes, int n, struct buf *out)
{
	int i;

	for (i = 0; i < n; i++)
		buf_addf(out, "%s%02d:%02d", i ? "," : "", minutes[i] / 60, minutes[i] % 60);
}

long long schedule_next_interval(long long anchor_ms, long long interval_s, long long now_ms)
{
	long long step = (interval_s > 0 ? interval_s : 1) * 1000;

	if (anchor_ms <= 0 || anchor_ms > now_ms)
		return (anchor_ms > now_ms ? anchor_ms : now_ms + step);
	return anchor_ms + ((now_ms - anchor_ms) / step + 1) * step;
}

static long long floor_div(long long a, long long b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* The UTC instant (seconds) when zone z's wall clock first shows local
 * seconds L, or, when a DST change skips L, the instant it would with the
 * offset before the change. */
static long long wall_to_utc(const struct tzfile *z, long long L)
{
	long before = tzfile_offset(z, L - DAY), after = tzfile_offset(z, L + DAY);
	long long u1 = L - before, u2 = L - after;
	int ok1 = tzfile_offset(z, u1) == before, ok2 = tzfile_offset(z, u2) == after;

	if (ok1 && ok2)
		return u1 < u2 ? u1 : u2;
	if (ok2)
		return u2;
	return u1; /* valid, or in a gap: shifted forward as mktime() does */
}

long long schedule_next_times(const struct tzfile *z, const int *minutes, int n, long long now_ms)
{
	long long now_s = floor_div(now_ms, 1000), day0, best = LLONG_MAX, t;
	int i, d;

	day0 = floor_div(now_s + tzfile_offset(z, now_s), DAY);
	for (d = -1; d <= 2; d++)
		for (i = 0; i < n; i++) {
			t = wall_to_utc(z, (day0 + d) * DAY + minutes[i] * 60LL) * 1000;
			if (t > now_ms && t < best)
				best = t;
		}
	return best == LLONG_MAX ? now_ms + DAY * 1000 : best;
}

enum error schedule_next_due(long long interval_s, const char *times, const char *tz,
			     long long anchor_ms, long long now_ms, long long *out, struct buf *why)
{
	int minutes[SCHEDULE_TIMES_MAX], n;
	struct tzfile *z = NULL;
	enum error err;

	*out = 0;
	if (interval_s > 0) {
		*out = schedule_next_interval(anchor_ms, interval_s, now_ms);
		return ERR_OK;
	}
	err = schedule_times_parse(times, minutes, &n, why);
	if (!err)
		err = tzfile_load(tz, &z, why);
	if (!err)
		*out = schedule_next_times(z, minutes, n, now_ms);
	tzfile_free(z);
	return err;
}

long long schedule_backoff_ms(long long failures, long long base_ms)
{
	long long cap = (base_ms > 0 ? base_ms : 1) << SCHEDULE_BACKOFF_STEPS;

	if (failures < 1)
		failures = 1;
	if (failures > 62)
		failures = 62;
	return backoff_ceiling_ms((long)base_ms, (long)cap, (int)failures);
}
