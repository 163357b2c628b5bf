/*
 * Request targets, cookies and Bearer credentials (see request.h). The
 * target is split before it is decoded, so "%2F" inside a segment never
 * becomes a separator and "%26" never splits a query parameter.
 */
#include "request.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "xalloc.h"
#include "banned.h"

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

enum error request_percent_decode(const char *s, size_t len, int plus_is_space, char **out)
{
	char *d = xmalloc(len + 1);
	size_t i, n = 0;

	for (i = 0; i < len; i++) {
		char c = s[i];

		if (c == '%') {
			int hi = i + 2 < len ? hexval(s[i + 1]) : -1;
			int lo = i + 2 < len ? hexval(s[i + 2]) : -1;

			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				goto bad;
			c = (char)(hi * 16 + lo);
			i += 2;
		} else if (c == '+' && plus_is_space) {
			c = ' ';
		} else if (c == '\0') {
			goto bad;
		}
		d[n++] = c;
	}
	d[n] = '\0';
	*out = d;
	return ERR_OK;
bad:
	free(d);
	*out = NULL;
	return ERR_INVALID;
}

void request_target_release(struct request_target *t)
{
	size_t i;

	for (i = 0; i < t->n_segments; i++)
		free(t->segments[i]);
	for (i = 0; i < t->n_params; i++) {
		free(t->params[i].name);
		free(t->params[i].value);
	}
	memset(t, 0, sizeof(*t));
}

static enum error parse_path(const char *p, size_t len, struct request_target *t, struct buf *why)
{
	size_t i = 1, start;

	if (len == 0 || p[0] != '/') {
		buf_addf(why, "request target must start with '/'");
		return ERR_INVALID;
	}
	while (i < len) {
		start = i;
		while (i < len && p[i] != '/')
			i++;
		if (i == start && i < len) {
			buf_addf(why, "request path has an empty segment");
			return ERR_INVALID;
		}
		if (i == start)
			break;
		if (t->n_segments == REQUEST_SEGMENTS_MAX) {
			buf_addf(why, "request path has more than %d segments",
				 REQUEST_SEGMENTS_MAX);
			return ERR_TOOBIG;
		}
		if (request_percent_decode(p + start, i - start, 0, &t->segments[t->n_segments]) !=
		    ERR_OK) {
			buf_addf(why, "request path segment %zu has a bad %%-escape",
				 t->n_segments + 1);
			return ERR_INVALID;
		}
		t->n_segments++;
		if (i < len)
			i++; /* the '/' */
		if (i == len && p[len - 1] == '/')
			t->trailing_slash = 1;
	}
	return ERR_OK;
}

static enum error parse_query(const char *q, size_t len, struct request_target *t, struct buf *why)
{
	size_t i = 0;

	while (i < len) {
		size_t start = i, eq;
		struct request_param *pa;

		while (i < len && q[i] != '&')
			i++;
		if (i == start) {
			i++;
			continue;
		}
		if (t->n_params == REQUEST_PARAMS_MAX) {
			buf_addf(why, "query has more than %d parameters", REQUEST_PARAMS_MAX);
			return ERR_TOOBIG;
		}
		for (eq = start; eq < i && q[eq] != '='; eq++)
			;
		pa = &t->params[t->n_params];
		if (request_percent_decode(q + start, eq - start, 1, &pa->name) != ERR_OK) {
			buf_addf(why, "query parameter %zu has a bad %%-escape in its name",
				 t->n_params + 1);
			return ERR_INVALID;
		}
		if (request_percent_decode(q + (eq < i ? eq + 1 : i), eq < i ? i - eq - 1 : 0, 1,
					   &pa->value) != ERR_OK) {
			buf_addf(why, "query parameter '%.64s' has a bad %%-escape in its value",
				 pa->name);
			FREE_AND_NULL(pa->name);
			return ERR_INVALID;
		}
		t->n_params++;
		i++;
	}
	return ERR_OK;
}

enum error request_parse_target(const char *target, struct request_target *out, struct buf *why)
{
	size_t len = strlen(target), plen;
	const char *path = target, *qmark, *hash;
	enum error err;

	memset(out, 0, sizeof(*out));
	if (len > REQUEST_TARGET_MAX) {
		buf_addf(why, "request target is longer than %d bytes", REQUEST_TARGET_MAX);
		return ERR_TOOBIG;
	}
	if (!strncasecmp(target, "http://", 7) || !strncasecmp(target, "https://", 8)) {
		path = strchr(strstr(target, "://") + 3, '/');
		if (!path) {
			buf_addf(why, "absolute request target has no path");
			return ERR_INVALID;
		}
	}
	hash = strchr(path, '#');
	qmark = strchr(path, '?');
	if (hash && (!qmark || hash < qmark))
		qmark = NULL;
	plen = qmark ? (size_t)(qmark - path) : hash ? (size_t)(hash - path) : strlen(path);
	err = parse_path(path, plen, out, why);
	if (!err && qmark)
		err = parse_query(qmark + 1, hash ? (size_t)(hash - qmark - 1) : strlen(qmark + 1),
				  out, why);
	if (err)
		request_target_release(out);
	return err;
}

const char *request_param(const struct request_target *t, const char *name)
{
	size_t i;

	for (i = 0; i < t->n_params; i++)
		if (!strcmp(t->params[i].name, name))
			return t->params[i].value;
	return NULL;
}

enum error request_param_int(const struct request_target *t, const char *name, long long def,
			     long long min, long long max, long long *out, struct buf *why)
{
	const char *v = request_param(t, name);
	char *end;
	long long n;

	*out = def;
	if (!v || !*v)
		return ERR_OK;
	errno = 0;
	n = strtoll(v, &end, 10);
	if (errno || *end || end == v || n < min || n > max) {
		buf_addf(why, "%s must be an integer from %lld to %lld", name, min, max);
		return ERR_INVALID;
	}
	*out = n;
	return ERR_OK;
}

char *request_cookie(const char *header, const char *name)
{
	size_t nlen = strlen(name);
	const char *p = header;

	while (p && *p) {
		const char *end, *v;
		size_t vlen;

		while (*p == ' ' || *p == '\t' || *p == ';')
			p++;
		end = strchr(p, ';');
		if (!end)
			end = p + strlen(p);
		if ((size_t)(end - p) > nlen && !strncmp(p, name, nlen) && p[nlen] == '=') {
			v = p + nlen + 1;
			vlen = (size_t)(end - v);
			while (vlen && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
				vlen--;
			if (vlen >= 2 && v[0] == '"' && v[vlen - 1] == '"') {
				v++;
				vlen -= 2;
			}
			return xstrndup(v, vlen);
		}
		p = end;
	}
	return NULL;
}

enum error request_bearer(const char *header, char **token, struct buf *why)
{
	const char *p;
	size_t len;

	*token = NULL;
	if (!header)
		return ERR_NOTFOUND;
	if (strncasecmp(header, "Bearer ", 7)) {
		buf_addf(why, "authorization header must be 'Bearer <token>'");
		return ERR_INVALID;
	}
	p = header + 7;
	while (*p == ' ')
		p++;
	len = strlen(p);
	while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
		len--;
	if (!len) {
		buf_addf(why, "authorization header has an empty bearer token");
		return ERR_INVALID;
	}
	*token = xstrndup(p, len);
	return ERR_OK;
}
