/*
 * The run manager (see runs.h). One mutex guards the registry, the entries'
 * reference counts and their running flags; runs execute on detached threads
 * that hand their last act (dropping their reference and the active count)
 * back under that mutex, so shutdown can wait on a condition variable until
 * the count is zero and then free everything.
 *
 * A run gets its user's eBay token from the users table, sealed
 * (secret.h); the token is opened once when the run starts, held only in the
 * run's entry, and wiped when the run ends. When eBay rejects it mid-run the
 * engine asks again with refresh set: the manager re-reads the row, so a
 * token replaced with `ebaysync user set-token` during a run is picked up;
 * otherwise the run fails with a message that says how to fix it. A user
 * who linked an eBay account (account.h) gets its token source instead.
 */
#include "runs.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "account.h"
#include "queue.h"
#include "runlog.h"
#include "store.h"
#include "storepool.h"
#include "timeutil.h"
#include "webhook.h"
#include "xalloc.h"
#include "banned.h"

#define KEEP_FINISHED	 64	      /* finished runs kept in memory at most */
#define KEEP_FINISHED_MS (10 * 60000) /* and for at most this long */

struct runs_entry {
	struct runs *owner;
	int refs; /* under owner->mu */
	char *id, *user;
	enum sync_kind kind;
	struct sync_run *run;
	int running;			   /* under owner->mu */
	long long started_ms, finished_ms; /* wall clock */
	long long finished_mono;
	char *token;			/* the opened eBay token; wiped when the run ends */
	char *token_error;		/* why it could not be opened, or NULL */
	struct account_source *account; /* instead, for a user who linked an account */
	pthread_mutex_t token_mu;
	struct runs_entry *next;
};

struct runs {
	pthread_mutex_t mu;
	pthread_cond_t idle;
	struct runs_entry *head;
	size_t active;
	int shutting_down;
	struct runs_config cfg;
	char *api_base, *marketplace, *env_name, *owner;
	struct secret_key key;
	struct storepool *pool;
	void (*enqueued)(void *ctx);
	void *enqueued_ctx;
};

struct runs *runs_new(const struct runs_config *cfg, struct storepool *pool)
{
	struct runs *r = xcalloc(1, sizeof(*r));

	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->idle, NULL);
	r->cfg = *cfg;
	r->api_base = xstrdup(cfg->ebay.api_base);
	r->marketplace = xstrdup(cfg->ebay.marketplace_id);
	r->env_name = xstrdup(cfg->env_name ? cfg->env_name : "production");
	r->cfg.ebay.api_base = r->api_base;
	r->cfg.ebay.marketplace_id = r->marketplace;
	r->cfg.env_name = r->env_name;
	if (cfg->key)
		r->key = *cfg->key;
	r->cfg.key = &r->key;
	r->owner = cfg->owner ? xstrdup(cfg->owner) : sync_owner_here();
	r->cfg.owner = r->owner;
	r->pool = pool;
	return r;
}

static void entry_free(struct runs_entry *e)
{
	if (e->run)
		sync_run_free(e->run);
	secret_free(e->token);
	free(e->token_error);
	account_source_free(e->account);
	pthread_mutex_destroy(&e->token_mu);
	free(e->id);
	free(e->user);
	free(e);
}

/* Drops a reference; the caller holds e->owner->mu. */
static void entry_unref_locked(struct runs_entry *e)
{
	if (--e->refs == 0)
		entry_free(e);
}

void runs_free(struct runs *r)
{
	struct runs_entry *e, *next;

	if (!r)
		return;
	for (e = r->head; e; e = next) {
		next = e->next;
		entry_unref_locked(e);
	}
	pthread_mutex_destroy(&r->mu);
	pthread_cond_destroy(&r->idle);
	memset(&r->key, 0, sizeof(r->key));
	free(r->api_base);
	free(r->marketplace);
	free(r->env_name);
	free(r->owner);
	free(r);
}

