/*
 * The parts of the eBay client that only read and write text: the request
 * URLs, eBay's paged answers (InventoryItems and Offers), the guard on the
 * walk along their `next` links, and eBay's error bodies (see ebay.h).
 * Kept apart from the transfer machinery in ebay.c so that the fuzzer
 * (tests/fuzz/fuzz_ebay_page.c) drives exactly the code that reads what
 * the network sends.
 *
 * eBay sends total/limit/size as numbers or as numeric strings depending
 * on the endpoint and the age of the payload, and its `next` link is
 * relative on some endpoints and absolute on others; both are accepted.
 * Anything else is refused with a reason that names the field.
 */
#include "ebay.h"

#include <ctype.h>
#include <curl/curl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "encoding.h"
#include "jsonutil.h"
#include "xalloc.h"

#include "banned.h"

/* Pages allowed past what total/limit implies (a catalog that grows while
 * it is being read). */
#define EBAY_PAGER_MARGIN 2
/* A next link longer than this is not one eBay wrote. */
#define EBAY_NEXT_MAX 8192

static const char *api_base(const struct ebay_config *cfg, int *len)
{
	const char *base =
	    cfg && cfg->api_base && *cfg->api_base ? cfg->api_base : EBAY_API_PRODUCTION;
	size_t n = strlen(base);

	while (n > 0 && base[n - 1] == '/')
		n--;
	*len = n > INT_MAX ? INT_MAX : (int)n;
	return base;
}

char *ebay_inventory_url(const struct ebay_config *cfg, int limit, long long offset)
{
	int len;
	const char *base = api_base(cfg, &len);

	return xasprintf("%.*s/sell/inventory/v1/inventory_item?limit=%d&offset=%lld", len, base,
			 limit, offset);
}

char *ebay_bulk_url(const struct ebay_config *cfg)
{
	int len;
	const char *base = api_base(cfg, &len);

	return xasprintf("%.*s/sell/inventory/v1/bulk_get_inventory_item", len, base);
}

char *ebay_offers_url(const struct ebay_config *cfg, const char *sku, int limit)
{
	int len;
	const char *base = api_base(cfg, &len);
	/* Every byte but A-Z a-z 0-9 - . _ ~ is percent-encoded, so
	 * "a b/c#d%e+f?g&h" and UTF-8 arrive intact as one query value. */
	char *esc = encoding_percent_encode(sku ? sku : ""), *url;

	url = xasprintf("%.*s/sell/inventory/v1/offer?sku=%s&limit=%d", len, base, esc, limit);
	free(esc);
	return url;
}

/* Reads body[key], a count the walk does not need, into *out: -1 when
 * absent, or when it is not a whole number within 1..max (0..max for
 * size), in which case the reason is added to warning. */
static void loose_count(const json_t *body, const char *key, long long min, long long max,
			long long *out, struct ebay_page *page)
{
	const json_t *v = json_object_get(body, key);
	size_t used = strlen(page->warning);
	char *w = page->warning + used;
	size_t room = sizeof(page->warning) - used;
	int r = jsonutil_whole_number(v, out);

	if (r == 1 && *out >= min && *out <= max)
		return;
	if (r == 1)
		snprintf(w, room, "%spage field '%s' is ignored: %lld is not within %lld..%lld",
			 used ? "; " : "", key, *out, min, max);
	else if (r < 0 && json_is_string(v))
		snprintf(w, room, "%spage field '%s' is ignored: \"%.40s\" is not a whole number",
			 used ? "; " : "", key, json_string_value(v));
	else if (r < 0)
		snprintf(w, room, "%spage field '%s' is ignored: it is %s, not a whole number",
			 used ? "; " : "", key, jsonutil_type_name(v));
	*out = -1;
}

/* Reads body[key] as a count into *out (-1 when absent). */
static enum error count_field(const json_t *body, const char *key, long long *out, struct buf *why)
{
	const json_t *v = json_object_get(body, key);
	int r = jsonutil_whole_number(v, out);

	if (r == 0)
		*out = -1;
	if (r >= 0)
		return ERR_OK;
	if (json_is_string(v))
		buf_addf(why, "page field '%s' is not a whole number: \"%.40s\"", key,
			 json_string_value(v));
	else
		buf_addf(why, "page field '%s' is %s, not a whole number", key,
			 jsonutil_type_name(v));
	return ERR_PARSE;
}

/* The one empty array that pages without records point to: immutable,
 * never freed, shared by every thread. */
static json_t *empty_records;
static pthread_once_t empty_records_once = PTHREAD_ONCE_INIT;

static void make_empty_records(void)
{
	empty_records = json_array();
}

static enum error parse_page(const json_t *body, const char *array_key, struct ebay_page *out,
			     struct buf *why)
{
	const json_t *records, *next;
	long long size;
	enum error err;

