/*
 * The Active Inventory Report reader (see report.h). libarchive opens the
 * zip and hands out the first regular file's bytes as libxml2 asks for
 * them (xmlReaderForIO), so neither the archive nor the XML is ever whole in
 * memory. The XML is walked node by node with a small stack of what each
 * open element is (the wrapper, the report, a listing, its variations, a
 * field we keep, or something we skip); the text of a kept field is
 * collected into a capped buffer, and a listing is checked and handed out
 * when its end tag arrives. The variations of one listing are kept until
 * then (eBay allows 250), because its ItemID may come after them.
 */
#include "report.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <libxml/xmlreader.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mapping.h"
#include "xalloc.h"
#include "banned.h"

#define BLOCK	    65536
#define DEPTH_MAX   16
#define FIELD_MAX   1024 /* bytes of one field's text kept before it is refused */
#define ITEM_ID_MAX 19
#define QTY_MAX	    2147483647LL

enum kind {
	K_ROOT,	      /* BulkDataExchangeResponses */
	K_REPORT,     /* ActiveInventoryReport */
	K_DETAILS,    /* SKUDetails */
	K_VARIATIONS, /* SKUDetails/Variations */
	K_VARIATION,  /* Variations/Variation */
	K_FIELD,      /* a field whose text we keep */
	K_SKIP,	      /* anything else: ignored with what it holds */
};

enum field {
	F_SKU,
	F_ITEM_ID,
	F_PRICE,
	F_QUANTITY,
	F_ACK,
	F__COUNT,
};

static const char *const field_names[F__COUNT] = {"SKU", "ItemID", "Price", "Quantity", "Ack"};

/* The fields of one listing or one variation as read so far. */
struct rec {
	char *v[F__COUNT]; /* NULL until the field has been read */
	char *currency;	   /* Price's currencyID, or NULL */
};

struct reader {
	struct archive *ar;
	xmlTextReaderPtr xr;
	report_row_fn fn;
	void *ctx;
	struct report_summary *sum;
	struct buf *why;

	int archive_failed;  /* the archive refused: message in why */
	char xml_error[256]; /* libxml2's first error, with its line */
	enum kind stack[DEPTH_MAX];
	enum field cur;	 /* the K_FIELD element open now */
	struct buf text; /* its text so far */
	int saw_report;
	int reports_open;
	struct rec top;	  /* the listing */
	struct rec *vars; /* its variations */
	size_t n_vars, cap_vars;
	int has_variations;
	struct rec *target; /* where the open field goes: &top or a variation */
};

static void rec_clear(struct rec *r)
{
	for (int i = 0; i < F__COUNT; i++) {
		free(r->v[i]);
		r->v[i] = NULL;
	}
	free(r->currency);
	r->currency = NULL;
}

static void listing_clear(struct reader *r)
{
	rec_clear(&r->top);
	for (size_t i = 0; i < r->n_vars; i++)
		rec_clear(&r->vars[i]);
	r->n_vars = 0;
	r->has_variations = 0;
}

/* ---- libarchive to libxml2 ---- */

static int xml_read(void *ctx, char *out, int len)
{
	struct reader *r = ctx;
	la_ssize_t n = archive_read_data(r->ar, out, (size_t)len);

	if (n < 0) {
		if (!r->archive_failed) {
			const char *msg = archive_error_string(r->ar);
			buf_reset(r->why);
			buf_addf(r->why, "the report's archive is damaged: %s",
				 msg ? msg : "unreadable data");
			r->archive_failed = 1;
		}
		return -1;
	}
	return (int)n;
}

static int xml_close(void *ctx)
{
	return 0;
}

static void xml_error(void *ctx, xmlErrorPtr e)
{
	struct reader *r = ctx;
	size_t len;

	if (!e || r->xml_error[0])
		return;
	snprintf(r->xml_error, sizeof(r->xml_error), "line %d: %s", e->line,
		 e->message ? e->message : "error");
	len = strlen(r->xml_error);
	while (len && (r->xml_error[len - 1] == '\n' || r->xml_error[len - 1] == ' '))
		r->xml_error[--len] = '\0';
}

