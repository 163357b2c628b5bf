/*
 * The PostgreSQL backend of the storage interface (store_backend.h), on
 * libpq: the production store, for many sellers, several workers or a large
 * catalog.
 *
 * This file holds the connection (open, session settings, reconnection with
 * backoff), the unit runner that makes every operation one transaction that
 * is repeated whole after a reconnect, the migrations (applied at open under
 * an advisory lock, so two processes starting at once are safe), and the
 * small operations: runs, events, failures, cursors and users, most of them
 * one statement run as a unit (query() and command()). The batched writes live in
 * store/pg_write.c and the listings in store/pg_query.c; see store/pg.h for
 * the failure model and docs/postgres.md for the operator's view.
 *
 * Same schema and same answers as store/sqlite.c: the tests in
 * tests/unit/test_store_{open,rows,list,runs,users}.c run on both.
 */
#include "pg.h"
#include "store_backend.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "migrate.h"
#include "timeutil.h"
#include "xalloc.h"

#include "banned.h"

/* ---- small helpers -------------------------------------------------------- */

/* Decimal text of numbers passed as parameters. */
struct nums {
	char v[8][24];
	int n;
};

static const char *num(struct nums *ns, long long x)
{
	if (ns->n >= 8)
		abort(); /* a bug in this file */
	snprintf(ns->v[ns->n], sizeof(ns->v[0]), "%lld", x);
	return ns->v[ns->n++];
}

/* NULL for "absent" (-1 quantities, 0 for unset times). */
static const char *num_or_null(struct nums *ns, long long x, long long absent)
{
	return x == absent ? NULL : num(ns, x);
}

const char *store_pg_get(const PGresult *r, int i, int c)
{
	return PQgetisnull(r, i, c) ? NULL : PQgetvalue(r, i, c);
}

long long store_pg_get_ll(const PGresult *r, int i, int c)
{
	const char *v = store_pg_get(r, i, c);

	return v ? strtoll(v, NULL, 10) : 0;
}

static char *dup_col(const PGresult *r, int i, int c)
{
	return xstrdup(store_pg_get(r, i, c));
}

/* The first line of a libpq message, without "ERROR:  " or trailing space. */
static void first_line(const char *msg, char *out, size_t size)
{
	size_t n;

	if (!msg || !*msg)
		msg = "no message from the server";
	n = strcspn(msg, "\n");
	while (n > 0 && (msg[n - 1] == ' ' || msg[n - 1] == '\r' || msg[n - 1] == '.'))
		n--;
	snprintf(out, size, "%.*s", (int)n, msg);
}

static void quiet_notices(void *arg, const char *message)
{
	(void)arg;
	(void)message; /* NOTICEs such as "already exists, skipping" are expected */
}

/* ---- errors ----------------------------------------------------------------- */

static int sqlstate_lost(const char *state)
{
	return !strncmp(state, "08", 2) || !strcmp(state, "57P01") || !strcmp(state, "57P02") ||
	       !strcmp(state, "57P03");
}

enum error store_pg_fail(struct store *s, const PGresult *r, const char *context)
{
	struct store_pg *p = s->priv;
	const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	const char *primary = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	const char *detail = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_DETAIL) : NULL;
	const char *constraint = r ? PQresultErrorField(r, PG_DIAG_CONSTRAINT_NAME) : NULL;
	char msg[320], det[160] = "";

	snprintf(p->sqlstate, sizeof(p->sqlstate), "%s", state ? state : "");
	snprintf(p->constraint, sizeof(p->constraint), "%s", constraint ? constraint : "");
	p->lost = PQstatus(p->conn) != CONNECTION_OK || (state && sqlstate_lost(state));
	if (primary)
		first_line(primary, msg, sizeof(msg));
	else if (r && PQresultErrorMessage(r)[0])
		first_line(PQresultErrorMessage(r), msg, sizeof(msg));
	else
		first_line(PQerrorMessage(p->conn), msg, sizeof(msg));
	if (detail)
		first_line(detail, det, sizeof(det));
	store_fail(s, ERR_DB, "%s: %s%s%s%s", context, msg, det[0] ? " (" : "", det,
		   det[0] ? ")" : "");
	if (p->lost || !state)
		p->last_err = ERR_DB;
	else if (!strcmp(state, "57014"))
		p->last_err = ERR_TIMEOUT;
	else
		p->last_err = !strcmp(state, "23505") ? ERR_CONFLICT : ERR_DB;
	return p->last_err;
}

enum error store_pg_err(const struct store *s)
{
	const struct store_pg *p = s->priv;

	return p->last_err ? p->last_err : ERR_DB;
}

PGresult *store_pg_exec(struct store *s, const char *name, const char *sql, int n,
			const char *const *values, ExecStatusType want, const char *context)
{
	struct store_pg *p = s->priv;
	PGresult *r;

	if (name)
		r = PQexecPrepared(p->conn, name, n, values, NULL, NULL, 0);
	else if (n > 0)
		r = PQexecParams(p->conn, sql, n, NULL, values, NULL, NULL, 0);
	else
		r = PQexec(p->conn, sql);
	if (r && PQresultStatus(r) == want) {
		p->sqlstate[0] = '\0';
		return r;
	}
	store_pg_fail(s, r, context);
	PQclear(r);
	return NULL;
}

enum error store_pg_cmd(struct store *s, const char *sql, int n, const char *const *values,
			const char *context)
{
	struct store_pg *p = s->priv;
	PGresult *r;
	ExecStatusType st;
	enum error err;

	r = n > 0 ? PQexecParams(p->conn, sql, n, NULL, values, NULL, NULL, 0)
		  : PQexec(p->conn, sql);
	st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
		p->sqlstate[0] = '\0';
		PQclear(r);
		return ERR_OK;
	}
	err = store_pg_fail(s, r, context);
	PQclear(r);
	return err;
}

/* ---- connection ------------------------------------------------------------ */

/* "host:port" of url for messages, from its parsed options (never the
 * password); the libpq defaults where url says nothing. */
static enum error describe_target(struct store *s, const char *url, char *out, size_t size)
{
	PQconninfoOption *opts, *o;
	const char *host = NULL, *port = NULL;
	char *why = NULL;

	opts = PQconninfoParse(url, &why);
	if (!opts) {
		char line[200];

		first_line(why, line, sizeof(line));
		PQfreemem(why);
		return store_fail(s, ERR_INVALID, "invalid PostgreSQL connection string: %s", line);
	}
	for (o = opts; o->keyword; o++) {
		if (!o->val || !*o->val)
			continue;
		if (!strcmp(o->keyword, "host"))
			host = o->val;
		else if (!strcmp(o->keyword, "hostaddr") && !host)
			host = o->val;
		else if (!strcmp(o->keyword, "port"))
			port = o->val;
	}
	if (!host)
		host = getenv("PGHOST") && *getenv("PGHOST") ? getenv("PGHOST") : "localhost";
	if (!port)
		port = getenv("PGPORT") && *getenv("PGPORT") ? getenv("PGPORT") : "5432";
	snprintf(out, size, "%s:%s", host, port);
	PQconninfoFree(opts);
	return ERR_OK;
}

