/*
 * The SQLite backend of the storage interface (store_backend.h; see store.h
 * and docs/schema.md), the embedded default.
 *
 * A connection runs in WAL mode with synchronous=NORMAL, so readers (the API)
 * never wait for the writer (the sync) and a commit costs no fsync of the
 * main file; busy_timeout makes a second writer wait up to 10 s instead of
 * failing at once. Migrations are applied at open inside BEGIN IMMEDIATE,
 * which takes the write lock before reading schema_migrations, so two
 * processes opening a fresh file at once apply each migration exactly once.
 *
 * Every fixed statement is prepared once per connection, on first use, and
 * reused (reset after each use so no read snapshot stays open); only the
 * list queries, whose WHERE and ORDER BY depend on the request, are prepared
 * per call from allow-listed pieces, with every value bound.
 */
#include "sqlite_internal.h"

#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "migrate.h"
#include "timeutil.h"
#include "xalloc.h"

#include "banned.h"

#define SQLITE_BUSY_MS 10000

#define RUN_COLS                                                                                   \
	"id, user_id, kind, status, fetched, stored, failed, total, started_ms, finished_ms, "     \
	"heartbeat_ms, stop_requested, error, owner, error_code"
#define ITEM_COLS                                                                                  \
	"user_id, sku_code, title, condition, part_number, model, category, price_value, "         \
	"price_currency, quantity, ebay_listing_id, ebay_status, photo_count, raw_payload, "       \
	"last_seen_run, rec_created, rec_updated"
#define OFFER_COLS                                                                                 \
	"user_id, offer_id, sku_code, marketplace_id, format, status, listing_id, "                \
	"listing_status, "                                                                         \
	"price_value, price_currency, available_quantity, sold_quantity, category_id, "            \
	"listing_start_date, raw_payload, last_seen_run, rec_created, rec_updated"
#define USER_COLS                                                                                  \
	"id, password_hash, ebay_token, ebay_refresh_token, refresh_expires_ms, created_ms, "      \
	"ebay_token_expires_ms"

enum stmt_id {
	S_BEGIN,
	S_COMMIT,
	S_ROLLBACK,
	S_ITEM_UPSERT,
	S_OFFER_UPSERT,
	S_RUN_INSERT,
	S_RUN_UPDATE,
	S_RUN_GET,
	S_RUN_LIST,
	S_RUN_COUNT,
	S_RUN_COUNTS,
	S_RUN_STOP,
	S_RUN_INTERRUPT,
	S_RUN_RUNNING,
	S_EVENT_INSERT,
	S_EVENT_LIST,
	S_FAILURE_UPSERT,
	S_FAILURE_DELETE,
	S_FAILURE_LIST,
	S_RUN_FAILURES,
	S_CURSOR_GET,
	S_CURSOR_SET,
	S_UNSEEN_INVENTORY,
	S_UNSEEN_OFFERS,
	S_USER_PUT,
	S_USER_GET,
	S_USER_LIST,
	S_TOKEN_REVOKE,
	S_TOKEN_PURGE,
	S_TOKEN_REVOKED,
	S_ITEM_DERIVED,
	S_SKUS_END,
	S_SKUS_ADD,
	S_SKUS_RANGE,
	S_SKUS_FIND,
	S_SKUS_CLEAR,
	S_SKUS_CLEAR_DEAD,
	S_ITEM_OLD,
	S_CHANGE_INSERT,
	S_OFFERS_GONE,
	S_MARK_CHANGES,
	S_MARK_OFFERS,
	S_MARK_ITEMS,
	S_REMOVED_INVENTORY,
	S_REMOVED_OFFERS,
	S_ITEMS_BY_SKU,
	S_OFFERS_BY_SKU,
	S_ITEMS_SEEN,
	S__COUNT
};

