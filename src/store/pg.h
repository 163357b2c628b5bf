/*
 * The PostgreSQL backend's insides, shared by store/pg.c (connection,
 * reconnection, migrations, runs, events, failures, cursors, users),
 * store/pg_write.c (write_batch) and store/pg_query.c (the listings), plus a
 * few knobs for its own tests and the benchmark. Only store/pg*.c,
 * tests/unit/test_store_pg.c and bench/store_bench.c include this header:
 * the tests and the benchmark for the knobs at the end, which is why it does
 * not include store_backend.h (the .c files do) and sees struct store only
 * as store.h shows it, opaque. Everything else goes through store.h.
 *
 * Failure model: every operation runs as one unit (a transaction when it
 * writes). When the connection is lost in the middle (PQstatus bad, SQLSTATE
 * class 08, 57P01..57P03), the unit is abandoned, the connection is made
 * again with backoff (100 ms doubling, up to the reconnect budget, 30 s by
 * default, EBAYSYNC_PG_RECONNECT_S to change it), and the whole unit runs
 * once more. All writes are idempotent
 * (upserts, ON CONFLICT DO NOTHING), so a unit whose COMMIT reached the
 * server before the connection broke is harmless to repeat.
 */
#ifndef STORE_PG_H
#define STORE_PG_H

#include <libpq-fe.h>

#include "buf.h"
#include "error.h"
#include "store.h"

#define STORE_PG_STATEMENT_TIMEOUT_MS 30000
#define STORE_PG_RECONNECT_MS	      30000
/* A migration key for pg_advisory_xact_lock: "ebaysync" in ASCII. */
#define STORE_PG_MIGRATE_LOCK 0x6562617973796e63LL

/* How write_batch sends rows: multi-row INSERT ... ON CONFLICT with
 * prepared statements, or COPY into a temporary table and one merge. */
enum store_pg_write_mode {
	STORE_PG_WRITE_VALUES,
	STORE_PG_WRITE_COPY,
};

/* Prepared multi-row statements, one per (kind, row count), recycled
 * least recently used first. */
#define STORE_PG_STMT_CACHE 12

struct store_pg_stmt {
	int kind; /* enum in store/pg_write.c; 0: free slot */
	int rows;
	unsigned long long used; /* tick of last use */
	char name[32];
};

struct store_pg {
	PGconn *conn;
	char *url;		/* as given to store_open(); may hold a password */
	char where[160];	/* "host:port" for messages, never the password */
	long long reconnect_ms; /* budget for one reconnection */
	int lost;		/* the last statement lost the connection */
	int retrying;		/* the unit now running is a repeat after a reconnect */
	char sqlstate[6];	/* of the last failed statement, "" if none */
	char constraint[64];	/* the constraint it broke, "" if none */
	enum error last_err;	/* what store_pg_fail returned last */
	enum store_pg_write_mode mode;
	int staged; /* the COPY staging tables exist on conn */
	unsigned long long tick;
	struct store_pg_stmt stmts[STORE_PG_STMT_CACHE];
	int single_prepared; /* the one-off prepared statements exist on conn */
};

/* ---- helpers for store/pg*.c --------------------------------------------- */

/* A unit of work; returns ERR_OK or an error with s->errmsg set. */
typedef enum error (*store_pg_unit_fn)(struct store *s, void *ctx);

/*
 * Runs fn as one unit: alone (STORE_PG_NO_TX), inside BEGIN/COMMIT
 * (STORE_PG_TX), or in a read-only REPEATABLE READ transaction that sees one
 * snapshot (STORE_PG_SNAPSHOT: counts that agree with the rows). Reconnects
 * first when the connection is down; when the connection is lost during the
 * unit, reconnects and runs it once more from the start.
 */
#define STORE_PG_NO_TX	  0
#define STORE_PG_TX	  1
#define STORE_PG_SNAPSHOT 2
enum error store_pg_unit(struct store *s, int tx, store_pg_unit_fn fn, void *ctx);

