/*
 * The store connection pool (see storepool.h): a mutex-guarded stack of idle
 * connections. Connections are opened on demand, so the pool never makes a
 * caller wait for another's connection; it only bounds how many stay open
 * while idle.
 */
#include "storepool.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "xalloc.h"
#include "banned.h"

struct storepool {
	pthread_mutex_t mu;
	char *url;
	const char *backend;
	struct store **idle;
	size_t n_idle, max_idle;
};

enum error storepool_new(const char *url, size_t max_idle, struct storepool **out, struct buf *why)
{
	struct storepool *p = xcalloc(1, sizeof(*p));
	struct store *s = NULL;
	enum error err;

	*out = NULL;
	err = store_open(url, &s, why);
	if (err) {
		free(p);
		return err;
	}
	pthread_mutex_init(&p->mu, NULL);
	p->url = xstrdup(url);
	p->backend = store_backend(s);
	p->max_idle = max_idle ? max_idle : 1;
	p->idle = xcalloc(p->max_idle, sizeof(*p->idle));
	p->idle[p->n_idle++] = s;
	*out = p;
	return ERR_OK;
}

void storepool_free(struct storepool *p)
{
	size_t i;

	if (!p)
		return;
	for (i = 0; i < p->n_idle; i++)
		store_close(p->idle[i]);
	pthread_mutex_destroy(&p->mu);
	free(p->idle);
	free(p->url);
	free(p);
}

struct store *storepool_get(struct storepool *p, struct buf *why)
{
	struct store *s = NULL;

	pthread_mutex_lock(&p->mu);
	if (p->n_idle)
		s = p->idle[--p->n_idle];
	pthread_mutex_unlock(&p->mu);
	if (!s && store_open(p->url, &s, why) != ERR_OK)
		return NULL;
	return s;
}

void storepool_put(struct storepool *p, struct store *s, int broken)
{
	if (!s)
		return;
	pthread_mutex_lock(&p->mu);
	if (!broken && p->n_idle < p->max_idle) {
		p->idle[p->n_idle++] = s;
		s = NULL;
	}
	pthread_mutex_unlock(&p->mu);
	if (s)
		store_close(s);
}

const char *storepool_backend(const struct storepool *p)
{
	return p->backend;
}

const char *storepool_url(const struct storepool *p)
{
	return p->url;
}