static const char *const stmt_sql[S__COUNT] = {
    [S_BEGIN] = "BEGIN IMMEDIATE",
    [S_COMMIT] = "COMMIT",
    [S_ROLLBACK] = "ROLLBACK",
    /* ?17 is offer_fields_known: when 0 the stored offer columns stay. */
    [S_ITEM_UPSERT] =
	"INSERT INTO inventory (" ITEM_COLS ", first_seen_run) VALUES (?1, ?2, ?3, ?4, ?5, ?6, "
	"?7, ?8, ?9, ?10, ?11, coalesce(?12, 'UNKNOWN'), ?13, ?14, ?15, ?16, ?16, ?15) "
	"ON CONFLICT (user_id, sku_code) DO UPDATE SET removed_at = NULL, removed_run = NULL, "
	"title = excluded.title, condition = excluded.condition, "
	"part_number = excluded.part_number, model = excluded.model, "
	"category = CASE WHEN ?17 THEN excluded.category ELSE inventory.category END, "
	"price_value = CASE WHEN ?17 THEN excluded.price_value ELSE inventory.price_value "
	"END, "
	"price_currency = CASE WHEN ?17 THEN excluded.price_currency "
	"ELSE inventory.price_currency END, "
	"ebay_listing_id = CASE WHEN ?17 THEN excluded.ebay_listing_id "
	"ELSE inventory.ebay_listing_id END, "
	"ebay_status = CASE WHEN ?17 THEN excluded.ebay_status ELSE inventory.ebay_status "
	"END, "
	"quantity = excluded.quantity, photo_count = excluded.photo_count, "
	"raw_payload = excluded.raw_payload, last_seen_run = excluded.last_seen_run, "
	"rec_updated = excluded.rec_updated",
    /* The offer-derived fields of an existing row, from an offers sync. */
    [S_ITEM_DERIVED] =
	"UPDATE inventory SET category = coalesce(?3, category), price_value = ?4, "
	"price_currency = ?5, ebay_listing_id = ?6, ebay_status = coalesce(?7, 'UNKNOWN'), "
	"rec_updated = ?8 WHERE user_id = ?1 AND sku_code = ?2",
    [S_OFFER_UPSERT] =
	"INSERT INTO offers (" OFFER_COLS ", auction_start_price) VALUES (?1, ?2, ?3, ?4, ?5, "
	"?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?17, ?18) "
	"ON CONFLICT (user_id, offer_id) DO UPDATE SET removed_at = NULL, removed_run = NULL, "
	"auction_start_price = excluded.auction_start_price, "
	"sku_code = excluded.sku_code, marketplace_id = excluded.marketplace_id, "
	"format = excluded.format, status = excluded.status, "
	"listing_id = excluded.listing_id, listing_status = excluded.listing_status, "
	"price_value = excluded.price_value, price_currency = excluded.price_currency, "
	"available_quantity = excluded.available_quantity, "
	"sold_quantity = excluded.sold_quantity, category_id = excluded.category_id, "
	"listing_start_date = excluded.listing_start_date, "
	"raw_payload = excluded.raw_payload, last_seen_run = excluded.last_seen_run, "
	"rec_updated = excluded.rec_updated",
    /* What a write compares with (the order of struct old_item). */
    [S_ITEM_OLD] = "SELECT title, condition, price_value, price_currency, quantity, "
		   "ebay_listing_id, ebay_status, removed_at, first_seen_run FROM inventory "
		   "WHERE user_id = ?1 AND sku_code = ?2",
    [S_CHANGE_INSERT] = "INSERT INTO sync_changes (user_id, run_id, changed_ms, sku_code, "
			"field, old_value, new_value) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    /* Offers of a SKU whose offers were all fetched, not among them. */
    [S_OFFERS_GONE] = "UPDATE offers SET removed_at = ?4, removed_run = ?3 WHERE user_id = ?1 "
		      "AND sku_code = ?2 AND removed_at IS NULL AND last_seen_run IS NOT ?3",
    [S_MARK_CHANGES] = "INSERT INTO sync_changes (user_id, run_id, changed_ms, sku_code, field) "
		       "SELECT user_id, ?2, ?3, sku_code, 'removed' FROM inventory "
		       "WHERE user_id = ?1 AND removed_at IS NULL AND last_seen_run IS NOT ?2 "
		       "ORDER BY sku_code",
    [S_MARK_OFFERS] = "UPDATE offers SET removed_at = ?3, removed_run = ?2 WHERE user_id = ?1 "
		      "AND removed_at IS NULL AND sku_code IN (SELECT sku_code FROM inventory "
		      "WHERE user_id = ?1 AND removed_at IS NULL AND last_seen_run IS NOT ?2)",
    [S_MARK_ITEMS] = "UPDATE inventory SET removed_at = ?3, removed_run = ?2 WHERE user_id = ?1 "
		     "AND removed_at IS NULL AND last_seen_run IS NOT ?2",
    [S_REMOVED_INVENTORY] = "SELECT count(*) FROM inventory WHERE user_id = ?1 "
			    "AND removed_run = ?2",
    [S_REMOVED_OFFERS] = "SELECT count(*) FROM offers WHERE user_id = ?1 AND removed_run = ?2",
    [S_RUN_INSERT] = "INSERT INTO sync_runs (" RUN_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, "
		     "?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
    [S_RUN_UPDATE] = "UPDATE sync_runs SET status = ?2, fetched = ?3, stored = ?4, failed = ?5, "
		     "total = ?6, heartbeat_ms = ?7, finished_ms = ?8, error = ?9, "
		     "error_code = ?10 WHERE id = ?1",
    [S_RUN_GET] = "SELECT " RUN_COLS " FROM sync_runs WHERE id = ?1 "
		  "AND (?2 IS NULL OR user_id = ?2)",
    [S_RUN_LIST] = "SELECT " RUN_COLS " FROM sync_runs WHERE (?1 IS NULL OR user_id = ?1) "
		   "ORDER BY started_ms DESC, id DESC LIMIT ?2 OFFSET ?3",
    [S_RUN_COUNT] = "SELECT count(*) FROM sync_runs WHERE (?1 IS NULL OR user_id = ?1)",
    [S_RUN_COUNTS] = "SELECT status, n FROM sync_run_counts WHERE n <> 0",
    [S_RUN_STOP] = "UPDATE sync_runs SET stop_requested = 1 WHERE id = ?1 "
		   "AND (?2 IS NULL OR user_id = ?2) AND status IN ('running', 'queued')",
    [S_RUN_INTERRUPT] = "UPDATE sync_runs SET status = 'interrupted', finished_ms = ?1 "
			"WHERE status = 'running' AND (heartbeat_ms < ?2 "
			"OR (?3 IS NOT NULL AND owner = ?3)) AND id NOT IN "
			"(SELECT run_id FROM sync_jobs WHERE state IN ('queued', 'running'))",
    [S_RUN_RUNNING] = "SELECT id FROM sync_runs WHERE user_id = ?1 AND kind = ?2 "
		      "AND status IN ('running', 'queued')",
    [S_EVENT_INSERT] = "INSERT INTO sync_events (run_id, seq, type, ts_ms, line, data) "
		       "VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (run_id, seq) DO NOTHING",
    [S_EVENT_LIST] = "SELECT seq, type, ts_ms, line, data FROM sync_events "
		     "WHERE run_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
    [S_FAILURE_UPSERT] =
	"INSERT INTO sync_failures (user_id, kind, sku_code, run_id, error, attempts, "
	"first_failed, last_failed) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7) "
	"ON CONFLICT (user_id, kind, sku_code) DO UPDATE SET run_id = excluded.run_id, "
	"error = excluded.error, attempts = excluded.attempts, "
	"last_failed = excluded.last_failed",
    [S_FAILURE_DELETE] = "DELETE FROM sync_failures WHERE user_id = ?1 AND kind = ?2 "
			 "AND sku_code = ?3",
    [S_FAILURE_LIST] = "SELECT sku_code FROM sync_failures WHERE user_id = ?1 AND kind = ?2 "
		       "ORDER BY first_failed, sku_code",
    [S_RUN_FAILURES] = "SELECT sku_code, error, attempts FROM sync_failures WHERE run_id = ?1 "
		       "ORDER BY sku_code",
    [S_CURSOR_GET] = "SELECT value FROM ebay_sync_cursors WHERE user_id = ?1 AND name = ?2",
    [S_CURSOR_SET] = "INSERT INTO ebay_sync_cursors (user_id, name, value, updated) "
		     "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (user_id, name) DO UPDATE SET "
		     "value = excluded.value, updated = excluded.updated",
    [S_UNSEEN_INVENTORY] = "SELECT count(*) FROM inventory WHERE user_id = ?1 "
			   "AND last_seen_run IS NOT ?2",
    [S_UNSEEN_OFFERS] = "SELECT count(*) FROM offers WHERE user_id = ?1 "
			"AND last_seen_run IS NOT ?2",
    [S_USER_PUT] = "INSERT INTO users (" USER_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) "
		   "ON CONFLICT (id) DO UPDATE SET password_hash = excluded.password_hash, "
		   "ebay_token = excluded.ebay_token, "
		   "ebay_token_expires_ms = excluded.ebay_token_expires_ms, "
		   "ebay_refresh_token = excluded.ebay_refresh_token, "
		   "refresh_expires_ms = excluded.refresh_expires_ms",
    [S_USER_GET] = "SELECT " USER_COLS " FROM users WHERE id = ?1",
    [S_USER_LIST] = "SELECT " USER_COLS " FROM users ORDER BY id",
    [S_TOKEN_REVOKE] = "INSERT INTO revoked_tokens (jti, expires_ms) VALUES (?1, ?2) "
		       "ON CONFLICT (jti) DO NOTHING",
    [S_TOKEN_PURGE] = "DELETE FROM revoked_tokens WHERE expires_ms < ?1",
    [S_TOKEN_REVOKED] = "SELECT 1 FROM revoked_tokens WHERE jti = ?1",
    [S_SKUS_END] = "SELECT coalesce(max(pos) + 1, 0) FROM sync_run_skus WHERE run_id = ?1",
    [S_SKUS_ADD] = "INSERT INTO sync_run_skus (run_id, pos, sku_code) VALUES (?1, ?2, ?3) "
		   "ON CONFLICT DO NOTHING",
    [S_SKUS_RANGE] = "SELECT sku_code FROM sync_run_skus WHERE run_id = ?1 AND pos >= ?2 "
		     "ORDER BY pos LIMIT ?3",
    [S_SKUS_FIND] = "SELECT pos FROM sync_run_skus WHERE run_id = ?1 AND sku_code = ?2",
    [S_SKUS_CLEAR] = "DELETE FROM sync_run_skus WHERE run_id = ?1",
    [S_SKUS_CLEAR_DEAD] = "DELETE FROM sync_run_skus WHERE run_id NOT IN "
			  "(SELECT id FROM sync_runs WHERE status IN ('running', 'queued'))",
    /* ?2 is a JSON array of SKUs (store_sku_array). The unary + keeps the
     * planner on the (user, sku) indexes: on "o.status" it would take
     * offers_user_status, and on "i.removed_at" inventory_user_removed, which
     * reads every row of the user for each page (63% of a refresh's CPU). */
    [S_ITEMS_BY_SKU] =
	"SELECT i.sku_code, i.raw_payload, i.ebay_status, "
	"(SELECT count(*) FROM offers o WHERE o.user_id = i.user_id "
	"AND o.sku_code = i.sku_code AND +o.status = 'PUBLISHED' "
	"AND o.listing_status = 'ACTIVE' AND +o.removed_at IS NULL) FROM inventory i "
	"WHERE i.user_id = ?1 AND +i.removed_at IS NULL "
	"AND i.sku_code IN (SELECT value FROM json_each(?2))",
    [S_OFFERS_BY_SKU] = "SELECT offer_id, sku_code, marketplace_id, format, status, listing_id, "
			"listing_status, price_value, price_currency, available_quantity, "
			"sold_quantity, category_id, listing_start_date, raw_payload "
			"FROM offers WHERE user_id = ?1 "
			"AND sku_code IN (SELECT value FROM json_each(?2)) "
			"ORDER BY sku_code, offer_id",
    [S_ITEMS_SEEN] = "UPDATE inventory SET last_seen_run = ?3 WHERE user_id = ?1 "
		     "AND sku_code IN (SELECT value FROM json_each(?2))",
};

struct sqlite_store {
	sqlite3 *db;
	sqlite3_stmt *stmts[S__COUNT];
	int busy; /* the last failure was SQLITE_BUSY (another connection held a lock) */
};

static void note_busy(struct store *s)
{
	struct sqlite_store *p = s->priv;

	p->busy = (sqlite3_extended_errcode(p->db) & 0xff) == SQLITE_BUSY;
}

sqlite3 *store_sqlite_db(struct store *s)
{
	return ((struct sqlite_store *)s->priv)->db;
}

#define db_of	  store_sqlite_db
#define db_fail	  store_sqlite_fail
#define bind_text store_sqlite_bind_text

enum error store_sqlite_fail(struct store *s, const char *fmt, ...)
{
	sqlite3 *db = db_of(s);
	char what[384];
	va_list ap;
	int code = sqlite3_extended_errcode(db);
	enum error err = ERR_DB;

	note_busy(s);
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (code == SQLITE_CONSTRAINT_PRIMARYKEY || code == SQLITE_CONSTRAINT_UNIQUE)
		err = ERR_CONFLICT;
	return store_fail(s, err, "%s: %s", what, sqlite3_errmsg(db));
}

/*
 * The statement id, prepared on first use and kept for the connection's life.
 * It comes back reset; the caller resets it again when done with it.
 */
static enum error stmt(struct store *s, enum stmt_id id, sqlite3_stmt **out)
{
	struct sqlite_store *p = s->priv;

	if (!p->stmts[id] && sqlite3_prepare_v3(p->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
						&p->stmts[id], NULL) != SQLITE_OK) {
		*out = NULL;
		return db_fail(s, "cannot prepare statement %d", (int)id);
	}
	sqlite3_reset(p->stmts[id]);
	*out = p->stmts[id];
	return ERR_OK;
}

