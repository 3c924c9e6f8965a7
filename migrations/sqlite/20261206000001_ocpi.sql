-- OCPI (#20): roaming partners (eMSPs) registered with evgate as their CPO,
-- the stations published to them as Locations, and the status pushes still
-- owed to each partner.
--
-- A partner starts PENDING with token A (given out of band); the
-- credentials handshake replaces it with token C (REGISTERED). Only the
-- SHA-256 of the token evgate issued is kept, so a leaked table lets nobody
-- in. Their token B is what evgate sends when it calls them, so it is kept
-- as given.
CREATE TABLE ocpi_partners (
    id            BLOB PRIMARY KEY,
    name          TEXT NOT NULL,
    state         TEXT NOT NULL CHECK (state IN ('PENDING', 'REGISTERED', 'UNREGISTERED')),
    token_hash    TEXT CONSTRAINT ocpi_partners_token_key UNIQUE,
    their_token   TEXT,
    versions_url  TEXT,
    version       TEXT,
    endpoints     TEXT NOT NULL DEFAULT '[]',
    roles         TEXT NOT NULL DEFAULT '[]',
    country_code  TEXT,
    party_id      TEXT,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
CREATE UNIQUE INDEX ocpi_partners_party ON ocpi_partners (country_code, party_id)
    WHERE state = 'REGISTERED';

-- What OCPI needs of a station beyond evgate's own fields; a station is a
-- Location for partners only once it has a row here with publish set.
CREATE TABLE ocpi_locations (
    station_id   BLOB PRIMARY KEY REFERENCES stations (id) ON DELETE CASCADE,
    city         TEXT NOT NULL,
    postal_code  TEXT,
    country      TEXT NOT NULL,
    time_zone    TEXT NOT NULL,
    publish      INTEGER NOT NULL,
    updated_at   TEXT NOT NULL
);

-- The latest status of an EVSE each partner has not acknowledged yet: one
-- row per partner and EVSE, overwritten by newer statuses (a partner that
-- was down gets the latest status, once), deleted when delivered.
CREATE TABLE ocpi_pushes (
    partner_id    BLOB NOT NULL REFERENCES ocpi_partners (id) ON DELETE CASCADE,
    location_id   BLOB NOT NULL,
    evse_uid      BLOB NOT NULL,
    body          TEXT NOT NULL,
    last_updated  TEXT NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    next_attempt  TEXT NOT NULL,
    last_error    TEXT,
    PRIMARY KEY (partner_id, evse_uid)
);
CREATE INDEX ocpi_pushes_due ON ocpi_pushes (next_attempt);
