-- Smart charging. `charging_profiles`: the profiles evgate set on each
-- charger and the charger accepted (origin OPERATOR or POWER_CAP), and the
-- ones a 2.0.1 charger reported (REPORTED); `profile` is the profile JSON as
-- sent, in the charger's OCPP version, so it can be re-sent after a boot.
CREATE TABLE charging_profiles (
    charger_id   BLOB NOT NULL REFERENCES chargers (id) ON DELETE CASCADE,
    origin       TEXT NOT NULL,
    profile_id   INTEGER NOT NULL,
    evse_id      INTEGER NOT NULL,
    purpose      TEXT NOT NULL,
    stack_level  INTEGER NOT NULL,
    profile      TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    PRIMARY KEY (charger_id, origin, profile_id)
);

-- Limits a 2.0.1 charger reported from other sources (NotifyChargingLimit),
-- until ClearedChargingLimit; evse_id 0 is the whole charger.
CREATE TABLE charging_limits (
    charger_id   BLOB NOT NULL REFERENCES chargers (id) ON DELETE CASCADE,
    source       TEXT NOT NULL,
    evse_id      INTEGER NOT NULL,
    payload      TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    PRIMARY KEY (charger_id, source, evse_id)
);

-- A station's power cap in watts, shared by its charging sessions.
CREATE TABLE station_power_limits (
    station_id   BLOB PRIMARY KEY REFERENCES stations (id) ON DELETE CASCADE,
    max_w        INTEGER NOT NULL CONSTRAINT station_power_limit_positive CHECK (max_w > 0),
    updated_at   TEXT NOT NULL
);
