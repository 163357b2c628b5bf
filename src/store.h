/*
 * The storage interface. Everything above this header talks to a struct
 * store; whether SQLite (store_sqlite.c, the embedded default) or PostgreSQL
 * (store_pg.c) is underneath is decided once, by store_open()'s URL, and
 * nowhere else. Both backends hold the same schema (migrations/<backend>/),
 * applied by store_open() under a lock so concurrent starts are safe.
 *
 * A struct store is one connection: use it from one thread at a time. Each
 * thread that writes opens its own. Every function returns an enum error and,
 * on failure, leaves a message naming the table and key in store_errmsg().
 *
 * Rows are always keyed by user: two users with the same SKU never collide.
 */
#ifndef STORE_H
#define STORE_H

#include <jansson.h>
#include <stddef.h>

#include "error.h"
#include "mapping.h"

struct store;

/* ---- runs ---------------------------------------------------------------- */

#define STORE_RUN_RUNNING     "running"
#define STORE_RUN_DONE	      "done"
#define STORE_RUN_FAILED      "failed"
#define STORE_RUN_CANCELLED   "cancelled"
#define STORE_RUN_INTERRUPTED "interrupted"

struct run_row {
	char *id; /* e.g. "offers_1730000000_a1b2c3" */
	char *user_id;
	char *kind;   /* "inventory", "offers" or "all" */
	char *status; /* one of STORE_RUN_* */
	long long fetched, stored, failed, total;
	long long started_ms, finished_ms; /* epoch ms; finished 0 while running */
	long long heartbeat_ms;		   /* last sign of life of the process running it */
	int stop_requested;
	char *error; /* NULL unless failed */
	char *owner; /* "host:pid" of the process running it */
};

void run_row_release(struct run_row *r);

/* ---- events (the run's log, in order) ------------------------------------ */

struct event_row {
	long long seq; /* 1, 2, 3 ... within the run */
	char *type; /* start, info, request, response, progress, warning, error, done, cancelled */
	long long ts_ms;
	char *line; /* the log line, without the [HH:MM:SS] prefix */
	char *data; /* JSON object text: counts and details */
};

void event_row_release(struct event_row *e);

/* ---- queries for the API and the tests ----------------------------------- */

struct store_query {
	const char *user_id;
	const char *search;    /* substring of SKU or title, case-insensitive; NULL: any */
	const char *status;    /* inventory: ebay_status; offers: status; NULL: any */
	const char *condition; /* inventory only; NULL: any */
	const char *sku;       /* exact SKU; NULL: any */
	const char *sort;      /* a column name from the backend's allow-list; NULL: sku_code */
	int desc;
	long long limit; /* <= 0: no limit */
	long long offset;
};

struct user_row {
	char *id;		  /* the user name is the id */
	char *password_hash;	  /* crypt(3) string */
	char *ebay_token;	  /* sealed (see the OAuth work); never sent out */
	char *ebay_refresh_token; /* sealed */
	long long refresh_expires_ms;
	long long created_ms;
	long long ebay_token_expires_ms; /* of a token minted by account.c; 0: unknown */
};

void user_row_release(struct user_row *u);

/* ---- the operations table that each backend fills ------------------------ */

struct store_ops {
	const char *name; /* "sqlite" or "postgres" */
	enum error (*open)(struct store *s, const char *url);
	void (*close)(struct store *s);

	/* One transaction: upsert items, then offers. Items with
	 * offer_fields_known 0 keep the stored price, currency, listing id,
	 * status and category. An item whose raw_payload is NULL carries only
	 * those offer-derived fields (from an offers sync): they update the
	 * user's existing row for that SKU, and no row is created. run_id is
	 * recorded as last_seen_run of every row written in full. */
	enum error (*write_batch)(struct store *s, const char *user_id, const char *run_id,
				  const struct item_row *items, size_t n_items,
				  const struct offer_row *offers, size_t n_offers);