/* ---- checks ---- */

/* s without leading and trailing XML white space (in place). */
static char *trim(char *s)
{
	size_t len;

	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	len = strlen(s);
	while (len && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\n' ||
		       s[len - 1] == '\r'))
		s[--len] = '\0';
	return s;
}

static int all_digits(const char *s, size_t max)
{
	size_t n = 0;

	for (; s[n]; n++)
		if (s[n] < '0' || s[n] > '9')
			return 0;
	return n > 0 && n <= max;
}

static int currency_ok(const char *c)
{
	return c && strlen(c) == 3 && c[0] >= 'A' && c[0] <= 'Z' && c[1] >= 'A' && c[1] <= 'Z' &&
	       c[2] >= 'A' && c[2] <= 'Z';
}

/* Names the listing for messages: its position, and its SKU or ItemID. */
static void name_listing(struct reader *r, const struct rec *var, struct buf *out)
{
	const char *sku = var && var->v[F_SKU] ? var->v[F_SKU] : r->top.v[F_SKU];
	const char *item = r->top.v[F_ITEM_ID];

	buf_addf(out, "listing %lld", r->sum->listings);
	if (var)
		buf_addf(out, ", variation %zu", (size_t)(var - r->vars) + 1);
	if (sku)
		buf_addf(out, " (SKU '%.60s')", sku);
	else if (item)
		buf_addf(out, " (ItemID %.30s)", item);
}

static enum error refuse(struct reader *r, const struct rec *var, const char *what)
{
	buf_reset(r->why);
	buf_adds(r->why, "malformed report: ");
	name_listing(r, var, r->why);
	buf_addf(r->why, " %s", what);
	return ERR_PARSE;
}

/* Checks one row (price and quantity from rec, the listing's ItemID) and
 * hands it out. */
static enum error emit(struct reader *r, struct rec *rec, const char *parent_sku)
{
	struct report_row row;
	char *item = r->top.v[F_ITEM_ID], *price = rec->v[F_PRICE], *qty = rec->v[F_QUANTITY];
	struct rec *var = rec == &r->top ? NULL : rec;
	long long q = 0;
	enum error err;

	if (!item)
		return refuse(r, var, "has no ItemID");
	if (!all_digits(item, ITEM_ID_MAX))
		return refuse(r, var, "has an ItemID that is not 1 to 19 digits");
	if (!price)
		return refuse(r, var, "has no Price");
	if (!mapping_is_decimal(price))
		return refuse(r, var, "has a Price that is not a plain decimal amount");
	if (!rec->currency)
		return refuse(r, var, "has a Price without a currencyID");
	if (!currency_ok(rec->currency))
		return refuse(r, var, "has a currencyID that is not three capital letters");
	if (!qty)
		return refuse(r, var, "has no Quantity");
	if (!all_digits(qty, 10))
		return refuse(r, var, "has a Quantity that is not a whole number from 0");
	for (const char *p = qty; *p; p++)
		q = q * 10 + (*p - '0');
	if (q > QTY_MAX)
		return refuse(r, var, "has a Quantity over 2147483647");
	if (!rec->v[F_SKU]) {
		r->sum->no_sku++;
		return ERR_OK;
	}
	r->sum->rows++;
	if (var)
		r->sum->variations++;
	if (!r->fn)
		return ERR_OK;
	row.sku = rec->v[F_SKU];
	row.item_id = item;
	row.price = price;
	row.currency = rec->currency;
	row.quantity = q;
	row.parent_sku = parent_sku;
	buf_reset(r->why);
	err = r->fn(r->ctx, &row, r->why);
	if (err && !r->why->len)
		buf_addf(r->why, "the report's row for SKU '%.60s' was refused: %s", row.sku,
			 error_strerror(err));
	return err;
}

