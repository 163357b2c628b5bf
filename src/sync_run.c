/*
 * The run object of the sync engine (see sync_run.h): a run's options and
 * state from sync_run_new() to sync_run_free(), and the helpers through
 * which the driver (sync.c) and the phases (sync_pages.c, sync_offers.c,
 * sync_skus.c) count, log, fail and check for cancellation. It calls
 * neither of them.
 */
#include "sync_run.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "timeutil.h"
#include "writer.h"
#include "xalloc.h"
#include "banned.h"

static const char *const kind_names[] = {
    [SYNC_INVENTORY] = "inventory", [SYNC_OFFERS] = "offers",	[SYNC_ALL] = "all",
    [SYNC_SKUS] = "skus",	    [SYNC_REFRESH] = "refresh",
};

#define N_KINDS (sizeof(kind_names) / sizeof(kind_names[0]))

const char *sync_kind_name(enum sync_kind k)
{
	return (size_t)k < N_KINDS ? kind_names[k] : "unknown";
}

enum error sync_kind_parse(const char *s, enum sync_kind *out)
{
	for (size_t i = 0; i < N_KINDS; i++) {
		if (s && !strcmp(s, kind_names[i])) {
			*out = (enum sync_kind)i;
			return ERR_OK;
		}
	}
	return ERR_INVALID;
}

char *sync_new_run_id(enum sync_kind k)
{
	unsigned char rnd[3];

	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
		long long t = timeutil_mono_ms() ^ getpid();
		memcpy(rnd, &t, sizeof(rnd));
	}
	return xasprintf("%s_%lld_%02x%02x%02x", sync_kind_name(k), timeutil_wall_ms() / 1000,
			 rnd[0], rnd[1], rnd[2]);
}

char *sync_owner_here(void)
{
	char host[256] = "localhost";

	gethostname(host, sizeof(host) - 1);
	return xasprintf("%s:%d", host, (int)getpid());
}

int sync_owner_is_dead(const char *mine, const char *owner)
{
	const char *colon = owner ? strrchr(owner, ':') : NULL;
	const char *my_colon = mine ? strrchr(mine, ':') : NULL;
	long pid;
	char *end;

	if (!colon || !my_colon || colon - owner != my_colon - mine ||
	    strncmp(owner, mine, (size_t)(colon - owner)) || !strcmp(owner, mine))
		return 0;
	errno = 0;
	pid = strtol(colon + 1, &end, 10);
	if (errno || *end || pid <= 0 || pid > INT_MAX)
		return 0;
	/* EPERM: alive, another user's; only ESRCH says it is gone. */
	return kill((pid_t)pid, 0) == -1 && errno == ESRCH;
}

enum error sync_interrupt_dead_owners(struct store *s, const char *mine, const char *user,
				      long long *count, struct buf *why)
{
	struct run_row *rows = NULL;
	size_t n_rows = 0, j;
	long long total = 0, n;
	enum error err;

	/* A running run is among a user's newest. */
	err = store_run_list(s, user, 200, 0, &rows, &n_rows, &total);
	if (err) {
		buf_addf(why, "cannot list runs of %s: %s", user, store_errmsg(s));
		return err;
	}
	for (j = 0; j < n_rows; j++) {
		if (!err && !strcmp(rows[j].status, STORE_RUN_RUNNING) &&
		    sync_owner_is_dead(mine, rows[j].owner)) {
			n = 0;
			/* LLONG_MAX: by owner only, whatever the heartbeat. */
			err = store_runs_interrupt_stale(s, rows[j].owner, LLONG_MAX, &n);
			if (err)
				buf_addf(why, "cannot mark runs of %s interrupted: %s",
					 rows[j].owner, store_errmsg(s));
			if (count)
				*count += n;
		}
		run_row_release(&rows[j]);
	}
	free(rows);
	return err;
}

struct sync_run *sync_run_new(const struct sync_opts *opts, const char *run_id)
{
	struct sync_run *r = xcalloc(1, sizeof(*r));

	r->opts = *opts;
	r->user_id = xstrdup(opts->user_id);
	r->db_url = xstrdup(opts->db_url);
	r->env_name = xstrdup(opts->env_name ? opts->env_name : "production");
	r->owner = opts->owner ? xstrdup(opts->owner) : sync_owner_here();
	r->api_base = xstrdup(opts->ebay.api_base ? opts->ebay.api_base : EBAY_API_PRODUCTION);
	r->marketplace_id =
	    xstrdup(opts->ebay.marketplace_id ? opts->ebay.marketplace_id : "EBAY_US");
	r->opts.user_id = r->user_id;
	r->opts.db_url = r->db_url;
	r->opts.env_name = r->env_name;
	r->opts.owner = r->owner;
	r->opts.ebay.api_base = r->api_base;
	r->opts.ebay.marketplace_id = r->marketplace_id;
	if (r->opts.page_limit <= 0 || r->opts.page_limit > 200)
		r->opts.page_limit = 200;
	if (r->opts.batch_size <= 0)
		r->opts.batch_size = 200;
	r->wanted = xcalloc(opts->n_skus ? opts->n_skus : 1, sizeof(*r->wanted));
	for (size_t i = 0; i < opts->n_skus; i++)
		r->wanted[r->n_wanted++] = xstrdup(opts->skus[i]);
	r->opts.skus = NULL; /* the caller's; r->wanted are the copies */
	r->opts.n_skus = 0;
	r->id = run_id ? xstrdup(run_id) : sync_new_run_id(opts->kind);
	r->log = runlog_new(r->id);
	runlog_continue(r->log, opts->first_seq);
	pthread_mutex_init(&r->lock, NULL);
	r->status = STORE_RUN_RUNNING;
	r->available = -1;
	return r;
}

