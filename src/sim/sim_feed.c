/*
 * The simulator's Feed API for the Active Inventory Report (see
 * sim_feed.h). A task's fate (COMPLETED, COMPLETED_WITH_ERROR or FAILED) is
 * drawn when it is created; its status is a function of the time since
 * then, and the report is built once, the first time a call sees the task
 * complete. The XML is written with libxml2's xmlTextWriter (it escapes)
 * and zipped with libzip in memory; the product reads it with libarchive, so
 * the simulator and the client share no archive code. Errors are eBay's
 * (errorIds 1600xx of the contract's x-response-codes).
 */
#include "sim_feed.h"

#include <libxml/xmlwriter.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zip.h>

#include "timeutil.h"
#include "xalloc.h"
#include "banned.h"

#define FEED	    "API_FEED"
#define TASK_PATH   SIM_FEED_BASE "/inventory_task"
#define RESULT_PATH SIM_FEED_BASE "/task/"
#define RESULT_TAIL "/download_result_file"
#define REPORT_TYPE "LMS_ACTIVE_INVENTORY_REPORT"
#define TASKS_KEPT  256
#define DAY_MS	    86400000LL
#define XML_NAME    "ActiveInventoryReport.xml"

enum outcome {
	OUT_COMPLETED,
	OUT_PARTIAL, /* COMPLETED_WITH_ERROR */
	OUT_FAILED,
};

struct task {
	char id[48];
	long long created_mono, created_wall;
	long long completed_wall; /* 0 until seen complete */
	enum outcome outcome;
	char format[16]; /* filterCriteria.listingFormat, or "" */
	unsigned char *zip;
	size_t zip_len;
};

struct sim_feed {
	pthread_mutex_t lock;
	struct task *tasks; /* oldest first, at most TASKS_KEPT */
	size_t n;
	unsigned long long next_id;
	long long window_start; /* monotonic ms the daily window began */
	long long window_count; /* tasks created in it */
	struct random_rng rng;
	int rng_seeded;
};

struct sim_feed *sim_feed_new(void)
{
	struct sim_feed *f = xcalloc(1, sizeof(*f));

	pthread_mutex_init(&f->lock, NULL);
	f->tasks = xcalloc(TASKS_KEPT, sizeof(*f->tasks));
	f->next_id = 1;
	f->window_start = timeutil_mono_ms();
	return f;
}

static void clear_tasks(struct sim_feed *f)
{
	for (size_t i = 0; i < f->n; i++)
		free(f->tasks[i].zip);
	f->n = 0;
}

void sim_feed_free(struct sim_feed *f)
{
	if (!f)
		return;
	clear_tasks(f);
	free(f->tasks);
	pthread_mutex_destroy(&f->lock);
	free(f);
}

void sim_feed_reset(struct sim_feed *f)
{
	pthread_mutex_lock(&f->lock);
	clear_tasks(f);
	f->window_start = timeutil_mono_ms();
	f->window_count = 0;
	pthread_mutex_unlock(&f->lock);
}

int sim_feed_route(const char *method, const char *path, enum sim_endpoint *ep, int *allowed)
{
	size_t plen = strlen(path), tlen = strlen(RESULT_TAIL);
	int get = !strcmp(method, "GET");

	if (!strcmp(path, TASK_PATH)) {
		*ep = SIM_EP_FEED_CREATE_TASK;
		*allowed = !strcmp(method, "POST");
	} else if (!strncmp(path, TASK_PATH "/", strlen(TASK_PATH) + 1)) {
		*ep = SIM_EP_FEED_GET_TASK;
		*allowed = get;
	} else if (!strncmp(path, RESULT_PATH, strlen(RESULT_PATH)) &&
		   plen > strlen(RESULT_PATH) + tlen && !strcmp(path + plen - tlen, RESULT_TAIL)) {
		*ep = SIM_EP_FEED_DOWNLOAD;
		*allowed = get;
	} else if (!strncmp(path, SIM_FEED_BASE "/", strlen(SIM_FEED_BASE) + 1)) {
		*ep = SIM_EP_API_OTHER;
		*allowed = 1;
	} else {
		return 0;
	}
	return 1;
}

