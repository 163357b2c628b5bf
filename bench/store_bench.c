/*
 * Storage benchmark: rows upserted per second through store_write_batch()
 * on each backend, for fresh inserts and for updates of the same rows, at
 * two batch sizes (a page of 200 and a few hundred offers), next to the
 * ceiling: a plain COPY of the same rows, batch by batch, into a table like
 * the real one (same columns and indexes) on the same PostgreSQL server in
 * the same run. PostgreSQL is measured in both write modes of store/pg.h
 * (multi-row INSERT ... ON CONFLICT, and COPY into a staging table + one
 * merge). bench/store_bench.sh builds it, starts a throwaway cluster, runs
 * it and stops the cluster.
 *
 *   store_bench --pg URL --sqlite-dir DIR [--rows N] [--batches 200,500] [--repeat 3]
 *               [--table inventory|offers]
 */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "store.h"
#include "store/pg.h"
#include "timeutil.h"
#include "xalloc.h"

#define MAX_BATCHES 4

static const char *const WORDS[] = {
    "brake",  "pad",	"rotor",    "ceramic", "front",	 "rear",  "kit",    "sensor",
    "oxygen", "filter", "oil",	    "air",     "cabin",	 "spark", "plug",   "iridium",
    "pump",   "water",	"fuel",	    "gasket",  "valve",	 "cover", "timing", "belt",
    "chain",  "hose",	"radiator", "fan",     "clutch", "mount", "engine", "strut",
};
#define N_WORDS (sizeof(WORDS) / sizeof(WORDS[0]))

/* ---- rows ----------------------------------------------------------------- */

static unsigned long long rng = 88172645463325252ULL;

static unsigned rnd(unsigned n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)(rng % n);
}

static char *title(void)
{
	struct buf b = BUF_INIT;

	buf_adds(&b, "Acme");
	for (int k = 0; k < 6; k++)
		buf_addf(&b, " %s", WORDS[rnd(N_WORDS)]);
	return buf_detach(&b, NULL);
}

/* The item and its offer as eBay would give them (about 700 and 600 bytes
 * of JSON), with prices and quantities that change with round. */
static void make_rows(size_t i, int round, struct item_row *it, struct offer_row *of)
{
	char sku[32], price[32];
	char *t = title();

	snprintf(sku, sizeof(sku), "BENCH-%07zu", i);
	snprintf(price, sizeof(price), "%zu.%02d", 5 + i % 500, (int)(i + round) % 100);
	memset(it, 0, sizeof(*it));
	it->sku = xstrdup(sku);
	it->title = t;
	it->condition = xstrdup("NEW");
	it->part_number = xasprintf("PN-%zu", i * 7);
	it->model = xasprintf("M%zu", i % 97);
	it->category = xstrdup("33563");
	it->price_value = xstrdup(price);
	it->price_currency = xstrdup("USD");
	it->quantity = (long long)(i % 40) + round;
	it->ebay_listing_id = xasprintf("1100%08zu", i);
	it->ebay_status = xstrdup("ACTIVE");
	it->photo_count = 3;
	it->offer_fields_known = 1;
	it->raw_payload = xasprintf(
	    "{\"sku\":\"%s\",\"locale\":\"en_US\",\"condition\":\"NEW\","
	    "\"availability\":{\"shipToLocationAvailability\":{\"quantity\":%lld}},"
	    "\"product\":{\"title\":\"%s\",\"description\":\"%s. Fits most 2012-2020 models; "
	    "check the part number before ordering.\",\"aspects\":{\"Brand\":[\"Acme\"],"
	    "\"Manufacturer Part Number\":[\"PN-%zu\"],\"Model\":[\"M%zu\"],"
	    "\"Placement on Vehicle\":[\"Front\",\"Left\",\"Right\"]},\"imageUrls\":["
	    "\"https://i.ebayimg.com/images/g/%zuA/s-l1600.jpg\","
	    "\"https://i.ebayimg.com/images/g/%zuB/s-l1600.jpg\","
	    "\"https://i.ebayimg.com/images/g/%zuC/s-l1600.jpg\"]},"
	    "\"packageWeightAndSize\":{\"weight\":{\"value\":2.5,\"unit\":\"POUND\"}}}",
	    sku, it->quantity, t, t, i * 7, i % 97, i, i, i);

	memset(of, 0, sizeof(*of));
	of->offer_id = xasprintf("5%011zu", i);
	of->sku = xstrdup(sku);
	of->marketplace_id = xstrdup("EBAY_US");
	of->format = xstrdup("FIXED_PRICE");
	of->status = xstrdup("PUBLISHED");
	of->listing_id = xstrdup(it->ebay_listing_id);
	of->listing_status = xstrdup("ACTIVE");
	of->price_value = xstrdup(price);
	of->price_currency = xstrdup("USD");
	of->available_quantity = it->quantity;
	of->sold_quantity = (long long)(i % 13);
	of->category_id = xstrdup("33563");
	of->listing_start_date = xstrdup("2024-03-01T10:00:00.000Z");
	of->raw_payload = xasprintf(
	    "{\"offerId\":\"%s\",\"sku\":\"%s\",\"marketplaceId\":\"EBAY_US\","
	    "\"format\":\"FIXED_PRICE\",\"availableQuantity\":%lld,\"categoryId\":\"33563\","
	    "\"listingDescription\":\"%s\",\"listingPolicies\":{\"fulfillmentPolicyId\":"
	    "\"6196932000\",\"paymentPolicyId\":\"6196937000\",\"returnPolicyId\":"
	    "\"6196938000\"},\"pricingSummary\":{\"price\":{\"value\":\"%s\",\"currency\":"
	    "\"USD\"}},\"listing\":{\"listingId\":\"%s\",\"listingStatus\":\"ACTIVE\","
	    "\"soldQuantity\":%lld},\"merchantLocationKey\":\"WH-1\",\"status\":\"PUBLISHED\"}",
	    of->offer_id, sku, of->available_quantity, t, price, of->listing_id, of->sold_quantity);
}

