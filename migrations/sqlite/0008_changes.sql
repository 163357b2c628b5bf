-- Deletions and the change log (issue 11; docs/schema.md).
--
-- removed_at: when a completed inventory walk (or, for an offer, an offers
-- sync that fetched its SKU) noticed the row was gone from eBay; NULL while
-- it is there, and removed_run the run that noticed it. Rows are never
-- deleted: a SKU that comes back clears both.
-- first_seen_run: the run that created the row, so that the offer fields a
-- first sync fills in are not logged as changes of a row it just created.
-- auction_start_price: pricingSummary.auctionStartPrice.value of an offer.
ALTER TABLE inventory ADD COLUMN removed_at TEXT;
ALTER TABLE inventory ADD COLUMN removed_run TEXT;
ALTER TABLE inventory ADD COLUMN first_seen_run TEXT;
ALTER TABLE offers ADD COLUMN removed_at TEXT;
ALTER TABLE offers ADD COLUMN removed_run TEXT;
ALTER TABLE offers ADD COLUMN auction_start_price TEXT;

-- What each sync changed, per SKU and field, written in the transaction
-- that changed it. field is a kind (created, removed, restored) with NULL
-- values, or one of price, currency, quantity, status, listing_id, title,
-- condition with the old and new value as text (NULL: absent).
CREATE TABLE sync_changes (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id     TEXT NOT NULL,
    run_id      TEXT,
    changed_ms  INTEGER NOT NULL,
    sku_code    TEXT NOT NULL,
    field       TEXT NOT NULL,
    old_value   TEXT,
    new_value   TEXT
);
CREATE INDEX sync_changes_user ON sync_changes (user_id, id);
CREATE INDEX sync_changes_user_sku ON sync_changes (user_id, sku_code, id);
CREATE INDEX sync_changes_run ON sync_changes (run_id, id);
CREATE INDEX inventory_user_removed ON inventory (user_id, removed_at);
