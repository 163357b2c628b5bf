/*
 * The storage interface. Everything above this header talks to a struct
 * store, which it never looks inside; whether SQLite (store/sqlite.c, the
 * embedded default) or PostgreSQL (store/pg*.c) is underneath is decided
 * once, by store_open()'s URL, and nowhere else. The backends implement
 * store/store_backend.h, which nothing above the store includes. Both backends hold the same schema
 * (migrations/<backend>/), applied by store_open() under a lock so concurrent starts are safe.
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
	char *kind;   /* "inventory", "offers", "skus" or "all" */
	char *status; /* one of STORE_RUN_* */
	long long fetched, stored, failed, total;
	long long started_ms, finished_ms; /* epoch ms; finished 0 while running */
	long long heartbeat_ms;		   /* last sign of life of the process running it */
	int stop_requested;
	char *error;	  /* NULL unless failed; for people */
	char *error_code; /* error_code_name() of what failed it, for programs */
	char *owner;	  /* "host:pid" of the process running it */
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

/* Which rows a listing shows, by removed_at (see store_mark_removed). */
enum store_removed {
	STORE_REMOVED_HIDE = 0, /* only rows still on eBay (the default) */
	STORE_REMOVED_ONLY,	/* only rows marked removed */
	STORE_REMOVED_INCLUDE,	/* both */
};

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
	enum store_removed removed;
	/* Keyset paging for exports: only rows whose key (sku_code for
	 * inventory, offer_id for offers) sorts after this one, bytewise;
	 * refused with a sort other than the key's ascending order. */
	const char *after;
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

/* Longest search text a listing accepts, in bytes. */
#define STORE_SEARCH_MAX 200

/*
 * The operations. Each calls the backend once its arguments are known to be
 * valid: a missing argument (a NULL id, user or kind, a row without its key)
 * is refused here, for every backend alike, with ERR_INVALID and a message
 * that says what is missing. Outputs are cleared first, so on any failure
 * they hold NULL, 0 or an empty row.
 */

/*
 * One transaction: upsert items, then offers. Items with offer_fields_known
 * 0 keep the stored price, currency, listing id, status and category. An
 * item whose raw_payload is NULL carries only those offer-derived fields
 * (from an offers sync): they update the user's existing row for that SKU,
 * and no row is created. run_id is recorded as last_seen_run of every row
 * written in full. Refused before any transaction starts: no user id, an
 * item without SKU, an offer without offer id or SKU (the message names the
 * row). An empty batch writes nothing.
 *
 * In the same transaction, every change to an inventory row is recorded in
 * sync_changes under run_id (see store_list_changes): "created" for a new
 * row (and nothing else for it), "restored" for a row that was marked
 * removed, and the old and new value of each of price, currency, quantity,
 * status, listing_id, title and condition that changed. Offer-derived
 * fields written into a row that run_id itself created are not changes. A
 * row written again clears its removed_at (and its offers' when they are
 * written). An item with offers_complete set marks the SKU's stored offers
 * that are not in the batch removed (see store_count_removed).
 */
enum error store_write_batch(struct store *s, const char *user_id, const char *run_id,
			     const struct item_row *items, size_t n_items,
			     const struct offer_row *offers, size_t n_offers);

/* ERR_CONFLICT when the id is taken, or when the user already has a run of
 * r's kind running (at most one is, per the schema; the message names it). */
enum error store_run_insert(struct store *s, const struct run_row *r);
/* Updates status, counts, heartbeat, finished and error of r->id;
 * ERR_NOTFOUND when there is no such run. */
enum error store_run_update(struct store *s, const struct run_row *r);
/* user_id NULL: any user. ERR_NOTFOUND when absent or another user's. The
 * caller releases *out with run_row_release(). */
enum error store_run_get(struct store *s, const char *user_id, const char *run_id,
			 struct run_row *out);
/* Newest first; user_id NULL: every user's; limit <= 0: no limit. *out is
 * an array of *n rows: release each, then free the array. total (if given)
 * counts every match. */
enum error store_run_list(struct store *s, const char *user_id, long long limit, long long offset,
			  struct run_row **out, size_t *n, long long *total);
/* Every user's runs counted by status, as a JSON object {status: count}
 * with the statuses that have runs; read from sync_run_counts, which
 * triggers on sync_runs keep (a few rows, however many runs there are).
 * The caller decrefs *out. */
