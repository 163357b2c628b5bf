/* The low-water mark of finished entries (see mark.h). */
#include "mark.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"
#include "banned.h"

struct batch_ids {
	size_t *ids;
	size_t n;
	struct batch_ids *next;
};

struct mark {
	pthread_mutex_t lock;
	unsigned char *done; /* a bit an entry: 125 kB for 1,000,000 */
	size_t n, low;
	struct batch_ids filling;	   /* the batch being filled */
	struct batch_ids *oldest, *newest; /* closed batches, oldest first */
	size_t cap;			   /* of filling.ids */
};

struct mark *mark_new(size_t n)
{
	struct mark *m = xcalloc(1, sizeof(*m));

	pthread_mutex_init(&m->lock, NULL);
	m->done = xcalloc(n / 8 + 1, 1);
	m->n = n;
	return m;
}

void mark_free(struct mark *m)
{
	if (!m)
		return;
	while (m->oldest) {
		struct batch_ids *b = m->oldest;

		m->oldest = b->next;
		free(b->ids);
		free(b);
	}
	free(m->filling.ids);
	free(m->done);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

/* Called with the lock held. */
static void finish(struct mark *m, size_t i)
{
	if (i >= m->n)
		return;
	m->done[i / 8] |= (unsigned char)(1u << (i % 8));
	while (m->low < m->n && (m->done[m->low / 8] >> (m->low % 8) & 1))
		m->low++;
}

void mark_finish(struct mark *m, size_t i)
{
	pthread_mutex_lock(&m->lock);
	finish(m, i);
	pthread_mutex_unlock(&m->lock);
}

void mark_add(struct mark *m, size_t i)
{
	pthread_mutex_lock(&m->lock);
	if (m->filling.n == m->cap) {
		m->cap = m->cap ? 2 * m->cap : 64;
		m->filling.ids = xrealloc(m->filling.ids, m->cap * sizeof(size_t));
	}
	m->filling.ids[m->filling.n++] = i;
	pthread_mutex_unlock(&m->lock);
}

void mark_close_batch(struct mark *m)
{
	struct batch_ids *b = xcalloc(1, sizeof(*b));

	pthread_mutex_lock(&m->lock);
	*b = m->filling;
	b->next = NULL;
	memset(&m->filling, 0, sizeof(m->filling));
	m->cap = 0;
	if (m->newest)
		m->newest->next = b;
	else
		m->oldest = b;
	m->newest = b;
	pthread_mutex_unlock(&m->lock);
}

void mark_commit_batch(struct mark *m)
{
	struct batch_ids *b;

	pthread_mutex_lock(&m->lock);
	b = m->oldest;
	if (b) {
		m->oldest = b->next;
		if (!m->oldest)
			m->newest = NULL;
		for (size_t i = 0; i < b->n; i++)
			finish(m, b->ids[i]);
	}
	pthread_mutex_unlock(&m->lock);
	if (b) {
		free(b->ids);
		free(b);
	}
}

size_t mark_low(struct mark *m)
{
	size_t low;

	pthread_mutex_lock(&m->lock);
	low = m->low;
	pthread_mutex_unlock(&m->lock);
	return low;
}