/* Whether url sets statement_timeout itself (options=-c statement_timeout=...). */
static int url_sets_timeout(const char *url)
{
	PQconninfoOption *opts = PQconninfoParse(url, NULL), *o;
	int found = 0;

	for (o = opts; o && o->keyword; o++)
		if (!strcmp(o->keyword, "options") && o->val && strstr(o->val, "statement_timeout"))
			found = 1;
	PQconninfoFree(opts);
	return found;
}

static PGconn *connect_once(const struct store_pg *p)
{
	/* The url's own connect_timeout wins over ours: later keywords
	 * override earlier ones, and dbname expands to the whole url. */
	const char *const keys[] = {"connect_timeout", "dbname", "fallback_application_name", NULL};
	const char *const vals[] = {"10", p->url, "ebaysync", NULL};

	return PQconnectdbParams(keys, vals, 1);
}

/* Settings of every new session; the prepared statements and staging
 * tables of an older connection are gone. */
static enum error setup_session(struct store *s)
{
	struct store_pg *p = s->priv;
	char sql[96];

	PQsetNoticeProcessor(p->conn, quiet_notices, NULL);
	memset(p->stmts, 0, sizeof(p->stmts));
	p->staged = 0;
	if (url_sets_timeout(p->url))
		return ERR_OK;
	snprintf(sql, sizeof(sql), "SET statement_timeout = %d", STORE_PG_STATEMENT_TIMEOUT_MS);
	return store_pg_cmd(s, sql, 0, NULL, "cannot set statement_timeout");
}

/* Connects, trying again with backoff (100 ms doubling, at most 5 s
 * apart) until the reconnect budget is spent. */
static enum error reconnect(struct store *s)
{
	struct store_pg *p = s->priv;
	long long start = timeutil_mono_ms(), delay = 100, elapsed;
	char last[256] = "";

	PQfinish(p->conn);
	p->conn = NULL;
	for (;;) {
		p->conn = connect_once(p);
		if (PQstatus(p->conn) == CONNECTION_OK) {
			if (setup_session(s) == ERR_OK)
				return ERR_OK;
			snprintf(last, sizeof(last), "%s", store_errmsg(s));
		} else {
			first_line(PQerrorMessage(p->conn), last, sizeof(last));
		}
		PQfinish(p->conn);
		p->conn = NULL;
		elapsed = timeutil_mono_ms() - start;
		if (elapsed >= p->reconnect_ms)
			break;
		timeutil_sleep_ms(delay < p->reconnect_ms - elapsed ? delay
								    : p->reconnect_ms - elapsed);
		delay = delay * 2 < 5000 ? delay * 2 : 5000;
	}
	return store_fail(s, ERR_DB, "cannot reach PostgreSQL at %s after %lld s: %s", p->where,
			  (elapsed + 500) / 1000, last);
}

enum error store_pg_unit(struct store *s, int tx, store_pg_unit_fn fn, void *ctx)
{
	struct store_pg *p = s->priv;
	enum error err;
	int attempt;

	for (attempt = 0; attempt < 2; attempt++) {
		p->lost = 0;
		p->retrying = attempt > 0;
		if (!p->conn || PQstatus(p->conn) != CONNECTION_OK) {
			err = reconnect(s);
			if (err)
				return err;
		}
		err = tx ? store_pg_cmd(s,
					tx == STORE_PG_SNAPSHOT
					    ? "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
					    : "BEGIN",
					0, NULL, "cannot begin a transaction")
			 : ERR_OK;
		if (!err)
			err = fn(s, ctx);
		if (!err && tx)
			err = store_pg_cmd(s, "COMMIT", 0, NULL, "cannot commit");
		if (!err) {
			p->retrying = 0;
			return ERR_OK;
		}
		if (!p->lost) {
			if (tx && PQtransactionStatus(p->conn) != PQTRANS_IDLE) {
				PGresult *r = PQexec(p->conn, "ROLLBACK");
				PQclear(r); /* the first error is the one to report */
			}
			p->retrying = 0;
			return err;
		}
		/* Lost: the transaction died with the connection; reconnect
		 * (at the top) and run the whole unit once more. */
		PQfinish(p->conn);
		p->conn = NULL;
	}
	p->retrying = 0;
	{
		char first[sizeof(s->errmsg)];

		snprintf(first, sizeof(first), "%s", store_errmsg(s));
		return store_fail(s, ERR_DB,
				  "%s (the connection to PostgreSQL at %s was lost again "
				  "after reconnecting)",
				  first, p->where);
	}
}

const char *store_pg_prepare(struct store *s, int kind, int rows,
			     void (*sql_fn)(struct buf *sql, int kind, int rows), int nparams,
			     const char *context)
{
	struct store_pg *p = s->priv;
	struct store_pg_stmt *slot = NULL, *st;
	struct buf sql = BUF_INIT;
	PGresult *r;
	int i;

	p->tick++;
	for (i = 0; i < STORE_PG_STMT_CACHE; i++) {
		st = &p->stmts[i];
		if (st->kind == kind && st->rows == rows) {
			st->used = p->tick;
			return st->name;
		}
		if (!slot || !st->kind || (slot->kind && st->used < slot->used))
			slot = st;
	}
	if (slot->kind) {
		char drop[64];

		snprintf(drop, sizeof(drop), "DEALLOCATE %s", slot->name);
		if (store_pg_cmd(s, drop, 0, NULL, context))
			return NULL;
		slot->kind = 0;
	}
	sql_fn(&sql, kind, rows);
	snprintf(slot->name, sizeof(slot->name), "es_k%d_r%d", kind, rows);
	r = PQprepare(p->conn, slot->name, buf_str(&sql), nparams, NULL);
	buf_release(&sql);
	if (!r || PQresultStatus(r) != PGRES_COMMAND_OK) {
		store_pg_fail(s, r, context);
		PQclear(r);
		return NULL;
	}
	PQclear(r);
	slot->kind = kind;
	slot->rows = rows;
	slot->used = p->tick;
	return slot->name;
}

/* ---- migrations ------------------------------------------------------------- */

struct migrate_ctx {
	struct migrate_file *files;
	size_t n;
};

