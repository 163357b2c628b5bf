/*
 * The scheduler (see scheduler.h). A tick does three things, each read
 * from the database: record the end of runs that schedules started
 * (watched), resume schedules paused for a relink whose user's eBay
 * credentials changed since (paused), and fire the due ones (due).
 *
 * Firing a due time: if the schedule's last run is still going, the due
 * time is claimed and skipped. Otherwise the claim moves next_due_ms to
 * the next due time of the cadence; only the process whose claim changed
 * the row goes on to runs_start(). The run's end, seen on a later tick,
 * sets the result, and for a failure an earlier next_due_ms (the backoff)
 * or a pause.
 */
#include "scheduler.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "random.h"
#include "runs.h"
#include "schedule.h"
#include "store.h"
#include "storepool.h"
#include "sync_run.h"
#include "timeutil.h"
#include "tzfile.h"
#include "xalloc.h"
#include "banned.h"

#define BATCH	      50
#define LOST_AFTER_MS 600000 /* a started run without a row this long is lost */
#define ID_BYTES      9

struct scheduler {
	struct scheduler_config cfg;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	int stopping;
};

/* ---- credentials' fingerprint -------------------------------------------- */

/* FNV-1a of the user's sealed refresh token (OAuth-linked accounts), or of
 * the sealed access token (a token set by hand): a relink changes it.
 * Only says "changed", never anything of the token. NULL when the user
 * cannot be read. */
static char *cred_mark(struct store *s, const char *user)
{
	struct user_row u;
	const char *t;
	uint64_t h = 1469598103934665603ULL;
	char *out = NULL;

	memset(&u, 0, sizeof(u));
	if (store_user_get(s, user, &u))
		return NULL;
	t = u.ebay_refresh_token && *u.ebay_refresh_token ? u.ebay_refresh_token : u.ebay_token;
	for (; t && *t; t++)
		h = (h ^ (unsigned char)*t) * 1099511628211ULL;
	out = xasprintf("%016llx", (unsigned long long)h);
	user_row_release(&u);
	return out;
}

static void set_str(char **field, const char *v)
{
	free(*field);
	*field = v ? xstrdup(v) : NULL;
}

static long long backoff_base(const struct scheduler *sc)
{
	return sc->cfg.backoff_base_ms > 0 ? sc->cfg.backoff_base_ms : SCHEDULER_BACKOFF_BASE;
}

/* ---- watched: a started run's end ---------------------------------------- */

static int run_ended(const char *status)
{
	return !strcmp(status, STORE_RUN_DONE) || !strcmp(status, STORE_RUN_FAILED) ||
	       !strcmp(status, STORE_RUN_CANCELLED) || !strcmp(status, STORE_RUN_INTERRUPTED);
}

/* Records the end of r's last run if it has ended. Returns 1 when the run
 * is still going (or its end is not known yet), 0 otherwise. */
static int observe(struct scheduler *sc, struct store *s, struct schedule_row *r, long long now)
{
	struct run_row run;
	enum error err;
	long long retry;
	char *mark = NULL;

	memset(&run, 0, sizeof(run));
	err = store_run_get(s, NULL, r->last_run_id, &run);
	if (err == ERR_NOTFOUND && now - r->last_run_ms > LOST_AFTER_MS) {
		run.status = xstrdup(STORE_RUN_FAILED);
		run.error = xstrdup("the run was never recorded");
		run.error_code = xstrdup(error_code_name(ERR_INTERNAL));
	} else if (err || !run_ended(run.status)) {
		run_row_release(&run);
		return 1;
	}
	set_str(&r->last_result, run.status);
	set_str(&r->last_error, run.error);
	set_str(&r->last_code, run.error_code);
	r->updated_ms = now;
	if (!strcmp(run.status, STORE_RUN_DONE)) {
		r->failures = 0;
	} else if (run.error_code && !strcmp(run.error_code, SCHEDULER_PAUSE_RELINK)) {
		set_str(&r->paused_reason, SCHEDULER_PAUSE_RELINK);
		mark = cred_mark(s, r->user_id);
		set_str(&r->cred_mark, mark);
	} else if (strcmp(run.status, STORE_RUN_CANCELLED)) {
		/* failed or interrupted: retry, unless the cadence comes first */
		r->failures++;
		retry = (run.finished_ms > 0 && run.finished_ms < now ? run.finished_ms : now) +
			schedule_backoff_ms(r->failures, backoff_base(sc));
		if (retry < r->next_due_ms)
			r->next_due_ms = retry;
	}
	err = store_schedule_finish(s, r);
	if (!err && !sc->cfg.quiet)
		printf("schedule %s of %s: run %s %s%s%s\n", r->id, r->user_id, r->last_run_id,
		       run.status, r->paused_reason ? ", paused: " : "",
		       r->paused_reason ? r->paused_reason : "");
	fflush(stdout);
	free(mark);
	run_row_release(&run);
	return 0;
}