void store_sqlite_bind_text(sqlite3_stmt *st, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

/* Binds a count, or NULL when it is negative (absent). */
static void bind_count(sqlite3_stmt *st, int i, long long v)
{
	if (v < 0)
		sqlite3_bind_null(st, i);
	else
		sqlite3_bind_int64(st, i, v);
}

static char *col_text(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	return t ? xstrndup((const char *)t, (size_t)sqlite3_column_bytes(st, i)) : NULL;
}

/* Runs a statement that returns no rows; SQLITE_DONE is success. */
static int step_done(sqlite3_stmt *st)
{
	return sqlite3_step(st) == SQLITE_DONE;
}

static enum error tx_run(struct store *s, enum stmt_id id, const char *what)
{
	sqlite3_stmt *st;
	enum error err = stmt(s, id, &st);

	if (err)
		return err;
	if (!step_done(st))
		err = db_fail(s, "cannot %s a transaction", what);
	sqlite3_reset(st);
	return err;
}

static void tx_rollback(struct store *s)
{
	if (!sqlite3_get_autocommit(db_of(s))) {
		char keep[sizeof(s->errmsg)];

		memcpy(keep, s->errmsg, sizeof(keep));
		tx_run(s, S_ROLLBACK, "roll back");
		memcpy(s->errmsg, keep, sizeof(keep));
	}
}

static void now_iso(char out[32])
{
	timeutil_iso(timeutil_wall_ms(), out, 32);
}

/* ---- open, migrations, close --------------------------------------------- */

static enum error exec_sql(struct store *s, const char *sql, const char *what)
{
	char *msg = NULL;
	enum error err = ERR_OK;

	if (sqlite3_exec(db_of(s), sql, NULL, NULL, &msg) != SQLITE_OK) {
		note_busy(s);
		err = store_fail(s, ERR_DB, "%s: %s", what, msg ? msg : sqlite3_errmsg(db_of(s)));
	}
	sqlite3_free(msg);
	return err;
}

/* Applies, under the write lock, every migration the file has not seen. */
static enum error migrate(struct store *s, const char *path)
{
	struct migrate_file *files = NULL;
	size_t n = 0, i;
	sqlite3_stmt *seen = NULL, *mark = NULL, *top = NULL;
	struct buf why;
	char now[32];
	enum error err;

	buf_init(&why, 0);
	err = migrate_list("sqlite", &files, &n, &why);
	if (err) {
		store_fail(s, err, "cannot migrate '%s': %s", path, buf_str(&why));
		goto out;
	}
	err = exec_sql(s, "BEGIN IMMEDIATE", "cannot lock the database to migrate it");
	if (err)
		goto out;
	err = exec_sql(s,
		       "CREATE TABLE IF NOT EXISTS schema_migrations ("
		       "version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)",
		       "cannot create schema_migrations");
	if (err)
		goto out;
	if (sqlite3_prepare_v2(db_of(s), "SELECT coalesce(max(version), 0) FROM schema_migrations",
			       -1, &top, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db_of(s), "SELECT 1 FROM schema_migrations WHERE version = ?1", -1,
			       &seen, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(
		db_of(s), "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, ?2)", -1,
		&mark, NULL) != SQLITE_OK) {
		err = db_fail(s, "cannot read schema_migrations of '%s'", path);
		goto out;
	}
	if (sqlite3_step(top) == SQLITE_ROW &&
	    sqlite3_column_int64(top, 0) > files[n - 1].version) {
		err =
		    store_fail(s, ERR_DB,
			       "database '%s' has schema version %lld, newer than this program's "
			       "%d: use a newer ebaysync",
			       path, (long long)sqlite3_column_int64(top, 0), files[n - 1].version);
		goto out;
	}
	/* No statement may be left active: a migration that drops something
	 * (0011_jobs drops an index) fails with "table is locked" otherwise. */
	sqlite3_reset(top);
	now_iso(now);
	for (i = 0; i < n; i++) {
		int applied;

		sqlite3_reset(seen);
		sqlite3_bind_int(seen, 1, files[i].version);
		applied = sqlite3_step(seen) == SQLITE_ROW;
		sqlite3_reset(seen);
		if (applied)
			continue;
		err = exec_sql(s, files[i].sql, files[i].name);
		if (err) {
			char inner[sizeof(s->errmsg)];

			memcpy(inner, s->errmsg, sizeof(inner));
			store_fail(s, err, "cannot apply migration to '%s': %s", path, inner);
			goto out;
		}
		sqlite3_reset(mark);
		sqlite3_bind_int(mark, 1, files[i].version);
		sqlite3_bind_text(mark, 2, now, -1, SQLITE_STATIC);
		if (!step_done(mark)) {
			err = db_fail(s, "cannot record migration %d in '%s'", files[i].version,
				      path);
			goto out;
		}
	}
	err = exec_sql(s, "COMMIT", "cannot commit the migrations");
out:
	sqlite3_finalize(top);
	sqlite3_finalize(seen);
	sqlite3_finalize(mark);
	if (err && !sqlite3_get_autocommit(db_of(s)))
		sqlite3_exec(db_of(s), "ROLLBACK", NULL, NULL, NULL);
	free(files);
	buf_release(&why);
	return err;
}

static enum error set_wal(struct store *s, const char *path)
{
	sqlite3_stmt *st = NULL;
	enum error err = ERR_OK;
	const char *mode;

	if (sqlite3_prepare_v2(db_of(s), "PRAGMA journal_mode=WAL", -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW) {
		err = db_fail(s, "cannot open database '%s'", path);
		goto out;
	}
	mode = (const char *)sqlite3_column_text(st, 0);
	/* An in-memory database has no WAL and needs none. */
	if (!mode || (strcmp(mode, "wal") != 0 && strcmp(mode, "memory") != 0))
		err = store_fail(s, ERR_DB,
				 "cannot switch database '%s' to WAL mode (it stays in '%s' mode): "
				 "is it on a network file system?",
				 path, mode ? mode : "unknown");
out:
	sqlite3_finalize(st);
	return err;
}

static enum error sqlite_open(struct store *s, const char *url)
{
	struct sqlite_store *p = xcalloc(1, sizeof(*p));
	long long deadline, pause;
	enum error err;
	int rc;

	s->priv = p;
	/* SQLite creates files 0644 and gives the -wal and -shm files the
	 * database file's mode: make a new file 0600 first, for it holds
	 * password hashes. Only a new one (O_EXCL): closing a descriptor of a
	 * file this process has open through SQLite would drop its locks. */
	if (strcmp(url, ":memory:") && strncmp(url, "file:", 5)) {
		int fd = open(url, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd >= 0)
			close(fd);
	}
	rc = sqlite3_open_v2(
	    url, &p->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK)
		return store_fail(s, ERR_DB, "cannot open database '%s': %s", url,
				  p->db ? sqlite3_errmsg(p->db) : sqlite3_errstr(rc));
	sqlite3_extended_result_codes(p->db, 1);
	sqlite3_busy_timeout(p->db, SQLITE_BUSY_MS);
	/*
	 * Processes opening the same new file race: one that still sees it in
	 * rollback mode must upgrade its read lock to switch it to WAL, and
	 * SQLite answers that with SQLITE_BUSY at once, without the busy
	 * handler (its deadlock avoidance). So the setup, which is idempotent
	 * and transactional, is retried within the same 10 s budget.
	 */
	deadline = timeutil_mono_ms() + SQLITE_BUSY_MS;
	for (pause = 2;; pause = pause < 100 ? pause * 2 : 100) {
		p->busy = 0;
		err = set_wal(s, url);
		if (!err)
			/* A page cache of 512 kB a connection, not SQLite's 2 MB:
			 * a sync run has several connections, and with a large
			 * catalog each filled its cache, so peak RSS grew with
			 * the catalog (a 30,000-SKU run: +3.5 MB from the first
			 * pages to the end before, +1.2 MB now). Pages it misses
			 * come from the OS's page cache. */
			err = exec_sql(s,
				       "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; "
				       "PRAGMA cache_size=-512",
				       "cannot configure the database");
		if (!err)
			err = migrate(s, url);
		if (!err || !p->busy || timeutil_mono_ms() + pause > deadline)
			return err;
		timeutil_sleep_ms(pause);
	}
}

static void sqlite_close(struct store *s)
{
	struct sqlite_store *p = s->priv;
	int i;

	if (!p)
		return;
	for (i = 0; i < S__COUNT; i++)
		sqlite3_finalize(p->stmts[i]);
	sqlite3_close_v2(p->db);
	free(p);
	s->priv = NULL;
}

/* ---- inventory and offers ------------------------------------------------ */

/* The statements of one write_batch, and what its changes are recorded
 * under. */
struct wctx {
	sqlite3_stmt *item, *offer, *derived, *old, *change, *gone;
	const char *user_id, *run_id;
	long long now_ms;
	char now[32];
};

/* A stored inventory row as S_ITEM_OLD reads it, before it is written. */
struct old_item {
	int found, removed, created_here;
	char *v[7]; /* title, condition, price, currency, quantity, listing id, status */
};

static void old_item_release(struct old_item *o)
{
	for (size_t i = 0; i < 7; i++)
		free(o->v[i]);
	memset(o, 0, sizeof(*o));
}

static enum error read_old(struct store *s, struct wctx *w, const char *sku, struct old_item *o)
{
	enum error err = ERR_OK;
	int rc;

	memset(o, 0, sizeof(*o));
	sqlite3_reset(w->old);
	bind_text(w->old, 1, w->user_id);
	bind_text(w->old, 2, sku);
	rc = sqlite3_step(w->old);
	if (rc == SQLITE_ROW) {
		const char *first = (const char *)sqlite3_column_text(w->old, 8);

		o->found = 1;
		for (int i = 0; i < 7; i++)
			o->v[i] = col_text(w->old, i);
		o->removed = sqlite3_column_type(w->old, 7) != SQLITE_NULL;
		o->created_here = first && w->run_id && !strcmp(first, w->run_id);
	} else if (rc != SQLITE_DONE) {
		err = db_fail(s, "cannot read inventory row for sku '%s'", sku);
	}
	sqlite3_reset(w->old);
	return err;
}

static int same(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

/* Records one change of sku (old and new NULL for a kind). */
static enum error add_change(struct store *s, struct wctx *w, const char *sku, const char *field,
			     const char *old, const char *new)
{
	enum error err = ERR_OK;

	sqlite3_reset(w->change);
	bind_text(w->change, 1, w->user_id);
	bind_text(w->change, 2, w->run_id);
	sqlite3_bind_int64(w->change, 3, w->now_ms);
	bind_text(w->change, 4, sku);
	bind_text(w->change, 5, field);
	bind_text(w->change, 6, old);
	bind_text(w->change, 7, new);
	if (!step_done(w->change))
		err = db_fail(s, "cannot record the %s change of sku '%s' in sync_changes", field,
			      sku);
	sqlite3_reset(w->change);
	return err;
}

/* Fields of struct old_item, as bits of a mask. */
#define F_TITLE	   (1u << 0)
#define F_QUANTITY (1u << 4)
#define F_ITEM	   (F_TITLE | (1u << 1) | F_QUANTITY)		   /* the item's own fields */
#define F_OFFER	   ((1u << 2) | (1u << 3) | (1u << 5) | (1u << 6)) /* offer-derived */

/*
 * Records what writing new (in S_ITEM_OLD's order) over o changed, for the
 * fields in mask: "created" for a new row and nothing else, "restored" for
 * one marked removed, then each field that moved.
 */
static enum error record_diff(struct store *s, struct wctx *w, const char *sku,
			      const struct old_item *o, const char *const *new, unsigned mask)
{
	static const char *const field[7] = {
	    STORE_CHANGE_TITLE,	   STORE_CHANGE_CONDITION, STORE_CHANGE_PRICE,
	    STORE_CHANGE_CURRENCY, STORE_CHANGE_QUANTITY,  STORE_CHANGE_LISTING_ID,
	    STORE_CHANGE_STATUS,
	};
	enum error err = ERR_OK;

	if (!o->found)
		return add_change(s, w, sku, STORE_CHANGE_CREATED, NULL, NULL);
	if (o->removed && (mask & F_TITLE))
		err = add_change(s, w, sku, STORE_CHANGE_RESTORED, NULL, NULL);
	for (int i = 0; i < 7 && !err; i++)
		if ((mask & (1u << i)) && !same(o->v[i], new[i]))
			err = add_change(s, w, sku, field[i], o->v[i], new[i]);
	return err;
}

static enum error upsert_item(struct store *s, struct wctx *w, const struct item_row *it)
{
	sqlite3_stmt *st = w->item;
	int known = it->offer_fields_known != 0;
	const char *status = it->ebay_status ? it->ebay_status : "UNKNOWN";
	char qty[24];
	const char *new[7];
	struct old_item o;
	enum error err;

	err = read_old(s, w, it->sku, &o);
	if (err)
		return err;
	sqlite3_reset(st);
	bind_text(st, 1, w->user_id);
	bind_text(st, 2, it->sku);
	bind_text(st, 3, it->title);
	bind_text(st, 4, it->condition);
	bind_text(st, 5, it->part_number);
	bind_text(st, 6, it->model);
	bind_text(st, 7, known ? it->category : NULL);
	bind_text(st, 8, known ? store_price(it->price_value) : NULL);
	bind_text(st, 9, known ? it->price_currency : NULL);
	bind_count(st, 10, it->quantity);
	bind_text(st, 11, known ? it->ebay_listing_id : NULL);
	bind_text(st, 12, known ? it->ebay_status : NULL);
	sqlite3_bind_int(st, 13, it->photo_count > 0 ? it->photo_count : 0);
	bind_text(st, 14, it->raw_payload);
	bind_text(st, 15, w->run_id);
	bind_text(st, 16, w->now);
	sqlite3_bind_int(st, 17, known);
	if (!step_done(st)) {
		err = db_fail(s, "cannot upsert inventory row for sku '%s'", it->sku);
		goto out;
	}
	snprintf(qty, sizeof(qty), "%lld", it->quantity);
	new[0] = it->title;
	new[1] = it->condition;
	new[2] = store_price(it->price_value);
	new[3] = it->price_currency;
	new[4] = it->quantity < 0 ? NULL : qty;
	new[5] = it->ebay_listing_id;
	new[6] = status;
	/* Unknown offer fields stay as stored: they cannot move. */
	err = record_diff(s, w, it->sku, &o, new, known ? F_ITEM | F_OFFER : F_ITEM);
out:
	old_item_release(&o);
	return err;
}

/*
 * Writes the offer-derived columns of the user's existing row for an item
 * without a payload (see store.h): no row is created, the category stays when
 * the offers name none, nothing else changes, and last_seen_run stays (the
 * row was not read from eBay's inventory). With offers_complete, the SKU's
 * stored offers this run did not write are marked removed.
 */
static enum error update_derived(struct store *s, struct wctx *w, const struct item_row *it)
{
	sqlite3_stmt *st = w->derived;
	const char *new[7] = {NULL};
	struct old_item o;
	enum error err;

	err = read_old(s, w, it->sku, &o);
	if (err)
		return err;
	sqlite3_reset(st);
	bind_text(st, 1, w->user_id);
	bind_text(st, 2, it->sku);
	bind_text(st, 3, it->category);
	bind_text(st, 4, store_price(it->price_value));
	bind_text(st, 5, it->price_currency);
	bind_text(st, 6, it->ebay_listing_id);
	bind_text(st, 7, it->ebay_status);
	bind_text(st, 8, w->now);
	if (!step_done(st)) {
		err = db_fail(s, "cannot update the offer fields of inventory row for sku '%s'",
			      it->sku);
		goto out;
	}
	new[2] = store_price(it->price_value);
	new[3] = it->price_currency;
	new[5] = it->ebay_listing_id;
	new[6] = it->ebay_status ? it->ebay_status : "UNKNOWN";
	/* A row this run created has its "created"; filling in its offer
	 * fields is part of that. */
	if (o.found && !o.created_here)
		err = record_diff(s, w, it->sku, &o, new, F_OFFER);
	if (!err && it->offers_complete) {
		sqlite3_reset(w->gone);
		bind_text(w->gone, 1, w->user_id);
		bind_text(w->gone, 2, it->sku);
		bind_text(w->gone, 3, w->run_id);
		bind_text(w->gone, 4, w->now);
		if (!step_done(w->gone))
			err = db_fail(s, "cannot mark the removed offers of sku '%s'", it->sku);
		sqlite3_reset(w->gone);
	}
out:
	old_item_release(&o);
	return err;
}

static enum error upsert_offer(struct store *s, struct wctx *w, const struct offer_row *o)
{
	sqlite3_stmt *st = w->offer;

	sqlite3_reset(st);
	bind_text(st, 1, w->user_id);
	bind_text(st, 2, o->offer_id);
	bind_text(st, 3, o->sku);
	bind_text(st, 4, o->marketplace_id);
	bind_text(st, 5, o->format);
	bind_text(st, 6, o->status);
	bind_text(st, 7, o->listing_id);
	bind_text(st, 8, o->listing_status);
	bind_text(st, 9, store_price(o->price_value));
	bind_text(st, 10, o->price_currency);
	bind_count(st, 11, o->available_quantity);
	bind_count(st, 12, o->sold_quantity);
	bind_text(st, 13, o->category_id);
	bind_text(st, 14, o->listing_start_date);
	bind_text(st, 15, o->raw_payload ? o->raw_payload : "{}");
	bind_text(st, 16, w->run_id);
	bind_text(st, 17, w->now);
	bind_text(st, 18, store_price(o->auction_start_price));
	if (!step_done(st))
		return db_fail(s, "cannot upsert offer row for offer '%s' (sku '%s')", o->offer_id,
			       o->sku);
	return ERR_OK;
}

static enum error sqlite_write_batch(struct store *s, const char *user_id, const char *run_id,
				     const struct item_row *items, size_t n_items,
				     const struct offer_row *offers, size_t n_offers)
{
	struct wctx w = {.user_id = user_id, .run_id = run_id};
	size_t i;
	enum error err;

	err = stmt(s, S_ITEM_UPSERT, &w.item);
	if (!err)
		err = stmt(s, S_OFFER_UPSERT, &w.offer);
	if (!err)
		err = stmt(s, S_ITEM_DERIVED, &w.derived);
	if (!err)
		err = stmt(s, S_ITEM_OLD, &w.old);
	if (!err)
		err = stmt(s, S_CHANGE_INSERT, &w.change);
	if (!err)
		err = stmt(s, S_OFFERS_GONE, &w.gone);
	if (!err)
		err = tx_run(s, S_BEGIN, "begin");
	if (err)
		return err;
	w.now_ms = timeutil_wall_ms();
	timeutil_iso(w.now_ms, w.now, sizeof(w.now));
	for (i = 0; i < n_items && !err; i++)
		if (items[i].raw_payload)
			err = upsert_item(s, &w, &items[i]);
	for (i = 0; i < n_offers && !err; i++)
		err = upsert_offer(s, &w, &offers[i]);
	for (i = 0; i < n_items && !err; i++)
		if (!items[i].raw_payload)
			err = update_derived(s, &w, &items[i]);
	sqlite3_reset(w.item);
	sqlite3_reset(w.offer);
	sqlite3_reset(w.derived);
	if (!err)
		err = tx_run(s, S_COMMIT, "commit");
	if (err)
		tx_rollback(s);
	return err;
}

/* ---- deletions ----------------------------------------------------------- */

/* Runs statement id with (user, run, value 3) and adds the rows it changed
 * to *count. */
static enum error mark_step(struct store *s, enum stmt_id id, const char *user_id,
			    const char *run_id, long long ms, const char *iso, long long *count)
{
	sqlite3_stmt *st;
	enum error err = stmt(s, id, &st);

	if (err)
		return err;
	bind_text(st, 1, user_id);
	bind_text(st, 2, run_id);
	if (id == S_MARK_CHANGES)
		sqlite3_bind_int64(st, 3, ms);
	else
		bind_text(st, 3, iso);
	if (!step_done(st))
		err = db_fail(s, "cannot mark the removed rows of user '%s'", user_id);
	else if (count)
		*count = sqlite3_changes(db_of(s));
	sqlite3_reset(st);
	return err;
}

static enum error sqlite_mark_removed(struct store *s, const char *user_id, const char *run_id,
				      long long *items, long long *offers)
{
	long long ms = timeutil_wall_ms();
	char iso[32];
	enum error err;

	timeutil_iso(ms, iso, sizeof(iso));
	err = tx_run(s, S_BEGIN, "begin");
	if (err)
		return err;
	/* The change rows first, then the offers, then the rows themselves:
	 * each step selects by the rows not marked yet. */
	err = mark_step(s, S_MARK_CHANGES, user_id, run_id, ms, iso, NULL);
	if (!err)
		err = mark_step(s, S_MARK_OFFERS, user_id, run_id, ms, iso, offers);
	if (!err)
		err = mark_step(s, S_MARK_ITEMS, user_id, run_id, ms, iso, items);
	if (!err)
		err = tx_run(s, S_COMMIT, "commit");
	if (err) {
		tx_rollback(s);
		*items = *offers = 0;
	}
	return err;
}

static enum error sqlite_count_removed(struct store *s, const char *user_id, const char *table,
				       const char *run_id, long long *count)
{
	sqlite3_stmt *st;
	enum error err;

	err = stmt(s, strcmp(table, "offers") ? S_REMOVED_INVENTORY : S_REMOVED_OFFERS, &st);
	if (err)
		return err;
	bind_text(st, 1, user_id);
	bind_text(st, 2, run_id);
	if (sqlite3_step(st) == SQLITE_ROW)
		*count = sqlite3_column_int64(st, 0);
	else
		err = db_fail(s, "cannot count removed %s rows of user '%s'", table, user_id);
	sqlite3_reset(st);
	return err;
}

/* ---- runs ---------------------------------------------------------------- */

static void read_run(sqlite3_stmt *st, struct run_row *r)
{
	r->id = col_text(st, 0);
	r->user_id = col_text(st, 1);
	r->kind = col_text(st, 2);
	r->status = col_text(st, 3);
	r->fetched = sqlite3_column_int64(st, 4);
	r->stored = sqlite3_column_int64(st, 5);
	r->failed = sqlite3_column_int64(st, 6);
	r->total = sqlite3_column_int64(st, 7);
	r->started_ms = sqlite3_column_int64(st, 8);
	r->finished_ms = sqlite3_column_int64(st, 9); /* NULL reads as 0 */
	r->heartbeat_ms = sqlite3_column_int64(st, 10);
	r->stop_requested = sqlite3_column_int(st, 11) != 0;
	r->error = col_text(st, 12);
	r->owner = col_text(st, 13);
	r->error_code = col_text(st, 14);
}

/* Refuses r because the user has a running run of its kind: names that
 * run when it is still there. */
static enum error running_conflict(struct store *s, const struct run_row *r)
{
	sqlite3_stmt *st;
	char *id = NULL;
	enum error err;

	if (stmt(s, S_RUN_RUNNING, &st) == ERR_OK) {
		bind_text(st, 1, r->user_id);
		bind_text(st, 2, r->kind);
		if (sqlite3_step(st) == SQLITE_ROW)
			id = col_text(st, 0);
		sqlite3_reset(st);
	}
	err = store_run_conflict(s, r, id);
	free(id);
	return err;
}

static enum error sqlite_run_insert(struct store *s, const struct run_row *r)
{
	sqlite3_stmt *st;
	enum error err;
	int running = 0;

	err = stmt(s, S_RUN_INSERT, &st);
	if (err)
		return err;
	bind_text(st, 1, r->id);
	bind_text(st, 2, r->user_id);
	bind_text(st, 3, r->kind);
	bind_text(st, 4, r->status);
	sqlite3_bind_int64(st, 5, r->fetched);
	sqlite3_bind_int64(st, 6, r->stored);
	sqlite3_bind_int64(st, 7, r->failed);
	sqlite3_bind_int64(st, 8, r->total);
	sqlite3_bind_int64(st, 9, r->started_ms);
	if (r->finished_ms)
		sqlite3_bind_int64(st, 10, r->finished_ms);
	else
		sqlite3_bind_null(st, 10);
	sqlite3_bind_int64(st, 11, r->heartbeat_ms ? r->heartbeat_ms : r->started_ms);
	sqlite3_bind_int(st, 12, r->stop_requested != 0);
	bind_text(st, 13, r->error);
	bind_text(st, 14, r->owner);
	bind_text(st, 15, r->error_code);
	if (!step_done(st)) {
		/* The index of migration 0003: the user already has a running
		 * run of this kind (a taken id is SQLITE_CONSTRAINT_PRIMARYKEY). */
		running = sqlite3_extended_errcode(db_of(s)) == SQLITE_CONSTRAINT_UNIQUE;
		err = db_fail(s, "cannot insert sync_runs row '%s'", r->id);
	}
	sqlite3_reset(st);
	return running ? running_conflict(s, r) : err;
}

static enum error sqlite_run_update(struct store *s, const struct run_row *r)
{
	sqlite3_stmt *st;
	enum error err;

	err = stmt(s, S_RUN_UPDATE, &st);
	if (err)
		return err;
	bind_text(st, 1, r->id);
	bind_text(st, 2, r->status);
	sqlite3_bind_int64(st, 3, r->fetched);
	sqlite3_bind_int64(st, 4, r->stored);
	sqlite3_bind_int64(st, 5, r->failed);
	sqlite3_bind_int64(st, 6, r->total);
	sqlite3_bind_int64(st, 7, r->heartbeat_ms);
	if (r->finished_ms)
		sqlite3_bind_int64(st, 8, r->finished_ms);
	else
		sqlite3_bind_null(st, 8);
	bind_text(st, 9, r->error);
	bind_text(st, 10, r->error_code);
	if (!step_done(st))
		err = db_fail(s, "cannot update sync_runs row '%s'", r->id);
	else if (sqlite3_changes(db_of(s)) == 0)
		err = store_fail(s, ERR_NOTFOUND, "cannot update run '%s': no such run", r->id);
	sqlite3_reset(st);
	return err;
}

static enum error sqlite_run_get(struct store *s, const char *user_id, const char *run_id,
				 struct run_row *out)
{
	sqlite3_stmt *st;
	enum error err;
	int rc;

	memset(out, 0, sizeof(*out));
	err = stmt(s, S_RUN_GET, &st);
	if (err)
		return err;
	bind_text(st, 1, run_id);
	bind_text(st, 2, user_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		read_run(st, out);
	else if (rc == SQLITE_DONE)
		err = store_fail(s, ERR_NOTFOUND, "no run '%s'%s%s%s", run_id,
				 user_id ? " for user '" : "", user_id ? user_id : "",
				 user_id ? "'" : "");
	else
		err = db_fail(s, "cannot read sync_runs row '%s'", run_id);
	sqlite3_reset(st);
	return err;
}

static enum error sqlite_run_counts(struct store *s, json_t **out)
{
	sqlite3_stmt *st;
	enum error err;
	int rc;

	err = stmt(s, S_RUN_COUNTS, &st);
	if (err)
		return err;
	*out = json_object();
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		json_object_set_new(*out, (const char *)sqlite3_column_text(st, 0),
				    json_integer(sqlite3_column_int64(st, 1)));
	if (rc != SQLITE_DONE) {
		err = db_fail(s, "cannot count sync_runs rows by status");
		json_decref(*out);
		*out = NULL;
	}
	sqlite3_reset(st);
	return err;
}

static enum error sqlite_run_list(struct store *s, const char *user_id, long long limit,
				  long long offset, struct run_row **out, size_t *n,
				  long long *total)
{
	sqlite3_stmt *st;
	struct run_row *rows = NULL;
	size_t count = 0;
	enum error err;
	int rc;

	err = stmt(s, S_RUN_COUNT, &st);
	if (err)
		return err;
	bind_text(st, 1, user_id);
	if (sqlite3_step(st) != SQLITE_ROW)
		err = db_fail(s, "cannot count sync_runs rows");
	else if (total)
		*total = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (!err)
		err = stmt(s, S_RUN_LIST, &st);
	if (err)
		return err;
	bind_text(st, 1, user_id);
	sqlite3_bind_int64(st, 2, limit > 0 ? limit : -1);
	sqlite3_bind_int64(st, 3, offset > 0 ? offset : 0);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		rows = xrealloc(rows, (count + 1) * sizeof(*rows));
		read_run(st, &rows[count++]);
	}
	if (rc != SQLITE_DONE) {
		err = db_fail(s, "cannot list sync_runs rows");
		while (count)
			run_row_release(&rows[--count]);
		FREE_AND_NULL(rows);
	}
	sqlite3_reset(st);
	*out = rows;
	*n = count;
	return err;
}

static enum error sqlite_run_request_stop(struct store *s, const char *user_id, const char *run_id)
{
	sqlite3_stmt *st;
	struct run_row r;
	enum error err;
	int changed;

	err = stmt(s, S_RUN_STOP, &st);
	if (err)
		return err;
	bind_text(st, 1, run_id);
	bind_text(st, 2, user_id);
	if (!step_done(st))
		err = db_fail(s, "cannot update sync_runs row '%s'", run_id);
	changed = sqlite3_changes(db_of(s));
	sqlite3_reset(st);
	if (err || changed)
		return err;
	/* Nothing changed: say whether the run is missing or just not running. */
	err = sqlite_run_get(s, user_id, run_id, &r);
	if (!err)
		err = store_fail(s, ERR_CONFLICT, "cannot stop run '%s': it is %s, not running",
				 run_id, r.status);
	run_row_release(&r);
	return err;
}

static enum error sqlite_runs_interrupt_stale(struct store *s, const char *owner,
					      long long stale_ms, long long *count)
{
	long long now = timeutil_wall_ms();
	long long before = stale_ms < 0 ? now : (stale_ms >= now ? LLONG_MIN : now - stale_ms);
	sqlite3_stmt *st;
	enum error err;

	err = stmt(s, S_RUN_INTERRUPT, &st);
	if (err)
		return err;
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_int64(st, 2, before);
	bind_text(st, 3, owner);
	if (!step_done(st))
		err = db_fail(s, "cannot mark stale sync_runs rows interrupted");
	else if (count)
		*count = sqlite3_changes(db_of(s));
	sqlite3_reset(st);
	return err;
}

/* ---- events -------------------------------------------------------------- */

static enum error sqlite_events_append(struct store *s, const char *run_id,
				       const struct event_row *ev, size_t n)
{
	sqlite3_stmt *st;
	enum error err;
	size_t i;

	err = stmt(s, S_EVENT_INSERT, &st);
	if (!err)
		err = tx_run(s, S_BEGIN, "begin");
	if (err)
		return err;
	for (i = 0; i < n && !err; i++) {
		sqlite3_reset(st);
		bind_text(st, 1, run_id);
		sqlite3_bind_int64(st, 2, ev[i].seq);
		bind_text(st, 3, ev[i].type);
		sqlite3_bind_int64(st, 4, ev[i].ts_ms);
		bind_text(st, 5, ev[i].line ? ev[i].line : "");
		bind_text(st, 6, ev[i].data ? ev[i].data : "{}");
		if (!step_done(st))
			err = db_fail(s, "cannot insert sync_events row %lld of run '%s'",
				      ev[i].seq, run_id);
	}
	sqlite3_reset(st);
	if (!err)
		err = tx_run(s, S_COMMIT, "commit");
	if (err)
		tx_rollback(s);
	return err;
}

static enum error sqlite_events_list(struct store *s, const char *run_id, long long after_seq,
				     long long limit, struct event_row **out, size_t *n)
{
	sqlite3_stmt *st;
	struct event_row *rows = NULL;
	size_t count = 0;
	enum error err;
	int rc;

	err = stmt(s, S_EVENT_LIST, &st);
	if (err)
		return err;
	bind_text(st, 1, run_id);
	sqlite3_bind_int64(st, 2, after_seq);
	sqlite3_bind_int64(st, 3, limit > 0 ? limit : -1);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct event_row *e;

		rows = xrealloc(rows, (count + 1) * sizeof(*rows));
		e = &rows[count++];
		e->seq = sqlite3_column_int64(st, 0);
		e->type = col_text(st, 1);
		e->ts_ms = sqlite3_column_int64(st, 2);
		e->line = col_text(st, 3);
		e->data = col_text(st, 4);
	}
	if (rc != SQLITE_DONE) {
		err = db_fail(s, "cannot list sync_events rows of run '%s'", run_id);
		while (count)
			event_row_release(&rows[--count]);
		FREE_AND_NULL(rows);
	}
	sqlite3_reset(st);
	*out = rows;
	*n = count;
	return err;
}

/* ---- failures and cursors ------------------------------------------------ */

static enum error sqlite_failure_add(struct store *s, const char *user_id, const char *kind,
				     const char *run_id, const char *sku, const char *error,
				     int attempts)
{
	sqlite3_stmt *st;
	char now[32];
	enum error err;

	err = stmt(s, S_FAILURE_UPSERT, &st);
	if (err)
		return err;
	now_iso(now);
	bind_text(st, 1, user_id);
	bind_text(st, 2, kind);
	bind_text(st, 3, sku);
	bind_text(st, 4, run_id);
	bind_text(st, 5, error ? error : "");
	sqlite3_bind_int(st, 6, attempts);
	bind_text(st, 7, now);
	if (!step_done(st))
		err = db_fail(s, "cannot upsert sync_failures row for sku '%s'", sku);
	sqlite3_reset(st);
	return err;
}

static enum error sqlite_failure_clear(struct store *s, const char *user_id, const char *kind,
				       const char *sku)
{
	sqlite3_stmt *st;
	enum error err;

	err = stmt(s, S_FAILURE_DELETE, &st);
	if (err)
		return err;
	bind_text(st, 1, user_id);
	bind_text(st, 2, kind);
	bind_text(st, 3, sku);
	if (!step_done(st))
		err = db_fail(s, "cannot delete sync_failures row for sku '%s'", sku);
	sqlite3_reset(st);
	return err;
}

static enum error sqlite_failure_list(struct store *s, const char *user_id, const char *kind,
				      char ***skus, size_t *n)
{
	sqlite3_stmt *st;
	char **list = NULL;
	size_t count = 0;
	enum error err;
	int rc;

	err = stmt(s, S_FAILURE_LIST, &st);
	if (err)
		return err;
	bind_text(st, 1, user_id);
	bind_text(st, 2, kind);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		list = xrealloc(list, (count + 1) * sizeof(*list));
		list[count++] = col_text(st, 0);
	}
	if (rc != SQLITE_DONE) {
		err = db_fail(s, "cannot list sync_failures rows of user '%s'", user_id);
		while (count)
			free(list[--count]);
		FREE_AND_NULL(list);
	}
	sqlite3_reset(st);
	*skus = list;
	*n = count;
	return err;
}

static enum error sqlite_run_failures(struct store *s, const char *run_id, json_t **out)
{
	sqlite3_stmt *st;
	json_t *arr;
	enum error err;
	int rc;

	err = stmt(s, S_RUN_FAILURES, &st);
	if (err)
		return err;
	arr = json_array();
	bind_text(st, 1, run_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		json_array_append_new(
		    arr,
		    json_pack("{s:s, s:s, s:I}", "sku", (const char *)sqlite3_column_text(st, 0),
			      "error", (const char *)sqlite3_column_text(st, 1), "attempts",
			      (json_int_t)sqlite3_column_int64(st, 2)));
	}
	if (rc != SQLITE_DONE) {
		err = db_fail(s, "cannot list sync_failures rows of run '%s'", run_id);
		json_decref(arr);
		arr = NULL;
	}
	sqlite3_reset(st);
	*out = arr;
	return err;
}

static enum error sqlite_cursor_get(struct store *s, const char *user_id, const char *name,
				    char **value)
{
	sqlite3_stmt *st;
	enum error err;
	int rc;

	err = stmt(s, S_CURSOR_GET, &st);
	if (err)
		return err;
	bind_text(st, 1, user_id);
	bind_text(st, 2, name);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*value = col_text(st, 0);
	else if (rc == SQLITE_DONE)
		err = store_fail(s, ERR_NOTFOUND, "no cursor '%s' for user '%s'", name, user_id);
	else
		err = db_fail(s, "cannot read ebay_sync_cursors row '%s'", name);
	sqlite3_reset(st);
	return err;
}

static enum error sqlite_cursor_set(struct store *s, const char *user_id, const char *name,
				    const char *value)
{
	sqlite3_stmt *st;
	char now[32];
	enum error err;

	err = stmt(s, S_CURSOR_SET, &st);
	if (err)
		return err;
	now_iso(now);
	bind_text(st, 1, user_id);
	bind_text(st, 2, name);
	bind_text(st, 3, value);
	bind_text(st, 4, now);
	if (!step_done(st))
		err = db_fail(s, "cannot upsert ebay_sync_cursors row '%s'", name);
	sqlite3_reset(st);
	return err;
}

/* ---- revoked tokens ------------------------------------------------------ */

static enum error sqlite_token_revoke(struct store *s, const char *jti, long long expires_ms)
{
	sqlite3_stmt *st;
	enum error err;

	err = stmt(s, S_TOKEN_PURGE, &st);
	if (err)
		return err;
	sqlite3_bind_int64(st, 1, timeutil_wall_ms());
	if (!step_done(st))
		err = db_fail(s, "cannot purge revoked_tokens");
	sqlite3_reset(st);
	if (err)
		return err;
	err = stmt(s, S_TOKEN_REVOKE, &st);
	if (err)
		return err;
	bind_text(st, 1, jti);
	sqlite3_bind_int64(st, 2, expires_ms);
	if (!step_done(st))
		err = db_fail(s, "cannot insert revoked_tokens row '%s'", jti);
	sqlite3_reset(st);
	return err;
}

static enum error sqlite_token_revoked(struct store *s, const char *jti)
{
	sqlite3_stmt *st;
	enum error err;
	int rc;

	err = stmt(s, S_TOKEN_REVOKED, &st);
	if (err)
		return err;
	bind_text(st, 1, jti);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		err = store_fail(s, ERR_NOTFOUND, "token '%s' is not revoked", jti);
	else if (rc != SQLITE_ROW)
		err = db_fail(s, "cannot read revoked_tokens row '%s'", jti);
	sqlite3_reset(st);
	return err;
}

static enum error sqlite_count_unseen(struct store *s, const char *user_id, const char *table,
				      const char *run_id, long long *count)
{
	sqlite3_stmt *st;
	enum error err;

	err = stmt(s, strcmp(table, "offers") ? S_UNSEEN_INVENTORY : S_UNSEEN_OFFERS, &st);
	if (err)
		return err;
	bind_text(st, 1, user_id);
	bind_text(st, 2, run_id);
	if (sqlite3_step(st) == SQLITE_ROW)
		*count = sqlite3_column_int64(st, 0);
	else
		err = db_fail(s, "cannot count unseen %s rows of user '%s'", table, user_id);
	sqlite3_reset(st);
	return err;
}

/* ---- users --------------------------------------------------------------- */

static void read_user(sqlite3_stmt *st, struct user_row *u)
{
	u->id = col_text(st, 0);
	u->password_hash = col_text(st, 1);
	u->ebay_token = col_text(st, 2);
	u->ebay_refresh_token = col_text(st, 3);
	u->refresh_expires_ms = sqlite3_column_int64(st, 4);
	u->created_ms = sqlite3_column_int64(st, 5);
	u->ebay_token_expires_ms = sqlite3_column_int64(st, 6);
}

static enum error sqlite_user_put(struct store *s, const struct user_row *u)
{
	sqlite3_stmt *st;
	enum error err;

	err = stmt(s, S_USER_PUT, &st);
	if (err)
		return err;
	bind_text(st, 1, u->id);
	bind_text(st, 2, u->password_hash);
	bind_text(st, 3, u->ebay_token);
	bind_text(st, 4, u->ebay_refresh_token);
	if (u->refresh_expires_ms)
		sqlite3_bind_int64(st, 5, u->refresh_expires_ms);
	else
		sqlite3_bind_null(st, 5);
	sqlite3_bind_int64(st, 6, u->created_ms ? u->created_ms : timeutil_wall_ms());
	if (u->ebay_token_expires_ms)
		sqlite3_bind_int64(st, 7, u->ebay_token_expires_ms);
	else
		sqlite3_bind_null(st, 7);
	if (!step_done(st))
		err = db_fail(s, "cannot upsert users row '%s'", u->id);
	sqlite3_reset(st);
	return err;
}

static enum error sqlite_user_get(struct store *s, const char *id, struct user_row *out)
{
	sqlite3_stmt *st;
	enum error err;
	int rc;

	err = stmt(s, S_USER_GET, &st);
	if (err)
		return err;
	bind_text(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		read_user(st, out);
	else if (rc == SQLITE_DONE)
		err = store_fail(s, ERR_NOTFOUND, "no user '%s'", id);
	else
		err = db_fail(s, "cannot read users row '%s'", id);
	sqlite3_reset(st);
	return err;
}

static enum error sqlite_user_list(struct store *s, struct user_row **out, size_t *n)
{
	sqlite3_stmt *st;
	struct user_row *rows = NULL;
	size_t count = 0;
	enum error err;
	int rc;

	err = stmt(s, S_USER_LIST, &st);
	if (err)
		return err;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		rows = xrealloc(rows, (count + 1) * sizeof(*rows));
		read_user(st, &rows[count++]);
	}
	if (rc != SQLITE_DONE) {
		err = db_fail(s, "cannot list users rows");
		while (count)
			user_row_release(&rows[--count]);
		FREE_AND_NULL(rows);
	}
	sqlite3_reset(st);
	*out = rows;
	*n = count;
	return err;
}

/* ---- text statements (for portable.c) ------------------------------------ */

static enum error sqlite_exec_text(struct store *s, const char *sql, int n,
				   const char *const *values, struct store_rows *out)
{
	char *text = xstrdup(sql), *c;
	sqlite3_stmt *st = NULL;
	enum error err = ERR_OK;
	size_t cap = 0, col;
	int i, rc;

	/* $N (PostgreSQL) and ?N (SQLite) number parameters alike. */
	for (c = text; *c; c++)
		if (c[0] == '$' && c[1] >= '0' && c[1] <= '9')
			c[0] = '?';
	if (sqlite3_prepare_v2(db_of(s), text, -1, &st, NULL) != SQLITE_OK) {
		err = db_fail(s, "cannot prepare '%.80s'", sql);
		goto out;
	}
	for (i = 0; i < n; i++)
		bind_text(st, i + 1, values[i]);
	out->n_cols = (size_t)sqlite3_column_count(st);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((out->n_rows + 1) * out->n_cols > cap) {
			cap = cap ? cap * 2 : 16 * (out->n_cols ? out->n_cols : 1);
			out->cells = xrealloc(out->cells, cap * sizeof(*out->cells));
		}
		for (col = 0; col < out->n_cols; col++)
			out->cells[out->n_rows * out->n_cols + col] = col_text(st, (int)col);
		out->n_rows++;
	}
	if (rc != SQLITE_DONE) {
		err = db_fail(s, "cannot run '%.80s'", sql);
		goto out;
	}
	out->changed = sqlite3_changes(db_of(s));
out:
	sqlite3_finalize(st);
	free(text);
	return err;
}

/* Runs stmts in one transaction, taken with BEGIN IMMEDIATE: SQLite's write
 * lock makes the job queue's claim and enqueue atomic among processes. */
static enum error sqlite_exec_text_tx(struct store *s, const struct store_stmt *stmts, size_t n,
				      struct store_rows *outs)
{
	enum error err = tx_run(s, S_BEGIN, "begin");
	size_t i;

	for (i = 0; i < n && !err; i++)
		err = sqlite_exec_text(s, stmts[i].sql, stmts[i].n, stmts[i].values, &outs[i]);
	if (!err)
		err = tx_run(s, S_COMMIT, "commit");
	if (err) {
		tx_rollback(s);
		for (i = 0; i < n; i++)
			store_rows_release(&outs[i]);
	}
	return err;
}

/* ---- a run's SKU list ---------------------------------------------------- */

static enum error sqlite_skus_add(struct store *s, const char *run_id, const char *const *skus,
				  size_t n, unsigned char *is_new, long long *count)
{
	sqlite3_stmt *end, *add;
	long long pos = 0;
	enum error err;
	size_t i;

	err = stmt(s, S_SKUS_END, &end);
	if (!err)
		err = stmt(s, S_SKUS_ADD, &add);
	if (!err)
		err = tx_run(s, S_BEGIN, "begin");
	if (err)
		return err;
	bind_text(end, 1, run_id);
	if (sqlite3_step(end) == SQLITE_ROW)
		pos = sqlite3_column_int64(end, 0);
	else
		err = db_fail(s, "cannot read the SKU list of run '%s'", run_id);
	sqlite3_reset(end);
	bind_text(add, 1, run_id);
	for (i = 0; i < n && !err; i++) {
		sqlite3_bind_int64(add, 2, pos);
		bind_text(add, 3, skus[i]);
		if (!step_done(add))
			err = db_fail(s, "cannot add SKU '%s' to the list of run '%s'", skus[i],
				      run_id);
		else if (sqlite3_changes(db_of(s)) == 1)
			pos++;
		if (is_new)
			is_new[i] = !err && sqlite3_changes(db_of(s)) == 1;
		sqlite3_reset(add);
	}
	if (!err)
		err = tx_run(s, S_COMMIT, "commit");
	if (err)
		tx_rollback(s);
	else if (count)
		*count = pos;
	return err;
}

static enum error sqlite_skus_range(struct store *s, const char *run_id, long long from,
				    size_t limit, char ***skus, size_t *n)
{
	sqlite3_stmt *st;
	char **list = NULL;
	size_t count = 0;
	enum error err;
	int rc;

	err = stmt(s, S_SKUS_RANGE, &st);
	if (err)
		return err;
	list = xcalloc(limit ? limit : 1, sizeof(*list));
	bind_text(st, 1, run_id);
	sqlite3_bind_int64(st, 2, from);
	sqlite3_bind_int64(st, 3, (long long)limit);
	while (count < limit && (rc = sqlite3_step(st)) == SQLITE_ROW)
		list[count++] = col_text(st, 0);
	if (count < limit && rc != SQLITE_DONE) {
		err = db_fail(s, "cannot read the SKU list of run '%s'", run_id);
		while (count)
			free(list[--count]);
		FREE_AND_NULL(list);
	}
	sqlite3_reset(st);
	*skus = list;
	*n = count;
	return err;
}

static enum error sqlite_skus_find(struct store *s, const char *run_id, const char *const *skus,
				   size_t n, long long *pos)
{
	sqlite3_stmt *st;
	enum error err;
	size_t i;
	int rc;

	err = stmt(s, S_SKUS_FIND, &st);
	if (err)
		return err;
	/* One statement a SKU: in-process, each an index probe. */
	bind_text(st, 1, run_id);
	for (i = 0; i < n && !err; i++) {
		bind_text(st, 2, skus[i]);
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW)
			pos[i] = sqlite3_column_int64(st, 0);
		else if (rc == SQLITE_DONE)
			pos[i] = -1;
		else
			err = db_fail(s, "cannot read the SKU list of run '%s'", run_id);
		sqlite3_reset(st);
	}
	return err;
}