enum error store_run_counts(struct store *s, json_t **out);
/* Sets stop_requested of a running run; ERR_NOTFOUND when absent or another
 * user's, ERR_CONFLICT when it is no longer running. */
enum error store_run_request_stop(struct store *s, const char *user_id, const char *run_id);
/* Marks 'running' runs whose heartbeat is older than stale_ms (or, if owner
 * is given, whose owner is this owner) as interrupted; *count (if given) is
 * how many. */
enum error store_runs_interrupt_stale(struct store *s, const char *owner, long long stale_ms,
				      long long *count);

/* Appends events in one transaction; an event whose seq the run already has
 * is skipped (a writer may retry). Every event needs a type. */
enum error store_events_append(struct store *s, const char *run_id, const struct event_row *ev,
			       size_t n);
/* Events with seq > after_seq, oldest first, at most limit (<= 0: all).
 * *out is an array of *n rows: release each, then free the array. */
enum error store_events_list(struct store *s, const char *run_id, long long after_seq,
			     long long limit, struct event_row **out, size_t *n);

/* sync_failures: SKUs that failed after all retries, per user and kind.
 * error NULL is stored as "". */
enum error store_failure_add(struct store *s, const char *user_id, const char *kind,
			     const char *run_id, const char *sku, const char *error, int attempts);
/* Clearing a failure that is not there is not an error. */
enum error store_failure_clear(struct store *s, const char *user_id, const char *kind,
			       const char *sku);
/* Pending SKUs of user and kind, oldest first; free each, then the array. */
enum error store_failure_list(struct store *s, const char *user_id, const char *kind, char ***skus,
			      size_t *n);
/* The failures recorded by one run, as a JSON array of {sku, error,
 * attempts}, by SKU; the caller decrefs *out. */
enum error store_run_failures(struct store *s, const char *run_id, json_t **out);

/* Login tokens ended by logout (revoked_tokens), by token id (jti), kept
 * until their exp (expires_ms), when they would end anyway; token_revoke
 * also drops the rows already past it. store_token_revoked answers ERR_OK
 * for a revoked id, ERR_NOTFOUND for another. */
enum error store_token_revoke(struct store *s, const char *jti, long long expires_ms);
enum error store_token_revoked(struct store *s, const char *jti);

/* A named cursor of a user; ERR_NOTFOUND when unset. The caller frees
 * *value. */
enum error store_cursor_get(struct store *s, const char *user_id, const char *name, char **value);
enum error store_cursor_set(struct store *s, const char *user_id, const char *name,
			    const char *value);

/* Rows of q->user_id as JSON objects with every column (raw_payload
 * parsed), filtered, sorted and paged as q says; total (if given) counts
 * every match (with total NULL no count is made). Refused without a user id, with search text over
 * STORE_SEARCH_MAX bytes, or with a sort column the backend does not
 * allow. The caller decrefs *rows. */
enum error store_list_items(struct store *s, const struct store_query *q, json_t **rows,
			    long long *total);
enum error store_list_offers(struct store *s, const struct store_query *q, json_t **rows,
			     long long *total);
/* Rows of user in table ("inventory" or "offers", nothing else) whose
 * last_seen_run is not run_id: what eBay no longer showed in that run. */
enum error store_count_unseen(struct store *s, const char *user_id, const char *table,
			      const char *run_id, long long *count);

/*
 * A run's SKU list (sync_run_skus): the distinct SKUs of Step 1 of an
 * offers sync, at positions 0, 1, 2 ... in the order they were added, kept
 * in the database rather than in memory. store_skus_add appends those of
 * skus[0..n) that the list does not hold yet, in one transaction;
 * is_new[i] (if given) is 1 for each one appended, 0 for one already there
 * or repeated earlier in skus; *count (if given) receives the list's length
 * after. store_skus_range gives up to limit SKUs from position from on, in
 * order (free each, then the array). store_skus_positions gives the
 * position of each of skus[0..n) in pos[], -1 for one the list does not
 * hold, in one round trip; store_skus_find is the same for one SKU, with
 * ERR_NOTFOUND when it is not there. store_skus_clear drops the list
 * of run_id, or with run_id NULL those of every run that is not running.
 */