static enum error migrate_unit(struct store *s, void *arg)
{
	struct store_pg *p = s->priv;
	struct migrate_ctx *m = arg;
	struct nums ns = {0};
	const char *v[1];
	PGresult *r;
	enum error err;
	long long top;
	size_t i;
	int j;

	/* Held until COMMIT: a second process waits here, then finds the
	 * versions the first one recorded. */
	v[0] = num(&ns, STORE_PG_MIGRATE_LOCK);
	err = store_pg_cmd(s, "SELECT pg_advisory_xact_lock($1::bigint)", 1, v,
			   "cannot take the migration lock");
	if (!err)
		err = store_pg_cmd(s,
				   "CREATE TABLE IF NOT EXISTS schema_migrations ("
				   "version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL)",
				   0, NULL, "cannot create schema_migrations");
	if (err)
		return err;
	r = store_pg_exec(s, NULL, "SELECT version FROM schema_migrations ORDER BY version", 0,
			  NULL, PGRES_TUPLES_OK, "cannot read schema_migrations");
	if (!r)
		return store_pg_err(s);
	top = PQntuples(r) ? store_pg_get_ll(r, PQntuples(r) - 1, 0) : 0;
	if (top > m->files[m->n - 1].version) {
		PQclear(r);
		return store_fail(s, ERR_DB,
				  "database at %s has schema version %lld, newer than this "
				  "program's %d: use a newer ebaysync",
				  p->where, top, m->files[m->n - 1].version);
	}
	for (i = 0; i < m->n && !err; i++) {
		char context[200];
		int done = 0;

		for (j = 0; j < PQntuples(r); j++)
			if (store_pg_get_ll(r, j, 0) == m->files[i].version)
				done = 1;
		if (done)
			continue;
		snprintf(context, sizeof(context), "cannot apply migration %s", m->files[i].name);
		err = store_pg_cmd(s, m->files[i].sql, 0, NULL, context);
		ns.n = 0;
		v[0] = num(&ns, m->files[i].version);
		if (!err)
			err = store_pg_cmd(s,
					   "INSERT INTO schema_migrations (version, applied_at) "
					   "VALUES ($1, now())",
					   1, v, "cannot record a migration in schema_migrations");
	}
	PQclear(r);
	return err;
}

static enum error migrate(struct store *s)
{
	struct migrate_ctx m = {0};
	struct buf why = BUF_INIT;
	enum error err;

	err = migrate_list("pg", &m.files, &m.n, &why);
	if (err)
		err = store_fail(s, err, "cannot migrate: %s", buf_str(&why));
	else
		err = store_pg_unit(s, STORE_PG_TX, migrate_unit, &m);
	free(m.files);
	buf_release(&why);
	return err;
}

/* ---- open and close ---------------------------------------------------------- */

static void pg_close(struct store *s)
{
	struct store_pg *p = s->priv;

	if (!p)
		return;
	PQfinish(p->conn);
	free(p->url);
	free(p);
	s->priv = NULL;
}

/* STORE_PG_RECONNECT_MS, or EBAYSYNC_PG_RECONNECT_S seconds when set. */
static enum error reconnect_budget(struct store *s, long long *ms)
{
	const char *env = getenv("EBAYSYNC_PG_RECONNECT_S");
	char *end;
	long v;

	*ms = STORE_PG_RECONNECT_MS;
	if (!env || !*env)
		return ERR_OK;
	v = strtol(env, &end, 10);
	if (*end || v < 0 || v > 3600)
		return store_fail(s, ERR_INVALID,
				  "EBAYSYNC_PG_RECONNECT_S is '%.32s': give whole seconds from 0 "
				  "to 3600",
				  env);
	*ms = v * 1000LL;
	return ERR_OK;
}

static enum error pg_open(struct store *s, const char *url)
{
	struct store_pg *p = xcalloc(1, sizeof(*p));
	enum error err;
	char line[256];

	s->priv = p;
	p->url = xstrdup(url);
	p->mode = STORE_PG_WRITE_VALUES;
	err = reconnect_budget(s, &p->reconnect_ms);
	if (!err)
		err = describe_target(s, url, p->where, sizeof(p->where));
	if (err)
		goto out;
	p->conn = connect_once(p);
	if (PQstatus(p->conn) != CONNECTION_OK) {
		first_line(PQerrorMessage(p->conn), line, sizeof(line));
		err =
		    store_fail(s, ERR_DB, "cannot connect to PostgreSQL at %s: %s", p->where, line);
		goto out;
	}
	err = setup_session(s);
	if (!err)
		err = migrate(s);
out:
	if (err) {
		char msg[sizeof(s->errmsg)];

		snprintf(msg, sizeof(msg), "%s", store_errmsg(s));
		pg_close(s);
		store_fail(s, err, "%s", msg);
	}
	return err;
}

PGconn *store_pg_conn(struct store *s)
{
	return s && s->ops == &store_pg_ops ? ((struct store_pg *)s->priv)->conn : NULL;
}

void store_pg_set_reconnect_ms(struct store *s, long long ms)
{
	if (s && s->ops == &store_pg_ops)
		((struct store_pg *)s->priv)->reconnect_ms = ms;
}

void store_pg_set_write_mode(struct store *s, enum store_pg_write_mode mode)
{
	if (s && s->ops == &store_pg_ops)
		((struct store_pg *)s->priv)->mode = mode;
}

/* ---- one statement as a unit ---------------------------------------------- */

/*
 * Most operations are one statement: its text and parameters, the context
 * of its error message, and, for a query, what to do with the rows.
 * query() and command() run it as a unit (store_pg_unit), so that it is
 * repeated whole after a reconnect: a query alone, a command in a
 * transaction.
 */
struct stmt {
	const char *sql;
	int n;
	const char *const *values;
	const char *context;
	/* A query's reader, called once with the rows of a statement that
	 * succeeded (none, perhaps); NULL for a command. */
	void (*read)(const PGresult *r, void *out);
	void *out;
	long long rows; /* what the query returned, or the command changed */
};

static enum error stmt_unit(struct store *s, void *arg)
{
	struct stmt *st = arg;
	PGresult *r;

	r = store_pg_exec(s, NULL, st->sql, st->n, st->values,
			  st->read ? PGRES_TUPLES_OK : PGRES_COMMAND_OK, st->context);
	if (!r)
		return store_pg_err(s);
	if (st->read) {
		st->rows = PQntuples(r);
		st->read(r, st->out);
	} else {
		st->rows = strtoll(PQcmdTuples(r), NULL, 10);
	}
	PQclear(r);
	return ERR_OK;
}

/* Runs a query alone, passing its rows to read(out); *rows (if given) is how
 * many it returned. */