/* Drops finished runs that nobody needs in memory any more; under r->mu. */
static void evict_locked(struct runs *r)
{
	struct runs_entry **pp = &r->head, *e;
	long long now = timeutil_mono_ms();
	size_t finished = 0;

	while ((e = *pp)) {
		if (!e->running &&
		    (now - e->finished_mono > KEEP_FINISHED_MS || ++finished > KEEP_FINISHED)) {
			*pp = e->next;
			entry_unref_locked(e);
			continue;
		}
		pp = &e->next;
	}
}

/* The run is executing and has not reached its end: its thread may still be
 * writing its last events after its status became final. Under r->mu. */
static int live_locked(struct runs_entry *e)
{
	return e->running && !strcmp(sync_run_status(e->run), STORE_RUN_RUNNING);
}

static struct runs_entry *find_locked(struct runs *r, const char *user, const char *id)
{
	struct runs_entry *e;

	for (e = r->head; e; e = e->next)
		if (!strcmp(e->id, id) && !strcmp(e->user, user))
			return e;
	return NULL;
}

/* ---- recovery -------------------------------------------------------------- */

enum error runs_recover(struct runs *r, struct store *s, long long *count, struct buf *why)
{
	struct user_row *users = NULL;
	size_t n_users = 0, i;
	long long n = 0, total = 0;
	enum error err;

	err = store_runs_interrupt_stale(s, NULL, RUNS_STALE_MS, &n);
	if (err) {
		buf_addf(why, "cannot mark stale runs interrupted: %s", store_errmsg(s));
		return err;
	}
	total += n;
	/* A process of this host that died a moment ago left a fresh
	 * heartbeat: its pid tells us it is gone. */
	err = store_user_list(s, &users, &n_users);
	if (err) {
		buf_addf(why, "cannot list users: %s", store_errmsg(s));
		return err;
	}
	for (i = 0; i < n_users && !err; i++)
		err = sync_interrupt_dead_owners(s, r->owner, users[i].id, &total, why);
	for (i = 0; i < n_users; i++)
		user_row_release(&users[i]);
	free(users);
	if (count)
		*count = total;
	return err;
}

/* ---- the eBay token of a run --------------------------------------------- */

static enum error open_user_token(struct runs *r, struct store *s, const char *user, char **token,
				  struct buf *why)
{
	struct user_row u;
	char *context;
	enum error err;

	*token = NULL;
	memset(&u, 0, sizeof(u));
	err = store_user_get(s, user, &u);
	if (err == ERR_NOTFOUND) {
		buf_addf(why, "user '%s' no longer exists", user);
		return ERR_AUTH;
	}
	if (err) {
		buf_addf(why, "cannot read user '%s': %s", user, store_errmsg(s));
		return err;
	}
	if (!u.ebay_token || !*u.ebay_token) {
		buf_addf(why,
			 "no eBay account is linked for '%s': set a token with "
			 "`ebaysync user set-token %s --token-file FILE`",
			 user, user);
		err = ERR_INVALID;
		goto out;
	}
	context = xasprintf("ebay_token:%s", user);
	err = secret_open(&r->key, context, u.ebay_token, token, why);
	free(context);
	if (err) {
		buf_addf(why,
			 ": the eBay token of '%s' cannot be read; set it again with "
			 "`ebaysync user set-token`",
			 user);
		err = ERR_INVALID;
	}
out:
	user_row_release(&u);
	return err;
}

static enum error token_cb(void *ctx, int refresh, char **token, struct buf *why)
{
	struct runs_entry *e = ctx;
	struct store *s;
	char *fresh = NULL;
	enum error err = ERR_OK;