enum error store_skus_add(struct store *s, const char *run_id, const char *const *skus, size_t n,
			  unsigned char *is_new, long long *count);
enum error store_skus_range(struct store *s, const char *run_id, long long from, size_t limit,
			    char ***skus, size_t *n);
enum error store_skus_positions(struct store *s, const char *run_id, const char *const *skus,
				size_t n, long long *pos);
enum error store_skus_find(struct store *s, const char *run_id, const char *sku, long long *pos);
enum error store_skus_clear(struct store *s, const char *run_id);
/* ---- deletions and the change log (issue 11) ----------------------------- */

/* sync_changes.field values: kinds of a row's life, then the fields. */
#define STORE_CHANGE_CREATED	"created"
#define STORE_CHANGE_REMOVED	"removed"
#define STORE_CHANGE_RESTORED	"restored"
#define STORE_CHANGE_PRICE	"price"
#define STORE_CHANGE_CURRENCY	"currency"
#define STORE_CHANGE_QUANTITY	"quantity"
#define STORE_CHANGE_STATUS	"status"
#define STORE_CHANGE_LISTING_ID "listing_id"
#define STORE_CHANGE_TITLE	"title"
#define STORE_CHANGE_CONDITION	"condition"

/*
 * After an inventory walk of run_id that completed (not stopped, no page
 * failed): in one transaction, marks the user's inventory rows that the
 * walk did not see (last_seen_run is not run_id) and that are not marked
 * yet as removed now, with their offers, and records "removed" for each
 * SKU. Nothing is deleted. *items and *offers (if given) say how many rows
 * were marked.
 */
enum error store_mark_removed(struct store *s, const char *user_id, const char *run_id,
			      long long *items, long long *offers);
/* Rows of user in table ("inventory" or "offers") that run_id marked
 * removed. */
enum error store_count_removed(struct store *s, const char *user_id, const char *table,
			       const char *run_id, long long *count);

struct store_change_query {
	const char *user_id;
	const char *run_id;  /* NULL: any run */
	const char *sku;     /* exact SKU; NULL: any */
	const char *field;   /* one STORE_CHANGE_* value; NULL: any */
	long long since_ms;  /* > 0: changed at or after this epoch ms */
	long long before_id; /* > 0: keyset paging, ids below this one only */
	long long limit;     /* <= 0: no limit */
	long long offset;
};

/*
 * sync_changes rows of q->user_id, newest first (by id), as JSON objects
 * {id, run_id, changed_ms, changed_at, sku, field, old, new} (old and new
 * are text or null). total (if given) counts every match; with total NULL
 * no count is made. Refused without a user id. The caller decrefs *rows.
 */
enum error store_list_changes(struct store *s, const struct store_change_query *q, json_t **rows,
			      long long *total);

/* Inserts or updates a user (created_ms stays as first stored; 0: now).
 * Refused without id and password hash. */
enum error store_user_put(struct store *s, const struct user_row *u);
/* ERR_NOTFOUND when absent; the caller releases *out with
 * user_row_release(). */
enum error store_user_get(struct store *s, const char *id, struct user_row *out);
/* Every user, by id; release each, then free the array. */
enum error store_user_list(struct store *s, struct user_row **out, size_t *n);

/* ---- API keys and webhooks (written once for both backends: portable.c) --- */

struct apikey_row {
	char *id; /* public: names the key in lists and revocations */
	char *user_id;
	char *name;	/* the user's label */
	char *scope;	/* "read" or "sync" */
	char *key_hash; /* hex SHA-256 of the key; the key itself is never stored */
	char *prefix;	/* the key's first characters, to tell keys apart */
	long long created_ms, last_used_ms, expires_ms, revoked_ms; /* 0: never */
};

void apikey_row_release(struct apikey_row *k);

struct webhook_row {
	char *id;
	char *user_id;
	char *url;
	char *events; /* comma-separated event names, e.g. "run.finished" */
	int enabled;
	char *secret; /* sealed (secret.h) */
	long long created_ms;
};

void webhook_row_release(struct webhook_row *w);

#define STORE_DELIVERY_PENDING	 "pending"
#define STORE_DELIVERY_DELIVERED "delivered"
#define STORE_DELIVERY_FAILED	 "failed"

