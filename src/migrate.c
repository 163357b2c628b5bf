/*
 * Lists the embedded migrations of a backend (see migrate.h). The version is
 * the number before the first '_' of the file name; files are applied in
 * numeric order, so 0010 follows 0009 whatever the build's file order.
 */
#include "migrate.h"

#include <stdlib.h>
#include <string.h>

#include "embed.h"
#include "xalloc.h"

#include "banned.h"

/* Parses "NNNN_name.sql"; returns the version, or -1 if malformed. */
static int parse_name(const char *base)
{
	size_t len = strlen(base), i;
	int version = 0;

	if (len < 6 || strcmp(base + len - 4, ".sql") != 0 || strchr(base, '/'))
		return -1;
	for (i = 0; base[i] >= '0' && base[i] <= '9'; i++) {
		if (version > 99999)
			return -1;
		version = version * 10 + (base[i] - '0');
	}
	if (i == 0 || base[i] != '_' || version < 1)
		return -1;
	return version;
}

static int by_version(const void *a, const void *b)
{
	const struct migrate_file *x = a, *y = b;

	return (x->version > y->version) - (x->version < y->version);
}

enum error migrate_list(const char *backend, struct migrate_file **out, size_t *n, struct buf *why)
{
	char *prefix = xasprintf("migrations/%s/", backend);
	size_t plen = strlen(prefix), count = 0, i;
	const struct embed_file *f;
	struct migrate_file *list = NULL;
	enum error err = ERR_OK;

	*out = NULL;
	*n = 0;
	for (f = embed_files; f->name; f++) {
		int version;

		if (strncmp(f->name, prefix, plen) != 0)
			continue;
		version = parse_name(f->name + plen);
		if (version < 0) {
			if (why)
				buf_addf(why, "migration '%s' is not named NNNN_name.sql", f->name);
			err = ERR_INTERNAL;
			goto out;
		}
		list = xrealloc(list, (count + 1) * sizeof(*list));
		list[count].version = version;
		list[count].name = f->name;
		list[count].sql = (const char *)f->data;
		list[count].len = f->len;
		count++;
	}
	if (count == 0) {
		if (why)
			buf_addf(why, "no migrations are built in for backend '%s'", backend);
		err = ERR_INTERNAL;
		goto out;
	}
	qsort(list, count, sizeof(*list), by_version);
	for (i = 1; i < count; i++) {
		if (list[i].version == list[i - 1].version) {
			if (why)
				buf_addf(why, "migrations '%s' and '%s' share version %d",
					 list[i - 1].name, list[i].name, list[i].version);
			err = ERR_INTERNAL;
			goto out;
		}
	}
	*out = list;
	*n = count;
	list = NULL;
out:
	free(list);
	free(prefix);
	return err;
}
