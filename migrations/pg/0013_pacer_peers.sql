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
    heartbeat_ms BIGINT NOT NULL,
    weight       DOUBLE PRECISION NOT NULL DEFAULT 0,
    demand       DOUBLE PRECISION NOT NULL DEFAULT 0,
    used         DOUBLE PRECISION NOT NULL DEFAULT 0,
    rate         DOUBLE PRECISION NOT NULL DEFAULT 0,
    wall         DOUBLE PRECISION NOT NULL DEFAULT 0,
    wall_seq     BIGINT NOT NULL DEFAULT 0,
    wall_ms      BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (scope, owner)
);
