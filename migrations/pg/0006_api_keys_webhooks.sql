-- API keys for scripts, and webhooks (docs/api.md).
--
-- api_keys: a key is shown once when it is made and stored only as the
-- SHA-256 of the key (key_hash, hex); prefix keeps its first characters so
-- that a list can tell keys apart. scope is 'read' (the mirror, runs and
-- events) or 'sync' (also start and stop syncs). A key is refused once
-- revoked_ms is set or expires_ms has passed.
CREATE TABLE api_keys (
    id            TEXT PRIMARY KEY,
    user_id       TEXT NOT NULL,
    name          TEXT NOT NULL,
    scope         TEXT NOT NULL,
    key_hash      TEXT NOT NULL UNIQUE,
    prefix        TEXT NOT NULL,
    created_ms    BIGINT NOT NULL,
    last_used_ms  BIGINT,
    expires_ms    BIGINT,
    revoked_ms    BIGINT
);
CREATE INDEX api_keys_user ON api_keys (user_id, created_ms);

-- webhooks: where a user's events are POSTed. events is a comma-separated
-- list of event names ('run.finished'); secret is the HMAC-SHA256 key of
-- the signatures, sealed like the eBay tokens (src/secret.h).
CREATE TABLE webhooks (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL,
    url         TEXT NOT NULL,
    events      TEXT NOT NULL,
    enabled     BIGINT NOT NULL DEFAULT 1,
    secret      TEXT NOT NULL,
    created_ms  BIGINT NOT NULL
);
CREATE INDEX webhooks_user ON webhooks (user_id, created_ms);

-- webhook_deliveries: one event for one endpoint, kept so that a delivery
-- outlives a restart of serve, and so that the user can see and redeliver
-- it. status is 'pending' (next_attempt_ms says when), 'delivered' or
-- 'failed' (gave up after a day of retries).
CREATE TABLE webhook_deliveries (
    id                TEXT PRIMARY KEY,
    webhook_id        TEXT NOT NULL,
    user_id           TEXT NOT NULL,
    event             TEXT NOT NULL,
    payload           TEXT NOT NULL,
    status            TEXT NOT NULL,
    attempts          BIGINT NOT NULL DEFAULT 0,
    created_ms        BIGINT NOT NULL,
    next_attempt_ms   BIGINT NOT NULL,
    last_attempt_ms   BIGINT,
    last_http_status  BIGINT,
    last_error        TEXT
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_ms);
CREATE INDEX webhook_deliveries_hook ON webhook_deliveries (webhook_id, created_ms);
