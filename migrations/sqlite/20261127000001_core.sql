-- evgate core schema on SQLite: the embedded default.
-- UUIDs are 16-byte BLOBs; timestamps are RFC 3339 TEXT in UTC with at most
-- millisecond precision, written by the app in one format, so text order is
-- time order. SQLite runs one writer at a time, so the triggers below check
-- and write atomically.

CREATE TABLE stations (
    id          BLOB PRIMARY KEY,
    name        TEXT NOT NULL,
    latitude    REAL NOT NULL CHECK (latitude BETWEEN -90 AND 90),
    longitude   REAL NOT NULL CHECK (longitude BETWEEN -180 AND 180),
    address     TEXT,
    created_at  TEXT NOT NULL
);
CREATE INDEX stations_lat_lng_idx ON stations (latitude, longitude);
CREATE INDEX stations_created_idx ON stations (created_at, id);

CREATE TABLE chargers (
    id                BLOB PRIMARY KEY,
    station_id        BLOB NOT NULL REFERENCES stations (id) ON DELETE CASCADE,
    charge_point_id   TEXT NOT NULL CONSTRAINT chargers_charge_point_id_key UNIQUE,
    security_profile  INTEGER NOT NULL CHECK (security_profile BETWEEN 0 AND 3),
    password_hash     TEXT,
    ocpp_version      TEXT CHECK (ocpp_version IN ('ocpp1.6', 'ocpp2.0.1')),
    vendor            TEXT,
    model             TEXT,
    firmware_version  TEXT,
    online            INTEGER NOT NULL DEFAULT 0,
    last_seen_at      TEXT,
    reservation_seq   INTEGER NOT NULL DEFAULT 0,
    created_at        TEXT NOT NULL
);
CREATE INDEX chargers_station_idx ON chargers (station_id);

CREATE TABLE connectors (
    id                   BLOB PRIMARY KEY,
    station_id           BLOB NOT NULL REFERENCES stations (id) ON DELETE CASCADE,
    charger_id           BLOB NOT NULL REFERENCES chargers (id) ON DELETE CASCADE,
    evse_id              INTEGER NOT NULL CHECK (evse_id > 0),
    ocpp_connector_id    INTEGER NOT NULL CHECK (ocpp_connector_id > 0),
    connector_number     TEXT NOT NULL,
    connector_type       TEXT NOT NULL,
    power_kw             REAL NOT NULL CHECK (power_kw > 0),
    status               TEXT NOT NULL DEFAULT 'OFFLINE'
        CHECK (status IN ('AVAILABLE', 'OCCUPIED', 'RESERVED', 'MAINTENANCE', 'OFFLINE', 'FAULTED')),
    status_updated_at    TEXT NOT NULL,
    current_booking_id   BLOB,
    vendor_connector_id  TEXT,
    created_at           TEXT NOT NULL,
    CONSTRAINT connectors_charger_evse_connector_key UNIQUE (charger_id, evse_id, ocpp_connector_id),
    CONSTRAINT connectors_station_number_key UNIQUE (station_id, connector_number)
);

CREATE TABLE bookings (
    id                 BLOB PRIMARY KEY,
    user_id            INTEGER NOT NULL,
    station_id         BLOB NOT NULL REFERENCES stations (id),
    connector_id       BLOB NOT NULL REFERENCES connectors (id),
    start_ts           TEXT NOT NULL,
    end_ts             TEXT NOT NULL,
    status             TEXT NOT NULL
        CHECK (status IN ('PENDING', 'CONFIRMED', 'CANCELLED', 'NO_SHOW', 'COMPLETED', 'ACTIVE')),
    hold_token         TEXT CONSTRAINT bookings_hold_token_key UNIQUE,
    payment_id         TEXT,
    vendor_booking_id  TEXT,
    reservation_id     INTEGER CHECK (reservation_id > 0),
    cancel_reason      TEXT,
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL,
    CONSTRAINT bookings_time_order CHECK (start_ts < end_ts)
);
CREATE INDEX bookings_connector_time_idx ON bookings (connector_id, start_ts, end_ts);
CREATE INDEX bookings_user_idx ON bookings (user_id, created_at DESC);
CREATE INDEX bookings_status_start_idx ON bookings (status, start_ts);

