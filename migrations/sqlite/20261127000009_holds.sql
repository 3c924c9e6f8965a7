-- The cluster's PostgreSQL hold table (see the postgres migration). An
-- embedded setup keeps holds in process; the table stays empty here and
-- exists so both schemas keep one numbering.
CREATE TABLE holds (
    token           TEXT PRIMARY KEY,
    user_id         INTEGER NOT NULL,
    station_id      BLOB NOT NULL,
    connector_id    BLOB NOT NULL,
    start_ts        TEXT NOT NULL,
    end_ts          TEXT NOT NULL,
    expires_at      TEXT NOT NULL,
    id_tag          TEXT NOT NULL,
    reservation_id  INTEGER,
    claims_slot     INTEGER NOT NULL DEFAULT 1
);