static enum error query(struct store *s, const char *sql, int n, const char *const *values,
			const char *context, void (*read)(const PGresult *r, void *out), void *out,
			long long *rows)
{
	struct stmt st = {sql, n, values, context, read, out, 0};
	enum error err = store_pg_unit(s, STORE_PG_NO_TX, stmt_unit, &st);

	if (rows)
		*rows = st.rows;
	return err;
}

/* Runs a command in a transaction; *changed (if given) is how many rows it
 * changed. */
static enum error command(struct store *s, const char *sql, int n, const char *const *values,
			  const char *context, long long *changed)
{
	struct stmt st = {sql, n, values, context, NULL, NULL, 0};
	enum error err = store_pg_unit(s, STORE_PG_TX, stmt_unit, &st);

	if (changed)
		*changed = st.rows;
	return err;
}

/* The first column of the first row, or NULL (into a char *). */
static void read_first(const PGresult *r, void *out)
{
	*(char **)out = PQntuples(r) ? dup_col(r, 0, 0) : NULL;
}

/* ---- runs -------------------------------------------------------------------- */

#define RUN_COLS                                                                                   \
	"id, user_id, kind, status, fetched, stored, failed, total, started_ms, "                  \
	"coalesce(finished_ms, 0), heartbeat_ms, stop_requested, error, owner, error_code"

static void run_from(const PGresult *r, int i, struct run_row *out)
{
	memset(out, 0, sizeof(*out));
	out->id = dup_col(r, i, 0);
	out->user_id = dup_col(r, i, 1);
	out->kind = dup_col(r, i, 2);
	out->status = dup_col(r, i, 3);
	out->fetched = store_pg_get_ll(r, i, 4);
	out->stored = store_pg_get_ll(r, i, 5);
	out->failed = store_pg_get_ll(r, i, 6);
	out->total = store_pg_get_ll(r, i, 7);
	out->started_ms = store_pg_get_ll(r, i, 8);
	out->finished_ms = store_pg_get_ll(r, i, 9);
	out->heartbeat_ms = store_pg_get_ll(r, i, 10);
	out->stop_requested = store_pg_get_ll(r, i, 11) != 0;
	out->error = dup_col(r, i, 12);
	out->owner = dup_col(r, i, 13);
	out->error_code = dup_col(r, i, 14);
}

struct run_ctx {
	const char *user_id;
	const struct run_row *in;
	long long limit, offset, count;
	struct run_row *rows;
	size_t n;
	int one_running; /* run_insert broke the one-running-run index: 1, 2 on a repeat */
};

static enum error run_insert_unit(struct store *s, void *arg)
{
	struct store_pg *p = s->priv;
	struct run_ctx *c = arg;
	const struct run_row *r = c->in;
	struct nums ns = {0};
	char context[200];
	const char *v[15];
	enum error err;

	v[0] = r->id;
	v[1] = r->user_id;
	v[2] = r->kind;
	v[3] = r->status;
	v[4] = num(&ns, r->fetched);
	v[5] = num(&ns, r->stored);
	v[6] = num(&ns, r->failed);
	v[7] = num(&ns, r->total);
	v[8] = num(&ns, r->started_ms);
	v[9] = num_or_null(&ns, r->finished_ms, 0);
	v[10] = num(&ns, r->heartbeat_ms ? r->heartbeat_ms : r->started_ms);
	v[11] = r->stop_requested ? "1" : "0";
	v[12] = r->error;
	v[13] = r->owner;
	v[14] = r->error_code;
	snprintf(context, sizeof(context), "cannot insert run '%s' into sync_runs", r->id);
	err = store_pg_cmd(s,
			   "INSERT INTO sync_runs (id, user_id, kind, status, fetched, stored, "
			   "failed, total, started_ms, finished_ms, heartbeat_ms, stop_requested, "
			   "error, owner, error_code) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, "
			   "$10, $11, $12, $13, $14, $15)",
			   15, v, context);
	if (err && !strcmp(p->sqlstate, "23505")) {
		/* Another run of this kind is running for the user (the index of
		 * migration 0003): pg_run_insert names it, after this unit. */
		if (!strcmp(p->constraint, "sync_runs_one_running")) {
			c->one_running = 1 + p->retrying;
			return ERR_CONFLICT;
		}
		/* A repeat after a reconnect finds the row its first try
		 * committed: that is success. Otherwise the id is taken. */
		if (p->retrying)
			return ERR_OK;
		return store_fail(s, ERR_CONFLICT, "run '%s' already exists in sync_runs", r->id);
	}
	return err;
}

static enum error pg_run_insert(struct store *s, const struct run_row *r)
{
	struct run_ctx c = {.in = r};
	const char *v[2] = {r->user_id, r->kind};
	char *running = NULL;
	enum error err;

	err = store_pg_unit(s, STORE_PG_TX, run_insert_unit, &c);
	if (err != ERR_CONFLICT || !c.one_running)
		return err;
	/* The running one may have ended since; and on a repeat after a
	 * reconnect it may be this very run, whose first try committed. */
	if (query(s,
		  "SELECT id FROM sync_runs WHERE user_id = $1 AND kind = $2 "
		  "AND status IN ('running', 'queued')",
		  2, v, "cannot look up the running run in sync_runs", read_first, &running, NULL))
		running = NULL;
	if (c.one_running == 2 && running && !strcmp(running, r->id))
		err = ERR_OK;
	else
		err = store_run_conflict(s, r, running);
	free(running);
	return err;
}

static enum error run_update_unit(struct store *s, void *arg)
{
	struct run_ctx *c = arg;
	const struct run_row *r = c->in;
	struct nums ns = {0};
	char context[200];
	const char *v[10];
	PGresult *res;
	int changed;

	v[0] = r->id;
	v[1] = r->status;
	v[2] = num(&ns, r->fetched);
	v[3] = num(&ns, r->stored);
	v[4] = num(&ns, r->failed);
	v[5] = num(&ns, r->total);
	v[6] = num(&ns, r->heartbeat_ms);
	v[7] = num_or_null(&ns, r->finished_ms, 0);
	v[8] = r->error;
	v[9] = r->error_code;
	snprintf(context, sizeof(context), "cannot update run '%s' in sync_runs", r->id);
	res = store_pg_exec(s, NULL,
			    "UPDATE sync_runs SET status = $2, fetched = $3, stored = $4, "
			    "failed = $5, total = $6, heartbeat_ms = $7, finished_ms = $8, "
			    "error = $9, error_code = $10 WHERE id = $1",
			    10, v, PGRES_COMMAND_OK, context);
	if (!res)
		return store_pg_err(s);
	changed = strcmp(PQcmdTuples(res), "0") != 0;
	PQclear(res);
	if (!changed)
		return store_fail(s, ERR_NOTFOUND, "cannot update run '%s': no such run", r->id);
	return ERR_OK;
}