struct delivery_row {
	char *id;
	char *webhook_id;
	char *user_id;
	char *event;   /* e.g. "run.finished" */
	char *payload; /* the JSON body POSTed */
	char *status;  /* one of STORE_DELIVERY_* */
	long long attempts;
	long long created_ms, next_attempt_ms, last_attempt_ms; /* 0: never */
	long long last_http_status;				/* 0: no answer */
	char *last_error;					/* NULL: none */
};

void delivery_row_release(struct delivery_row *d);

/* Rows of text that exec_text answers: cells[row * n_cols + col], NULL for
 * SQL NULL; changed is the number of rows an UPDATE or DELETE touched. */
struct store_rows {
	size_t n_rows, n_cols;
	char **cells;
	long long changed;
};

void store_rows_release(struct store_rows *r);

/*
 * API keys (apikey.h has the logic). apikey_insert: ERR_CONFLICT for a
 * duplicate id or hash. apikey_find: the key whose hash is key_hash,
 * whatever its state (ERR_NOTFOUND when none). apikey_list: the user's keys,
 * newest first (free each, then the array). apikey_revoke: sets revoked_ms
 * of the user's key id (ERR_NOTFOUND when the user has no such key;
 * revoking twice keeps the first time). apikey_touch: sets last_used_ms.
 */
enum error store_apikey_insert(struct store *s, const struct apikey_row *k);
enum error store_apikey_find(struct store *s, const char *key_hash, struct apikey_row *out);
enum error store_apikey_list(struct store *s, const char *user_id, struct apikey_row **out,
			     size_t *n);
enum error store_apikey_revoke(struct store *s, const char *user_id, const char *id,
			       long long now_ms);
enum error store_apikey_touch(struct store *s, const char *id, long long now_ms);

/*
 * Webhooks (webhook.h). webhook_list: the user's endpoints, oldest first.
 * webhook_set_enabled and webhook_delete: ERR_NOTFOUND when the user has
 * no such endpoint; deleting one deletes its deliveries.
 */
enum error store_webhook_insert(struct store *s, const struct webhook_row *w);
enum error store_webhook_list(struct store *s, const char *user_id, struct webhook_row **out,
			      size_t *n);
enum error store_webhook_set_enabled(struct store *s, const char *user_id, const char *id,
				     int enabled);
enum error store_webhook_delete(struct store *s, const char *user_id, const char *id);

/*
 * Deliveries. delivery_due: pending deliveries whose next attempt is at or
 * before now_ms, oldest first, at most limit. delivery_claim: moves a due
 * delivery's next attempt to lease_until_ms and counts an attempt, unless
 * another process did first (its attempts is no longer d->attempts):
 * ERR_CONFLICT then. delivery_finish: records the outcome of the claimed
 * attempt (status, next_attempt_ms, last_* of d). delivery_list: a user's
 * deliveries (of one endpoint, or all when webhook_id is NULL), newest
 * first, at most limit. delivery_redeliver: makes the user's delivery id
 * pending again at now_ms (ERR_NOTFOUND when none).
 */
enum error store_delivery_insert(struct store *s, const struct delivery_row *d);
enum error store_delivery_due(struct store *s, long long now_ms, long long limit,
			      struct delivery_row **out, size_t *n);
enum error store_delivery_claim(struct store *s, const struct delivery_row *d, long long now_ms,
				long long lease_until_ms);
enum error store_delivery_finish(struct store *s, const struct delivery_row *d);
enum error store_delivery_list(struct store *s, const char *user_id, const char *webhook_id,
			       long long limit, struct delivery_row **out, size_t *n);
enum error store_delivery_redeliver(struct store *s, const char *user_id, const char *id,
				    long long now_ms);
/* ---- refresh: the stored state a refresh compares eBay's with ----------- */

/* SKUs one call of the three below takes at most: a refresh reads and
 * touches its rows a page or a report chunk at a time, so memory stays flat
 * whatever the catalog's size. */
#define STORE_BY_SKU_MAX 1000

/* What a refresh needs of a stored inventory row. */
struct stored_item {
	char *sku;
	char *raw_payload; /* as the store gives it back (PostgreSQL: jsonb's text) */
	char *ebay_status;
	long long live_offers; /* its offers PUBLISHED with listing_status ACTIVE */
};

