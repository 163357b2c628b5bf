/* Only src/store.c and the backends in src/store/ may include this header. */
/*
 * The inside of the storage interface (git's refs/refs-internal.h): the
 * operations table each backend fills, the struct store they share, and the
 * helpers they have in common. Everything else includes store.h, for which a
 * struct store is opaque. A backend's own header (store/pg.h) may be
 * included by the tests and the benchmark that drive its knobs, but it does
 * not include this one.
 *
 * The contract of every operation is that of its store_* wrapper in store.h,
 * with one difference: store.c has already refused missing arguments (each
 * member says what it may assume), cleared the outputs and the message, and
 * answered the empty cases (an empty batch, no events). A backend checks
 * only what it alone knows, such as its allow-list of sort columns.
 */
#ifndef STORE_BACKEND_H
#define STORE_BACKEND_H

#include "store.h"

/* One statement of exec_text_tx: its text and text parameters. */
struct store_stmt {
	const char *sql;
	int n;
	const char *const *values;
};

struct store_ops {
	const char *name; /* "sqlite" or "postgres" */
	enum error (*open)(struct store *s, const char *url);
	void (*close)(struct store *s);

	/* At least one row; user_id set; every item has a SKU, every offer
	 * an offer id and a SKU. */
	enum error (*write_batch)(struct store *s, const char *user_id, const char *run_id,
				  const struct item_row *items, size_t n_items,
				  const struct offer_row *offers, size_t n_offers);

	/* r has id, user, kind and status. ERR_CONFLICT when the user already
	 * has a run of r's kind running: see store_run_conflict(). */
	enum error (*run_insert)(struct store *s, const struct run_row *r);
	/* r has id and status. */
	enum error (*run_update)(struct store *s, const struct run_row *r);
	/* run_id set; user_id NULL: any user. */
	enum error (*run_get)(struct store *s, const char *user_id, const char *run_id,
			      struct run_row *out);
	enum error (*run_list)(struct store *s, const char *user_id, long long limit,
			       long long offset, struct run_row **out, size_t *n, long long *total);
	/* run_id set. */
	enum error (*run_counts)(struct store *s, json_t **out);
	enum error (*run_request_stop)(struct store *s, const char *user_id, const char *run_id);
	enum error (*runs_interrupt_stale)(struct store *s, const char *owner, long long stale_ms,
					   long long *count);

	/* run_id set, n > 0, every event has a type. */
	enum error (*events_append)(struct store *s, const char *run_id, const struct event_row *ev,
				    size_t n);
	/* run_id set. */
	enum error (*events_list)(struct store *s, const char *run_id, long long after_seq,
				  long long limit, struct event_row **out, size_t *n);

	/* user, kind, run and sku set (error may be NULL). */
	enum error (*failure_add)(struct store *s, const char *user_id, const char *kind,
				  const char *run_id, const char *sku, const char *error,
				  int attempts);
	/* user, kind and sku set. */
	enum error (*failure_clear)(struct store *s, const char *user_id, const char *kind,
				    const char *sku);
	/* user and kind set. */
	enum error (*failure_list)(struct store *s, const char *user_id, const char *kind,
				   char ***skus, size_t *n);
	/* run_id set. */
	enum error (*run_failures)(struct store *s, const char *run_id, json_t **out);

	/* user and name set; for cursor_set, value too. */
	enum error (*cursor_get)(struct store *s, const char *user_id, const char *name,
				 char **value);
	enum error (*cursor_set)(struct store *s, const char *user_id, const char *name,
				 const char *value);

	/* q->user_id set, q->search within STORE_SEARCH_MAX; the sort column
	 * is the backend's to check against its allow-list. */
	enum error (*list_items)(struct store *s, const struct store_query *q, json_t **rows,
				 long long *total);
	enum error (*list_offers)(struct store *s, const struct store_query *q, json_t **rows,
				  long long *total);
	/* user_id set; table is "inventory" or "offers". */
	enum error (*count_unseen)(struct store *s, const char *user_id, const char *table,
				   const char *run_id, long long *count);

	/* user and run set. */
	enum error (*mark_removed)(struct store *s, const char *user_id, const char *run_id,
				   long long *items, long long *offers);
	/* user and run set; table is "inventory" or "offers". */
	enum error (*count_removed)(struct store *s, const char *user_id, const char *table,
				    const char *run_id, long long *count);
	/* q->user_id set. */
	enum error (*list_changes)(struct store *s, const struct store_change_query *q,
				   json_t **rows, long long *total);

