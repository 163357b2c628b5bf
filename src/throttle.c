/*
 * The login throttle (see throttle.h): an array of buckets of four entries,
 * found by a hash of the key, under one mutex (each call holds it for a
 * few comparisons; logins are rare next to the password hash they gate).
 */
#include "throttle.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"
#include "banned.h"

#define WAYS 4

struct entry {
	char key[THROTTLE_KEY_MAX + 1]; /* "" when free */
	unsigned fails;
	long long last_ms;  /* the last failure */
	long long until_ms; /* locked until then */
};

struct throttle {
	pthread_mutex_t mu;
	struct entry slots[THROTTLE_SLOTS];
};

struct throttle *throttle_new(void)
{
	struct throttle *t = xcalloc(1, sizeof(*t));

	pthread_mutex_init(&t->mu, NULL);
	return t;
}

void throttle_free(struct throttle *t)
{
	if (!t)
		return;
	pthread_mutex_destroy(&t->mu);
	free(t);
}

/* The first entry of key's bucket (FNV-1a of the key, cut to the cap). */
static struct entry *bucket(struct throttle *t, const char *key)
{
	uint64_t h = 1469598103934665603ULL;
	size_t i;

	for (i = 0; key[i] && i < THROTTLE_KEY_MAX; i++)
		h = (h ^ (unsigned char)key[i]) * 1099511628211ULL;
	return &t->slots[(h % (THROTTLE_SLOTS / WAYS)) * WAYS];
}

static int same(const struct entry *e, const char *key)
{
	return e->key[0] && !strncmp(e->key, key, THROTTLE_KEY_MAX);
}

/* key's entry, or NULL; forgets it when stale. Under t->mu. */
static struct entry *find(struct throttle *t, const char *key, long long now_ms)
{
	struct entry *b = bucket(t, key);
	size_t i;

	for (i = 0; i < WAYS; i++) {
		if (!same(&b[i], key))
			continue;
		if (now_ms - b[i].last_ms > THROTTLE_FORGET_MS) {
			memset(&b[i], 0, sizeof(b[i]));
			return NULL;
		}
		return &b[i];
	}
	return NULL;
}

long long throttle_wait_ms(struct throttle *t, const char *key, long long now_ms)
{
	struct entry *e;
	long long wait = 0;

	pthread_mutex_lock(&t->mu);
	e = find(t, key, now_ms);
	if (e && e->until_ms > now_ms)
		wait = e->until_ms - now_ms;
	pthread_mutex_unlock(&t->mu);
	return wait;
}

void throttle_fail(struct throttle *t, const char *key, long long now_ms)
{
	struct entry *e, *b;
	long long lock;
	unsigned past;
	size_t i;

	pthread_mutex_lock(&t->mu);
	e = find(t, key, now_ms);
	if (!e) {
		/* A free way, else the one whose last failure is oldest. */
		b = bucket(t, key);
		e = &b[0];
		for (i = 0; i < WAYS && e->key[0]; i++)
			if (!b[i].key[0] || b[i].last_ms < e->last_ms)
				e = &b[i];
		memset(e, 0, sizeof(*e));
		snprintf(e->key, sizeof(e->key), "%s", key);
	}
	e->fails++;
	e->last_ms = now_ms;
	if (e->fails > THROTTLE_FREE) {
		past = e->fails - THROTTLE_FREE - 1;
		lock = past >= 20 ? THROTTLE_MAX_MS : (long long)THROTTLE_LOCK_MS << past;
		e->until_ms = now_ms + (lock < THROTTLE_MAX_MS ? lock : THROTTLE_MAX_MS);
	}
	pthread_mutex_unlock(&t->mu);
}

void throttle_reset(struct throttle *t, const char *key)
{
	struct entry *b;
	size_t i;

	pthread_mutex_lock(&t->mu);
	b = bucket(t, key);
	for (i = 0; i < WAYS; i++)
		if (same(&b[i], key))
			memset(&b[i], 0, sizeof(b[i]));
	pthread_mutex_unlock(&t->mu);
}