	pthread_once(&empty_records_once, make_empty_records);
	out->records = empty_records;
	out->next = NULL;
	out->total = -1;
	out->limit = -1;
	out->warning[0] = '\0';
	buf_reset(why);
	if (!body || !json_is_object(body)) {
		buf_addf(why, "page is %s, not a JSON object",
			 body ? jsonutil_type_name(body) : "missing");
		return ERR_PARSE;
	}
	records = json_object_get(body, array_key);
	if (records && !json_is_null(records)) {
		if (!json_is_array(records)) {
			buf_addf(why, "page field '%s' is %s, not an array", array_key,
				 jsonutil_type_name(records));
			return ERR_PARSE;
		}
		out->records = (json_t *)records;
	}
	out->warning[0] = '\0';
	err = count_field(body, "total", &out->total, why);
	if (err)
		return err;
	if (out->total > EBAY_TOTAL_MAX) {
		buf_addf(why, "page field 'total' is %lld, beyond eBay's int32 range", out->total);
		return ERR_PARSE;
	}
	loose_count(body, "limit", 1, EBAY_LIMIT_MAX, &out->limit, out);
	loose_count(body, "size", 0, EBAY_TOTAL_MAX, &size, out);
	next = json_object_get(body, "next");
	if (next && !json_is_null(next)) {
		if (!json_is_string(next)) {
			buf_addf(why, "page field 'next' is %s, not a string",
				 jsonutil_type_name(next));
			return ERR_PARSE;
		}
		if (json_string_length(next) != strlen(json_string_value(next))) {
			buf_adds(why, "page field 'next' contains a NUL byte");
			return ERR_PARSE;
		}
		if (*json_string_value(next))
			out->next = json_string_value(next);
	}
	return ERR_OK;
}

/* A resolved link. */
struct link {
	char *origin; /* "scheme://host:port", port always spelled out */
	char *url;    /* "scheme://host[:port]/path[?query]": host lower-cased,
			 default port, user info and fragment dropped, so that
			 each page has one spelling to compare */
};

static void link_release(struct link *l)
{
	FREE_AND_NULL(l->origin);
	FREE_AND_NULL(l->url);
}

/* Resolves ref against base (NULL: ref must be absolute). Returns 0 when
 * either is not an http(s) URL. */
static int resolve(const char *base, const char *ref, struct link *out)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL, *query = NULL, *p;
	int ok = 0;

	memset(out, 0, sizeof(*out));
	if (!u)
		return 0;
	if ((base && curl_url_set(u, CURLUPART_URL, base, 0)) ||
	    curl_url_set(u, CURLUPART_URL, ref, 0))
		goto out;
	if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) ||
	    curl_url_get(u, CURLUPART_PATH, &path, 0))
		goto out;
	if (strcmp(scheme, "http") && strcmp(scheme, "https"))
		goto out;
	for (p = host; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	out->origin = xasprintf("%s://%s:%s", scheme, host, port);
	curl_free(port);
	port = NULL;
	if (curl_url_get(u, CURLUPART_PORT, &port, CURLU_NO_DEFAULT_PORT))
		port = NULL;
	if (curl_url_get(u, CURLUPART_QUERY, &query, 0))
		query = NULL;
	out->url = xasprintf("%s://%s%s%s%s%s%s", scheme, host, port ? ":" : "", port ? port : "",
			     path, query ? "?" : "", query ? query : "");
	ok = 1;
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_free(path);
	curl_free(query);
	curl_url_cleanup(u);
	return ok;
}

static void add_seen(struct ebay_pager *p, char *url)
{
	p->seen = xrealloc(p->seen, (p->n_seen + 1) * sizeof(*p->seen));
	p->seen[p->n_seen++] = url;
}

void ebay_pager_init(struct ebay_pager *p, const char *first_url)
{
	struct link first;

	p->seen = NULL;
	p->n_seen = 0;
	p->max_pages = 0;
	p->origin = NULL;
	if (first_url && resolve(NULL, first_url, &first)) {
		p->origin = first.origin;
		add_seen(p, first.url);
	} else {
		add_seen(p, xstrdup(first_url ? first_url : ""));
	}
}

void ebay_pager_release(struct ebay_pager *p)
{
	size_t i;

	for (i = 0; i < p->n_seen; i++)
		free(p->seen[i]);
	free(p->seen);
	FREE_AND_NULL(p->origin);
	p->seen = NULL;
	p->n_seen = 0;
	p->max_pages = 0;
}

/* The form a next link may take: an absolute path, or an absolute http(s)
 * URL; printable ASCII only. */
static int next_well_formed(const char *next)
{
	size_t n = strlen(next), i;

	if (n == 0 || n > EBAY_NEXT_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)next[i] <= 0x20 || (unsigned char)next[i] >= 0x7f)
			return 0;
	return next[0] == '/' || !strncasecmp(next, "http://", 7) ||
	       !strncasecmp(next, "https://", 8);
}

static enum error pager_next(struct ebay_pager *p, const struct ebay_page *page, char **url,
			     struct buf *why)
{
	struct link next = {NULL, NULL};
	long long cap, pages, per = page->limit;
	long long records = (long long)json_array_size(page->records);
	enum error err = ERR_PARSE;
	size_t i;