	pthread_mutex_lock(&e->token_mu);
	if (refresh) {
		s = storepool_get(e->owner->pool, why);
		if (!s) {
			err = ERR_DB;
			goto out;
		}
		err = open_user_token(e->owner, s, e->user, &fresh, why);
		storepool_put(e->owner->pool, s, err == ERR_DB);
		if (err)
			goto out;
		if (e->token && !strcmp(fresh, e->token)) {
			secret_free(fresh);
			buf_addf(why,
				 "eBay refused the access token of '%s': set a fresh one with "
				 "`ebaysync user set-token %s`",
				 e->user, e->user);
			err = ERR_AUTH;
			goto out;
		}
		secret_free(e->token);
		e->token = fresh;
	}
	if (!e->token) {
		buf_addf(why, "%s", e->token_error ? e->token_error : "the run has ended");
		err = ERR_AUTH;
		goto out;
	}
	*token = xstrdup(e->token);
out:
	pthread_mutex_unlock(&e->token_mu);
	return err;
}

/* ---- running ----------------------------------------------------------------- */

static void on_event(void *ctx, const struct event *ev)
{
	struct runs_entry *e = ctx;
	struct runs *r = e->owner;

	if (r->cfg.notify)
		r->cfg.notify(r->cfg.notify_ctx);
	if (!r->cfg.quiet && (ev->type == EVENT_START || event_type_final(ev->type))) {
		fprintf(stdout, "run %s (%s): %s\n", e->id, e->user, ev->line);
		fflush(stdout);
	}
}

/* Executes e's run on the calling thread, then drops the run thread's
 * reference and the active count. */
static void execute_entry(struct runs_entry *e)
{
	struct runs *r = e->owner;

	/* The run's own log says how it ended (on_event prints it). */
	sync_run_execute(e->run);
	if (!sync_run_handed_back(e->run))
		webhook_run_finished(r->pool, e->user, e->id); /* sent by webhook_send.c */
	pthread_mutex_lock(&e->token_mu);
	secret_free(e->token);
	e->token = NULL;
	pthread_mutex_unlock(&e->token_mu);
	if (r->cfg.notify)
		r->cfg.notify(r->cfg.notify_ctx);

	pthread_mutex_lock(&r->mu);
	e->running = 0;
	e->finished_ms = timeutil_wall_ms();
	e->finished_mono = timeutil_mono_ms();
	entry_unref_locked(e);
	r->active--;
	pthread_cond_broadcast(&r->idle);
	pthread_mutex_unlock(&r->mu);
}

/* The run of kind for user that is queued or running, per the store. */
static enum error active_run(struct runs *r, struct store *s, const char *user, enum sync_kind kind,
			     char **conflict_id, struct buf *why)
{
	struct run_row *rows = NULL;
	size_t n = 0, i;
	long long total;
	enum error err;

	(void)r;
	err = store_run_list(s, user, 50, 0, &rows, &n, &total);
	if (err) {
		buf_addf(why, "cannot list the runs of '%s': %s", user, store_errmsg(s));
		return err;
	}
	for (i = 0; i < n; i++) {
		if (!*conflict_id && store_run_active(rows[i].status) &&
		    !strcmp(rows[i].kind, sync_kind_name(kind)))
			*conflict_id = xstrdup(rows[i].id);
		run_row_release(&rows[i]);
	}
	free(rows);
	return ERR_OK;
}

static const char *conflict_message(enum sync_kind kind)
{
	switch (kind) {
	case SYNC_INVENTORY:
		return "an inventory sync is already running";
	case SYNC_OFFERS:
		return "an offers sync is already running";
	case SYNC_SKUS:
		return "a SKU sync is already running";
	case SYNC_REFRESH:
		return "a refresh is already running";
	default:
		return "a full sync (all) is already running";
	}
}

/* The sync options of job's run, its strings pointing into job and q. */
static void job_sync_opts(struct runs *r, const struct job_row *job, enum sync_kind kind,
			  const struct queue_opts *q, struct sync_opts *opts)
{
	memset(opts, 0, sizeof(*opts));
	opts->kind = kind;
	opts->user_id = job->user_id;
	opts->db_url = storepool_url(r->pool);
	opts->env_name = r->env_name;
	opts->ebay = r->cfg.ebay;
	opts->resume = queue_resumes(kind, job->last_seq > 0, q->resume);
	opts->skus = (const char *const *)q->skus;
	opts->n_skus = q->n_skus;
	opts->report_only = q->report_only;
	opts->queued = 1;
	opts->first_seq = job->last_seq;
	opts->attempt = job->attempts;
}

