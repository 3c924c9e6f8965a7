-- Cluster mode: every hold is also written here, so PostgreSQL can take
-- over when Redis is down and no two holds overlap across the switch.
-- A hold claims its slot until a later hold finds it expired and clears
-- claims_slot; the row itself stays until the sweep takes it (the sweep
-- cancels its charger reservation).
CREATE TABLE holds (
    token           text PRIMARY KEY,
    user_id         bigint NOT NULL,
    station_id      uuid NOT NULL,
    connector_id    uuid NOT NULL,
    start_ts        timestamptz NOT NULL,
    end_ts          timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL,
    id_tag          text NOT NULL,
    reservation_id  integer,
    claims_slot     boolean NOT NULL DEFAULT true,
    CONSTRAINT holds_no_overlap EXCLUDE USING gist (
        connector_id WITH =, tstzrange(start_ts, end_ts) WITH &&
    ) WHERE (claims_slot)
);
CREATE INDEX holds_expiry ON holds (expires_at);
CREATE INDEX holds_connector ON holds (connector_id, start_ts);