static enum error sqlite_skus_clear(struct store *s, const char *run_id)
{
	sqlite3_stmt *st;
	enum error err = stmt(s, run_id ? S_SKUS_CLEAR : S_SKUS_CLEAR_DEAD, &st);

	if (err)
		return err;
	if (run_id)
		bind_text(st, 1, run_id);
	if (!step_done(st))
		err =
		    db_fail(s, "cannot drop the SKU list of run '%s'", run_id ? run_id : "(ended)");
	sqlite3_reset(st);
	return err;
}

/* ---- refresh ---------------------------------------------------------------- */

static long long count_or_absent(sqlite3_stmt *st, int i)
{
	return sqlite3_column_type(st, i) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, i);
}

static enum error sqlite_items_by_sku(struct store *s, const char *user_id, const char *const *skus,
				      size_t n, struct stored_item **out, size_t *n_out)
{
	char *list = store_sku_array(skus, n);
	struct stored_item *rows = xcalloc(n, sizeof(*rows));
	sqlite3_stmt *st;
	size_t count = 0;
	enum error err;
	int rc;

	err = stmt(s, S_ITEMS_BY_SKU, &st);
	if (err)
		goto out;
	bind_text(st, 1, user_id);
	bind_text(st, 2, list);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && count < n) {
		struct stored_item *it = &rows[count++];
		it->sku = col_text(st, 0);
		it->raw_payload = col_text(st, 1);
		it->ebay_status = col_text(st, 2);
		it->live_offers = sqlite3_column_int64(st, 3);
	}
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		err = db_fail(s, "cannot read inventory rows of user '%s' by SKU", user_id);
	sqlite3_reset(st);
