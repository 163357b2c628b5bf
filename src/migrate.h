/*
 * The schema migrations compiled into the binary (migrations/<backend>/
 * NNNN_name.sql, see embed.h), listed in version order for the store
 * backends, which apply the ones a database has not seen yet. Shared by
 * store/sqlite.c and store/pg.c so both read the same files the same way.
 */
#ifndef MIGRATE_H
#define MIGRATE_H

#include <stddef.h>

#include "buf.h"
#include "error.h"

struct migrate_file {
	int version;	  /* NNNN of the file name, >= 1 */
	const char *name; /* "migrations/sqlite/0001_init.sql"; static */
	const char *sql;  /* the file's text, NUL-terminated; static */
	size_t len;
};

/*
 * Lists the embedded migrations of backend ("sqlite" or "pg") by ascending
 * version. *out is a malloc'd array of *n entries (free the array only; the
 * strings are static). Returns ERR_INTERNAL, with the reason in why (if
 * given), when there are none or a file name is malformed or two files share
 * a version: those are build mistakes, not user errors.
 */
enum error migrate_list(const char *backend, struct migrate_file **out, size_t *n, struct buf *why);

#endif