/*
 * A new entry for the run of job, created but not started, owned by
 * worker. Takes ownership of token (the user's stored eBay token, or NULL
 * when linked or when it could not be opened: token_error says why). The
 * entry holds two references: the registry's and the executing thread's.
 */
static struct runs_entry *entry_new(struct runs *r, const struct job_row *job, enum sync_kind kind,
				    const struct queue_opts *q, const char *worker, int linked,
				    char *token)
{
	struct runs_entry *e = xcalloc(1, sizeof(*e));
	struct sync_opts opts;

	e->owner = r;
	e->user = xstrdup(job->user_id);
	e->kind = kind;
	e->token = token;
	pthread_mutex_init(&e->token_mu, NULL);
	job_sync_opts(r, job, kind, q, &opts);
	opts.owner = worker;
	e->account = linked ? account_source_new(r->cfg.accounts, e->user) : NULL;
	opts.token = linked ? account_token : token_cb;
	opts.token_ctx = linked ? (void *)e->account : e;
	e->run = sync_run_new(&opts, job->run_id);
	if (e->account)
		account_source_set_run(e->account, e->run);
	e->id = xstrdup(job->run_id);
	e->started_ms = timeutil_wall_ms();
	e->running = 1;
	e->refs = 2; /* the registry's and the executing thread's */
	runlog_set_sink(sync_run_log(e->run), on_event, e);
	return e;
}

/* The entry of job, its token opened (or the reason it cannot be). NULL
 * when the job's kind or options do not parse (why says so). */
static struct runs_entry *job_entry(struct runs *r, const struct job_row *job, const char *worker,
				    struct buf *why)
{
	struct queue_opts q;
	struct runs_entry *e = NULL;
	struct buf terr = BUF_INIT;
	enum sync_kind kind;
	struct store *s;
	char *token = NULL;
	int linked = 0;

	if (sync_kind_parse(job->kind, &kind)) {
		buf_addf(why, "job %s has an unknown kind '%s'", job->run_id, job->kind);
		return NULL;
	}
	if (queue_opts_parse(job->options, &q, why))
		return NULL;
	s = storepool_get(r->pool, &terr);
	if (s) {
		linked = r->cfg.accounts && account_is_linked(s, job->user_id);
		if (!linked)
			open_user_token(r, s, job->user_id, &token, &terr);
	}
	storepool_put(r->pool, s, !s);
	e = entry_new(r, job, kind, &q, worker, linked, token);
	if (!linked && !token)
		e->token_error = xstrdup(terr.len ? buf_str(&terr) : "no eBay token");
	queue_opts_release(&q);
	buf_release(&terr);
	return e;
}

enum error runs_execute(struct runs *r, const struct job_row *job, const char *worker,
			int *handed_back)
{
	struct buf why = BUF_INIT;
	struct runs_entry *e;
	enum error err;

	*handed_back = 0;
	e = job_entry(r, job, worker, &why);
	if (!e) {
		fprintf(stderr, "ebaysync: %s\n", buf_str(&why));
		buf_release(&why);
		return ERR_INVALID;
	}
	pthread_mutex_lock(&r->mu);
	if (r->shutting_down) {
		pthread_mutex_unlock(&r->mu);
		entry_free(e);
		*handed_back = 1;
		return ERR_CANCELLED;
	}
	evict_locked(r);
	e->next = r->head;
	r->head = e;
	r->active++;
	e->refs++; /* ours, to read the result after */
	pthread_mutex_unlock(&r->mu);
	execute_entry(e);
	err = sync_run_result(e->run);
	*handed_back = sync_run_handed_back(e->run);
	runs_entry_release(e);
	return err;
}