	*url = NULL;
	buf_reset(why);
	/* The page size: limit, unless a page holds fewer records than that
	 * (the last one, or a limit that is not what eBay applies). */
	if (records > 0 && (per <= 0 || records < per))
		per = records;
	if (page->total >= 0 && page->total <= EBAY_TOTAL_MAX && per > 0) {
		pages = page->total / per + (page->total % per != 0) + EBAY_PAGER_MARGIN;
		/* A catalog may grow during the walk: keep the largest bound. */
		if (pages > p->max_pages)
			p->max_pages = pages;
	}
	if (!page->next || !*page->next)
		return ERR_OK;
	if (!p->origin) {
		buf_addf(why, "first page url is not an http(s) url: '%.200s'",
			 p->n_seen ? p->seen[0] : "");
		goto out;
	}
	if (!next_well_formed(page->next)) {
		buf_addf(why, "next link is not a url or an absolute path: '%.200s'", page->next);
		goto out;
	}
	/* Relative links resolve against the page they came with. */
	if (!resolve(p->seen[p->n_seen - 1], page->next, &next)) {
		buf_addf(why, "next link is not an http(s) url: '%.200s'", page->next);
		goto out;
	}
	if (strcmp(next.origin, p->origin)) {
		buf_addf(why, "next link leaves %s for %s: '%.200s'", p->origin, next.origin,
			 page->next);
		goto out;
	}
	for (i = 0; i < p->n_seen; i++)
		if (!strcmp(p->seen[i], next.url)) {
			buf_addf(why, "next link repeats page %zu: '%.200s'", i + 1, page->next);
			goto out;
		}
	cap = p->max_pages > 0 && p->max_pages < EBAY_PAGER_HARD_CAP ? p->max_pages
								     : EBAY_PAGER_HARD_CAP;
	if ((long long)p->n_seen >= cap) {
		if (cap == p->max_pages)
			buf_addf(why,
				 "next link would be page %zu, past the %lld pages that total %lld "
				 "and %s %lld allow",
				 p->n_seen + 1, cap, page->total,
				 per == page->limit ? "limit" : "records a page of", per);
		else
			buf_addf(why, "next link would be page %zu, past the cap of %lld pages",
				 p->n_seen + 1, cap);
		goto out;
	}
	add_seen(p, next.url);
	*url = xstrdup(next.url);
	next.url = NULL;
	err = ERR_OK;
out:
	link_release(&next);
	return err;
}

enum error ebay_parse_page(const json_t *body, const char *array_key, struct ebay_page *out,
			   struct buf *why)
{
	struct buf local = BUF_INIT;
	enum error err = parse_page(body, array_key, out, why ? why : &local);

	buf_release(&local);
	return err;
}

enum error ebay_pager_next(struct ebay_pager *p, const struct ebay_page *page, char **url,
			   struct buf *why)
{
	struct buf local = BUF_INIT;
	enum error err = pager_next(p, page, url, why ? why : &local);

	buf_release(&local);
	return err;
}

/* Copies s into msg as one printable line (control bytes become spaces). */
static void copy_line(char *msg, size_t msg_size, const char *s, size_t len)
{
	size_t i, n = 0;

	if (!msg || !msg_size)
		return;
	for (i = 0; i < len && n + 1 < msg_size; i++) {
		unsigned char ch = (unsigned char)s[i];

		msg[n++] = ch < 0x20 || ch == 0x7f ? ' ' : (char)ch;
	}
	while (n > 0 && msg[n - 1] == ' ')
		n--;
	msg[n] = '\0';
}

static const char *string_member(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);

	return json_is_string(v) && *json_string_value(v) ? json_string_value(v) : NULL;
}

long ebay_parse_error(const char *body, size_t len, char *msg, size_t msg_size)
{
	json_t *root;
	const json_t *first;
	const char *text;
	long long id = 0;
	long error_id = 0;

	if (msg && msg_size)
		msg[0] = '\0';
	if (!body || !len)
		return 0;
	root = json_loadb(body, len, 0, NULL);
	if (!json_is_object(root)) {
		/* Not eBay's JSON (a proxy's HTML page, say): show its start. */
		copy_line(msg, msg_size < 201 ? msg_size : 201, body, len);
		json_decref(root);
		return 0;
	}
	first = json_array_get(json_object_get(root, "errors"), 0);
	if (json_is_object(first)) {
		if (jsonutil_whole_number(json_object_get(first, "errorId"), &id) == 1 &&
		    id <= LONG_MAX)
			error_id = (long)id;
		text = string_member(first, "message");
		if (!text)
			text = string_member(first, "longMessage");
	} else {
		/* The OAuth endpoints' shape: {"error", "error_description"}. */
		text = string_member(root, "error_description");
		if (!text)
			text = string_member(root, "error");
		if (!text)
			text = string_member(root, "message");
	}
	if (text)
		copy_line(msg, msg_size, text, strlen(text));
	json_decref(root);
	return error_id;
}