/* Runs one statement (prepared when name is given, else sql with
 * parameters), expecting want. Returns the result (the caller PQclears it)
 * or NULL after setting s->errmsg to "<context>: <server message>". */
PGresult *store_pg_exec(struct store *s, const char *name, const char *sql, int n,
			const char *const *values, ExecStatusType want, const char *context);
/* store_pg_exec for statements whose result is of no interest. */
enum error store_pg_cmd(struct store *s, const char *sql, int n, const char *const *values,
			const char *context);
/* Records the failure of r (or of the connection, when r is NULL) in
 * s->errmsg as "<context>: <message>" and returns ERR_TIMEOUT for a
 * statement timeout, ERR_CONFLICT for a unique violation, ERR_DB otherwise.
 * Sets lost, sqlstate and constraint. */
enum error store_pg_fail(struct store *s, const PGresult *r, const char *context);
/* The error code of the last failure store_pg_fail recorded (after
 * store_pg_exec or store_pg_prepare returned NULL). */
enum error store_pg_err(const struct store *s);
/* The prepared statement for (kind, rows), preparing sql_fn's text if it is
 * new on this connection; NULL (s->errmsg set from context) on failure. */
const char *store_pg_prepare(struct store *s, int kind, int rows,
			     void (*sql_fn)(struct buf *sql, int kind, int rows), int nparams,
			     const char *context);

/* Value of column c of row i: NULL for SQL NULL. */
const char *store_pg_get(const PGresult *r, int i, int c);
long long store_pg_get_ll(const PGresult *r, int i, int c);

/* The row sets of list_items/list_offers and count_unseen (store/pg_query.c). */
enum error store_pg_list_items(struct store *s, const struct store_query *q, json_t **rows,
			       long long *total);
enum error store_pg_list_offers(struct store *s, const struct store_query *q, json_t **rows,
				long long *total);
enum error store_pg_count_unseen(struct store *s, const char *user_id, const char *table,
				 const char *run_id, long long *count);

/* exec_text (store/pg_text.c): one statement, results as text. */
enum error store_pg_exec_text(struct store *s, const char *sql, int n, const char *const *values,
			      struct store_rows *out);
struct store_stmt;
/* exec_text_tx of the PostgreSQL backend: the statements in one BEGIN/COMMIT. */
enum error store_pg_exec_text_tx(struct store *s, const struct store_stmt *stmts, size_t n,
				 struct store_rows *outs);
/* A run's SKU list (store/pg_skus.c): the store_ops of the same names. */
enum error store_pg_skus_add(struct store *s, const char *run_id, const char *const *skus, size_t n,
			     unsigned char *is_new, long long *count);
enum error store_pg_skus_range(struct store *s, const char *run_id, long long from, size_t limit,
			       char ***skus, size_t *n);
enum error store_pg_skus_find(struct store *s, const char *run_id, const char *const *skus,
			      size_t n, long long *pos);
enum error store_pg_skus_clear(struct store *s, const char *run_id);
/* mark_removed (store/pg_write.c); count_removed and list_changes
 * (store/pg_query.c). */
enum error store_pg_mark_removed(struct store *s, const char *user_id, const char *run_id,
				 long long *items, long long *offers);
enum error store_pg_count_removed(struct store *s, const char *user_id, const char *table,
				  const char *run_id, long long *count);
enum error store_pg_list_changes(struct store *s, const struct store_change_query *q, json_t **rows,
				 long long *total);

/* write_batch (store/pg_write.c). */
enum error store_pg_write_batch(struct store *s, const char *user_id, const char *run_id,
				const struct item_row *items, size_t n_items,
				const struct offer_row *offers, size_t n_offers);

/* ---- knobs for tests and the benchmark ----------------------------------- */

/* The live connection (may change after a reconnect); NULL for a store of
 * another backend. */
PGconn *store_pg_conn(struct store *s);
/* How long a reconnection may take before the operation fails (ms). */
void store_pg_set_reconnect_ms(struct store *s, long long ms);
void store_pg_set_write_mode(struct store *s, enum store_pg_write_mode mode);

#endif
