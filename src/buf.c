/* Capped growable buffers (see buf.h). */
#include "buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

void buf_init(struct buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->alloc = 0;
	b->max = max;
}

void buf_release(struct buf *b)
{
	free(b->data);
	buf_init(b, b->max);
}

void buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

char *buf_detach(struct buf *b, size_t *len)
{
	char *p = b->data ? b->data : xstrdup("");

	if (len)
		*len = b->len;
	buf_init(b, b->max);
	return p;
}

static enum error grow(struct buf *b, size_t extra)
{
	size_t need;

	if (b->max && (extra > b->max || b->len > b->max - extra))
		return ERR_TOOBIG;
	need = b->len + extra + 1;
	if (need <= b->alloc)
		return ERR_OK;
	b->alloc = b->alloc ? b->alloc : 64;
	while (b->alloc < need)
		b->alloc *= 2;
	b->data = xrealloc(b->data, b->alloc);
	return ERR_OK;
}

enum error buf_add(struct buf *b, const void *data, size_t len)
{
	enum error err = grow(b, len);

	if (err)
		return err;
	if (len)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
	return ERR_OK;
}

enum error buf_adds(struct buf *b, const char *s)
{
	return buf_add(b, s, strlen(s));
}

enum error buf_addch(struct buf *b, char c)
{
	return buf_add(b, &c, 1);
}

enum error buf_add_html(struct buf *b, const char *s)
{
	enum error err = ERR_OK;

	for (; s && *s && !err; s++) {
		switch (*s) {
		case '&':
			err = buf_adds(b, "&amp;");
			break;
		case '<':
			err = buf_adds(b, "&lt;");
			break;
		case '>':
			err = buf_adds(b, "&gt;");
			break;
		case '"':
			err = buf_adds(b, "&quot;");
			break;
		case '\'':
			err = buf_adds(b, "&#39;");
			break;
		default:
			err = buf_addch(b, *s);
		}
	}
	return err;
}

enum error buf_vaddf(struct buf *b, const char *fmt, va_list ap)
{
	va_list cp;
	enum error err;
	int n;

	va_copy(cp, ap);
	n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n < 0)
		return ERR_INVALID;
	err = grow(b, (size_t)n);
	if (err)
		return err;
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return ERR_OK;
}

enum error buf_addf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	enum error err;

	va_start(ap, fmt);
	err = buf_vaddf(b, fmt, ap);
	va_end(ap);
	return err;
}

const char *buf_str(const struct buf *b)
{
	return b->data ? b->data : "";
}
