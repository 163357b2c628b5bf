/*
 * A growable byte buffer with a hard cap, for everything fed from outside
 * (HTTP bodies, request lines) and for building strings. Modelled on git's
 * strbuf and curl's dynbuf: data is always NUL-terminated, and an append that
 * would pass the cap fails with ERR_TOOBIG and leaves the buffer unchanged.
 */
#ifndef BUF_H
#define BUF_H

#include <stdarg.h>
#include <stddef.h>

#include "error.h"

struct buf {
	char *data; /* NUL-terminated when non-NULL; owned by the buf */
	size_t len;
	size_t alloc;
	size_t max; /* cap on len; 0 means unlimited */
};

#define BUF_INIT                                                                                   \
	{                                                                                          \
		NULL, 0, 0, 0                                                                      \
	}

/* Starts an empty buffer that may grow to max bytes (0: no cap). */
void buf_init(struct buf *b, size_t max);
/* Frees the data; the buffer may be used again after buf_init. */
void buf_release(struct buf *b);
/* Hands the data to the caller (who frees it) and empties the buffer. */
char *buf_detach(struct buf *b, size_t *len);
void buf_reset(struct buf *b);

enum error buf_add(struct buf *b, const void *data, size_t len);
enum error buf_adds(struct buf *b, const char *s);
enum error buf_addch(struct buf *b, char c);
enum error buf_addf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
enum error buf_vaddf(struct buf *b, const char *fmt, va_list ap);

/* Appends s (NULL: nothing) with & < > " ' written as HTML character
 * references, fit for element text and quoted attribute values. */
enum error buf_add_html(struct buf *b, const char *s);

/* The contents, or "" for a buffer never written to. */
const char *buf_str(const struct buf *b);

#endif