out:
	free(list);
	if (err) {
		while (count)
			stored_item_release(&rows[--count]);
		FREE_AND_NULL(rows);
	}
	*out = rows;
	*n_out = count;
	return err;
}

static enum error sqlite_offers_by_sku(struct store *s, const char *user_id,
				       const char *const *skus, size_t n, struct offer_row **out,
				       size_t *n_out)
{
	char *list = store_sku_array(skus, n);
	struct offer_row *rows = NULL;
	sqlite3_stmt *st;
	size_t count = 0, cap = 0;
	enum error err;
	int rc;

	err = stmt(s, S_OFFERS_BY_SKU, &st);
	if (err)
		goto out;
	bind_text(st, 1, user_id);
	bind_text(st, 2, list);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct offer_row *o;

		if (count == cap) {
			cap = cap * 2 + 16;
			rows = xrealloc(rows, cap * sizeof(*rows));
		}
		o = &rows[count++];
		memset(o, 0, sizeof(*o));
		o->offer_id = col_text(st, 0);
		o->sku = col_text(st, 1);
		o->marketplace_id = col_text(st, 2);
		o->format = col_text(st, 3);
		o->status = col_text(st, 4);
		o->listing_id = col_text(st, 5);
		o->listing_status = col_text(st, 6);
		o->price_value = col_text(st, 7);
		o->price_currency = col_text(st, 8);
		o->available_quantity = count_or_absent(st, 9);
		o->sold_quantity = count_or_absent(st, 10);
		o->category_id = col_text(st, 11);
		o->listing_start_date = col_text(st, 12);
		o->raw_payload = col_text(st, 13);
	}
	if (rc != SQLITE_DONE)
		err = db_fail(s, "cannot read offers of user '%s' by SKU", user_id);
	sqlite3_reset(st);