struct rows {
	struct item_row *items;
	struct offer_row *offers;
	size_t n;
};

static void rows_make(struct rows *r, size_t n, int round)
{
	r->n = n;
	r->items = xcalloc(n, sizeof(*r->items));
	r->offers = xcalloc(n, sizeof(*r->offers));
	rng = 88172645463325252ULL; /* the same titles every round */
	for (size_t i = 0; i < n; i++)
		make_rows(i, round, &r->items[i], &r->offers[i]);
}

static void rows_release(struct rows *r)
{
	for (size_t i = 0; i < r->n; i++) {
		item_row_release(&r->items[i]);
		offer_row_release(&r->offers[i]);
	}
	free(r->items);
	free(r->offers);
}

/* ---- measurements ------------------------------------------------------------ */

static void die(const char *what, const char *why)
{
	fprintf(stderr, "store_bench: %s: %s\n", what, why);
	exit(1);
}

/* Rows per second writing all rows of one table in batches of b. */
static double write_all(struct store *s, const struct rows *r, int offers, size_t b,
			const char *run)
{
	long long t0 = timeutil_mono_ms(), ms;

	for (size_t at = 0; at < r->n; at += b) {
		size_t k = r->n - at < b ? r->n - at : b;
		enum error err =
		    offers ? store_write_batch(s, "bench", run, NULL, 0, r->offers + at, k)
			   : store_write_batch(s, "bench", run, r->items + at, k, NULL, 0);

		if (err)
			die("write_batch", store_errmsg(s));
	}
	ms = timeutil_mono_ms() - t0;
	return (double)r->n * 1000.0 / (double)(ms > 0 ? ms : 1);
}

static void pg_do(PGconn *c, const char *sql)
{
	PGresult *res = PQexec(c, sql);

	if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK)
		die(sql, PQerrorMessage(c));
	PQclear(res);
}

static void copy_field(struct buf *out, const char *v, int last)
{
	if (!v) {
		buf_adds(out, "\\N");
	} else {
		for (; *v; v++) {
			if (*v == '\\' || *v == '\t' || *v == '\n' || *v == '\r') {
				buf_addch(out, '\\');
				buf_addch(out, *v == '\t'   ? 't'
					       : *v == '\n' ? 'n'
					       : *v == '\r' ? 'r'
							    : '\\');
			} else {
				buf_addch(out, *v);
			}
		}
	}
	buf_addch(out, last ? '\n' : '\t');
}