static enum error pg_run_update(struct store *s, const struct run_row *r)
{
	struct run_ctx c = {.in = r};

	return store_pg_unit(s, STORE_PG_TX, run_update_unit, &c);
}

static void read_run(const PGresult *r, void *out)
{
	if (PQntuples(r))
		run_from(r, 0, out);
}

static enum error pg_run_get(struct store *s, const char *user_id, const char *run_id,
			     struct run_row *out)
{
	const char *v[2] = {run_id, user_id};
	char context[200];
	long long rows;
	enum error err;

	memset(out, 0, sizeof(*out));
	snprintf(context, sizeof(context), "cannot read run '%s' from sync_runs", run_id);
	err = query(s,
		    "SELECT " RUN_COLS " FROM sync_runs WHERE id = $1 "
		    "AND ($2::text IS NULL OR user_id = $2)",
		    2, v, context, read_run, out, &rows);
	if (!err && rows == 0)
		err = store_fail(s, ERR_NOTFOUND, "no run '%s'%s%s%s", run_id,
				 user_id ? " for user '" : "", user_id ? user_id : "",
				 user_id ? "'" : "");
	return err;
}

/* Each row of (status, count) into the JSON object out. */
static void read_counts(const PGresult *r, void *out)
{
	int i;

	for (i = 0; i < PQntuples(r); i++)
		json_object_set_new(*(json_t **)out, PQgetvalue(r, i, 0),
				    json_integer(store_pg_get_ll(r, i, 1)));
}

static enum error pg_run_counts(struct store *s, json_t **out)
{
	enum error err;

	*out = json_object();
	err = query(s, "SELECT status, n FROM sync_run_counts WHERE n <> 0", 0, NULL,
		    "cannot read the run counts of sync_run_counts", read_counts, out, NULL);
	if (err) {
		json_decref(*out);
		*out = NULL;
	}
	return err;
}

static enum error run_list_unit(struct store *s, void *arg)
{
	struct run_ctx *c = arg;
	struct nums ns = {0};
	const char *v[3];
	PGresult *r;
	int i;

	v[0] = c->user_id;
	v[1] = c->limit > 0 ? num(&ns, c->limit) : NULL; /* LIMIT NULL: all */
	v[2] = num(&ns, c->offset > 0 ? c->offset : 0);
	r = store_pg_exec(s, NULL,
			  "SELECT count(*) FROM sync_runs WHERE $1::text IS NULL OR user_id = $1",
			  1, v, PGRES_TUPLES_OK, "cannot count the runs in sync_runs");
	if (!r)
		return store_pg_err(s);
	c->count = store_pg_get_ll(r, 0, 0);
	PQclear(r);
	r = store_pg_exec(s, NULL,
			  "SELECT " RUN_COLS
			  " FROM sync_runs WHERE $1::text IS NULL OR user_id = $1 "
			  "ORDER BY started_ms DESC, id DESC LIMIT $2::bigint OFFSET $3::bigint",
			  3, v, PGRES_TUPLES_OK, "cannot list the runs in sync_runs");
	if (!r)
		return store_pg_err(s);
	c->n = (size_t)PQntuples(r);
	c->rows = xcalloc(c->n ? c->n : 1, sizeof(*c->rows));
	for (i = 0; i < PQntuples(r); i++)
		run_from(r, i, &c->rows[i]);
	PQclear(r);
	return ERR_OK;
}

static enum error pg_run_list(struct store *s, const char *user_id, long long limit,
			      long long offset, struct run_row **out, size_t *n, long long *total)
{
	struct run_ctx c = {.user_id = user_id, .limit = limit, .offset = offset};
	enum error err;

	err = store_pg_unit(s, STORE_PG_SNAPSHOT, run_list_unit, &c);
	if (err) {
		for (size_t i = 0; i < c.n; i++)
			run_row_release(&c.rows[i]);
		free(c.rows);
		return err;
	}
	*out = c.rows;
	*n = c.n;
	if (total)
		*total = c.count;
	return ERR_OK;
}

static enum error pg_run_request_stop(struct store *s, const char *user_id, const char *run_id)
{
	const char *v[2] = {run_id, user_id};
	char context[200];
	long long rows;
	struct run_row r;
	enum error err;

	snprintf(context, sizeof(context), "cannot request a stop of run '%s' in sync_runs",
		 run_id);
	err = command(s,
		      "UPDATE sync_runs SET stop_requested = 1 WHERE id = $1 "
		      "AND ($2::text IS NULL OR user_id = $2) AND status IN ('running', 'queued')",
		      2, v, context, &rows);
	if (err || rows)
		return err;
	/* Nothing changed: say whether the run is missing or just not running. */
	err = pg_run_get(s, user_id, run_id, &r);
	if (!err)
		err = store_fail(s, ERR_CONFLICT, "cannot stop run '%s': it is %s, not running",
				 run_id, r.status);
	run_row_release(&r);
	return err;
}

static enum error pg_runs_interrupt_stale(struct store *s, const char *owner, long long stale_ms,
					  long long *count)
{
	long long now = timeutil_wall_ms();
	struct nums ns = {0};
	const char *v[3] = {owner, num(&ns, now),
			    num(&ns, stale_ms < 0      ? now
				     : stale_ms >= now ? LLONG_MIN
						       : now - stale_ms)};
	long long rows;
	enum error err = command(
	    s,
	    "UPDATE sync_runs SET status = 'interrupted', finished_ms = $2 "
	    "WHERE status = 'running' AND "
	    "(($1::text IS NOT NULL AND owner = $1) OR heartbeat_ms < $3::bigint) AND id NOT IN "
	    "(SELECT run_id FROM sync_jobs WHERE state IN ('queued', 'running'))",
	    3, v, "cannot mark stale runs interrupted in sync_runs", &rows);

	if (count)
		*count = err ? 0 : rows;
	return err;
}

/* ---- events ------------------------------------------------------------------- */

#define EVENTS_PER_STATEMENT 100
#define STMT_EVENTS	     100 /* kind in the prepared statement cache */

static void events_sql(struct buf *sql, int kind, int rows)
{
	(void)kind;
	buf_adds(sql, "INSERT INTO sync_events (run_id, seq, type, ts_ms, line, data) VALUES ");
	for (int i = 0; i < rows; i++)
		buf_addf(sql, "%s($1, $%d::bigint, $%d, $%d::bigint, $%d, $%d)", i ? ", " : "",
			 2 + 5 * i, 3 + 5 * i, 4 + 5 * i, 5 + 5 * i, 6 + 5 * i);
	buf_adds(sql, " ON CONFLICT (run_id, seq) DO NOTHING");
}

