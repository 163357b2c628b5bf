/*
 * The TZif reader (see tzfile.h). A TZif file is a header, a version 1
 * block with 32-bit transition times, and (version 2 on) the same again
 * with 64-bit times, then a footer; we read the 64-bit block when there is
 * one. Every count and index is checked against the file's size before it
 * is used: the file is trusted no more than any other input.
 */
#include "tzfile.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"
#include "banned.h"

#define FILE_MAX   (256 * 1024)
#define HEADER_LEN 44

struct tzfile {
	size_t n;	 /* transitions */
	long long *when; /* UTC seconds, ascending */
	long *off;	 /* offset in effect from when[i] on */
	long first_off;	 /* before the first transition */
};

int tzfile_name_ok(const char *name)
{
	size_t len = name ? strlen(name) : 0, i, comp = 0;

	if (len == 0 || len > TZFILE_NAME_MAX || name[0] == '/' || name[len - 1] == '/')
		return 0;
	for (i = 0; i < len; i++) {
		char c = name[i];
		if (c == '/') {
			if (comp == 0)
				return 0;
			comp = 0;
			continue;
		}
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '+' || c == '-' || c == '.'))
			return 0;
		/* A component may not start with '.' ("." and ".." above all). */
		if (c == '.' && comp == 0)
			return 0;
		comp++;
	}
	return 1;
}

static unsigned long be32(const unsigned char *p)
{
	return (unsigned long)p[0] << 24 | (unsigned long)p[1] << 16 | (unsigned long)p[2] << 8 |
	       p[3];
}

static long long be64(const unsigned char *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return (long long)(int64_t)v;
}

/* Parses the block at p (of the header at p - HEADER_LEN's counts) with
 * times of tsize bytes; returns 0, or -1 when it does not fit in end. */
static int parse_block(const unsigned char *hdr, const unsigned char *end, int tsize,
		       struct tzfile *z, const unsigned char **next)
{
	unsigned long isut = be32(hdr + 20), isstd = be32(hdr + 24), leap = be32(hdr + 28);
	unsigned long timecnt = be32(hdr + 32), typecnt = be32(hdr + 36), charcnt = be32(hdr + 40);
	const unsigned char *p = hdr + HEADER_LEN, *idx, *types;
	unsigned long need, i;

	if (memcmp(hdr, "TZif", 4) || typecnt == 0 || typecnt > 256 || timecnt > 100000 ||
	    charcnt > 4096 || leap > 10000 || isut > 256 || isstd > 256)
		return -1;
	need = timecnt * (unsigned long)tsize + timecnt + typecnt * 6 + charcnt +
	       leap * (unsigned long)(tsize + 4) + isstd + isut;
	if ((size_t)(end - p) < need)
		return -1;
	idx = p + timecnt * (unsigned long)tsize;
	types = idx + timecnt;
	for (i = 0; i < timecnt; i++)
		if (idx[i] >= typecnt)
			return -1;
	z->n = timecnt;
	z->when = xcalloc(timecnt ? timecnt : 1, sizeof(*z->when));
	z->off = xcalloc(timecnt ? timecnt : 1, sizeof(*z->off));
	for (i = 0; i < timecnt; i++) {
		z->when[i] = tsize == 8 ? be64(p + i * 8) : (long long)(int32_t)be32(p + i * 4);
		z->off[i] = (long)(int32_t)be32(types + idx[i] * 6);
		if (i && z->when[i] <= z->when[i - 1])
			return -1;
	}
	z->first_off = (long)(int32_t)be32(types);
	*next = p + need;
	return 0;
}

static void clear(struct tzfile *z)
{
	free(z->when);
	free(z->off);
	memset(z, 0, sizeof(*z));
}

enum error tzfile_load(const char *name, struct tzfile **out, struct buf *why)
{
	const char *dir = getenv("TZDIR");
	unsigned char *data = NULL;
	const unsigned char *next;
	struct tzfile *z = NULL;
	size_t len = 0;
	enum error err = ERR_OK;
	char *path;
	FILE *f;

	*out = NULL;
	if (!tzfile_name_ok(name)) {
		buf_addf(why,
			 "'%.80s' is not a time zone name: use an IANA name such as "
			 "\"Europe/Berlin\" or \"UTC\"",
			 name ? name : "");
		return ERR_INVALID;
	}
	path = xasprintf("%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo", name);
	f = fopen(path, "rb");
	if (!f) {
		buf_addf(why, "unknown time zone '%s': use an IANA name such as \"Europe/Berlin\"",
			 name);
		err = ERR_INVALID;
		goto out;
	}
	data = xmalloc(FILE_MAX);
	len = fread(data, 1, FILE_MAX, f);
	fclose(f);
	z = xcalloc(1, sizeof(*z));
	if (len < HEADER_LEN || len == FILE_MAX || parse_block(data, data + len, 4, z, &next)) {
		err = ERR_PARSE;
		goto bad;
	}
	if (data[4] >= '2') {
		clear(z);
		if ((size_t)(data + len - next) < HEADER_LEN ||
		    parse_block(next, data + len, 8, z, &next)) {
			err = ERR_PARSE;
			goto bad;
		}
	}
	*out = z;
	z = NULL;
	goto out;
bad:
	buf_addf(why, "time zone '%s': %s is not a TZif file", name, path);
out:
	if (z)
		tzfile_free(z);
	free(data);
	free(path);
	return err;
}

void tzfile_free(struct tzfile *z)
{
	if (!z)
		return;
	clear(z);
	free(z);
}

long tzfile_offset(const struct tzfile *z, long long t)
{
	size_t lo = 0, hi = z->n;

	if (z->n == 0 || t < z->when[0])
		return z->first_off;
	/* The last transition at or before t. */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (z->when[mid] <= t)
			lo = mid;
		else
			hi = mid;
	}
	return z->off[lo];
}