/* ---- paused: resumed by a relink ------------------------------------------ */

static void maybe_resume(struct store *s, struct schedule_row *r, long long now)
{
	char *mark;

	if (strcmp(r->paused_reason, SCHEDULER_PAUSE_RELINK))
		return;
	mark = cred_mark(s, r->user_id);
	if (mark && (!r->cred_mark || strcmp(mark, r->cred_mark))) {
		set_str(&r->paused_reason, NULL);
		set_str(&r->cred_mark, NULL);
		r->failures = 0;
		r->next_due_ms = now;
		r->updated_ms = now;
		store_schedule_update(s, r);
	}
	free(mark);
}

/* ---- due: fire ------------------------------------------------------------ */

static void skipped(struct store *s, struct schedule_row *r, const char *why, enum error err,
		    long long now)
{
	set_str(&r->last_result, STORE_SCHEDULE_SKIPPED);
	set_str(&r->last_error, why);
	set_str(&r->last_code, error_code_name(err));
	r->updated_ms = now;
	store_schedule_skipped(s, r);
}

static void fire(struct scheduler *sc, struct store *s, struct schedule_row *r, long long now)
{
	struct buf why = BUF_INIT;
	char *run_id = NULL, *conflict = NULL, *mark;
	long long next, due;
	enum sync_kind kind;
	int going = 0;
	enum error err;

	if (r->last_result && !strcmp(r->last_result, STORE_SCHEDULE_RUNNING))
		going = observe(sc, s, r, now);
	if (r->paused_reason || r->next_due_ms > now)
		goto out; /* observing it paused it or brought a retry forward */
	err = schedule_next_due(r->interval_s, r->times, r->tz, r->next_due_ms, now, &next, &why);
	if (err) {
		/* A stored cadence that no longer reads (a zone removed from
		 * the tz database): try again in an hour, and say why. */
		next = now + 3600000;
	}
	due = r->next_due_ms;
	if (store_schedule_claim(s, r->id, due, next))
		goto out; /* another process fired it, or the user changed it */
	r->next_due_ms = next;
	if (err) {
		skipped(s, r, buf_str(&why), err, now);
		goto out;
	}
	if (going) {
		skipped(s, r, "the schedule's last run is still going", ERR_CONFLICT, now);
		goto out;
	}
	if (sync_kind_parse(r->kind, &kind)) {
		skipped(s, r, "the schedule's kind is unknown", ERR_INVALID, now);
		goto out;
	}
	err = runs_start(sc->cfg.runs, s, r->user_id, kind, &(struct runs_start_opts){0}, &run_id,
			 &conflict, &why);
	if (!err) {
		store_schedule_started(s, r->id, run_id, now);
		if (!sc->cfg.quiet)
			printf("schedule %s of %s: due %lld, started %s\n", r->id, r->user_id, due,
			       run_id);
	} else if (err == ERR_INVALID || err == ERR_RELINK) {
		/* No eBay account to sync with: pause until one is linked. */
		skipped(s, r, buf_str(&why), err, now);
		mark = cred_mark(s, r->user_id);
		set_str(&r->paused_reason, SCHEDULER_PAUSE_RELINK);
		set_str(&r->cred_mark, mark);
		free(mark);
		store_schedule_update(s, r);
	} else {
		/* ERR_CONFLICT (a run of the kind is queued or running), a user
		 * gone, the server stopping, the database away: next time. */
		skipped(s, r, buf_str(&why), err, now);
	}
	fflush(stdout);
out:
	free(run_id);
	free(conflict);
	buf_release(&why);
}