void runs_on_enqueue(struct runs *r, void (*fn)(void *ctx), void *ctx)
{
	r->enqueued = fn;
	r->enqueued_ctx = ctx;
}

void runs_handback(struct runs *r, const char *run_id)
{
	struct runs_entry *e;

	pthread_mutex_lock(&r->mu);
	for (e = r->head; e; e = e->next)
		if (e->running && !strcmp(e->id, run_id))
			sync_run_handback(e->run);
	pthread_mutex_unlock(&r->mu);
}

enum error runs_start(struct runs *r, struct store *s, const char *user, enum sync_kind kind,
		      const struct runs_start_opts *o, char **run_id, char **conflict_id,
		      struct buf *why)
{
	char *token = NULL, *options = NULL;
	struct buf msg = BUF_INIT;
	enum error err;

	*run_id = NULL;
	*conflict_id = NULL;
	if (!(r->cfg.accounts && account_is_linked(s, user))) {
		err = open_user_token(r, s, user, &token, why);
		secret_free(token); /* the worker opens it again */
		if (err)
			return err;
	}
	pthread_mutex_lock(&r->mu);
	err = r->shutting_down ? ERR_CANCELLED : ERR_OK;
	pthread_mutex_unlock(&r->mu);
	if (err) {
		buf_addf(why, "the server is shutting down");
		return err;
	}
	/* A run left running by a process without a job (a CLI sync that
	 * died) would hold its kind for this user. */
	if (store_runs_interrupt_stale(s, NULL, RUNS_STALE_MS, NULL) == ERR_OK)
		sync_interrupt_dead_owners(s, r->owner, user, NULL, &msg);
	options = queue_opts_json(o && o->resume, o ? o->skus : NULL, o ? o->n_skus : 0,
				  o && o->report_only);
	err = queue_enqueue(s, user, kind, options, r->cfg.max_attempts, run_id, &msg);
	if (err == ERR_CONFLICT) {
		err = active_run(r, s, user, kind, conflict_id, why);
		if (!err) {
			buf_adds(why, conflict_message(kind));
			err = ERR_CONFLICT;
		}
	} else if (err) {
		buf_addf(why, "cannot queue the run: %s", buf_str(&msg));
	} else if (r->enqueued) {
		r->enqueued(r->enqueued_ctx);
	}
	free(options);
	buf_release(&msg);
	return err;
}

enum error runs_stop(struct runs *r, struct store *s, const char *user, const char *run_id,
		     struct buf *why)
{
	struct runs_entry *e;
	struct run_row row;
	enum error err;
	long long n;

	pthread_mutex_lock(&r->mu);
	e = find_locked(r, user, run_id);
	if (e && live_locked(e)) {
		sync_run_cancel(e->run);
		pthread_mutex_unlock(&r->mu);
		return ERR_OK;
	}
	if (e) {
		buf_addf(why, "run %s has already ended (%s)", run_id, sync_run_status(e->run));
		pthread_mutex_unlock(&r->mu);
		return ERR_CONFLICT;
	}
	pthread_mutex_unlock(&r->mu);

	memset(&row, 0, sizeof(row));
	err = store_run_get(s, user, run_id, &row);
	if (err == ERR_NOTFOUND) {
		buf_addf(why, "no run '%s'", run_id);
		return err;
	}
	if (err) {
		buf_addf(why, "cannot read run '%s': %s", run_id, store_errmsg(s));
		return err;
	}
	if (!strcmp(row.status, STORE_RUN_QUEUED)) {
		/* No worker has it yet: it ends here. When one claimed it a
		 * moment ago, it is asked to stop below, as a running run. */
		err = store_job_cancel(s, user, run_id, timeutil_wall_ms());
		if (err != ERR_NOTFOUND) {
			if (err)
				buf_addf(why, "cannot cancel run '%s': %s", run_id,
					 store_errmsg(s));
			goto out;
		}
	}
	if (!strcmp(row.status, STORE_RUN_RUNNING) &&
	    timeutil_wall_ms() - row.heartbeat_ms >= RUNS_STALE_MS) {
		/* Its process died without a word: nobody will ever stop it. */
		if (store_runs_interrupt_stale(s, NULL, RUNS_STALE_MS, &n) == ERR_OK && n > 0) {
			buf_addf(why, "run %s has already ended (interrupted)", run_id);
			err = ERR_CONFLICT;
			goto out;
		}
	}
	if (!store_run_active(row.status)) {
		buf_addf(why, "run %s has already ended (%s)", run_id, row.status);
		err = ERR_CONFLICT;
		goto out;
	}
	err = store_run_request_stop(s, user, run_id);
	if (err)
		buf_addf(why, "cannot ask run '%s' to stop: %s", run_id, store_errmsg(s));
out:
	run_row_release(&row);
	return err;
}