struct events_ctx {
	const char *run_id;
	const struct event_row *ev;
	size_t n;
};

static enum error events_append_unit(struct store *s, void *arg)
{
	struct events_ctx *c = arg;
	const char *v[1 + 5 * EVENTS_PER_STATEMENT];
	char nums[2 * EVENTS_PER_STATEMENT][24];
	size_t at, k, rows;
	char context[160];

	snprintf(context, sizeof(context), "cannot append events of run '%s' to sync_events",
		 c->run_id);
	for (at = 0; at < c->n; at += rows) {
		const char *name;
		PGresult *r;

		rows = c->n - at < EVENTS_PER_STATEMENT ? c->n - at : EVENTS_PER_STATEMENT;
		name = store_pg_prepare(s, STMT_EVENTS, (int)rows, events_sql, 1 + 5 * (int)rows,
					context);
		if (!name)
			return store_pg_err(s);
		v[0] = c->run_id;
		for (k = 0; k < rows; k++) {
			const struct event_row *e = &c->ev[at + k];

			snprintf(nums[2 * k], sizeof(nums[0]), "%lld", e->seq);
			snprintf(nums[2 * k + 1], sizeof(nums[0]), "%lld", e->ts_ms);
			v[1 + 5 * k] = nums[2 * k];
			v[2 + 5 * k] = e->type;
			v[3 + 5 * k] = nums[2 * k + 1];
			v[4 + 5 * k] = e->line ? e->line : "";
			v[5 + 5 * k] = e->data ? e->data : "{}";
		}
		r = store_pg_exec(s, name, NULL, 1 + 5 * (int)rows, v, PGRES_COMMAND_OK, context);
		if (!r)
			return store_pg_err(s);
		PQclear(r);
	}
	return ERR_OK;
}

static enum error pg_events_append(struct store *s, const char *run_id, const struct event_row *ev,
				   size_t n)
{
	struct events_ctx c = {.run_id = run_id, .ev = ev, .n = n};

	return store_pg_unit(s, STORE_PG_TX, events_append_unit, &c);
}

struct event_list {
	struct event_row *rows;
	size_t n;
};

static void read_events(const PGresult *r, void *out)
{
	struct event_list *l = out;
	int i;

	l->n = (size_t)PQntuples(r);
	l->rows = xcalloc(l->n ? l->n : 1, sizeof(*l->rows));
	for (i = 0; i < PQntuples(r); i++) {
		l->rows[i].seq = store_pg_get_ll(r, i, 0);
		l->rows[i].type = dup_col(r, i, 1);
		l->rows[i].ts_ms = store_pg_get_ll(r, i, 2);
		l->rows[i].line = dup_col(r, i, 3);
		l->rows[i].data = dup_col(r, i, 4);
	}
}

static enum error pg_events_list(struct store *s, const char *run_id, long long after_seq,
				 long long limit, struct event_row **out, size_t *n)
{
	struct nums ns = {0};
	const char *v[3] = {run_id, num(&ns, after_seq), limit > 0 ? num(&ns, limit) : NULL};
	struct event_list l = {0};
	char context[160];
	enum error err;

	snprintf(context, sizeof(context), "cannot read events of run '%s' from sync_events",
		 run_id);
	err = query(s,
		    "SELECT seq, type, ts_ms, line, data FROM sync_events "
		    "WHERE run_id = $1 AND seq > $2::bigint ORDER BY seq LIMIT $3::bigint",
		    3, v, context, read_events, &l, NULL);
	if (err)
		return err;
	*out = l.rows;
	*n = l.n;
	return ERR_OK;
}

/* ---- failures ------------------------------------------------------------------ */

static enum error pg_failure_add(struct store *s, const char *user_id, const char *kind,
				 const char *run_id, const char *sku, const char *error,
				 int attempts)
{
	struct nums ns = {0};
	const char *v[6] = {user_id, kind, sku, run_id, error ? error : "", num(&ns, attempts)};
	char context[200];

	snprintf(context, sizeof(context), "cannot record the failure of sku '%s' in sync_failures",
		 sku);
	return command(s,
		       "INSERT INTO sync_failures (user_id, kind, sku_code, run_id, error, "
		       "attempts, first_failed, last_failed) VALUES ($1, $2, $3, $4, $5, $6, "
		       "now(), now()) ON CONFLICT (user_id, kind, sku_code) DO UPDATE SET "
		       "run_id = excluded.run_id, error = excluded.error, "
		       "attempts = excluded.attempts, last_failed = excluded.last_failed",
		       6, v, context, NULL);
}

static enum error pg_failure_clear(struct store *s, const char *user_id, const char *kind,
				   const char *sku)
{
	const char *v[3] = {user_id, kind, sku};
	char context[200];

	snprintf(context, sizeof(context), "cannot clear the failure of sku '%s' in sync_failures",
		 sku);
	return command(s,
		       "DELETE FROM sync_failures WHERE user_id = $1 AND kind = $2 "
		       "AND sku_code = $3",
		       3, v, context, NULL);
}

struct sku_list {
	char **skus;
	size_t n;
};

static void read_skus(const PGresult *r, void *out)
{
	struct sku_list *l = out;
	int i;

	l->n = (size_t)PQntuples(r);
	l->skus = xcalloc(l->n ? l->n : 1, sizeof(*l->skus));
	for (i = 0; i < PQntuples(r); i++)
		l->skus[i] = dup_col(r, i, 0);
}

static enum error pg_failure_list(struct store *s, const char *user_id, const char *kind,
				  char ***skus, size_t *n)
{
	const char *v[2] = {user_id, kind};
	struct sku_list l = {0};
	enum error err;

	err = query(s,
		    "SELECT sku_code FROM sync_failures WHERE user_id = $1 AND kind = $2 "
		    "ORDER BY first_failed, sku_code",
		    2, v, "cannot list the failures in sync_failures", read_skus, &l, NULL);
	if (err)
		return err;
	*skus = l.skus;
	*n = l.n;
	return ERR_OK;
}

static void read_failures(const PGresult *r, void *out)
{
	json_t *arr = json_array();
	int i;

	for (i = 0; i < PQntuples(r); i++)
		json_array_append_new(arr, json_pack("{s:s, s:s, s:I}", "sku", PQgetvalue(r, i, 0),
						     "error", PQgetvalue(r, i, 1), "attempts",
						     (json_int_t)store_pg_get_ll(r, i, 2)));
	*(json_t **)out = arr;
}

static enum error pg_run_failures(struct store *s, const char *run_id, json_t **out)
{
	const char *v[1] = {run_id};
	char context[200];