/* ---- the report ---- */

struct row {
	char *sku, *item_id, *price, *currency;
	long long quantity;
	size_t entry; /* index in the snapshot */
	size_t seq;   /* order of appearance, to keep sorting stable */
};

/* Listing ids are decimal: shorter is smaller, then by text. */
static int row_cmp(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	size_t lx = strlen(x->item_id), ly = strlen(y->item_id);
	int c;

	if (lx != ly)
		return lx < ly ? -1 : 1;
	c = strcmp(x->item_id, y->item_id);
	if (c)
		return c;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static const char *str_at(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* The row of an offer if it is an active listing of the wanted format. */
static int offer_row(const json_t *o, const char *format, struct row *r)
{
	const json_t *listing = json_object_get(o, "listing");
	const json_t *pricing = json_object_get(o, "pricingSummary"), *amount;
	const char *fmt = str_at(o, "format"), *sku = str_at(o, "sku");
	const char *lid = str_at(listing, "listingId"), *value, *cur;
	const json_t *qty = json_object_get(o, "availableQuantity");

	if (!sku || !lid || !fmt || !json_is_integer(qty))
		return -1;
	if (!str_at(o, "status") || strcmp(str_at(o, "status"), "PUBLISHED") ||
	    !str_at(listing, "listingStatus") || strcmp(str_at(listing, "listingStatus"), "ACTIVE"))
		return -1;
	if (format && strcmp(fmt, format))
		return -1;
	/* An auction shows its Buy It Now price where set, else its start price. */
	amount = json_object_get(pricing, "price");
	if (!strcmp(fmt, "AUCTION") && !str_at(amount, "value"))
		amount = json_object_get(pricing, "auctionStartPrice");
	value = str_at(amount, "value");
	cur = str_at(amount, "currency");
	if (!value || !cur)
		return -1;
	r->sku = xstrdup(sku);
	r->item_id = xstrdup(lid);
	r->price = xstrdup(value);
	r->currency = xstrdup(cur);
	r->quantity = (long long)json_integer_value(qty);
	return 0;
}

static void write_amount(xmlTextWriterPtr w, const struct row *r)
{
	xmlTextWriterStartElement(w, BAD_CAST "Price");
	xmlTextWriterWriteAttribute(w, BAD_CAST "currencyID", BAD_CAST r->currency);
	xmlTextWriterWriteString(w, BAD_CAST r->price);
	xmlTextWriterEndElement(w);
	xmlTextWriterWriteFormatElement(w, BAD_CAST "Quantity", "%lld", r->quantity);
}

/* The group key of a variation listing: the first SKU's inventory item
 * group, or NULL (malloc'd). */
static char *group_key(const struct sim_entry *e)
{
	json_t *item = sim_gen_item(e, 0);
	const char *g =
	    json_string_value(json_array_get(json_object_get(item, "inventoryItemGroupKeys"), 0));
	char *key = g ? xstrdup(g) : NULL;

	json_decref(item);
	return key;
}

static void write_report(xmlTextWriterPtr w, struct row *rows, size_t n,
			 const struct sim_entry *entries)
{
	char now[40];

	timeutil_iso(timeutil_wall_ms(), now, sizeof(now));
	xmlTextWriterStartDocument(w, NULL, "UTF-8", NULL);
	xmlTextWriterStartElement(w, BAD_CAST "BulkDataExchangeResponses");
	xmlTextWriterWriteAttribute(w, BAD_CAST "xmlns",
				    BAD_CAST "urn:ebay:apis:eBLBaseComponents");
	xmlTextWriterStartElement(w, BAD_CAST "ActiveInventoryReport");
	xmlTextWriterWriteElement(w, BAD_CAST "Timestamp", BAD_CAST now);
	xmlTextWriterWriteElement(w, BAD_CAST "Ack", BAD_CAST "Success");
	xmlTextWriterWriteElement(w, BAD_CAST "Version", BAD_CAST "1355");
	xmlTextWriterWriteElement(w, BAD_CAST "Build", BAD_CAST "ebaysync-sim");
	for (size_t i = 0; i < n;) {
		size_t j = i + 1;

		while (j < n && !strcmp(rows[j].item_id, rows[i].item_id))
			j++;
		xmlTextWriterStartElement(w, BAD_CAST "SKUDetails");
		if (j - i == 1) {
			xmlTextWriterWriteElement(w, BAD_CAST "SKU", BAD_CAST rows[i].sku);
			xmlTextWriterWriteElement(w, BAD_CAST "ItemID", BAD_CAST rows[i].item_id);
			write_amount(w, &rows[i]);
		} else {
			char *key = group_key(&entries[rows[i].entry]);

			if (key)
				xmlTextWriterWriteElement(w, BAD_CAST "SKU", BAD_CAST key);
			free(key);
			xmlTextWriterWriteElement(w, BAD_CAST "ItemID", BAD_CAST rows[i].item_id);
			xmlTextWriterStartElement(w, BAD_CAST "Variations");
			for (size_t k = i; k < j; k++) {
				xmlTextWriterStartElement(w, BAD_CAST "Variation");
				xmlTextWriterWriteElement(w, BAD_CAST "SKU", BAD_CAST rows[k].sku);
				write_amount(w, &rows[k]);
				xmlTextWriterEndElement(w);
			}
			xmlTextWriterEndElement(w);
		}
		xmlTextWriterEndElement(w);
		i = j;
	}
	xmlTextWriterEndDocument(w);
}

/* Zips len bytes of xml into a malloc'd archive; NULL on a libzip failure. */
static unsigned char *zip_bytes(const char *xml, size_t len, size_t *out_len)
{
	zip_error_t ze;
	zip_source_t *mem, *file;
	zip_stat_t st;
	zip_t *za;
	unsigned char *out = NULL;

	zip_error_init(&ze);
	mem = zip_source_buffer_create(NULL, 0, 0, &ze);
	if (!mem)
		goto out;
	zip_source_keep(mem);
	za = zip_open_from_source(mem, ZIP_TRUNCATE, &ze);
	if (!za) {
		zip_source_free(mem);
		mem = NULL;
		goto out;
	}
	file = zip_source_buffer(za, xml, len, 0);
	if (!file || zip_file_add(za, XML_NAME, file, ZIP_FL_ENC_UTF_8) < 0) {
		zip_source_free(file);
		zip_discard(za);
		goto out;
	}
	if (zip_close(za) < 0) {
		zip_discard(za);
		goto out;
	}
	if (zip_source_stat(mem, &st) < 0 || zip_source_open(mem) < 0)
		goto out;
	out = xmalloc(st.size ? st.size : 1);
	if (zip_source_read(mem, out, st.size) != (zip_int64_t)st.size) {
		FREE_AND_NULL(out);
	} else {
		*out_len = st.size;
	}
	zip_source_close(mem);
out:
	zip_source_free(mem);
	zip_error_fini(&ze);
	return out;
}

unsigned char *sim_feed_build_report(struct sim_catalog *c, const char *listing_format, size_t *len,
				     long long *n_rows)
{
	size_t n = 0, nrows = 0, cap = 0;
	struct sim_entry *entries = sim_catalog_snapshot(c, &n);
	struct row *rows = NULL;
	xmlBufferPtr xb = xmlBufferCreate();
	xmlTextWriterPtr w = xmlNewTextWriterMemory(xb, 0);
	unsigned char *zip;

	if (!xb || !w) {
		fprintf(stderr, "ebaysync-sim: out of memory writing a report\n");
		abort();
	}
	for (size_t i = 0; i < n; i++) {
		for (int k = 0; k < SIM_GEN_MAX_OFFERS; k++) {
			json_t *o = sim_gen_offer(&entries[i], k);

			if (nrows == cap) {
				cap = cap ? cap * 2 : 1024;
				rows = xrealloc(rows, cap * sizeof(*rows));
			}
			if (o && !offer_row(o, listing_format, &rows[nrows])) {
				rows[nrows].entry = i;
				rows[nrows].seq = nrows;
				nrows++;
			}
			json_decref(o);
		}
	}
	qsort(rows, nrows, sizeof(*rows), row_cmp);
	write_report(w, rows, nrows, entries);
	xmlFreeTextWriter(w); /* flushes into xb */
	zip = zip_bytes((const char *)xmlBufferContent(xb), (size_t)xmlBufferLength(xb), len);
	if (!zip) {
		fprintf(stderr, "ebaysync-sim: libzip cannot write a report archive\n");
		abort();
	}
	for (size_t i = 0; i < nrows; i++) {
		free(rows[i].sku);
		free(rows[i].item_id);
		free(rows[i].price);
		free(rows[i].currency);
	}
	*n_rows = (long long)nrows;
	free(rows);
	free(entries);
	xmlBufferFree(xb);
	return zip;
}

/* ---- the calls ---- */

static const char *status_name(const struct task *t, const struct sim_config *cfg, long long now)
{
	long long age = now - t->created_mono, d = cfg->feed_delay_ms;

	if (!t->completed_wall) {
		if (age < d / 4)
			return "CREATED";
		if (age < d / 2)
			return "QUEUED";
		return "IN_PROCESS";
	}
	return t->outcome == OUT_FAILED	   ? "FAILED"
	       : t->outcome == OUT_PARTIAL ? "COMPLETED_WITH_ERROR"
					   : "COMPLETED";
}

/* Completes t if its time has come, building its report then. */
static void advance(struct task *t, struct sim_catalog *c, const struct sim_config *cfg,
		    long long now)
{
	long long rows;

	if (t->completed_wall || now - t->created_mono < cfg->feed_delay_ms)
		return;
	if (t->outcome != OUT_FAILED)
		t->zip =
		    sim_feed_build_report(c, t->format[0] ? t->format : NULL, &t->zip_len, &rows);
	t->completed_wall = timeutil_wall_ms();
}

static struct task *find_task(struct sim_feed *f, const char *id)
{
	for (size_t i = 0; i < f->n; i++)
		if (!strcmp(f->tasks[i].id, id))
			return &f->tasks[i];
	return NULL;
}

static void no_task(struct sim_reply *out, const char *id)
{
	char msg[128];

	snprintf(msg, sizeof(msg), "Task %.60s does not exist.", id);
	sim_reply_error(out, 404, 160003, FEED, "REQUEST", msg, NULL, "taskId", id);
	out->error_id = 160003;
}

static double draw(struct sim_feed *f, const struct sim_config *cfg)
{
	if (!f->rng_seeded) {
		sim_gen_rng_init(&f->rng, cfg->seed, 0xfeedu, (uint64_t)timeutil_mono_ms());
		f->rng_seeded = 1;
	}
	return random_rng_unit(&f->rng);
}

static void bad_request(struct sim_reply *out, long id, const char *msg, const char *name,
			const char *value)
{
	sim_reply_error(out, 400, id, FEED, "REQUEST", msg, NULL, name, value);
	out->error_id = id;
}

static void create_task(struct sim_feed *f, const struct sim_config *cfg,
			const struct sim_request *rq, struct sim_reply *out)
{
	json_t *body = json_loadb(rq->body ? rq->body : "", rq->body_len, 0, NULL);
	const char *type = str_at(body, "feedType"), *version = str_at(body, "schemaVersion");
	const json_t *filter = json_object_get(body, "filterCriteria");
	const char *format = str_at(filter, "listingFormat");
	struct task *t;
	double u;

	if (!type || (strcmp(type, REPORT_TYPE) && strncmp(type, "LMS_", 4))) {
		bad_request(out, 160017, "The 'feedType' is missing or invalid.", "feedType", type);
		goto out;
	}
	if (strcmp(type, REPORT_TYPE)) {
		char msg[256];
		snprintf(msg, sizeof(msg),
			 "This resource is not applicable for the feed type %.60s. For more "
			 "information, see the documentation for this API.",
			 type);
		bad_request(out, 160030, msg, "feedType", type);
		goto out;
	}
	if (!version || strcmp(version, "1.0")) {
		bad_request(out, 160018, "The 'schemaVersion' is invalid.", "schemaVersion",
			    version);
		goto out;
	}
	if (filter &&
	    (!json_is_object(filter) ||
	     (json_object_get(filter, "listingFormat") &&
	      (!format || (strcmp(format, "AUCTION") && strcmp(format, "FIXED_PRICE")))))) {
		bad_request(out, 160019,
			    "The 'filterCriteria' is invalid. listingFormat must be AUCTION or "
			    "FIXED_PRICE.",
			    "listingFormat", format);
		goto out;
	}
	pthread_mutex_lock(&f->lock);
	if (rq->now_ms - f->window_start >= DAY_MS) {
		f->window_start = rq->now_ms;
		f->window_count = 0;
	}
	if (cfg->feed_daily_cap && f->window_count >= cfg->feed_daily_cap) {
		pthread_mutex_unlock(&f->lock);
		sim_reply_error(out, 409, 160025, FEED, "BUSINESS",
				"You have exceeded the maximum number of records or tasks that can "
				"be created or processed in the period (hourly or daily). Wait "
				"until the present period ends before trying again. Please "
				"reference the API documentation for more information.",
				NULL, "feedType", REPORT_TYPE);
		out->error_id = 160025;
		goto out;
	}
	f->window_count++;
	if (f->n == TASKS_KEPT) {
		free(f->tasks[0].zip);
		memmove(f->tasks, f->tasks + 1, (TASKS_KEPT - 1) * sizeof(*f->tasks));
		f->n--;
	}
	t = &f->tasks[f->n++];
	memset(t, 0, sizeof(*t));
	snprintf(t->id, sizeof(t->id), "task-1-%llu", 7000000000ULL + f->next_id++);
	t->created_mono = rq->now_ms;
	t->created_wall = timeutil_wall_ms();
	u = draw(f, cfg);
	t->outcome = u < cfg->feed_fail			      ? OUT_FAILED
		     : u < cfg->feed_fail + cfg->feed_partial ? OUT_PARTIAL
							      : OUT_COMPLETED;
	if (format)
		snprintf(t->format, sizeof(t->format), "%s", format);
	out->location = xasprintf("http://%s%s/%s", rq->host, TASK_PATH, t->id);
	pthread_mutex_unlock(&f->lock);
	out->status = 202;
	out->body = NULL;
	out->len = 0;
out:
	json_decref(body);
}

static void get_task(struct sim_feed *f, struct sim_catalog *c, const struct sim_config *cfg,
		     const struct sim_request *rq, struct sim_reply *out)
{
	const char *id = rq->path + strlen(TASK_PATH) + 1;
	char date[40];
	struct task *t;
	json_t *o;

	pthread_mutex_lock(&f->lock);
	t = find_task(f, id);
	if (!t) {
		pthread_mutex_unlock(&f->lock);
		no_task(out, id);
		return;
	}
	advance(t, c, cfg, rq->now_ms);
	o = json_object();
	json_object_set_new(o, "taskId", json_string(t->id));
	json_object_set_new(o, "status", json_string(status_name(t, cfg, rq->now_ms)));
	json_object_set_new(o, "feedType", json_string(REPORT_TYPE));
	timeutil_iso(t->created_wall, date, sizeof(date));
	json_object_set_new(o, "creationDate", json_string(date));
	if (t->completed_wall) {
		timeutil_iso(t->completed_wall, date, sizeof(date));
		json_object_set_new(o, "completionDate", json_string(date));
	}
	json_object_set_new(o, "schemaVersion", json_string("1.0"));
	json_object_set_new(o, "detailHref", json_sprintf("%s/%s", TASK_PATH, t->id));
	if (t->format[0])
		json_object_set_new(o, "filterCriteria",
				    json_pack("{s:s}", "listingFormat", t->format));
	pthread_mutex_unlock(&f->lock);
	sim_reply_json(out, 200, o);
}

/* Damages the compressed data of the archive's first file. */
static void damage(unsigned char *zip, size_t len)
{
	size_t start, size, name, extra;

	if (len < 30)
		return;
	name = (size_t)zip[26] | (size_t)zip[27] << 8;
	extra = (size_t)zip[28] | (size_t)zip[29] << 8;
	size =
	    (size_t)zip[18] | (size_t)zip[19] << 8 | (size_t)zip[20] << 16 | (size_t)zip[21] << 24;
	start = 30 + name + extra;
	if (start >= len)
		return;
	if (!size || start + size > len)
		size = len - start;
	for (size_t i = start + size / 3; i < start + size && i < start + size / 3 + 64; i++)
		zip[i] ^= 0x5a;
}

static void download(struct sim_feed *f, struct sim_catalog *c, const struct sim_config *cfg,
		     const struct sim_request *rq, struct sim_reply *out)
{
	const char *start = rq->path + strlen(RESULT_PATH);
	size_t id_len = strlen(start) - strlen(RESULT_TAIL);
	char id[64];
	struct task *t;
	unsigned char *copy;
	size_t len;
	double cut_u, corrupt_u;

	snprintf(id, sizeof(id), "%.*s", (int)(id_len < 63 ? id_len : 63), start);
	pthread_mutex_lock(&f->lock);
	t = find_task(f, id);
	if (!t) {
		pthread_mutex_unlock(&f->lock);
		no_task(out, id);
		return;
	}
	advance(t, c, cfg, rq->now_ms);
	if (!t->zip) {
		char msg[128];
		pthread_mutex_unlock(&f->lock);
		snprintf(msg, sizeof(msg), "No file found for task ID %.60s.", id);
		sim_reply_error(out, 404, 160014, FEED, "REQUEST", msg, NULL, "taskId", id);
		out->error_id = 160014;
		return;
	}
	len = t->zip_len;
	copy = xmalloc(len);
	memcpy(copy, t->zip, len);
	cut_u = draw(f, cfg);
	corrupt_u = draw(f, cfg);
	pthread_mutex_unlock(&f->lock);
	if (corrupt_u < cfg->feed_corrupt)
		damage(copy, len);
	out->status = 200;
	out->content_type = "application/octet-stream";
	out->disposition = xasprintf("attachment; filename=\"%s.zip\"", id);
	/* A cut download announces its whole length, sends half, and drops. */
	out->cut = cut_u < cfg->feed_cut;
	out->body = (char *)copy;
	out->len = len;
}

void sim_feed_serve(struct sim_feed *f, struct sim_catalog *c, const struct sim_config *cfg,
		    enum sim_endpoint ep, const struct sim_request *rq, struct sim_reply *out)
{
	switch (ep) {
	case SIM_EP_FEED_CREATE_TASK:
		create_task(f, cfg, rq, out);
		break;
	case SIM_EP_FEED_GET_TASK:
		get_task(f, c, cfg, rq, out);
		break;
	case SIM_EP_FEED_DOWNLOAD:
		download(f, c, cfg, rq, out);
		break;
	default:
		sim_reply_error(out, 404, 2002, "ACCESS", "REQUEST", "Resource not found", NULL,
				NULL, NULL);
		break;
	}
}