struct runs_entry *runs_acquire(struct runs *r, const char *user, const char *run_id)
{
	struct runs_entry *e;

	pthread_mutex_lock(&r->mu);
	e = find_locked(r, user, run_id);
	if (e)
		e->refs++;
	pthread_mutex_unlock(&r->mu);
	return e;
}

void runs_entry_release(struct runs_entry *e)
{
	struct runs *r;

	if (!e)
		return;
	r = e->owner;
	pthread_mutex_lock(&r->mu);
	entry_unref_locked(e);
	pthread_mutex_unlock(&r->mu);
}

struct runlog *runs_entry_log(struct runs_entry *e)
{
	return sync_run_log(e->run);
}

int runs_entry_running(struct runs_entry *e)
{
	int running;

	pthread_mutex_lock(&e->owner->mu);
	running = live_locked(e);
	pthread_mutex_unlock(&e->owner->mu);
	return running;
}

void runs_entry_row(struct runs_entry *e, struct run_row *out)
{
	struct run_counts c = sync_run_counts(e->run);
	const char *error;
	enum error result;
	int running;

	memset(out, 0, sizeof(*out));
	out->id = xstrdup(e->id);
	out->user_id = xstrdup(e->user);
	out->kind = xstrdup(sync_kind_name(e->kind));
	out->status = xstrdup(sync_run_status(e->run));
	out->fetched = c.fetched;
	out->stored = c.stored;
	out->failed = c.failed;
	out->total = c.total;
	out->started_ms = e->started_ms;
	pthread_mutex_lock(&e->owner->mu);
	running = e->running;
	out->finished_ms = running ? 0 : e->finished_ms;
	pthread_mutex_unlock(&e->owner->mu);
	out->heartbeat_ms = timeutil_wall_ms();
	/* The engine sets its error while it runs, unlocked: read it after. */
	error = running ? NULL : sync_run_error(e->run);
	out->error = error ? xstrdup(error) : NULL;
	result = running ? ERR_OK : sync_run_result(e->run);
	if (result && result != ERR_CANCELLED)
		out->error_code = xstrdup(error_code_name(result));
	out->owner = xstrdup(e->owner->owner);
}

size_t runs_active(struct runs *r)
{
	size_t n;

	pthread_mutex_lock(&r->mu);
	n = r->active;
	pthread_mutex_unlock(&r->mu);
	return n;
}

int runs_shutdown(struct runs *r, long long timeout_ms)
{
	struct runs_entry *e;
	struct timespec deadline;
	long long until = timeutil_wall_ms() + timeout_ms;
	int idle;

	pthread_mutex_lock(&r->mu);
	r->shutting_down = 1;
	for (e = r->head; e; e = e->next)
		if (e->running)
			sync_run_handback(e->run);
	deadline.tv_sec = (time_t)(until / 1000);
	deadline.tv_nsec = (long)(until % 1000) * 1000000L;
	while (r->active > 0)
		if (pthread_cond_timedwait(&r->idle, &r->mu, &deadline) == ETIMEDOUT)
			break;
	idle = r->active == 0;
	pthread_mutex_unlock(&r->mu);
	return idle;
}