void stored_item_release(struct stored_item *it);

/*
 * The stored inventory rows of user for n SKUs (1 to STORE_BY_SKU_MAX; a
 * SKU without a row, or whose row is marked removed, is left out, so that
 * a SKU that comes back is written again), in no given order. *out is an array of
 * *n_out rows: release each, then free the array.
 */
enum error store_items_by_sku(struct store *s, const char *user_id, const char *const *skus,
			      size_t n, struct stored_item **out, size_t *n_out);
/*
 * The stored offers of user for n SKUs (1 to STORE_BY_SKU_MAX), every
 * column (raw_payload as the store gives it back), ordered by SKU, then
 * offer id. *out is an array of *n_out rows: release each with
 * offer_row_release(), then free the array.
 */
enum error store_offers_by_sku(struct store *s, const char *user_id, const char *const *skus,
			       size_t n, struct offer_row **out, size_t *n_out);
/*
 * Records run_id as last_seen_run of user's inventory rows for n SKUs (1 to
 * STORE_BY_SKU_MAX) and changes nothing else: rows a refresh saw on eBay
 * unchanged, so did not write.
 */
enum error store_items_seen(struct store *s, const char *user_id, const char *run_id,
			    const char *const *skus, size_t n);

/* ---- schedules (issue 12; written once for both backends) ---------------- */

#define STORE_SCHEDULE_RUNNING "running" /* last_result until the run's end is seen */
#define STORE_SCHEDULE_SKIPPED "skipped" /* a run could not be started */

struct schedule_row {
	char *id;
	char *user_id;
	char *kind;	      /* "inventory", "offers", "all" or "refresh" */
	long long interval_s; /* > 0: every so many seconds; 0: times */
	char *times;	      /* "HH:MM,HH:MM" in tz; NULL with an interval */
	char *tz;	      /* IANA name, e.g. "Europe/Berlin" */
	int enabled;
	long long next_due_ms;
	char *last_run_id, *last_result, *last_error, *last_code; /* NULL: none yet */
	long long last_run_ms;					  /* 0: never */
	long long failures;  /* failed runs in a row (the retry backoff) */
	char *paused_reason; /* NULL, or an error_code_name() such as "ebay_relink" */
	char *cred_mark;     /* the user's credentials' fingerprint when it paused */
	long long created_ms, updated_ms;
};

void schedule_row_release(struct schedule_row *r);

/* Which schedules store_schedule_scan gives. */
enum store_schedule_scan {
	STORE_SCHEDULE_DUE,	/* enabled, not paused, next_due_ms <= now_ms */
	STORE_SCHEDULE_WATCHED, /* last_result "running": a run whose end is not seen yet */
	STORE_SCHEDULE_PAUSED,	/* enabled and paused */
};

/*
 * sync_schedules (schedule.h has the logic). schedule_insert: ERR_CONFLICT
 * for a duplicate id. schedule_list: the user's, oldest first; *count (if
 * given) is how many the user has. schedule_get: user_id NULL: any user's;
 * ERR_NOTFOUND when absent or another user's. schedule_update: writes the
 * settings (kind, interval_s, times, tz, enabled), next_due_ms, failures,
 * paused_reason and cred_mark of the user's schedule r->id (ERR_NOTFOUND
 * when none). schedule_delete: ERR_NOTFOUND when none. schedule_scan: at
 * most limit rows of every user, oldest due first. Arrays: release each
 * row, then free the array.
 */
enum error store_schedule_insert(struct store *s, const struct schedule_row *r);
enum error store_schedule_list(struct store *s, const char *user_id, struct schedule_row **out,
			       size_t *n);
enum error store_schedule_get(struct store *s, const char *user_id, const char *id,
			      struct schedule_row *out);
enum error store_schedule_update(struct store *s, const struct schedule_row *r);
enum error store_schedule_delete(struct store *s, const char *user_id, const char *id);
enum error store_schedule_scan(struct store *s, enum store_schedule_scan what, long long now_ms,
			       long long limit, struct schedule_row **out, size_t *n);
/*
 * The compare-and-set that lets one process of many fire a due time:
 * moves next_due_ms of schedule id from old_due_ms to new_due_ms, only if
 * it still is old_due_ms and the schedule is enabled and not paused;
 * ERR_CONFLICT when another process (or an edit) came first.
 */
