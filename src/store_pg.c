/*
 * Placeholder PostgreSQL backend for the store branch, which is built before
 * the real one: store_open() of a postgres URL fails with a clear message.
 * The pg branch's store_pg.c (libpq) replaces this file when merged.
 */
#include "store.h"

#include "banned.h"

static enum error pg_open(struct store *s, const char *url)
{
	return store_fail(s, ERR_INVALID, "postgresql support is not built in this branch");
}

static void pg_close(struct store *s)
{
}

const struct store_ops store_pg_ops = {
    .name = "postgres",
    .open = pg_open,
    .close = pg_close,
};