-- The booking invariant, as PostgreSQL's booking_no_overlap exclusion
-- constraint states it: no two CONFIRMED/ACTIVE bookings overlap on one
-- connector (half-open intervals).
CREATE TRIGGER booking_no_overlap_insert
BEFORE INSERT ON bookings
WHEN NEW.status IN ('CONFIRMED', 'ACTIVE')
BEGIN
    SELECT RAISE(ABORT, 'booking_no_overlap')
    WHERE EXISTS (
        SELECT 1 FROM bookings b
        WHERE b.connector_id = NEW.connector_id
          AND b.status IN ('CONFIRMED', 'ACTIVE')
          AND b.start_ts < NEW.end_ts
          AND NEW.start_ts < b.end_ts
    );
END;

CREATE TRIGGER booking_no_overlap_update
BEFORE UPDATE OF status, start_ts, end_ts, connector_id ON bookings
WHEN NEW.status IN ('CONFIRMED', 'ACTIVE')
BEGIN
    SELECT RAISE(ABORT, 'booking_no_overlap')
    WHERE EXISTS (
        SELECT 1 FROM bookings b
        WHERE b.connector_id = NEW.connector_id
          AND b.id <> NEW.id
          AND b.status IN ('CONFIRMED', 'ACTIVE')
          AND b.start_ts < NEW.end_ts
          AND NEW.start_ts < b.end_ts
    );
END;

CREATE TABLE charging_sessions (
    id               BLOB PRIMARY KEY,
    booking_id       BLOB REFERENCES bookings (id),
    connector_id     BLOB NOT NULL REFERENCES connectors (id),
    charger_id       BLOB NOT NULL REFERENCES chargers (id),
    protocol         TEXT NOT NULL CHECK (protocol IN ('ocpp1.6', 'ocpp2.0.1', 'vendor')),
    transaction_key  TEXT NOT NULL,
    id_tag           TEXT,
    started_at       TEXT NOT NULL,
    ended_at         TEXT,
    meter_start_wh   REAL,
    meter_stop_wh    REAL,
    energy_kwh       REAL,
    cost_amount      REAL,
    status           TEXT NOT NULL
        CHECK (status IN ('STARTING', 'CHARGING', 'STOPPING', 'COMPLETED', 'FAILED', 'CANCELLED')),
    stop_reason      TEXT,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    CONSTRAINT charging_sessions_transaction_key UNIQUE (charger_id, protocol, transaction_key)
);
CREATE INDEX charging_sessions_connector_idx ON charging_sessions (connector_id, started_at);
CREATE INDEX charging_sessions_booking_idx ON charging_sessions (booking_id);

CREATE TABLE id_tags (
    id_tag         TEXT PRIMARY KEY,
    status         TEXT NOT NULL CHECK (status IN ('Accepted', 'Blocked', 'Expired', 'Invalid')),
    expiry_date    TEXT,
    parent_id_tag  TEXT,
    user_id        INTEGER,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);

CREATE TABLE refund_requests (
    id               BLOB PRIMARY KEY,
    booking_id       BLOB NOT NULL REFERENCES bookings (id)
        CONSTRAINT refund_requests_booking_key UNIQUE,
    payment_id       TEXT,
    reason           TEXT NOT NULL,
    state            TEXT NOT NULL CHECK (state IN ('PENDING', 'SENT', 'FAILED')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TEXT NOT NULL,
    last_error       TEXT,
    created_at       TEXT NOT NULL
);
CREATE INDEX refund_requests_due_idx ON refund_requests (next_attempt_at) WHERE state = 'PENDING';