enum error store_schedule_claim(struct store *s, const char *id, long long old_due_ms,
				long long new_due_ms);
/* Records that the claimed schedule id started run_id at now_ms
 * (last_result "running", no error). */
enum error store_schedule_started(struct store *s, const char *id, const char *run_id,
				  long long now_ms);
/*
 * Records the outcome of r->last_run_id: last_result, last_error,
 * last_code, failures, next_due_ms, paused_reason and cred_mark of r, only
 * if the row still waits for that run (last_result "running", same
 * last_run_id): ERR_CONFLICT when another process recorded it first.
 */
enum error store_schedule_finish(struct store *s, const struct schedule_row *r);
/* Records a due time that started no run (r's last_result, last_error,
 * last_code), leaving the last run's id as it is. */
enum error store_schedule_skipped(struct store *s, const struct schedule_row *r);

/* ---- the job queue (issue 12; docs/queue.md) ----------------------------- */

/* A run waiting in the queue for a worker (its job's state is queued). */
#define STORE_RUN_QUEUED "queued"

/* 1 for a status of a run that has not ended: running or queued. */
int store_run_active(const char *status);

#define STORE_JOB_QUEUED    "queued"
#define STORE_JOB_RUNNING   "running"
#define STORE_JOB_DONE	    "done"
#define STORE_JOB_FAILED    "failed"
#define STORE_JOB_CANCELLED "cancelled"

/* A row of sync_jobs: the job of run run_id. */
struct job_row {
	char *run_id, *user_id, *kind;
	char *options; /* the start's options, JSON object text (queue.c) */
	char *state;   /* STORE_JOB_* */
	char *worker;  /* who holds it while running, else NULL */
	char *wait_reason;
	long long lease_until_ms, not_before_ms, created_ms, updated_ms;
	long long attempts, max_attempts;
	long long last_seq; /* the run's newest stored event (claim and get) */
};

void job_row_release(struct job_row *j);

/* The queue at a glance, for /healthz and /metrics. */
struct job_stats {
	long long queued, running, done, failed, cancelled;
	long long waiting; /* of the queued, those whose not_before is still ahead */
	long long workers; /* workers whose heartbeat is fresh */
};

/*
 * Inserts run (its status STORE_RUN_QUEUED) and job (run_id, user, kind,
 * options, max_attempts, created_ms) in one transaction. ERR_CONFLICT when
 * the user has a run of that kind queued or running, with the message
 * naming it (store_run_conflict()).
 */
enum error store_job_enqueue(struct store *s, const struct run_row *run, const struct job_row *job);
/*
 * Claims the oldest queued job due at now_ms for worker: state running,
 * lease until lease_until_ms, one more attempt. PostgreSQL: FOR UPDATE
 * SKIP LOCKED, so workers never wait on each other; SQLite: under its
 * write lock. ERR_NOTFOUND when none is due. Release *out.
 */
enum error store_job_claim(struct store *s, const char *worker, long long now_ms,
			   long long lease_until_ms, struct job_row *out);
/* Marks the run of a claimed job running under owner (heartbeat now_ms). */
enum error store_job_run_started(struct store *s, const char *run_id, const char *owner,
				 long long now_ms);
/* Extends worker's lease of run_id; ERR_NOTFOUND when worker no longer
 * holds it (the lease ran out and it went back to the queue). */
enum error store_job_renew(struct store *s, const char *run_id, const char *worker,
			   long long lease_until_ms);
/* Ends worker's job run_id with state (STORE_JOB_DONE, _FAILED or
 * _CANCELLED); ERR_NOTFOUND when worker no longer holds it. */
enum error store_job_finish(struct store *s, const char *run_id, const char *worker,
			    const char *state, long long now_ms);
/*
 * Gives worker's job run_id back to the queue, due at not_before_ms, with
 * wait_reason (may be NULL) shown on it; refund takes back the attempt its
 * claim counted (a hand-back at shutdown, a refused admission). The run's
 * row, if still running, becomes queued. ERR_NOTFOUND when worker no
 * longer holds it.
 */
enum error store_job_requeue(struct store *s, const char *run_id, const char *worker,
			     long long not_before_ms, const char *wait_reason, int refund,
			     long long now_ms);
