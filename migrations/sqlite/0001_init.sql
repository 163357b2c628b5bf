-- ebaysync schema, version 1 (SQLite dialect; migrations/pg/0001_init.sql is
-- the same schema for PostgreSQL). Every row is keyed by user.
-- Timestamps are ISO-8601 UTC text here, timestamptz there; *_ms are epoch ms.

CREATE TABLE users (
    id                  TEXT PRIMARY KEY,
    password_hash       TEXT NOT NULL,
    ebay_token          TEXT,
    ebay_refresh_token  TEXT,
    refresh_expires_ms  INTEGER,
    created_ms          INTEGER NOT NULL
);

CREATE TABLE inventory (
    user_id          TEXT NOT NULL,
    sku_code         TEXT NOT NULL,
    title            TEXT,
    condition        TEXT,
    part_number      TEXT,
    model            TEXT,
    category         TEXT,
    price_value      TEXT,
    price_currency   TEXT,
    quantity         INTEGER,
    ebay_listing_id  TEXT,
    ebay_status      TEXT NOT NULL DEFAULT 'UNKNOWN',
    photo_count      INTEGER NOT NULL DEFAULT 0,
    raw_payload      TEXT NOT NULL,
    last_seen_run    TEXT,
    rec_created      TEXT NOT NULL,
    rec_updated      TEXT NOT NULL,
    PRIMARY KEY (user_id, sku_code)
);
CREATE INDEX inventory_user_title ON inventory (user_id, title);
CREATE INDEX inventory_user_status ON inventory (user_id, ebay_status);
CREATE INDEX inventory_user_condition ON inventory (user_id, condition);

CREATE TABLE offers (
    user_id             TEXT NOT NULL,
    offer_id            TEXT NOT NULL,
    sku_code            TEXT NOT NULL,
    marketplace_id      TEXT,
    format              TEXT,
    status              TEXT,
    listing_id          TEXT,
    listing_status      TEXT,
    price_value         TEXT,
    price_currency      TEXT,
    available_quantity  INTEGER,
    sold_quantity       INTEGER,
    category_id         TEXT,
    listing_start_date  TEXT,
    raw_payload         TEXT NOT NULL,
    last_seen_run       TEXT,
    rec_created         TEXT NOT NULL,
    rec_updated         TEXT NOT NULL,
    PRIMARY KEY (user_id, offer_id)
);
CREATE INDEX offers_user_sku ON offers (user_id, sku_code);
CREATE INDEX offers_user_status ON offers (user_id, status);

CREATE TABLE sync_runs (
    id              TEXT PRIMARY KEY,
    user_id         TEXT NOT NULL,
    kind            TEXT NOT NULL,
    status          TEXT NOT NULL,
    fetched         INTEGER NOT NULL DEFAULT 0,
    stored          INTEGER NOT NULL DEFAULT 0,
    failed          INTEGER NOT NULL DEFAULT 0,
    total           INTEGER NOT NULL DEFAULT 0,
    started_ms      INTEGER NOT NULL,
    finished_ms     INTEGER,
    heartbeat_ms    INTEGER NOT NULL,
    stop_requested  INTEGER NOT NULL DEFAULT 0,
    error           TEXT,
    owner           TEXT
);
CREATE INDEX sync_runs_user_started ON sync_runs (user_id, started_ms DESC);
CREATE INDEX sync_runs_status ON sync_runs (status);

CREATE TABLE sync_events (
    run_id  TEXT NOT NULL,
    seq     INTEGER NOT NULL,
    type    TEXT NOT NULL,
    ts_ms   INTEGER NOT NULL,
    line    TEXT NOT NULL,
    data    TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
);

CREATE TABLE sync_failures (
    user_id       TEXT NOT NULL,
    kind          TEXT NOT NULL,
    sku_code      TEXT NOT NULL,
    run_id        TEXT NOT NULL,
    error         TEXT NOT NULL,
    attempts      INTEGER NOT NULL,
    first_failed  TEXT NOT NULL,
    last_failed   TEXT NOT NULL,
    PRIMARY KEY (user_id, kind, sku_code)
);
CREATE INDEX sync_failures_run ON sync_failures (run_id);

CREATE TABLE ebay_sync_cursors (
    user_id  TEXT NOT NULL,
    name     TEXT NOT NULL,
    value    TEXT NOT NULL,
    updated  TEXT NOT NULL,
    PRIMARY KEY (user_id, name)
);