/* ---- the thread ----------------------------------------------------------- */

typedef void (*row_fn)(struct scheduler *sc, struct store *s, struct schedule_row *r,
		       long long now);

static void watch_one(struct scheduler *sc, struct store *s, struct schedule_row *r, long long now)
{
	observe(sc, s, r, now);
}

static void resume_one(struct scheduler *sc, struct store *s, struct schedule_row *r, long long now)
{
	maybe_resume(s, r, now);
}

static void each(struct scheduler *sc, struct store *s, enum store_schedule_scan what,
		 long long now, row_fn fn)
{
	struct schedule_row *rows = NULL;
	size_t n = 0, i;

	if (store_schedule_scan(s, what, now, BATCH, &rows, &n))
		return;
	for (i = 0; i < n; i++) {
		fn(sc, s, &rows[i], now);
		schedule_row_release(&rows[i]);
	}
	free(rows);
}

void scheduler_tick(struct scheduler *sc, struct store *s, long long now_ms)
{
	each(sc, s, STORE_SCHEDULE_WATCHED, now_ms, watch_one);
	each(sc, s, STORE_SCHEDULE_PAUSED, now_ms, resume_one);
	each(sc, s, STORE_SCHEDULE_DUE, now_ms, fire);
}

static int stopping(struct scheduler *sc)
{
	int v;

	pthread_mutex_lock(&sc->mu);
	v = sc->stopping;
	pthread_mutex_unlock(&sc->mu);
	return v;
}

static void *scheduler_thread(void *arg)
{
	struct scheduler *sc = arg;
	long long tick = sc->cfg.tick_ms > 0 ? sc->cfg.tick_ms : SCHEDULER_TICK_MS;
	struct buf why = BUF_INIT;
	struct timespec ts;
	struct store *s;

	while (!stopping(sc)) {
		s = storepool_get(sc->cfg.pool, &why);
		buf_reset(&why);
		if (s) {
			scheduler_tick(sc, s, timeutil_wall_ms());
			storepool_put(sc->cfg.pool, s, 0);
		}
		pthread_mutex_lock(&sc->mu);
		if (!sc->stopping) {
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += tick / 1000;
			ts.tv_nsec += (tick % 1000) * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&sc->cond, &sc->mu, &ts);
		}
		pthread_mutex_unlock(&sc->mu);
	}
	buf_release(&why);
	return NULL;
}

struct scheduler *scheduler_start(const struct scheduler_config *cfg)
{
	struct scheduler *sc = xcalloc(1, sizeof(*sc));

	sc->cfg = *cfg;
	pthread_mutex_init(&sc->mu, NULL);
	pthread_cond_init(&sc->cond, NULL);
	if (pthread_create(&sc->thread, NULL, scheduler_thread, sc)) {
		fprintf(stderr, "ebaysync: cannot start the scheduler: %s\n", strerror(errno));
		abort();
	}
	return sc;
}

void scheduler_stop(struct scheduler *sc)
{
	if (!sc)
		return;
	pthread_mutex_lock(&sc->mu);
	sc->stopping = 1;
	pthread_cond_signal(&sc->cond);
	pthread_mutex_unlock(&sc->mu);
	pthread_join(sc->thread, NULL);
	pthread_mutex_destroy(&sc->mu);
	pthread_cond_destroy(&sc->cond);
	free(sc);
}

/* ---- create and change ------------------------------------------------------ */

/* Checks the settings of r (as they will be stored) and sets its next due
 * time from now. */
static enum error settle(struct schedule_row *r, long long min_interval_s, long long now,
			 struct buf *why)
{
	int minutes[SCHEDULE_TIMES_MAX], n;
	struct buf canon = BUF_INIT;
	struct tzfile *z = NULL;
	enum error err = schedule_kind_check(r->kind, why);

