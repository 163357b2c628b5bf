-- eBay's daily quota (issue 12; docs/quota.md).
--
-- ebay_calls: the eBay calls every process made, per UTC day ('YYYY-MM-DD'),
-- eBay API ('sell.inventory', 'sell.feed', 'identity', 'developer.analytics')
-- and user ('' for calls of no user), added to in batches by each process
-- (src/ledger.c), never one write a call.
CREATE TABLE ebay_calls (
    day      TEXT NOT NULL,
    api      TEXT NOT NULL,
    user_id  TEXT NOT NULL,
    calls    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, api, user_id)
);

-- quota_shares: a user's weight in the fair share of the quota (1 when
-- absent): a user of weight 2 is entitled to twice the calls of one of 1.
CREATE TABLE quota_shares (
    user_id  TEXT PRIMARY KEY,
    weight   REAL NOT NULL CHECK (weight > 0)
);