	snprintf(context, sizeof(context),
		 "cannot read the failures of run '%s' from sync_failures", run_id);
	return query(s,
		     "SELECT sku_code, error, attempts FROM sync_failures WHERE run_id = $1 "
		     "ORDER BY sku_code COLLATE \"C\"",
		     1, v, context, read_failures, out, NULL);
}

/* ---- cursors --------------------------------------------------------------------- */

static enum error pg_cursor_get(struct store *s, const char *user_id, const char *name,
				char **value)
{
	const char *v[2] = {user_id, name};
	char context[200];
	long long rows;
	enum error err;

	snprintf(context, sizeof(context), "cannot read cursor '%s' from ebay_sync_cursors", name);
	err = query(s, "SELECT value FROM ebay_sync_cursors WHERE user_id = $1 AND name = $2", 2, v,
		    context, read_first, value, &rows);
	if (!err && rows == 0)
		err = store_fail(s, ERR_NOTFOUND, "no cursor '%s' for user '%s'", name, user_id);
	return err;
}

static enum error pg_cursor_set(struct store *s, const char *user_id, const char *name,
				const char *value)
{
	const char *v[3] = {user_id, name, value};
	char context[200];

	snprintf(context, sizeof(context), "cannot write cursor '%s' to ebay_sync_cursors", name);
	return command(s,
		       "INSERT INTO ebay_sync_cursors (user_id, name, value, updated) "
		       "VALUES ($1, $2, $3, now()) ON CONFLICT (user_id, name) DO UPDATE SET "
		       "value = excluded.value, updated = excluded.updated",
		       3, v, context, NULL);
}

/* ---- revoked tokens ---------------------------------------------------------------- */

struct token_ctx {
	const char *jti;
	char expires[32];
};

static enum error token_revoke_unit(struct store *s, void *arg)
{
	struct token_ctx *c = arg;
	const char *v[2] = {c->jti, c->expires};
	char now[32];
	const char *pv[1] = {now};
	enum error err;

	snprintf(now, sizeof(now), "%lld", timeutil_wall_ms());
	err = store_pg_cmd(s, "DELETE FROM revoked_tokens WHERE expires_ms < $1::bigint", 1, pv,
			   "cannot purge revoked_tokens");
	if (!err)
		err = store_pg_cmd(s,
				   "INSERT INTO revoked_tokens (jti, expires_ms) VALUES ($1, "
				   "$2::bigint) ON CONFLICT (jti) DO NOTHING",
				   2, v, "cannot insert into revoked_tokens");
	return err;
}

static enum error pg_token_revoke(struct store *s, const char *jti, long long expires_ms)
{
	struct token_ctx c = {.jti = jti};

	snprintf(c.expires, sizeof(c.expires), "%lld", expires_ms);
	return store_pg_unit(s, STORE_PG_TX, token_revoke_unit, &c);
}

static enum error token_revoked_unit(struct store *s, void *arg)
{
	struct token_ctx *c = arg;
	const char *v[1] = {c->jti};
	PGresult *r;
	int n;

	r = store_pg_exec(s, NULL, "SELECT 1 FROM revoked_tokens WHERE jti = $1", 1, v,
			  PGRES_TUPLES_OK, "cannot read revoked_tokens");
	if (!r)
		return store_pg_err(s);
	n = PQntuples(r);
	PQclear(r);
	return n ? ERR_OK : store_fail(s, ERR_NOTFOUND, "token '%s' is not revoked", c->jti);
}

static enum error pg_token_revoked(struct store *s, const char *jti)
{
	struct token_ctx c = {.jti = jti};

	return store_pg_unit(s, STORE_PG_NO_TX, token_revoked_unit, &c);
}

/* ---- users ------------------------------------------------------------------------- */

#define USER_COLS                                                                                  \
	"id, password_hash, ebay_token, ebay_refresh_token, "                                      \
	"coalesce(refresh_expires_ms, 0), created_ms, coalesce(ebay_token_expires_ms, 0)"

static void user_from(const PGresult *r, int i, struct user_row *u)
{
	memset(u, 0, sizeof(*u));
	u->id = dup_col(r, i, 0);
	u->password_hash = dup_col(r, i, 1);
	u->ebay_token = dup_col(r, i, 2);
	u->ebay_refresh_token = dup_col(r, i, 3);
	u->refresh_expires_ms = store_pg_get_ll(r, i, 4);
	u->created_ms = store_pg_get_ll(r, i, 5);
	u->ebay_token_expires_ms = store_pg_get_ll(r, i, 6);
}

static enum error pg_user_put(struct store *s, const struct user_row *u)
{
	struct nums ns = {0};
	const char *v[7] = {u->id,
			    u->password_hash,
			    u->ebay_token,
			    u->ebay_refresh_token,
			    num_or_null(&ns, u->refresh_expires_ms, 0),
			    num(&ns, u->created_ms ? u->created_ms : timeutil_wall_ms()),
			    num_or_null(&ns, u->ebay_token_expires_ms, 0)};
	char context[200];

	snprintf(context, sizeof(context), "cannot write user '%s' to users", u->id);
	return command(s,
		       "INSERT INTO users (id, password_hash, ebay_token, ebay_refresh_token, "
		       "refresh_expires_ms, created_ms, ebay_token_expires_ms) "
		       "VALUES ($1, $2, $3, $4, $5, $6, $7) "
		       "ON CONFLICT (id) DO UPDATE SET password_hash = excluded.password_hash, "
		       "ebay_token = excluded.ebay_token, "
		       "ebay_token_expires_ms = excluded.ebay_token_expires_ms, "
		       "ebay_refresh_token = excluded.ebay_refresh_token, "
		       "refresh_expires_ms = excluded.refresh_expires_ms",
		       7, v, context, NULL);
}

static void read_user(const PGresult *r, void *out)
{
	if (PQntuples(r))
		user_from(r, 0, out);
}

static enum error pg_user_get(struct store *s, const char *id, struct user_row *out)
{
	const char *v[1] = {id};
	char context[200];
	long long rows;
	enum error err;

	snprintf(context, sizeof(context), "cannot read user '%s' from users", id);
	err = query(s, "SELECT " USER_COLS " FROM users WHERE id = $1", 1, v, context, read_user,
		    out, &rows);
	if (!err && rows == 0)
		err = store_fail(s, ERR_NOTFOUND, "no user '%s'", id);
	return err;
}

struct user_list {
	struct user_row *rows;
	size_t n;
};

static void read_users(const PGresult *r, void *out)
{
	struct user_list *l = out;
	int i;

	l->n = (size_t)PQntuples(r);
	l->rows = xcalloc(l->n ? l->n : 1, sizeof(*l->rows));
	for (i = 0; i < PQntuples(r); i++)
		user_from(r, i, &l->rows[i]);
}

