-- The shared pacer (docs/rate-limiting.md, "One pacer for the install"):
-- one row per process and eBay API base/application, written about every
-- 300 ms by the process's pacer thread. A row whose heartbeat_ms is older
-- than 3 s is a peer that stopped: it no longer counts for the division of
-- the rate, but the wall it posted (wall, wall_seq, wall_ms) is still read
-- for 10 minutes. Rows an hour stale are deleted. Rates are requests a
-- second, times wall-clock ms.
CREATE TABLE pacer_peers (
    scope        TEXT NOT NULL,
    owner        TEXT NOT NULL,
    heartbeat_ms INTEGER NOT NULL,
    weight       REAL NOT NULL DEFAULT 0,
    demand       REAL NOT NULL DEFAULT 0,
    used         REAL NOT NULL DEFAULT 0,
    rate         REAL NOT NULL DEFAULT 0,
    wall         REAL NOT NULL DEFAULT 0,
    wall_seq     INTEGER NOT NULL DEFAULT 0,
    wall_ms      INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (scope, owner)
);
