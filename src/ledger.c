/*
 * The process's pending eBay call counts (see ledger.h): a small table of
 * (day, api, user) keys under one mutex, taken out whole by a flush, which
 * writes it without the lock held and puts back what it could not write.
 */
#include "ledger.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store.h"
#include "timeutil.h"
#include "xalloc.h"
#include "banned.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t flush_lock = PTHREAD_MUTEX_INITIALIZER;
static struct quota_count table[LEDGER_MAX_KEYS];
static size_t used;

void ledger_day(long long wall_ms, char *out)
{
	time_t t = (time_t)(wall_ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 11, "%Y-%m-%d", &tm);
}

const char *ledger_api_of(const char *url)
{
	static const struct {
		const char *prefix, *api;
	} map[] = {
	    {"/sell/inventory/", LEDGER_API_INVENTORY},
	    {"/sell/feed/", LEDGER_API_FEED},
	    {"/identity/", LEDGER_API_IDENTITY},
	    {"/developer/analytics/", LEDGER_API_ANALYTICS},
	};
	const char *path = url ? url : "", *p = strstr(path, "://");

	if (p) { /* skip scheme and host */
		path = strchr(p + 3, '/');
		if (!path)
			return "other";
	}
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (!strncmp(path, map[i].prefix, strlen(map[i].prefix)))
			return map[i].api;
	return "other";
}

/* Adds under the lock; a full table counts new keys as "(other)". */
static void add_locked(const char *day, const char *api, const char *user, long long n)
{
	size_t i;

	for (i = 0; i < used; i++)
		if (!strcmp(table[i].user_id, user) && !strcmp(table[i].api, api) &&
		    !strcmp(table[i].day, day)) {
			table[i].calls += n;
			return;
		}
	if (used == LEDGER_MAX_KEYS) {
		if (strcmp(user, "(other)"))
			add_locked(day, api, "(other)", n);
		else
			table[used - 1].calls += n; /* nothing is lost from the totals */
		return;
	}
	snprintf(table[used].day, sizeof(table[used].day), "%s", day);
	snprintf(table[used].api, sizeof(table[used].api), "%s", api);
	snprintf(table[used].user_id, sizeof(table[used].user_id), "%s", user);
	table[used].calls = n;
	used++;
}

void ledger_note_at(const char *api, const char *user, long long n, long long wall_ms)
{
	char day[11];

	if (!api || n <= 0)
		return;
	ledger_day(wall_ms, day);
	pthread_mutex_lock(&lock);
	add_locked(day, api, user ? user : "", n);
	pthread_mutex_unlock(&lock);
}

void ledger_note(const char *api, const char *user, long long n)
{
	ledger_note_at(api, user, n, timeutil_wall_ms());
}

enum error ledger_flush(struct store *s)
{
	struct quota_count *mine = NULL;
	size_t n, done = 0, i;
	enum error err = ERR_OK;

	/* One flush at a time, so that counts put back keep their order
	 * with the ones of a concurrent flush (and none is written twice). */
	pthread_mutex_lock(&flush_lock);
	pthread_mutex_lock(&lock);
	n = used;
	if (n) {
		mine = xmalloc(n * sizeof(*mine));
		memcpy(mine, table, n * sizeof(*mine));
		used = 0;
	}
	pthread_mutex_unlock(&lock);
	if (!n)
		goto out;
	err = store_quota_add(s, mine, n, &done);
	if (done < n) {
		pthread_mutex_lock(&lock);
		for (i = done; i < n; i++)
			add_locked(mine[i].day, mine[i].api, mine[i].user_id, mine[i].calls);
		pthread_mutex_unlock(&lock);
	}
out:
	pthread_mutex_unlock(&flush_lock);
	free(mine);
	return err;
}

long long ledger_pending(void)
{
	long long sum = 0;

	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < used; i++)
		sum += table[i].calls;
	pthread_mutex_unlock(&lock);
	return sum;
}

void ledger_clear(void)
{
	pthread_mutex_lock(&lock);
	used = 0;
	pthread_mutex_unlock(&lock);
}