	if (err)
		return err;
	if (min_interval_s <= 0)
		min_interval_s = SCHEDULE_MIN_INTERVAL_DEFAULT;
	if ((r->interval_s > 0) == (r->times != NULL)) {
		buf_adds(why,
			 "give either interval_s (seconds) or times (\"HH:MM,...\"), not both");
		return ERR_INVALID;
	}
	if (r->interval_s > 0) {
		err = schedule_interval_check(r->interval_s, min_interval_s, why);
		if (!err)
			r->next_due_ms = now; /* runs at once, then every interval */
	} else {
		err = schedule_times_parse(r->times, minutes, &n, why);
		if (!err)
			err = tzfile_load(r->tz, &z, why);
		if (!err) {
			schedule_times_format(minutes, n, &canon);
			set_str(&r->times, buf_str(&canon));
			r->next_due_ms = schedule_next_times(z, minutes, n, now);
		}
	}
	if (!err && r->interval_s > 0 && !tzfile_name_ok(r->tz)) {
		buf_addf(why, "'%.80s' is not a time zone name", r->tz);
		err = ERR_INVALID;
	}
	tzfile_free(z);
	buf_release(&canon);
	return err;
}

enum error scheduler_add(struct store *s, const char *user, const struct schedule_settings *in,
			 long long min_interval_s, long long now_ms, struct schedule_row *out,
			 struct buf *why)
{
	struct schedule_row *mine = NULL;
	size_t n = 0, i;
	enum error err;
	char *id;

	memset(out, 0, sizeof(*out));
	out->user_id = xstrdup(user);
	out->kind = xstrdup(in->kind ? in->kind : "");
	out->interval_s = in->interval_s > 0 ? in->interval_s : 0;
	out->times = in->times ? xstrdup(in->times) : NULL;
	out->tz = xstrdup(in->tz ? in->tz : "UTC");
	out->enabled = in->enabled != 0;
	out->created_ms = out->updated_ms = now_ms;
	err = settle(out, min_interval_s, now_ms, why);
	if (err)
		return err;
	err = store_schedule_list(s, user, &mine, &n);
	for (i = 0; i < n; i++)
		schedule_row_release(&mine[i]);
	free(mine);
	if (err) {
		buf_addf(why, "%s", store_errmsg(s));
		return err;
	}
	if (n >= SCHEDULE_PER_USER_MAX) {
		buf_addf(why, "a user has at most %d schedules: delete one first",
			 SCHEDULE_PER_USER_MAX);
		return ERR_INVALID;
	}
	id = random_token(ID_BYTES);
	out->id = xasprintf("sch_%s", id);
	free(id);
	err = store_schedule_insert(s, out);
	if (err)
		buf_addf(why, "%s", store_errmsg(s));
	return err;
}

enum error scheduler_change(struct store *s, const char *user, const char *id,
			    const struct schedule_settings *in, long long min_interval_s,
			    long long now_ms, struct schedule_row *out, struct buf *why)
{
	long long due;
	int recadence = 0;
	enum error err = store_schedule_get(s, user, id, out);

	if (err) {
		buf_addf(why, "%s", store_errmsg(s));
		return err;
	}
	due = out->next_due_ms;
	if (in->kind) {
		set_str(&out->kind, in->kind);
	}
	if (in->interval_s > 0) {
		out->interval_s = in->interval_s;
		set_str(&out->times, NULL);
		recadence = 1;
	} else if (in->interval_s == 0 && !in->times) {
		buf_adds(why, "interval_s must be a positive number of seconds");
		return ERR_INVALID;
	}
	if (in->times) {
		if (in->interval_s > 0) {
			buf_adds(why, "give either interval_s or times, not both");
			return ERR_INVALID;
		}
		out->interval_s = 0;
		set_str(&out->times, in->times);
		recadence = 1;
	}
	if (in->tz) {
		set_str(&out->tz, in->tz);
		recadence = 1;
	}
	if (in->enabled == 1 && (!out->enabled || out->paused_reason)) {
		/* On again: from now on, and a relink pause is over. */
		set_str(&out->paused_reason, NULL);
		set_str(&out->cred_mark, NULL);
		out->failures = 0;
		recadence = 1;
	}
	if (in->enabled >= 0)
		out->enabled = in->enabled;
	out->updated_ms = now_ms;
	err = settle(out, min_interval_s, now_ms, why);
	if (err)
		return err;
	if (!recadence)
		out->next_due_ms = due;
	err = store_schedule_update(s, out);
	if (err)
		buf_addf(why, "%s", store_errmsg(s));
	return err;
}
