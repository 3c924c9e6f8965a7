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
    id            uuid PRIMARY KEY,
    name          text NOT NULL,
    state         text NOT NULL CHECK (state IN ('PENDING', 'REGISTERED', 'UNREGISTERED')),
    token_hash    text CONSTRAINT ocpi_partners_token_key UNIQUE,
    their_token   text,
    versions_url  text,
    version       text,
    endpoints     text NOT NULL DEFAULT '[]',
    roles         text NOT NULL DEFAULT '[]',
    country_code  text,
    party_id      text,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL
);
CREATE UNIQUE INDEX ocpi_partners_party ON ocpi_partners (country_code, party_id)
    WHERE state = 'REGISTERED';

-- What OCPI needs of a station beyond evgate's own fields; a station is a
-- Location for partners only once it has a row here with publish set.
CREATE TABLE ocpi_locations (
    station_id   uuid PRIMARY KEY REFERENCES stations (id) ON DELETE CASCADE,
    city         text NOT NULL,
    postal_code  text,
    country      text NOT NULL,
    time_zone    text NOT NULL,
    publish      boolean NOT NULL,
    updated_at   timestamptz NOT NULL
);

-- The latest status of an EVSE each partner has not acknowledged yet: one
-- row per partner and EVSE, overwritten by newer statuses (a partner that
-- was down gets the latest status, once), deleted when delivered.
CREATE TABLE ocpi_pushes (
    partner_id    uuid NOT NULL REFERENCES ocpi_partners (id) ON DELETE CASCADE,
    location_id   uuid NOT NULL,
    evse_uid      uuid NOT NULL,
    body          text NOT NULL,
    last_updated  timestamptz NOT NULL,
    attempts      integer NOT NULL DEFAULT 0,
    next_attempt  timestamptz NOT NULL,
    last_error    text,
    PRIMARY KEY (partner_id, evse_uid)
);
CREATE INDEX ocpi_pushes_due ON ocpi_pushes (next_attempt);