/*
 * Jobs whose lease ran out before now_ms (their worker died): those with
 * attempts left go back to the queue (their run queued, wait_reason says
 * why), the others fail, and their runs too (error_code
 * "worker_lost"). Counts in *requeued and *failed (either may be NULL).
 */
enum error store_job_reap(struct store *s, long long now_ms, long long *requeued,
			  long long *failed);
/* Cancels user's run run_id while its job is still queued (the run ends
 * cancelled at now_ms). ERR_NOTFOUND when it is not queued (any more). */
enum error store_job_cancel(struct store *s, const char *user_id, const char *run_id,
			    long long now_ms);
/* The job of run_id (ERR_NOTFOUND when it has none). Release *out. */
enum error store_job_get(struct store *s, const char *run_id, struct job_row *out);
/* The jobs queued or running now (user_id, kind and state filled in; the
 * quota's view of the work to come), oldest first, at most 10,000. Release
 * each, then free the array. */
enum error store_jobs_active(struct store *s, struct job_row **out, size_t *n);
/* Counts; workers whose heartbeat is at or after fresh_since_ms count. */
enum error store_job_stats(struct store *s, long long fresh_since_ms, long long now_ms,
			   struct job_stats *out);
/* A worker process is alive with slots (registers it the first time);
 * store_worker_gone() forgets it at a clean exit. */
enum error store_worker_beat(struct store *s, const char *id, int slots, long long now_ms);
enum error store_worker_gone(struct store *s, const char *id);

/* ---- quota: eBay calls per day, API and user; users' shares ------------ */

/* One count of the ledger: calls made on day ('YYYY-MM-DD', UTC) to api
 * ("sell.inventory", "sell.feed", "identity" ...) for user ("" for none). */
struct quota_count {
	char day[11];
	char api[32];
	char user_id[128];
	long long calls;
};

/*
 * Adds each count's calls to its (day, api, user) row, creating it. Written
 * in order; on failure *done (if given) says how many counts were added, so
 * that the caller can keep the others for later without adding any twice.
 */
enum error store_quota_add(struct store *s, const struct quota_count *c, size_t n, size_t *done);
/* Every count of day (each user and api), ordered by api, then user. *out
 * is a malloc'd array of *n counts (free it). */
enum error store_quota_day(struct store *s, const char *day, struct quota_count **out, size_t *n);
/* Sets user's share weight (> 0; 1 is the default), or forgets it with 0. */
enum error store_quota_share_set(struct store *s, const char *user_id, double weight);
/* The weight of every user that has one set: parallel malloc'd arrays
 * (free each user id, then both arrays). */
enum error store_quota_shares(struct store *s, char ***users, double **weights, size_t *n);

/* ---- shared pacer: the peers of an install (pacers.c) --------------------- */

/*
 * One process's row in pacer_peers: what its pacer for scope (an eBay API
 * base and application) asks for and has learned. Rates are requests a
 * second; times are wall-clock ms.
 */
struct pacer_peer_row {
	char *scope;
	char *owner;		/* "host:pid" */
	long long heartbeat_ms; /* last written */
	double weight;		/* runs using the pacer; 0: idle */
	double demand;		/* the rate asked for: 0 none, < 0 as much as given */
	double used;		/* the rate eBay accepted of it lately (answers not 429) */
	double rate;		/* the pacer's rate */
	double wall;		/* the install-wide wall it last posted; 0: none */
	long long wall_seq;	/* posts are ordered by this, install-wide */
	long long wall_ms;	/* when it was posted */
};

void pacer_peer_row_release(struct pacer_peer_row *r);

/*
 * pacer_peer_put: writes r (scope and owner set) over its earlier row.
 * pacer_peers_list: the rows of scope, in no given order (release each,
 * then free the array). pacer_peers_prune: deletes the rows of scope whose
 * heartbeat is older than before_ms; *deleted (if given) says how many.
 */
enum error store_pacer_peer_put(struct store *s, const struct pacer_peer_row *r);
enum error store_pacer_peers_list(struct store *s, const char *scope, struct pacer_peer_row **out,
				  size_t *n);
enum error store_pacer_peers_prune(struct store *s, const char *scope, long long before_ms,
				   long long *deleted);

#endif
