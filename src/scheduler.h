/*
 * The scheduler: a thread of ebaysync serve (and of a future `ebaysync
 * worker`) that starts the runs of users' schedules (schedule.h) when they
 * are due, through runs_start(), and follows each run to its end to record
 * its result (docs/schedules.md).
 *
 * Every tick (a second) it reads the database, not memory, so any number
 * of processes may run a scheduler on one database: a due time is fired by
 * the one process whose compare-and-set on the schedule's next_due_ms
 * (store_schedule_claim) succeeds, and a run's end is recorded by the one
 * whose store_schedule_finish does.
 *
 * Rules: a schedule does not start a run while its last run (or any run of
 * its kind for the user: runs_start's ERR_CONFLICT) is queued or running;
 * the due time is skipped. A failed run is retried after 1, 2, 4 ... times
 * the backoff base (capped) unless the normal cadence comes first. A run
 * that failed because the eBay account must be linked again (error code
 * "ebay_relink"), or a start refused for want of an eBay account, pauses
 * the schedule with that reason; switching it on again, or a change of the
 * user's eBay credentials (a relink), resumes it.
 *
 * This file also holds the create and change operations that the API and
 * the command line share (validation, next due time, store).
 */
#ifndef SCHEDULER_H
#define SCHEDULER_H

#include "buf.h"
#include "error.h"

struct runs;
struct schedule_row;
struct store;
struct storepool;

#define SCHEDULER_TICK_MS      1000
#define SCHEDULER_BACKOFF_BASE 60000 /* ms: the first retry after a minute */
#define SCHEDULER_PAUSE_RELINK "ebay_relink"

struct scheduler_config {
	struct storepool *pool; /* borrowed; outlives the scheduler */
	struct runs *runs;	/* borrowed; starts the runs */
	long long tick_ms;	/* 0: SCHEDULER_TICK_MS */
	/* The backoff base in ms (0: SCHEDULER_BACKOFF_BASE); serve makes it
	 * min(base, --schedule-min-interval) so that tests retry fast. */
	long long backoff_base_ms;
	int quiet; /* do not print what fires */
};

struct scheduler;

/* Starts the thread. Stop and free it with scheduler_stop(). */
struct scheduler *scheduler_start(const struct scheduler_config *cfg);
/* Asks the thread to stop, waits for the tick in progress (a run start at
 * most) and frees the scheduler. NULL is fine. Call before runs_shutdown(). */
void scheduler_stop(struct scheduler *sc);

/* One tick at now_ms with store s: what the thread does every tick_ms
 * (for a caller that drives the clock itself, such as a worker loop). */
void scheduler_tick(struct scheduler *sc, struct store *s, long long now_ms);

/* What a user sets of a schedule. For a change, NULL strings,
 * interval_s < 0 and enabled < 0 leave the stored value; on create,
 * interval_s <= 0 means none (then times). */
struct schedule_settings {
	const char *kind;
	long long interval_s; /* > 0: an interval; 0 with times */
	const char *times;    /* "HH:MM,..." */
	const char *tz;	      /* IANA zone; NULL: "UTC" on create */
	int enabled;
};

/*
 * Validates in (an interval of at least min_interval_s, or times; not
 * both), and stores a new schedule of user, due at once (an interval: it
 * runs when made, then every interval_s) or at the next time of day after
 * now_ms, at most SCHEDULE_PER_USER_MAX a user.
 * ERR_INVALID (why says what to fix) for bad settings or one too many;
 * *out is the stored row (release it with schedule_row_release()).
 */
enum error scheduler_add(struct store *s, const char *user, const struct schedule_settings *in,
			 long long min_interval_s, long long now_ms, struct schedule_row *out,
			 struct buf *why);
/*
 * Changes schedule id of user as in says. A new cadence is due from now;
 * switching it on (enabled 1) also clears a pause and the failure count.
 * ERR_NOTFOUND when the user has no such schedule, ERR_INVALID as above.
 */
enum error scheduler_change(struct store *s, const char *user, const char *id,
			    const struct schedule_settings *in, long long min_interval_s,
			    long long now_ms, struct schedule_row *out, struct buf *why);

#endif