	/* ERR_CONFLICT when the user already has a run of r's kind running
	 * (at most one is, per the schema): see store_run_conflict(). */
	enum error (*run_insert)(struct store *s, const struct run_row *r);
	/* Updates status, counts, heartbeat, finished and error of r->id. */
	enum error (*run_update)(struct store *s, const struct run_row *r);
	/* user_id NULL: any user. ERR_NOTFOUND when absent or another user's. */
	enum error (*run_get)(struct store *s, const char *user_id, const char *run_id,
			      struct run_row *out);
	/* Newest first. *out is an array of *n rows; free each, then the array. */
	enum error (*run_list)(struct store *s, const char *user_id, long long limit,
			       long long offset, struct run_row **out, size_t *n, long long *total);
	enum error (*run_request_stop)(struct store *s, const char *user_id, const char *run_id);
	/* Marks 'running' runs whose heartbeat is older than stale_ms (or, if
	 * owner is given, whose owner is this owner) as interrupted. */
	enum error (*runs_interrupt_stale)(struct store *s, const char *owner, long long stale_ms,
					   long long *count);

	enum error (*events_append)(struct store *s, const char *run_id, const struct event_row *ev,
				    size_t n);
	/* Events with seq > after_seq, oldest first, at most limit. */
	enum error (*events_list)(struct store *s, const char *run_id, long long after_seq,
				  long long limit, struct event_row **out, size_t *n);

	/* sync_failures: SKUs that failed after all retries. */
	enum error (*failure_add)(struct store *s, const char *user_id, const char *kind,
				  const char *run_id, const char *sku, const char *error,
				  int attempts);
	enum error (*failure_clear)(struct store *s, const char *user_id, const char *kind,
				    const char *sku);
	/* Pending SKUs of user and kind, oldest first; free each, then the array. */
	enum error (*failure_list)(struct store *s, const char *user_id, const char *kind,
				   char ***skus, size_t *n);
	/* The failures recorded by one run, as a JSON array of {sku, error, attempts}. */
	enum error (*run_failures)(struct store *s, const char *run_id, json_t **out);

	enum error (*cursor_get)(struct store *s, const char *user_id, const char *name,
				 char **value);
	enum error (*cursor_set)(struct store *s, const char *user_id, const char *name,
				 const char *value);

	/* Rows as JSON objects with every column (raw_payload parsed). */
	enum error (*list_items)(struct store *s, const struct store_query *q, json_t **rows,
				 long long *total);
	enum error (*list_offers)(struct store *s, const struct store_query *q, json_t **rows,
				  long long *total);
	/* Rows of user in table ("inventory" or "offers") whose last_seen_run
	 * is not run_id: what eBay no longer showed in that run. */
	enum error (*count_unseen)(struct store *s, const char *user_id, const char *table,
				   const char *run_id, long long *count);

	/*
	 * A run's SKU list (sync_run_skus): distinct SKUs at positions 0, 1,
	 * 2 ... in the order they were added. skus_add appends those of
	 * skus[0..n) that the list does not hold yet, in one transaction;
	 * is_new[i] (if given) is 1 for each one appended, 0 for one already
	 * there or repeated earlier in skus; *count (if given) receives the
	 * list's length after.
	 */
	enum error (*skus_add)(struct store *s, const char *run_id, const char *const *skus,
			       size_t n, unsigned char *is_new, long long *count);
	/* Up to limit SKUs of the list from position from on, in order; free
	 * each, then the array. */
	enum error (*skus_range)(struct store *s, const char *run_id, long long from, size_t limit,
				 char ***skus, size_t *n);
	/* The position of sku in the list: ERR_NOTFOUND when it is not there. */
	enum error (*skus_find)(struct store *s, const char *run_id, const char *sku,
				long long *pos);
	/* Drops the list of run_id; NULL: of every run that is not running. */
	enum error (*skus_clear)(struct store *s, const char *run_id);

	enum error (*user_put)(struct store *s, const struct user_row *u); /* insert or update */
	enum error (*user_get)(struct store *s, const char *id, struct user_row *out);
	enum error (*user_list)(struct store *s, struct user_row **out, size_t *n);

	/* Login tokens ended by logout (revoked_tokens), by token id (jti),
	 * kept until their exp (expires_ms), when they would end anyway;
	 * token_revoke also drops the rows already past it. token_revoked
	 * answers ERR_OK for a revoked id, ERR_NOTFOUND for another. */
	enum error (*token_revoke)(struct store *s, const char *jti, long long expires_ms);
	enum error (*token_revoked)(struct store *s, const char *jti);
};

/* The parts of a store every backend shares; the backend's own state hangs
 * off priv. Only store_*.c files look inside. */
struct store {
	const struct store_ops *ops;
	void *priv;
	char errmsg[512];
};