	/* u has an id and a password hash. */
	/* A run's SKU list: see store_skus_add() and the others in store.h. */
	enum error (*skus_add)(struct store *s, const char *run_id, const char *const *skus,
			       size_t n, unsigned char *is_new, long long *count);
	enum error (*skus_range)(struct store *s, const char *run_id, long long from, size_t limit,
				 char ***skus, size_t *n);
	/* pos[i]: the position of skus[i], -1 when the list does not hold it. */
	enum error (*skus_find)(struct store *s, const char *run_id, const char *const *skus,
				size_t n, long long *pos);
	enum error (*skus_clear)(struct store *s, const char *run_id);

	enum error (*user_put)(struct store *s, const struct user_row *u);
	/* id set. */
	enum error (*user_get)(struct store *s, const char *id, struct user_row *out);
	enum error (*user_list)(struct store *s, struct user_row **out, size_t *n);

	enum error (*token_revoke)(struct store *s, const char *jti, long long expires_ms);
	enum error (*token_revoked)(struct store *s, const char *jti);

	/* One statement whose text both backends accept, with parameters $1,
	 * $2 ... given as text (NULL: SQL NULL); every result column comes
	 * back as text. Only store/portable.c calls it, for the operations it
	 * writes once for both backends (API keys, webhooks). ERR_CONFLICT for
	 * a duplicate key. */
	enum error (*exec_text)(struct store *s, const char *sql, int n, const char *const *values,
				struct store_rows *out);
	/* refresh: user set, 1 to STORE_BY_SKU_MAX SKUs, none empty; for
	 * items_seen, run_id set. */
	enum error (*items_by_sku)(struct store *s, const char *user_id, const char *const *skus,
				   size_t n, struct stored_item **out, size_t *n_out);
	enum error (*offers_by_sku)(struct store *s, const char *user_id, const char *const *skus,
				    size_t n, struct offer_row **out, size_t *n_out);
	enum error (*items_seen)(struct store *s, const char *user_id, const char *run_id,
				 const char *const *skus, size_t n);

	/* The job queue (issue 12): statements as exec_text takes them, run
	 * in one transaction (SQLite: BEGIN IMMEDIATE, under its write lock),
	 * outs[i] the rows of stmts[i]; all or nothing. n > 0. Only
	 * store/jobs.c calls it. */
	enum error (*exec_text_tx)(struct store *s, const struct store_stmt *stmts, size_t n,
				   struct store_rows *outs);
};

/* What every backend shares; the backend's own state hangs off priv. */
struct store {
	const struct store_ops *ops;
	void *priv;
	char errmsg[512];
};

/* The backends' operation tables. */
extern const struct store_ops store_sqlite_ops;
extern const struct store_ops store_pg_ops;

/* Sets s->errmsg (printf-style); returns err, for "return store_fail(...)". */
enum error store_fail(struct store *s, enum error err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The SQL written once for both backends (portable.c and its neighbours)
 * runs through exec_text: store_text_run clears *out and s's message
 * first. Cells of the rows it answers: store_rows_take hands cell (i, c)
 * over to the caller (NULL for SQL NULL), store_rows_ll reads it as a
 * number (0 for NULL). */
enum error store_text_run(struct store *s, const char *sql, int n, const char *const *values,
			  struct store_rows *out);
char *store_rows_take(struct store_rows *r, size_t i, size_t c);
long long store_rows_ll(const struct store_rows *r, size_t i, size_t c);

/* v when it is a decimal amount (mapping_is_decimal), else NULL: the
 * price_value every backend stores, so that a text PostgreSQL's NUMERIC
 * would refuse is NULL in SQLite too (raw_payload keeps what was sent). */
const char *store_price(const char *v);

/*
 * Refuses run r because its user has a run of its kind running, the one
 * named running_id (NULL when it could not be named): ERR_CONFLICT with
 * "an offers sync is already running for alice (run offers_...)", or, when
 * that run is r itself, "run '<id>' already exists in sync_runs".
 */
enum error store_run_conflict(struct store *s, const struct run_row *r, const char *running_id);

/* "%" + text with "\", "%" and "_" escaped + "%", for LIKE ... ESCAPE '\'.
 * Returns a malloc'd string. */
char *store_like_pattern(const char *text);

/* The n SKUs as one JSON array text (malloc'd), the one parameter through
 * which both backends take a list of SKUs. */
char *store_sku_array(const char *const *skus, size_t n);

#endif
