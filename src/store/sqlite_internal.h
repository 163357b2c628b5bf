/* Only src/store/sqlite.c and src/store/sqlite_query.c may include this header. */
/*
 * The SQLite backend's insides, shared by store/sqlite.c (connection,
 * migrations, the write path, runs, events, failures, cursors, users) and
 * store/sqlite_query.c (the listings: inventory, offers and the change
 * log), as store/pg.h is for PostgreSQL's files.
 */
#ifndef STORE_SQLITE_INTERNAL_H
#define STORE_SQLITE_INTERNAL_H

#include <sqlite3.h>

#include "store_backend.h"

/* The connection of a SQLite store. */
sqlite3 *store_sqlite_db(struct store *s);

/* Fails with "<what>: <SQLite's message>"; ERR_CONFLICT for a duplicate
 * key, ERR_DB otherwise. */
enum error store_sqlite_fail(struct store *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Binds text (NULL as SQL NULL); the text must outlive the step. */
void store_sqlite_bind_text(sqlite3_stmt *st, int i, const char *v);

/* The listings (store/sqlite_query.c), as store.h describes them. */
enum error store_sqlite_list_items(struct store *s, const struct store_query *q, json_t **rows,
				   long long *total);
enum error store_sqlite_list_offers(struct store *s, const struct store_query *q, json_t **rows,
				    long long *total);
enum error store_sqlite_list_changes(struct store *s, const struct store_change_query *q,
				     json_t **rows, long long *total);

#endif