static void copy_row(struct buf *out, const struct rows *r, int offers, size_t i)
{
	char q[24], a[24], s2[24], pc[24];
	const char *now = "2024-03-01 10:00:00+00";

	if (offers) {
		const struct offer_row *o = &r->offers[i];
		const char *v[] = {"bench",
				   o->offer_id,
				   o->sku,
				   o->marketplace_id,
				   o->format,
				   o->status,
				   o->listing_id,
				   o->listing_status,
				   o->price_value,
				   o->price_currency,
				   a,
				   s2,
				   o->category_id,
				   o->listing_start_date,
				   o->raw_payload,
				   "run",
				   now,
				   now};

		snprintf(a, sizeof(a), "%lld", o->available_quantity);
		snprintf(s2, sizeof(s2), "%lld", o->sold_quantity);
		for (size_t k = 0; k < sizeof(v) / sizeof(v[0]); k++)
			copy_field(out, v[k], k + 1 == sizeof(v) / sizeof(v[0]));
	} else {
		const struct item_row *it = &r->items[i];
		const char *v[] = {"bench",
				   it->sku,
				   it->title,
				   it->condition,
				   it->part_number,
				   it->model,
				   it->category,
				   it->price_value,
				   it->price_currency,
				   q,
				   it->ebay_listing_id,
				   it->ebay_status,
				   pc,
				   it->raw_payload,
				   "run",
				   now,
				   now};

		snprintf(q, sizeof(q), "%lld", it->quantity);
		snprintf(pc, sizeof(pc), "%d", it->photo_count);
		for (size_t k = 0; k < sizeof(v) / sizeof(v[0]); k++)
			copy_field(out, v[k], k + 1 == sizeof(v) / sizeof(v[0]));
	}
}

/* The ceiling: the same rows by plain COPY into an empty table like the
 * real one, one transaction per batch of b rows. */
static double copy_ceiling(PGconn *c, const struct rows *r, int offers, size_t b)
{
	const char *table = offers ? "bench_copy_offers" : "bench_copy_inventory";
	struct buf data = BUF_INIT;
	char sql[96];
	long long t0, ms;

	snprintf(sql, sizeof(sql), "TRUNCATE %s", table);
	pg_do(c, sql);
	snprintf(sql, sizeof(sql), "COPY %s FROM STDIN", table);
	t0 = timeutil_mono_ms();
	for (size_t at = 0; at < r->n; at += b) {
		size_t k = r->n - at < b ? r->n - at : b;
		PGresult *res;

		buf_reset(&data);
		pg_do(c, "BEGIN");
		res = PQexec(c, sql);
		if (PQresultStatus(res) != PGRES_COPY_IN)
			die(sql, PQerrorMessage(c));
		PQclear(res);
		for (size_t i = at; i < at + k; i++)
			copy_row(&data, r, offers, i);
		if (PQputCopyData(c, data.data, (int)data.len) != 1 || PQputCopyEnd(c, NULL) != 1)
			die("COPY", PQerrorMessage(c));
		res = PQgetResult(c);
		if (PQresultStatus(res) != PGRES_COMMAND_OK)
			die("COPY", PQerrorMessage(c));
		PQclear(res);
		while ((res = PQgetResult(c)))
			PQclear(res);
		pg_do(c, "COMMIT");
	}
	ms = timeutil_mono_ms() - t0;
	buf_release(&data);
	return (double)r->n * 1000.0 / (double)(ms > 0 ? ms : 1);
}

static struct store *open_store(const char *url)
{
	struct buf msg = BUF_INIT;
	struct store *s = NULL;

	if (store_open(url, &s, &msg))
		die(url, buf_str(&msg));
	buf_release(&msg);
	return s;
}

struct result {
	double insert, update;
};

static int repeat = 3;

/* One try: inserts into empty tables, then updates the same rows (new
 * prices). A SQLite try gets a fresh file (url-<try>.db). */
static struct result measure(const char *url, PGconn *admin, int mode, const struct rows *r0,
			     const struct rows *r1, int offers, size_t b, int try)
{
	char *path = NULL;
	struct result res;
	struct store *s;

	if (admin) {
		pg_do(admin, "TRUNCATE inventory, offers");
		pg_do(admin, "VACUUM ANALYZE inventory, offers");
	} else {
		path = xasprintf("%s-%d.db", url, try);
	}
	s = open_store(path ? path : url);
	free(path);
	store_pg_set_write_mode(s, (enum store_pg_write_mode)mode);
	res.insert = write_all(s, r0, offers, b, "run-1");
	res.update = write_all(s, r1, offers, b, "run-2");
	store_close(s);
	return res;
}

static void keep_best(struct result *best, struct result r)
{
	best->insert = r.insert > best->insert ? r.insert : best->insert;
	best->update = r.update > best->update ? r.update : best->update;
}