out:
	free(list);
	if (err) {
		while (count)
			offer_row_release(&rows[--count]);
		FREE_AND_NULL(rows);
	}
	*out = rows;
	*n_out = count;
	return err;
}

static enum error sqlite_items_seen(struct store *s, const char *user_id, const char *run_id,
				    const char *const *skus, size_t n)
{
	char *list = store_sku_array(skus, n);
	sqlite3_stmt *st;
	enum error err;

	err = stmt(s, S_ITEMS_SEEN, &st);
	if (!err) {
		bind_text(st, 1, user_id);
		bind_text(st, 2, list);
		bind_text(st, 3, run_id);
		if (!step_done(st))
			err = db_fail(s, "cannot mark inventory rows of user '%s' seen", user_id);
		sqlite3_reset(st);
	}
	free(list);
	return err;
}

const struct store_ops store_sqlite_ops = {
    .name = "sqlite",
    .open = sqlite_open,
    .close = sqlite_close,
    .write_batch = sqlite_write_batch,
    .run_insert = sqlite_run_insert,
    .run_update = sqlite_run_update,
    .run_get = sqlite_run_get,
    .run_list = sqlite_run_list,
    .run_counts = sqlite_run_counts,
    .run_request_stop = sqlite_run_request_stop,
    .runs_interrupt_stale = sqlite_runs_interrupt_stale,
    .events_append = sqlite_events_append,
    .events_list = sqlite_events_list,
    .failure_add = sqlite_failure_add,
    .failure_clear = sqlite_failure_clear,
    .failure_list = sqlite_failure_list,
    .run_failures = sqlite_run_failures,
    .cursor_get = sqlite_cursor_get,
    .cursor_set = sqlite_cursor_set,
    .skus_add = sqlite_skus_add,
    .skus_range = sqlite_skus_range,
    .skus_find = sqlite_skus_find,
    .skus_clear = sqlite_skus_clear,
    .token_revoke = sqlite_token_revoke,
    .token_revoked = sqlite_token_revoked,
    .list_items = store_sqlite_list_items,
    .list_offers = store_sqlite_list_offers,
    .mark_removed = sqlite_mark_removed,
    .count_removed = sqlite_count_removed,
    .list_changes = store_sqlite_list_changes,
    .count_unseen = sqlite_count_unseen,
    .user_put = sqlite_user_put,
    .user_get = sqlite_user_get,
    .user_list = sqlite_user_list,
    .exec_text = sqlite_exec_text,
    .items_by_sku = sqlite_items_by_sku,
    .offers_by_sku = sqlite_offers_by_sku,
    .items_seen = sqlite_items_seen,
    .exec_text_tx = sqlite_exec_text_tx,
};