static enum error end_listing(struct reader *r)
{
	enum error err = ERR_OK;

	if (r->has_variations) {
		if (!r->n_vars)
			err = refuse(r, NULL, "has an empty Variations element");
		for (size_t i = 0; !err && i < r->n_vars; i++)
			err = emit(r, &r->vars[i], r->top.v[F_SKU]);
	} else {
		err = emit(r, &r->top, NULL);
	}
	listing_clear(r);
	return err;
}

/* ---- the walk ---- */

static int name_is(const xmlChar *name, const char *want)
{
	return name && !strcmp((const char *)name, want);
}

/* Which field an element of a listing or variation is, or -1. */
static int field_of(const xmlChar *name, int in_variation)
{
	if (name_is(name, "SKU"))
		return F_SKU;
	if (name_is(name, "Price"))
		return F_PRICE;
	if (name_is(name, "Quantity"))
		return F_QUANTITY;
	if (!in_variation && name_is(name, "ItemID"))
		return F_ITEM_ID;
	return -1;
}

static enum error open_field(struct reader *r, struct rec *target, enum field f)
{
	if (target->v[f]) {
		char what[64];
		snprintf(what, sizeof(what), "has two %s elements", field_names[f]);
		return refuse(r, target == &r->top ? NULL : target, what);
	}
	r->target = target;
	r->cur = f;
	buf_reset(&r->text);
	if (f == F_PRICE) {
		xmlChar *cur = xmlTextReaderGetAttribute(r->xr, BAD_CAST "currencyID");
		if (cur) {
			target->currency = xstrdup(trim((char *)cur));
			xmlFree(cur);
		}
	}
	return ERR_OK;
}

static enum error close_field(struct reader *r)
{
	struct rec *t = r->target;
	char *v = r->text.data ? r->text.data : (char *)"";

	/* A SKU is kept as written (eBay compares it byte for byte); the
	 * numbers and the Ack may be padded with white space. */
	if (r->cur != F_SKU)
		v = trim(v);
	if (r->cur == F_SKU) {
		if (!*v)
			return ERR_OK; /* <SKU/>: no SKU */
		if (strlen(v) > REPORT_SKU_MAX)
			return refuse(r, t == &r->top ? NULL : t, "has a SKU over 200 bytes");
	}
	if (r->cur == F_ACK) {
		snprintf(r->sum->ack, sizeof(r->sum->ack), "%s", v);
		return ERR_OK;
	}
	t->v[r->cur] = xstrdup(v);
	return ERR_OK;
}

/* Works out what a new element at depth d is and acts on it. */
static enum error start_element(struct reader *r, int d)
{
	const xmlChar *name = xmlTextReaderConstLocalName(r->xr);
	enum kind parent = d > 0 ? r->stack[d - 1] : K_SKIP;
	enum kind k = K_SKIP;
	int f;

