-- OCPP_AUTO_REGISTER: chargers that connected with an identity no operator
-- registered. They are held Pending (they may only boot) until an operator
-- creates a charger with that identity at a station.
CREATE TABLE unassigned_chargers (
    charge_point_id   TEXT PRIMARY KEY,
    ocpp_version      TEXT,
    vendor            TEXT,
    model             TEXT,
    firmware_version  TEXT,
    serial_number     TEXT,
    first_seen_at     timestamptz NOT NULL,
    last_seen_at      timestamptz NOT NULL
);
