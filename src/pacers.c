/*
 * The registry of this process's pacers and the thread that shares them
 * through the database (see pacers.h and pacer_share.h).
 *
 * One mutex guards the registry. An entry is freed when its last reference
 * goes: the runs hold one each (users), and the thread holds one for the
 * length of a tick, doing its database work outside the mutex. The thread
 * starts with the first shared entry and then stays, asleep while there is
 * nothing to share. Each entry has its own connection, opened by the
 * thread and, after an error, closed and opened again at the next tick.
 */
#include "pacers.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "ebay.h"
#include "pacer.h"
#include "pacer_share.h"
#include "store.h"
#include "timeutil.h"
#include "xalloc.h"

#include "banned.h"

#define PRUNE_EVERY_MS 60000
#define POLL_MS	       10 /* the thread looks at its entries' pacers this often */

struct entry {
	char *scope, *db_url; /* db_url NULL: not shared */
	struct pacer *pacer;
	int users; /* runs using it */
	int refs;  /* users, and the thread during a tick */
	struct pacer_share ps;
	struct store *store;  /* the thread's connection; NULL: none now */
	long long next_prune; /* monotonic ms */
	long long errors;     /* ticks that failed in a row */
	long long retry_at;   /* after a failure, no tick before (monotonic ms) */
	struct entry *next;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static struct entry *head;
static int thread_started;

char *pacers_scope(const char *api_base)
{
	const char *base = api_base && *api_base ? api_base : EBAY_API_PRODUCTION;
	const char *app = getenv("EBAY_CLIENT_ID");
	size_t n = strlen(base);
	struct buf b = BUF_INIT;

	while (n > 0 && base[n - 1] == '/')
		n--;
	buf_add(&b, base, n);
	if (app && *app)
		buf_addf(&b, " app=%s", app);
	return buf_detach(&b, NULL);
}

static char *owner_here(void)
{
	char host[256];
	struct buf b = BUF_INIT;

	if (gethostname(host, sizeof(host)) != 0)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	buf_addf(&b, "%s:%ld", host, (long)getpid());
	return buf_detach(&b, NULL);
}

static int sharing_on(void)
{
	const char *v = getenv("EBAYSYNC_PACER_SHARE");

	return !v || strcmp(v, "0") != 0;
}

static void entry_free(struct entry *e)
{
	store_close(e->store);
	pacer_share_release(&e->ps);
	pacer_free(e->pacer);
	free(e->scope);
	free(e->db_url);
	free(e);
}

/* Drops a reference; the last one unlinks and frees e. Called with mu held. */
static struct entry *unref_locked(struct entry *e)
{
	struct entry **pp;

