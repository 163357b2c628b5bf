-- The SKU list of a running sync (Step 1 of the offers sync): every
-- distinct SKU eBay listed, at its position in eBay's order, so that the
-- engine keeps it here rather than in memory (1,000,000 SKUs would be about
-- 250 MB of heap) and reads it back in chunks, by position. A run drops
-- its list when it ends; a new run drops the lists of runs no longer
-- running (a process that died).
CREATE TABLE sync_run_skus (
    run_id    TEXT NOT NULL,
    pos       INTEGER NOT NULL,
    sku_code  TEXT NOT NULL,
    PRIMARY KEY (run_id, pos),
    UNIQUE (run_id, sku_code)
);
