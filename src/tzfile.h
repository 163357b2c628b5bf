/*
 * IANA time zones without the C library's global state: reads a zone's
 * TZif file (RFC 8536) from the tz database (TZDIR, else
 * /usr/share/zoneinfo) into a struct tzfile, which answers the UTC offset
 * at any instant. localtime_r() and mktime() would need setenv("TZ"),
 * which is not thread-safe; this reader is, and one zone never changes
 * another's answers.
 *
 * Instants after the file's last transition keep the last transition's
 * offset: the POSIX TZ rule in the file's footer is not evaluated. Debian's
 * tzdata ships "fat" files, whose transitions run to 2037.
 */
#ifndef TZFILE_H
#define TZFILE_H

#include "buf.h"
#include "error.h"

#define TZFILE_NAME_MAX 64

struct tzfile;

/* 1 when name could be a zone name ("Europe/Berlin", "UTC", "Etc/GMT+5"):
 * 1 to TZFILE_NAME_MAX letters, digits, '/', '_', '+' and '-', no empty,
 * "." or ".." component. Says nothing of whether the zone exists. */
int tzfile_name_ok(const char *name);

/*
 * Loads zone name. ERR_INVALID (with why) for a name that tzfile_name_ok
 * refuses or that the tz database does not hold, ERR_PARSE for a file that
 * is not TZif. The caller frees *out with tzfile_free().
 */
enum error tzfile_load(const char *name, struct tzfile **out, struct buf *why);
void tzfile_free(struct tzfile *z);

/* The zone's offset east of UTC, in seconds, at UTC instant t (seconds). */
long tzfile_offset(const struct tzfile *z, long long t);

#endif