void sync_run_free(struct sync_run *r)
{
	if (!r)
		return;
	runlog_free(r->log);
	pthread_mutex_destroy(&r->lock);
	free(r->user_id);
	free(r->db_url);
	free(r->env_name);
	free(r->owner);
	free(r->api_base);
	free(r->marketplace_id);
	free(r->id);
	free(r->error);
	free(r->summary);
	for (size_t i = 0; i < r->n_wanted; i++)
		free(r->wanted[i]);
	free(r->wanted);
	free(r);
}

void sync_run_cancel(struct sync_run *r)
{
	atomic_store(&r->cancel, 1);
}

void sync_run_handback(struct sync_run *r)
{
	atomic_store(&r->handback, 1);
	atomic_store(&r->cancel, 1);
}

int sync_run_handed_back(struct sync_run *r)
{
	return atomic_load(&r->handback) && sync_run_result(r) == ERR_CANCELLED;
}

const char *sync_run_id(const struct sync_run *r)
{
	return r->id;
}

struct runlog *sync_run_log(struct sync_run *r)
{
	return r->log;
}

const char *sync_run_status(const struct sync_run *r)
{
	const char *s;

	pthread_mutex_lock((pthread_mutex_t *)&r->lock);
	s = r->status;
	pthread_mutex_unlock((pthread_mutex_t *)&r->lock);
	return s;
}

const char *sync_run_error(const struct sync_run *r)
{
	return r->error;
}

enum error sync_run_result(const struct sync_run *r)
{
	enum error err;

	pthread_mutex_lock((pthread_mutex_t *)&r->lock);
	err = r->result;
	pthread_mutex_unlock((pthread_mutex_t *)&r->lock);
	return err;
}

struct run_counts sync_run_counts(struct sync_run *r)
{
	struct run_counts c;

	pthread_mutex_lock(&r->lock);
	c = r->counts;
	pthread_mutex_unlock(&r->lock);
	return c;
}

void sync_counts_add(struct sync_run *r, long long fetched, long long stored, long long failed,
		     long long current)
{
	pthread_mutex_lock(&r->lock);
	r->counts.fetched += fetched;
	r->counts.stored += stored;
	r->counts.failed += failed;
	r->counts.current += current;
	pthread_mutex_unlock(&r->lock);
}

void sync_counts_set(struct sync_run *r, long long current, long long total, const char *unit)
{
	pthread_mutex_lock(&r->lock);
	r->counts.current = current;
	r->counts.total = total;
	r->counts.unit = unit;
	pthread_mutex_unlock(&r->lock);
}

void sync_emit(struct sync_run *r, enum event_type t, const char *fmt, ...)
{
	struct run_counts c = sync_run_counts(r);
	va_list ap;

	va_start(ap, fmt);
	runlog_vemit(r->log, t, &c, fmt, ap);
	va_end(ap);
}

enum error sync_fail(struct sync_run *r, enum error err, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = xstrdup(error_strerror(err));
	va_end(ap);
	pthread_mutex_lock(&r->lock);
	if (!r->error)
		r->error = msg;
	else
		free(msg);
	pthread_mutex_unlock(&r->lock);
	return err;
}

enum error sync_flush_writer(struct sync_run *r)
{
	const char *msg = NULL;
	enum error err = writer_flush(r->writer);

	if (!err)
		return ERR_OK;
	writer_error(r->writer, &msg);
	return sync_fail(r, err, "%s", msg ? msg : error_strerror(err));
}

const char *sync_url_path(const char *url)
{
	const char *p = strstr(url, "://");

	if (!p)
		return url;
	p = strchr(p + 3, '/');
	return p ? p : "/";
}

void sync_run_fill_row(struct sync_run *r, struct run_row *row)
{
	struct run_counts c = sync_run_counts(r);

	memset(row, 0, sizeof(*row));
	row->id = r->id;
	row->user_id = r->user_id;
	row->kind = (char *)sync_kind_name(r->opts.kind);
	pthread_mutex_lock(&r->lock);
	row->status = (char *)r->status;
	row->error = r->error;
	if (r->result && r->result != ERR_CANCELLED)
		row->error_code = (char *)error_code_name(r->result);
	pthread_mutex_unlock(&r->lock);
	row->fetched = c.fetched;
	row->stored = c.stored;
	row->failed = c.failed;
	row->total = c.total;
	row->heartbeat_ms = timeutil_wall_ms();
	row->owner = r->owner;
}

int sync_should_stop(struct sync_run *r)
{
	long long now = timeutil_mono_ms();

	if (atomic_load(&r->cancel))
		return 1;
	if (now >= r->next_beat && r->store) {
		struct run_row row, cur;

		r->next_beat = now + SYNC_BEAT_MS;
		sync_run_fill_row(r, &row);
		if (store_run_update(r->store, &row) == ERR_OK &&
		    store_run_get(r->store, NULL, r->id, &cur) == ERR_OK) {
			if (cur.stop_requested)
				atomic_store(&r->cancel, 1);
			run_row_release(&cur);
		}
	}
	return atomic_load(&r->cancel);
}

enum error sync_remember(struct sync_run *r, const char *const *skus, size_t n,
			 unsigned char *is_new)
{
	enum error err = store_skus_add(r->store, r->id, skus, n, is_new, &r->n_skus);

	if (err)
		return sync_fail(r, err, "cannot keep the SKU list: %s", store_errmsg(r->store));
	return ERR_OK;
}
