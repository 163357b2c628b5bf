/* Look-up in the table of embedded files (see embed.h). */
#include "embed.h"

#include <string.h>

const struct embed_file *embed_find(const char *name)
{
	const struct embed_file *f;

	for (f = embed_files; f->name; f++)
		if (!strcmp(f->name, name))
			return f;
	return NULL;
}
