/*
 * Files compiled into the binary by cmake/embed.cmake: the web page
 * (src/web/...) and the SQL migrations (migrations/<backend>/NNNN_*.sql),
 * named by their path relative to the source tree.
 */
#ifndef EMBED_H
#define EMBED_H

#include <stddef.h>

struct embed_file {
	const char *name;	   /* e.g. "src/web/index.html" */
	const unsigned char *data; /* NUL-terminated, static */
	size_t len;
};

/* The table, ended by an entry whose name is NULL. */
extern const struct embed_file embed_files[];

/* The file with exactly this name, or NULL. */
const struct embed_file *embed_find(const char *name);

#endif
