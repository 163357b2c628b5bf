/*
 * exec_text of the PostgreSQL backend (see store.h): one statement with
 * text parameters, run as a unit (reconnecting once when the connection was
 * lost), its rows copied out as text.
 */
#include "pg.h"
#include "store_backend.h"

#include <stdlib.h>
#include <string.h>

#include "xalloc.h"
#include "banned.h"

struct text_ctx {
	const char *sql;
	int n;
	const char *const *values;
	struct store_rows *out;
};

static enum error text_unit(struct store *s, void *arg)
{
	struct text_ctx *c = arg;
	struct store_pg *p = s->priv;
	PGresult *r;
	ExecStatusType st;
	size_t i, col;

	store_rows_release(c->out);
	r = PQexecParams(p->conn, c->sql, c->n, NULL, c->values, NULL, NULL, 0);
	st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		enum error err = store_pg_fail(s, r, "cannot run a statement on api_keys/webhooks");

		PQclear(r);
		return err;
	}
	c->out->n_rows = (size_t)PQntuples(r);
	c->out->n_cols = (size_t)PQnfields(r);
	c->out->cells = xcalloc(c->out->n_rows * c->out->n_cols + 1, sizeof(char *));
	for (i = 0; i < c->out->n_rows; i++)
		for (col = 0; col < c->out->n_cols; col++) {
			const char *v = store_pg_get(r, (int)i, (int)col);
			c->out->cells[i * c->out->n_cols + col] = v ? xstrdup(v) : NULL;
		}
	c->out->changed = strtoll(PQcmdTuples(r), NULL, 10);
	PQclear(r);
	return ERR_OK;
}

enum error store_pg_exec_text(struct store *s, const char *sql, int n, const char *const *values,
			      struct store_rows *out)
{
	struct text_ctx c = {.sql = sql, .n = n, .values = values, .out = out};

	return store_pg_unit(s, STORE_PG_NO_TX, text_unit, &c);
}

struct tx_ctx {
	const struct store_stmt *stmts;
	size_t n;
	struct store_rows *outs;
};

static enum error tx_unit(struct store *s, void *arg)
{
	struct tx_ctx *c = arg;
	enum error err = ERR_OK;
	size_t i;

	for (i = 0; i < c->n && !err; i++) {
		struct text_ctx t = {.sql = c->stmts[i].sql,
				     .n = c->stmts[i].n,
				     .values = c->stmts[i].values,
				     .out = &c->outs[i]};
		err = text_unit(s, &t);
	}
	return err;
}

enum error store_pg_exec_text_tx(struct store *s, const struct store_stmt *stmts, size_t n,
				 struct store_rows *outs)
{
	struct tx_ctx c = {.stmts = stmts, .n = n, .outs = outs};
	enum error err = store_pg_unit(s, STORE_PG_TX, tx_unit, &c);

	if (err)
		for (size_t i = 0; i < n; i++)
			store_rows_release(&outs[i]);
	return err;
}