/*
 * Opens the store named by url: "postgres://..." or "postgresql://..." (or a
 * libpq "host=... dbname=..." string) for PostgreSQL, anything else a SQLite
 * file path (created if absent). Applies pending migrations. On failure
 * returns an error, sets *out to NULL and writes a message into errmsg (if
 * given). The caller frees the store with store_close().
 */
enum error store_open(const char *url, struct store **out, struct buf *errmsg);
void store_close(struct store *s);
const char *store_backend(const struct store *s);
const char *store_errmsg(const struct store *s);

/* Sets s->errmsg (printf-style); returns err, for "return store_fail(...)". */
enum error store_fail(struct store *s, enum error err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- checks and helpers every backend uses (only store_*.c call these) ---- */

/* Longest search text a listing accepts, in bytes. */
#define STORE_SEARCH_MAX 200

/*
 * Refuses a batch that no backend could store, before any transaction
 * starts: no user id, an item without SKU, an offer without offer id or
 * SKU. ERR_INVALID with a message naming the row.
 */
enum error store_check_batch(struct store *s, const char *user_id, const struct item_row *items,
			     size_t n_items, const struct offer_row *offers, size_t n_offers);

/* Refuses a listing of table ("inventory", "offers") without a user id or
 * with search text over STORE_SEARCH_MAX bytes: ERR_INVALID. */
enum error store_check_query(struct store *s, const char *table, const struct store_query *q);

/* Refuses count_unseen without user or with a table other than
 * "inventory" and "offers" (ERR_INVALID); *offers is 1 for "offers". */
enum error store_check_unseen(struct store *s, const char *user_id, const char *table, int *offers);

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

/* Thin wrappers over s->ops, named as the rest of the code calls them. */
enum error store_write_batch(struct store *s, const char *user_id, const char *run_id,
			     const struct item_row *items, size_t n_items,
			     const struct offer_row *offers, size_t n_offers);
enum error store_run_insert(struct store *s, const struct run_row *r);
enum error store_run_update(struct store *s, const struct run_row *r);
enum error store_run_get(struct store *s, const char *user_id, const char *run_id,
			 struct run_row *out);
enum error store_run_list(struct store *s, const char *user_id, long long limit, long long offset,
			  struct run_row **out, size_t *n, long long *total);
enum error store_run_request_stop(struct store *s, const char *user_id, const char *run_id);
enum error store_runs_interrupt_stale(struct store *s, const char *owner, long long stale_ms,
				      long long *count);
enum error store_events_append(struct store *s, const char *run_id, const struct event_row *ev,
			       size_t n);
enum error store_events_list(struct store *s, const char *run_id, long long after_seq,
			     long long limit, struct event_row **out, size_t *n);
enum error store_failure_add(struct store *s, const char *user_id, const char *kind,
			     const char *run_id, const char *sku, const char *error, int attempts);
enum error store_failure_clear(struct store *s, const char *user_id, const char *kind,
			       const char *sku);
enum error store_failure_list(struct store *s, const char *user_id, const char *kind, char ***skus,
			      size_t *n);
enum error store_run_failures(struct store *s, const char *run_id, json_t **out);
enum error store_token_revoke(struct store *s, const char *jti, long long expires_ms);
enum error store_token_revoked(struct store *s, const char *jti);
enum error store_cursor_get(struct store *s, const char *user_id, const char *name, char **value);
enum error store_cursor_set(struct store *s, const char *user_id, const char *name,
			    const char *value);
enum error store_list_items(struct store *s, const struct store_query *q, json_t **rows,
			    long long *total);
enum error store_list_offers(struct store *s, const struct store_query *q, json_t **rows,
			     long long *total);
enum error store_count_unseen(struct store *s, const char *user_id, const char *table,
			      const char *run_id, long long *count);
enum error store_skus_add(struct store *s, const char *run_id, const char *const *skus, size_t n,
			  unsigned char *is_new, long long *count);
enum error store_skus_range(struct store *s, const char *run_id, long long from, size_t limit,
			    char ***skus, size_t *n);
enum error store_skus_find(struct store *s, const char *run_id, const char *sku, long long *pos);
enum error store_skus_clear(struct store *s, const char *run_id);
enum error store_user_put(struct store *s, const struct user_row *u);
enum error store_user_get(struct store *s, const char *id, struct user_row *out);
enum error store_user_list(struct store *s, struct user_row **out, size_t *n);

/* The backends' operation tables. */
extern const struct store_ops store_sqlite_ops;
extern const struct store_ops store_pg_ops;

#endif