	if (d == 0) {
		if (!name_is(name, "BulkDataExchangeResponses")) {
			buf_reset(r->why);
			buf_addf(r->why,
				 "malformed report: the document is <%.60s>, not eBay's "
				 "<BulkDataExchangeResponses>",
				 name ? (const char *)name : "?");
			return ERR_PARSE;
		}
		k = K_ROOT;
	} else if (parent == K_ROOT && name_is(name, "ActiveInventoryReport")) {
		k = K_REPORT;
		r->saw_report = 1;
	} else if (parent == K_REPORT && name_is(name, "SKUDetails")) {
		k = K_DETAILS;
		listing_clear(r);
		r->sum->listings++;
	} else if (parent == K_REPORT && name_is(name, "Ack")) {
		k = K_FIELD;
		r->cur = F_ACK;
		r->target = &r->top;
		buf_reset(&r->text);
	} else if (parent == K_DETAILS && name_is(name, "Variations")) {
		k = K_VARIATIONS;
		r->has_variations = 1;
	} else if (parent == K_VARIATIONS && name_is(name, "Variation")) {
		if (r->n_vars == REPORT_VARIATIONS_MAX)
			return refuse(r, NULL, "has over 1000 variations");
		if (r->n_vars == r->cap_vars) {
			r->cap_vars = r->cap_vars ? r->cap_vars * 2 : 16;
			r->vars = xrealloc(r->vars, r->cap_vars * sizeof(*r->vars));
		}
		memset(&r->vars[r->n_vars++], 0, sizeof(*r->vars));
		k = K_VARIATION;
	} else if (parent == K_DETAILS && (f = field_of(name, 0)) >= 0) {
		enum error err = open_field(r, &r->top, (enum field)f);
		if (err)
			return err;
		k = K_FIELD;
	} else if (parent == K_VARIATION && (f = field_of(name, 1)) >= 0) {
		enum error err = open_field(r, &r->vars[r->n_vars - 1], (enum field)f);
		if (err)
			return err;
		k = K_FIELD;
	}
	r->stack[d] = k;
	return ERR_OK;
}

static enum error end_element(struct reader *r, int d)
{
	switch (r->stack[d]) {
	case K_FIELD:
		return close_field(r);
	case K_DETAILS:
		return end_listing(r);
	default:
		return ERR_OK;
	}
}

static enum error walk(struct reader *r)
{
	enum error err = ERR_OK;
	int ret;

	while ((ret = xmlTextReaderRead(r->xr)) == 1) {
		int type = xmlTextReaderNodeType(r->xr), d = xmlTextReaderDepth(r->xr);

		/* What we read lies at depths 0 to 5: anything deeper is inside
		 * something we skip. */
		if (d < 0 || d >= DEPTH_MAX)
			continue;
		switch (type) {
		case XML_READER_TYPE_ELEMENT:
			err = start_element(r, d);
			if (!err && xmlTextReaderIsEmptyElement(r->xr))
				err = end_element(r, d);
			break;
		case XML_READER_TYPE_END_ELEMENT:
			err = end_element(r, d);
			break;
		case XML_READER_TYPE_TEXT:
		case XML_READER_TYPE_CDATA:
		case XML_READER_TYPE_SIGNIFICANT_WHITESPACE:
		case XML_READER_TYPE_WHITESPACE:
			if (d > 0 && r->stack[d - 1] == K_FIELD) {
				const xmlChar *v = xmlTextReaderConstValue(r->xr);
				if (v && buf_adds(&r->text, (const char *)v)) {
					buf_reset(r->why);
					buf_addf(r->why,
						 "malformed report: a <%s> of listing %lld is over "
						 "%d bytes",
						 field_names[r->cur], r->sum->listings, FIELD_MAX);
					err = ERR_PARSE;
				}
			}
			break;
		case XML_READER_TYPE_DOCUMENT_TYPE:
		case XML_READER_TYPE_ENTITY_REFERENCE:
			buf_reset(r->why);
			buf_adds(r->why, "malformed report: a DOCTYPE or entity declaration is not "
					 "allowed in a report");
			err = ERR_PARSE;
			break;
		default:
			break;
		}
		if (err)
			return err;
	}
	if (ret < 0) {
		if (r->archive_failed)
			return ERR_PARSE;
		buf_reset(r->why);
		buf_addf(r->why, "malformed report: the XML is broken at %s",
			 r->xml_error[0] ? r->xml_error : "an unknown place");
		return ERR_PARSE;
	}
	if (!r->saw_report) {
		buf_reset(r->why);
		buf_adds(r->why, "malformed report: no <ActiveInventoryReport> in the document");
		return ERR_PARSE;
	}
	if (!strcmp(r->sum->ack, "Failure")) {
		buf_reset(r->why);
		buf_adds(r->why, "the report says Ack Failure: eBay could not build it");
		return ERR_EBAY;
	}
	return ERR_OK;
}