static enum error pg_user_list(struct store *s, struct user_row **out, size_t *n)
{
	struct user_list l = {0};
	enum error err;

	err = query(s, "SELECT " USER_COLS " FROM users ORDER BY id", 0, NULL,
		    "cannot list the users in users", read_users, &l, NULL);
	if (err)
		return err;
	*out = l.rows;
	*n = l.n;
	return ERR_OK;
}

/* ---- the operations table ------------------------------------------------------------ */

/* ---- refresh ---------------------------------------------------------------- */

/* $2 is a JSON array of SKUs (store_sku_array). */
#define IN_SKUS "IN (SELECT jsonb_array_elements_text($2::jsonb))"

struct stored_items {
	struct stored_item *rows;
	size_t n;
};

static void read_stored_items(const PGresult *r, void *out)
{
	struct stored_items *l = out;
	int i, n = PQntuples(r);

	l->rows = xcalloc(n ? (size_t)n : 1, sizeof(*l->rows));
	for (i = 0; i < n; i++) {
		struct stored_item *it = &l->rows[l->n++];
		it->sku = dup_col(r, i, 0);
		it->raw_payload = dup_col(r, i, 1);
		it->ebay_status = dup_col(r, i, 2);
		it->live_offers = store_pg_get_ll(r, i, 3);
	}
}

static enum error pg_items_by_sku(struct store *s, const char *user_id, const char *const *skus,
				  size_t n, struct stored_item **out, size_t *n_out)
{
	char *list = store_sku_array(skus, n);
	const char *v[2] = {user_id, list};
	struct stored_items l = {0};
	enum error err;

	err = query(s,
		    "SELECT i.sku_code, i.raw_payload::text, i.ebay_status, "
		    "(SELECT count(*) FROM offers o WHERE o.user_id = i.user_id "
		    "AND o.sku_code = i.sku_code AND o.status = 'PUBLISHED' "
		    "AND o.listing_status = 'ACTIVE' AND o.removed_at IS NULL) FROM inventory i "
		    "WHERE i.user_id = $1 AND i.removed_at IS NULL AND i.sku_code " IN_SKUS,
		    2, v, "cannot read inventory rows by SKU", read_stored_items, &l, NULL);
	free(list);
	*out = l.rows;
	*n_out = l.n;
	return err;
}

struct offer_rows {
	struct offer_row *rows;
	size_t n;
};

static long long count_or_absent(const PGresult *r, int i, int c)
{
	return PQgetisnull(r, i, c) ? -1 : store_pg_get_ll(r, i, c);
}

static void read_offer_rows(const PGresult *r, void *out)
{
	struct offer_rows *l = out;
	int i, n = PQntuples(r);

	l->rows = xcalloc(n ? (size_t)n : 1, sizeof(*l->rows));
	for (i = 0; i < n; i++) {
		struct offer_row *o = &l->rows[l->n++];
		o->offer_id = dup_col(r, i, 0);
		o->sku = dup_col(r, i, 1);
		o->marketplace_id = dup_col(r, i, 2);
		o->format = dup_col(r, i, 3);
		o->status = dup_col(r, i, 4);
		o->listing_id = dup_col(r, i, 5);
		o->listing_status = dup_col(r, i, 6);
		o->price_value = dup_col(r, i, 7);
		o->price_currency = dup_col(r, i, 8);
		o->available_quantity = count_or_absent(r, i, 9);
		o->sold_quantity = count_or_absent(r, i, 10);
		o->category_id = dup_col(r, i, 11);
		o->listing_start_date = dup_col(r, i, 12);
		o->raw_payload = dup_col(r, i, 13);
	}
}

static enum error pg_offers_by_sku(struct store *s, const char *user_id, const char *const *skus,
				   size_t n, struct offer_row **out, size_t *n_out)
{
	char *list = store_sku_array(skus, n);
	const char *v[2] = {user_id, list};
	struct offer_rows l = {0};
	enum error err;

	err = query(s,
		    "SELECT offer_id, sku_code, marketplace_id, format, status, listing_id, "
		    "listing_status, price_value::text, price_currency, available_quantity, "
		    "sold_quantity, category_id, listing_start_date, raw_payload::text "
		    "FROM offers WHERE user_id = $1 AND sku_code " IN_SKUS
		    " ORDER BY sku_code COLLATE \"C\", offer_id COLLATE \"C\"",
		    2, v, "cannot read offers by SKU", read_offer_rows, &l, NULL);
	free(list);
	*out = l.rows;
	*n_out = l.n;
	return err;
}

static enum error pg_items_seen(struct store *s, const char *user_id, const char *run_id,
				const char *const *skus, size_t n)
{
	char *list = store_sku_array(skus, n);
	const char *v[3] = {user_id, list, run_id};
	enum error err;

	err = command(
	    s, "UPDATE inventory SET last_seen_run = $3 WHERE user_id = $1 AND sku_code " IN_SKUS,
	    3, v, "cannot mark inventory rows seen", NULL);
	free(list);
	return err;
}

const struct store_ops store_pg_ops = {
    .name = "postgres",
    .open = pg_open,
    .close = pg_close,
    .write_batch = store_pg_write_batch,
    .run_insert = pg_run_insert,
    .run_update = pg_run_update,
    .run_get = pg_run_get,
    .run_list = pg_run_list,
    .run_counts = pg_run_counts,
    .run_request_stop = pg_run_request_stop,
    .runs_interrupt_stale = pg_runs_interrupt_stale,
    .events_append = pg_events_append,
    .events_list = pg_events_list,
    .failure_add = pg_failure_add,
    .failure_clear = pg_failure_clear,
    .failure_list = pg_failure_list,
    .run_failures = pg_run_failures,
    .cursor_get = pg_cursor_get,
    .cursor_set = pg_cursor_set,
    .skus_add = store_pg_skus_add,
    .skus_range = store_pg_skus_range,
    .skus_find = store_pg_skus_find,
    .skus_clear = store_pg_skus_clear,
    .token_revoke = pg_token_revoke,
    .token_revoked = pg_token_revoked,
    .list_items = store_pg_list_items,
    .list_offers = store_pg_list_offers,
    .count_unseen = store_pg_count_unseen,
    .mark_removed = store_pg_mark_removed,
    .count_removed = store_pg_count_removed,
    .list_changes = store_pg_list_changes,
    .user_put = pg_user_put,
    .user_get = pg_user_get,
    .user_list = pg_user_list,
    .exec_text = store_pg_exec_text,
    .items_by_sku = pg_items_by_sku,
    .offers_by_sku = pg_offers_by_sku,
    .items_seen = pg_items_seen,
    .exec_text_tx = store_pg_exec_text_tx,
};