int main(int argc, char **argv)
{
	const char *pg = NULL, *dir = NULL, *only = NULL;
	size_t n = 20000, batches[MAX_BATCHES] = {200, 500}, nb = 2;
	struct rows r0, r1;
	PGconn *admin;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--pg") && i + 1 < argc) {
			pg = argv[++i];
		} else if (!strcmp(argv[i], "--sqlite-dir") && i + 1 < argc) {
			dir = argv[++i];
		} else if (!strcmp(argv[i], "--rows") && i + 1 < argc) {
			n = strtoul(argv[++i], NULL, 10);
		} else if (!strcmp(argv[i], "--table") && i + 1 < argc) {
			only = argv[++i];
		} else if (!strcmp(argv[i], "--repeat") && i + 1 < argc) {
			repeat = (int)strtol(argv[++i], NULL, 10);
		} else if (!strcmp(argv[i], "--batches") && i + 1 < argc) {
			char *p = argv[++i];

			for (nb = 0; *p && nb < MAX_BATCHES; nb++) {
				batches[nb] = strtoul(p, &p, 10);
				if (*p == ',')
					p++;
			}
		} else {
			fprintf(stderr,
				"usage: store_bench --pg URL --sqlite-dir DIR [--rows N] "
				"[--batches 200,500] [--repeat 3] [--table inventory|offers]\n");
			return 2;
		}
	}
	if (!pg || !dir || n == 0 || nb == 0 || repeat < 1) {
		fprintf(stderr, "store_bench: --pg, --sqlite-dir and a positive --rows are "
				"required\n");
		return 2;
	}
	rows_make(&r0, n, 0);
	rows_make(&r1, n, 1);
	admin = PQconnectdb(pg);
	if (PQstatus(admin) != CONNECTION_OK)
		die(pg, PQerrorMessage(admin));
	store_close(open_store(pg)); /* the schema */
	pg_do(admin, "SET client_min_messages = warning");
	pg_do(admin, "CREATE TABLE IF NOT EXISTS bench_copy_inventory (LIKE inventory "
		     "INCLUDING ALL)");
	pg_do(admin, "CREATE TABLE IF NOT EXISTS bench_copy_offers (LIKE offers INCLUDING ALL)");
	/* The columns copy_row writes: migration 0007's bookkeeping ones are
	 * filled by the store, not sent. */
	pg_do(admin, "ALTER TABLE bench_copy_inventory DROP COLUMN IF EXISTS removed_at, "
		     "DROP COLUMN IF EXISTS removed_run, DROP COLUMN IF EXISTS first_seen_run");
	pg_do(admin,
	      "ALTER TABLE bench_copy_offers DROP COLUMN IF EXISTS removed_at, "
	      "DROP COLUMN IF EXISTS removed_run, DROP COLUMN IF EXISTS auction_start_price");

	printf("%zu rows per measurement, best of %d, rows/s (higher is better); ceiling = "
	       "plain COPY of the same rows into an empty table like the real one, one "
	       "transaction per batch\n\n",
	       n, repeat);
	printf("| table     | batch | sqlite insert | sqlite update | pg VALUES insert | pg VALUES "
	       "update | pg COPY+merge insert | pg COPY+merge update | pg plain COPY (ceiling) "
	       "| VALUES insert/update vs ceiling |\n");
	printf("|-----------|------:|------:|------:|------:|------:|------:|------:|------:|"
	       "------|\n");
	for (int offers = 0; offers < 2; offers++) {
		if (only && strcmp(only, offers ? "offers" : "inventory"))
			continue;
		for (size_t k = 0; k < nb; k++) {
			char *path = xasprintf("%s/bench-%d-%zu", dir, offers, batches[k]);
			struct result lite = {0, 0}, val = {0, 0}, cpy = {0, 0};
			double ceil = 0;

			/* The methods take turns, so a busy spell of the machine
			 * hurts them alike; each keeps its best try. */
			for (int t = 0; t < repeat; t++) {
				double c;

				keep_best(&lite,
					  measure(path, NULL, 0, &r0, &r1, offers, batches[k], t));
				keep_best(&val, measure(pg, admin, STORE_PG_WRITE_VALUES, &r0, &r1,
							offers, batches[k], t));
				keep_best(&cpy, measure(pg, admin, STORE_PG_WRITE_COPY, &r0, &r1,
							offers, batches[k], t));
				c = copy_ceiling(admin, &r0, offers, batches[k]);
				ceil = c > ceil ? c : ceil;
			}
			printf(
			    "| %-9s | %5zu | %5.0f | %5.0f | %5.0f | %5.0f | %5.0f | %5.0f | %5.0f "
			    "| %3.0f%% / %3.0f%% |\n",
			    offers ? "offers" : "inventory", batches[k], lite.insert, lite.update,
			    val.insert, val.update, cpy.insert, cpy.update, ceil,
			    100.0 * val.insert / ceil, 100.0 * val.update / ceil);
			fflush(stdout);
			free(path);
		}
	}
	PQfinish(admin);
	rows_release(&r0);
	rows_release(&r1);
	return 0;
}
