/*
 * The store operations of the shared pacer (see store.h and pacers.h),
 * written once in SQL that SQLite and PostgreSQL both accept and run
 * through each backend's exec_text, as portable.c does: a process writes
 * its row and reads its peers' a few times a second, small statements on a
 * small table (one row per process), where one text for both backends is
 * worth more than prepared statements in each.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_backend.h"
#include "xalloc.h"
#include "banned.h"

#define PEER_COLS "scope, owner, heartbeat_ms, weight, demand, used, rate, wall, wall_seq, wall_ms"

void pacer_peer_row_release(struct pacer_peer_row *r)
{
	free(r->scope);
	free(r->owner);
	memset(r, 0, sizeof(*r));
}

static const char *cell(const struct store_rows *r, size_t i, size_t c)
{
	return r->cells[i * r->n_cols + c];
}

static long long num(const struct store_rows *r, size_t i, size_t c)
{
	const char *v = cell(r, i, c);

	return v ? strtoll(v, NULL, 10) : 0;
}

static double real(const struct store_rows *r, size_t i, size_t c)
{
	const char *v = cell(r, i, c);

	return v ? strtod(v, NULL) : 0;
}

enum error store_pacer_peer_put(struct store *s, const struct pacer_peer_row *r)
{
	char t[8][32];
	const char *v[10];
	struct store_rows out;
	enum error err;

	if (!r->scope || !*r->scope || !r->owner || !*r->owner)
		return store_fail(s, ERR_INVALID,
				  "cannot store a pacer peer without scope and owner");
	v[0] = r->scope;
	v[1] = r->owner;
	snprintf(t[0], sizeof(t[0]), "%lld", r->heartbeat_ms);
	snprintf(t[1], sizeof(t[1]), "%.3f", r->weight);
	snprintf(t[2], sizeof(t[2]), "%.3f", r->demand);
	snprintf(t[3], sizeof(t[3]), "%.3f", r->used);
	snprintf(t[4], sizeof(t[4]), "%.3f", r->rate);
	snprintf(t[5], sizeof(t[5]), "%.3f", r->wall);
	snprintf(t[6], sizeof(t[6]), "%lld", r->wall_seq);
	snprintf(t[7], sizeof(t[7]), "%lld", r->wall_ms);
	for (int i = 0; i < 8; i++)
		v[i + 2] = t[i];
	err = store_text_run(
	    s,
	    "INSERT INTO pacer_peers (" PEER_COLS ") "
	    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) "
	    "ON CONFLICT (scope, owner) DO UPDATE SET heartbeat_ms = excluded.heartbeat_ms, "
	    "weight = excluded.weight, demand = excluded.demand, used = excluded.used, "
	    "rate = excluded.rate, wall = excluded.wall, wall_seq = excluded.wall_seq, "
	    "wall_ms = excluded.wall_ms",
	    10, v, &out);
	store_rows_release(&out);
	return err;
}

enum error store_pacer_peers_list(struct store *s, const char *scope, struct pacer_peer_row **out,
				  size_t *n)
{
	const char *v[1] = {scope};
	struct pacer_peer_row *rows = NULL;
	struct store_rows r;
	enum error err;
	size_t i;

	*out = NULL;
	*n = 0;
	if (!scope || !*scope)
		return store_fail(s, ERR_INVALID, "cannot list pacer peers without a scope");
	err = store_text_run(s, "SELECT " PEER_COLS " FROM pacer_peers WHERE scope = $1", 1, v, &r);
	if (!err && r.n_rows > 0) {
		rows = xcalloc(r.n_rows, sizeof(*rows));
		for (i = 0; i < r.n_rows; i++) {
			rows[i].scope = xstrdup(cell(&r, i, 0) ? cell(&r, i, 0) : "");
			rows[i].owner = xstrdup(cell(&r, i, 1) ? cell(&r, i, 1) : "");
			rows[i].heartbeat_ms = num(&r, i, 2);
			rows[i].weight = real(&r, i, 3);
			rows[i].demand = real(&r, i, 4);
			rows[i].used = real(&r, i, 5);
			rows[i].rate = real(&r, i, 6);
			rows[i].wall = real(&r, i, 7);
			rows[i].wall_seq = num(&r, i, 8);
			rows[i].wall_ms = num(&r, i, 9);
		}
		*out = rows;
		*n = r.n_rows;
	}
	store_rows_release(&r);
	return err;
}

enum error store_pacer_peers_prune(struct store *s, const char *scope, long long before_ms,
				   long long *deleted)
{
	char before[24];
	const char *v[2] = {scope, before};
	struct store_rows r;
	enum error err;

	if (!scope || !*scope)
		return store_fail(s, ERR_INVALID, "cannot prune pacer peers without a scope");
	snprintf(before, sizeof(before), "%lld", before_ms);
	err = store_text_run(s, "DELETE FROM pacer_peers WHERE scope = $1 AND heartbeat_ms < $2", 2,
			     v, &r);
	if (!err && deleted)
		*deleted = r.changed;
	store_rows_release(&r);
	return err;
}