/* Reads an opened archive: finds its file, then walks the XML. */
static enum error read_archive(struct archive *ar, int opened, report_row_fn fn, void *ctx,
			       struct report_summary *summary, struct buf *why)
{
	struct report_summary local;
	struct reader r;
	struct archive_entry *entry;
	enum error err = ERR_PARSE;
	int ret;

	memset(&r, 0, sizeof(r));
	if (!summary)
		summary = &local;
	memset(summary, 0, sizeof(*summary));
	r.ar = ar;
	r.fn = fn;
	r.ctx = ctx;
	r.sum = summary;
	r.why = why;
	buf_init(&r.text, FIELD_MAX);
	if (opened != ARCHIVE_OK) {
		buf_addf(why, "the report is not a zip archive: %s",
			 archive_error_string(ar) ? archive_error_string(ar) : "unreadable");
		goto out;
	}
	for (;;) {
		ret = archive_read_next_header(ar, &entry);
		if (ret == ARCHIVE_EOF) {
			buf_adds(why, "the report's archive holds no file");
			goto out;
		}
		if (ret != ARCHIVE_OK) {
			buf_addf(why, "the report's archive is damaged: %s",
				 archive_error_string(ar) ? archive_error_string(ar)
							  : "bad header");
			goto out;
		}
		if (archive_entry_filetype(entry) == AE_IFREG)
			break;
	}
	r.xr = xmlReaderForIO(xml_read, xml_close, &r, "report.xml", NULL,
			      XML_PARSE_NONET | XML_PARSE_NOCDATA);
	if (!r.xr) {
		buf_adds(why, "cannot start the XML reader for the report");
		err = ERR_INTERNAL;
		goto out;
	}
	xmlTextReaderSetStructuredErrorHandler(r.xr, xml_error, &r);
	err = walk(&r);
out:
	if (r.xr)
		xmlFreeTextReader(r.xr);
	listing_clear(&r);
	free(r.vars);
	buf_release(&r.text);
	return err;
}

static struct archive *new_archive(void)
{
	struct archive *ar = archive_read_new();

	if (!ar) {
		fprintf(stderr, "fatal: out of memory creating an archive reader\n");
		abort();
	}
	/* The seekable reader starts from the central directory at the end, so
	 * an archive cut anywhere (even only in its directory) is refused;
	 * the streaming one would read a cut archive's first file happily. */
	archive_read_support_format_zip_seekable(ar);
	return ar;
}

enum error report_read_fd(int fd, report_row_fn fn, void *ctx, struct report_summary *summary,
			  struct buf *why)
{
	struct archive *ar = new_archive();
	enum error err;

	if (lseek(fd, 0, SEEK_SET) < 0) {
		buf_addf(why, "cannot read the report: %s", strerror(errno));
		archive_read_free(ar);
		return ERR_IO;
	}
	err = read_archive(ar, archive_read_open_fd(ar, fd, BLOCK), fn, ctx, summary, why);
	archive_read_free(ar);
	return err;
}

enum error report_read_file(const char *path, report_row_fn fn, void *ctx,
			    struct report_summary *summary, struct buf *why)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	enum error err;

	if (fd < 0) {
		buf_addf(why, "cannot open the report '%s': %s", path, strerror(errno));
		return ERR_IO;
	}
	err = report_read_fd(fd, fn, ctx, summary, why);
	close(fd);
	return err;
}

enum error report_read_memory(const void *data, size_t len, report_row_fn fn, void *ctx,
			      struct report_summary *summary, struct buf *why)
{
	struct archive *ar = new_archive();
	enum error err;

	err = read_archive(ar, archive_read_open_memory(ar, data, len), fn, ctx, summary, why);
	archive_read_free(ar);
	return err;
}