	if (--e->refs > 0)
		return NULL;
	for (pp = &head; *pp; pp = &(*pp)->next)
		if (*pp == e) {
			*pp = e->next;
			break;
		}
	return e; /* the caller frees it outside the lock */
}

/* Posts that e's process no longer asks for anything: the others' parts
 * grow at their next tick instead of after PACER_SHARE_STALE_MS. */
static void say_goodbye(struct entry *e)
{
	if (!e->store)
		return;
	pacer_share_prepare(&e->ps, e->pacer, 0, timeutil_wall_ms(), timeutil_mono_ms());
	(void)store_pacer_peer_put(e->store, &e->ps.mine);
}

/* One tick of e: write, read, apply. Runs on the thread, without mu. */
static void tick(struct entry *e, int users)
{
	struct pacer_peer_row *rows = NULL;
	struct buf why = BUF_INIT;
	long long now_mono = timeutil_mono_ms(), now_wall = timeutil_wall_ms();
	size_t n = 0, i;
	enum error err;

	if (!e->store && store_open(e->db_url, &e->store, &why)) {
		if (e->errors++ == 0)
			fprintf(stderr,
				"ebaysync: pacer: cannot open the database to share the "
				"rate: %s (keeping the last share)\n",
				buf_str(&why));
		e->store = NULL;
		e->retry_at = now_mono + PACER_SHARE_TICK_MS;
		goto out;
	}
	pacer_share_prepare(&e->ps, e->pacer, users, now_wall, now_mono);
	err = store_pacer_peer_put(e->store, &e->ps.mine);
	if (!err)
		err = store_pacer_peers_list(e->store, e->scope, &rows, &n);
	if (!err && now_mono >= e->next_prune) {
		err = store_pacer_peers_prune(e->store, e->scope, now_wall - PACER_SHARE_PRUNE_MS,
					      NULL);
		e->next_prune = now_mono + PRUNE_EVERY_MS;
	}
	if (err) {
		if (e->errors++ == 0)
			fprintf(stderr,
				"ebaysync: pacer: cannot share the rate: %s (keeping the "
				"last share)\n",
				store_errmsg(e->store));
		store_close(e->store);
		e->store = NULL;
		e->retry_at = now_mono + PACER_SHARE_TICK_MS;
		goto out;
	}
	e->errors = 0;
	pacer_share_apply(&e->ps, e->pacer, rows, n, now_wall, timeutil_mono_ms());
out:
	for (i = 0; i < n; i++)
		pacer_peer_row_release(&rows[i]);
	free(rows);
	buf_release(&why);
}

static void *share_thread(void *arg)
{
	struct entry *batch[64], *dead;
	int users[64];
	size_t n, i;
	struct entry *e;
	long long now;

	(void)arg;
	for (;;) {
		pthread_mutex_lock(&mu);
		for (;;) {
			for (e = head, n = 0; e; e = e->next)
				n += e->db_url != NULL;
			if (n > 0)
				break;
			pthread_cond_wait(&wake, &mu);
		}
		/* The entries due: each every PACER_SHARE_TICK_MS, sooner after
		 * a cut (pacer_share_due() reads what only this thread writes). */
		now = timeutil_mono_ms();
		for (e = head, n = 0; e && n < 64; e = e->next) {
			if (!e->db_url || now < e->retry_at ||
			    !pacer_share_due(&e->ps, e->pacer, now))
				continue;
			e->refs++;
			users[n] = e->users;
			batch[n++] = e;
		}
		pthread_mutex_unlock(&mu);
		for (i = 0; i < n; i++)
			tick(batch[i], users[i]);
		for (i = 0; i < n; i++) {
			pthread_mutex_lock(&mu);
			dead = unref_locked(batch[i]);
			pthread_mutex_unlock(&mu);
			if (dead) {
				say_goodbye(dead);
				entry_free(dead);
			}
		}
		timeutil_sleep_ms(POLL_MS);
	}
	return NULL;
}

struct pacer *pacers_get(const char *api_base, const char *db_url, double max_rps)
{
	char *scope = pacers_scope(api_base), *owner;
	int share = db_url && *db_url && sharing_on();
	struct entry *e;
	pthread_t t;

	pthread_mutex_lock(&mu);
	for (e = head; e; e = e->next)
		if (!strcmp(e->scope, scope) &&
		    (share ? e->db_url && !strcmp(e->db_url, db_url) : !e->db_url))
			break;
	if (!e) {
		e = xcalloc(1, sizeof(*e));
		e->scope = scope;
		scope = NULL;
		/* Shared, max_rps is the install's: the thread gives this
		 * process its part; until then, all of it. */
		e->pacer = pacer_new(share ? 0 : max_rps);
		if (share) {
			e->db_url = xstrdup(db_url);
			owner = owner_here();
			pacer_share_init(&e->ps, e->scope, owner, max_rps);
			free(owner);
			if (max_rps > 0)
				pacer_set_share(e->pacer, max_rps);
			if (!thread_started && pthread_create(&t, NULL, share_thread, NULL) == 0) {
				pthread_detach(t);
				thread_started = 1;
			}
		}
		e->next = head;
		head = e;
	}
	e->users++;
	e->refs++;
	pthread_cond_signal(&wake);
	pthread_mutex_unlock(&mu);
	free(scope);
	return e->pacer;
}

void pacers_put(struct pacer *p)
{
	struct entry *e, *dead = NULL;

	if (!p)
		return;
	pthread_mutex_lock(&mu);
	for (e = head; e; e = e->next)
		if (e->pacer == p) {
			e->users--;
			dead = unref_locked(e);
			break;
		}
	pthread_mutex_unlock(&mu);
	if (dead) {
		say_goodbye(dead);
		entry_free(dead);
	}
}
