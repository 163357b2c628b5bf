/*
 * The PostgreSQL backend's side of a run's SKU list (sync_run_skus, see
 * store.h): the SKUs of one inventory page are appended in one statement,
 * sent as one text array, so that a page costs one round trip whatever its
 * size. Each operation is one unit of store_pg_unit(), repeated whole after
 * a reconnection; an append repeated after its COMMIT reached the server
 * appends nothing (every SKU is there), which is why is_new is computed
 * from what the statement returns rather than assumed.
 */
#include "pg.h"
#include "store_backend.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"
#include "banned.h"

/* Positions follow the largest one; a SKU already in the list or repeated
 * within the array is not appended, the first occurrence is. */
#define ADD_SQL                                                                                    \
	"WITH u AS (SELECT sku, min(ord) AS ord FROM unnest($2::text[]) WITH ORDINALITY "          \
	"AS a(sku, ord) GROUP BY sku), "                                                           \
	"n AS (SELECT sku, ord FROM u WHERE NOT EXISTS (SELECT 1 FROM sync_run_skus t "            \
	"WHERE t.run_id = $1 AND t.sku_code = u.sku)), "                                           \
	"b AS (SELECT coalesce(max(pos) + 1, 0) AS base FROM sync_run_skus WHERE run_id = $1) "    \
	"INSERT INTO sync_run_skus (run_id, pos, sku_code) "                                       \
	"SELECT $1, b.base + row_number() OVER (ORDER BY n.ord) - 1, n.sku FROM n, b "             \
	"RETURNING pos, sku_code"

struct skus_ctx {
	const char *run_id;
	const char *const *skus;
	size_t n;
	unsigned char *is_new;
	long long count, from;
	long long *positions; /* find: one a SKU, -1 when absent */
	size_t limit;
	char **out;
	size_t n_out;
};

/* skus as a PostgreSQL array literal: {"a","b\"c"} (malloc'd). */
static char *array_literal(const char *const *skus, size_t n)
{
	struct buf b = BUF_INIT;

	buf_addch(&b, '{');
	for (size_t i = 0; i < n; i++) {
		buf_adds(&b, i ? ",\"" : "\"");
		for (const char *p = skus[i]; *p; p++) {
			if (*p == '"' || *p == '\\')
				buf_addch(&b, '\\');
			buf_addch(&b, *p);
		}
		buf_addch(&b, '"');
	}
	buf_addch(&b, '}');
	return buf_detach(&b, NULL);
}

static enum error add_unit(struct store *s, void *arg)
{
	struct skus_ctx *c = arg;
	char *arr = array_literal(c->skus, c->n);
	const char *v[2] = {c->run_id, arr};
	char context[200];
	PGresult *r;
	long long end = -1;
	int i;

	snprintf(context, sizeof(context), "cannot add SKUs to the list of run '%s'", c->run_id);
	r = store_pg_exec(s, NULL, ADD_SQL, 2, v, PGRES_TUPLES_OK, context);
	free(arr);
	if (!r)
		return store_pg_err(s);
	if (c->is_new)
		memset(c->is_new, 0, c->n);
	for (i = 0; i < PQntuples(r); i++) {
		const char *sku = PQgetvalue(r, i, 1);
		long long pos = store_pg_get_ll(r, i, 0);

		if (pos > end)
			end = pos;
		for (size_t k = 0; c->is_new && k < c->n; k++)
			if (!strcmp(c->skus[k], sku)) { /* its first occurrence */
				c->is_new[k] = 1;
				break;
			}
	}
	PQclear(r);
	c->count = end + 1;
	if (end < 0) { /* nothing appended: the length is what it was */
		snprintf(context, sizeof(context), "cannot read the SKU list of run '%s'",
			 c->run_id);
		r = store_pg_exec(s, NULL,
				  "SELECT coalesce(max(pos) + 1, 0) FROM sync_run_skus WHERE "
				  "run_id = $1",
				  1, v, PGRES_TUPLES_OK, context);
		if (!r)
			return store_pg_err(s);
		c->count = store_pg_get_ll(r, 0, 0);
		PQclear(r);
	}
	return ERR_OK;
}

