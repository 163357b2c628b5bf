/*
 * Schedules, the pure part: what a schedule may say and when it is due
 * next (docs/schedules.md). No clock and no database here: every function
 * takes "now" as an argument, so that the tests pin it, DST changes
 * included. The scheduler (scheduler.h) does the firing.
 *
 * A schedule runs one kind of sync (inventory, offers, all or refresh) of
 * one user, either every interval_s seconds (anchored at its previous due
 * time, so it does not drift) or at times of day ("HH:MM" list) in an IANA
 * time zone. A wall time that a DST change skips (02:30 on a spring-forward
 * night) fires when the clock jumps (03:00 + the 30 minutes: 03:30, as
 * mktime() does); one it repeats (01:30 on a fall-back night) fires once,
 * at its first occurrence.
 */
#ifndef SCHEDULE_H
#define SCHEDULE_H

#include "buf.h"
#include "error.h"

struct tzfile;

#define SCHEDULE_TIMES_MAX	      24       /* times of day in one schedule */
#define SCHEDULE_INTERVAL_MAX_S	      2592000L /* 30 days */
#define SCHEDULE_MIN_INTERVAL_DEFAULT 60       /* seconds; serve --schedule-min-interval */
#define SCHEDULE_PER_USER_MAX	      20
#define SCHEDULE_BACKOFF_STEPS	      6 /* the delay doubles up to base x 2^6 */

/* ERR_OK when kind is one a schedule may run ("inventory", "offers", "all",
 * "refresh"), else ERR_INVALID with why. */
enum error schedule_kind_check(const char *kind, struct buf *why);

/* ERR_OK when interval_s is within [min_s, SCHEDULE_INTERVAL_MAX_S]. */
enum error schedule_interval_check(long long interval_s, long long min_s, struct buf *why);

/*
 * Parses "HH:MM[,HH:MM...]" (00:00 to 23:59, spaces around commas allowed)
 * into minutes of the day, sorted, without repeats: *n of them (1 to
 * SCHEDULE_TIMES_MAX) in minutes[]. ERR_INVALID with why otherwise.
 */
enum error schedule_times_parse(const char *text, int minutes[SCHEDULE_TIMES_MAX], int *n,
				struct buf *why);
/* The canonical text of minutes[0..n): "08:00,20:30", appended to out. */
void schedule_times_format(const int *minutes, int n, struct buf *out);

/* The first due time anchor_ms + k * interval_s (k >= 1) after now_ms. */
long long schedule_next_interval(long long anchor_ms, long long interval_s, long long now_ms);

/*
 * The first instant after now_ms (epoch ms) when the wall clock of zone z
 * shows one of minutes[0..n) (minutes of the day, sorted), by the rules in
 * the comment at the top.
 */
long long schedule_next_times(const struct tzfile *z, const int *minutes, int n, long long now_ms);

/*
 * When a schedule is due next after now_ms: every interval_s (> 0,
 * anchored at anchor_ms, or at now_ms when anchor_ms is 0) or, with
 * interval_s 0, at times (text as schedule_times_parse takes) in zone tz.
 * ERR_INVALID with why for bad times or an unknown zone.
 */
enum error schedule_next_due(long long interval_s, const char *times, const char *tz,
			     long long anchor_ms, long long now_ms, long long *out,
			     struct buf *why);

/* The wait before retry number failures (1 for the first) of a failing
 * schedule: base_ms, 2 x base_ms, 4 x ... up to base_ms x
 * 2^SCHEDULE_BACKOFF_STEPS. */
long long schedule_backoff_ms(long long failures, long long base_ms);

#endif
