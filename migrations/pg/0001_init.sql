-- ebaysync schema, version 1 (PostgreSQL dialect; migrations/sqlite/0001_init.sql is
-- the same schema for SQLite). Every row is keyed by user.
-- Timestamps are ISO-8601 UTC text here, timestamptz there; *_ms are epoch ms.

CREATE TABLE users (
    id                  TEXT PRIMARY KEY,
    password_hash       TEXT NOT NULL,
    ebay_token          TEXT,
    ebay_refresh_token  TEXT,
    refresh_expires_ms  BIGINT,
    created_ms          BIGINT NOT NULL
);

CREATE TABLE inventory (
    user_id          TEXT NOT NULL,
    sku_code         TEXT NOT NULL,
    title            TEXT,
    condition        TEXT,
    part_number      TEXT,
    model            TEXT,
    category         TEXT,
    price_value      NUMERIC,
    price_currency   TEXT,
    quantity         BIGINT,
    ebay_listing_id  TEXT,
    ebay_status      TEXT NOT NULL DEFAULT 'UNKNOWN',
    photo_count      BIGINT NOT NULL DEFAULT 0,
    raw_payload      JSONB NOT NULL,
    last_seen_run    TEXT,
    rec_created      TIMESTAMPTZ NOT NULL,
    rec_updated      TIMESTAMPTZ NOT NULL,
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
    price_value         NUMERIC,
    price_currency      TEXT,
    available_quantity  BIGINT,
    sold_quantity       BIGINT,
    category_id         TEXT,
    listing_start_date  TEXT,
    raw_payload         JSONB NOT NULL,
    last_seen_run       TEXT,
    rec_created         TIMESTAMPTZ NOT NULL,
    rec_updated         TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (user_id, offer_id)
);
CREATE INDEX offers_user_sku ON offers (user_id, sku_code);
CREATE INDEX offers_user_status ON offers (user_id, status);

CREATE TABLE sync_runs (
    id              TEXT PRIMARY KEY,
    user_id         TEXT NOT NULL,
    kind            TEXT NOT NULL,
    status          TEXT NOT NULL,
    fetched         BIGINT NOT NULL DEFAULT 0,
    stored          BIGINT NOT NULL DEFAULT 0,
    failed          BIGINT NOT NULL DEFAULT 0,
    total           BIGINT NOT NULL DEFAULT 0,
    started_ms      BIGINT NOT NULL,
    finished_ms     BIGINT,
    heartbeat_ms    BIGINT NOT NULL,
    stop_requested  BIGINT NOT NULL DEFAULT 0,
    error           TEXT,
    owner           TEXT
);
CREATE INDEX sync_runs_user_started ON sync_runs (user_id, started_ms DESC);
CREATE INDEX sync_runs_status ON sync_runs (status);

CREATE TABLE sync_events (
    run_id  TEXT NOT NULL,
    seq     BIGINT NOT NULL,
    type    TEXT NOT NULL,
    ts_ms   BIGINT NOT NULL,
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
    attempts      BIGINT NOT NULL,
    first_failed  TIMESTAMPTZ NOT NULL,
    last_failed   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (user_id, kind, sku_code)
);
CREATE INDEX sync_failures_run ON sync_failures (run_id);

CREATE TABLE ebay_sync_cursors (
    user_id  TEXT NOT NULL,
    name     TEXT NOT NULL,
    value    TEXT NOT NULL,
    updated  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (user_id, name)
);

-- Case-insensitive substring search on SKU and title for the page.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX inventory_sku_trgm ON inventory USING gin (lower(sku_code) gin_trgm_ops);
CREATE INDEX inventory_title_trgm ON inventory USING gin (lower(title) gin_trgm_ops);
