/*
 * A pool of store connections for ebaysync serve. A struct store is one
 * connection for one thread at a time (store.h); the server's worker threads,
 * its event-stream hub and its run manager borrow one for the length of a
 * request and give it back, so the server holds about as many connections
 * as it has threads busy with the database at once, never one per client.
 */
#ifndef STOREPOOL_H
#define STOREPOOL_H

#include <stddef.h>

#include "buf.h"
#include "error.h"

struct store;
struct storepool;

/*
 * A pool for the store at url (copied) that keeps up to max_idle idle
 * connections. Opens one connection at once, so a wrong URL fails here
 * (message in why). Free with storepool_free() once every connection is back.
 */
enum error storepool_new(const char *url, size_t max_idle, struct storepool **out, struct buf *why);
void storepool_free(struct storepool *p);

/* A connection for this thread's exclusive use, or NULL (reason in why). */
struct store *storepool_get(struct storepool *p, struct buf *why);
/* Gives s back. broken: s failed in a way that may have broken the
 * connection (ERR_DB), so close it rather than keep it. */
void storepool_put(struct storepool *p, struct store *s, int broken);

/* "sqlite" or "postgres". */
const char *storepool_backend(const struct storepool *p);
const char *storepool_url(const struct storepool *p);

#endif