enum error store_pg_skus_add(struct store *s, const char *run_id, const char *const *skus, size_t n,
			     unsigned char *is_new, long long *count)
{
	struct skus_ctx c = {.run_id = run_id, .skus = skus, .n = n, .is_new = is_new};
	enum error err;

	if (n == 0 && !count)
		return ERR_OK;
	err = store_pg_unit(s, STORE_PG_TX, add_unit, &c);
	if (!err && count)
		*count = c.count;
	return err;
}

static enum error range_unit(struct store *s, void *arg)
{
	struct skus_ctx *c = arg;
	char from[32], limit[32], context[200];
	const char *v[3] = {c->run_id, from, limit};
	PGresult *r;
	int i;

	snprintf(from, sizeof(from), "%lld", c->from);
	snprintf(limit, sizeof(limit), "%zu", c->limit);
	snprintf(context, sizeof(context), "cannot read the SKU list of run '%s'", c->run_id);
	r = store_pg_exec(s, NULL,
			  "SELECT sku_code FROM sync_run_skus WHERE run_id = $1 AND pos >= $2 "
			  "ORDER BY pos LIMIT $3",
			  3, v, PGRES_TUPLES_OK, context);
	if (!r)
		return store_pg_err(s);
	c->out = xcalloc((size_t)PQntuples(r) + 1, sizeof(*c->out));
	for (i = 0; i < PQntuples(r); i++)
		c->out[i] = xstrdup(PQgetvalue(r, i, 0));
	c->n_out = (size_t)PQntuples(r);
	PQclear(r);
	return ERR_OK;
}

enum error store_pg_skus_range(struct store *s, const char *run_id, long long from, size_t limit,
			       char ***skus, size_t *n)
{
	struct skus_ctx c = {.run_id = run_id, .from = from, .limit = limit};
	enum error err = store_pg_unit(s, STORE_PG_NO_TX, range_unit, &c);

	if (err) {
		for (size_t i = 0; c.out && i < c.n_out; i++)
			free(c.out[i]);
		free(c.out);
		return err;
	}
	*skus = c.out;
	*n = c.n_out;
	return ERR_OK;
}

static enum error find_unit(struct store *s, void *arg)
{
	struct skus_ctx *c = arg;
	char *list = array_literal(c->skus, c->n);
	const char *v[2] = {c->run_id, list};
	char context[200];
	json_t *at = json_object();
	PGresult *r;
	int i;

	snprintf(context, sizeof(context), "cannot read the SKU list of run '%s'", c->run_id);
	r = store_pg_exec(s, NULL,
			  "SELECT sku_code, pos FROM sync_run_skus WHERE run_id = $1 "
			  "AND sku_code = ANY($2::text[])",
			  2, v, PGRES_TUPLES_OK, context);
	free(list);
	if (!r) {
		json_decref(at);
		return store_pg_err(s);
	}
	for (i = 0; i < PQntuples(r); i++)
		json_object_set_new(at, PQgetvalue(r, i, 0),
				    json_integer(store_pg_get_ll(r, i, 1)));
	PQclear(r);
	for (size_t k = 0; k < c->n; k++) {
		json_t *p = json_object_get(at, c->skus[k]);
		c->positions[k] = p ? json_integer_value(p) : -1;
	}
	json_decref(at);
	return ERR_OK;
}

enum error store_pg_skus_find(struct store *s, const char *run_id, const char *const *skus,
			      size_t n, long long *pos)
{
	struct skus_ctx c = {.run_id = run_id, .skus = skus, .n = n, .positions = pos};

	return store_pg_unit(s, STORE_PG_NO_TX, find_unit, &c);
}

static enum error clear_unit(struct store *s, void *arg)
{
	struct skus_ctx *c = arg;
	const char *v[1] = {c->run_id};

	if (c->run_id)
		return store_pg_cmd(s, "DELETE FROM sync_run_skus WHERE run_id = $1", 1, v,
				    "cannot drop a SKU list");
	return store_pg_cmd(s,
			    "DELETE FROM sync_run_skus WHERE run_id NOT IN "
			    "(SELECT id FROM sync_runs WHERE status IN ('running', 'queued'))",
			    0, NULL, "cannot drop the SKU lists of ended runs");
}

enum error store_pg_skus_clear(struct store *s, const char *run_id)
{
	struct skus_ctx c = {.run_id = run_id};

	return store_pg_unit(s, STORE_PG_NO_TX, clear_unit, &c);
}
